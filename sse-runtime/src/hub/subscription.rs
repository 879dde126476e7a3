//! [`Subscribe`] (where a subscription starts) and [`Subscription`] (the
//! stream of a client's events).
//!
//! A subscription is one cursor per topic into the topics' rings. Replay
//! and live delivery are the same loop: take what lies between the cursors
//! and the rings' heads, in sequence order across topics.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use parking_lot::MutexGuard;
use serde::Serialize;
use smallvec::SmallVec;
use tokio::time::Instant;

use super::error::HubError;
use super::options::Overflow;
use super::registry::Full;
use super::topic::{Ring, Topic};
use super::waiters::{Relay, Slot};
use super::wire::{self, Body};
use super::{Hub, USER_JOINED, USER_LEFT};
use crate::event::{EncodedEvent, EventError};
use crate::metrics;
use crate::resume::{EventId, LastEventId};

/// Most events taken from the rings per refill: bounds what a stalled
/// subscriber holds on to besides its cursors, while one refill still
/// fills a large write.
const BATCH: usize = 64;

/// Topics a subscription locks without allocating (more still work).
const INLINE_TOPICS: usize = 4;

/// A subscription being set up: which topics, where to start, whether to
/// announce it. [`start`](Subscribe::start) makes it a [`Subscription`].
///
/// Made by [`Hub::subscribe`].
#[must_use = "a subscription only starts with `.start()`"]
pub struct Subscribe {
    hub: Hub,
    topics: Vec<String>,
    from_oldest: bool,
    last: LastEventId,
    presence: Option<Result<Presence, EventError>>,
}

#[derive(Clone)]
struct Presence {
    joined: Body,
    left: Body,
}

impl Subscribe {
    pub(crate) fn new(hub: Hub, topics: Vec<String>) -> Self {
        Subscribe {
            hub,
            topics,
            from_oldest: false,
            last: LastEventId::NONE,
            presence: None,
        }
    }

    /// Resume after `last`, the id of the last event the client saw: every
    /// event after it in each topic is replayed from history, then live
    /// events follow. Without an id this changes nothing. See the module
    /// docs, "Resume", for what a client whose id cannot be resumed gets.
    pub fn after(mut self, last: LastEventId) -> Self {
        self.last = last;
        self
    }

    /// Start from the oldest event the history keeps instead of from the
    /// next event, when there is no id to resume from (or the id cannot
    /// be resumed): a client then sees a topic's whole history, e.g. a
    /// task's progress so far.
    pub fn from_oldest(mut self) -> Self {
        self.from_oldest = true;
        self
    }

    /// Publish a `user-joined` event with `who` as its data to the
    /// subscription's topics when it starts, and `user-left` when it ends
    /// (when the client disconnects). `who` is encoded like any published
    /// item: text as is, other values as JSON.
    pub fn announce(mut self, who: impl Serialize) -> Self {
        let presence = Body::named(USER_JOINED, &who).and_then(|joined| {
            Ok(Presence {
                joined,
                left: Body::named(USER_LEFT, &who)?,
            })
        });
        self.presence = Some(presence);
        self
    }

