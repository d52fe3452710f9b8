//! Settings → API Keys: the tasks surface's `arca_` keys of the signed-in owner.

use guildgate_core::clock::DAY;

use crate::common::*;

#[tokio::test]
async fn keys_are_created_once_listed_and_revoked_for_the_linked_tasks_user() {
    let dash = Dash::start().await;
    let mut browser = dash.signed_in().await;
    let unlinked = browser.get("/dashboard/settings/api-keys").await;
    assert!(unlinked.body.contains("No tasks account is linked"));

    // Link the account to a tasks user by email.
    let mut tx = dash.store.begin().await.unwrap();
    let user = tx
        .insert_task_user("owner@example.com", "Owner", dash.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    dash.account(OWNER, Some("owner@example.com")).await;
    let mut browser = dash.signed_in().await;
    let page = browser.get("/dashboard/settings/api-keys").await;
    assert!(page.body.contains("acting as owner@example.com"));
    let csrf = page.csrf();
    let none = browser
        .post(
            "/dashboard/settings/api-keys",
            &[("csrf", &csrf), ("label", "ci"), ("expiry", "never")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(none.body.contains("at least one scope"));
    let created = browser
        .post(
            "/dashboard/settings/api-keys",
            &[
                ("csrf", &csrf),
                ("label", "ci"),
                ("scopes", "tasks:read"),
                ("scopes", "tasks:write"),
                ("expiry", "30"),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let secret = created.secret();
    assert!(secret.starts_with("arca_") && secret.len() == 69);
    let keys = dash.store.tasks_keys_of_user(user).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].scopes.names(), ["tasks:read", "tasks:write"]);
    assert_eq!(keys[0].expires_at, Some(dash.now() + 30 * DAY));
    let list = browser.get("/dashboard/settings/api-keys").await;
    assert!(!list.body.contains(&secret));
    assert_eq!(list.data("key-id"), [keys[0].id.clone()]);

    let revoked = browser
        .post(
            &format!("/dashboard/settings/api-keys/{}/revoke", keys[0].id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 303);
    assert!(
        dash.store
            .tasks_key(&keys[0].id)
            .await
            .unwrap()
            .unwrap()
            .revoked_at
            .is_some()
    );
    let status = reqwest::Client::new()
        .get(format!("{}/api/v1/workspaces", dash.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(
        status, 404,
        "this harness serves no tasks surface; revocation is checked in the store"
    );
}
