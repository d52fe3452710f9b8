//! arca-api-keys.txt, sentence by sentence.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn either_header_works_but_not_both() {
    let app = TestApp::start().await;
    let key = app.mint("users:read").await;
    let bearer = app
        .send(
            Method::GET,
            "/me",
            &[("authorization", &format!("Bearer {key}"))],
            None,
        )
        .await;
    assert_eq!(bearer.status, 200);
    assert_eq!(bearer.body["email"], "ana@example.com");
    for field in ["id", "email", "name", "avatar_url", "created_at"] {
        assert!(bearer.body.get(field).is_some(), "GET /me has {field}");
    }
    let api_key = app
        .send(Method::GET, "/me", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(api_key.status, 200);
    assert_eq!(api_key.body, bearer.body);
    let both = app
        .send(
            Method::GET,
            "/me",
            &[
                ("authorization", &format!("Bearer {key}")),
                ("x-api-key", &key),
            ],
            None,
        )
        .await;
    both.expect(
        400,
        "Send the API key in one header, Authorization or X-API-Key, not both",
    );
}

#[tokio::test]
async fn unrecognised_keys_are_401() {
    let app = TestApp::start().await;
    let key = app.mint("users:read").await;
    let none = app.send(Method::GET, "/me", &[], None).await;
    assert_eq!(none.status, 401);
    let no_bearer = app
        .send(Method::GET, "/me", &[("authorization", &key)], None)
        .await;
    no_bearer.expect(401, "The Authorization header must use the Bearer prefix");
    let token_scheme = app
        .send(
            Method::GET,
            "/me",
            &[("authorization", &format!("Token {key}"))],
            None,
        )
        .await;
    assert_eq!(token_scheme.status, 401);
    let wrong_prefix = app.get("/me", &key.replace("arca_", "arka_")).await;
    wrong_prefix.expect(401, "Invalid API key: it must start with arca_");
    let x_wrong_prefix = app
        .send(Method::GET, "/me", &[("x-api-key", &key[5..])], None)
        .await;
    assert_eq!(x_wrong_prefix.status, 401);
    let truncated = app.get("/me", &key[..60]).await;
    truncated.expect(401, "Invalid API key");
    let unknown = app
        .get("/me", guildgate_core::tasks::TASKS_KEY.generate().expose())
        .await;
    unknown.expect(401, "Invalid API key");
}

#[tokio::test]
async fn expired_keys_say_so() {
    let app = TestApp::start().await;
    let now = guildgate_core::clock::parse_rfc3339("2026-03-18T12:00:00Z").unwrap();
    let key = app
        .mint_for(app.owner, "users:read", Some(now + 1_000))
        .await;
    assert_eq!(app.get("/me", &key).await.status, 200);
    app.clock.advance(1_000);
    app.get("/me", &key)
        .await
        .expect(401, "API key has expired");
    let via_header = app
        .send(Method::GET, "/me", &[("x-api-key", &key)], None)
        .await;
    via_header.expect(401, "API key has expired");
}

#[tokio::test]
async fn revoked_keys_stop_at_once() {
    let app = TestApp::start().await;
    let key = app.mint("users:read").await;
    assert_eq!(app.get("/me", &key).await.status, 200);
    let record = app
        .store
        .tasks_keys_of_user(app.owner)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let mut tx = app.store.begin().await.unwrap();
    tx.revoke_tasks_key(&record.id, 1).await.unwrap();
    tx.commit().await.unwrap();
    app.get("/me", &key)
        .await
        .expect(401, "API key has been revoked");
}

