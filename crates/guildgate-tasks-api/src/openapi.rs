//! The tasks surface's part of `openapi.json`, read from `TASK_ROUTES`.

use guildgate_core::tasks::TASK_ROUTES;
use serde_json::{Map, Value, json};

pub fn paths() -> Map<String, Value> {
    let mut paths = Map::new();
    for r in TASK_ROUTES {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1, "maximum": i64::MAX } }))
            .collect();
        if r.name == "list_tasks" {
            params
                .push(json!({ "name": "list_id", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": i64::MAX } }));
            params.push(json!({ "name": "page", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 1 } }));
            params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "default": 50 } }));
        }
        let mut op = json!({
            "operationId": r.name,
            "tags": ["tasks"],
            "security": [{ "arcaBearer": [] }, { "arcaApiKey": [] }],
            "parameters": params,
            "x-scope": r.scope.as_str(),
            "responses": {
                "200": { "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } },
                "429": { "description": "Rate limited", "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": { "statusCode": { "type": "integer" }, "error": { "type": "string" }, "retryAfter": { "type": "integer" } },
                }}}},
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TasksError" } } } },
            },
        });
        if r.write {
            op["requestBody"] =
                json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
            op["parameters"].as_array_mut().expect("array").push(json!({
                "name": "Idempotency-Key", "in": "header", "schema": { "type": "string", "pattern": "^[!-~]{1,255}$" }
            }));
        }
        let entry = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    paths
}

/// `{"error": "<message>"}` and the two ways to send a key.
pub fn components() -> (Value, Value, Value) {
    (
        json!({ "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } }),
        json!({ "type": "http", "scheme": "bearer", "description": "arca_ key" }),
        json!({ "type": "apiKey", "in": "header", "name": "X-API-Key" }),
    )
}
