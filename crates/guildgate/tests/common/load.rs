//! A steady write load for the outage and crash tests: workers send writes of one or more
//! kinds ([`Stream`]s: strikes, bans, ticket claims, tasks), each with its own
//! Idempotency-Key, and retry a key (same key, same body) until it is acknowledged, as a
//! careful client would. Afterwards [`reconcile`] checks the database against what was
//! acknowledged.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{GUILD, OWNER};

/// A user the load's strikes are given to (apart from the other tests' users).
const TARGET: &str = "583912000000000777";

/// What one response to a write was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Status(u16),
    /// No answer: refused connection, reset, or timeout.
    NoAnswer,
}

#[derive(Debug, Default)]
pub struct WriteLoad {
    /// Idempotency key -> the id of what it created, for every acknowledged write.
    pub acknowledged: BTreeMap<String, String>,
    /// Keys given up on (still unacknowledged at the deadline).
    pub unfinished: Vec<String>,
    /// Every response, with when it came (since the load started).
    pub responses: Vec<(Duration, Outcome)>,
    /// Retryable errors that said `retryable: false`, or statuses a retry cannot fix.
    pub wrong: Vec<String>,
}

impl WriteLoad {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.responses.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// Acknowledgements that came after `at`.
    pub fn acknowledged_after(&self, at: Duration) -> usize {
        self.responses
            .iter()
            .filter(|(when, o)| *when > at && matches!(o, Outcome::Status(200 | 201)))
            .count()
    }
}

/// One POST that never panics: a refused connection, a reset or a timeout is `NoAnswer`.
pub fn try_post(
    port: u16,
    path: &str,
    token: &str,
    body: &str,
    idempotency_key: &str,
) -> (Outcome, String) {
    let attempt = || -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nIdempotency-Key: {idempotency_key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        let status = text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("no status line"))?;
        Ok((status, text))
    };
    match attempt() {
        Ok((status, text)) => (Outcome::Status(status), text),
        Err(err) => (Outcome::NoAnswer, err.to_string()),
    }
}

/// Mints a token that may write strikes, with its re-auth window open (15 minutes).
pub fn strike_writer(db: &super::Db, port: u16) -> String {
    let writer = db.ok(&[
        "token",
        "mint",
        "--guild",
        GUILD,
        "--user",
        OWNER,
        "--name",
        "load writer",
        "--capabilities",
        "strikes.read,strikes.write",
        "--allow-self-reauth",
    ]);
    let secret = writer["token"].as_str().unwrap().to_owned();
    open_window(port, &secret);
    secret
}

/// Opens (or renews) the re-auth window of a token allowed to open its own: 15 minutes.
pub fn open_window(port: u16, secret: &str) {
    let (status, me) = super::http_get(port, "/api/api-tokens/current", secret);
    assert_eq!(status, 200, "{me}");
    let id = super::body_json(&me)["id"].as_str().unwrap().to_owned();
    let window = format!("/api/api-tokens/{id}/reauth-window");
    let (status, text) = super::http_post(port, &window, secret, "");
    assert_eq!(status, 200, "{text}");
}

/// Rate limits raised out of the way of a load test (the decisions are still made).
pub const NO_LIMITS: [(&str, &str); 7] = [
    ("GUILDGATE_LIMIT_PER_IP", "1000000000/1000000000/1"),
    ("GUILDGATE_LIMIT_READ", "1000000000/1000000000/1"),
    ("GUILDGATE_LIMIT_REVERSIBLE", "1000000000/1000000000/1"),
    ("GUILDGATE_LIMIT_DESTRUCTIVE", "1000000000/1000000000/1"),
    ("GUILDGATE_LIMIT_AGGREGATE_READ", "1000000000/1000000000/1"),
    (
        "GUILDGATE_LIMIT_AGGREGATE_REVERSIBLE",
        "1000000000/1000000000/1",
    ),
    (
        "GUILDGATE_LIMIT_AGGREGATE_DESTRUCTIVE",
        "1000000000/1000000000/1",
    ),
];

