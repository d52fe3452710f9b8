//! Signatures the shard hands out: Standard Webhooks signatures on deliveries, and the
//! signed, expiring, read-only public tokens behind the embed endpoints.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
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

/// The key bytes of a `whsec_...` secret; an owner-chosen secret must have that form too.
pub fn webhook_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or("A webhook secret must look like whsec_<base64>, as Standard Webhooks defines")?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| "The part of the webhook secret after whsec_ must be base64")?;
    if !(24..=64).contains(&bytes.len()) {
        return Err("A webhook secret must hold 24 to 64 bytes".to_owned());
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

/// Why a public token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicTokenError {
    Malformed,
    BadSignature,
    Expired,
}

/// Signs `{guild}.{expires}` for the embed endpoints: `gpub_` + payload + `.` + signature.
/// No state is stored: the signature and the expiry are the whole check.
pub struct PublicTokens {
    key: [u8; 32],
}

impl PublicTokens {
    /// `key` is derived from the server's secret key for this one purpose.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(payload.as_bytes());
        mac
    }

    pub fn issue(&self, guild_id: &str, expires_at: Millis) -> String {
        let payload = URL_SAFE_NO_PAD.encode(format!("{guild_id}.{expires_at}"));
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("gpub_{payload}.{signature}")
    }

    /// The guild the token is for, when its signature holds and it has not expired.
    pub fn verify(&self, token: &str, now: Millis) -> Result<String, PublicTokenError> {
        let body = token
            .strip_prefix("gpub_")
            .ok_or(PublicTokenError::Malformed)?;
        let (payload, signature) = body.split_once('.').ok_or(PublicTokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| PublicTokenError::Malformed)?;
        self.mac(payload)
            .verify_slice(&signature)
            .map_err(|_| PublicTokenError::BadSignature)?;
        let decoded = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(PublicTokenError::Malformed)?;
        let (guild, expires) = decoded
            .rsplit_once('.')
            .ok_or(PublicTokenError::Malformed)?;
        let expires: Millis = expires.parse().map_err(|_| PublicTokenError::Malformed)?;
        if expires <= now {
            return Err(PublicTokenError::Expired);
        }
        Ok(guild.to_owned())
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
    fn public_tokens_refuse_tampering_and_expiry() {
        let tokens = PublicTokens::new([7; 32]);
        let token = tokens.issue("123", 2_000);
        assert_eq!(tokens.verify(&token, 1_000).unwrap(), "123");
        assert_eq!(tokens.verify(&token, 2_000), Err(PublicTokenError::Expired));
        let forged = PublicTokens::new([8; 32]).issue("123", 9_000);
        assert_eq!(
            tokens.verify(&forged, 1_000),
            Err(PublicTokenError::BadSignature)
        );
        let other_guild = token.replacen(
            &URL_SAFE_NO_PAD.encode("123.2000"),
            &URL_SAFE_NO_PAD.encode("124.2000"),
            1,
        );
        assert_eq!(
            tokens.verify(&other_guild, 1_000),
            Err(PublicTokenError::BadSignature)
        );
        assert_eq!(tokens.verify("nope", 0), Err(PublicTokenError::Malformed));
    }
}
