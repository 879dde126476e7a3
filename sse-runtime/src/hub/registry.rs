//! The hub's shared state behind one lock: the sequence counter, the live
//! topics, what is remembered of freed and closed topics, the hub-wide
//! bounds (and the queue of idle topics that makes room within them), and
//! the sweep that ages them out.
//!
//! # Synchronisation
//!
//! Plain mutexes and one atomic: one hub lock (the sequence counter and
//! the topic map) and one lock per topic (its ring, subscriber count and
//! waiting subscribers), always taken in that order. A publish appends
//! under both; a subscription reads its topics' rings under their locks
//! only, all of them at once, in name order (so two subscriptions cannot
//! deadlock, and a publish holds a single topic lock). Because a publish
//! assigns its number and appends it before releasing the hub lock, a
//! subscription that sees number `n` in one of its topics also sees every
//! number below `n` in the others: it can deliver in id order, and the last
//! id a client saw always covers everything before it. A subscriber
//! registers its waker under the lock of the topic it found empty, and a
//! publish takes the wakers under that same lock, so no wake-up is lost.
//!
//! The atomic is each topic's waiter *generation*, which lets the poll
//! after a delivery end without the lock (see `waiters`). It is only
//! written under the topic's lock, bumped (`Release`) by every append,
//! close and reset before that change wakes anyone, and a subscription
//! trusts its registration only while it reads (`Acquire`) the generation
//! it registered in. Reading that value means no change has been seen
//! yet: the registration is still in the lists, or a change is taking it
//! out right now and wakes it once the lock is released; either way the
//! subscription is polled again after the change. Reading a newer value
//! sends it to the locked path. Every
//! other step is the standard mutex argument. That one-way flag, always
//! written under a lock, is why the hub is not model-checked with `loom`;
//! `tests/hub_core.rs` checks the poll between a delivery and a publish,
//! and with publishers racing on other threads.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::options::Options;
use super::topic::{Held, Ring, Topic};
use super::wire::Body;
use crate::metrics;
use crate::resume::EventId;

/// How many freed topics keep their last sequence number (see
/// [`Tombstones`]).
pub(crate) const REMEMBERED_TOPICS: usize = 65_536;

/// How often age limits and closed-topic expiry are applied to topics
/// that nobody touches.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// At most one warning about refused topics per this period: a hub at its
/// bounds may refuse every request, and the log should not drown.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Out-of-date entries the idle queue may carry beyond half the topic
/// count before it is compacted.
const IDLE_SLACK: usize = 1024;

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
    /// Topics that became idle (no subscriber left, or published to while
    /// it had none), longest idle first, each with the stamp it got then:
    /// where room is made within the hub's bounds. An entry whose topic
    /// has since been touched again, subscribed to, closed or freed is out
    /// of date and skipped; there are never many of those (see
    /// [`Registry::compact_idle`]).
    idle: VecDeque<(u64, Arc<str>)>,
    /// The last stamp given out by [`Registry::touch`].
    stamp: u64,
    /// The encoded bytes every ring holds.
    held_bytes: Held,
    /// Topics freed early to stay within the bounds.
    evicted: u64,
    /// New topics refused at the bounds.
    refused: u64,
    /// When a refusal was last logged.
    refusal_logged: Option<Instant>,
    next_sweep: Instant,
}

/// The hub is at its bounds and nothing can be freed: no new topic.
#[derive(Debug)]
pub(crate) struct Full;

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

