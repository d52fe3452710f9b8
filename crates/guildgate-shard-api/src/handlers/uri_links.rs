//! Join links (`/uri-links`): a link names an action (select or join this guild, or an
//! org link) and carries a token shown once; resolving it checks the token, the expiry,
//! revocation and the use limit, and counts one use. Only the token's keyed hash is kept.

use axum::body::Bytes;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use guildgate_core::clock::{Millis, parse_rfc3339, to_rfc3339};
use guildgate_core::crypto::random_url_secret;
use guildgate_core::ids::new_ulid;
use guildgate_http::{Answer, MessageError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ok;
use crate::body::Body;
use crate::caller::Caller;

pub const URI_LINK: &str = "uri-link";
const ACTIONS: &[&str] = &["select:guild", "join:guild", "join:org-link"];
const MINUTE: Millis = 60_000;
const DAY: Millis = 86_400_000;
/// Without an expiry the link lasts a week.
const DEFAULT_LIFETIME: Millis = 7 * DAY;
const MAX_LIFETIME: Millis = 365 * DAY;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Link {
    id: String,
    action: String,
    name: Option<String>,
    target: String,
    expires_at: Millis,
    max_uses: Option<u32>,
    uses: u32,
    created_at: Millis,
    revoked_at: Option<Millis>,
    /// Base64 of the token's keyed hash.
    token_hash: String,
}

impl Link {
    fn status(&self, now: Millis) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else if self.max_uses.is_some_and(|max| self.uses >= max) {
            "used-up"
        } else {
            "active"
        }
    }

    fn to_json(&self, now: Millis) -> Value {
        json!({
            "id": self.id, "action": self.action, "name": self.name, "target": self.target,
            "expiresAt": to_rfc3339(self.expires_at), "maxUses": self.max_uses,
            "uses": self.uses,
            "usesLeft": self.max_uses.map(|max| max.saturating_sub(self.uses)),
            "createdAt": to_rfc3339(self.created_at),
            "revokedAt": self.revoked_at.map(to_rfc3339), "status": self.status(now),
        })
    }
}

fn bad(message: impl Into<String>) -> MessageError {
    MessageError::bad_request(message)
}

fn gone(message: &str) -> MessageError {
    MessageError::new(StatusCode::GONE, message)
}

fn not_found() -> MessageError {
    MessageError::not_found("Link")
}

/// When the link expires: `expiresAt` (RFC 3339), `expiresMinutes` or `expiresDays`, at
/// most one, within a year.
fn expiry(body: &Body, now: Millis) -> Result<Millis, MessageError> {
    let given: Vec<&str> = ["expiresAt", "expiresMinutes", "expiresDays"]
        .into_iter()
        .filter(|f| body.get(f).is_some())
        .collect();
    if given.len() > 1 {
        return Err(bad(format!(
            "Give one of expiresAt, expiresMinutes or expiresDays, not {}",
            given.join(" and ")
        )));
    }
    let number = |field: &str, unit: Millis| -> Result<Millis, MessageError> {
        body.get(field)
            .and_then(Value::as_i64)
            .filter(|n| *n >= 1)
            .map(|n| n.saturating_mul(unit))
            .ok_or_else(|| bad(format!("{field} must be a whole number of at least 1")))
    };
    let at = match given.first().copied() {
        None => now + DEFAULT_LIFETIME,
        Some("expiresAt") => {
            let text = body.str("expiresAt")?.unwrap_or_default();
            let at =
                parse_rfc3339(text).ok_or_else(|| bad("expiresAt must be an RFC 3339 time"))?;
            if at <= now {
                return Err(bad("expiresAt must be in the future"));
            }
            at
        }
        Some("expiresMinutes") => now.saturating_add(number("expiresMinutes", MINUTE)?),
        Some(_) => now.saturating_add(number("expiresDays", DAY)?),
    };
    if at - now > MAX_LIFETIME {
        return Err(bad("A link expires within 365 days"));
    }
    Ok(at)
}

