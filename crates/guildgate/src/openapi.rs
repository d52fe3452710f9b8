//! `GET /openapi.json`: one document for every surface the server runs, built from their
//! policy tables.

use serde_json::{Value, json};

pub fn document() -> Value {
    let mut paths = guildgate_guild_api::openapi::paths();
    paths.extend(guildgate_tasks_api::openapi::paths());
    paths.extend(guildgate_shard_api::openapi::paths());
    let (guild_error, guild_token) = guildgate_guild_api::openapi::components();
    let (tasks_error, arca_bearer, arca_api_key) = guildgate_tasks_api::openapi::components();
    let (shard_error, shard_key, public_token) = guildgate_shard_api::openapi::components();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "guildgate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Scoped API tokens and guarded actions: the guild moderation API, the tasks API and the comms shard Owner API.",
        },
        "paths": paths,
        "components": {
            "schemas": { "GuildError": guild_error, "TasksError": tasks_error, "ShardError": shard_error },
            "securitySchemes": {
                "guildToken": guild_token, "arcaBearer": arca_bearer, "arcaApiKey": arca_api_key,
                "shardKey": shard_key, "publicToken": public_token,
            },
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_of_every_table_is_documented() {
        let doc = super::document();
        let paths = doc["paths"].as_object().unwrap();
        for p in guildgate_core::policy::POLICIES {
            let op = &paths[p.path][p.method.to_lowercase()];
            assert_eq!(op["operationId"], p.name);
            assert_eq!(op["x-rate-limit-tier"], p.tier.as_str());
        }
        for r in guildgate_core::tasks::TASK_ROUTES {
            assert_eq!(
                paths[r.path][r.method.to_lowercase()]["x-scope"],
                r.scope.as_str()
            );
        }
        for r in guildgate_core::shard::SHARD_ROUTES {
            assert_eq!(
                paths[r.path][r.method.to_lowercase()]["operationId"],
                r.name
            );
        }
        let strike = &paths["/api/public/v1/guilds/{guild_id}/strikes"]["post"];
        assert_eq!(
            strike["x-sentinel-template"],
            "ADD STRIKE TO USER {user_id} IN GUILD {guildId} SEVERITY {MINOR|MAJOR}"
        );
    }
}
