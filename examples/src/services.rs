//! The fake back-end services the guides' samples talk to: `eventService`,
//! `resourceService`, `liveUpdateService`, `feedService` and
//! `notificationService`.
//!
//! They are small but real: subscriptions are counted, so the [`Stats`]
//! (served by the demo at `/stats`) show whether every connection cleaned up
//! after itself. The three that broadcast (live updates, the feed, per-user
//! notifications) publish on the shared [`Hub`] instead of hand-rolled
//! channels, so their subscribers get event ids, resume after a reconnect
//! and the hub's slow-consumer policy.
//!
//! [`Services::with_hub`] puts them on any hub, e.g. one shared through
//! Redis ([`rooms::redis_hub`]): then what they publish reaches every
//! instance, while their counters ([`Stats`]) stay this process's.

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use async_stream::stream;
use futures_util::stream::{Stream, StreamExt};
use serde::Serialize;
use tokio::task::JoinHandle;

use sse_runtime::hub::{HubError, PublishError};
use sse_runtime::{event_name, hub, EncodedEvent, Event, EventId, Hub, LastEventId};

use crate::clock;
use crate::pace::Pace;
use crate::rooms::{self, Members};

/// A count of things currently alive (open streams, running timers, ...).
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicUsize>);

impl Gauge {
    /// The current count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Counts one more until the returned guard is dropped.
    pub fn enter(&self) -> GaugeGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        GaugeGuard(self.clone())
    }
}

/// Holds one unit of a [`Gauge`]; dropping it gives the unit back.
#[derive(Debug)]
pub struct GaugeGuard(Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        (self.0).0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What the upstream event source fails with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// The upstream connection dropped.
    ConnectionLost,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::ConnectionLost => f.write_str("connection to the event source lost"),
        }
    }
}

impl std::error::Error for ServiceError {}

/// The guides' `eventService`: an upstream source of text events that may
/// fail.
///
/// Every [`stream`](Self::stream) is one connection to the upstream. It
/// yields `"Event 1"`, `"Event 2"`, ... one per (paced) second, and, when
/// the service is configured to fail after `n` events, a
/// [`ServiceError::ConnectionLost`] after the `n`-th event, which ends it.
#[derive(Debug, Clone)]
pub struct EventService {
    pace: Pace,
    fail_after: Option<u32>,
    streams: Gauge,
    listeners: Gauge,
}

impl EventService {
    /// A service whose connections fail after `fail_after` events (never
    /// for `None`).
    pub fn new(pace: Pace, fail_after: Option<u32>) -> Self {
        EventService {
            pace,
            fail_after,
            streams: Gauge::default(),
            listeners: Gauge::default(),
        }
    }

    /// Opens a connection to the upstream: Dart's `eventService.stream`.
    pub fn stream(&self) -> impl Stream<Item = Result<String, ServiceError>> + Send + use<> {
        let open = self.streams.enter();
        let pace = self.pace;
        let fail_after = self.fail_after;
        stream! {
            let _open = open;
            for n in 1u32.. {
                pace.sleep(Duration::from_secs(1)).await;
                if fail_after.is_some_and(|limit| n > limit) {
                    yield Err(ServiceError::ConnectionLost);
                    break;
                }
                yield Ok(format!("Event {n}"));
            }
        }
    }

    /// Calls `on_event` for each event of a new upstream connection, in a
    /// background task: Dart's `eventService.stream.listen(...)`.
    ///
    /// The task runs until the upstream ends or the subscription is
    /// [cancelled](Subscription::cancel). Dropping the [`Subscription`]
    /// does *not* stop it (like Dart's `StreamSubscription`, and like
    /// dropping a tokio `JoinHandle`): forgetting to cancel is a leak, which
    /// [`Stats::listeners`] makes visible.
    pub fn listen<F>(&self, mut on_event: F) -> Subscription
    where
        F: FnMut(Result<String, ServiceError>) + Send + 'static,
    {
        let listening = self.listeners.enter();
        let events = self.stream();
        let task = tokio::spawn(async move {
            let _listening = listening;
            let mut events = std::pin::pin!(events);
            while let Some(event) = events.next().await {
                on_event(event);
            }
        });
        Subscription { task }
    }

    /// Upstream connections currently open.
    pub fn open_streams(&self) -> usize {
        self.streams.get()
    }

    /// Listeners currently running.
    pub fn listeners(&self) -> usize {
        self.listeners.get()
    }
}

/// A running [`EventService::listen`] callback.
#[derive(Debug)]
pub struct Subscription {
    task: JoinHandle<()>,
}

impl Subscription {
    /// Stops the listener: Dart's `subscription.cancel()`.
    pub fn cancel(self) {
        self.task.abort();
    }
}

