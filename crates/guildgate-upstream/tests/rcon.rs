//! The RCON client against a loopback server that speaks the protocol byte for byte.

use std::time::{Duration, Instant};

use guildgate_upstream::rcon::{RconError, Timeouts, execute};
use guildgate_upstream::stand_in;

const QUICK: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    read: Duration::from_millis(300),
};

#[tokio::test]
async fn runs_a_command_and_reads_a_multi_packet_answer() {
    let server = stand_in::start("hunter2", false).await;
    let out = execute(
        &server.to_string(),
        "hunter2",
        "echo kicked PlayerName",
        QUICK,
    )
    .await
    .unwrap();
    assert_eq!(out, "kicked PlayerName");
    let long = execute(&server.to_string(), "hunter2", "long 10000", QUICK)
        .await
        .unwrap();
    assert_eq!(long.len(), 10_000, "three packets joined in order");
    assert!(long.starts_with("abcdefghij"));
}

#[tokio::test]
async fn a_wrong_password_is_named_and_not_echoed() {
    let server = stand_in::start("hunter2", false).await;
    let err = execute(&server.to_string(), "letmein", "echo x", QUICK)
        .await
        .unwrap_err();
    assert_eq!(err, RconError::WrongPassword);
    assert!(!err.to_string().contains("letmein") && !err.to_string().contains("hunter2"));
}

#[tokio::test]
async fn refused_and_silent_servers_fail_in_bounded_time() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = execute(&closed.to_string(), "x", "echo x", QUICK)
        .await
        .unwrap_err();
    assert!(matches!(err, RconError::Refused(_)), "{err:?}");

    let silent = stand_in::start("hunter2", true).await;
    let started = Instant::now();
    let err = execute(&silent.to_string(), "hunter2", "echo x", QUICK)
        .await
        .unwrap_err();
    assert_eq!(err, RconError::ReadTimeout);
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.to_string().contains("may or may not have run"));
}
