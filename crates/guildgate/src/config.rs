//! Configuration: defaults, then a TOML file, then `GUILDGATE_*` environment variables,
//! then command-line flags. An unknown key in the file is an error, not a silent default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guildgate_core::crypto::SecretKey;
use guildgate_core::limits::{LimitsConfig, Rate};
use ipnet::IpNet;
use serde::Deserialize;

pub const DEFAULT_DATABASE: &str = "sqlite://./data/guildgate.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Where the master key lives; by default next to the SQLite file.
    pub secret_key_file: Option<PathBuf>,
    /// The URL owners reach guildgate's dashboard at (used in `reauth_url`).
    pub public_base_url: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    pub limits: LimitsConfig,
    /// tracing filter level: error, warn, info, debug, trace.
    pub log_level: String,
    /// `text` (the default) or `json`: one object per line, with the request id.
    pub log_format: String,
    /// The Discord bot's token; without one, Discord actions are record-only.
    pub discord_bot_token: Option<SecretString>,
    /// Discord's API base (a stand-in's, in tests).
    pub discord_api_base_url: Option<String>,
    /// SQLite's `synchronous`: `full` (the default: every acknowledged write is on disk)
    /// or `normal` (survives a guildgate crash, not a power cut).
    pub sqlite_synchronous: String,
    /// Let shard webhooks target loopback and private addresses (off: a key holder must
    /// not make the server call into its own network).
    pub webhook_allow_private_targets: bool,
    /// Redis (`redis://host:port/db`) for rate-limit buckets shared by every instance;
    /// in process when unset. May carry a password, so `Debug` never prints it.
    pub redis_url: Option<SecretString>,
    /// Where the operators' Prometheus endpoint (`/metrics`) listens; off when unset.
    /// Keep it off the public network.
    pub metrics_listen: Option<SocketAddr>,
    /// Seconds a client has to send its request headers, and the longest its request body
    /// may stop arriving; a slower client is disconnected (a request body that stalls is
    /// answered with an error).
    pub client_timeout_secs: u64,
}

