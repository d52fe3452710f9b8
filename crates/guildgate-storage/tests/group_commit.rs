//! Group commit and the read cache, against a real SQLite file: what a caller of the
//! store sees when many writers share commits, one of them gives up, and reads are cached.

use std::sync::Arc;
use std::time::Duration;

use guildgate_core::audit::AuditEvent;
use guildgate_core::ids::new_ulid;
use guildgate_core::model::{Guild, GuildTier, PageRequest, Severity, Strike};
use guildgate_storage::testing::query_text;
use guildgate_storage::{SqliteStore, Store};

fn guild(id: u64) -> Guild {
    Guild {
        id: id.to_string(),
        name: format!("guild {id}"),
        owner_id: "583912000000000001".into(),
        tier: GuildTier::Pro,
        mcp_enabled: false,
        created_at: 0,
    }
}

fn strike(guild_id: &str) -> Strike {
    Strike {
        id: new_ulid(),
        strike_id: new_ulid(),
        guild_id: guild_id.into(),
        user_id: "583912000000000000".into(),
        player_name: None,
        in_game_id: None,
        reason: "spam".into(),
        category: None,
        severity: Severity::Minor,
        points: 1,
        issued_by: "583912000000000001".into(),
        token_id: None,
        issued_at: 0,
        removed_at: None,
    }
}

async fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    Arc::new(
        SqliteStore::open(&format!("sqlite://{}/g.db", dir.path().display()))
            .await
            .unwrap(),
    )
}

/// The ids of the `guild.create` audit rows that name guild `id`.
async fn audit_rows_of(url: &str, id: &str) -> Vec<String> {
    query_text(
        url,
        &format!("SELECT id FROM audit_log WHERE action = 'guild.create' AND target = '{id}'"),
    )
    .await
    .unwrap()
}

/// One write of guild `id`, acknowledged.
async fn commit_guild(store: &SqliteStore, id: u64) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&guild(id)).await.unwrap();
    tx.commit().await.unwrap();
}

