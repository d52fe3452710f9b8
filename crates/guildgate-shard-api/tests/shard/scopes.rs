//! Every keyed route of the table refuses a key that holds every scope but its own, with
//! the message naming the missing scope.

use guildgate_core::shard::{SHARD_ROUTES, Scope};
use reqwest::Method;
use serde_json::json;

use crate::common::*;

fn concrete(path: &str) -> String {
    path.replace("{ref}", "1")
        .replace("{uid}", "net_aaaaaaaaaaaaaaaaaaaaaaaa")
        .replace("{id}", "x")
        .replace("{name}", "x")
        .replace("{sessionId}", "x")
}

#[tokio::test]
async fn every_route_refuses_a_key_without_its_scope() {
    let shard = Shard::start().await;
    let mut checked = 0;
    for scope in Scope::ALL {
        let others: Vec<&str> = Scope::ALL
            .iter()
            .filter(|s| *s != scope)
            .map(|s| s.as_str())
            .collect();
        let key = shard.mint(&others.join(",")).await;
        for route in SHARD_ROUTES.iter().filter(|r| r.scope == Some(*scope)) {
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let body = (route.method != "GET").then(|| json!({}));
            let reply = shard.call(method, &concrete(route.path), &key, body).await;
            reply.expect_error(
                403,
                &format!("Missing scope: this endpoint requires {}", scope.as_str()),
            );
            checked += 1;
        }
    }
    let keyed = SHARD_ROUTES.iter().filter(|r| r.scope.is_some()).count();
    assert_eq!(checked, keyed);
    assert!(keyed > 50, "{keyed}");
}