/// (path, body) of a stream's write for the `n`th key.
pub type RequestFor = dyn Fn(u64, &str) -> (String, String) + Send + Sync;

/// One kind of write: where it goes, what it sends for a key, and how to find what it
/// wrote in the database. Every key's write is told apart by the key inside it.
pub struct Stream {
    pub name: &'static str,
    pub token: String,
    /// (path, body) of the write for the `n`th key, `key` (`{name}-{n}`).
    pub request: Box<RequestFor>,
    /// The id of what an acknowledged write created, from its answer.
    pub id_of: fn(&Value) -> Option<String>,
    /// Selects `key|id` for every write of this stream the database holds.
    pub stored_sql: String,
    /// Selects the target of each audit row of this stream's writes.
    pub audited_sql: String,
    /// The target the audit row of the write (key, id) names, when it names that write
    /// alone (a strike's names the user struck, shared by all: counted only).
    pub audit_target: fn(&str, &str) -> Option<String>,
}

fn id_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Strikes on one user; the key is in the reason. (A strike's audit row names the user
/// struck, so audit rows are counted.)
pub fn strikes(token: &str) -> Stream {
    Stream {
        name: "strikes",
        token: token.to_owned(),
        request: Box::new(|_, key| {
            let body = serde_json::json!({
                "user_id": TARGET,
                "reason": format!("load {key}"),
                "category": "rule-violation",
                "severity": "minor",
                "_confirmation": format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR"),
            });
            (
                format!("/api/public/v1/guilds/{GUILD}/strikes"),
                body.to_string(),
            )
        }),
        id_of: |v| id_at(v, "/strike/id"),
        stored_sql: "SELECT substr(reason, 6) || '|' || id FROM strikes WHERE reason LIKE 'load %'"
            .to_owned(),
        audited_sql: format!(
            "SELECT target FROM audit_log WHERE action = 'add_strike' AND outcome = 'success' \
             AND target = '{TARGET}'"
        ),
        audit_target: |_, _| None,
    }
}

/// A Discord id of its own for the `n`th ban.
pub fn banned_user(n: u64) -> String {
    (583_913_000_000_000_000 + n).to_string()
}

/// Bans, each of a user of its own, sent to Discord; the key is in the reason. A ban a
/// crash left half-done is finished at the next start (its audit row says RECONCILE) and
/// its retry replaces it, so what counts is one active ban per key and one audit row of
/// the call that answered it.
pub fn bans(token: &str) -> Stream {
    Stream {
        name: "bans",
        token: token.to_owned(),
        request: Box::new(|n, key| {
            let user = banned_user(n);
            let body = serde_json::json!({
                "user_id": user,
                "reason": format!("load {key}"),
                "_confirmation": format!("BAN USER {user} IN GUILD {GUILD} PERMANENT"),
            });
            (
                format!("/api/public/v1/guilds/{GUILD}/bans"),
                body.to_string(),
            )
        }),
        id_of: |v| id_at(v, "/ban/id"),
        stored_sql: "SELECT substr(reason, 6) || '|' || id FROM bans \
                     WHERE reason LIKE 'load %' AND lifted_at IS NULL"
            .to_owned(),
        audited_sql: "SELECT target FROM audit_log WHERE action = 'ban_user' \
                      AND outcome = 'success' AND (method IS NULL OR method <> 'RECONCILE')"
            .to_owned(),
        audit_target: |key, _| {
            let n = key.trim_start_matches("bans-").parse().ok()?;
            Some(banned_user(n))
        },
    }
}

/// Claims of the given open tickets, one per key (the ticket claimed is the key's).
pub fn claims(token: &str, tickets: Vec<String>) -> Stream {
    let listed = tickets
        .iter()
        .enumerate()
        .map(|(n, id)| format!("('{n}', '{id}')"))
        .collect::<Vec<_>>()
        .join(", ");
    Stream {
        name: "claims",
        token: token.to_owned(),
        request: Box::new(move |n, _| {
            let ticket = &tickets[n as usize % tickets.len()];
            (
                format!("/api/public/v1/guilds/{GUILD}/tickets/{ticket}/claim"),
                String::new(),
            )
        }),
        id_of: |v| id_at(v, "/ticket/id"),
        // The `n`th ticket is claimed by key `claims-{n}`.
        stored_sql: format!(
            "WITH numbered (n, id) AS (VALUES {listed}) \
             SELECT 'claims-' || numbered.n || '|' || tickets.id FROM tickets \
             JOIN numbered ON numbered.id = tickets.id WHERE tickets.claimed_by IS NOT NULL"
        ),
        audited_sql: "SELECT target FROM audit_log WHERE action = 'claim_ticket' \
                      AND outcome = 'success'"
            .to_owned(),
        audit_target: |_, id| Some(id.to_owned()),
    }
}

/// Tasks created in one list; the key is the title.
pub fn tasks(key: &str, list_id: i64) -> Stream {
    Stream {
        name: "tasks",
        token: key.to_owned(),
        request: Box::new(move |_, key| {
            let body = serde_json::json!({ "list_id": list_id, "title": format!("load {key}") });
            ("/api/v1/tasks".to_owned(), body.to_string())
        }),
        id_of: |v| id_at(v, "/id"),
        stored_sql: "SELECT substr(title, 6) || '|' || CAST(id AS TEXT) FROM tasks \
                     WHERE title LIKE 'load %'"
            .to_owned(),
        audited_sql: "SELECT target FROM audit_log WHERE action = 'create_task' \
                      AND outcome = 'success'"
            .to_owned(),
        audit_target: |_, id| Some(id.to_owned()),
    }
}

/// Runs `workers` writers of `stream` against `ports` (taken in turn) until `stop` is set,
/// then lets each finish the key it holds (retrying for up to `drain`). Each waits
/// `pace` after an acknowledgement (zero: as fast as answers come).
pub fn drive(
    stream: Arc<Stream>,
    ports: Vec<u16>,
    workers: usize,
    pace: Duration,
    stop: Arc<AtomicBool>,
    drain: Duration,
) -> std::thread::JoinHandle<WriteLoad> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let (ports, stop, stream) = (ports.clone(), stop.clone(), stream.clone());
                std::thread::spawn(move || {
                    let mut load = WriteLoad::default();
                    let mut turn = worker;
                    let mut stopped_at = None;
                    for n in 0.. {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let index = n * workers as u64 + worker as u64;
                        // Keys are per token; streams may share one.
                        let key = format!("{}-{index}", stream.name);
                        let (path, body) = (stream.request)(index, &key);
                        let mut last = String::new();
                        loop {
                            if stop.load(Ordering::Relaxed) {
                                let since = *stopped_at.get_or_insert_with(Instant::now);
                                if since.elapsed() > drain {
                                    eprintln!(
                                        "{}: gave up on {key}; last answer: {last}",
                                        stream.name
                                    );
                                    load.unfinished.push(key);
                                    break;
                                }
                            }
                            let port = ports[turn % ports.len()];
                            turn += 1;
                            let (outcome, text) = try_post(port, &path, &stream.token, &body, &key);
                            last.clone_from(&text);
                            load.responses.push((started.elapsed(), outcome));
                            match outcome {
                                Outcome::Status(200 | 201) => {
                                    let id = (stream.id_of)(&super::body_json(&text))
                                        .unwrap_or_default();
                                    load.acknowledged.insert(key, id);
                                    std::thread::sleep(pace);
                                    break;
                                }
                                Outcome::Status(503) | Outcome::Status(429) => {
                                    if super::body_json(&text)["error"]["retryable"] != true {
                                        load.wrong.push(text);
                                    }
                                }
                                // The same key still in flight (a retry overtook a request
                                // the server is still finishing): wait and retry.
                                Outcome::Status(409) | Outcome::NoAnswer => {}
                                Outcome::Status(_) => {
                                    load.wrong.push(text);
                                    break;
                                }
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    load
                })
            })
            .collect();
        let mut all = WriteLoad::default();
        for handle in handles {
            let load = handle.join().unwrap();
            all.acknowledged.extend(load.acknowledged);
            all.unfinished.extend(load.unfinished);
            all.responses.extend(load.responses);
            all.wrong.extend(load.wrong);
        }
        all.responses.sort();
        all
    })
}

