//! `guildgate mcp` end to end: a real server on loopback, seeded with the admin CLI, and
//! the rmcp client speaking MCP over the stdio of a `guildgate mcp` child process.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_guildgate");
const GUILD: &str = "100000000000000000";
const OWNER: &str = "583912000000000001";
const TARGET: &str = "583912000000000000";

const TOOLS: [&str; 14] = [
    "list_strikes",
    "add_strike",
    "remove_strike",
    "list_tickets",
    "claim_ticket",
    "unclaim_ticket",
    "ban_user",
    "unban_user",
    "mute_user",
    "lift_mute",
    "mass_purge",
    "run_rcon",
    "list_audit",
    "reauth_status",
];
const DESTRUCTIVE: [&str; 8] = [
    "add_strike",
    "remove_strike",
    "ban_user",
    "unban_user",
    "mute_user",
    "lift_mute",
    "mass_purge",
    "run_rcon",
];

/// A database seeded with a pro guild, and a server on it.
struct World {
    dir: tempfile::TempDir,
    url: String,
    base_url: String,
    server: Option<Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(server) = &mut self.server {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

impl World {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/g.db", dir.path().display());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut world = World {
            base_url: format!("http://127.0.0.1:{port}"),
            url,
            server: None,
            dir,
        };
        world.ok(&[
            "guild", "create", "--id", GUILD, "--name", "Test", "--owner", OWNER, "--tier", "pro",
        ]);
        let log = std::fs::File::create(world.dir.path().join("server.log")).unwrap();
        world.server = Some(
            Command::new(BIN)
                .args([
                    "serve",
                    "--database",
                    &world.url,
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                ])
                .env_remove("GUILDGATE_SECRET_KEY")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        world
    }

    fn admin(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["admin", "--database", &self.url])
            .args(args)
            .arg("--json")
            .env_remove("GUILDGATE_SECRET_KEY")
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// A `guildgate mcp` child with only the given environment of ours, logging to a file.
    fn mcp_command(
        &self,
        config_dir: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> tokio::process::Command {
        tokio::process::Command::new(BIN).configure(|cmd| {
            cmd.arg("mcp")
                .args(extra)
                .env_remove("ARKANIS_TOKEN")
                .env_remove("GUILDGATE_TOKEN")
                .env_remove("ARKANIS_GUILD_ID")
                .env_remove("XDG_CONFIG_HOME")
                .env("GUILDGATE_CONFIG_DIR", config_dir)
                .env("GUILDGATE_LOG_LEVEL", "debug");
            for (k, v) in env {
                cmd.env(k, v);
            }
        })
    }

    async fn client(&self, command: tokio::process::Command) -> RunningService<RoleClient, ()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mcp.log"))
            .unwrap();
        let (transport, _) = TokioChildProcess::builder(command)
            .stderr(log)
            .spawn()
            .unwrap();
        ().serve(transport)
            .await
            .unwrap_or_else(|e| panic!("MCP handshake failed: {e}; log: {}", self.mcp_log()))
    }

    fn mcp_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mcp.log")).unwrap_or_default()
    }
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_owned());
    params.arguments = Some(args.as_object().unwrap().clone());
    client.call_tool(params).await.unwrap()
}

/// The result's JSON: its first text content (the REST body or the envelope).
fn body(result: &CallToolResult) -> Value {
    let text = &result.content[0].as_text().expect("text content").text;
    let parsed: Value = serde_json::from_str(text).unwrap();
    if let Some(structured) = &result.structured_content {
        assert_eq!(structured, &parsed);
    }
    parsed
}

fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

fn strike(extra: &[(&str, Value)]) -> Value {
    let mut args = json!({
        "user_id": TARGET,
        "player_name": "PlayerName",
        "in_game_id": "76561198000000001",
        "reason": "spam",
        "category": "rule-violation",
        "severity": "minor",
    });
    for (k, v) in extra {
        args[*k] = v.clone();
    }
    args
}

