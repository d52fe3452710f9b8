//! Signatures the shard hands out: Standard Webhooks signatures on deliveries, and the
//! signed, expiring tokens: read-only public tokens behind the embed endpoints and the
//! comms clients' credentials.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::Millis;

type HmacSha256 = Hmac<Sha256>;

/// A webhook signing secret: `whsec_` + base64 of 32 random bytes (the Standard Webhooks
/// form, so the published verifiers accept it as is).
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

/// The signing key of a webhook secret. A `whsec_...` secret is Standard Webhooks' form: the
/// key is the bytes after the prefix, base64-decoded. The API's docs give an owner-chosen
/// secret no form, so any other secret of 8 to 256 visible characters is taken too, and its
/// key is its UTF-8 bytes (what `hmac.new(secret.encode(), ...)` uses, and what a Standard
/// Webhooks verifier uses when given the secret as bytes).
pub fn webhook_key(secret: &str) -> Result<Vec<u8>, String> {
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        let visible = secret
            .chars()
            .all(|c| !c.is_control() && !c.is_whitespace());
        if !visible || !(8..=256).contains(&secret.chars().count()) {
            return Err(
                "A webhook secret must be whsec_<base64> (Standard Webhooks) or 8 to 256 \
                 characters without spaces"
                    .to_owned(),
            );
        }
        return Ok(secret.as_bytes().to_vec());
    };
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| "The part of the webhook secret after whsec_ must be base64")?;
    if !(24..=64).contains(&bytes.len()) {
        return Err("A whsec_ webhook secret must hold 24 to 64 bytes".to_owned());
    }
    Ok(bytes)
}

/// `webhook-signature`: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign_webhook(key: &[u8], message_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Why a signed token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedTokenError {
    Malformed,
    BadSignature,
    Expired,
}

/// Tokens that carry their own claims: `prefix` + base64url(`{expires}.{claims}`) + `.` +
/// base64url(HMAC-SHA256). No state is stored: the signature and the expiry are the whole
/// check, so each kind gets its own prefix and its own derived key.
pub struct SignedTokens {
    prefix: &'static str,
    key: [u8; 32],
}

impl SignedTokens {
    /// `key` is derived from the server's secret key for this one purpose.
    pub fn new(prefix: &'static str, key: [u8; 32]) -> Self {
        Self { prefix, key }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(self.prefix.as_bytes());
        mac.update(payload.as_bytes());
        mac
    }

    pub fn issue(&self, claims: &str, expires_at: Millis) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!("{expires_at}.{claims}"));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{}{payload}.{signature}", self.prefix)
    }

    /// The claims, when the signature holds and the token has not expired.
    pub fn verify(&self, token: &str, now: Millis) -> Result<String, SignedTokenError> {
        let body = token
            .strip_prefix(self.prefix)
            .ok_or(SignedTokenError::Malformed)?;
        let (payload, signature) = body.split_once('.').ok_or(SignedTokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SignedTokenError::Malformed)?;
        self.mac(payload)
            .verify_slice(&signature)
            .map_err(|_| SignedTokenError::BadSignature)?;
        let decoded = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(SignedTokenError::Malformed)?;
        let (expires, claims) = decoded.split_once('.').ok_or(SignedTokenError::Malformed)?;
        let expires: Millis = expires.parse().map_err(|_| SignedTokenError::Malformed)?;
        if expires <= now {
            return Err(SignedTokenError::Expired);
        }
        Ok(claims.to_owned())
    }
}

/// The embed endpoints' read-only tokens: the claim is the guild id.
pub const PUBLIC_TOKEN_PREFIX: &str = "gpub_";
/// A comms client's credential for the WebSocket: the claims are its [`ClientIdentity`].
pub const CLIENT_TOKEN_PREFIX: &str = "gcli_";

/// The embed endpoints' read-only tokens, naming one guild.
pub struct PublicTokens(SignedTokens);

impl PublicTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self(SignedTokens::new(PUBLIC_TOKEN_PREFIX, key))
    }

    pub fn issue(&self, guild_id: &str, expires_at: Millis) -> String {
        self.0.issue(guild_id, expires_at)
    }

    /// The guild the token is for.
    pub fn verify(&self, token: &str, now: Millis) -> Result<String, SignedTokenError> {
        self.0.verify(token, now)
    }
}

/// Who a comms client is: one user of one guild, with the Discord roles the role rules
/// read. Minted by the guild's owner (`guildgate admin shard client-token`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientIdentity {
    #[serde(rename = "g")]
    pub guild_id: String,
    #[serde(rename = "u")]
    pub user_id: String,
    #[serde(rename = "n")]
    pub display_name: String,
    #[serde(rename = "r", default)]
    pub role_ids: Vec<String>,
    /// When it was issued: a revocation refuses every token of the user issued up to then.
    #[serde(rename = "i", default)]
    pub issued_at: Millis,
}

/// The comms clients' WebSocket credentials.
pub struct ClientTokens(SignedTokens);

impl ClientTokens {
    pub fn new(key: [u8; 32]) -> Self {
        Self(SignedTokens::new(CLIENT_TOKEN_PREFIX, key))
    }

    pub fn issue(&self, identity: &ClientIdentity, expires_at: Millis) -> String {
        let claims = serde_json::to_string(identity).expect("an identity always serializes");
        self.0.issue(&claims, expires_at)
    }

    pub fn verify(&self, token: &str, now: Millis) -> Result<ClientIdentity, SignedTokenError> {
        let claims = self.0.verify(token, now)?;
        serde_json::from_str(&claims).map_err(|_| SignedTokenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_reference_signature() {
        // The example from the Standard Webhooks specification.
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign_webhook(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn an_owner_chosen_secret_outside_the_whsec_form_keys_with_its_own_bytes() {
        assert_eq!(webhook_key("receiver-secret").unwrap(), b"receiver-secret");
        for refused in [
            "hunter2",
            "has a space",
            &"x".repeat(257),
            "whsec_not*base64",
        ] {
            assert!(webhook_key(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn signed_tokens_refuse_tampering_expiry_and_other_kinds() {
        let tokens = SignedTokens::new(PUBLIC_TOKEN_PREFIX, [7; 32]);
        let token = tokens.issue("123", 2_000);
        assert_eq!(tokens.verify(&token, 1_000).unwrap(), "123");
        assert_eq!(tokens.verify(&token, 2_000), Err(SignedTokenError::Expired));
        let forged = SignedTokens::new(PUBLIC_TOKEN_PREFIX, [8; 32]).issue("123", 9_000);
        assert_eq!(
            tokens.verify(&forged, 1_000),
            Err(SignedTokenError::BadSignature)
        );
        let other_guild = token.replacen(
            &URL_SAFE_NO_PAD.encode("2000.123"),
            &URL_SAFE_NO_PAD.encode("2000.124"),
            1,
        );
        assert_eq!(
            tokens.verify(&other_guild, 1_000),
            Err(SignedTokenError::BadSignature)
        );
        // The same key under another prefix signs differently.
        let client = SignedTokens::new(CLIENT_TOKEN_PREFIX, [7; 32]).issue("123", 2_000);
        let relabelled = client.replacen(CLIENT_TOKEN_PREFIX, PUBLIC_TOKEN_PREFIX, 1);
        assert_eq!(
            tokens.verify(&relabelled, 1_000),
            Err(SignedTokenError::BadSignature)
        );
        assert_eq!(tokens.verify("nope", 0), Err(SignedTokenError::Malformed));
    }
}
