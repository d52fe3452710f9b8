//! Owner accounts for the dashboard: argon2id password hashes, sessions identified by a
//! random secret kept only as a keyed hash, and the CSRF token derived from that secret.
//! Local accounts are the default for a self-hosted server; an identity provider (Discord
//! OAuth) would create the same `Session` after its own sign-in.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::{HOUR, Millis};
use crate::crypto::SecretHasher;
use crate::error::ApiError;

/// A session lasts twelve hours from sign-in, then the owner signs in again.
pub const SESSION_LIFETIME: Millis = 12 * HOUR;
/// Passwords shorter than this are refused when an account is created.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Clone, Debug, PartialEq)]
pub struct DashboardUser {
    /// The Discord user id: guild ownership is keyed on it.
    pub user_id: String,
    /// argon2id in PHC string form.
    pub password_hash: String,
    /// Links the tasks surface's user with this email, whose keys the dashboard shows.
    pub email: Option<String>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user_id: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): slow enough to make a stolen
/// hash costly, quick enough (tens of milliseconds) for a sign-in.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::validation(
            "password",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes is a valid salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| ApiError::internal())
}

/// Checks `password` against a stored hash. With no account, a fixed hash is checked
/// instead so that an unknown account takes as long to refuse as a wrong password.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let decoy = DECOY.get_or_init(|| {
        hash_password("decoy password for unknown accounts").expect("decoy hashes")
    });
    let (phc, real) = match stored {
        Some(phc) => (phc, true),
        None => (decoy.as_str(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && real
}

/// A new session secret: what the cookie carries. Only its keyed hash is stored.
pub fn new_session_secret() -> String {
    crate::crypto::random_url_secret()
}

/// The CSRF token of a session: derived from its secret, so it needs no storage and
/// changes whenever the session does (sign-in always makes a new one).
pub fn csrf_token(hasher: &SecretHasher, session_secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(hasher.hash(&format!("csrf\0{session_secret}")))
}

/// Compares two strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(Some(&hash), "correct horse battery"));
        assert!(!verify_password(Some(&hash), "correct horse battery!"));
        assert!(!verify_password(
            None,
            "decoy password for unknown accounts"
        ));
        assert!(!verify_password(Some("not a phc string"), "x"));
    }

    #[test]
    fn short_passwords_are_refused() {
        let err = hash_password("short").unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::ValidationFailed);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_per_key() {
        let a = SecretKey::generate().secret_hasher();
        let b = SecretKey::generate().secret_hasher();
        let s1 = new_session_secret();
        let s2 = new_session_secret();
        assert_ne!(csrf_token(&a, &s1), csrf_token(&a, &s2));
        assert_ne!(csrf_token(&a, &s1), csrf_token(&b, &s1));
        assert!(constant_time_eq(&csrf_token(&a, &s1), &csrf_token(&a, &s1)));
        assert!(!constant_time_eq("abc", "abd"));
    }
}