    /// Starts the subscription.
    ///
    /// # Errors
    /// [`HubError::Closed`] (`204 No Content` as an HTTP answer) if every
    /// topic is closed and holds nothing more for this client;
    /// [`HubError::Full`] (`503 Service Unavailable`) if a topic is new
    /// and the hub holds as many topics as it may, none of them idle (see
    /// the module docs, "Bounds"); [`HubError::NoTopics`] for an empty topic
    /// list; [`HubError::Event`] if the value given to
    /// [`announce`](Self::announce) can't be encoded.
    ///
    /// With a backplane the topics are copied once the stream is first
    /// polled, so `start` does not fail for `Full`: the stream ends at
    /// once instead, and its client retries.
    pub fn start(self) -> Result<Subscription, HubError> {
        let Subscribe {
            hub,
            mut topics,
            from_oldest,
            last,
            presence,
        } = self;
        if topics.is_empty() {
            return Err(HubError::NoTopics);
        }
        topics.sort_unstable();
        topics.dedup();
        let presence = presence.transpose().map_err(HubError::Event)?;
        let resume = Resume::from(&last);
        let mut subscription = Subscription {
            hub,
            topics: Vec::new(),
            cursors: Vec::new(),
            batch: VecDeque::new(),
            ended: false,
            left: None,
            starting: None,
            begun: false,
            waiting: None,
        };
        let starting = Starting {
            names: topics,
            from_oldest,
            resume,
            presence,
            primed: None,
            attempts: 0,
        };
        if subscription.hub.is_mirror() {
            // The topics' history is in the backplane: the stream first
            // has it copied here (see `Starting`), then attaches.
            subscription.starting = Some(Box::new(starting));
        } else {
            let start = attach(&subscription.hub, &starting)?.ok_or(HubError::NoTopics)?;
            subscription.begin(start, starting.presence);
        }
        Ok(subscription)
    }
}

impl fmt::Debug for Subscribe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscribe")
            .field("topics", &self.topics)
            .field("from_oldest", &self.from_oldest)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

/// What the client's last event id says.
#[derive(Debug, Clone, Copy)]
enum Resume {
    Fresh,
    After(EventId),
    /// Present, but not an id a hub gave out.
    Unknown,
}

impl From<&LastEventId> for Resume {
    fn from(last: &LastEventId) -> Self {
        match last.as_str() {
            None => Resume::Fresh,
            Some(text) => text.parse().map_or(Resume::Unknown, Resume::After),
        }
    }
}

/// A subscription waiting for a backplane to copy its topics here.
struct Starting {
    names: Vec<String>,
    from_oldest: bool,
    resume: Resume,
    presence: Option<Presence>,
    /// Answered once the topics are held here (`false`: the backplane
    /// failed).
    primed: Option<tokio::sync::oneshot::Receiver<bool>>,
    attempts: u32,
}

/// How often a starting subscription asks for its topics again when they
/// were freed between the copy and the attach (another subscriber left).
const START_ATTEMPTS: u32 = 8;

impl Starting {
    /// Drives the copy, then attaches. `Ready(None)`: the stream ends.
    fn poll(&mut self, hub: &Hub, cx: &mut Context<'_>) -> Poll<Option<Start>> {
        loop {
            let primed = self.primed.get_or_insert_with(|| {
                let at_least = match self.resume {
                    Resume::After(id) => id.seq(),
                    _ => 0,
                };
                hub.prime(&self.names, at_least)
            });
            match Pin::new(primed).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(_) => {
                    tracing::debug!(topics = ?self.names, "hub backplane unavailable (or this instance full); ending the stream");
                    return Poll::Ready(None);
                }
            }
            self.primed = None;
            match attach(hub, self) {
                Ok(Some(start)) => return Poll::Ready(Some(start)),
                Ok(None) if self.attempts < START_ATTEMPTS => self.attempts += 1,
                Ok(None) => return Poll::Ready(None),
                // The only error left here is every topic being closed.
                Err(_) => return Poll::Ready(None),
            }
        }
    }
}

struct Start {
    topics: Vec<Arc<Topic>>,
    cursors: Vec<Cursor>,
    notice: Option<EncodedEvent>,
}

