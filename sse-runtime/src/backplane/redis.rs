//! The Redis engine: the connection for commands, the publish script, the
//! key layout, and the reads the pub/sub reader needs (head, ranges,
//! history).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::StreamRangeReply;
use redis::{Client, Script, Value};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{reader, BackplaneError, RedisHub};
use crate::hub::wire::Body;
use crate::hub::{options::Options, registry::Registry, Hub};
use crate::resume::{self, EventId};

/// INCR the sequence, make the epoch if missing, XADD to the topic's
/// stream (if it keeps history), remember the topic's last id, PUBLISH.
///
/// KEYS: seq, epoch, stream, last, floor. ARGV: topic, body, maxlen (0: no
/// stream), ttl seconds, an epoch to create if missing, the channel.
///
/// The maxlen goes to `XADD` as the text it came as: `tonumber` makes a
/// Lua double, which Redis would get as `9.2233720368547758e+18` for a
/// history above 2^53 (e.g. `usize::MAX`, "keep all") and reject.
const PUBLISH: &str = r"
local e = redis.call('GET', KEYS[2])
if not e then
  e = ARGV[5]
  redis.call('SET', KEYS[2], e)
end
local seq = redis.call('INCR', KEYS[1])
local maxlen = tonumber(ARGV[3])
if maxlen > 0 then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    redis.call('HSET', KEYS[5], ARGV[1], redis.call('HGET', KEYS[4], ARGV[1]) or 0)
  end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'b', ARGV[2])
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
end
redis.call('HSET', KEYS[4], ARGV[1], seq)
redis.call('PUBLISH', ARGV[6], e .. ':' .. seq .. ':' .. #ARGV[1] .. ':' .. ARGV[1] .. ARGV[2])
return {seq, e}
";

/// The epoch (made if missing) and the sequence's head. KEYS: seq, epoch.
/// ARGV: an epoch to create if missing.
const HEAD: &str = r"
local e = redis.call('GET', KEYS[2])
if not e then
  e = ARGV[1]
  redis.call('SET', KEYS[2], e)
end
return {e, tonumber(redis.call('GET', KEYS[1]) or '0')}
";

/// Where a hub's data lives in Redis (see the module docs, "Keys").
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    tag: String,
}

impl Keys {
    fn new(namespace: &str) -> Self {
        Keys {
            tag: format!("{{{namespace}}}"),
        }
    }
    fn seq(&self) -> String {
        format!("{}:seq", self.tag)
    }
    fn epoch(&self) -> String {
        format!("{}:epoch", self.tag)
    }
    fn stream(&self, topic: &str) -> String {
        format!("{}:h:{topic}", self.tag)
    }
    fn last(&self) -> String {
        format!("{}:last", self.tag)
    }
    fn floor(&self) -> String {
        format!("{}:floor", self.tag)
    }
    pub(crate) fn channel(&self) -> String {
        format!("{}:live", self.tag)
    }
}

/// A request to the reader: copy `topics` here, after catching up to
/// `at_least`.
pub(crate) struct Prime {
    pub(crate) topics: Vec<String>,
    pub(crate) at_least: u64,
    pub(crate) done: oneshot::Sender<bool>,
}

/// What the hub and the reader share.
pub(crate) struct Shared {
    pub(crate) client: Client,
    /// Replaced when the reader reconnects: a connection that silently
    /// stopped answering only times out, which the manager does not take
    /// as a reason to reconnect.
    conn: parking_lot::Mutex<ConnectionManager>,
    manager: ConnectionManagerConfig,
    pub(crate) keys: Keys,
    publish: Script,
    head: Script,
    ttl: Duration,
    pub(crate) probe_every: Duration,
    pub(crate) timeout: Duration,
}

/// The engine a Redis-backed hub holds.
pub(crate) struct Redis {
    shared: Arc<Shared>,
    requests: mpsc::UnboundedSender<Prime>,
    runtime: Handle,
}

