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
use tokio::time::Instant;

use super::error::HubError;
use super::options::Overflow;
use super::topic::{Ring, Topic};
use super::wire::{self, Body};
use super::{Hub, USER_JOINED, USER_LEFT};
use crate::event::{EncodedEvent, EventError};
use crate::resume::{EventId, LastEventId};

/// Most events taken from the rings per refill: bounds what a stalled
/// subscriber holds on to besides its cursors, while one refill still
/// fills a large write.
const BATCH: usize = 64;

/// Room an idle subscription keeps for its next batch.
const IDLE_BATCH: usize = 8;

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
    /// [`HubError::NoTopics`] for an empty topic list; [`HubError::Event`]
    /// if the value given to [`announce`](Self::announce) can't be encoded.
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
        let start = attach(&hub, &topics, from_oldest, resume)?;
        let mut batch = VecDeque::new();
        batch.extend(start.notice);
        let subscription = Subscription {
            hub,
            id: start.id,
            topics: start.topics,
            at: start.at,
            live_from: start.live_from,
            batch,
            ended: false,
            left: presence.as_ref().map(|p| p.left.clone()),
        };
        if let Some(presence) = presence {
            for topic in &subscription.topics {
                // A topic closed meanwhile just gets no announcement.
                let _ = subscription
                    .hub
                    .publish_body(&topic.name, presence.joined.clone());
            }
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

struct Start {
    id: u64,
    topics: Vec<Arc<Topic>>,
    at: Vec<u64>,
    live_from: Vec<u64>,
    notice: Option<EncodedEvent>,
}

/// Positions the cursors, under the registry lock so that no publish
/// runs meanwhile: the starting point is exact.
fn attach(
    hub: &Hub,
    names: &[String],
    from_oldest: bool,
    resume: Resume,
) -> Result<Start, HubError> {
    let inner = &hub.inner;
    let now = Instant::now();
    let mut registry = inner.registry.lock();
    registry.sweep_if_due(&inner.options, now);
    let head = EventId::new(inner.epoch, registry.seq);
    let everywhere = match resume {
        Resume::After(last) if last.epoch() != head.epoch() => Some("epoch"),
        Resume::After(last) if last.seq() > head.seq() => Some("unknown-id"),
        Resume::Unknown => Some("unknown-id"),
        _ => None,
    };
    let topics: Vec<Arc<Topic>> = names
        .iter()
        .map(|name| registry.for_subscriber(name, &inner.options))
        .collect();
    let mut reset = Vec::new();
    let mut kept = Vec::new();
    let mut at = Vec::new();
    let mut live_from = Vec::new();
    let mut all_live = true;
    for topic in &topics {
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
            reset.push(&*topic.name);
            fallback
        });
        all_live &= position == ring.next();
        if ring.closed.is_some() && position == ring.next() {
            continue;
        }
        ring.subscribers += 1;
        kept.push(topic.clone());
        at.push(position);
        live_from.push(ring.next());
    }
    if kept.is_empty() && reset.is_empty() {
        return Err(HubError::Closed {
            topic: names[0].clone(),
        });
    }
    let id = registry.subscriber_id();
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
    Ok(Start {
        id,
        topics: kept,
        at,
        live_from,
        notice,
    })
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
    id: u64,
    /// Sorted by name: the order their locks are taken in.
    topics: Vec<Arc<Topic>>,
    /// The cursor into each topic, by index.
    at: Vec<u64>,
    /// Each topic's head when the subscription started: what came before
    /// is replay, which does not count towards lagging.
    live_from: Vec<u64>,
    batch: VecDeque<EncodedEvent>,
    ended: bool,
    left: Option<Body>,
}

impl Subscription {
    /// The topics this subscription still reads (closed topics drop out
    /// once drained).
    pub fn topics(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| &*t.name)
    }

    /// Moves what is ready into the batch. Returns `false` when nothing
    /// is, after registering `waker` with every topic.
    fn refill(&mut self, waker: &Waker) -> bool {
        let Subscription {
            id,
            topics,
            at,
            live_from,
            batch,
            ended,
            ..
        } = self;
        // All at once, in name order: a consistent cut of the topics (see
        // the module docs, "Synchronisation").
        let mut rings: Vec<MutexGuard<'_, Ring>> = topics.iter().map(|t| t.ring.lock()).collect();

        let mut lagged = Vec::new();
        let mut missed = 0;
        for (i, ring) in rings.iter().enumerate() {
            if let Some(behind) = ring.lag(at[i], live_from[i]) {
                match ring.limits.overflow {
                    Overflow::Disconnect => {
                        tracing::debug!(
                            topic = &*topics[i].name,
                            behind,
                            "hub subscriber lagging; ending its stream"
                        );
                        *ended = true;
                        return true;
                    }
                    Overflow::Skip => {
                        at[i] = ring.next();
                        lagged.push(&*topics[i].name);
                        missed += behind;
                    }
                }
            }
        }
        if !lagged.is_empty() {
            batch.push_back(wire::missed("lagged", &lagged, Some(missed), None));
        }

        while batch.len() < BATCH {
            let mut next: Option<(usize, u64, &EncodedEvent)> = None;
            for (i, ring) in rings.iter().enumerate() {
                if let Some((seq, event)) = ring.get(at[i])
                    && next.is_none_or(|(_, best, _)| seq < best)
                {
                    next = Some((i, seq, event));
                }
            }
            let Some((i, _, event)) = next else { break };
            batch.push_back(event.clone());
            at[i] += 1;
        }

        let mut finished = Vec::new();
        for (i, ring) in rings.iter_mut().enumerate() {
            if ring.closed.is_some() && at[i] == ring.next() {
                ring.subscribers -= 1;
                ring.unregister(*id);
                finished.push(i);
            }
        }
        if batch.is_empty() {
            for (i, ring) in rings.iter_mut().enumerate() {
                if !finished.contains(&i) {
                    ring.register(*id, waker);
                }
            }
            // An idle subscription should not keep a burst's worth of room
            // (64 events are 2 KiB); one reallocation per catch-up is cheap
            // next to the 64 events that made it grow.
            if batch.capacity() > IDLE_BATCH {
                batch.shrink_to(IDLE_BATCH);
            }
        }
        drop(rings);
        for i in finished.into_iter().rev() {
            topics.remove(i);
            at.remove(i);
            live_from.remove(i);
        }
        if topics.is_empty() {
            *ended = true;
        }
        !batch.is_empty() || *ended
    }
}

impl Stream for Subscription {
    type Item = EncodedEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.batch.pop_front() {
                return Poll::Ready(Some(event));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            if !this.refill(cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(left) = self.left.take() {
            for topic in &self.topics {
                // A closed topic gets no announcement.
                let _ = self.hub.publish_body(&topic.name, left.clone());
            }
        }
        self.hub.detach(self.id, &self.topics);
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("topics", &self.topics().collect::<Vec<_>>())
            .field("at", &self.at)
            .field("buffered", &self.batch.len())
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
