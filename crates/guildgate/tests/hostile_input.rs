//! Hostile input against the served binary, over raw TCP so nothing is tidied on the way:
//! oversized, malformed, deep, duplicated and non-UTF-8 bodies get a clear error in the
//! documented envelope and write nothing; huge headers are refused; slow clients are
//! disconnected; a spoofed X-Forwarded-For from an untrusted peer changes nothing, and
//! behind a trusted proxy the right hop is the client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;

const SENTINEL: &str =
    "ADD STRIKE TO USER 583912000000000000 IN GUILD 100000000000000000 SEVERITY MINOR";

/// Sends `request` as is and reads the answer until the server closes (or 10 s pass).
fn raw(port: u16, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The server may answer and close before a large request is all written.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn post(port: u16, path: &str, token: &str, body: &[u8], headers: &str) -> String {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    raw(port, &request)
}

fn status(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn strike_count(db: &Db) -> usize {
    db.query("SELECT id FROM strikes").len()
}

#[test]
fn malformed_bodies_get_a_clear_error_and_write_nothing() {
    let db = seeded();
    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    let token = common::load::strike_writer(&db, port);
    let strikes = format!("/api/public/v1/guilds/{GUILD}/strikes");
    let good = |reason: &str| {
        serde_json::json!({
            "user_id": "583912000000000000", "reason": reason, "severity": "minor",
            "_confirmation": SENTINEL,
        })
        .to_string()
    };

    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        (
            "over the 64 KiB limit",
            good(&"x".repeat(100_000)).into_bytes(),
            400,
            "VALIDATION_FAILED",
            "larger than the limit of 65536 bytes",
        ),
        (
            "nested 10,000 deep",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            400,
            "VALIDATION_FAILED",
            "Invalid JSON body",
        ),
        (
            "an object nested 10,000 deep in a field",
            format!(
                r#"{{"user_id": "583912000000000000", "reason": {}1{}, "severity": "minor", "_confirmation": "{SENTINEL}"}}"#,
                r#"{"a":"#.repeat(10_000),
                "}".repeat(10_000)
            )
            .into_bytes(),
            400,
            "VALIDATION_FAILED",
            "Invalid JSON body",
        ),
        (
            "a key given twice",
            format!(
                r#"{{"user_id": "583912000000000000", "user_id": "583912000000000009", "reason": "r", "severity": "minor", "_confirmation": "{SENTINEL}"}}"#
            )
            .into_bytes(),
            400,
            "VALIDATION_FAILED",
            "duplicate field `user_id`",
        ),
        (
            "bytes that are not UTF-8",
            [
                br#"{"user_id": "583912000000000000", "reason": ""#.as_slice(),
                b"\xff\xfe\xfd",
                format!(r#"", "severity": "minor", "_confirmation": "{SENTINEL}"}}"#).as_bytes(),
            ]
            .concat(),
            400,
            "VALIDATION_FAILED",
            "Invalid JSON body",
        ),
        (
            // PostgreSQL cannot store one, so no backend takes one.
            "a NUL in a string",
            good("nul \u{0000} inside").into_bytes(),
            400,
            "VALIDATION_FAILED",
            "must not contain NUL",
        ),
    ];
    let mut created = 0;
    for (name, body, expected, code, message) in cases {
        let answer = post(port, &strikes, &token, &body, "");
        assert_eq!(status(&answer), expected, "{name}: {answer}");
        if expected == 201 {
            created += 1;
            continue;
        }
        let error = &body_json(&answer)["error"];
        assert_eq!(error["code"], code, "{name}: {answer}");
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{name}: {answer}"
        );
        assert!(error["request_id"].is_string(), "{name}: {answer}");
        assert_eq!(strike_count(&db), created, "{name} wrote something");
    }

    // Headers beyond hyper's limits are refused before any handler runs.
    let huge = raw(
        port,
        format!(
            "GET /api/public/v1/status HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(1_000_000)
        )
        .as_bytes(),
    );
    assert_eq!(status(&huge), 431, "{huge}");
    let many: String = (0..500).map(|i| format!("X-H{i}: 1\r\n")).collect();
    let many = raw(
        port,
        format!("GET /api/public/v1/status HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status(&many), 431, "{many}");
    // And the server is as it was.
    assert_eq!(http_get(port, &strikes, &token).0, 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn slow_clients_are_disconnected_and_write_nothing() {
    let db = seeded();
    let port = free_port();
    let mut server = serve(&db, port, &[("GUILDGATE_CLIENT_TIMEOUT_SECS", "1")], None);
    let token = common::load::strike_writer(&db, port);

    // Headers that never end: the connection is closed after the client timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /api/public/v1/status HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = slow.read_to_end(&mut answer);
    let held = started.elapsed();
    assert!(
        held < Duration::from_secs(4),
        "a client that never finished its headers held a connection for {held:?}"
    );

    // A body that stops arriving: the request ends with an error, and nothing is written.
    let body = format!(
        r#"{{"user_id": "583912000000000000", "reason": "slow", "severity": "minor", "_confirmation": "{SENTINEL}"}}"#
    );
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        slow,
        "POST /api/public/v1/guilds/{GUILD}/strikes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..20]
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(started.elapsed() < Duration::from_secs(4), "{answer}");
    assert_eq!(status(&answer), 400, "{answer}");
    assert_eq!(body_json(&answer)["error"]["code"], "VALIDATION_FAILED");
    assert_eq!(strike_count(&db), 0);

    // Meanwhile everyone else is served.
    assert_eq!(http_get(port, "/api/public/v1/status", &token).0, 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

/// Calls `/status` until refused, with the X-Forwarded-For lines `forwarded(call)`
/// gives each call; how many passed.
fn calls_until_refused(port: u16, token: &str, forwarded: impl Fn(usize) -> Vec<String>) -> usize {
    for call in 0..20 {
        let headers: String = forwarded(call)
            .iter()
            .map(|v| format!("X-Forwarded-For: {v}\r\n"))
            .collect();
        let answer = raw(
            port,
            format!(
                "GET /api/public/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n{headers}Connection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        match status(&answer) {
            200 => {}
            429 => return call,
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    20
}

fn lines(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

#[test]
fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let db = seeded();
    let minted = db.mint("bot", None);
    let token = minted["token"].as_str().unwrap().to_owned();
    // Five calls per address, no refill to speak of.
    let per_ip = ("GUILDGATE_LIMIT_PER_IP", "5/1/3600");

    // Straight from the client: a new X-Forwarded-For per call is still one address.
    let port = free_port();
    let mut server = serve(&db, port, &[per_ip], None);
    let passed = calls_until_refused(port, &token, |call| vec![format!("198.51.100.{call}")]);
    assert_eq!(passed, 5, "spoofed addresses escaped the per-address limit");
    server.kill().unwrap();
    server.wait().unwrap();

    // Behind a trusted proxy (this loopback peer): the client is the nearest hop the
    // proxy did not add, whatever the client wrote before it, in one line or its own.
    let port = free_port();
    let mut server = serve(
        &db,
        port,
        &[per_ip, ("GUILDGATE_TRUSTED_PROXIES", "127.0.0.1/32")],
        None,
    );
    assert_eq!(
        calls_until_refused(port, &token, |_| lines(&["203.0.113.250, 192.0.2.7"])),
        5
    );
    // The client wrote its own line; the proxy added the real address on another.
    assert_eq!(
        calls_until_refused(port, &token, |_| lines(&["203.0.113.251", "192.0.2.7"])),
        0,
        "the client's own X-Forwarded-For line was believed"
    );
    // Another client behind the same proxy has its own budget.
    assert_eq!(
        calls_until_refused(port, &token, |_| lines(&["192.0.2.8"])),
        5
    );
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn path_tricks_in_archive_uids_and_preset_names_reach_nothing_else() {
    let db = seeded();
    let key = db.shard_key("write:archive,write:presets");
    let port = free_port();
    let mut server = serve(&db, port, &[], None);
    let call = |method: &str, path: &str, body: &str| {
        raw(
            port,
            format!(
                "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    let preset = |name: &str| format!(r#"{{"name": {name:?}, "nets": [], "assignments": []}}"#);
    assert_eq!(
        status(&call("POST", "/api/v1/presets", &preset("alpha"))),
        200
    );
    // A name is an opaque key: "../alpha" is a preset of its own, not a way to "alpha".
    assert_eq!(
        status(&call("POST", "/api/v1/presets", &preset("../alpha"))),
        200
    );
    for (name, says) in [(r"a\u0000b", "NUL"), (r"a\u0001b", "control characters")] {
        let body = format!(r#"{{"name": "{name}", "nets": [], "assignments": []}}"#);
        let refused = call("POST", "/api/v1/presets", &body);
        assert_eq!(status(&refused), 400, "{refused}");
        let message = body_json(&refused)["error"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{refused}");
    }
    let deleted = call("DELETE", "/api/v1/presets/..%2Falpha", "");
    assert_eq!(body_json(&deleted)["name"], "../alpha", "{deleted}");
    let missing = call("DELETE", "/api/v1/presets/..%2F..%2Falpha", "");
    assert_eq!(status(&missing), 404, "{missing}");
    let listed = body_json(&call("GET", "/api/v1/presets", ""));
    let names: Vec<&str> = listed["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha"]);
    // A NUL anywhere in the URL is refused before anything is looked up.
    let nul = call("GET", "/api/v1/archive/a%00b", "");
    assert_eq!(status(&nul), 400, "{nul}");
    assert!(body_json(&nul)["error"].as_str().unwrap().contains("NUL"));
    // Archive uids are looked up, never used as file names: anything odd is not found.
    for uid in [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e",
        "%2F",
        "net_%27%20OR%201%3D1",
    ] {
        let answer = call("GET", &format!("/api/v1/archive/{uid}"), "");
        assert_eq!(status(&answer), 404, "{uid}: {answer}");
        assert_eq!(body_json(&answer)["error"], "Archive entry not found");
    }
    server.kill().unwrap();
    server.wait().unwrap();
}
