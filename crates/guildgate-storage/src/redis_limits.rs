//! Rate-limit buckets in Redis, shared by every instance: the same token buckets as the
//! in-process limiter, decided all or nothing by one server-side script (one round trip,
//! atomic on the Redis server, so two instances never both take a bucket's last call).

use std::time::Duration;

use async_trait::async_trait;
use guildgate_core::clock::Millis;
use guildgate_core::limiter::SharedBuckets;
use guildgate_core::limits::BucketRequest;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::{StoreError, StoreResult};

/// KEYS: the buckets. ARGV: now (ms), consume (1/0), then per bucket its capacity and
/// refill per millisecond. Returns {allowed, level...} with levels as strings of 17
/// significant digits (a Lua number would come back truncated to an integer, and
/// `tostring` keeps only 14), so Redis decides exactly as the in-process buckets do.
const DECIDE: &str = r"
local now = tonumber(ARGV[1])
local consume = ARGV[2] == '1'
local levels = {}
local allowed = true
for i = 1, #KEYS do
  local capacity = tonumber(ARGV[1 + 2 * i])
  local per_ms = tonumber(ARGV[2 + 2 * i])
  local saved = redis.call('HMGET', KEYS[i], 't', 'u')
  local level = capacity
  if saved[1] then
    level = math.min(capacity, tonumber(saved[1]) + math.max(0, now - tonumber(saved[2])) * per_ms)
  end
  levels[i] = level
  if level < 1 then allowed = false end
end
if allowed and consume then
  for i = 1, #KEYS do
    levels[i] = levels[i] - 1
    local capacity = tonumber(ARGV[1 + 2 * i])
    local per_ms = tonumber(ARGV[2 + 2 * i])
    redis.call('HSET', KEYS[i], 't', string.format('%.17g', levels[i]), 'u', ARGV[1])
    -- Gone once it would be full again: a missing bucket reads as full.
    redis.call('PEXPIRE', KEYS[i], math.ceil((capacity - levels[i]) / per_ms) + 1000)
  end
end
local out = { allowed and 1 or 0 }
for i = 1, #KEYS do out[i + 1] = string.format('%.17g', levels[i]) end
return out
";

/// Every key guildgate writes starts with this.
const PREFIX: &str = "guildgate:rl:";

pub struct RedisBuckets {
    connection: ConnectionManager,
    script: redis::Script,
}

impl RedisBuckets {
    /// Connects lazily to `url` (`redis://host:port/db`): the server starts even while Redis
    /// is down (reads go through, writes are refused) and reconnects by itself.
    pub fn open(url: &str) -> StoreResult<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Internal(format!("bad Redis URL: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::Unavailable(format!("Redis: {e}")))?;
        Ok(Self {
            connection,
            script: redis::Script::new(DECIDE),
        })
    }

    /// Whether Redis answers (readiness).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Unavailable(format!("Redis: {e}")))
    }
}

#[async_trait]
impl SharedBuckets for RedisBuckets {
    async fn evaluate(
        &self,
        requests: &[BucketRequest],
        now: Millis,
        consume: bool,
    ) -> Result<(bool, Vec<f64>), String> {
        let mut invocation = self.script.prepare_invoke();
        for request in requests {
            invocation.key(format!("{PREFIX}{}", request.key));
        }
        invocation.arg(now).arg(if consume { "1" } else { "0" });
        for request in requests {
            invocation
                .arg(request.rate.capacity)
                .arg(request.rate.per_milli().to_string());
        }
        let mut connection = self.connection.clone();
        let answer: Vec<redis::Value> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|e| e.to_string())?;
        let allowed = matches!(answer.first(), Some(redis::Value::Int(1)));
        let levels = answer
            .iter()
            .skip(1)
            .map(|value| match value {
                redis::Value::BulkString(bytes) => std::str::from_utf8(bytes)
                    .ok()
                    .and_then(|text| text.parse::<f64>().ok())
                    .ok_or_else(|| "a bucket level that is not a number".to_owned()),
                other => Err(format!("unexpected answer from the script: {other:?}")),
            })
            .collect::<Result<Vec<f64>, String>>()?;
        if levels.len() != requests.len() {
            return Err("the script answered for another number of buckets".to_owned());
        }
        Ok((allowed, levels))
    }
}
