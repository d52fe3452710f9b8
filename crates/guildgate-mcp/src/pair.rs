//! `guildgate mcp pair`: the OAuth 2.0 device authorization grant (RFC 8628) from a
//! terminal. Shows the user code and the URL, polls at the server's interval (five seconds
//! more after each `slow_down`), stops on `expired_token` and `access_denied`, and stores
//! the token in the credential file, owner-only. The token is never printed.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::credential::{self, Credential};
use crate::rest::{SleepFn, http_client, normalise_base_url, tokio_sleep};

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8628 §3.5.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// Polls that could not reach the server, in a row, before giving up.
const MAX_UNREACHABLE: u32 = 10;

#[derive(Clone)]
pub struct PairOptions {
    /// Where to store the credential (default: [`credential::default_path`]).
    pub credential_path: Option<PathBuf>,
    /// How to wait between polls (tests inject a fast one).
    pub sleep: SleepFn,
}

impl Default for PairOptions {
    fn default() -> Self {
        Self {
            credential_path: None,
            sleep: tokio_sleep(),
        }
    }
}

/// A successful pairing: never the token itself.
#[derive(Debug, Clone)]
pub struct PairOutcome {
    pub path: PathBuf,
    pub guild_id: String,
    pub token_id: String,
    pub capabilities: Vec<String>,
    pub expires_at: Option<String>,
    /// Polls of `/oauth/device/token` made.
    pub polls: u32,
}

#[derive(Deserialize)]
struct CodeAnswer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    token_id: String,
    #[serde(default)]
    guild_id: Option<String>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

fn oauth_error(body: &Value) -> (String, String) {
    (
        body["error"].as_str().unwrap_or("").to_owned(),
        body["error_description"].as_str().unwrap_or("").to_owned(),
    )
}

/// Pairs from a terminal: prints to stdout and stores the credential at the default path.
pub async fn pair(base_url: &str, guild_id: &str, client_name: &str) -> Result<PairOutcome, Error> {
    let mut out = std::io::stdout();
    pair_with(
        base_url,
        guild_id,
        client_name,
        PairOptions::default(),
        &mut out,
    )
    .await
}

/// [`pair`] with the credential path, the sleep and the output chosen by the caller.
pub async fn pair_with(
    base_url: &str,
    guild_id: &str,
    client_name: &str,
    options: PairOptions,
    out: &mut (dyn Write + Send),
) -> Result<PairOutcome, Error> {
    let base_url = normalise_base_url(base_url)?;
    let guild_id = guild_id.trim();
    let path = match options.credential_path {
        Some(path) => path,
        None => credential::default_path()?,
    };
    let http = http_client()?;
    let unreachable =
        |e: reqwest::Error| Error::Pair(format!("could not reach guildgate at {base_url}: {e}"));
    let say = |out: &mut (dyn Write + Send), text: String| {
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    };

    let response = http
        .post(format!("{base_url}/oauth/device/code"))
        .form(&[("guild_id", guild_id), ("client_name", client_name)])
        .send()
        .await
        .map_err(unreachable)?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let (error, description) = oauth_error(&body);
        let hint = if error == "feature_not_enabled" {
            format!(
                " The owner enables it with `guildgate admin guild set-feature --id {guild_id} --mcp on`."
            )
        } else {
            String::new()
        };
        return Err(Error::Pair(format!(
            "pairing could not start (HTTP {status}, {error}): {description}{hint}"
        )));
    }
    let code: CodeAnswer = serde_json::from_value(body)
        .map_err(|e| Error::Pair(format!("unexpected answer from /oauth/device/code: {e}")))?;
    let mut interval = Duration::from_secs(code.interval.unwrap_or(5).max(1));
    let deadline = Instant::now() + Duration::from_secs(code.expires_in);

    say(
        out,
        format!(
            "To pair this MCP client with guild {guild_id}, the guild's owner approves this code:"
        ),
    );
    say(out, String::new());
    say(out, format!("    User code: {}", code.user_code));
    say(out, String::new());
    say(
        out,
        format!(
            "at {}",
            code.verification_uri_complete
                .as_deref()
                .unwrap_or(&code.verification_uri)
        ),
    );
    say(
        out,
        format!(
            "(or, on the server: guildgate admin device approve --user-code {})",
            code.user_code
        ),
    );
    say(
        out,
        format!(
            "Waiting for approval; the code expires in {} minutes.",
            code.expires_in.div_ceil(60)
        ),
    );

    let mut polls = 0;
    let mut unreachable_in_a_row = 0;
    loop {
        (options.sleep)(interval).await;
        polls += 1;
        let response = http
            .post(format!("{base_url}/oauth/device/token"))
            .form(&[
                ("grant_type", GRANT_TYPE),
                ("device_code", code.device_code.as_str()),
            ])
            .send()
            .await;
        let response = match response {
            Ok(response) => {
                unreachable_in_a_row = 0;
                response
            }
            Err(e) => {
                unreachable_in_a_row += 1;
                if unreachable_in_a_row >= MAX_UNREACHABLE || Instant::now() >= deadline {
                    return Err(unreachable(e));
                }
                tracing::warn!("polling {base_url}: {e}; trying again");
                continue;
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let token: TokenAnswer = serde_json::from_value(body).map_err(|e| {
                Error::Pair(format!("unexpected answer from /oauth/device/token: {e}"))
            })?;
            let credential = Credential {
                base_url: base_url.clone(),
                guild_id: token
                    .guild_id
                    .clone()
                    .unwrap_or_else(|| guild_id.to_owned()),
                token: token.access_token,
                token_id: token.token_id.clone(),
            };
            credential::save(&path, &credential)?;
            say(
                out,
                format!(
                    "Paired: token {} for guild {} ({}) saved to {} (owner-only). `guildgate mcp` now uses it.",
                    token.token_id,
                    credential.guild_id,
                    if token.capabilities.is_empty() {
                        "no capabilities".to_owned()
                    } else {
                        token.capabilities.join(", ")
                    },
                    path.display()
                ),
            );
            return Ok(PairOutcome {
                path,
                guild_id: credential.guild_id,
                token_id: token.token_id,
                capabilities: token.capabilities,
                expires_at: token.expires_at,
                polls,
            });
        }
        let (error, description) = oauth_error(&body);
        match error.as_str() {
            "authorization_pending" => {}
            "slow_down" => {
                interval += SLOW_DOWN_STEP;
                tracing::info!("slow_down: polling every {}s", interval.as_secs());
            }
            "expired_token" => {
                return Err(Error::Pair(
                    "the code expired before it was approved; run `guildgate mcp pair` again"
                        .into(),
                ));
            }
            "access_denied" => {
                return Err(Error::Pair(format!(
                    "the pairing was denied: {}",
                    if description.is_empty() {
                        "the owner refused it"
                    } else {
                        &description
                    }
                )));
            }
            "rate_limited" | "temporarily_unavailable" | ""
                if status.as_u16() == 429 || status.is_server_error() =>
            {
                if let Some(secs) = retry_after {
                    let wait = Duration::from_secs(secs).saturating_sub(interval);
                    (options.sleep)(wait).await;
                }
            }
            _ => {
                return Err(Error::Pair(format!(
                    "pairing failed (HTTP {status}, {error}): {description}"
                )));
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Pair(
                "the code expired before it was approved; run `guildgate mcp pair` again".into(),
            ));
        }
    }
}
