//! The batched audit writer: every row handed to it is in the audit log after a flush,
//! once, with what it was given, whatever the batch sizes. Runs on SQLite, and on
//! PostgreSQL in the suite's PostgreSQL pass.

use std::sync::Arc;

use guildgate_core::audit::{ActorSource, AuditEvent};
use guildgate_core::ids::new_ulid;
use guildgate_storage::testing::{query_text, scratch_database_url};
use guildgate_storage::{AuditSink, Durability, Store, open};

fn read_row(run: usize, n: usize) -> AuditEvent {
    AuditEvent {
        id: new_ulid(),
        surface: "guild",
        at: 1_700_000_000_000 + n as i64,
        guild_id: Some("583912000000000000".into()),
        actor_source: ActorSource::Token,
        actor_user_id: Some("583912000000000001".into()),
        token_id: Some("01JTOKEN0000000000000000AB".into()),
        token_name: Some("bot".into()),
        action: "list_strikes".into(),
        method: Some("GET".into()),
        path: Some(format!("/run/{run}/row/{n}")),
        outcome: "allowed".into(),
        status: Some(200),
        request_id: Some(format!("req_{run}_{n}")),
        ip: Some("127.0.0.1".into()),
        target: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_handed_over_is_written_once_as_given_whatever_the_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let url = scratch_database_url(dir.path()).await.unwrap();
    let store: Arc<dyn Store> = open(&url, Durability::Full).await.unwrap();
    let sink = AuditSink::spawn(store.clone());

    // Sizes around the statement sizes (64, 32, ... 1) and the 512-row transaction.
    let sizes = [1, 2, 3, 63, 64, 65, 127, 200, 511, 512, 513, 1100];
    let mut expected = Vec::new();
    for (run, &size) in sizes.iter().enumerate() {
        for n in 0..size {
            let row = read_row(run, n);
            expected.push(format!(
                "{}|{}|{}",
                row.id,
                row.path.clone().unwrap(),
                row.request_id.clone().unwrap()
            ));
            sink.record(row).await;
        }
        sink.flush().await;
        let written = query_text(
            &url,
            &format!("SELECT CAST(COUNT(*) AS TEXT) FROM audit_log WHERE path LIKE '/run/{run}/%'"),
        )
        .await
        .unwrap();
        assert_eq!(written, vec![size.to_string()], "run {run} of {size} rows");
    }

    let mut found = query_text(
        &url,
        "SELECT id || '|' || path || '|' || request_id FROM audit_log \
         WHERE action = 'list_strikes' AND status = 200 AND ip = '127.0.0.1' \
         AND token_name = 'bot' AND outcome = 'allowed'",
    )
    .await
    .unwrap();
    found.sort();
    expected.sort();
    assert_eq!(found.len(), expected.len());
    assert!(
        found == expected,
        "the rows written differ from those handed over"
    );
    assert_eq!(sink.rows_written(), expected.len() as u64);
    assert_eq!(sink.queue_depth(), 0);
    assert_eq!(sink.rows_dropped(), 0);
    store.close().await;
}