/// A secret from configuration: `Debug` never prints it.
#[derive(Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(pub String);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            database_url: DEFAULT_DATABASE.to_owned(),
            secret_key_file: None,
            public_base_url: None,
            trusted_proxies: Vec::new(),
            limits: LimitsConfig::default(),
            log_level: "info".to_owned(),
            log_format: "text".to_owned(),
            discord_bot_token: None,
            discord_api_base_url: None,
            sqlite_synchronous: "full".to_owned(),
            webhook_allow_private_targets: false,
            redis_url: None,
            metrics_listen: None,
            client_timeout_secs: 15,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("config file {0}: {1}")]
    Parse(String, toml::de::Error),
    #[error("environment variable {0}: {1}")]
    Env(&'static str, String),
    #[error("{0}")]
    Key(#[from] guildgate_core::crypto::KeyError),
}

fn env(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_rate(name: &'static str, value: &str) -> Result<Rate, ConfigError> {
    let parts: Vec<u32> = value
        .split('/')
        .map(|p| p.trim().parse::<u32>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ConfigError::Env(
                name,
                format!("expected capacity/refill/per_secs, got {value:?}"),
            )
        })?;
    match parts[..] {
        [capacity, refill, per_secs] if capacity > 0 && refill > 0 && per_secs > 0 => {
            Ok(Rate::new(capacity, refill, per_secs))
        }
        _ => Err(ConfigError::Env(
            name,
            format!("expected three positive numbers capacity/refill/per_secs, got {value:?}"),
        )),
    }
}

impl Config {
    /// Loads the file named by `path` (or `GUILDGATE_CONFIG`, or `./guildgate.toml` when it
    /// exists), then applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let explicit = path
            .map(Path::to_path_buf)
            .or_else(|| env("GUILDGATE_CONFIG").map(PathBuf::from));
        let file = explicit.clone().or_else(|| {
            let default = PathBuf::from("guildgate.toml");
            default.exists().then_some(default)
        });
        let mut config = match file {
            Some(file) => {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| ConfigError::Read(name.clone(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(name, e))?
            }
            None => Config::default(),
        };
        config.apply_env()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        if let Some(v) = env("GUILDGATE_LISTEN") {
            self.listen = v.parse().map_err(|_| {
                ConfigError::Env("GUILDGATE_LISTEN", format!("not an address:port: {v:?}"))
            })?;
        }
        if let Some(v) = env("GUILDGATE_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("GUILDGATE_SECRET_KEY_FILE") {
            self.secret_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("GUILDGATE_PUBLIC_BASE_URL") {
            self.public_base_url = Some(v);
        }
        if let Some(v) = env("GUILDGATE_DISCORD_BOT_TOKEN") {
            self.discord_bot_token = Some(SecretString(v.trim().to_owned()));
        }
        if let Some(v) = env("GUILDGATE_DISCORD_API_BASE_URL") {
            self.discord_api_base_url = Some(v);
        }
        if let Some(v) = env("GUILDGATE_SQLITE_SYNCHRONOUS") {
            self.sqlite_synchronous = v;
        }
        if let Some(v) = env("GUILDGATE_WEBHOOK_ALLOW_PRIVATE_TARGETS") {
            self.webhook_allow_private_targets = match v.trim() {
                "1" | "true" => true,
                "0" | "false" => false,
                _ => {
                    return Err(ConfigError::Env(
                        "GUILDGATE_WEBHOOK_ALLOW_PRIVATE_TARGETS",
                        format!("not true or false: {v:?}"),
                    ));
                }
            };
        }
        if let Some(v) = env("GUILDGATE_METRICS_LISTEN") {
            self.metrics_listen = Some(v.parse().map_err(|_| {
                ConfigError::Env(
                    "GUILDGATE_METRICS_LISTEN",
                    format!("not an address:port: {v:?}"),
                )
            })?);
        }
        if let Some(v) = env("GUILDGATE_CLIENT_TIMEOUT_SECS") {
            self.client_timeout_secs = v
                .trim()
                .parse()
                .ok()
                .filter(|secs| (1..=3600).contains(secs))
                .ok_or_else(|| {
                    ConfigError::Env(
                        "GUILDGATE_CLIENT_TIMEOUT_SECS",
                        format!("expected 1 to 3600 seconds, got {v:?}"),
                    )
                })?;
        }
        if let Some(v) = env("GUILDGATE_REDIS_URL") {
            self.redis_url = Some(SecretString(v.trim().to_owned()));
        }
        if let Some(v) = env("GUILDGATE_LOG_LEVEL") {
            self.log_level = v;
        }
        if let Some(v) = env("GUILDGATE_LOG_FORMAT") {
            self.log_format = v.trim().to_owned();
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Env(
                "GUILDGATE_LOG_FORMAT",
                format!("expected text or json, got {:?}", self.log_format),
            ));
        }
        if let Some(v) = env("GUILDGATE_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<IpNet>()
                        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                })
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    ConfigError::Env(
                        "GUILDGATE_TRUSTED_PROXIES",
                        format!("not a CIDR list: {v:?}"),
                    )
                })?;
        }
        let limits: [(&'static str, &mut Rate); 7] = [
            ("GUILDGATE_LIMIT_PER_IP", &mut self.limits.per_ip),
            ("GUILDGATE_LIMIT_READ", &mut self.limits.read),
            ("GUILDGATE_LIMIT_REVERSIBLE", &mut self.limits.reversible),
            ("GUILDGATE_LIMIT_DESTRUCTIVE", &mut self.limits.destructive),
            (
                "GUILDGATE_LIMIT_AGGREGATE_READ",
                &mut self.limits.aggregate_read,
            ),
            (
                "GUILDGATE_LIMIT_AGGREGATE_REVERSIBLE",
                &mut self.limits.aggregate_reversible,
            ),
            (
                "GUILDGATE_LIMIT_AGGREGATE_DESTRUCTIVE",
                &mut self.limits.aggregate_destructive,
            ),
        ];
        for (name, rate) in limits {
            if let Some(v) = env(name) {
                *rate = parse_rate(name, &v)?;
            }
        }
        Ok(())
    }

    pub fn durability(&self) -> Result<guildgate_storage::Durability, ConfigError> {
        guildgate_storage::Durability::parse(&self.sqlite_synchronous).ok_or_else(|| {
            ConfigError::Env(
                "GUILDGATE_SQLITE_SYNCHRONOUS",
                format!("expected full or normal, got {:?}", self.sqlite_synchronous),
            )
        })
    }

    pub fn public_base_url(&self) -> String {
        self.public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// `GUILDGATE_SECRET_KEY` itself, or the key file (created on first use).
    pub fn secret_key(&self) -> Result<SecretKey, ConfigError> {
        if let Some(text) = env("GUILDGATE_SECRET_KEY") {
            return Ok(SecretKey::decode(&text)?);
        }
        Ok(SecretKey::load_or_create(&self.key_file())?)
    }

    fn key_file(&self) -> PathBuf {
        if let Some(file) = &self.secret_key_file {
            return file.clone();
        }
        let url = self.database_url.as_str();
        let sqlite_path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            // A bare path is an SQLite file too (as `SqliteStore::open` reads it).
            .or_else(|| (!url.contains("://")).then_some(url))
            .map(|p| p.split('?').next().unwrap_or(p));
        match sqlite_path.and_then(|p| Path::new(p).parent()) {
            Some(dir) => dir.join("guildgate.key"),
            None => PathBuf::from("./data/guildgate.key"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_token_never_prints() {
        let config: Config = toml::from_str("discord_bot_token = \"MTIz.secret.token\"").unwrap();
        assert!(!format!("{config:?}").contains("MTIz.secret.token"));
        assert_eq!(config.discord_bot_token.unwrap().0, "MTIz.secret.token");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"")
            .unwrap_err();
        assert!(err.to_string().contains("listen_adress"));
    }

    #[test]
    fn limits_in_toml_and_key_beside_the_database() {
        let config: Config = toml::from_str(
            "database_url = \"sqlite:///tmp/x/g.db\"\n[limits]\ndestructive = { capacity = 3, refill = 1, per_secs = 60 }",
        )
        .unwrap();
        assert_eq!(config.limits.destructive, Rate::new(3, 1, 60));
        assert_eq!(config.limits.read, LimitsConfig::default().read);
        assert_eq!(config.key_file(), PathBuf::from("/tmp/x/guildgate.key"));
        let bare = Config {
            database_url: "/srv/gg/guildgate.db".into(),
            ..Config::default()
        };
        assert_eq!(bare.key_file(), PathBuf::from("/srv/gg/guildgate.key"));
        assert!(parse_rate("X", "6/1").is_err());
        assert_eq!(parse_rate("X", "6/1/60").unwrap(), Rate::new(6, 1, 60));
    }
}