/// The hub-wide figures (see `Hub::totals`).
pub(crate) struct Totals {
    pub(crate) topics: usize,
    pub(crate) bytes: usize,
    pub(crate) remembered: usize,
    pub(crate) evicted: u64,
    pub(crate) refused: u64,
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
            idle: VecDeque::new(),
            stamp: 0,
            held_bytes: Held::default(),
            evicted: 0,
            refused: 0,
            refusal_logged: None,
            next_sweep: now + SWEEP_EVERY,
        }
    }

    pub(crate) fn topic_count(&self) -> usize {
        self.topics.len()
    }

    pub(crate) fn totals(&self) -> Totals {
        Totals {
            topics: self.topics.len(),
            bytes: self.held_bytes.get(),
            remembered: self.tombstones.len(),
            evicted: self.evicted,
            refused: self.refused,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<Topic>> {
        self.topics.get(name)
    }

    /// The topic a subscription reads, created if need be; `Err` if it is
    /// new and the hub has no room for it.
    ///
    /// A topic made here has no idle entry: the caller counts its
    /// subscriber before the registry lock is released (or frees it with
    /// [`release`](Self::release)), so it is never idle meanwhile.
    pub(crate) fn for_subscriber(
        &mut self,
        name: &str,
        options: &Options,
        now: Instant,
    ) -> Result<Arc<Topic>, Full> {
        if let Some(topic) = self.topics.get(name) {
            return Ok(topic.clone());
        }
        self.admit(name, options, now)?;
        Ok(self.create(name, options))
    }

    /// Where a publish to `name` goes; `Err` if the topic is new, would
    /// keep history, and the hub has no room for it.
    pub(crate) fn for_publish(
        &mut self,
        name: &str,
        options: &Options,
        now: Instant,
    ) -> Result<Target, Full> {
        if let Some(topic) = self.topics.get(name) {
            Ok(Target::Topic(topic.clone()))
        } else if !self.mirror && options.limits(name).keeps_history() {
            self.admit(name, options, now)?;
            // Idle from the start: nobody subscribes yet. `deliver` stamps
            // it when the event is appended.
            Ok(Target::Topic(self.create(name, options)))
        } else {
            Ok(Target::Nowhere)
        }
    }

    fn create(&mut self, name: &str, options: &Options) -> Arc<Topic> {
        // A mirror's backplane knows every topic's last id; it keeps no
        // tombstones.
        let evicted = if self.mirror {
            0
        } else {
            self.tombstones.last(name)
        };
        self.insert(name, options, evicted)
    }

    fn insert(&mut self, name: &str, options: &Options, evicted_seq: u64) -> Arc<Topic> {
        let name: Arc<str> = Arc::from(name);
        let topic = Topic::new(
            name.clone(),
            options.limits(&name),
            evicted_seq,
            self.held_bytes.clone(),
        );
        self.topics.insert(name, topic.clone());
        metrics::hub::topic_created();
        topic
    }

    /// Makes room for one more topic, freeing idle ones if need be; counts
    /// and logs a refusal.
    fn admit(&mut self, name: &str, options: &Options, now: Instant) -> Result<(), Full> {
        if self.make_room(options, true) {
            return Ok(());
        }
        self.refused += 1;
        let due = self
            .refusal_logged
            .is_none_or(|at| now.saturating_duration_since(at) >= REFUSAL_LOG_EVERY);
        if due {
            self.refusal_logged = Some(now);
            tracing::warn!(
                topics = self.topics.len(),
                bytes = self.held_bytes.get(),
                max_topics = options.max_topics,
                max_bytes = options.max_bytes,
                refused = self.refused,
                // Debug form: a topic name may come from a URL.
                topic = ?name,
                "hub full: every topic has subscribers or is closed; new topics are refused \
                 (see HubBuilder::max_topics)"
            );
        }
        Err(Full)
    }

    /// Frees the longest-idle topics until the hub is within its bounds,
    /// with room for one more topic if `new_topic`. Returns whether there
    /// is room for that topic. Topics with subscribers and closed topics
    /// are never freed here.
    ///
    /// Bytes over their bound with nothing idle left to free do not refuse
    /// a topic: those bytes are held by subscribed topics, within their
    /// own limits, and turning clients away would not lower them.
    fn make_room(&mut self, options: &Options, new_topic: bool) -> bool {
        self.compact_idle();
        loop {
            let topics_over = new_topic && self.topics.len() >= options.max_topics;
            let bytes_over = self.held_bytes.get() > options.max_bytes;
            if !topics_over && !bytes_over {
                return true;
            }
            if !self.evict_idle() {
                return !topics_over;
            }
        }
    }

    /// Frees the topic that has been idle longest, if there is one. Its
    /// last id is remembered like any freed topic's: a client resuming on
    /// it is told it missed events, never left without them silently.
    fn evict_idle(&mut self) -> bool {
        while let Some((stamp, name)) = self.idle.pop_front() {
            let Some(topic) = self.topics.get(&name).cloned() else {
                continue;
            };
            let last_seq = {
                let ring = topic.ring.lock();
                if ring.stamp != stamp || ring.subscribers > 0 || ring.closed.is_some() {
                    continue;
                }
                ring.last_seq()
            };
            self.remove(&topic, last_seq);
            self.evicted += 1;
            return true;
        }
        false
    }

    /// `topic` (whose lock the caller holds as `ring`) is idle as of now:
    /// it goes to the back of the idle queue.
    fn touch(&mut self, topic: &Topic, ring: &mut Ring) {
        self.stamp += 1;
        ring.stamp = self.stamp;
        self.idle.push_back((self.stamp, topic.name.clone()));
    }

    /// Drops the idle queue's out-of-date entries once there are more of
    /// them than half the topics: the queue then stays within about one
    /// and a half times the topic count (at most one entry per topic is
    /// current), and each compaction, one pass, drops at least a third of
    /// what it looks at, so its cost is spread over the touches that made
    /// it grow. Takes topic locks: never called while one is held.
    fn compact_idle(&mut self) {
        if self.idle.len() <= self.topics.len() + self.topics.len() / 2 + IDLE_SLACK {
            return;
        }
        let topics = &self.topics;
        self.idle.retain(|(stamp, name)| {
            topics.get(name).is_some_and(|topic| {
                let ring = topic.ring.lock();
                ring.stamp == *stamp && ring.subscribers == 0 && ring.closed.is_none()
            })
        });
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
        options: &Options,
        now: Instant,
    ) -> Result<Vec<Waker>, Closed> {
        debug_assert!(id.seq() > self.seq, "ids are delivered in order");
        let wake = match target {
            Target::Topic(topic) => {
                let mut ring = topic.ring.lock();
                if ring.closed.is_some() {
                    return Err(Closed);
                }
                let wake = ring.append(id.seq(), body.seal(id), now);
                if ring.subscribers == 0 {
                    self.touch(&topic, &mut ring);
                }
                wake
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
        if self.held_bytes.get() > options.max_bytes {
            self.make_room(options, false);
        } else {
            self.compact_idle();
        }
        Ok(wake)
    }

    /// Marks `name` closed (creating it if unknown, so that later
    /// subscribers learn it is closed); returns whether it was open and
    /// the wakers of its subscribers.
    ///
    /// A closed topic is made even at the hub's bounds: closing is the
    /// server's decision, and closed topics have their own bound
    /// ([`Options::closed_topics`]).
    pub(crate) fn close(
        &mut self,
        name: &str,
        options: &Options,
        now: Instant,
    ) -> (bool, Vec<Waker>) {
        let topic = match self.topics.get(name) {
            Some(topic) => topic.clone(),
            None => {
                self.make_room(options, true);
                self.create(name, options)
            }
        };
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
    /// `ring`): frees the topic if nothing in it is worth keeping, and
    /// otherwise queues it as idle.
    pub(crate) fn release(&mut self, topic: &Arc<Topic>, ring: &mut Ring, now: Instant) {
        if ring.subscribers > 0 {
            return;
        }
        ring.evict(now);
        if ring.closed.is_some() || !self.holds(topic) {
            return;
        }
        if self.mirror || ring.is_empty() {
            self.remove(topic, ring.last_seq());
        } else {
            self.touch(topic, ring);
        }
    }

    /// Whether `topic` is the one held under its name (not one a reset or
    /// an eviction replaced).
    fn holds(&self, topic: &Arc<Topic>) -> bool {
        self.topics
            .get(&topic.name)
            .is_some_and(|t| Arc::ptr_eq(t, topic))
    }

    /// A mirror's topic, made from the backplane's history of it: `events`
    /// in sequence order, all after `evicted_seq` (the highest number no
    /// longer held) and none after [`seq`](Self::seq). Does nothing if the
    /// topic is already held; `Err` if it is not and the hub has no room.
    #[cfg(feature = "redis")]
    pub(crate) fn install(
        &mut self,
        name: &str,
        options: &Options,
        evicted_seq: u64,
        events: Vec<(u64, Body)>,
        now: Instant,
    ) -> Result<(), Full> {
        if self.topics.contains_key(name) {
            return Ok(());
        }
        self.admit(name, options, now)?;
        let topic = self.insert(name, options, evicted_seq);
        let mut ring = topic.ring.lock();
        for (seq, body) in events {
            if seq > ring.last_seq() && seq <= self.seq {
                ring.append(seq, body.seal(EventId::new(self.epoch, seq)), now);
            }
        }
        // Idle until its subscription attaches: room can be made from it
        // meanwhile (the subscription then has it copied again).
        self.touch(&topic, &mut ring);
        Ok(())
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
            metrics::hub::topic_removed();
            let mut ring = topic.ring.lock();
            ring.reset = true;
            wake.extend(ring.take_waiters());
        }
        self.tombstones = Tombstones::default();
        self.closed.clear();
        self.idle.clear();
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
                metrics::hub::topic_removed();
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
        if self.holds(topic) {
            self.topics.remove(&topic.name);
            if !self.mirror {
                self.tombstones.record(&topic.name, last_seq);
            }
            metrics::hub::topic_removed();
        }
    }

    fn forget(&mut self, topic: &Arc<Topic>) {
        let last_seq = topic.ring.lock().last_seq();
        self.remove(topic, last_seq);
    }

    /// Applies age limits and closed-topic expiry, at most once per
    /// [`SWEEP_EVERY`]; costs one pass over the topics (at most
    /// [`Options::max_topics`] of them, plus the closed ones).
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
        self.compact_idle();
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

    fn len(&self) -> usize {
        self.last_seq.len()
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
        assert_eq!(t.len(), REMEMBERED_TOPICS);
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
        assert_eq!(t.len(), REMEMBERED_TOPICS, "bounded");
        assert_eq!(t.floor, REMEMBERED_TOPICS as u64 + 10);
    }
}
