//! The hub's shared state behind one lock: the sequence counter, the live
//! topics, what is remembered of freed and closed topics, and the sweep
//! that ages them out.
//!
//! Lock order: this lock, then a topic's lock; never the other way round
//! (a subscription reading its topics takes only their locks).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::options::Options;
use super::topic::{Ring, Topic};
use super::wire::Body;
use crate::metrics;
use crate::resume::EventId;

/// How many freed topics keep their last sequence number (see
/// [`Tombstones`]).
pub(crate) const REMEMBERED_TOPICS: usize = 65_536;

/// How often age limits and closed-topic expiry are applied to topics
/// that nobody touches.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

pub(crate) struct Registry {
    /// The epoch of the ids: random per start of an in-memory hub; a
    /// backplane's, which changes when the backplane lost its data.
    pub(crate) epoch: u64,
    /// The last sequence number assigned (or delivered, for a backplane).
    pub(crate) seq: u64,
    /// Topics are local copies of a backplane's (see [`Registry::install`]):
    /// only subscribed topics are held, and history lives in the backplane.
    mirror: bool,
    topics: HashMap<Arc<str>, Arc<Topic>>,
    tombstones: Tombstones,
    /// Closed topics in the order they were closed, for the bounds on
    /// remembering them; entries whose topic was since forgotten are
    /// skipped.
    closed: VecDeque<(Arc<Topic>, Instant)>,
    next_sweep: Instant,
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
    pub(crate) fn new(now: Instant, epoch: u64, seq: u64, mirror: bool) -> Self {
        Registry {
            epoch,
            seq,
            mirror,
            topics: HashMap::new(),
            tombstones: Tombstones::default(),
            closed: VecDeque::new(),
            next_sweep: now + SWEEP_EVERY,
        }
    }

    pub(crate) fn topic_count(&self) -> usize {
        self.topics.len()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Topic>> {
        self.topics.get(name)
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
        } else if !self.mirror && options.limits(name).keeps_history() {
            Target::Topic(self.create(name, options))
        } else {
            Target::Nowhere
        }
    }

    fn create(&mut self, name: &str, options: &Options) -> Arc<Topic> {
        let name: Arc<str> = Arc::from(name);
        let evicted = self.tombstones.last(&name);
        let topic = Topic::new(name.clone(), options.limits(&name), evicted);
        self.topics.insert(name, topic.clone());
        metrics::hub::topic_created();
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
                // A mirror's backplane knows every topic's last id.
                if !self.mirror {
                    self.tombstones.record(name, id.seq());
                }
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
        if ring.closed.is_none() && (self.mirror || ring.is_empty()) {
            self.remove(topic, ring.last_seq());
        }
    }

    /// A mirror's topic, made from the backplane's history of it: `events`
    /// in sequence order, all after `evicted_seq` (the highest number no
    /// longer held) and none after [`seq`](Self::seq). Does nothing if the
    /// topic is already held.
    #[cfg(feature = "redis")]
    pub(crate) fn install(
        &mut self,
        name: &str,
        options: &Options,
        evicted_seq: u64,
        events: Vec<(u64, Body)>,
        now: Instant,
    ) {
        if self.topics.contains_key(name) {
            return;
        }
        let name: Arc<str> = Arc::from(name);
        let topic = Topic::new(name.clone(), options.limits(&name), evicted_seq);
        {
            let mut ring = topic.ring.lock();
            for (seq, body) in events {
                if seq > ring.last_seq() && seq <= self.seq {
                    ring.append(seq, body.seal(EventId::new(self.epoch, seq)), now);
                }
            }
        }
        self.topics.insert(name, topic);
    }

    /// The topics held, with the last sequence number each holds.
    #[cfg(feature = "redis")]
    pub(crate) fn held(&self) -> Vec<(Arc<str>, u64)> {
        self.topics
            .iter()
            .map(|(name, topic)| (name.clone(), topic.ring.lock().last_seq()))
            .collect()
    }