/// Positions the cursors, under the registry lock so that no publish
/// runs meanwhile: the starting point is exact. `None`: a mirror does not
/// hold one of the topics (any more); copy them again.
fn attach(hub: &Hub, starting: &Starting) -> Result<Option<Start>, HubError> {
    let Starting {
        names,
        from_oldest,
        resume,
        ..
    } = starting;
    let (from_oldest, resume) = (*from_oldest, *resume);
    let inner = &hub.inner;
    let now = Instant::now();
    let mut registry = inner.registry.lock();
    registry.sweep_if_due(&inner.options, now);
    if hub.is_mirror() && names.iter().any(|name| registry.get(name).is_none()) {
        return Ok(None);
    }
    let head = EventId::new(registry.epoch, registry.seq);
    let everywhere = match resume {
        Resume::After(last) if last.epoch() != head.epoch() => Some("epoch"),
        Resume::After(last) if last.seq() > head.seq() => Some("unknown-id"),
        Resume::Unknown => Some("unknown-id"),
        _ => None,
    };
    let mut reset = Vec::new();
    let mut kept: Vec<Arc<Topic>> = Vec::with_capacity(names.len());
    let mut cursors = Vec::with_capacity(names.len());
    let mut all_live = true;
    // One topic at a time, each counted as subscribed before the next is
    // looked up: making room for a new topic frees idle ones, and must not
    // free one this subscription already took.
    for name in names {
        let topic = match registry.for_subscriber(name, &inner.options, now) {
            Ok(topic) => topic,
            Err(Full) => {
                // Give back what was taken: the hub is as before.
                for topic in &kept {
                    let mut ring = topic.ring.lock();
                    ring.subscribers -= 1;
                    registry.release(topic, &mut ring, now);
                }
                return Err(HubError::Full {
                    topic: name.clone(),
                });
            }
        };
        let mut ring = topic.ring.lock();
        let fallback = if from_oldest {
            ring.history_start(now)
        } else {
            ring.next()
        };
        let position = match (everywhere, resume) {
            (None, Resume::After(last)) => ring.position_after(last.seq()).ok(),
            (None, _) => Some(fallback),
            (Some(_), _) => None,
        };
        let position = position.unwrap_or_else(|| {
            reset.push(name.as_str());
            fallback
        });
        all_live &= position == ring.next();
        if ring.closed.is_some() && position == ring.next() {
            continue;
        }
        ring.subscribers += 1;
        cursors.push(Cursor {
            at: position,
            live_from: ring.next(),
            slot: Slot::default(),
            seen: 0,
        });
        drop(ring);
        kept.push(topic);
    }
    if cursors.is_empty() && reset.is_empty() {
        return Err(HubError::Closed {
            topic: names[0].clone(),
        });
    }
    // The id on a notice or marker claims "every event up to here is
    // behind you": true only when every cursor starts at the live edge.
    let marker = all_live.then_some(head);
    let notice = if reset.is_empty() {
        marker
            .filter(|head| !matches!(resume, Resume::After(last) if last == *head))
            .map(wire::position)
    } else {
        Some(wire::missed(
            everywhere.unwrap_or("too-old"),
            &reset,
            None,
            marker,
        ))
    };
    Ok(Some(Start {
        topics: kept,
        cursors,
        notice,
    }))
}

/// A client's events from one or more hub topics: a
/// `Stream<Item = EncodedEvent>`, ready to be returned from an `#[sse]`
/// method.
///
/// Events of one topic come in publish order; events of several topics in
/// hub id order. The stream ends when every topic is closed and drained,
/// or when the subscriber lags under [`Overflow::Disconnect`]. Dropping it
/// ends the subscription (and publishes `user-left` if it was announced).
pub struct Subscription {
    hub: Hub,
    /// Sorted by name: the order their locks are taken in.
    topics: Vec<Arc<Topic>>,
    /// The subscription's place in each topic, by index.
    cursors: Vec<Cursor>,
    batch: VecDeque<EncodedEvent>,
    ended: bool,
    left: Option<Body>,
    /// Not attached yet (a mirror copying the topics' history). Boxed: an
    /// idle subscription should not carry it.
    starting: Option<Box<Starting>>,
    /// Attached and counted in the hub's metrics (a mirror's subscription
    /// that ended while starting never was).
    begun: bool,
    /// The waker registered with every topic, when it was (see
    /// [`Subscription::unchanged`]).
    waiting: Option<Waker>,
}

/// A subscription's place in one topic.
struct Cursor {
    /// The position of the next event to read.
    at: u64,
    /// The topic's head when the subscription started: what came before
    /// is replay, which does not count towards lagging.
    live_from: u64,
    /// Where its waker sits while it waits for the topic.
    slot: Slot,
    /// The topic's waiter generation it last registered in.
    seen: u64,
}

