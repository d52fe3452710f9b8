//! A Source RCON client, from Valve's public description of the protocol: little-endian
//! `size, id, type, body\0\0` packets over TCP; an auth exchange; and a command whose
//! answer may span several packets, delimited by mirroring an empty packet sent after it.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

pub const SERVERDATA_AUTH: i32 = 3;
pub const SERVERDATA_AUTH_RESPONSE: i32 = 2;
pub const SERVERDATA_EXECCOMMAND: i32 = 2;
pub const SERVERDATA_RESPONSE_VALUE: i32 = 0;

/// The protocol caps a packet at 4096 bytes; anything larger is not RCON.
const MAX_PACKET: i32 = 4096;
/// An answer larger than this is cut short rather than buffered without bound.
const MAX_OUTPUT: usize = 1 << 20;

#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// For each packet of the answer.
    pub read: Duration,
}

/// What went wrong; messages never contain the password.
#[derive(Debug, PartialEq, Eq)]
pub enum RconError {
    Refused(String),
    ConnectTimeout,
    ReadTimeout,
    WrongPassword,
    Protocol(String),
}

impl std::fmt::Display for RconError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RconError::Refused(why) => write!(f, "the connection was refused ({why})"),
            RconError::ConnectTimeout => {
                f.write_str("the server did not accept a connection in time")
            }
            RconError::ReadTimeout => f.write_str(
                "the server did not answer in time; the command may or may not have run",
            ),
            RconError::WrongPassword => f.write_str("the server refused the stored RCON password"),
            RconError::Protocol(why) => write!(f, "the server broke the RCON protocol ({why})"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct Packet {
    pub id: i32,
    pub kind: i32,
    pub body: Vec<u8>,
}

/// Encodes one packet.
pub fn encode(id: i32, kind: i32, body: &[u8]) -> Vec<u8> {
    let size = (body.len() + 10) as i32;
    let mut out = Vec::with_capacity(body.len() + 14);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&[0, 0]);
    out
}

/// Decodes the packet after the size prefix (`size` bytes).
pub fn decode(frame: &[u8]) -> Result<Packet, RconError> {
    if frame.len() < 10 || frame[frame.len() - 2..] != [0, 0] {
        return Err(RconError::Protocol(
            "a packet is too short or not terminated".into(),
        ));
    }
    let id = i32::from_le_bytes(frame[0..4].try_into().expect("4 bytes"));
    let kind = i32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
    Ok(Packet {
        id,
        kind,
        body: frame[8..frame.len() - 2].to_vec(),
    })
}

pub async fn read_packet<R: AsyncReadExt + Unpin>(
    reader: &mut R,
) -> std::io::Result<Result<Packet, RconError>> {
    let size = reader.read_i32_le().await?;
    if !(10..=MAX_PACKET + 10).contains(&size) {
        return Ok(Err(RconError::Protocol(format!(
            "a packet claims {size} bytes"
        ))));
    }
    let mut frame = vec![0; size as usize];
    reader.read_exact(&mut frame).await?;
    Ok(decode(&frame))
}

struct Connection {
    stream: TcpStream,
    read: Duration,
}

impl Connection {
    async fn send(&mut self, id: i32, kind: i32, body: &[u8]) -> Result<(), RconError> {
        let packet = encode(id, kind, body);
        match timeout(self.read, self.stream.write_all(&packet)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(RconError::Protocol(format!("write failed: {}", e.kind()))),
            Err(_) => Err(RconError::ReadTimeout),
        }
    }

    async fn receive(&mut self) -> Result<Packet, RconError> {
        match timeout(self.read, read_packet(&mut self.stream)).await {
            Ok(Ok(packet)) => packet,
            Ok(Err(e)) => Err(RconError::Protocol(format!("read failed: {}", e.kind()))),
            Err(_) => Err(RconError::ReadTimeout),
        }
    }
}

/// Authenticates and runs one command; returns the server's whole answer.
pub async fn execute(
    address: &str,
    password: &str,
    command: &str,
    timeouts: Timeouts,
) -> Result<String, RconError> {
    let stream = match timeout(timeouts.connect, TcpStream::connect(address)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(RconError::Refused(e.kind().to_string())),
        Err(_) => return Err(RconError::ConnectTimeout),
    };
    let mut conn = Connection {
        stream,
        read: timeouts.read,
    };
    conn.send(1, SERVERDATA_AUTH, password.as_bytes()).await?;
    // Source servers send an empty RESPONSE_VALUE before the AUTH_RESPONSE; skip it.
    loop {
        let packet = conn.receive().await?;
        if packet.kind == SERVERDATA_AUTH_RESPONSE {
            if packet.id == -1 {
                return Err(RconError::WrongPassword);
            }
            break;
        }
    }
    conn.send(2, SERVERDATA_EXECCOMMAND, command.as_bytes())
        .await?;
    // The server answers packets in order, so the mirror of this empty packet marks the
    // end of a multi-packet answer.
    conn.send(3, SERVERDATA_RESPONSE_VALUE, b"").await?;
    let mut output = Vec::new();
    loop {
        let packet = conn.receive().await?;
        match packet.id {
            2 if output.len() < MAX_OUTPUT => output.extend_from_slice(&packet.body),
            2 => {}
            3 => break,
            other => {
                return Err(RconError::Protocol(format!(
                    "an answer for request {other}"
                )));
            }
        }
    }
    Ok(String::from_utf8_lossy(&output).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip() {
        let bytes = encode(7, SERVERDATA_EXECCOMMAND, b"status");
        assert_eq!(i32::from_le_bytes(bytes[0..4].try_into().unwrap()), 16);
        let packet = decode(&bytes[4..]).unwrap();
        assert_eq!(
            packet,
            Packet {
                id: 7,
                kind: 2,
                body: b"status".to_vec()
            }
        );
        assert!(decode(&[0; 5]).is_err());
    }
}