const PAGE: PageRequest = PageRequest {
    limit: 10,
    before: None,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_are_all_durable_with_their_audit_rows_and_those_that_give_up_leave_no_trace()
 {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut writers = Vec::new();
    // Every fifth writer gives up: within one group, committed and abandoned savepoints
    // alternate.
    let gives_up = |i: u64| i % 5 == 3;
    for i in 0..200u64 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            let id = (100_000_000_000_000_000 + i).to_string();
            tx.insert_guild(&guild(100_000_000_000_000_000 + i))
                .await
                .unwrap();
            // Its audit row waits in the savepoint for the group's COMMIT: it must go in
            // with the guild, or vanish with it.
            tx.append_audit(&AuditEvent::cli(0, Some(&id), "guild.create", Some(&id)))
                .await
                .unwrap();
            if gives_up(i) {
                // This writer fails half way: its change must vanish, the others' stay.
                drop(tx);
                return;
            }
            tx.commit().await.unwrap();
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    // A failing statement inside a group does not spoil the group either.
    let mut tx = store.begin().await.unwrap();
    let duplicate = tx.insert_guild(&guild(100_000_000_000_000_000)).await;
    assert!(duplicate.is_err(), "the guild already exists");
    drop(tx);
    store.close().await;

    let reopened = open(&dir).await;
    let url = format!("sqlite://{}/g.db", dir.path().display());
    for i in 0..200u64 {
        let id = (100_000_000_000_000_000 + i).to_string();
        let found = reopened.guild(&id).await.unwrap();
        assert_eq!(found.is_some(), !gives_up(i), "guild {i}");
        let audited = audit_rows_of(&url, &id).await;
        assert_eq!(
            audited.len(),
            usize::from(!gives_up(i)),
            "audit rows of guild {i}"
        );
    }
}

/// A writer's savepoint opens in the same round trip as its first statement. Writers whose
/// first statement fails, and writers that run no statement at all, must leave the
/// writers around them in the group as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_whose_first_statement_fails_or_that_run_none_leave_their_group_intact() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    const TAKEN: u64 = 200_000_000_000_000_000;
    commit_guild(&store, TAKEN).await;

    let mut writers = Vec::new();
    for i in 0..400u64 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            match i % 4 {
                // An ordinary write.
                0 => {
                    tx.insert_guild(&guild(100_000_000_000_000_000 + i))
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                }
                // Its first statement fails: the writer gives up.
                1 => {
                    let duplicate = tx.insert_guild(&guild(TAKEN)).await;
                    assert!(duplicate.is_err(), "guild {TAKEN} exists");
                    drop(tx);
                }
                // Nothing to write, committed.
                2 => tx.commit().await.unwrap(),
                // Nothing to write, given up.
                _ => drop(tx),
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    commit_guild(&store, 300_000_000_000_000_000).await;
    store.close().await;

    let reopened = open(&dir).await;
    for i in 0..400u64 {
        let found = reopened
            .guild(&(100_000_000_000_000_000 + i).to_string())
            .await
            .unwrap();
        assert_eq!(found.is_some(), i % 4 == 0, "guild {i}");
    }
    for id in [TAKEN, 300_000_000_000_000_000] {
        assert!(reopened.guild(&id.to_string()).await.unwrap().is_some());
    }
}

/// How the last writer of [`one_group`] ends.
#[derive(Clone, Copy, PartialEq)]
enum Last {
    Commits,
    GivesUp,
    /// It stages an audit row with the first writer's row id: the group's `INSERT` fails.
    RepeatsTheFirstAuditId,
}

/// `size` writers (guilds `first_id..`) that share one group: the first holds the
/// connection until the rest are queued behind it, so the group commits once, after the
/// last. Each inserts a guild and stages its audit row. Returns whether each writer's
/// commit succeeded (`None` for one that gave up).
async fn one_group(
    store: &Arc<SqliteStore>,
    first_id: u64,
    size: u64,
    last: Last,
) -> Vec<Option<bool>> {
    let events: Vec<AuditEvent> = (0..size)
        .map(|i| {
            let id = (first_id + i).to_string();
            AuditEvent::cli(0, Some(&id), "guild.create", Some(&id))
        })
        .collect();
    let mut first = store.begin().await.unwrap();
    let mut rest = Vec::new();
    for i in 1..size {
        let store = store.clone();
        let mut event = events[i as usize].clone();
        let is_last = i == size - 1;
        if is_last && last == Last::RepeatsTheFirstAuditId {
            event.id = events[0].id.clone();
        }
        rest.push(tokio::spawn(async move {
            let mut tx = store.begin().await.unwrap();
            tx.insert_guild(&guild(first_id + i)).await.unwrap();
            tx.append_audit(&event).await.unwrap();
            if is_last && last == Last::GivesUp {
                drop(tx);
                return None;
            }
            Some(tx.commit().await.is_ok())
        }));
    }
    // The connection is handed over in the order it was asked for: once the rest are
    // queued, the group's commit (asked for by the first writer's commit) comes last.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.insert_guild(&guild(first_id)).await.unwrap();
    first.append_audit(&events[0]).await.unwrap();
    let first = tokio::spawn(async move { first.commit().await.is_ok() });
    let mut outcomes = vec![Some(first.await.unwrap())];
    for writer in rest {
        outcomes.push(writer.await.unwrap());
    }
    outcomes
}

/// A group ends in one round trip (last savepoint's ending, the group's audit rows,
/// `COMMIT`) when it has at most 64 rows, in several beyond. Either way a group whose
/// audit rows cannot go in fails as a whole: no writer is acknowledged, no change or row
/// of it stays, and the next write commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_commits_with_all_its_audit_rows_or_fails_as_a_whole() {
    let cases = [
        (2, Last::Commits),
        (40, Last::GivesUp),
        (64, Last::Commits),
        (100, Last::GivesUp),
        (2, Last::RepeatsTheFirstAuditId),
        (64, Last::RepeatsTheFirstAuditId),
        (100, Last::RepeatsTheFirstAuditId),
    ];
    for (size, last) in cases {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/g.db", dir.path().display());
        let store = open(&dir).await;
        const FIRST: u64 = 100_000_000_000_000_000;
        let outcomes = one_group(&store, FIRST, size, last).await;
        let fails = last == Last::RepeatsTheFirstAuditId;
        for (i, outcome) in outcomes.iter().enumerate() {
            let expected = match last {
                Last::GivesUp if i as u64 == size - 1 => None,
                _ => Some(!fails),
            };
            assert_eq!(
                *outcome,
                expected,
                "writer {i} of {size} ({})",
                if fails { "failing group" } else { "group" }
            );
        }
        // The writer works on after a failed group.
        commit_guild(&store, 300_000_000_000_000_000).await;
        store.close().await;

        let reopened = open(&dir).await;
        for (i, outcome) in outcomes.iter().enumerate() {
            let id = (FIRST + i as u64).to_string();
            let kept = *outcome == Some(true);
            assert_eq!(
                reopened.guild(&id).await.unwrap().is_some(),
                kept,
                "guild {i} of {size}"
            );
            assert_eq!(
                audit_rows_of(&url, &id).await.len(),
                usize::from(kept),
                "audit row {i} of {size}"
            );
        }
        assert!(
            reopened
                .guild("300000000000000000")
                .await
                .unwrap()
                .is_some()
        );
        reopened.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_cut_off_at_any_point_cost_no_acknowledged_write_and_leave_the_writer_working() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let mut writers = Vec::new();
    for i in 0..300u64 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let id = (100_000_000_000_000_000 + i).to_string();
            // A request dropped at some point of its write, as when its client goes away:
            // begin, the statements, or the wait for the group's commit.
            let cut_off = Duration::from_micros(i * 37 % 3_000);
            let write = async {
                let mut tx = store.begin().await?;
                tx.insert_guild(&guild(100_000_000_000_000_000 + i)).await?;
                tx.append_audit(&AuditEvent::cli(0, Some(&id), "guild.create", Some(&id)))
                    .await?;
                tx.commit().await
            };
            let acknowledged = if i % 3 == 0 {
                matches!(tokio::time::timeout(cut_off, write).await, Ok(Ok(())))
            } else {
                // A writer that was not cut off is acknowledged, or, when another writer
                // of its group was cut off mid-statement, told to retry (the group is
                // rolled back whole); never anything else.
                match write.await {
                    Ok(()) => true,
                    Err(guildgate_storage::StoreError::Unavailable(_)) => false,
                    Err(other) => panic!("writer {i} was not cut off and failed: {other:?}"),
                }
            };
            (id, acknowledged)
        }));
    }
    let mut acknowledged = Vec::new();
    for writer in writers {
        let (id, acked) = writer.await.unwrap();
        if acked {
            acknowledged.push(id);
        }
    }
    // Enough acknowledged writes for the checks below to mean something. Not "most":
    // a cut-off writer costs its whole group, so runs on this machine acknowledged 96 to
    // 202 of the 300.
    assert!(
        acknowledged.len() >= 30,
        "too few writes acknowledged to check: {}",
        acknowledged.len()
    );
    // The writer still works after every interruption.
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&guild(200_000_000_000_000_000))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    let reopened = open(&dir).await;
    let url = format!("sqlite://{}/g.db", dir.path().display());
    for id in acknowledged {
        assert!(reopened.guild(&id).await.unwrap().is_some(), "guild {id}");
        let audited = audit_rows_of(&url, &id).await;
        assert_eq!(audited.len(), 1, "audit rows of guild {id}");
    }
    assert!(
        reopened
            .guild("200000000000000000")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_cached_page_never_hides_an_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    let g = guild(100_000_000_000_000_000);
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&g).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.strikes(&g.id, &PAGE).await.unwrap().data.is_empty());
    assert!(
        store.strikes(&g.id, &PAGE).await.unwrap().data.is_empty(),
        "served from the cache"
    );
    let written = strike(&g.id);
    let mut tx = store.begin().await.unwrap();
    tx.insert_strike(&written).await.unwrap();
    tx.commit().await.unwrap();
    let page = store.strikes(&g.id, &PAGE).await.unwrap();
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id, written.id);
}