impl Subscription {
    /// Takes the cursors of `start` and announces the subscription.
    fn begin(&mut self, start: Start, presence: Option<Presence>) {
        self.topics = start.topics;
        self.cursors = start.cursors;
        self.batch.extend(start.notice);
        self.begun = true;
        metrics::hub::subscribed();
        if let Some(presence) = presence {
            for topic in &self.topics {
                self.hub
                    .publish_body_detached(&topic.name, presence.joined.clone());
            }
            self.left = Some(presence.left);
        }
    }

    /// The topics this subscription still reads (closed topics drop out
    /// once drained).
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| &*t.name)
    }

    /// Moves what is ready into the batch. Returns `false` when nothing
    /// is, after registering `waker` with every topic.
    fn refill(&mut self, waker: &Waker) -> bool {
        let Subscription {
            topics,
            cursors,
            batch,
            ended,
            waiting,
            ..
        } = self;
        // All at once, in name order: a consistent cut of the topics (see
        // `registry`'s docs, "Synchronisation").
        let mut rings: SmallVec<[MutexGuard<'_, Ring>; INLINE_TOPICS]> =
            topics.iter().map(|t| t.ring.lock()).collect();

        // Subscribers of this thread that a publish left for us to wake
        // (see `waiters`): woken once the locks are released.
        let mut relay: SmallVec<[Relay; INLINE_TOPICS]> = SmallVec::new();
        for (cursor, ring) in cursors.iter().zip(rings.iter_mut()) {
            let wakers = ring.relay(&cursor.slot);
            if !wakers.is_empty() {
                relay.push(wakers);
            }
        }
        let (more, registered) = fill(topics, cursors, &mut rings, batch, ended, waker);
        drop(rings);
        match (waiting, registered) {
            (Some(known), true) => known.clone_from(waker),
            (waiting, true) => *waiting = Some(waker.clone()),
            (waiting, false) => *waiting = None,
        }
        relay.into_iter().for_each(Relay::wake);
        // Closed topics that this subscription has read to the end.
        let mut i = 0;
        while i < cursors.len() {
            if cursors[i].at == u64::MAX {
                topics.remove(i);
                cursors.remove(i);
            } else {
                i += 1;
            }
        }
        if topics.is_empty() {
            *ended = true;
        }
        more || *ended
    }
}