/// The guides' `resourceService`: something expensive held per connection
/// that must be disposed of when the connection ends.
#[derive(Debug, Clone, Default)]
pub struct ResourceService {
    in_use: Arc<AtomicUsize>,
    disposed: Arc<AtomicUsize>,
}

impl ResourceService {
    /// Opens a resource; it stays counted as in use until
    /// [`dispose`](Resource::dispose) is called.
    pub fn open(&self, name: &'static str) -> Resource {
        self.in_use.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(resource = name, "resource opened");
        Resource {
            name,
            service: Some(self.clone()),
        }
    }

    /// Resources opened and not yet disposed of.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::SeqCst)
    }

    /// Resources disposed of so far.
    pub fn disposed(&self) -> usize {
        self.disposed.load(Ordering::SeqCst)
    }
}

/// One resource from [`ResourceService::open`].
#[derive(Debug)]
pub struct Resource {
    name: &'static str,
    service: Option<ResourceService>,
}

impl Resource {
    /// Releases the resource: Dart's `resourceService.dispose()`.
    pub fn dispose(mut self) {
        if let Some(service) = self.service.take() {
            service.in_use.fetch_sub(1, Ordering::SeqCst);
            service.disposed.fetch_add(1, Ordering::SeqCst);
            tracing::info!(resource = self.name, "resource disposed");
        }
    }
}

impl Drop for Resource {
    fn drop(&mut self) {
        if self.service.is_some() {
            tracing::warn!(
                resource = self.name,
                "resource dropped without dispose(): leaked"
            );
        }
    }
}

/// The hub topic of [`LiveUpdateService`].
pub const LIVE_TOPIC: &str = "live";

/// The hub topic of [`FeedService`].
pub const FEED_TOPIC: &str = "feed";

/// The hub topic of `user`'s notifications ([`NotificationService`]).
pub fn user_topic(user: &str) -> String {
    format!("user/{user}")
}

/// The guides' `liveUpdateService`: one shared stream of updates that never
/// ends, published on the hub's [`LIVE_TOPIC`] (no history: a subscriber
/// too slow to keep up skips ahead and is told how many it missed).
#[derive(Debug, Clone)]
pub struct LiveUpdateService {
    hub: Hub,
    published: Arc<AtomicU64>,
}

impl LiveUpdateService {
    /// The service on `hub`.
    pub fn new(hub: Hub) -> Self {
        LiveUpdateService {
            hub,
            published: Arc::default(),
        }
    }

    /// Sends `update` to every current subscriber; returns how many (of
    /// this process, with a backplane).
    pub async fn publish(&self, update: impl Into<String>) -> usize {
        self.published.fetch_add(1, Ordering::SeqCst);
        let reached = self.hub.subscribers(LIVE_TOPIC);
        match self.hub.publish(LIVE_TOPIC, update.into()).await {
            Ok(_) => reached,
            Err(err) => {
                tracing::warn!(%err, "live update not published");
                0
            }
        }
    }

    /// Publishes `"Live update #n"` every (paced) second, forever.
    pub(crate) fn tick(&self, pace: Pace) -> impl std::future::Future<Output = ()> + Send + use<> {
        let service = self.clone();
        async move {
            let mut ticks = tokio::time::interval(pace.of(Duration::from_secs(1)));
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let n = service.published.load(Ordering::SeqCst) + 1;
                service.publish(format!("Live update #{n}")).await;
            }
        }
    }

    /// Every update published from now on; never ends by itself.
    ///
    /// # Errors
    /// [`HubError::Full`] if the hub is at its bounds and has no room for
    /// the topic (`503` as a route's error).
    pub fn stream(&self) -> Result<hub::Subscription, HubError> {
        self.hub.subscribe([LIVE_TOPIC]).start()
    }

    /// Current subscribers.
    pub fn subscribers(&self) -> usize {
        self.hub.subscribers(LIVE_TOPIC)
    }
}

/// One item of the live feed: Dart's `update` with `id`, `type` and
/// `toJson()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedUpdate {
    /// The update's number in the feed. The event's `id:` is the hub's,
    /// which a reconnecting client resumes from.
    pub id: String,
    /// Sent as the event type: `post`, `like` or `comment`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who did it.
    pub author: String,
    /// What it says.
    pub text: String,
}

/// The guides' `feedService`: a live feed of posts, likes and comments on
/// the hub's [`FEED_TOPIC`], whose history lets a client that reconnects
/// with `Last-Event-ID` get what it missed.
#[derive(Debug, Clone)]
pub struct FeedService {
    hub: Hub,
    next_id: Arc<AtomicU64>,
}