    /// Numbers up to `seq` were assigned elsewhere and concern no topic
    /// held here (a mirror skipping what it has no subscribers for).
    #[cfg(feature = "redis")]
    pub(crate) fn advance(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    /// The backplane lost its data and starts over in `epoch` after `seq`:
    /// every topic is dropped and its subscriptions end (see
    /// [`Ring::reset`]); their clients come back with an id of the old
    /// epoch and are told they missed events. Returns the wakers.
    #[cfg(feature = "redis")]
    pub(crate) fn reset(&mut self, epoch: u64, seq: u64) -> Vec<Waker> {
        let mut wake = Vec::new();
        for (_, topic) in self.topics.drain() {
            let mut ring = topic.ring.lock();
            ring.reset = true;
            wake.extend(ring.take_waiters());
        }
        self.tombstones = Tombstones::default();
        self.closed.clear();
        self.epoch = epoch;
        self.seq = seq;
        wake
    }

    /// Ends the subscriptions of topic `name` and forgets it (a mirror
    /// that cannot recover events its subscribers missed): they reconnect
    /// and learn from the backplane's history what they missed.
    #[cfg(feature = "redis")]
    pub(crate) fn drop_topic(&mut self, name: &str) -> Vec<Waker> {
        match self.topics.remove(name) {
            Some(topic) => {
                let mut ring = topic.ring.lock();
                ring.reset = true;
                ring.take_waiters()
            }
            None => Vec::new(),
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
            metrics::hub::topic_removed();
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
            if ring.subscribers == 0 && ring.closed.is_none() && (self.mirror || ring.is_empty()) {
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
///
/// Entries are keyed by a keyed hash of the name, not the name: what a
/// tombstone costs does not depend on how long topic names are. Two names
/// that hash alike share one entry holding the larger number, which can
/// only tell a client it missed events when it did not, never the other
/// way round; and an entry stays when its topic comes back (it is only
/// ever raised), so no collision can take another topic's number away.
#[derive(Default)]
struct Tombstones {
    keys: RandomState,
    last_seq: HashMap<u64, u64>,
    /// The keys of `last_seq`, oldest first.
    order: VecDeque<u64>,
    floor: u64,
}

impl Drop for Registry {
    /// A hub that goes away takes its topics with it: the topic gauge
    /// counts them out, so that it stays the sum over the live hubs.
    fn drop(&mut self) {
        for _ in self.topics.drain() {
            metrics::hub::topic_removed();
        }
    }
}

impl Tombstones {
    fn key(&self, name: &str) -> u64 {
        self.keys.hash_one(name)
    }

    fn record(&mut self, name: &str, seq: u64) {
        let key = self.key(name);
        if let Some(last) = self.last_seq.get_mut(&key) {
            *last = (*last).max(seq);
            return;
        }
        self.last_seq.insert(key, seq);
        self.order.push_back(key);
        if self.order.len() > REMEMBERED_TOPICS
            && let Some(oldest) = self.order.pop_front()
            && let Some(seq) = self.last_seq.remove(&oldest)
        {
            self.floor = self.floor.max(seq);
        }
    }

    /// The highest sequence number a new topic called `name` may have
    /// missed.
    fn last(&self, name: &str) -> u64 {
        let remembered = self.last_seq.get(&self.key(name)).copied();
        remembered.unwrap_or(0).max(self.floor)
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
        assert_eq!(t.last("a"), 5);
        assert_eq!(t.last("a"), 5, "kept while the topic lives again");
        assert_eq!(t.last("never"), 0);
        for i in 0..=REMEMBERED_TOPICS as u64 {
            t.record(&format!("t{i}"), i + 10);
        }
        assert_eq!(t.last_seq.len(), REMEMBERED_TOPICS);
        assert_eq!(
            t.floor, 10,
            "the two oldest, `a` and `t0`, raised the floor"
        );
        assert_eq!(t.last("never"), 10);
        assert_eq!(t.last("a"), 10);
        assert_eq!(
            t.last(&format!("t{REMEMBERED_TOPICS}")),
            REMEMBERED_TOPICS as u64 + 10
        );
        for i in 0..REMEMBERED_TOPICS as u64 {
            t.record(&format!("u{i}"), 1);
        }
        assert_eq!(t.last_seq.len(), REMEMBERED_TOPICS, "bounded");
        assert_eq!(t.floor, REMEMBERED_TOPICS as u64 + 10);
    }
}