pub(crate) async fn build(config: RedisHub) -> Result<Hub, BackplaneError> {
    let client = Client::open(config.url.as_str())?;
    let manager = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.timeout))
        .set_response_timeout(Some(config.timeout))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_secs(2));
    let conn = ConnectionManager::new_with_config(client.clone(), manager.clone()).await?;
    let shared = Arc::new(Shared {
        client,
        conn: parking_lot::Mutex::new(conn),
        manager,
        keys: Keys::new(&config.namespace),
        publish: Script::new(PUBLISH),
        head: Script::new(HEAD),
        ttl: config.ttl,
        probe_every: config.probe_every,
        timeout: config.timeout,
    });
    // Subscribed before reading the head: nothing published after the head
    // can be missed.
    let pubsub = reader::subscribe(&shared).await?;
    let (epoch, seq) = shared.head().await?;
    let (requests, rx) = mpsc::unbounded_channel();
    let runtime = Handle::current();
    let options = config.builder.into_options();
    let registry = Registry::new(Instant::now(), epoch, seq, true);
    let engine = crate::hub::backplane::Engine::Redis(Redis {
        shared: shared.clone(),
        requests,
        runtime,
    });
    let hub = Hub::with_engine(options, engine, registry);
    tokio::spawn(reader::run(Arc::downgrade(hub.inner()), shared, pubsub, rx));
    Ok(hub)
}

impl Redis {
    pub(crate) fn runtime(&self) -> &Handle {
        &self.runtime
    }

    pub(crate) async fn publish(
        &self,
        options: &Options,
        topic: &str,
        body: Body,
    ) -> Result<EventId, BackplaneError> {
        let shared = &*self.shared;
        let limits = options.limits(topic);
        let maxlen = u64::try_from(limits.history_events).unwrap_or(u64::MAX);
        let ttl = limits.history_age.unwrap_or(shared.ttl).as_secs().max(1);
        let keys = &shared.keys;
        let mut conn = shared.conn();
        let (seq, epoch): (u64, String) = shared
            .publish
            .key(keys.seq())
            .key(keys.epoch())
            .key(keys.stream(topic))
            .key(keys.last())
            .key(keys.floor())
            .arg(topic)
            .arg(body.as_bytes())
            .arg(maxlen.min(i64::MAX as u64))
            .arg(ttl)
            .arg(format!("{:x}", resume::new_epoch()))
            .arg(keys.channel())
            .invoke_async(&mut conn)
            .await?;
        Ok(EventId::new(parse_epoch(&epoch)?, seq))
    }

    pub(crate) fn prime(&self, topics: Vec<String>, at_least: u64, done: oneshot::Sender<bool>) {
        // The reader is gone only with the hub; the receiver then sees the
        // sender dropped, which ends the stream.
        let _ = self.requests.send(Prime {
            topics,
            at_least,
            done,
        });
    }
}

pub(crate) fn parse_epoch(text: &str) -> Result<u64, BackplaneError> {
    u64::from_str_radix(text, 16).map_err(|_| {
        BackplaneError(redis::RedisError::from((
            redis::ErrorKind::Parse,
            "epoch key holds no hex number",
            text.to_owned(),
        )))
    })
}

/// One event read back from a stream.
pub(crate) struct Stored {
    pub(crate) topic: Arc<str>,
    pub(crate) seq: u64,
    pub(crate) body: Body,
}

/// A topic's history as held in Redis.
pub(crate) struct History {
    /// Oldest first.
    pub(crate) events: Vec<(u64, Body)>,
    /// The highest number no longer held.
    pub(crate) evicted_seq: u64,
}

impl Shared {
    fn conn(&self) -> ConnectionManager {
        self.conn.lock().clone()
    }

    /// A fresh command connection in place of the current one.
    pub(crate) async fn renew(&self) -> Result<(), BackplaneError> {
        let conn =
            ConnectionManager::new_with_config(self.client.clone(), self.manager.clone()).await?;
        *self.conn.lock() = conn;
        Ok(())
    }

    /// The epoch (made if missing) and the last sequence number assigned.
    pub(crate) async fn head(&self) -> Result<(u64, u64), BackplaneError> {
        let (epoch, seq): (String, u64) = self
            .head
            .key(self.keys.seq())
            .key(self.keys.epoch())
            .arg(format!("{:x}", resume::new_epoch()))
            .invoke_async(&mut self.conn())
            .await?;
        Ok((parse_epoch(&epoch)?, seq))
    }

