//! arca-api-reference.md: fields, defaults, ordering, and every quoted message.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn every_quoted_message() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let ws = app.workspace;
    let list = app.list(&key).await;
    let cases = [
        (
            "/folders",
            json!({ "name": "x" }),
            "workspace_id is required",
        ),
        (
            "/folders",
            json!({ "workspace_id": ws }),
            "name is required",
        ),
        (
            "/folders",
            json!({ "workspace_id": ws, "name": "   " }),
            "name is required",
        ),
        (
            "/folders",
            json!({ "workspace_id": "abc", "name": "x" }),
            "Invalid workspace ID",
        ),
        (
            "/lists",
            json!({ "workspace_id": ws, "name": "x" }),
            "folder_id is required",
        ),
        (
            "/lists",
            json!({ "workspace_id": ws, "folder_id": "abc", "name": "x" }),
            "Invalid folder ID",
        ),
        ("/tasks", json!({ "title": "x" }), "list_id is required"),
        (
            "/tasks",
            json!({ "list_id": "abc", "title": "x" }),
            "list_id must be a valid numeric ID",
        ),
        ("/tasks", json!({ "list_id": list }), "title is required"),
        (
            "/tasks",
            json!({ "list_id": list, "title": "  \t " }),
            "title cannot be empty",
        ),
        (
            "/tasks",
            json!({ "list_id": list, "title": "x", "status_id": "abc" }),
            "status_id must be a valid numeric ID",
        ),
        (
            "/tasks",
            json!({ "list_id": list, "title": "x", "priority": "critical" }),
            "Invalid priority. Must be one of: urgent, high, medium, low, none",
        ),
        (
            "/tasks",
            json!({ "list_id": list, "title": "x", "due_date": "18/03/2026" }),
            "Invalid due_date format. Use ISO 8601 UTC, e.g. 2026-03-18T17:00:00",
        ),
        (
            "/tasks",
            json!({ "list_id": list, "title": "x", "start_date": "tomorrow" }),
            "Invalid start_date format. Use ISO 8601 UTC, e.g. 2026-03-18T17:00:00",
        ),
        (
            "/statuses",
            json!({ "name": "QA", "category": "pending" }),
            "workspace_id is required",
        ),
        (
            "/statuses",
            json!({ "workspace_id": ws, "category": "pending" }),
            "name is required",
        ),
    ];
    for (path, body, message) in cases {
        app.post(path, &key, body).await.expect(400, message);
    }
    app.get("/workspaces/abc", &key)
        .await
        .expect(400, "Invalid workspace ID");
    app.patch("/folders/abc", &key, json!({ "name": "x" }))
        .await
        .expect(400, "Invalid folder ID");
    let task = app
        .post("/tasks", &key, json!({ "list_id": list, "title": "x" }))
        .await;
    let id = task.body["id"].as_i64().unwrap();
    app.post(&format!("/tasks/{id}/comments"), &key, json!({}))
        .await
        .expect(400, "content is required");
    app.patch(&format!("/tasks/{id}"), &key, json!({ "title": "" }))
        .await
        .expect(400, "title cannot be empty");
    app.get("/tasks/999999", &key)
        .await
        .expect(404, "Task not found");
    let raw = app
        .http
        .post(format!("{}/tasks", app.base))
        .header("authorization", format!("Bearer {key}"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(
        raw.json::<serde_json::Value>().await.unwrap(),
        json!({ "error": "Invalid JSON body" })
    );
}

#[tokio::test]
async fn tasks_get_defaults_identifiers_and_clean_html() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    let statuses = app
        .get(&format!("/workspaces/{}/statuses", app.workspace), &key)
        .await;
    let statuses = statuses.body["data"].as_array().unwrap().clone();
    assert_eq!(statuses[0]["category"], "pending");
    let first = app
        .post(
            "/tasks",
            &key,
            json!({
                "list_id": list,
                "title": "  Rotate the keys  ",
                "description": "<p>Do it <b>now</b><script>alert(1)</script><img src=x onerror=alert(1)></p>",
                "due_date": "2026-03-18T17:00:00",
                "start_date": "2026-03-18T19:00:00+02:00",
                "assignee_ids": [app.owner],
                "custom_fields": { "ticket": "OPS-1" },
            }),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let t = &first.body;
    assert_eq!(t["title"], "Rotate the keys");
    assert_eq!(t["priority"], "none");
    assert_eq!(t["status_id"], statuses[0]["id"]);
    assert_eq!(t["identifier"], 1);
    assert_eq!(t["creator_id"], app.owner);
    assert_eq!(t["due_date"], "2026-03-18T17:00:00.000Z");
    assert_eq!(t["start_date"], "2026-03-18T17:00:00.000Z");
    let html = t["description"].as_str().unwrap();
    assert!(
        html.contains("<b>now</b>") && !html.contains("script") && !html.contains("onerror"),
        "{html}"
    );
    for field in ["labels", "subtasks", "attachments", "custom_fields"] {
        assert!(t.get(field).is_some(), "{field}");
    }
    assert_eq!(t["custom_fields"]["ticket"], "OPS-1");
    let second = app
        .post(
            "/tasks",
            &key,
            json!({ "list_id": list, "title": "Second", "priority": "urgent" }),
        )
        .await;
    assert_eq!(second.body["identifier"], 2);
    let detail = app.get(&format!("/tasks/{}", t["id"]), &key).await;
    assert_eq!(detail.body["description"], t["description"]);
}

#[tokio::test]
async fn statuses_labels_and_containers_have_their_defaults_and_order() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let ws = app.workspace;
    let status = app
        .post(
            "/statuses",
            &key,
            json!({ "workspace_id": ws, "name": "QA", "category": "active" }),
        )
        .await;
    assert_eq!(status.status, 201, "{}", status.body);
    assert_eq!(status.body["color"], "gray");
    assert_eq!(
        status.body["category"], "in_progress",
        "the other page's names are aliases"
    );
    assert_eq!(status.body["position"], 5, "after the four defaults");
    let listed = app.get(&format!("/workspaces/{ws}/statuses"), &key).await;
    let positions: Vec<i64> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [1, 2, 3, 4, 5]);
    let bad = app
        .post(
            "/statuses",
            &key,
            json!({ "workspace_id": ws, "name": "X", "category": "someday" }),
        )
        .await;
    assert_eq!(bad.status, 400);

    for name in ["zeta", "alpha", "mid"] {
        assert_eq!(
            app.post("/labels", &key, json!({ "workspace_id": ws, "name": name }))
                .await
                .status,
            201
        );
    }
    let labels = app.get(&format!("/workspaces/{ws}/labels"), &key).await;
    let names: Vec<&str> = labels.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "mid", "zeta"]);

    let folder = app
        .post(
            "/folders",
            &key,
            json!({ "workspace_id": ws, "name": "Infra" }),
        )
        .await;
    assert_eq!(folder.body["color"], "blue");
    let list = app
        .post(
            "/lists",
            &key,
            json!({ "workspace_id": ws, "folder_id": folder.body["id"], "name": "Backlog" }),
        )
        .await;
    assert_eq!(list.body["color"], "gray");
    let renamed = app
        .patch(
            &format!("/folders/{}", folder.body["id"]),
            &key,
            json!({ "name": "Infrastructure", "color": "red" }),
        )
        .await;
    assert_eq!(renamed.body["name"], "Infrastructure");
    assert_eq!(renamed.body["color"], "red");
    let other = app
        .post(
            "/folders",
            &key,
            json!({ "workspace_id": ws, "name": "Other" }),
        )
        .await;
    let moved = app
        .patch(
            &format!("/lists/{}", list.body["id"]),
            &key,
            json!({ "folder_id": other.body["id"] }),
        )
        .await;
    assert_eq!(moved.body["folder_id"], other.body["id"]);
}

