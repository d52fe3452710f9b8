//! MCP tools, one per guild endpoint the policy table offers to AI clients. A tool never
//! takes a `_confirmation`: `build_call` validates the arguments with the same body types
//! the REST surface uses and renders the sentinel from the same template table the server
//! checks, so a model has no way to author or alter one.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::bodies::{AddBanBody, AddMuteBody, AddStrikeBody, MassPurgeBody, RunRconBody};
use crate::error::ApiError;
use crate::ids::{Snowflake, is_ulid};
use crate::policy::{Destructive, Endpoint, EndpointPolicy, POLICIES, Tier, policy};

pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    /// A JSON Schema object; it never mentions `_confirmation`.
    pub input_schema: Value,
    pub read_only: bool,
    /// True when the tool can take the destructive path (for `mute_user`, above a day).
    pub destructive: bool,
    pub idempotent: bool,
}

pub struct ToolContext<'a> {
    pub guild_id: &'a str,
    pub token_id: &'a str,
}

#[derive(Debug, PartialEq)]
pub struct ToolCall {
    pub method: &'static str,
    /// Path and query, e.g. `/api/public/v1/guilds/G/strikes?limit=10`.
    pub path: String,
    pub body: Option<Value>,
}

fn schema_of<T: schemars::JsonSchema>(required: &[&str]) -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).unwrap_or_else(|_| json!({}));
    if let Some(object) = schema.as_object_mut() {
        // The type's doc comment names its REST route; the tool has its own description.
        object.remove("$schema");
        object.remove("description");
        object.remove("title");
        object.insert("required".into(), json!(required));
    }
    schema
}

fn id_schema(name: &str, description: &str, pattern: &str, extra: Option<(&str, Value)>) -> Value {
    let mut properties = Map::new();
    properties.insert(
        name.into(),
        json!({ "type": "string", "pattern": pattern, "description": description }),
    );
    let mut required = vec![name.to_owned()];
    if let Some((field, schema)) = extra {
        properties.insert(field.into(), schema);
        required.push(field.to_owned());
    }
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

const SNOWFLAKE: &str = "^[0-9]{17,20}$";
const ULID: &str = "^[0-9A-HJKMNP-TV-Z]{26}$";

fn page_schema(extra: &[(&str, &str)]) -> Value {
    let mut properties = Map::new();
    properties.insert("limit".into(), json!({ "type": "integer", "minimum": 1, "maximum": 100, "description": "Items per page (25 by default)." }));
    properties.insert(
        "cursor".into(),
        json!({ "type": "string", "description": "next_cursor from the previous page." }),
    );
    for (name, description) in extra {
        properties.insert(
            (*name).into(),
            json!({ "type": "string", "description": description }),
        );
    }
    json!({ "type": "object", "properties": properties, "additionalProperties": false })
}

fn input_schema(endpoint: Endpoint) -> Value {
    use Endpoint::*;
    match endpoint {
        ListStrikes | ListTickets | ListBans | ListMutes | ListServers => page_schema(&[]),
        ListAudit => page_schema(&[
            ("actor_source", "token, mcp, dashboard or cli"),
            ("token_id", "Only this token's rows."),
            ("outcome", "success or an error code."),
        ]),
        GetTicket | ClaimTicket | UnclaimTicket => {
            id_schema("ticket_id", "The ticket's id.", ULID, None)
        }
        RemoveStrike => id_schema("strike_id", "The strike's id.", ULID, None),
        RemoveBan | LiftMute => id_schema(
            "user_id",
            "The Discord user (a snowflake).",
            SNOWFLAKE,
            None,
        ),
        AddStrike => schema_of::<AddStrikeBody>(&["user_id", "reason", "severity"]),
        AddBan => schema_of::<AddBanBody>(&["user_id"]),
        AddMute => schema_of::<AddMuteBody>(&["user_id", "duration_minutes"]),
        MassPurge => schema_of::<MassPurgeBody>(&["channel_id", "count"]),
        RunRcon => {
            let command = schema_of::<RunRconBody>(&[])["properties"]["command"].clone();
            id_schema(
                "server_id",
                "The game server's id (see list_servers).",
                ULID,
                Some(("command", command)),
            )
        }
        GetReauthWindow | OpenReauthWindow | CloseReauthWindow | TokenInfo | Status => {
            json!({ "type": "object", "properties": {}, "additionalProperties": false })
        }
    }
}

/// Every tool, in the policy table's order.
pub fn tool_specs() -> Vec<ToolSpec> {
    POLICIES
        .iter()
        .filter(|p| p.mcp_tool)
        .map(|p| ToolSpec {
            name: p.name,
            description: p.summary,
            input_schema: input_schema(p.endpoint),
            read_only: p.tier == Tier::Read && p.method == "GET",
            destructive: p.destructive != Destructive::Never,
            idempotent: p.method == "GET"
                || matches!(p.endpoint, Endpoint::ClaimTicket | Endpoint::UnclaimTicket),
        })
        .collect()
}

fn parse_args<T: DeserializeOwned>(args: &Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(args.clone()))
        .map_err(|e| ApiError::validation("arguments", format!("Invalid tool arguments: {e}")))
}