impl FeedService {
    /// The service on `hub`.
    pub fn new(hub: Hub) -> Self {
        FeedService {
            hub,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Publishes an update with the next number, its type as the event
    /// type; returns the update and the event's id.
    ///
    /// # Errors
    /// If `kind` is not a valid event type, or the hub's backplane failed.
    pub async fn publish(
        &self,
        kind: &str,
        author: &str,
        text: &str,
    ) -> Result<(FeedUpdate, EventId), PublishError> {
        let update = FeedUpdate {
            id: self.next_id.fetch_add(1, Ordering::SeqCst).to_string(),
            kind: kind.to_owned(),
            author: author.to_owned(),
            text: text.to_owned(),
        };
        let event = Event::default().event(&update.kind)?.json(&update)?;
        let id = self.hub.publish(FEED_TOPIC, event).await?;
        Ok((update, id))
    }

    /// Publishes a canned post, like or comment every two (paced) seconds.
    pub(crate) fn tick(&self, pace: Pace) -> impl std::future::Future<Output = ()> + Send + use<> {
        const SCRIPT: [(&str, &str, &str); 3] = [
            ("post", "ada", "Server-Sent Events are just HTTP"),
            ("like", "grace", "liked a post by ada"),
            ("comment", "linus", "No WebSocket needed!"),
        ];
        let service = self.clone();
        async move {
            let mut ticks = tokio::time::interval(pace.of(Duration::from_secs(2)));
            ticks.tick().await;
            for (kind, author, text) in SCRIPT.iter().cycle() {
                ticks.tick().await;
                if let Err(err) = service.publish(kind, author, text).await {
                    tracing::warn!(%err, "feed update not published");
                }
            }
        }
    }

    /// Every update after `last` (from the feed's history), then live:
    /// Dart's `feedService.stream`, resumable.
    ///
    /// # Errors
    /// [`HubError::Full`] if the hub is at its bounds and has no room for
    /// the topic (`503` as a route's error).
    pub fn stream(&self, last: LastEventId) -> Result<hub::Subscription, HubError> {
        self.hub.subscribe([FEED_TOPIC]).after(last).start()
    }

    /// Current subscribers.
    pub fn subscribers(&self) -> usize {
        self.hub.subscribers(FEED_TOPIC)
    }
}

/// A notification for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Unique per service.
    pub id: u64,
    /// The sender.
    pub from: String,
    /// The text.
    pub message: String,
    /// When it was sent, as ISO-8601.
    #[serde(serialize_with = "clock::serialize")]
    pub timestamp: SystemTime,
}

/// The guides' `notificationService`: per-user `notification` events, each
/// user's on their own hub topic ([`user_topic`]).
///
/// Notifications for a user with no connection are dropped; those sent
/// while a connection is briefly away are kept (the topic's history) and
/// replayed when it resumes with `Last-Event-ID`.
#[derive(Debug, Clone)]
pub struct NotificationService {
    hub: Hub,
    users: Arc<Mutex<HashMap<String, usize>>>,
    next_id: Arc<AtomicU64>,
    subscribers: Gauge,
}

impl NotificationService {
    /// The service on `hub`.
    pub fn new(hub: Hub) -> Self {
        NotificationService {
            hub,
            users: Arc::default(),
            next_id: Arc::default(),
            subscribers: Gauge::default(),
        }
    }

    /// Every notification for `user` after `last`, then live: Dart's
    /// `notificationService.streamForUser(userId)`, resumable.
    ///
    /// # Errors
    /// [`HubError::Full`] if the hub is at its bounds and has no room for
    /// the user's topic (`503` as a route's error).
    pub fn stream_for_user(&self, user: &str, last: LastEventId) -> Result<UserStream, HubError> {
        let subscription = self.hub.subscribe([user_topic(user)]).after(last).start()?;
        *self.lock().entry(user.to_owned()).or_default() += 1;
        Ok(UserStream {
            subscription,
            _user: UserGuard {
                service: self.clone(),
                user: user.to_owned(),
            },
            _counted: self.subscribers.enter(),
        })
    }

    /// Sends a `notification` event to every connection of `user`;
    /// returns how many connections it reached.
    ///
    /// With a backplane this counts, and looks for, the user's
    /// connections on this instance only: a user connected to another
    /// instance alone is not notified.
    ///
    /// # Errors
    /// If the notification can't be encoded (it always can), or the hub's
    /// backplane failed.
    pub async fn notify(
        &self,
        user: &str,
        from: &str,
        message: &str,
    ) -> Result<usize, PublishError> {
        let topic = user_topic(user);
        let reached = self.hub.subscribers(&topic);
        if reached == 0 {
            return Ok(0);
        }
        let notification = Notification {
            id: self.next_id.fetch_add(1, Ordering::SeqCst) + 1,
            from: from.to_owned(),
            message: message.to_owned(),
            timestamp: SystemTime::now(),
        };
        let event = Event::named(event_name!("notification")).json(&notification)?;
        self.hub.publish(&topic, event).await?;
        Ok(reached)
    }

