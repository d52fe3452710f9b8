//! An idempotency key held by a server process that has died is taken over by the next
//! retry at once; one held by a live process answers "in flight" until it ends. Runs on
//! SQLite, and on PostgreSQL in the suite's PostgreSQL pass.

use guildgate_storage::testing::scratch_database_url;
use guildgate_storage::{Durability, IdempotencyStart, Store, open};

const STALE_BEFORE: i64 = 0;
const NOW: i64 = 1_000_000;

async fn start(store: &dyn Store, key: &str) -> IdempotencyStart {
    store
        .start_idempotent("tok_1", key, &[7; 32], NOW, STALE_BEFORE)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dead_holders_key_is_taken_over_and_a_live_holders_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let url = scratch_database_url(dir.path()).await.unwrap();
    let first = open(&url, Durability::Full).await.unwrap();
    assert_eq!(start(&*first, "k").await, IdempotencyStart::Proceed);
    // The same process asking again: its own request is still running.
    assert_eq!(start(&*first, "k").await, IdempotencyStart::InFlight);

    let second = open(&url, Durability::Full).await.unwrap();
    if guildgate_storage::is_postgres(&url) {
        // Several instances share PostgreSQL: the first is alive, so its hold stands.
        assert_eq!(start(&*second, "k").await, IdempotencyStart::InFlight);
        first.close().await;
        // Its sessions are gone: the process is presumed dead (PostgreSQL notices a
        // closed session at once; give it a moment).
        let mut outcome = start(&*second, "k").await;
        for _ in 0..50 {
            if outcome == IdempotencyStart::Proceed {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            outcome = start(&*second, "k").await;
        }
        assert_eq!(outcome, IdempotencyStart::Proceed);
    } else {
        // One process serves a SQLite database: a hold from another one is from a
        // process that has died (a crash before the restart).
        assert_eq!(start(&*second, "k").await, IdempotencyStart::Proceed);
    }
    // Now the second holds it. A late release of an earlier hold of the key leaves it
    // alone; the release of this hold lets it go.
    assert_eq!(start(&*second, "k").await, IdempotencyStart::InFlight);
    second
        .release_idempotent("tok_1", "k", NOW - 1)
        .await
        .unwrap();
    assert_eq!(start(&*second, "k").await, IdempotencyStart::InFlight);
    second.release_idempotent("tok_1", "k", NOW).await.unwrap();
    assert_eq!(start(&*second, "k").await, IdempotencyStart::Proceed);
    second.close().await;
}

#[tokio::test]
async fn a_response_is_saved_only_by_the_hold_that_still_owns_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = scratch_database_url(dir.path()).await.unwrap();
    let store = open(&url, Durability::Full).await.unwrap();
    assert_eq!(start(&*store, "c").await, IdempotencyStart::Proceed);
    // A hold from an earlier attempt (taken over since) cannot save its response.
    let mut tx = store.begin().await.unwrap();
    let refused = tx
        .complete_idempotent("tok_1", "c", NOW - 5, 201, "{\"old\":true}")
        .await;
    assert!(
        matches!(refused, Err(guildgate_storage::StoreError::Conflict(_))),
        "{refused:?}"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.complete_idempotent("tok_1", "c", NOW, 201, "{\"ok\":true}")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        start(&*store, "c").await,
        IdempotencyStart::Replay {
            status: 201,
            body: "{\"ok\":true}".to_owned()
        }
    );
    store.close().await;
}

/// On PostgreSQL a first use finds the key's row taken (its insert does nothing), and
/// the row is deleted before it can read it: the failed attempt that held it let it go on
/// another connection. The key is free, so this use must take it with a row of its own;
/// it once went ahead holding nothing, and its response could then not be saved (a 500 in
/// the database-restart test).
#[tokio::test]
async fn a_key_let_go_between_insert_and_read_is_taken_with_a_row_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let url = scratch_database_url(dir.path()).await.unwrap();
    if !guildgate_storage::is_postgres(&url) {
        return; // One SQLite writer runs the insert and the read with nothing between.
    }
    let store = open(&url, Durability::Full).await.unwrap();
    assert_eq!(start(&*store, "k").await, IdempotencyStart::Proceed);
    // The failed attempt's release, on another connection: it holds the row while it
    // deletes it.
    use sqlx::{Connection, Executor};
    let mut releaser = sqlx::PgConnection::connect(&url).await.unwrap();
    releaser.execute("BEGIN").await.unwrap();
    releaser
        .execute("SELECT 1 FROM idempotency_keys WHERE key = 'k' FOR UPDATE")
        .await
        .unwrap();
    let retry = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .start_idempotent("tok_1", "k", &[7; 32], NOW + 1, STALE_BEFORE)
                .await
                .unwrap()
        })
    };
    // The retry's insert found the row and it now waits to read it.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    releaser
        .execute("DELETE FROM idempotency_keys WHERE key = 'k'")
        .await
        .unwrap();
    releaser.execute("COMMIT").await.unwrap();
    assert_eq!(retry.await.unwrap(), IdempotencyStart::Proceed);
    let held = guildgate_storage::testing::query_text(
        &url,
        "SELECT CAST(locked_at AS TEXT) FROM idempotency_keys WHERE key = 'k'",
    )
    .await
    .unwrap();
    assert_eq!(held, vec![(NOW + 1).to_string()], "the retry holds the key");
    store.close().await;
}
