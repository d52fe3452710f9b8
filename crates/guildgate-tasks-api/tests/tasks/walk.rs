//! A team's script, as it would run against Arca: build a board, move tasks through
//! statuses, page through them, retry a create safely, and find it all in the audit log.

use guildgate_storage::AuditFilter;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_script_builds_a_board_and_pages_through_it() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let ws = app.workspace;
    let list = app.list(&key).await;
    let statuses = app
        .get(&format!("/workspaces/{ws}/statuses"), &key)
        .await
        .body["data"]
        .clone();
    let status_of = |category: &str| {
        statuses
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["category"] == category)
            .unwrap()["id"]
            .clone()
    };

    let mut ids = Vec::new();
    for n in 1..=60 {
        let reply = app
            .post(
                "/tasks",
                &key,
                json!({ "list_id": list, "title": format!("Task {n}") }),
            )
            .await;
        assert_eq!(reply.status, 201);
        assert_eq!(reply.body["identifier"], n);
        ids.push(reply.body["id"].as_i64().unwrap());
        app.clock.advance(1_000);
    }
    // Move the first ten along.
    for id in &ids[..10] {
        let moved = app
            .patch(
                &format!("/tasks/{id}"),
                &key,
                json!({ "status_id": status_of("in_progress") }),
            )
            .await;
        assert_eq!(moved.body["status_id"], status_of("in_progress"));
    }
    let done = app
        .patch(
            &format!("/tasks/{}", ids[0]),
            &key,
            json!({ "status_id": status_of("completed"), "priority": "low" }),
        )
        .await;
    assert_eq!(done.body["status_id"], status_of("completed"));
    assert_eq!(done.body["priority"], "low");
    assert_eq!(done.body["title"], "Task 1", "untouched fields stay");

    // A subtask shows inline under its parent, not as a top-level task.
    let sub = app
        .post(
            "/tasks",
            &key,
            json!({ "list_id": list, "title": "sub", "parent_id": ids[59] }),
        )
        .await;
    assert_eq!(sub.status, 201, "{}", sub.body);

    let mut seen = Vec::new();
    for page in 1..=3 {
        let reply = app
            .get(
                &format!("/workspaces/{ws}/tasks?limit=25&page={page}"),
                &key,
            )
            .await;
        assert_eq!(reply.body["page"], page);
        assert_eq!(reply.body["limit"], 25);
        assert_eq!(reply.body["total"], 60);
        assert_eq!(reply.body["total_pages"], 3);
        for task in reply.body["data"].as_array().unwrap() {
            assert!(
                task.get("description").is_none(),
                "lists leave descriptions out"
            );
            seen.push(task["id"].as_i64().unwrap());
        }
        if page == 1 {
            assert_eq!(reply.body["data"][0]["title"], "Task 60", "newest first");
            assert_eq!(reply.body["data"][0]["subtasks"][0]["title"], "sub");
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(seen, expected);
    let capped = app
        .get(&format!("/workspaces/{ws}/tasks?limit=500"), &key)
        .await;
    assert_eq!(capped.body["limit"], 100);
    let bad = app
        .get(&format!("/workspaces/{ws}/tasks?page=0"), &key)
        .await;
    bad.expect(400, "page must be a positive integer");
    let filtered = app
        .get(
            &format!("/workspaces/{ws}/tasks?list_id={list}&limit=1"),
            &key,
        )
        .await;
    assert_eq!(filtered.body["total"], 60);
    app.get(&format!("/workspaces/{ws}/tasks?list_id=abc"), &key)
        .await
        .expect(400, "list_id must be a valid numeric ID");

    let comment = app
        .post(
            &format!("/tasks/{}/comments", ids[0]),
            &key,
            json!({ "content": "  shipped  " }),
        )
        .await;
    assert_eq!(comment.status, 201);
    assert_eq!(comment.body["content"], "shipped");
    let comments = app.get(&format!("/tasks/{}/comments", ids[0]), &key).await;
    assert_eq!(comments.body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_retried_create_with_an_idempotency_key_makes_one_task() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    let body = json!({ "list_id": list, "title": "Once" });
    let headers = [
        ("authorization", format!("Bearer {key}")),
        ("idempotency-key", "create-once".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = app
        .send(
            reqwest::Method::POST,
            "/tasks",
            &headers,
            Some(body.clone()),
        )
        .await;
    let retry = app
        .send(reqwest::Method::POST, "/tasks", &headers, Some(body))
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let other = app
        .send(
            reqwest::Method::POST,
            "/tasks",
            &headers,
            Some(json!({ "list_id": list, "title": "Twice" })),
        )
        .await;
    other.expect(
        422,
        "This Idempotency-Key was already used with a different request",
    );
    let listed = app
        .get(&format!("/workspaces/{}/tasks", app.workspace), &key)
        .await;
    assert_eq!(listed.body["total"], 1);
}

#[tokio::test]
async fn every_call_is_audited_with_the_keys_label() {
    let app = TestApp::start().await;
    let key = app.mint("workspaces:read,folders:write").await;
    let ws = app.workspace;
    app.get(&format!("/workspaces/{ws}"), &key).await;
    app.post(
        "/folders",
        &key,
        json!({ "workspace_id": ws, "name": "Audited" }),
    )
    .await;
    app.get(&format!("/workspaces/{ws}/tasks"), &key).await; // refused: no tasks:read
    let filter = AuditFilter {
        surface: Some("tasks".into()),
        ..AuditFilter::default()
    };
    let mut rows = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let page = guildgate_core::model::PageRequest {
            limit: 100,
            before: None,
        };
        rows = app
            .store
            .audit(&ws.to_string(), &filter, &page)
            .await
            .unwrap()
            .data;
        if rows.len() >= 2 {
            break;
        }
    }
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.outcome.as_str()))
        .collect();
    assert!(
        actions.contains(&("get_workspace", "success")),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("create_folder", "success")),
        "{actions:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r.token_name.as_deref() == Some("nightly report"))
    );
    assert!(rows.iter().all(|r| r.actor_source == "token"));
}

#[tokio::test]
async fn identifiers_count_per_workspace() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    app.post("/tasks", &key, json!({ "list_id": list, "title": "a" }))
        .await;
    let mut tx = app.store.begin().await.unwrap();
    let second = tx
        .insert_workspace("Second", "second", app.owner, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let folder = app
        .post(
            "/folders",
            &key,
            json!({ "workspace_id": second, "name": "f" }),
        )
        .await;
    let other_list = app
        .post(
            "/lists",
            &key,
            json!({ "workspace_id": second, "folder_id": folder.body["id"], "name": "l" }),
        )
        .await;
    let task = app
        .post(
            "/tasks",
            &key,
            json!({ "list_id": other_list.body["id"], "title": "b" }),
        )
        .await;
    assert_eq!(task.body["identifier"], 1);
    assert_eq!(task.body["workspace_id"], second);
}

#[tokio::test]
async fn a_retried_delete_replays_its_answer() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    let task = app
        .post("/tasks", &key, json!({ "list_id": list, "title": "Gone" }))
        .await;
    let path = format!("/tasks/{}", task.body["id"]);
    let headers = [
        ("authorization", format!("Bearer {key}")),
        ("idempotency-key", "delete-once".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = app
        .send(reqwest::Method::DELETE, &path, &headers, None)
        .await;
    assert_eq!(first.status, 200);
    let retry = app
        .send(reqwest::Method::DELETE, &path, &headers, None)
        .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    app.get(&path, &key).await.expect(404, "Task not found");
}