/// The part of [`Subscription::refill`] done under the topics' locks.
/// Marks the cursors of closed topics read to the end with `u64::MAX`.
/// Returns whether events were taken, and whether `waker` is registered
/// with every topic left: it is when nothing was ready.
///
/// Registering as soon as every cursor is at its topic's head, even with
/// events taken, would save the lock of the poll after them, but measured
/// worse: at high fan-out on one thread, subscribers registered while they
/// still hand out events get woken while they run and polled twice, and
/// the backplane bench's p99 doubled.
fn fill(
    topics: &[Arc<Topic>],
    cursors: &mut [Cursor],
    rings: &mut [MutexGuard<'_, Ring>],
    batch: &mut VecDeque<EncodedEvent>,
    ended: &mut bool,
    waker: &Waker,
) -> (bool, bool) {
    if rings.iter().any(|ring| ring.reset) {
        tracing::debug!("hub topic reset by its backplane; ending the stream");
        *ended = true;
        batch.push_back(EncodedEvent::resume());
        return (true, false);
    }
    let mut lagged = Vec::new();
    let mut missed = 0;
    for (i, (cursor, ring)) in cursors.iter_mut().zip(rings.iter()).enumerate() {
        if let Some(behind) = ring.lag(cursor.at, cursor.live_from) {
            match ring.limits.overflow {
                Overflow::Disconnect => {
                    tracing::debug!(
                        topic = &*topics[i].name,
                        behind,
                        "hub subscriber lagging; ending its stream"
                    );
                    *ended = true;
                    batch.push_back(EncodedEvent::resume());
                    metrics::hub::dropped();
                    return (true, false);
                }
                Overflow::Skip => {
                    cursor.at = ring.next();
                    lagged.push(&*topics[i].name);
                    missed += behind;
                }
            }
        }
    }
    if !lagged.is_empty() {
        metrics::hub::lagged(missed);
        batch.push_back(wire::missed("lagged", &lagged, Some(missed), None));
    }

    while batch.len() < BATCH {
        let mut next: Option<(usize, u64, &EncodedEvent)> = None;
        for (i, ring) in rings.iter().enumerate() {
            if let Some((seq, event)) = ring.get(cursors[i].at)
                && next.is_none_or(|(_, best, _)| seq < best)
            {
                next = Some((i, seq, event));
            }
        }
        let Some((i, _, event)) = next else { break };
        batch.push_back(event.clone());
        cursors[i].at += 1;
    }

    let idle = batch.is_empty();
    for (cursor, ring) in cursors.iter_mut().zip(rings.iter_mut()) {
        if ring.closed.is_some() && cursor.at == ring.next() {
            ring.subscribers -= 1;
            // Its group's relay was taken above, under this same lock.
            let relay = ring.unregister(&mut cursor.slot);
            debug_assert!(relay.is_empty());
            relay.wake();
            cursor.at = u64::MAX;
        } else if idle {
            cursor.seen = ring.register(&mut cursor.slot, waker);
        }
    }
    if idle {
        // An idle subscription keeps no room for a batch: one allocation
        // per catch-up is cheap next to the events that need it.
        batch.shrink_to(0);
    }
    (!idle, idle)
}

impl Stream for Subscription {
    type Item = EncodedEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        let this = self.get_mut();
        if let Some(starting) = &mut this.starting {
            match starting.poll(&this.hub, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(start) => {
                    let starting = this.starting.take();
                    match start {
                        Some(start) => this.begin(start, starting.and_then(|s| s.presence)),
                        None => {
                            this.ended = true;
                            this.batch.push_back(EncodedEvent::resume());
                        }
                    }
                }
            }
        }
        loop {
            if let Some(event) = this.batch.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if this.unchanged(cx.waker()) {
                return Poll::Pending;
            }
            if !this.refill(cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

impl Subscription {
    /// Whether `waker` is registered with every topic and none has changed
    /// since: then there is nothing to read and the next change wakes it,
    /// and the poll can end without taking a lock. In a response this is
    /// the poll after actix has written a delivery (the body asks the
    /// driver again), so a delivery locks its topic twice, not three
    /// times.
    fn unchanged(&self, waker: &Waker) -> bool {
        self.waiting
            .as_ref()
            .is_some_and(|registered| registered.will_wake(waker))
            && self
                .topics
                .iter()
                .zip(&self.cursors)
                .all(|(topic, cursor)| topic.generation.get() == cursor.seen)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(left) = self.left.take() {
            for topic in &self.topics {
                self.hub.publish_body_detached(&topic.name, left.clone());
            }
        }
        self.detach();
        if self.begun {
            metrics::hub::unsubscribed();
        }
    }
}

impl Subscription {
    /// The subscription ends: it no longer counts, nor waits, and topics
    /// left with nothing worth keeping are freed.
    fn detach(&mut self) {
        if self.cursors.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut relay = Vec::with_capacity(self.cursors.len());
        {
            let mut registry = self.hub.inner.registry.lock();
            for (topic, cursor) in self.topics.iter().zip(&mut self.cursors) {
                let mut ring = topic.ring.lock();
                ring.subscribers -= 1;
                relay.push(ring.unregister(&mut cursor.slot));
                registry.release(topic, &mut ring, now);
            }
        }
        relay.into_iter().for_each(Relay::wake);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topics", &self.topics().collect::<Vec<_>>())
            .field("at", &self.cursors.iter().map(|c| c.at).collect::<Vec<_>>())
            .field("buffered", &self.batch.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
