//! Feature `redis`: several server instances share a [`Hub`]'s topics,
//! ids and history through Redis.
//!
//! ```no_run
//! # async fn run() -> Result<(), sse_runtime::backplane::BackplaneError> {
//! let hub = sse_runtime::Hub::builder()
//!     .history(1_000)
//!     .redis("redis://127.0.0.1:6379")
//!     .build()
//!     .await?; // Redis unreachable: an error here, not later
//! # drop(hub); Ok(()) }
//! ```
//!
//! Everything else stays as with the in-memory hub (`publish`,
//! `subscribe(..).after(last)`, `sse-missed`, the [hub](crate::hub)'s
//! policies): routes do not change.
//!
//! ## Guarantees
//!
//! A publish on any instance reaches every subscriber on every instance
//! once, in per-topic order, with the same id everywhere; the id `publish`
//! returns means the event is stored in Redis. A browser that reconnects
//! to *another* instance with `Last-Event-ID` gets exactly what it missed
//! (no gap, no duplicate, even while publishes race with the replay), or
//! `sse-missed` when that is impossible. Ids stay `<epoch>-<seq>` with one
//! sequence per hub, so one id resumes a multi-topic subscription.
//!
//! ## When Redis fails
//!
//! | what happens | publishers see | subscribers see |
//! |---|---|---|
//! | Redis unreachable at start | [`RedisHub::build`] fails | — |
//! | Redis down or restarting | `publish` fails with `PublishError::Backplane` within the response timeout ([`RedisHub::timeout`]), nothing published; from a handler (`?`): `503` with `Retry-After: 5` and a generic body, the cause logged | stay connected, idle; the instance resubscribes with backoff (50 ms doubling up to 2 s) and catches up from the streams: no gap |
//! | Redis back **with** its data (AOF/RDB, or a replica that has it) | publishes succeed again | continue where they were |
//! | Redis back **without** its data (new epoch) | publishes succeed, ids of a new epoch | their streams end; on reconnect `sse-missed` with `"reason":"epoch"`, so the page reloads its state |
//! | pub/sub connection silently dead (a failover that did not close it) | — | the reader publishes a probe every [`RedisHub::probe_every`] (default 1 s) and reconnects if it did not come back before the next one: noticed within two periods, then as above; each probe also compares Redis's head with what was delivered |
//! | an instance stops, even killed | nothing `publish` returned an id for is lost: it is in Redis | its clients reconnect to another instance and resume |
//! | a new client while Redis is down | — | its stream ends at once; `EventSource` retries |
//!
//! ## Limits of this version
//!
//! * [`Hub::close`](crate::Hub::close) acts on this instance only.
//! * `stats`, `subscribers` and `topic_count` are this instance's.
//! * A topic's age limit (5 minutes unless set, see the hub's "History")
//!   becomes the time to live of its stream (kept for that long after the
//!   topic's last publish), and locally each copied event's age counts
//!   from when it was copied.
//!
//! ## How
//!
//! * **Publish** is one Lua script (sent once, then run by its hash): it
//!   `INCR`s the namespace's sequence (ids stay hub-wide, so one
//!   `Last-Event-ID` resumes a subscription to several topics), creates
//!   the epoch if missing, `XADD`s the event to the topic's stream with the
//!   explicit stream id `<seq>-0` (trimmed with `MAXLEN ~` to the topic's
//!   history count, and given a time to live), and `PUBLISH`es it, with its
//!   epoch and sequence number, on the namespace's channel. `publish`
//!   returns once the script ran: the event is in Redis and on its way to
//!   every instance. It is the only writer, so ids are identical
//!   everywhere.
//! * **Delivery:** each instance holds **one** pub/sub subscription, to
//!   the namespace's channel, whatever its number of topics and clients.
//!   Its reader task delivers each event into the local topic's ring (if
//!   anyone on this instance subscribes to it), sealed once; local fan-out
//!   is the in-memory hub's. Redis sends a channel's messages in the order
//!   the scripts ran, so the sequence numbers arrive in order and one
//!   counter detects a loss.
//! * **Gaps:** pub/sub is at-most-once. A number that jumps (or a head
//!   found ahead of what was delivered, after a reconnect or at each
//!   probe) makes the reader read the missing range from the held topics'
//!   streams (`XRANGE`) and deliver it before anything newer. A topic
//!   without history has nothing to read it from: its subscribers' streams
//!   end, and on their reconnect they are told what they missed.
//! * **Resume on any instance:** a subscription first has the instance
//!   copy its topics' history from Redis (up to the last event delivered
//!   here, while the reader holds further deliveries back) and then attaches
//!   like in memory: replay and live are one cursor, so there is no gap and
//!   no duplicate even while publishes race with it. A client whose id is
//!   ahead of this instance first makes it catch up to Redis's head.
//! * **Epoch:** a random value kept in Redis and created by whoever finds
//!   it missing. Redis losing its data (a restart without persistence, a
//!   failover to an empty replica) loses it too: the next script or the
//!   reader's next check sees a new epoch, every subscription on every
//!   instance ends, and its client, reconnecting with an id of the old
//!   epoch, gets `sse-missed` with reason `"epoch"`.
//!
//! ## Memory
//!
//! An instance holds a local copy of a topic only while one of its
//! subscriptions reads it (and a closed topic, within
//! `remember_closed`); it keeps no tombstones (Redis knows every topic's
//! last id). So its memory follows its own subscribers, and the hub's
//! bounds (see the hub's "Bounds") hold for the copies too: a copy the
//! instance has no room for is not made, and the subscription that asked
//! for it ends at once (its client retries), as when Redis is down. In
//! Redis, a topic's stream expires with its history's age; the `last` and
//! `floor` hashes keep one entry per topic ever published to.
//!
//! ## Keys, and sharding
//!
//! With namespace `ns` (default `"sse"`, [`RedisHub::namespace`]): `{ns}:seq`
//! (the sequence), `{ns}:epoch`, `{ns}:h:<topic>` (a topic's stream),
//! `{ns}:last` and `{ns}:floor` (hashes: per topic, its last id and the
//! last id before its stream was last created, so a client whose events
//! expired is told so), and the channel `{ns}:live`. The `{ns}` hash tag
//! puts one hub's keys and channel in one Redis Cluster slot, which the
//! hub-wide sequence needs anyway; a Cluster shards by namespace (one hub
//! per namespace), and the channel's name fits sharded pub/sub
//! (`SSUBSCRIBE`). Only single-node Redis (or a primary with replicas) is
//! built and tested.
//!
//! Use `maxmemory-policy noeviction` (the default): a key evicted under
//! memory pressure looks like lost data.
//!
//! ## Scale
//!
//! Per publish Redis runs one short script (about four writes and a
//! `PUBLISH`) and sends the message once to each instance; per delivered
//! event on an instance it does nothing, since fan-out to that instance's
//! clients is local. Measured (the repository's `BENCHMARKS.md`, "Redis
//! backplane"): some tens of microseconds of Redis CPU per publish with two
//! instances, so one Redis core carries on the order of 10⁴ publishes per
//! second, whatever the number of clients. The channel's traffic is
//! publishes × instances, so tens of instances per Redis are fine at
//! moderate event rates; every instance receives every event of its hub
//! (filtering to its own topics is a hash lookup), and Redis CPU grows
//! with the instance count, not with the clients. History costs
//! `history × event size` per topic in Redis, plus a hash entry per topic
//! ever published. Beyond one Redis, shard by namespace
//! ([`RedisHub::namespace`]): several hubs, each on its own node or slot,
//! e.g. chat on one and notifications on another.
//!
//! The demo (`cargo run -p sse-examples --release -- --redis URL`) runs on
//! a backplane; two demos on different ports then act as one.
//!
//! [`Hub`]: crate::Hub