/// What the database holds for a load, against what was acknowledged.
#[derive(Debug)]
pub struct Reconciled {
    pub acknowledged: usize,
    /// Acknowledged writes not in the database.
    pub lost: Vec<String>,
    /// Keys with more than one stored write.
    pub duplicated: Vec<String>,
    /// Stored writes whose key was never acknowledged (allowed only for unfinished keys).
    pub unacknowledged: Vec<String>,
    /// Acknowledged ids unlike the stored ones, or writes and audit rows that differ in
    /// number.
    pub mismatched: Vec<String>,
}

impl Reconciled {
    pub fn assert_exact(&self, load: &WriteLoad) {
        assert!(self.lost.is_empty(), "lost: {self:?}");
        assert!(self.duplicated.is_empty(), "duplicated: {self:?}");
        assert!(self.mismatched.is_empty(), "mismatched: {self:?}");
        let unexplained: Vec<_> = self
            .unacknowledged
            .iter()
            .filter(|key| !load.unfinished.contains(key))
            .collect();
        assert!(
            unexplained.is_empty(),
            "written but never acknowledged: {unexplained:?}"
        );
    }
}

/// Compares what `stream` wrote in `database_url` with `load`.
pub fn reconcile(db: &super::Db, stream: &Stream, load: &WriteLoad) -> Reconciled {
    let query = |sql: &str| db.query(sql);
    let audit_targets = query(&stream.audited_sql);
    let audited = audit_targets.len();
    let mut audit_rows_of: HashMap<String, usize> = HashMap::new();
    for target in audit_targets {
        *audit_rows_of.entry(target).or_default() += 1;
    }
    let mut by_key: HashMap<String, Vec<String>> = HashMap::new();
    for row in query(&stream.stored_sql) {
        let (key, id) = row.split_once('|').unwrap();
        by_key
            .entry(key.to_owned())
            .or_default()
            .push(id.to_owned());
    }
    let mut reconciled = Reconciled {
        acknowledged: load.acknowledged.len(),
        lost: Vec::new(),
        duplicated: Vec::new(),
        unacknowledged: Vec::new(),
        mismatched: Vec::new(),
    };
    let stored: usize = by_key.values().map(Vec::len).sum();
    if audited != stored {
        reconciled.mismatched.push(format!(
            "{}: {stored} writes stored, {audited} audit rows",
            stream.name
        ));
    }
    for (key, ids) in &by_key {
        for id in ids {
            if let Some(target) = (stream.audit_target)(key, id)
                && audit_rows_of.get(&target) != Some(&1)
            {
                reconciled.mismatched.push(format!(
                    "{key}: {:?} audit rows name {target}",
                    audit_rows_of.get(&target)
                ));
            }
        }
    }
    for (key, id) in &load.acknowledged {
        match by_key.get(key).map(Vec::as_slice) {
            None | Some([]) => reconciled.lost.push(key.clone()),
            Some([stored]) => {
                if stored != id {
                    reconciled
                        .mismatched
                        .push(format!("{key}: acknowledged {id}, stored {stored}"));
                }
            }
            Some(_) => reconciled.duplicated.push(key.clone()),
        }
    }
    for (key, ids) in &by_key {
        if !load.acknowledged.contains_key(key) {
            reconciled.unacknowledged.push(key.clone());
            if ids.len() > 1 {
                reconciled.duplicated.push(key.clone());
            }
        }
    }
    reconciled
}
