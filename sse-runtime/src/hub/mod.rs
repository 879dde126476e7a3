//! The hub: publish an event once to a topic, and every subscriber of the
//! topic receives it; a client that reconnects with `Last-Event-ID` gets
//! exactly what it missed; a slow client never holds up the others.
//!
//! ```no_run
//! use actix_web::{web, HttpResponse};
//! use sse_runtime::{controller, sse, Hub, HubError, LastEventId, Subscription};
//!
//! pub struct Chat {
//!     hub: Hub,
//! }
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Message {
//!     from: String,
//!     text: String,
//! }
//!
//! #[controller("chat")]
//! impl Chat {
//!     /// `GET /chat/{room}`: the room's messages, resumable.
//!     #[sse("{room}")]
//!     fn room(&self, room: web::Path<String>, last: LastEventId) -> Result<Subscription, HubError> {
//!         self.hub.subscribe([format!("chat/{room}")]).after(last).start()
//!     }
//!
//!     /// `POST /chat/{room}`: publishes a message, answers with its id
//!     /// (a failed publish answers what `PublishError` documents: `410`
//!     /// for a closed topic, `503` with `Retry-After` for a full hub or a
//!     /// backplane outage).
//!     #[post("{room}")]
//!     async fn post(
//!         &self,
//!         room: web::Path<String>,
//!         message: web::Json<Message>,
//!     ) -> actix_web::Result<HttpResponse> {
//!         let id = self.hub.publish(format!("chat/{room}"), &*message).await?;
//!         Ok(HttpResponse::Accepted().json(serde_json::json!({ "id": id.to_string() })))
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let hub = Hub::builder().history(1_000).build();
//!     actix_web::HttpServer::new(move || {
//!         actix_web::App::new().service(Chat { hub: hub.clone() })
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! A [`Hub`] is a handle (an `Arc`): clone it into every controller,
//! worker, task or thread. Its state lives in this process; with the cargo
//! feature `redis`, `Hub::builder().redis(url)` shares it between server
//! instances through Redis (the `backplane` module) without any other
//! change to the code above.
//!
//! ## Topics
//!
//! A topic is any string. Topics come into being when first subscribed to
//! (or published to, if they keep history) and are freed when nobody
//! subscribes and they hold no history, or earlier to stay within the
//! hub's bounds (see Bounds). One [`Subscription`] may read
//! several topics, say a user's own notifications and a room: each
//! topic's events arrive in the order they were published, and events of
//! different topics in the order of their ids. A message for everyone is a
//! topic everyone subscribes to, next to their own.
//!
//! [`publish`](Hub::publish) encodes the item once, into one shared
//! buffer that every subscriber's connection writes from; the publisher's
//! cost does not grow with the number of subscribers, except for waking
//! those that are waiting (one task wake-up each, outside any lock).
//!
//! ## Ids
//!
//! The hub gives every event an `id:` field, added as the event's last
//! field so it wins over an id the item set itself. An id
//! ([`EventId`]) is `<epoch>-<seq>`, e.g. `3f9a0c21-1042`:
//!
//! * `seq` grows by one with every publish *on the hub*, whatever the
//!   topic. One sequence for all topics is what lets a single
//!   `Last-Event-ID` resume a subscription to several topics: the browser
//!   remembers only the last id it saw, and "every event after it" is
//!   then well defined in each topic.
//! * `epoch` is random per start of the hub, so an id from before a
//!   restart is recognised as such rather than mistaken for a position.
//!
//! A subscription that starts at the live edge first sends an event with
//! only an `id` (browsers dispatch nothing for it but remember the id), so
//! a client that reconnects before it received anything still resumes
//! from where it started.
//!
//! ## Resume
//!
//! [`Subscribe::after`] with the client's [`LastEventId`](crate::LastEventId)
//! replays every event of each topic with an id after it from history,
//! then continues live: one mechanism (a cursor per topic), so there is no
//! gap and no duplicate, even while publishes race with the replay. If
//! that is impossible the client gets one [`MISSED_EVENT`] event
//! (`sse-missed`), and continues from the next event (or from the oldest
//! kept, with [`Subscribe::from_oldest`]). Its data is JSON:
//!
//! ```text
//! event: sse-missed
//! data: {"reason":"too-old","topics":["chat/lobby"]}
//! ```
//!
//! `reason` is `"too-old"` (events after the id are no longer in the
//! listed topics' history), `"epoch"` (the id is from another start of
//! the hub), `"unknown-id"` (not an id this hub gave out), or `"lagged"`
//! (see Lagging, with `"missed": n`). A page listens for it and reloads
//! its state:
//!
//! ```js
//! source.addEventListener("sse-missed", () => reloadEverything());
//! ```
//!
//! ## History
//!
//! Each topic keeps its most recent events for resuming clients, bounded
//! by count, bytes and age ([`HubBuilder::history`],
//! [`history_bytes`](HubBuilder::history_bytes),
//! [`history_age`](HubBuilder::history_age)), for the whole hub or per
//! topic prefix ([`HubBuilder::topics`]): a task's progress may keep all
//! of it, a ticker none. Without history (the default) a resuming client
//! is told about the events it missed, since none can be replayed.
//!
//! Every history has an age bound, 5 minutes unless set
//! ([`DEFAULT_HISTORY_AGE`]): history is there for clients that reconnect,
//! which `EventSource` does within seconds, and a bound on count and bytes
//! alone keeps the last events of every topic ever published to for as
//! long as the process lives (a chat room visited once keeps its
//! `user-joined` and `user-left` forever). A topic whose history must
//! outlive that opts out with
//! [`no_history_age`](TopicOptions::no_history_age), e.g. a task's
//! progress that is closed when done. Age limits are applied when a topic
//! is published to, and to every topic at most about a second late (by
//! whichever hub call comes next; a hub nobody calls has nothing to apply
//! them for).
//!
//! ## Bounds
//!
//! Whatever clients do, a hub holds at most
//! [`max_topics`](HubBuilder::max_topics) topics (default 65 536,
//! [`DEFAULT_MAX_TOPICS`]; topics the server closes come on top, within
//! their own bound) and about
//! [`max_total_bytes`](HubBuilder::max_total_bytes) of encoded events in
//! all of them together (default 64 MiB, [`DEFAULT_MAX_TOTAL_BYTES`]):
//!
//! * When a new topic would go past the topic bound, or a publish took the
//!   bytes past theirs, the hub frees the topics without subscribers that
//!   have been idle longest (no subscriber and no publish for the longest
//!   time) until it is within them again. Such a topic's last id is
//!   remembered like any freed topic's (see Failure modes): a client that
//!   resumes on it afterwards is told it missed events, `sse-missed` with
//!   reason `"too-old"`, never silently given nothing.
//! * Topics with subscribers are never freed nor trimmed for the bounds:
//!   their events stay within their own limits (history, and the queue
//!   window their subscribers read from). Closed topics are not either:
//!   they have their own bound ([`HubBuilder::remember_closed`]).
//! * If every topic has subscribers or is closed, a new topic is refused:
//!   [`Subscribe::start`] fails with [`HubError::Full`] and a publish that
//!   would keep history in a new topic with [`PublishError::Full`]; both
//!   answer `503 Service Unavailable` with a `Retry-After` as the error of
//!   a route. Existing topics go on as before. The hub logs a warning
//!   (at most one every ten seconds) naming the bound to raise.
//! * Bytes past their bound with no idle topic left to free refuse
//!   nothing: they are held by subscribed topics, which turning clients
//!   away would not shrink. Topics that become idle then keep no history
//!   until the hub is back within the bound. The worst case is thus the
//!   topic bound times a subscribed topic's own limits, and the byte bound
//!   caps what is kept for nobody.
//!
//! So memory stays bounded with the default settings: a client visiting a
//! million topic names leaves the hub at its bounds, and topics left
//! behind age out. [`Hub::totals`] tells how close a hub is (topics,
//! bytes, topics freed early and refused). The bytes are the events'
//! encoded size (what they occupy is somewhat more); a topic costs some
//! hundreds of bytes besides its events and name: a demo chat room
//! holding its `user-joined` and `user-left` takes about 0.9 KB in all
//! (`tests/hub_bounds.rs` measures it), so 65 536 such rooms are some
//! 60 MB.
//!
//! ## Lagging
//!
//! Every subscriber has a queue bound ([`HubBuilder::queue`], in events,
//! and [`queue_bytes`](HubBuilder::queue_bytes)): how far it may fall
//! behind the newest event of a topic, counting the events published since
//! it subscribed (a replay from history is a backlog the client asked for;
//! falling behind the live flow during it does count). Nothing is queued
//! per subscriber:
//! the topic keeps the newest events, as many as the larger of its history
//! and that bound, and each subscriber only holds a position in it. A
//! subscriber found further behind is a *laggard*, and its topic's
//! [`Overflow`] policy applies:
//!
//! * [`Overflow::Disconnect`] (the default with history): its stream ends.
//!   Its `EventSource` reconnects with its last id and resumes from
//!   history: with enough history nothing is lost, and otherwise it gets
//!   `sse-missed`.
//! * [`Overflow::Skip`] (the default without history): it jumps to the
//!   newest event and first receives `sse-missed` with reason `"lagged"`
//!   and `"missed"`, the number of events skipped. This event has no id.
//!
//! The check runs when the subscriber's connection asks for more: a
//! publisher never waits for, nor works for, a slow subscriber, and memory
//! stays bounded by the topics' rings whatever the number of stalled
//! subscribers (each also holds at most one batch of 64 events it already
//! took, and its connection's socket buffers). A connection that stops
//! reading entirely is only noticed when it reads again or goes away;
//! until then it costs its position and that one batch.
//!
//! ## Closing
//!
//! [`Hub::close`] finishes a topic, e.g. a task's progress once the task is
//! done: further publishes fail with [`PublishError::Closed`], each
//! subscriber still receives what was published before the close, and then
//! its subscription ends (a subscription to several topics ends when all
//! of them are closed). A client that reconnects afterwards (its
//! `EventSource` does, after any ending stream) gets what it had not yet
//! received, if anything, and otherwise [`HubError::Closed`]: as the error
//! of an `#[sse]` route that is `204 No Content`, which makes
//! `EventSource` stop reconnecting for good. The hub remembers closed
//! topics for a bounded time and number
//! ([`HubBuilder::remember_closed`], by default 10 minutes and 1 024
//! topics); after that the name is free again.
//!
//! ## Presence
//!
//! [`Hub::subscribers`] counts the subscriptions reading a topic now.
//! [`Subscribe::announce`] publishes a [`USER_JOINED`] event to the
//! subscription's topics when it starts and [`USER_LEFT`] when it ends,
//! which is when the client disconnects (the stream is dropped, like
//! [`CleanUp`](crate::CleanUp) runs). They are ordinary events: they have
//! ids, stay in history and are replayed. A reconnect shows as a leave
//! followed by a join.
//!
//! ## Access
//!
//! Who may subscribe to what is up to the route, with ordinary actix-web
//! extractors and a `Result`: an error before the subscription starts is a
//! normal HTTP answer (`401`, `403`), nothing is streamed.
//!
//! ```no_run
//! use actix_web::{error, web};
//! use sse_runtime::{controller, sse, Hub, LastEventId, Subscription};
//!
//! pub struct Notifications { hub: Hub }
//!
//! #[derive(serde::Deserialize)]
//! struct Token { token: String }
//!
//! fn user_of(token: &str) -> Option<String> {
//!     token.strip_prefix("secret-").map(str::to_owned)
//! }
//!
//! #[controller("me")]
//! impl Notifications {
//!     /// `GET /me/notifications?token=…`: the caller's own topic only.
//!     #[sse("notifications")]
//!     fn mine(&self, auth: web::Query<Token>, last: LastEventId) -> actix_web::Result<Subscription> {
//!         let user = user_of(&auth.token).ok_or_else(|| error::ErrorUnauthorized("bad token"))?;
//!         Ok(self.hub.subscribe([format!("user/{user}"), "everyone".to_owned()]).after(last).start()?)
//!     }
//! }
//! ```
//!
//! ## Publishing from anywhere
//!
//! [`Hub::publish`] is `async` because a backplane needs a round trip to
//! assign an id and must be able to report failure to the caller. The
//! in-memory hub completes it on its first poll, never waiting.
//! [`Hub::publish_blocking`] is the same for code outside async (plain
//! threads): immediate in memory; with a backplane it waits for the round
//! trip, so like tokio's `blocking_send` it is not for async code. Code
//! that runs in async but can't wait (a `Drop`, a callback) uses
//! [`Hub::publish_detached`]: it publishes at once in memory, and finishes
//! a backplane's round trip in the background, logging a failure.
//!
//! ## Failure modes
//!
//! * An item that can't be encoded: `publish` returns
//!   [`PublishError::Event`]; nothing is published.
//! * A publish to a closed topic: [`PublishError::Closed`].
//! * A hub at its bounds: [`HubError::Full`], [`PublishError::Full`] (see
//!   Bounds).
//! * An id the hub cannot resume from: `sse-missed`, never an error
//!   response and never silent loss. The hub remembers the last id of
//!   the 65 536 most recently freed topics (a few megabytes whatever the
//!   names' length: it keeps a keyed hash of each name); a client resuming
//!   on a topic forgotten beyond that may be told it missed events when
//!   it did not.
//! * A garbage `Last-Event-ID` (too long, not text): treated as absent
//!   (see [`LastEventId`](crate::LastEventId)).
//! * A stalled client: see Lagging.
//! * A restart: the in-memory history is gone; resuming clients get
//!   `sse-missed` with reason `"epoch"`.
//!
//! Both error types are actix-web `ResponseError`s: `?` on them in a
//! handler that returns `actix_web::Result` is the way to answer a client
//! (as in the example at the top), and gives
//!
//! | error | answer |
//! |---|---|
//! | [`HubError::Closed`] | `204 No Content`, which makes `EventSource` stop reconnecting |
//! | [`HubError::Full`], [`PublishError::Full`] | `503 Service Unavailable`, `Retry-After: 5` |
//! | `PublishError::Backplane` (feature `redis`) | `503 Service Unavailable`, `Retry-After: 5` |
//! | [`PublishError::Closed`] | `410 Gone` |
//! | [`HubError::NoTopics`], [`HubError::Event`], [`PublishError::Event`] | `500 Internal Server Error` |
//!
//! with a fixed one-line body: an error's text (topic names, the Redis
//! address, OS errors) is logged through `tracing`, never sent. Note that
//! `EventSource` gives up for good on any status but `200` (and `204` is
//! how to tell it so on purpose): a route that would rather have browsers
//! come back after a `503` can answer them itself.

pub(crate) mod backplane;
mod error;
pub(crate) mod options;
pub(crate) mod registry;
mod subscription;
mod topic;
mod waiters;
pub(crate) mod wire;

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

pub use error::{HubError, PublishError};
pub use options::{
    HubBuilder, Overflow, TopicOptions, DEFAULT_CLOSED_FOR, DEFAULT_CLOSED_TOPICS,
    DEFAULT_HISTORY_AGE, DEFAULT_HISTORY_BYTES, DEFAULT_MAX_TOPICS, DEFAULT_MAX_TOTAL_BYTES,
    DEFAULT_QUEUE, DEFAULT_QUEUE_BYTES,
};
pub use subscription::{Subscribe, Subscription};

use crate::item::IntoEvent;
use crate::resume::{self, EventId};
use backplane::Engine;
use options::Options;
use registry::Registry;
use wire::Body;

/// The event type that tells a client it missed events (see "Resume" and
/// "Lagging" above).
pub const MISSED_EVENT: &str = "sse-missed";

/// The event type [`Subscribe::announce`] publishes when a subscription
/// starts.
pub const USER_JOINED: &str = "user-joined";

/// The event type [`Subscribe::announce`] publishes when a subscription
/// ends.
pub const USER_LEFT: &str = "user-left";

/// Publish/subscribe by topic, with resumable ids, history and a policy
/// for slow subscribers. See the [module docs](self).
///
/// Cheap to clone (an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) options: Options,
    pub(crate) engine: Engine,
    pub(crate) registry: Mutex<Registry>,
}

