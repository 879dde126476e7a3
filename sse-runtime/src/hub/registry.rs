//! The hub's shared state behind one lock: the sequence counter, the live
//! topics, what is remembered of freed and closed topics, and the sweep
//! that ages them out.
//!
//! Lock order: this lock, then a topic's lock; never the other way round
//! (a subscription reading its topics takes only their locks).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::options::Options;
use super::topic::{Ring, Topic};
use super::wire::Body;
use crate::resume::EventId;

/// How many freed topics keep their last sequence number (see
/// [`Tombstones`]).
pub(crate) const REMEMBERED_TOPICS: usize = 16_384;

/// How often age limits and closed-topic expiry are applied to topics
/// that nobody touches.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Registry {
    /// The last sequence number assigned (or delivered, for a backplane).
    pub(crate) seq: u64,
    topics: HashMap<Arc<str>, Arc<Topic>>,
    tombstones: Tombstones,
    /// Closed topics in the order they were closed, for the bounds on
    /// remembering them; entries whose topic was since forgotten are
    /// skipped.
    closed: VecDeque<(Arc<Topic>, Instant)>,
    next_sweep: Instant,
    next_subscriber: u64,
}

/// The topic is closed.
pub(crate) struct Closed;

/// What a publish found.
pub(crate) enum Target {
    /// The topic; append to it.
    Topic(Arc<Topic>),
    /// Nobody listens and the topic keeps no history: the event goes
    /// nowhere (its sequence number is still used up).
    Nowhere,
}

impl Registry {
    pub(crate) fn new(now: Instant) -> Self {
        Registry {
            seq: 0,
            topics: HashMap::new(),
            tombstones: Tombstones::default(),
            closed: VecDeque::new(),
            next_sweep: now + SWEEP_EVERY,
            next_subscriber: 0,
        }
    }