mod reader;
pub(crate) mod redis;

use std::fmt;
use std::time::Duration;

use crate::hub::{Hub, HubBuilder};

/// The default namespace of a hub's keys in Redis.
pub const DEFAULT_NAMESPACE: &str = "sse";

/// A hub backed by Redis, being configured: made by [`HubBuilder::redis`].
#[derive(Debug, Clone)]
#[must_use = "the hub is only made by `.build().await`"]
pub struct RedisHub {
    pub(crate) builder: HubBuilder,
    pub(crate) url: String,
    pub(crate) namespace: String,
    pub(crate) probe_every: Duration,
    pub(crate) timeout: Duration,
    pub(crate) ttl: Duration,
}

impl RedisHub {
    pub(crate) fn new(builder: HubBuilder, url: String) -> Self {
        RedisHub {
            builder,
            url,
            namespace: DEFAULT_NAMESPACE.to_owned(),
            probe_every: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
            ttl: Duration::from_secs(24 * 3600),
        }
    }

    /// The prefix of the hub's keys (a hash tag: see the module docs):
    /// hubs with different namespaces share nothing.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How often the pub/sub connection is probed (see "Failures").
    pub fn probe_every(mut self, every: Duration) -> Self {
        self.probe_every = every.max(Duration::from_millis(10));
        self
    }

    /// How long a command (a publish) may take before it fails.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long a topic's stream is kept after its last publish, when the
    /// topic has no history age (opted out with `no_history_age`; with
    /// one, the age is used).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Connects to Redis, subscribes to the namespace's channel and
    /// returns the hub. Needs a tokio runtime, which must keep running
    /// (the hub's reader task lives on it).
    ///
    /// # Errors
    /// [`BackplaneError`] if the URL is invalid or Redis can't be reached.
    pub async fn build(self) -> Result<Hub, BackplaneError> {
        redis::build(self).await
    }
}

impl HubBuilder {
    /// Shares the hub through Redis at `url` (`redis://host:port/db`):
    /// see [`crate::backplane`]. Finish with
    /// [`.build().await`](RedisHub::build).
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(self, url: impl Into<String>) -> RedisHub {
        RedisHub::new(self, url.into())
    }
}

/// Redis failed: unreachable, refused the command, or did not answer in
/// time.
#[derive(Debug)]
pub struct BackplaneError(pub(crate) ::redis::RedisError);

impl fmt::Display for BackplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "redis backplane: {}", self.0)
    }
}

impl std::error::Error for BackplaneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<::redis::RedisError> for BackplaneError {
    fn from(err: ::redis::RedisError) -> Self {
        BackplaneError(err)
    }
}