/// A topic's figures at one moment, from [`Hub::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicStats {
    /// Subscriptions reading the topic.
    pub subscribers: usize,
    /// Events held (history, or what subscribers may still need).
    pub events: usize,
    /// Their encoded size in bytes.
    pub bytes: usize,
    /// Whether the topic is closed.
    pub closed: bool,
}

/// The whole hub's figures at one moment, from [`Hub::totals`]: how close
/// it is to its bounds (see the module docs, "Bounds").
///
/// With a backplane these are this instance's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubStats {
    /// Topics held: with subscribers or history, and closed ones still
    /// remembered ([`Hub::topic_count`]).
    pub topics: usize,
    /// The encoded size of every event the topics hold, in bytes.
    pub bytes: usize,
    /// Freed topics whose last id is remembered, so that a client resuming
    /// on one is told whether it missed events (at most 65 536).
    pub remembered: usize,
    /// Topics freed before their time to stay within the bounds, since the
    /// hub was built.
    pub evicted: u64,
    /// New topics refused at the bounds, since the hub was built.
    pub refused: u64,
}

impl Hub {
    /// A hub with the default settings (no history): see [`HubBuilder`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Configures a hub.
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }

    pub(crate) fn from_options(options: Options) -> Self {
        let registry = Registry::new(Instant::now(), resume::new_epoch(), 0, false);
        Self::with_engine(options, Engine::Memory, registry)
    }

    pub(crate) fn with_engine(options: Options, engine: Engine, registry: Registry) -> Self {
        Hub {
            inner: Arc::new(Inner {
                options,
                engine,
                registry: Mutex::new(registry),
            }),
        }
    }

    #[cfg(feature = "redis")]
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// Publishes `item` to `topic`: encoded once, given the next id, and
    /// delivered to every subscriber of the topic (and kept in its
    /// history). Returns the id.
    ///
    /// The in-memory hub completes on the first poll; from code that is
    /// not async, use [`publish_blocking`](Self::publish_blocking).
    ///
    /// With a backplane, the returned id means the backplane has the event
    /// (in the topic's history, and sent to every instance).
    ///
    /// # Errors
    /// [`PublishError::Event`] if `item` can't be encoded,
    /// [`PublishError::Closed`] if the topic is closed,
    /// [`PublishError::Full`] if the topic is new, keeps history, and the
    /// hub is at its bounds (see the module docs, "Bounds"),
    /// `PublishError::Backplane` (feature `redis`) if the backplane could
    /// not take it: nothing was published. As the error of a handler each
    /// answers what [`PublishError`] documents (`?` does it).
    pub async fn publish(
        &self,
        topic: impl AsRef<str>,
        item: impl IntoEvent,
    ) -> Result<EventId, PublishError> {
        let body = Body::encode(item)?;
        match &self.inner.engine {
            Engine::Memory => self.publish_body(topic.as_ref(), body),
            #[cfg(feature = "redis")]
            Engine::Redis(redis) => redis
                .publish(&self.inner.options, topic.as_ref(), body)
                .await
                .map_err(PublishError::Backplane),
        }
    }

    /// [`publish`](Self::publish) for code that is not async, e.g. a plain
    /// thread. Immediate for the in-memory hub. With a backplane it waits
    /// for the round trip on the runtime the hub was built on, which must
    /// keep running; like tokio's `blocking_send`, it panics if called
    /// from async code.
    ///
    /// ```
    /// let hub = sse_runtime::Hub::new();
    /// let worker = {
    ///     let hub = hub.clone();
    ///     std::thread::spawn(move || hub.publish_blocking("progress/1", "50%"))
    /// };
    /// assert_eq!(worker.join().unwrap().unwrap().seq(), 1);
    /// ```
    ///
    /// # Errors
    /// As for [`publish`](Self::publish).
    pub fn publish_blocking(
        &self,
        topic: impl AsRef<str>,
        item: impl IntoEvent,
    ) -> Result<EventId, PublishError> {
        match &self.inner.engine {
            Engine::Memory => {
                let body = Body::encode(item)?;
                self.publish_body(topic.as_ref(), body)
            }
            #[cfg(feature = "redis")]
            Engine::Redis(redis) => redis.runtime().block_on(self.publish(topic, item)),
        }
    }

    /// Publishes in memory.
    pub(crate) fn publish_body(&self, topic: &str, body: Body) -> Result<EventId, PublishError> {
        let inner = &*self.inner;
        Engine::publish_local(&inner.registry, &inner.options, topic, body)
    }

    /// [`publish`](Self::publish) without waiting, for code that can't: a
    /// `Drop`, or a callback that is not async but runs in async code,
    /// where [`publish_blocking`](Self::publish_blocking) would panic. The
    /// in-memory hub publishes at once; a backplane's publish is finished
    /// on the runtime the hub was built on. The outcome is not returned: a
    /// closed topic is skipped, and a backplane failure is logged.
    ///
    /// ```
    /// let hub = sse_runtime::Hub::new();
    /// hub.publish_detached("room", "someone left")?;
    /// assert_eq!(hub.last_id().seq(), 1);
    /// # Ok::<_, sse_runtime::EventError>(())
    /// ```
    ///
    /// # Errors
    /// [`EventError`](crate::EventError) if `item` can't be encoded:
    /// nothing was published.
    pub fn publish_detached(
        &self,
        topic: impl AsRef<str>,
        item: impl IntoEvent,
    ) -> Result<(), crate::EventError> {
        self.publish_body_detached(topic.as_ref(), Body::encode(item)?);
        Ok(())
    }

    /// Publishes `body` whatever the engine, without waiting for a
    /// backplane (see [`publish_detached`](Self::publish_detached)); also
    /// how subscriptions announce their presence.
    pub(crate) fn publish_body_detached(&self, topic: &str, body: Body) {
        match &self.inner.engine {
            Engine::Memory => {
                // A closed topic just gets nothing.
                let _ = self.publish_body(topic, body);
            }
            #[cfg(feature = "redis")]
            Engine::Redis(redis) => {
                let hub = self.clone();
                let topic = topic.to_owned();
                redis.runtime().spawn(async move {
                    if let Engine::Redis(redis) = &hub.inner.engine
                        && let Err(err) = redis.publish(&hub.inner.options, &topic, body).await
                    {
                        tracing::warn!(topic, %err, "hub event not published");
                    }
                });
            }
        }
    }

    /// Sets up a subscription to `topics` (one or more): chain
    /// [`after`](Subscribe::after), [`from_oldest`](Subscribe::from_oldest)
    /// or [`announce`](Subscribe::announce), then
    /// [`start`](Subscribe::start) it.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sse_runtime::{Hub, LastEventId};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = Hub::new();
    /// let mut sub = hub.subscribe(["news"]).after(LastEventId::NONE).start()?;
    /// let start = sub.next().await.unwrap(); // `id: …` only: where this client starts
    /// assert_eq!(start.as_ref(), format!("id: {}\n\n", hub.last_id()).as_bytes());
    /// let id = hub.publish("news", "hello").await?;
    /// let event = sub.next().await.unwrap();
    /// assert_eq!(event.as_ref(), format!("data: hello\nid: {id}\n\n").as_bytes());
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn subscribe<I>(&self, topics: I) -> Subscribe
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let topics = topics.into_iter().map(|t| t.as_ref().to_owned()).collect();
        Subscribe::new(self.clone(), topics)
    }

    /// Closes `topic`: see the module docs, "Closing". Returns `false` if
    /// it was already closed.
    pub fn close(&self, topic: impl AsRef<str>) -> bool {
        let inner = &*self.inner;
        let now = Instant::now();
        let (closed, wake) = {
            let mut registry = inner.registry.lock();
            registry.sweep_if_due(&inner.options, now);
            registry.close(topic.as_ref(), &inner.options, now)
        };
        for waker in wake {
            waker.wake();
        }
        closed
    }

    /// How many subscriptions read `topic` now.
    pub fn subscribers(&self, topic: impl AsRef<str>) -> usize {
        self.stats(topic).map_or(0, |s| s.subscribers)
    }

    /// `topic`'s figures, or `None` if the hub holds nothing for it.
    pub fn stats(&self, topic: impl AsRef<str>) -> Option<TopicStats> {
        let registry = self.inner.registry.lock();
        let ring = registry.get(topic.as_ref())?.ring.lock();
        Some(TopicStats {
            subscribers: ring.subscribers,
            events: ring.len(),
            bytes: ring.bytes(),
            closed: ring.closed.is_some(),
        })
    }

    /// How many topics the hub holds: those with subscribers or history,
    /// and closed ones it still remembers.
    pub fn topic_count(&self) -> usize {
        self.inner.registry.lock().topic_count()
    }

    /// The whole hub's figures: topics and bytes held against the bounds,
    /// and how often the bounds had to act.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = sse_runtime::Hub::builder().history(10).max_topics(2).build();
    /// for room in ["a", "b", "c"] {
    ///     hub.publish(room, "hello").await?;
    /// }
    /// let totals = hub.totals();
    /// assert_eq!((totals.topics, totals.evicted), (2, 1), "`a` made room for `c`");
    /// # Ok::<_, sse_runtime::hub::PublishError>(())
    /// # }).unwrap();
    /// ```
    pub fn totals(&self) -> HubStats {
        let totals = self.inner.registry.lock().totals();
        HubStats {
            topics: totals.topics,
            bytes: totals.bytes,
            remembered: totals.remembered,
            evicted: totals.evicted,
            refused: totals.refused,
        }
    }

    /// The id of the latest publish (sequence 0 before the first).
    pub fn last_id(&self) -> EventId {
        let registry = self.inner.registry.lock();
        EventId::new(registry.epoch, registry.seq)
    }

    /// Whether topics are copies of a backplane's, held only while
    /// subscribed.
    pub(crate) fn is_mirror(&self) -> bool {
        !matches!(self.inner.engine, Engine::Memory)
    }

    /// Has a backplane copy `topics` here, after delivering every event
    /// up to `at_least` if it exists; answers `false` if the backplane
    /// failed. Immediate in memory.
    pub(crate) fn prime(
        &self,
        topics: &[String],
        at_least: u64,
    ) -> tokio::sync::oneshot::Receiver<bool> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        match &self.inner.engine {
            Engine::Memory => {
                let _ = tx.send(true);
            }
            #[cfg(feature = "redis")]
            Engine::Redis(redis) => redis.prime(topics.to_vec(), at_least, tx),
        }
        let _ = (topics, at_least);
        rx
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("last_id", &self.last_id())
            .field("topics", &self.topic_count())
            .finish_non_exhaustive()
    }
}