    /// Connections currently subscribed, all users together.
    pub fn subscribers(&self) -> usize {
        self.subscribers.get()
    }

    /// Users with at least one subscribed connection.
    pub fn users(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, usize>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection's notifications ([`NotificationService::stream_for_user`]):
/// the hub subscription, counted while it is open.
pub struct UserStream {
    subscription: hub::Subscription,
    _user: UserGuard,
    _counted: GaugeGuard,
}

impl Stream for UserStream {
    type Item = EncodedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        Pin::new(&mut self.subscription).poll_next(cx)
    }
}

/// Counts a user as connected until dropped.
struct UserGuard {
    service: NotificationService,
    user: String,
}

impl Drop for UserGuard {
    fn drop(&mut self) {
        let mut users = self.service.lock();
        if let Some(count) = users.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                users.remove(&self.user);
            }
        }
    }
}

/// Every fake service the examples use, shared by all workers of a server.
#[derive(Debug, Clone)]
pub struct Services {
    /// `eventService`.
    pub events: EventService,
    /// `resourceService`.
    pub resources: ResourceService,
    /// `liveUpdateService`.
    pub live: LiveUpdateService,
    /// `feedService`.
    pub feed: FeedService,
    /// `notificationService`.
    pub notifications: NotificationService,
    /// Live counters (`/aim/counter`, `/aim/sink/counter`) whose timer is
    /// running.
    pub counters: Gauge,
    /// The hub every broadcast goes through: live updates, the feed,
    /// notifications, and the rooms, tasks and ticker of [`crate::rooms`].
    pub hub: Hub,
    /// Who is in which chat room.
    pub members: Members,
}

impl Services {
    /// Fresh services on a fresh in-memory [`rooms::demo_hub`]; the event
    /// service fails after `fail_after` events.
    pub fn new(pace: Pace, fail_after: Option<u32>) -> Self {
        Self::with_hub(pace, fail_after, rooms::demo_hub())
    }

    /// Fresh services on `hub`, e.g. [`rooms::redis_hub`] to share it with
    /// other instances; the event service fails after `fail_after` events.
    pub fn with_hub(pace: Pace, fail_after: Option<u32>, hub: Hub) -> Self {
        Services {
            events: EventService::new(pace, fail_after),
            resources: ResourceService::default(),
            live: LiveUpdateService::new(hub.clone()),
            feed: FeedService::new(hub.clone()),
            notifications: NotificationService::new(hub.clone()),
            counters: Gauge::default(),
            hub,
            members: Members::default(),
        }
    }

    /// A snapshot of what is currently open.
    pub fn stats(&self) -> Stats {
        Stats {
            upstream_streams: self.events.open_streams(),
            listeners: self.events.listeners(),
            resources_in_use: self.resources.in_use(),
            resources_disposed: self.resources.disposed(),
            live_subscribers: self.live.subscribers(),
            counters_running: self.counters.get(),
            feed_subscribers: self.feed.subscribers(),
            notification_subscribers: self.notifications.subscribers(),
            notification_users: self.notifications.users(),
        }
    }
}

/// What is open right now. With no client connected, everything but
/// `resources_disposed` is back to zero, or something leaked.
///
/// Always this process's figures: with the hub shared through Redis,
/// each instance counts its own connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Upstream connections of the event service.
    pub upstream_streams: usize,
    /// Event service listeners running (`/events/proper-cleanup`).
    pub listeners: usize,
    /// Resources opened and not disposed of.
    pub resources_in_use: usize,
    /// Resources disposed of since start-up.
    pub resources_disposed: usize,
    /// Subscribers of the live update service (`/events/live`).
    pub live_subscribers: usize,
    /// Live counter timers running (`/aim/counter`, `/aim/sink/counter`).
    pub counters_running: usize,
    /// Subscribers of the feed (`/aim/feed`, `/aim/sink/feed`).
    pub feed_subscribers: usize,
    /// Notification connections (`/aim/notifications/{user}`).
    pub notification_subscribers: usize,
    /// Users with a notification channel.
    pub notification_users: usize,
}

impl Stats {
    /// Whether nothing is open (disposals since start-up do not count).
    pub fn is_idle(&self) -> bool {
        Stats {
            resources_disposed: 0,
            ..*self
        } == Stats::default()
    }
}