fn text_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation(name, format!("{name} is required")))
}

fn ulid_arg(args: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    crate::ids::canonical_ulid(text_arg(args, name)?)
        .ok_or_else(|| ApiError::validation(name, format!("{name} must be a 26-character id")))
}

fn only(args: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match args.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => Err(ApiError::validation(
            extra,
            format!("unknown argument {extra}"),
        )),
        None => Ok(()),
    }
}

fn query(args: &Map<String, Value>, allowed: &[&str]) -> Result<String, ApiError> {
    only(args, allowed)?;
    let mut parts = Vec::new();
    for name in allowed {
        let value = match args.get(*name) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err(ApiError::validation(
                    name,
                    format!("{name} must be a string or a number"),
                ));
            }
        };
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ApiError::validation(
                name,
                format!("{name} has characters it cannot contain"),
            ));
        }
        parts.push(format!("{name}={value}"));
    }
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    })
}

/// The sentinel for `endpoint` from validated values, through the server's template table.
fn sentinel(
    p: &EndpointPolicy,
    guild_id: &str,
    values: &[(&'static str, String)],
) -> Result<String, ApiError> {
    let template = p.sentinel.ok_or_else(ApiError::internal)?;
    let mut all = vec![("guildId", guild_id)];
    all.extend(values.iter().map(|(k, v)| (*k, v.as_str())));
    Ok(template.render(&all))
}

fn with_confirmation(args: &Map<String, Value>, confirmation: String) -> Value {
    let mut body = args.clone();
    body.insert("_confirmation".into(), Value::String(confirmation));
    Value::Object(body)
}

/// Validates `args` for `tool` and builds its REST call.
pub fn build_call(
    tool: &str,
    ctx: &ToolContext,
    args: &Map<String, Value>,
) -> Result<ToolCall, ApiError> {
    if args.contains_key("_confirmation") {
        return Err(ApiError::validation(
            "_confirmation",
            "Tools never take _confirmation: it is built from the validated arguments.",
        ));
    }
    let p = POLICIES
        .iter()
        .find(|p| p.mcp_tool && p.name == tool)
        .ok_or_else(|| ApiError::not_found(&format!("Tool {tool}")))?;
    let guild = Snowflake::parse("guild_id", ctx.guild_id)?;
    let g = guild.as_str();
    let path = |suffix: String| p.path.replace("{guild_id}", g) + &suffix;
    use Endpoint::*;
    let call = |method: &'static str, path: String, body: Option<Value>| {
        Ok(ToolCall { method, path, body })
    };
    match p.endpoint {
        ListStrikes | ListTickets | ListBans | ListMutes | ListServers => {
            call("GET", path(query(args, &["limit", "cursor"])?), None)
        }
        ListAudit => call(
            "GET",
            path(query(
                args,
                &["limit", "cursor", "actor_source", "token_id", "outcome"],
            )?),
            None,
        ),
        GetTicket | ClaimTicket | UnclaimTicket => {
            only(args, &["ticket_id"])?;
            let id = ulid_arg(args, "ticket_id")?;
            let body = (p.method != "GET").then(|| json!({}));
            call(
                p.method,
                p.path.replace("{guild_id}", g).replace("{ticket_id}", &id),
                body,
            )
        }
        RemoveStrike => {
            only(args, &["strike_id"])?;
            let id = ulid_arg(args, "strike_id")?;
            let confirmation = sentinel(p, g, &[("strikeId", id.clone())])?;
            call(
                "DELETE",
                p.path.replace("{guild_id}", g).replace("{strike_id}", &id),
                Some(json!({ "_confirmation": confirmation })),
            )
        }
        RemoveBan | LiftMute => {
            only(args, &["user_id"])?;
            let user = Snowflake::parse("user_id", text_arg(args, "user_id")?)?;
            let confirmation = sentinel(p, g, &[("userId", user.to_string())])?;
            let path = p
                .path
                .replace("{guild_id}", g)
                .replace("{user_id}", user.as_str());
            call(
                "DELETE",
                path,
                Some(json!({ "_confirmation": confirmation })),
            )
        }
        AddStrike => {
            let body: AddStrikeBody = parse_args(args)?;
            let values = body.validate()?.sentinel_values();
            call(
                "POST",
                path(String::new()),
                Some(with_confirmation(args, sentinel(p, g, &values)?)),
            )
        }
        AddBan => {
            let body: AddBanBody = parse_args(args)?;
            let values = body.validate()?.sentinel_values();
            call(
                "POST",
                path(String::new()),
                Some(with_confirmation(args, sentinel(p, g, &values)?)),
            )
        }
        AddMute => {
            let body: AddMuteBody = parse_args(args)?;
            let input = body.validate()?;
            let body = if policy(AddMute).is_destructive(Some(input.duration_minutes)) {
                with_confirmation(args, sentinel(p, g, &input.sentinel_values())?)
            } else {
                Value::Object(args.clone())
            };
            call("POST", path(String::new()), Some(body))
        }
        MassPurge => {
            let body: MassPurgeBody = parse_args(args)?;
            let values = body.validate()?.sentinel_values();
            call(
                "POST",
                path(String::new()),
                Some(with_confirmation(args, sentinel(p, g, &values)?)),
            )
        }
        RunRcon => {
            only(args, &["server_id", "command"])?;
            let server = ulid_arg(args, "server_id")?;
            let mut rest = args.clone();
            rest.remove("server_id");
            let body: RunRconBody = parse_args(&rest)?;
            body.validate()?;
            let confirmation = sentinel(p, g, &[("serverId", server.clone())])?;
            let path = p
                .path
                .replace("{guild_id}", g)
                .replace("{server_id}", &server);
            call("POST", path, Some(with_confirmation(&rest, confirmation)))
        }
        TokenInfo | Status => {
            only(args, &[])?;
            call("GET", p.path.to_owned(), None)
        }
        GetReauthWindow | OpenReauthWindow | CloseReauthWindow => {
            only(args, &[])?;
            if !is_ulid(ctx.token_id) {
                return Err(ApiError::validation(
                    "token_id",
                    "the MCP server does not know its token's id",
                ));
            }
            call(p.method, p.path.replace("{token_id}", ctx.token_id), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: ToolContext = ToolContext {
        guild_id: "100000000000000000",
        token_id: "01HZZZZZZZZZZZZZZZZZZZZZZZ",
    };

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_tools_of_the_issue_are_all_there_and_hinted() {
        let specs = tool_specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        for name in [
            "list_strikes",
            "add_strike",
            "remove_strike",
            "list_tickets",
            "claim_ticket",
            "unclaim_ticket",
            "ban_user",
            "unban_user",
            "mute_user",
            "lift_mute",
            "mass_purge",
            "run_rcon",
            "list_audit",
            "reauth_status",
        ] {
            assert!(names.contains(&name), "{name}");
        }
        for spec in &specs {
            assert!(
                !spec.input_schema.to_string().contains("_confirmation"),
                "{}",
                spec.name
            );
            assert_eq!(spec.input_schema["type"], "object");
        }
        let strike = specs.iter().find(|s| s.name == "add_strike").unwrap();
        assert!(strike.destructive && !strike.read_only);
        assert_eq!(
            strike.input_schema["required"],
            json!(["user_id", "reason", "severity"])
        );
        assert!(
            specs
                .iter()
                .find(|s| s.name == "list_strikes")
                .unwrap()
                .read_only
        );
    }

    #[test]
    fn destructive_tools_build_the_servers_sentinel() {
        let call = build_call(
            "add_strike",
            &CTX,
            &args(json!({
                "user_id": "583912000000000000", "reason": "spam", "severity": "minor"
            })),
        )
        .unwrap();
        assert_eq!(call.method, "POST");
        assert_eq!(
            call.path,
            "/api/public/v1/guilds/100000000000000000/strikes"
        );
        assert_eq!(
            call.body.unwrap()["_confirmation"],
            "ADD STRIKE TO USER 583912000000000000 IN GUILD 100000000000000000 SEVERITY MINOR"
        );
        let ban = build_call(
            "ban_user",
            &CTX,
            &args(json!({ "user_id": "583912000000000000", "duration_minutes": 60 })),
        )
        .unwrap();
        assert_eq!(
            ban.body.unwrap()["_confirmation"],
            "BAN USER 583912000000000000 IN GUILD 100000000000000000 DURATION 60"
        );
        let short = build_call(
            "mute_user",
            &CTX,
            &args(json!({ "user_id": "583912000000000000", "duration_minutes": 60 })),
        )
        .unwrap();
        assert!(short.body.unwrap().get("_confirmation").is_none());
    }

    #[test]
    fn a_model_cannot_forge_or_bend_a_sentinel() {
        let forged = build_call(
            "add_strike",
            &CTX,
            &args(json!({
                "user_id": "583912000000000000", "reason": "x", "severity": "MINOR",
                "_confirmation": "ADD STRIKE TO USER 1 IN GUILD 2 SEVERITY MINOR"
            })),
        );
        assert_eq!(
            forged.unwrap_err().details.unwrap()["field"],
            "_confirmation"
        );
        // Text smuggled into a field cannot reshape the sentinel: the field is validated first.
        let smuggled = build_call(
            "add_strike",
            &CTX,
            &args(json!({
                "user_id": "583912000000000000 IN GUILD 999999999999999999", "reason": "x", "severity": "MINOR"
            })),
        );
        assert_eq!(smuggled.unwrap_err().details.unwrap()["field"], "user_id");
        let severity = build_call(
            "add_strike",
            &CTX,
            &args(json!({
                "user_id": "583912000000000000", "reason": "x", "severity": "MINOR IN GUILD 1"
            })),
        );
        assert!(severity.is_err());
        let path = build_call(
            "list_strikes",
            &CTX,
            &args(json!({ "cursor": "x&limit=100" })),
        );
        assert!(path.is_err());
        let extra = build_call(
            "unban_user",
            &CTX,
            &args(json!({ "user_id": "583912000000000000", "guild_id": "1" })),
        );
        assert!(extra.is_err());
    }
}
