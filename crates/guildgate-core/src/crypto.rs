//! The server's master key and what is derived from it: the keyed hash that stores token
//! secrets, and the authenticated cipher that seals server secrets (RCON passwords).
//! The key lives outside the database (a file or an environment variable).

use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("secret key must be 32 bytes as base64 (44 characters) or hex (64 characters)")]
    BadEncoding,
    #[error("cannot read or create the key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// 32 bytes of key material. `Debug` never prints it.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Accepts base64 (standard alphabet) or hex.
    pub fn decode(text: &str) -> Result<Self, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KeyError::BadEncoding)?
        } else {
            STANDARD.decode(text).map_err(|_| KeyError::BadEncoding)?
        };
        Ok(Self(bytes.try_into().map_err(|_| KeyError::BadEncoding)?))
    }

    pub fn encode(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key when it is missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        let io_err = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::decode(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io_err)?;
                }
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(path) {
                    Ok(mut file) => {
                        file.write_all(key.encode().as_bytes()).map_err(io_err)?;
                        file.sync_all().map_err(io_err)?;
                        Ok(key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::decode(&std::fs::read_to_string(path).map_err(io_err)?)
                    }
                    Err(e) => Err(io_err(e)),
                }
            }
            Err(e) => Err(io_err(e)),
        }
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("any key length works");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn secret_hasher(&self) -> SecretHasher {
        let key = self.derive("guildgate/secret-hash/v1");
        SecretHasher(<HmacSha256 as Mac>::new_from_slice(&key).expect("any key length works"))
    }

    /// The key that signs the shard's public embed tokens.
    pub fn public_token_key(&self) -> [u8; 32] {
        self.derive("guildgate/shard-public-token/v1")
    }

    pub fn client_token_key(&self) -> [u8; 32] {
        self.derive("guildgate/shard-client-token/v1")
    }

    pub fn sealer(&self) -> Sealer {
        Sealer(XChaCha20Poly1305::new(
            &self.derive("guildgate/seal/v1").into(),
        ))
    }
}

/// HMAC-SHA256 under a key derived from the master key: how token secrets are stored and
/// looked up. Without the key file, a stolen database cannot be used to test guesses.
/// Holds the HMAC already keyed: each hash clones it instead of hashing the key again.
#[derive(Clone)]
pub struct SecretHasher(HmacSha256);

/// 32 random bytes as base64url: a secret that is shown once and stored only as its keyed
/// hash (session cookies, join-link tokens).
pub fn random_url_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SecretHasher {
    pub fn hash(&self, secret: &str) -> [u8; 32] {
        self.mac(secret).finalize().into_bytes().into()
    }

    /// Whether `secret` hashes to `expected`, compared in constant time.
    pub fn matches(&self, secret: &str, expected: &[u8]) -> bool {
        self.mac(secret).verify_slice(expected).is_ok()
    }

    fn mac(&self, secret: &str) -> HmacSha256 {
        let mut mac = self.0.clone();
        mac.update(secret.as_bytes());
        mac
    }
}

/// XChaCha20-Poly1305: `nonce || ciphertext+tag`.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

#[derive(Debug, thiserror::Error)]
#[error("sealed value is corrupt or was sealed under another key")]
pub struct UnsealError;

impl Sealer {
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.0
                .encrypt(&nonce, plaintext)
                .expect("encryption of an in-memory buffer cannot fail"),
        );
        out
    }

    pub fn unseal(&self, sealed: &[u8]) -> Result<Vec<u8>, UnsealError> {
        if sealed.len() < 24 {
            return Err(UnsealError);
        }
        let (nonce, body) = sealed.split_at(24);
        self.0
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips_and_never_prints() {
        let key = SecretKey::generate();
        let again = SecretKey::decode(&key.encode()).unwrap();
        assert_eq!(key.0, again.0);
        assert_eq!(format!("{key:?}"), "SecretKey(<redacted>)");
        assert!(SecretKey::decode("short").is_err());
    }

    #[test]
    fn key_file_is_created_once_then_reused() {
        let dir = std::env::temp_dir().join(format!("gg-key-{}", crate::ids::new_ulid()));
        let path = dir.join("guildgate.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let second = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn sealing_is_authenticated() {
        let sealer = SecretKey::generate().sealer();
        let mut sealed = sealer.seal(b"rcon-password");
        assert_eq!(sealer.unseal(&sealed).unwrap(), b"rcon-password");
        sealed[30] ^= 1;
        assert!(sealer.unseal(&sealed).is_err());
        let other = SecretKey::generate().sealer();
        assert!(other.unseal(&sealer.seal(b"x")).is_err());
    }
}