    pub(crate) fn topic_count(&self) -> usize {
        self.topics.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Topic>> {
        self.topics.get(name)
    }

    pub(crate) fn subscriber_id(&mut self) -> u64 {
        self.next_subscriber += 1;
        self.next_subscriber
    }

    /// The topic a subscription reads, created if need be.
    pub(crate) fn for_subscriber(&mut self, name: &str, options: &Options) -> Arc<Topic> {
        if let Some(topic) = self.topics.get(name) {
            return topic.clone();
        }
        self.create(name, options)
    }

    /// Where a publish to `name` goes.
    pub(crate) fn for_publish(&mut self, name: &str, options: &Options) -> Target {
        if let Some(topic) = self.topics.get(name) {
            Target::Topic(topic.clone())
        } else if options.limits(name).keeps_history() {
            Target::Topic(self.create(name, options))
        } else {
            Target::Nowhere
        }
    }

    fn create(&mut self, name: &str, options: &Options) -> Arc<Topic> {
        let name: Arc<str> = Arc::from(name);
        let evicted = self.tombstones.take(&name);
        let topic = Topic::new(name.clone(), options.limits(&name), evicted);
        self.topics.insert(name, topic.clone());
        topic
    }

    /// Delivers `body` under `id` (the backplane seam's step 2): seals it,
    /// appends it to the topic and returns the wakers to wake once the lock
    /// is released. `id` must come after every id delivered so far. `Err`
    /// if the topic is closed; then nothing changes.
    pub(crate) fn deliver(
        &mut self,
        target: Target,
        name: &str,
        id: EventId,
        body: Body,
        now: Instant,
    ) -> Result<Vec<Waker>, Closed> {
        debug_assert!(id.seq() > self.seq, "ids are delivered in order");
        let wake = match target {
            Target::Topic(topic) => {
                let mut ring = topic.ring.lock();
                if ring.closed.is_some() {
                    return Err(Closed);
                }
                ring.append(id.seq(), body.seal(id), now)
            }
            Target::Nowhere => {
                self.tombstones.record(name, id.seq());
                Vec::new()
            }
        };
        self.seq = id.seq();
        Ok(wake)
    }

    /// Marks `name` closed (creating it if unknown, so that later
    /// subscribers learn it is closed); returns whether it was open and
    /// the wakers of its subscribers.
    pub(crate) fn close(
        &mut self,
        name: &str,
        options: &Options,
        now: Instant,
    ) -> (bool, Vec<Waker>) {
        let topic = self.for_subscriber(name, options);
        let mut ring = topic.ring.lock();
        if ring.closed.is_some() {
            return (false, Vec::new());
        }
        ring.closed = Some(now);
        let wake = ring.take_waiters();
        drop(ring);
        self.closed.push_back((topic, now));
        while self.closed.len() > options.closed_topics {
            if let Some((topic, _)) = self.closed.pop_front() {
                self.forget(&topic);
            }
        }
        (true, wake)
    }

    /// A subscription left `topic` (its lock is held by the caller as
    /// `ring`): frees the topic if nothing in it is worth keeping.
    pub(crate) fn release(&mut self, topic: &Arc<Topic>, ring: &mut Ring, now: Instant) {
        if ring.subscribers > 0 {
            return;
        }
        ring.evict(now);
        if ring.closed.is_none() && ring.is_empty() {
            self.remove(topic, ring.last_seq());
        }
    }

    /// Drops a topic from the map, if it is still the one under that name,
    /// remembering its last sequence number.
    fn remove(&mut self, topic: &Arc<Topic>, last_seq: u64) {
        if self
            .topics
            .get(&topic.name)
            .is_some_and(|t| Arc::ptr_eq(t, topic))
        {
            self.topics.remove(&topic.name);
            self.tombstones.record(&topic.name, last_seq);
        }
    }

    fn forget(&mut self, topic: &Arc<Topic>) {
        let last_seq = topic.ring.lock().last_seq();
        self.remove(topic, last_seq);
    }

    /// Applies age limits and closed-topic expiry, at most once per
    /// [`SWEEP_EVERY`]; costs one pass over the topics.
    pub(crate) fn sweep_if_due(&mut self, options: &Options, now: Instant) {
        if now < self.next_sweep {
            return;
        }
        self.next_sweep = now + SWEEP_EVERY;
        while let Some((topic, closed_at)) = self.closed.front() {
            if now.saturating_duration_since(*closed_at) < options.closed_for {
                break;
            }
            let topic = topic.clone();
            self.closed.pop_front();
            self.forget(&topic);
        }
        let mut free = Vec::new();
        for topic in self.topics.values() {
            let mut ring = topic.ring.lock();
            if ring.limits.history_age.is_some() {
                ring.evict(now);
            }
            if ring.subscribers == 0 && ring.closed.is_none() && ring.is_empty() {
                free.push((topic.clone(), ring.last_seq()));
            }
        }
        for (topic, last_seq) in free {
            self.remove(&topic, last_seq);
        }
    }
}

/// The last sequence number of recently freed topics (and of topics
/// published to while nobody listened), so that a client resuming on such
/// a topic learns whether it missed events there.
///
/// Bounded: past [`REMEMBERED_TOPICS`] the oldest entry is dropped and its
/// number raises a floor that then stands for every topic not remembered
/// (a client resuming before the floor on such a topic is told it may have
/// missed events, never silently left without them).
#[derive(Default)]
struct Tombstones {
    last_seq: HashMap<Arc<str>, u64>,
    order: VecDeque<Arc<str>>,
    floor: u64,
}

impl Tombstones {
    fn record(&mut self, name: &str, seq: u64) {
        if let Some(last) = self.last_seq.get_mut(name) {
            *last = (*last).max(seq);
            return;
        }
        let name: Arc<str> = Arc::from(name);
        self.last_seq.insert(name.clone(), seq);
        self.order.push_back(name);
        if self.order.len() > REMEMBERED_TOPICS
            && let Some(oldest) = self.order.pop_front()
            && let Some(seq) = self.last_seq.remove(&oldest)
        {
            self.floor = self.floor.max(seq);
        }
    }

    /// The highest sequence number a new topic called `name` may have
    /// missed, forgetting the entry.
    fn take(&mut self, name: &str) -> u64 {
        match self.last_seq.remove(name) {
            Some(seq) => {
                // `order` keeps the name until it reaches the front and is
                // popped: `order` stays bounded, and a newer entry under
                // the same name is then forgotten early, which only raises
                // the floor (a spurious notice, never a silent loss).
                seq.max(self.floor)
            }
            None => self.floor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_remember_and_then_raise_the_floor() {
        let mut t = Tombstones::default();
        t.record("a", 5);
        t.record("a", 3);
        assert_eq!(t.take("a"), 5);
        assert_eq!(t.take("a"), 0);
        assert_eq!(t.take("never"), 0);
        for i in 0..=REMEMBERED_TOPICS as u64 {
            t.record(&format!("t{i}"), i + 10);
        }
        assert_eq!(t.floor, 10, "the oldest entry raised the floor");
        assert_eq!(t.take("never"), 10);
        assert_eq!(
            t.take(&format!("t{REMEMBERED_TOPICS}")),
            REMEMBERED_TOPICS as u64 + 10
        );
    }
}
