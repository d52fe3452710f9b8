//! A Source RCON server for tests, on loopback: it checks the password, answers `echo X`
//! with X, answers `long N` with N bytes split over several packets, and mirrors the empty
//! packet a client sends after a command, as real servers do. `silent` servers accept and
//! never answer.

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::rcon::{
    SERVERDATA_AUTH, SERVERDATA_AUTH_RESPONSE, SERVERDATA_RESPONSE_VALUE, encode, read_packet,
};

/// Starts a server; returns its address.
pub async fn start(password: &'static str, silent: bool) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, password, silent));
        }
    });
    address
}

async fn serve(mut stream: TcpStream, password: &str, silent: bool) {
    if silent {
        let _ = tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        return;
    }
    let mut authed = false;
    while let Ok(Ok(packet)) = read_packet(&mut stream).await {
        let mut out = Vec::new();
        if packet.kind == SERVERDATA_AUTH {
            authed = packet.body == password.as_bytes();
            out.extend(encode(packet.id, SERVERDATA_RESPONSE_VALUE, b""));
            out.extend(encode(
                if authed { packet.id } else { -1 },
                SERVERDATA_AUTH_RESPONSE,
                b"",
            ));
        } else if !authed {
            return;
        } else if packet.body.is_empty() {
            out.extend(encode(packet.id, SERVERDATA_RESPONSE_VALUE, b""));
        } else {
            let command = String::from_utf8_lossy(&packet.body).into_owned();
            let answer = match command.split_once(' ') {
                Some(("echo", text)) => text.as_bytes().to_vec(),
                Some(("long", n)) => (0..n.parse::<usize>().unwrap_or(0))
                    .map(|i| b'a' + (i % 26) as u8)
                    .collect(),
                _ => format!("Unknown command \"{command}\"").into_bytes(),
            };
            for chunk in answer.chunks(4000) {
                out.extend(encode(packet.id, SERVERDATA_RESPONSE_VALUE, chunk));
            }
        }
        if stream.write_all(&out).await.is_err() {
            return;
        }
    }
}
