//! The shard surface's OpenAPI 3.1 document, read from `SHARD_ROUTES`: served at
//! `/api/v1/openapi.json` and merged into the server's `/openapi.json`.

use axum::response::Response;
use guildgate_core::shard::{QueryParam, SHARD_ROUTES};
use serde_json::{Map, Value, json};

pub fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for r in SHARD_ROUTES {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": path_schema(name) }))
            .collect();
        params.extend(r.query_params().iter().map(query_param));
        let security = match r.scope {
            Some(_) => json!([{ "shardKey": [] }]),
            None if r.takes_public_token() => json!([{ "publicToken": [] }]),
            None => json!([]),
        };
        let mut op = json!({
            "operationId": r.name,
            "summary": r.summary,
            "tags": ["shard"],
            "security": security,
            "parameters": params,
            "x-scope": r.scope.map(|s| s.as_str()),
            "x-rate-limit-tier": r.tier.as_str(),
            "responses": {
                "200": { "description": "Success", "content": success_content(r.media_types()) },
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ShardError" } } } },
            },
        });
        if r.write() && r.method != "DELETE" {
            op["requestBody"] = json!({ "required": false, "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    paths
}

fn query_param(param: &QueryParam) -> Value {
    match param {
        QueryParam::Number(n) => json!({
            "name": n.name, "in": "query", "required": false,
            "schema": { "type": "integer", "minimum": n.min, "maximum": n.max, "default": n.default },
        }),
        QueryParam::Text {
            name,
            repeatable: false,
            description,
        } => json!({
            "name": name, "in": "query", "required": false, "description": description,
            "schema": { "type": "string", "pattern": "^[^\\u0000]*$" },
        }),
        QueryParam::Text {
            name,
            repeatable: true,
            description,
        } => json!({
            "name": name, "in": "query", "required": false, "description": description,
            "style": "form", "explode": true,
            "schema": { "type": "array", "items": { "type": "string", "pattern": "^[^\\u0000]*$" } },
        }),
    }
}

fn path_schema(name: &str) -> Value {
    match name {
        "ref" => {
            json!({ "type": "string", "pattern": "^(net_[!-~]+|[0-9]{1,9})$", "description": "A net's uid (net_...) or its number" })
        }
        // Text is refused when it holds NUL, on every surface.
        _ => json!({ "type": "string", "pattern": "^[^\\u0000]+$" }),
    }
}

fn success_content(media_types: &[&str]) -> Value {
    let schema = |media_type: &str| {
        if media_type == "application/json" {
            json!({ "schema": { "type": "object" } })
        } else {
            json!({ "schema": { "type": "string" } })
        }
    };
    Value::Object(
        media_types
            .iter()
            .map(|media_type| ((*media_type).to_owned(), schema(media_type)))
            .collect(),
    )
}

/// `{"error": "<message>"}`, the `scok_` bearer key and the embed token.
pub fn components() -> (Value, Value, Value) {
    (
        json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } }),
        json!({ "type": "http", "scheme": "bearer", "description": "Owner API key (scok_...)" }),
        json!({ "type": "apiKey", "in": "query", "name": "token", "description": "Signed public token from /api/v1/public-token" }),
    )
}

pub fn document() -> Value {
    let (error, key, public) = components();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "guildgate comms shard Owner API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Scoped scok_ keys for status, roster, nets, assignments, rules, features, events and webhooks.",
        },
        "paths": paths(),
        "components": {
            "schemas": { "ShardError": error },
            "securitySchemes": { "shardKey": key, "publicToken": public },
        },
    })
}

pub async fn serve() -> Response {
    use axum::response::IntoResponse;
    axum::Json(document()).into_response()
}