#[tokio::test]
async fn every_endpoint_names_the_scope_it_needs() {
    let app = TestApp::start().await;
    let full = app.mint(ALL_SCOPES).await;
    let list = app.list(&full).await;
    let task = app
        .post("/tasks", &full, json!({ "list_id": list, "title": "t" }))
        .await;
    let task_id = task.body["id"].as_i64().unwrap();
    let ws = app.workspace;
    let calls: Vec<(Method, String, &str)> = vec![
        (Method::GET, "/me".into(), "users:read"),
        (Method::GET, "/workspaces".into(), "workspaces:read"),
        (Method::GET, format!("/workspaces/{ws}"), "workspaces:read"),
        (
            Method::GET,
            format!("/workspaces/{ws}/statuses"),
            "workspaces:read",
        ),
        (Method::POST, "/statuses".into(), "workspaces:write"),
        (
            Method::GET,
            format!("/workspaces/{ws}/labels"),
            "workspaces:read",
        ),
        (
            Method::GET,
            format!("/workspaces/{ws}/folders"),
            "folders:read",
        ),
        (Method::POST, "/folders".into(), "folders:write"),
        (Method::PATCH, "/folders/1".into(), "folders:write"),
        (Method::GET, format!("/workspaces/{ws}/lists"), "lists:read"),
        (Method::POST, "/lists".into(), "lists:write"),
        (Method::PATCH, format!("/lists/{list}"), "lists:write"),
        (Method::GET, format!("/workspaces/{ws}/tasks"), "tasks:read"),
        (Method::GET, format!("/tasks/{task_id}"), "tasks:read"),
        (Method::POST, "/tasks".into(), "tasks:write"),
        (Method::PATCH, format!("/tasks/{task_id}"), "tasks:write"),
        (
            Method::GET,
            format!("/tasks/{task_id}/comments"),
            "comments:read",
        ),
        (
            Method::POST,
            format!("/tasks/{task_id}/comments"),
            "comments:write",
        ),
    ];
    for (method, path, scope) in calls {
        let others: Vec<&str> = scope_names().into_iter().filter(|s| *s != scope).collect();
        let key = app.mint(&others.join(",")).await;
        let reply = app
            .send(
                method.clone(),
                &path,
                &[("x-api-key", &key)],
                Some(json!({})),
            )
            .await;
        reply.expect(
            403,
            &format!("Scope '{scope}' is required for this endpoint"),
        );
        let allowed = app.mint(scope).await;
        let reply = app
            .send(
                method.clone(),
                &path,
                &[("x-api-key", &allowed)],
                Some(json!({})),
            )
            .await;
        assert_ne!(
            reply.status, 403,
            "{method} {path} with {scope}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_workspace_the_user_is_not_in_is_404() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let elsewhere = app.other_workspace().await;
    app.get(&format!("/workspaces/{elsewhere}"), &key)
        .await
        .expect(404, "Workspace not found");
    app.get(&format!("/workspaces/{elsewhere}/tasks"), &key)
        .await
        .expect(404, "Workspace not found");
    let folder = app
        .post(
            "/folders",
            &key,
            json!({ "workspace_id": elsewhere, "name": "x" }),
        )
        .await;
    folder.expect(404, "Workspace not found");
    let listed = app.get("/workspaces", &key).await;
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["data"][0]["role"], "owner");
}

#[tokio::test]
async fn the_scheme_is_read_in_any_case_and_head_is_answered_as_get() {
    let app = TestApp::start().await;
    let key = app.mint("users:read").await;
    for scheme in ["bearer", "BEARER"] {
        let reply = app
            .send(
                Method::GET,
                "/me",
                &[("authorization", &format!("{scheme} {key}"))],
                None,
            )
            .await;
        assert_eq!(reply.status, 200, "{scheme}: {}", reply.body);
    }
    // An uptime monitor's HEAD: the GET's status and headers, no body.
    let head = app
        .send(
            Method::HEAD,
            "/me",
            &[("authorization", &format!("Bearer {key}"))],
            None,
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.body, serde_json::Value::Null);
    assert_eq!(head.header("x-ratelimit-limit"), Some("600"));
    let anonymous = app.send(Method::HEAD, "/me", &[], None).await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn a_known_path_with_another_method_is_route_not_found() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    // (axum still adds its Allow header, which RFC 9110 lets any answer carry.)
    for (method, path) in [
        (Method::PUT, "/tasks/1"),
        (Method::GET, "/tasks"),
        (Method::DELETE, "/workspaces/1"),
        (Method::OPTIONS, "/tasks"),
    ] {
        let reply = app
            .send(
                method.clone(),
                path,
                &[("authorization", &format!("Bearer {key}"))],
                Some(json!({})),
            )
            .await;
        reply.expect(404, "Route not found");
    }
}