#[tokio::test]
async fn the_longest_description_fits_however_it_is_escaped_and_a_larger_body_is_400() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    // 100,000 characters written as `\uXXXX` escapes, as Python's json.dumps writes them:
    // 600 kB of JSON.
    let escaped = "\\u754c".repeat(100_000);
    let body = format!(r#"{{"list_id": {list}, "title": "Long", "description": "{escaped}"}}"#);
    let created = app
        .http
        .post(format!("{}/tasks", app.base))
        .header("authorization", format!("Bearer {key}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let task: serde_json::Value = created.json().await.unwrap();
    let description = app.get(&format!("/tasks/{}", task["id"]), &key).await.body["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(description.chars().count(), 100_000);

    let too_large = app
        .post(
            "/tasks",
            &key,
            json!({ "list_id": list, "title": "Huge", "description": "界".repeat(800_000) }),
        )
        .await;
    too_large.expect(
        400,
        "Request body is larger than the limit of 2097152 bytes",
    );
}

#[tokio::test]
async fn integral_floats_name_ids_and_larger_limits_are_capped() {
    let app = TestApp::start().await;
    let key = app.mint(ALL_SCOPES).await;
    let list = app.list(&key).await;
    // Sent as raw JSON: a `Value` would write `1e0` back out as `1.0`.
    for (title, list_id) in [
        ("float", format!("{list}.0")),
        ("exponent", format!("{list}e0")),
    ] {
        let created = app
            .http
            .post(format!("{}/tasks", app.base))
            .header("authorization", format!("Bearer {key}"))
            .body(format!(r#"{{"list_id": {list_id}, "title": "{title}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{title}");
        let body: serde_json::Value = created.json().await.unwrap();
        assert_eq!(body["list_id"], list);
    }
    app.post("/tasks", &key, json!({ "list_id": 1.5, "title": "half" }))
        .await
        .expect(400, "list_id must be a valid numeric ID");
    let page = app
        .get(
            &format!("/workspaces/{}/tasks?limit=%2B4294967296", app.workspace),
            &key,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.body["limit"], 100);
    assert_eq!(page.body["total"], 2);
}