#[tokio::test]
async fn a_write_by_another_process_is_seen_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let server = open(&dir).await;
    let g = guild(100_000_000_000_000_000);
    let mut tx = server.begin().await.unwrap();
    tx.insert_guild(&g).await.unwrap();
    tx.commit().await.unwrap();
    assert!(server.strikes(&g.id, &PAGE).await.unwrap().data.is_empty());
    // The admin CLI is another store on the same file: the server's generations never hear of it.
    let cli = open(&dir).await;
    let mut tx = cli.begin().await.unwrap();
    tx.insert_strike(&strike(&g.id)).await.unwrap();
    tx.commit().await.unwrap();
    cli.close().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(server.strikes(&g.id, &PAGE).await.unwrap().data.len(), 1);
}

/// A group is acknowledged only after its WAL is fsynced, off the connection. When that
/// fsync cannot be done (here the WAL is removed from under the server), no writer of the
/// group is told its write succeeded, every later write is refused with the reason, and
/// reads go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_fsync_of_the_wal_nothing_more_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir).await;
    const BEFORE: u64 = 100_000_000_000_000_001;
    commit_guild(&store, BEFORE).await;

    std::fs::remove_file(dir.path().join("g.db-wal")).unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_guild(&guild(BEFORE + 1)).await.unwrap();
    let refused = tx.commit().await.expect_err("the fsync failed");
    let refused = refused.to_string();
    assert!(
        refused.contains("whether this write was kept is unknown")
            && refused.contains("writes are refused until guildgate is restarted"),
        "{refused}"
    );
    let later = store.begin().await.err().expect("later writes are refused");
    assert!(later.to_string().contains("fsync"), "{later}");
    assert!(store.guild(&BEFORE.to_string()).await.unwrap().is_some());
}