    /// The events of `topics` numbered after each one's own start and up
    /// to `to`, in sequence order.
    pub(crate) async fn range(
        &self,
        topics: &[(Arc<str>, u64)],
        to: u64,
    ) -> Result<Vec<Stored>, BackplaneError> {
        let wanted: Vec<&(Arc<str>, u64)> = topics.iter().filter(|(_, from)| *from < to).collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (topic, from) in &wanted {
            pipe.cmd("XRANGE")
                .arg(self.keys.stream(topic))
                .arg(format!("{}-0", from + 1))
                .arg(format!("{to}-0"));
        }
        let replies: Vec<StreamRangeReply> = pipe.query_async(&mut self.conn()).await?;
        let mut out = Vec::new();
        for ((topic, _), reply) in wanted.into_iter().zip(replies) {
            out.extend(decode(reply).into_iter().map(|(seq, body)| Stored {
                topic: topic.clone(),
                seq,
                body,
            }));
        }
        out.sort_by_key(|stored| stored.seq);
        Ok(out)
    }

    /// The newest `count` events of `topic` up to `to` (the last one this
    /// instance delivered), and what is known to be gone before them.
    pub(crate) async fn history(
        &self,
        topic: &str,
        count: usize,
        to: u64,
    ) -> Result<History, BackplaneError> {
        let keep = u64::try_from(count).unwrap_or(u64::MAX).min(1 << 40);
        let (reply, last, floor): (StreamRangeReply, Option<u64>, Option<u64>) = redis::pipe()
            .cmd("XREVRANGE")
            .arg(self.keys.stream(topic))
            .arg(format!("{to}-0"))
            .arg("-")
            .arg("COUNT")
            .arg(keep + 1)
            .cmd("HGET")
            .arg(self.keys.last())
            .arg(topic)
            .cmd("HGET")
            .arg(self.keys.floor())
            .arg(topic)
            .query_async(&mut self.conn())
            .await?;
        let mut events = decode(reply);
        events.reverse();
        let mut evicted_seq = floor.unwrap_or(0);
        if events.len() as u64 > keep {
            // One more than the bound came back: the oldest stands for
            // everything trimmed.
            let (seq, _) = events.remove(0);
            evicted_seq = evicted_seq.max(seq);
        } else if events.is_empty() {
            // No stream (expired, or the topic keeps none): everything up to
            // the topic's last id is gone; past `to` it is not delivered
            // here yet, so only up to `to` counts.
            evicted_seq = evicted_seq.max(last.unwrap_or(0).min(to));
        }
        Ok(History {
            events,
            evicted_seq,
        })
    }

    /// The last id of each of `topics` (for those without a stream).
    pub(crate) async fn last_ids(&self, topics: &[Arc<str>]) -> Result<Vec<u64>, BackplaneError> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(self.keys.last());
        for topic in topics {
            cmd.arg(&**topic);
        }
        let ids: Vec<Option<u64>> = cmd.query_async(&mut self.conn()).await?;
        Ok(ids.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Publishes a probe message on the channel.
    pub(crate) async fn probe(&self, nonce: u64) -> Result<(), BackplaneError> {
        let _: Value = redis::cmd("PUBLISH")
            .arg(self.keys.channel())
            .arg(format!("p:{nonce}"))
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }
}

/// A stream reply's events, skipping entries not written by the script.
fn decode(reply: StreamRangeReply) -> Vec<(u64, Body)> {
    reply
        .ids
        .into_iter()
        .filter_map(|entry| {
            let seq = entry.id.strip_suffix("-0")?.parse().ok()?;
            match entry.map.get("b")? {
                Value::BulkString(bytes) => Some((seq, Body::from_wire(bytes))),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_one_hash_tag() {
        let keys = Keys::new("app");
        assert_eq!(keys.seq(), "{app}:seq");
        assert_eq!(keys.stream("chat/lobby"), "{app}:h:chat/lobby");
        assert_eq!(keys.channel(), "{app}:live");
    }

    #[test]
    fn epochs_parse_as_hex() {
        assert_eq!(parse_epoch("ff").unwrap(), 255);
        assert!(parse_epoch("zz").is_err());
    }
}
