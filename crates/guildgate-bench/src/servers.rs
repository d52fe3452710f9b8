//! The servers each case targets, every one in its own process: `guildgate serve`, the
//! bare route and the unguarded route (this binary's `serve-bare` / `serve-unguarded`),
//! and HAProxy and nginx in front of the bare route.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use guildgate_core::model::PageRequest;
use guildgate_storage::{SqliteStore, Store};
use serde_json::json;

use crate::seed::GUILD;

/// A child process stopped when dropped: asked first (SIGTERM), so that nginx's master
/// takes its workers down with it (killed outright it leaves them running), then killed if
/// it has not gone within two seconds.
pub struct Running {
    pub child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if asked {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for(name: &str, port: u16) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} did not start on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn spawn(name: &'static str, command: &mut Command, port: u16) -> Running {
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} starts: {e}"));
    wait_for(name, port);
    Running { child }
}

/// The release binary beside this one.
pub fn sibling(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} missing: cargo build --release --bin {name}",
        path.display()
    );
    path
}

/// The same JSON the guarded route answers for an empty guild, from memory.
pub fn bare_router() -> Router {
    let empty_page = json!({ "data": [], "next_cursor": null });
    Router::new().route(
        "/strikes",
        get(move || {
            let page = empty_page.clone();
            async move { axum::Json(page) }
        }),
    )
}

/// guildgate's read with the guard removed: the same page query and JSON, nothing else.
pub fn unguarded_router(store: std::sync::Arc<SqliteStore>) -> Router {
    Router::new().route(
        "/strikes",
        get(move || {
            let store = store.clone();
            async move {
                let page = PageRequest {
                    limit: 10,
                    before: None,
                };
                axum::Json(store.strikes(GUILD, &page).await.unwrap())
            }
        }),
    )
}

pub async fn serve_forever(router: Router, port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .unwrap();
}

/// HAProxy checking the bearer (the second word of `Authorization`; map keys hold no
/// spaces) against a map of `keys` and limiting per key with a
/// stick table (high enough never to refuse the benchmark), in front of `backend`.
pub fn haproxy(dir: &Path, port: u16, backend: u16, keys: &[String]) -> Running {
    let map = dir.join("haproxy-keys.map");
    let mut lines = String::new();
    for key in keys {
        lines.push_str(&format!("{key} 1\n"));
    }
    std::fs::write(&map, lines).unwrap();
    let config = format!(
        "global\n  maxconn 4096\n  nbthread 2\n\
         defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n  option http-keep-alive\n\
         frontend api\n  bind 127.0.0.1:{port}\n\
         \x20 http-request set-var(txn.key) req.hdr(authorization),word(2,' '),map({map},0)\n\
         \x20 http-request deny deny_status 401 if !{{ var(txn.key) -m int 1 }}\n\
         \x20 stick-table type string len 80 size 20k expire 60s store http_req_rate(10s)\n\
         \x20 http-request track-sc0 req.hdr(authorization)\n\
         \x20 http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt 100000000 }}\n\
         \x20 default_backend bare\n\
         backend bare\n  server bare 127.0.0.1:{backend}\n",
        map = map.display()
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    spawn(
        "haproxy",
        Command::new("haproxy").arg("-db").arg("-f").arg(&path),
        port,
    )
}

/// nginx with a `map` of the same keys and `limit_req` per key, in front of `backend`.
pub fn nginx(dir: &Path, port: u16, backend: u16, keys: &[String]) -> Running {
    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("logs")).unwrap();
    let mut map = String::new();
    for key in keys {
        map.push_str(&format!("    \"Bearer {key}\" 1;\n"));
    }
    let config = format!(
        "worker_processes 2;\nerror_log logs/error.log crit;\npid logs/nginx.pid;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  map_hash_max_size 65536;\n  map_hash_bucket_size 128;\n\
         \x20 map $http_authorization $key_ok {{\n    default 0;\n{map}  }}\n\
         \x20 limit_req_zone $http_authorization zone=per_key:10m rate=100000000r/s;\n\
         \x20 upstream bare {{ server 127.0.0.1:{backend}; keepalive 256; }}\n\
         \x20 server {{\n    listen 127.0.0.1:{port};\n\
         \x20   location / {{\n      if ($key_ok = 0) {{ return 401; }}\n\
         \x20     limit_req zone=per_key burst=1000000 nodelay;\n\
         \x20     proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n\
         \x20     proxy_pass http://bare;\n    }}\n  }}\n}}\n"
    );
    let path = prefix.join("nginx.conf");
    std::fs::write(&path, config).unwrap();
    spawn(
        "nginx",
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off;"]),
        port,
    )
}
