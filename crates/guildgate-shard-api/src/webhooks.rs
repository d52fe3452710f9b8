//! Webhook delivery, following the Standard Webhooks spec: `webhook-id` (the same on every
//! retry), `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>`, so a
//! receiver can use the spec's published verifiers and reject replays. Deliveries are
//! queued in the database with the event, retried with backoff, and a webhook that keeps
//! failing is disabled (visible in the list).

use std::net::IpAddr;
use std::time::Duration;

use guildgate_core::shard::signing::{sign_webhook, webhook_key};
use guildgate_storage::{DeliveryResult, DueDelivery};

use crate::handlers::events::event_body;
use crate::state::ShardState;

#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Allow targets on loopback, private and link-local addresses (off by default: a key
    /// holder must not be able to make the server call into its own network).
    pub allow_private_targets: bool,
    /// The wait before each retry; after the last, the delivery is given up.
    pub retry_delays_ms: Vec<i64>,
    /// Failed attempts in a row that disable a webhook.
    pub disable_after: i64,
    pub timeout_ms: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            retry_delays_ms: vec![5_000, 30_000, 120_000, 600_000, 1_800_000, 7_200_000],
            disable_after: 10,
            timeout_ms: 10_000,
        }
    }
}

fn private_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1])
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| private_address(IpAddr::V4(v4)))
        }
    }
}

/// A webhook target must be an http(s) URL; unless allowed, not a private address.
pub fn check_target(url: &str, allow_private: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("'{url}' is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("A webhook URL must start with http:// or https://".to_owned());
    }
    let host = parsed
        .host_str()
        .ok_or("A webhook URL must name a host")?
        .trim_matches(['[', ']']);
    if allow_private {
        return Ok(());
    }
    let refused = || {
        Err(format!(
            "Webhook target {host} is a private or loopback address; the server's operator can allow those with webhook_allow_private_targets"
        ))
    };
    if let Ok(ip) = host.parse::<IpAddr>() {
        if private_address(ip) {
            return refused();
        }
    } else if host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal") {
        return refused();
    }
    Ok(())
}

/// Deliveries claimed at a time.
const BATCH: u32 = 10;

/// Checks what the host resolves to now (a public name may point inward).
async fn resolves_privately(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return true;
    };
    let (Some(host), Some(port)) = (parsed.host_str(), parsed.port_or_known_default()) else {
        return true;
    };
    match tokio::net::lookup_host((host.trim_matches(['[', ']']), port)).await {
        Ok(mut addrs) => addrs.any(|a| private_address(a.ip())),
        Err(_) => false,
    }
}

pub async fn deliver(state: ShardState) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(state.settings.webhooks.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(%err, "webhook delivery cannot start");
            return;
        }
    };
    loop {
        // Held long enough for the whole batch of attempts (each bounded by the timeout);
        // if this instance dies meanwhile, another takes them over when the lease ends.
        let now = state.clock.now();
        let lease = i64::try_from(
            state
                .settings
                .webhooks
                .timeout_ms
                .saturating_mul(u64::from(BATCH) + 2),
        )
        .unwrap_or(i64::MAX)
        .max(30_000);
        let due = match state
            .store
            .claim_due_deliveries(now, now.saturating_add(lease), BATCH)
            .await
        {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(%err, "could not read due webhook deliveries");
                Vec::new()
            }
        };
        let idle = due.is_empty();
        for delivery in due {
            attempt(&state, &client, delivery).await;
        }
        if idle {
            // Woken at once when an event queues deliveries; retries are found by the tick.
            let _ =
                tokio::time::timeout(Duration::from_millis(500), state.hub.deliveries.notified())
                    .await;
        }
    }
}

async fn attempt(state: &ShardState, client: &reqwest::Client, delivery: DueDelivery) {
    let now = state.clock.now();
    let outcome = send(state, client, &delivery, now).await;
    let settings = &state.settings.webhooks;
    let result = match outcome {
        Ok(()) => DeliveryResult::Delivered,
        Err(error) => match settings.retry_delays_ms.get(delivery.attempts as usize) {
            Some(delay) => DeliveryResult::Retry {
                at: now + delay,
                error,
            },
            None => DeliveryResult::GaveUp { error },
        },
    };
    let saved = async {
        let mut tx = state.store.begin().await?;
        let disabled = tx
            .record_delivery(
                &delivery.id,
                &delivery.webhook.id,
                &result,
                now,
                settings.disable_after,
            )
            .await?;
        tx.commit().await?;
        Ok::<_, guildgate_storage::StoreError>(disabled)
    }
    .await;
    match saved {
        Ok(true) => tracing::warn!(
            webhook = %delivery.webhook.id,
            failures = settings.disable_after,
            "webhook disabled after repeated delivery failures"
        ),
        Ok(false) => {}
        Err(err) => tracing::warn!(%err, "could not record a webhook delivery"),
    }
}

async fn send(
    state: &ShardState,
    client: &reqwest::Client,
    delivery: &DueDelivery,
    now: i64,
) -> Result<(), String> {
    let webhook = &delivery.webhook;
    if !state.settings.webhooks.allow_private_targets && resolves_privately(&webhook.url).await {
        return Err("the target resolves to a private address".to_owned());
    }
    let secret = state
        .sealer
        .unseal(&webhook.sealed_secret)
        .map_err(|_| "the signing secret cannot be read".to_owned())?;
    let key = webhook_key(&String::from_utf8_lossy(&secret))?;
    let body = serde_json::to_vec(&event_body(&delivery.event)).map_err(|e| e.to_string())?;
    let timestamp = now / 1000;
    let signature = sign_webhook(&key, &delivery.id, timestamp, &body);
    let response = client
        .post(&webhook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(
            "user-agent",
            concat!("guildgate/", env!("CARGO_PKG_VERSION")),
        )
        .body(body)
        .send()
        .await
        .map_err(|err| format!("request failed: {err}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {}", response.status()))
    }
}