/// `POST /uri-links`: the token is in this answer only.
pub async fn create(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let now = caller.now();
    let action = body.required_str("action")?.to_owned();
    if !ACTIONS.contains(&action.as_str()) {
        return Err(bad(format!("action must be one of {}", ACTIONS.join(", "))));
    }
    let name = match body.str("name")?.map(str::trim) {
        None | Some("") => None,
        Some(n) if n.chars().count() <= 64 && !n.contains(char::is_control) => Some(n.to_owned()),
        Some(_) => {
            return Err(bad(
                "name must be at most 64 characters without control characters",
            ));
        }
    };
    let target = match (body.str("target")?, action.as_str()) {
        (Some(t), _) if !t.trim().is_empty() && t.len() <= 512 => t.trim().to_owned(),
        (Some(_), _) => return Err(bad("target must be 1 to 512 characters")),
        (None, "join:org-link") => return Err(bad("join:org-link needs a target (the org link)")),
        (None, _) => caller.guild_id().to_owned(),
    };
    let max_uses = match body.get("maxUses") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| bad("maxUses must be a number from 1 to 100000"))?,
        ),
    };
    let token = random_url_secret();
    let link = Link {
        id: format!("uri_{}", new_ulid().to_lowercase()),
        action,
        name,
        target,
        expires_at: expiry(&body, now)?,
        max_uses,
        uses: 0,
        created_at: now,
        revoked_at: None,
        token_hash: STANDARD.encode(caller.state.hasher.hash(&token)),
    };
    caller.set_target(&link.id);
    save(&caller, &link, None).await?;
    let base = caller.state.settings.public_base_url.trim_end_matches('/');
    let uri = format!(
        "guildgate://link/{}?token={token}&action={}&guildId={}&server={base}",
        link.id,
        link.action,
        caller.guild_id()
    );
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "link": link.to_json(now),
        "token": token, "uri": uri,
    })))
}

async fn save(
    caller: &Caller,
    link: &Link,
    tx: Option<Box<dyn guildgate_storage::WriteTx>>,
) -> Result<(), MessageError> {
    let mut tx = match tx {
        Some(tx) => tx,
        None => caller.state.store.begin().await?,
    };
    let text = serde_json::to_string(link).expect("a link serializes");
    tx.put_shard_doc(caller.guild_id(), URI_LINK, &link.id, &text, caller.now())
        .await?;
    caller.commit(tx).await
}

/// The link, read in the write transaction that will change it and held until it ends:
/// two resolves of one link count two uses, never one.
async fn load_for_update(
    caller: &Caller,
    tx: &mut dyn guildgate_storage::WriteTx,
    id: &str,
) -> Result<Option<Link>, MessageError> {
    let doc = tx
        .shard_doc_for_update(caller.guild_id(), URI_LINK, id)
        .await?;
    Ok(doc.and_then(|doc| serde_json::from_str(&doc.body).ok()))
}

pub async fn list(caller: Caller) -> Answer {
    let now = caller.now();
    let docs = caller
        .state
        .store
        .shard_docs(caller.guild_id(), URI_LINK)
        .await?;
    let mut links: Vec<Link> = docs
        .iter()
        .filter_map(|doc| serde_json::from_str(&doc.body).ok())
        .collect();
    links.sort_by_key(|l| std::cmp::Reverse(l.created_at));
    let links: Vec<Value> = links.iter().map(|l| l.to_json(now)).collect();
    Ok(ok(
        &json!({ "ok": true, "guildId": caller.guild_id(), "links": links }),
    ))
}

fn required_id(body: &Body) -> Result<String, MessageError> {
    Ok(body.required_str("id")?.trim().to_owned())
}

pub async fn revoke(caller: Caller, bytes: Bytes) -> Answer {
    let id = required_id(&Body::parse(&bytes)?)?;
    caller.set_target(&id);
    let mut tx = caller.state.store.begin().await?;
    let mut link = load_for_update(&caller, &mut *tx, &id)
        .await?
        .ok_or_else(not_found)?;
    let newly = link.revoked_at.is_none();
    if newly {
        link.revoked_at = Some(caller.now());
    }
    save(&caller, &link, Some(tx)).await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "revoked": true, "changed": newly,
        "link": link.to_json(caller.now()),
    })))
}

/// `POST /uri-links/resolve {id, token}`: what the link does, counting one use. A wrong
/// token reads as an unknown link.
pub async fn resolve(caller: Caller, bytes: Bytes) -> Answer {
    let body = Body::parse(&bytes)?;
    let id = required_id(&body)?;
    let token = body.required_str("token")?.to_owned();
    caller.set_target(&id);
    let now = caller.now();
    let mut tx = caller.state.store.begin().await?;
    let guild_name = caller
        .state
        .store
        .guild(caller.guild_id())
        .await?
        .map(|g| g.name)
        .unwrap_or_default();
    let mut link = load_for_update(&caller, &mut *tx, &id)
        .await?
        .ok_or_else(not_found)?;
    let expected = STANDARD
        .decode(&link.token_hash)
        .map_err(|_| MessageError::internal())?;
    if !caller.state.hasher.matches(&token, &expected) {
        return Err(not_found());
    }
    match link.status(now) {
        "revoked" => return Err(gone("This link has been revoked")),
        "expired" => return Err(gone("This link has expired")),
        "used-up" => return Err(gone("This link has no uses left")),
        _ => {}
    }
    link.uses += 1;
    save(&caller, &link, Some(tx)).await?;
    Ok(ok(&json!({
        "ok": true, "guildId": caller.guild_id(), "guildName": guild_name,
        "action": link.action, "target": link.target, "name": link.name,
        "link": link.to_json(now),
    })))
}