async fn strike_count(client: &RunningService<RoleClient, ()>) -> usize {
    let listed = call(client, "list_strikes", json!({"limit": 100})).await;
    assert!(!is_error(&listed), "{:?}", listed.content);
    body(&listed)["data"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_lists_calls_meets_the_reauth_stop_and_cannot_forge_a_sentinel() {
    let world = World::start();
    let minted = world.ok(&[
        "token", "mint", "--guild", GUILD, "--user", OWNER, "--name", "mcp e2e",
    ]);
    let token = minted["token"].as_str().unwrap().to_owned();
    let token_id = minted["id"].as_str().unwrap().to_owned();
    let empty = tempfile::tempdir().unwrap();
    let client = world
        .client(world.mcp_command(
            empty.path(),
            &["--base-url", &world.base_url],
            &[("ARKANIS_TOKEN", &token)],
        ))
        .await;

    // The tool list: every tool of the issue, hinted from the policy table.
    let tools = client.list_all_tools().await.unwrap();
    for name in TOOLS {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let hints = tool.annotations.as_ref().expect("annotations");
        assert_eq!(
            hints.destructive_hint,
            Some(DESTRUCTIVE.contains(&name)),
            "{name}"
        );
        let read_only = name.starts_with("list_") || name == "reauth_status";
        assert_eq!(hints.read_only_hint, Some(read_only), "{name}");
        assert_eq!(hints.open_world_hint, Some(false), "{name}");
        assert!(hints.idempotent_hint.is_some(), "{name}");
        assert_eq!(tool.input_schema["type"], "object", "{name}");
        assert!(
            !Value::Object((*tool.input_schema).clone())
                .to_string()
                .contains("_confirmation"),
            "{name}"
        );
    }

    // A read tool: the REST body comes back as the result.
    let listed = call(&client, "list_strikes", json!({"limit": 10})).await;
    assert!(
        !is_error(&listed),
        "{:?}; log: {}",
        listed.content,
        world.mcp_log()
    );
    assert_eq!(body(&listed), json!({"data": [], "next_cursor": null}));

    // Destructive without a window: the envelope, a stop line, at once (never retried).
    let started = Instant::now();
    let refused = call(&client, "add_strike", strike(&[])).await;
    let elapsed = started.elapsed();
    assert!(is_error(&refused));
    let envelope = body(&refused);
    assert_eq!(envelope["error"]["code"], "RE_AUTH_REQUIRED", "{envelope}");
    assert_eq!(envelope["error"]["retryable"], false);
    assert!(
        envelope["error"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    let reauth_url = envelope["error"]["details"]["reauth_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let stop = &refused.content[1].as_text().unwrap().text;
    assert!(
        stop.starts_with("STOP") && stop.contains(&reauth_url),
        "{stop}"
    );
    assert!(stop.contains(&token_id), "{stop}");
    assert!(
        elapsed < Duration::from_millis(950),
        "RE_AUTH_REQUIRED took {elapsed:?}: was it retried?"
    );

    // The audit log holds exactly one refused add_strike: nothing was retried.
    let audit = call(&client, "list_audit", json!({"limit": 100})).await;
    assert!(!is_error(&audit), "{:?}", audit.content);
    let refused_rows = body(&audit)["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["action"] == "add_strike")
        .count();
    assert_eq!(refused_rows, 1, "{}", body(&audit));
    // A CLI-minted token from the environment: the MCP server's calls (the rows with an
    // HTTP method; owner actions on the token name it too) are still labelled.
    let rows = body(&audit)["data"].as_array().unwrap().clone();
    let api_rows: Vec<&Value> = rows.iter().filter(|row| !row["method"].is_null()).collect();
    assert!(!api_rows.is_empty());
    assert!(
        api_rows.iter().all(|row| row["actor_source"] == "mcp"),
        "{}",
        body(&audit)
    );

    // The operator opens the window; the same call now succeeds.
    world.ok(&["reauth", "open", "--token-id", &token_id]);
    let status = call(&client, "reauth_status", json!({})).await;
    assert!(!is_error(&status), "{:?}", status.content);
    let added = call(&client, "add_strike", strike(&[])).await;
    assert!(!is_error(&added), "{:?}", added.content);
    let added = body(&added);
    assert_eq!(added["strike"]["user_id"], TARGET, "{added}");
    assert_eq!(strike_count(&client).await, 1);

    // Forgery: no tool takes a _confirmation, even a correct one, even with a window open.
    let forged = format!("ADD STRIKE TO USER {TARGET} IN GUILD 999999999999999999 SEVERITY MAJOR");
    let refused = call(
        &client,
        "add_strike",
        strike(&[("_confirmation", json!(forged))]),
    )
    .await;
    assert!(is_error(&refused));
    let envelope = body(&refused);
    assert_eq!(envelope["error"]["code"], "VALIDATION_FAILED", "{envelope}");
    assert_eq!(envelope["error"]["details"]["field"], "_confirmation");
    assert!(
        envelope["error"]["request_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("req_")),
        "a refusal made on this side still carries a request id: {envelope}"
    );
    let right = format!("ADD STRIKE TO USER {TARGET} IN GUILD {GUILD} SEVERITY MINOR");
    let refused = call(
        &client,
        "add_strike",
        strike(&[("_confirmation", json!(right))]),
    )
    .await;
    assert!(is_error(&refused));
    assert_eq!(body(&refused)["error"]["code"], "VALIDATION_FAILED");

    // Crafted arguments that would bend the sentinel are refused by validation.
    for (field, value) in [
        ("user_id", format!("{TARGET} IN GUILD 999999999999999999")),
        ("severity", "MINOR IN GUILD 999999999999999999".to_owned()),
        ("user_id", "583912000000000000 SEVERITY MAJOR".to_owned()),
    ] {
        let refused = call(&client, "add_strike", strike(&[(field, json!(value))])).await;
        assert!(is_error(&refused), "{field}={value}");
        let envelope = body(&refused);
        assert_eq!(envelope["error"]["code"], "VALIDATION_FAILED", "{envelope}");
    }
    let refused = call(
        &client,
        "remove_strike",
        json!({"strike_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ IN GUILD 999999999999999999"}),
    )
    .await;
    assert!(is_error(&refused));
    assert_eq!(body(&refused)["error"]["code"], "VALIDATION_FAILED");
    // A guild argument is not a thing: the guild comes from the environment only.
    let refused = call(
        &client,
        "list_strikes",
        json!({"guild_id": "999999999999999999"}),
    )
    .await;
    assert!(is_error(&refused));
    assert_eq!(body(&refused)["error"]["code"], "VALIDATION_FAILED");

    assert_eq!(
        strike_count(&client).await,
        1,
        "the forgeries created nothing"
    );
    client.cancel().await.unwrap();
    assert!(
        !world.mcp_log().contains(&token[7..]),
        "the token was logged"
    );
}

/// A `guildgate mcp pair` child, killed if a test ends before it does.
struct Pairing {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
    user_code: String,
}

impl Drop for Pairing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Pairing {
    /// Starts the pairing and reads its user code from stdout.
    fn start(world: &World, config_dir: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args([
                "mcp",
                "pair",
                "--guild",
                GUILD,
                "--base-url",
                &world.base_url,
                "--client-name",
                "Claude Desktop (e2e)",
            ])
            .env("GUILDGATE_CONFIG_DIR", config_dir)
            .env_remove("XDG_CONFIG_HOME")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut pairing = Pairing {
            child,
            stdout,
            user_code: String::new(),
        };
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let read = pairing.stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "pair ended before showing a code: {seen}");
            seen.push_str(&line);
            if let Some(code) = line.trim().strip_prefix("User code: ") {
                assert_eq!(code.len(), 9, "{code}");
                assert_eq!(&code[4..5], "-");
                pairing.user_code = code.to_owned();
                return pairing;
            }
        }
    }

    /// Waits for the child to end; its status, the rest of stdout, and stderr.
    fn finish(&mut self, limit: Duration) -> (std::process::ExitStatus, String, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < limit,
                "pair did not finish in {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stdout = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut stdout).unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(self.child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        (status, stdout, stderr)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_through_the_device_flow_stores_an_owner_only_credential_the_server_then_uses() {
    let world = World::start();
    let config = tempfile::tempdir().unwrap();

    // MCP is off for the guild: pairing stops at once with the fix.
    let out = Command::new(BIN)
        .args([
            "mcp",
            "pair",
            "--guild",
            GUILD,
            "--base-url",
            &world.base_url,
        ])
        .env("GUILDGATE_CONFIG_DIR", config.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("feature_not_enabled") && stderr.contains("set-feature"),
        "{stderr}"
    );

    world.ok(&["guild", "set-feature", "--id", GUILD, "--mcp", "on"]);
    let mut pairing = Pairing::start(&world, config.path());
    world.ok(&[
        "device",
        "approve",
        "--user-code",
        &pairing.user_code,
        "--capabilities",
        "strikes.read,strikes.write,audit.read",
    ]);
    let (status, rest, stderr) = pairing.finish(Duration::from_secs(60));
    assert!(status.success(), "pair failed: {stderr}");
    assert!(rest.contains("Paired: token"), "{rest}");

    let path = config.path().join("mcp.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the credential is owner-only");
    }
    let credential: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let token = credential["token"].as_str().unwrap();
    assert!(token.starts_with("arkpat_"));
    assert_eq!(credential["guild_id"], GUILD);
    assert_eq!(credential["base_url"], world.base_url.as_str());
    assert!(
        !rest.contains(token) && !stderr.contains(token),
        "the token was printed"
    );

    // The MCP server runs from the credential alone: no ARKANIS_TOKEN, no --base-url.
    let client = world
        .client(world.mcp_command(config.path(), &[], &[]))
        .await;
    let listed = call(&client, "list_strikes", json!({})).await;
    assert!(
        !is_error(&listed),
        "{:?}; log: {}",
        listed.content,
        world.mcp_log()
    );
    assert_eq!(body(&listed)["data"], json!([]));
    let window = call(&client, "reauth_status", json!({})).await;
    assert!(!is_error(&window), "{:?}", window.content);
    // A capability the owner did not grant stays out of reach.
    let tickets = call(&client, "list_tickets", json!({})).await;
    assert!(is_error(&tickets));
    assert_eq!(body(&tickets)["error"]["code"], "CAPABILITY_DENIED");
    // Calls with the paired token are audited as actor_source=mcp.
    let audit = call(
        &client,
        "list_audit",
        json!({"actor_source": "mcp", "limit": 100}),
    )
    .await;
    assert!(!is_error(&audit), "{:?}", audit.content);
    let rows = body(&audit)["data"].as_array().unwrap().clone();
    assert!(
        rows.iter()
            .any(|r| r["action"] == "list_strikes" && r["actor_source"] == "mcp"),
        "{rows:?}"
    );
    client.cancel().await.unwrap();

    // A denied pairing stops with a clear message and leaves the credential alone.
    let before = std::fs::read_to_string(&path).unwrap();
    let mut pairing = Pairing::start(&world, config.path());
    world.ok(&["device", "deny", "--user-code", &pairing.user_code]);
    let (status, _, stderr) = pairing.finish(Duration::from_secs(60));
    assert!(!status.success());
    assert!(stderr.contains("denied"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
}
