//! Workspace roles apply to a key's owner.

use guildgate_core::tasks::Role;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn viewers_read_members_write_admins_delete() {
    let app = TestApp::start().await;
    let owner_key = app.mint(ALL_SCOPES).await;
    let list = app.list(&owner_key).await;
    let ws = app.workspace;
    let folders = app
        .get(&format!("/workspaces/{ws}/folders"), &owner_key)
        .await;
    let folder = folders.body["data"][0]["id"].as_i64().unwrap();

    let viewer = app.member(ws, "vic@example.com", Role::Viewer).await;
    let viewer_key = app.mint_for(viewer, ALL_SCOPES, None).await;
    assert_eq!(
        app.get(&format!("/workspaces/{ws}/tasks"), &viewer_key)
            .await
            .status,
        200
    );
    let refused = app
        .post(
            "/tasks",
            &viewer_key,
            json!({ "list_id": list, "title": "x" }),
        )
        .await;
    refused.expect(403, "Viewers have read-only access to this workspace");
    app.post(
        "/folders",
        &viewer_key,
        json!({ "workspace_id": ws, "name": "x" }),
    )
    .await
    .expect(403, "Viewers have read-only access to this workspace");

    let member = app.member(ws, "mo@example.com", Role::Member).await;
    let member_key = app.mint_for(member, ALL_SCOPES, None).await;
    let task = app
        .post(
            "/tasks",
            &member_key,
            json!({ "list_id": list, "title": "by a member" }),
        )
        .await;
    assert_eq!(task.status, 201);
    assert_eq!(task.body["creator_id"], member);
    let message = "Only workspace owners and admins can delete folders and lists";
    app.delete(&format!("/lists/{list}"), &member_key)
        .await
        .expect(403, message);
    app.delete(&format!("/folders/{folder}"), &member_key)
        .await
        .expect(403, message);
    app.post(
        "/statuses",
        &member_key,
        json!({ "workspace_id": ws, "name": "QA", "category": "pending" }),
    )
    .await
    .expect(403, "Only workspace owners and admins can create statuses");
    // Members may delete tasks.
    assert_eq!(
        app.delete(&format!("/tasks/{}", task.body["id"]), &member_key)
            .await
            .status,
        200
    );

    let admin = app.member(ws, "ada@example.com", Role::Admin).await;
    let admin_key = app.mint_for(admin, ALL_SCOPES, None).await;
    let status = app
        .post(
            "/statuses",
            &admin_key,
            json!({ "workspace_id": ws, "name": "QA", "category": "pending" }),
        )
        .await;
    assert_eq!(status.status, 201);
    assert_eq!(
        app.delete(&format!("/folders/{folder}"), &admin_key)
            .await
            .status,
        200
    );
    // The folder's lists and their tasks went with it.
    assert_eq!(
        app.get(&format!("/workspaces/{ws}/lists"), &admin_key)
            .await
            .body["data"],
        json!([])
    );
    assert_eq!(
        app.get(&format!("/workspaces/{ws}/tasks"), &admin_key)
            .await
            .body["total"],
        0
    );
    let members = app
        .get(&format!("/workspaces/{ws}/members"), &admin_key)
        .await;
    assert_eq!(members.body["data"].as_array().unwrap().len(), 4);
}
