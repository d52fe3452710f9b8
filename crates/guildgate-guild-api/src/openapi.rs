//! The guild surface's part of `openapi.json`, read from the policy table.

use guildgate_core::error::ErrorCode;
use guildgate_core::policy::{Destructive, POLICIES};
use serde_json::{Map, Value, json};

fn parameter(name: &str) -> Value {
    let schema = match name {
        "guild_id" | "user_id" => {
            // Up to 19 digits is always inside the 64-bit range; the server also takes the
            // 20-digit ones that fit.
            json!({ "type": "string", "pattern": "^[0-9]{17,19}$", "description": "Discord snowflake (a 64-bit integer)" })
        }
        _ => {
            json!({ "type": "string", "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$", "description": "ULID" })
        }
    };
    json!({ "name": name, "in": "path", "required": true, "schema": schema })
}

/// Path parameter names of an axum path, in order.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// `paths` entries for every row of the policy table.
pub fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for p in POLICIES {
        let mut params: Vec<Value> = path_parameters(p.path).into_iter().map(parameter).collect();
        if p.name.starts_with("list_") {
            params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 25 } }));
            params.push(json!({ "name": "cursor", "in": "query", "schema": { "type": "string" } }));
        }
        let mut op = json!({
            "operationId": p.name,
            "summary": p.summary,
            "tags": ["guild"],
            "security": [{ "guildToken": [] }],
            "parameters": params,
            "x-capability": p.capability.map(|c| c.as_str()),
            "x-rate-limit-tier": p.tier.as_str(),
            "x-destructive": match p.destructive {
                Destructive::Never => json!(false),
                Destructive::Always => json!(true),
                Destructive::WhenDurationOverMinutes(m) => json!(format!("when duration_minutes > {m}")),
            },
            "responses": {
                "200": { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/GuildError" } } } },
            },
        });
        if let Some(sentinel) = p.sentinel {
            op["x-sentinel-template"] = json!(sentinel.format());
        }
        if p.method != "GET" {
            op["requestBody"] = json!({
                "required": false,
                "content": { "application/json": { "schema": { "type": "object" } } },
            });
            op["parameters"].as_array_mut().expect("array").push(json!({
                "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "pattern": "^[!-~]{1,255}$" }
            }));
        }
        let entry = paths.entry(p.path.to_owned()).or_insert_with(|| json!({}));
        entry[p.method.to_lowercase()] = op;
    }
    paths
}

/// The envelope schema and the guild token's security scheme.
pub fn components() -> (Value, Value) {
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    let schema = json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": {
            "type": "object",
            "required": ["code", "message", "retryable", "request_id"],
            "properties": {
                "code": { "type": "string", "enum": codes },
                "message": { "type": "string" },
                "retryable": { "type": "boolean" },
                "request_id": { "type": "string", "pattern": "^req_[0-9A-HJKMNP-TV-Z]{26}$" },
                "details": { "type": "object" },
            },
        }},
    });
    let scheme = json!({ "type": "http", "scheme": "bearer", "description": "arkpat_ token" });
    (schema, scheme)
}
