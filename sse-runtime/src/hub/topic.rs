//! One topic: a ring of encoded events that every subscriber reads through
//! its own cursor, the subscriber count, and the wakers of the subscribers
//! waiting for the next event.
//!
//! Positions in a topic are *ordinals*: 0 for the topic's first event, +1
//! per event. A subscriber's cursor is the ordinal of the next event it
//! will read; the ring holds the ordinals `front()..next`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::options::Limits;
use super::waiters::{Generation, Relay, Slot, Waiters};
use crate::event::EncodedEvent;

/// A topic as shared by the registry and its subscriptions.
pub(crate) struct Topic {
    pub(crate) name: Arc<str>,
    pub(crate) ring: Mutex<Ring>,
    /// Its waiters' generation, without the lock.
    pub(crate) generation: Generation,
}

impl Topic {
    pub(crate) fn new(name: Arc<str>, limits: Limits, evicted_seq: u64, held: Held) -> Arc<Self> {
        let ring = Ring::new(limits, evicted_seq, held);
        Arc::new(Topic {
            name,
            generation: ring.waiters.generation(),
            ring: Mutex::new(ring),
        })
    }
}

struct Entry {
    seq: u64,
    /// Bytes appended to the topic up to and including this event: the
    /// distance in bytes between two positions is a subtraction.
    end: u64,
    /// Only kept when the topic has an age limit.
    at: Option<Instant>,
    event: EncodedEvent,
}

impl Entry {
    fn start(&self) -> u64 {
        self.end - self.event.as_ref().len() as u64
    }
}

/// The encoded bytes every ring of one hub holds together, for the
/// hub-wide bound (see [`Registry`](super::registry::Registry)).
///
/// An atomic rather than a field of the registry: rings change under the
/// registry's lock, but a ring the registry no longer knows (a reset
/// topic still read by its subscriptions) is dropped wherever its last
/// subscription is, and its bytes count until then.
#[derive(Clone, Default)]
pub(crate) struct Held(Arc<AtomicUsize>);

impl Held {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, bytes: usize) {
        self.0.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.0.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// Why a position could not be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooOld;

pub(crate) struct Ring {
    pub(crate) limits: Limits,
    entries: VecDeque<Entry>,
    /// Encoded bytes currently held.
    bytes: usize,
    /// Ordinal of the next event appended.
    next: u64,
    /// Bytes ever appended.
    total: u64,
    /// Highest sequence number no longer held (0: none): resuming after an
    /// id below it would miss events.
    evicted_seq: u64,
    /// Highest sequence number ever appended (or `evicted_seq`).
    last_seq: u64,
    pub(crate) subscribers: usize,
    /// Subscribers waiting for this topic's next event.
    waiters: Waiters,
    /// When the topic was closed; its final event is at `next - 1`.
    pub(crate) closed: Option<Instant>,
    /// The topic was dropped by a backplane that lost track of it: every
    /// subscription reading it ends (its client reconnects and resumes).
    pub(crate) reset: bool,
    /// When the topic last became idle or was published to while idle, as
    /// the registry counts (see `Registry::touch`); an entry of the
    /// registry's idle queue with another stamp is out of date.
    pub(crate) stamp: u64,
    /// The hub's total, which `bytes` is part of.
    held: Held,
}

impl Ring {
    fn new(limits: Limits, evicted_seq: u64, held: Held) -> Self {
        Ring {
            limits,
            entries: VecDeque::new(),
            bytes: 0,
            next: 0,
            total: 0,
            evicted_seq,
            last_seq: evicted_seq,
            subscribers: 0,
            waiters: Waiters::new(),
            closed: None,
            reset: false,
            stamp: 0,
            held,
        }
    }

    /// Ordinal of the oldest event held.
    pub(crate) fn front(&self) -> u64 {
        self.next - self.entries.len() as u64
    }

    /// Ordinal the next event will get: a cursor here is at the live edge.
    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends the event with hub sequence number `seq` (greater than any
    /// before) and evicts what the limits no longer cover; returns the
    /// wakers to wake once the lock is released.
    pub(crate) fn append(&mut self, seq: u64, event: EncodedEvent, now: Instant) -> Vec<Waker> {
        debug_assert!(seq > self.last_seq, "sequence numbers only grow");
        let len = event.as_ref().len();
        self.total += len as u64;
        self.entries.push_back(Entry {
            seq,
            end: self.total,
            at: self.limits.history_age.map(|_| now),
            event,
        });
        self.bytes += len;
        self.held.add(len);
        self.next += 1;
        self.last_seq = seq;
        self.evict(now);
        self.waiters.take()
    }

    /// Drops the oldest events that neither the history limits nor, while
    /// anyone listens, the queue window cover.
    ///
    /// Both are suffixes of the ring (the newest N events), so the events
    /// kept are the longer of the two and eviction only ever pops the front.
    pub(crate) fn evict(&mut self, now: Instant) {
        let limits = self.limits;
        let oldest_kept = limits.history_age.and_then(|age| now.checked_sub(age));
        while let Some(front) = self.entries.front() {
            let len = self.entries.len();
            let in_history = len <= limits.history_events
                && self.bytes <= limits.history_bytes
                && match (oldest_kept, front.at) {
                    (Some(oldest), Some(at)) => at >= oldest,
                    _ => true,
                };
            let in_window = self.subscribers > 0
                && len <= limits.queue_events
                && (self.bytes <= limits.queue_bytes || len == 1);
            if in_history || in_window {
                return;
            }
            let len = front.event.as_ref().len();
            self.bytes -= len;
            self.held.sub(len);
            self.evicted_seq = front.seq;
            self.entries.pop_front();
        }
    }

    /// The position right after the event with sequence number `seq`, for
    /// a client resuming after it; `TooOld` if an event after it was
    /// evicted.
    pub(crate) fn position_after(&self, seq: u64) -> Result<u64, TooOld> {
        if self.evicted_seq > seq {
            return Err(TooOld);
        }
        let held = self.entries.partition_point(|e| e.seq <= seq);
        Ok(self.front() + held as u64)
    }

    /// The oldest position the history limits cover (where a client with
    /// no id starts when it asks for history).
    pub(crate) fn history_start(&self, now: Instant) -> u64 {
        let limits = self.limits;
        let len = self.entries.len();
        let by_count = len.saturating_sub(limits.history_events);
        let by_bytes = self
            .entries
            .partition_point(|e| self.total - e.start() > limits.history_bytes as u64);
        let by_age = match limits.history_age.and_then(|age| now.checked_sub(age)) {
            Some(oldest) => self
                .entries
                .partition_point(|e| e.at.is_some_and(|at| at < oldest)),
            None => 0,
        };
        self.front() + by_count.max(by_bytes).max(by_age) as u64
    }

    /// How many events a cursor at `at` has not read, if it is further
    /// behind than the queue bound allows, or if some of them were already
    /// evicted.
    ///
    /// Only events from `live_from` on count towards the bound: those
    /// published since the subscription started. A replay from history
    /// is a backlog the client asked for, not a sign of slowness; a client
    /// too slow for the live flow while replaying is still caught.
    pub(crate) fn lag(&self, at: u64, live_from: u64) -> Option<u64> {
        let unread = self.next - at;
        if at < self.front() {
            return Some(unread);
        }
        let from = at.max(live_from).min(self.next);
        let behind = self.next - from;
        let start = match self.entry(from) {
            Some(entry) => entry.start(),
            None => self.total,
        };
        let bytes_behind = self.total - start;
        let over = behind > self.limits.queue_events as u64
            || (behind > 1 && bytes_behind > self.limits.queue_bytes as u64);
        over.then_some(unread)
    }

    /// The event at position `at` and its sequence number.
    pub(crate) fn get(&self, at: u64) -> Option<(u64, &EncodedEvent)> {
        self.entry(at).map(|e| (e.seq, &e.event))
    }

    fn entry(&self, at: u64) -> Option<&Entry> {
        let index = at.checked_sub(self.front())?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// Arranges for `waker` to be woken by the next append or close;
    /// returns the generation it waits in (see [`Generation`]).
    pub(crate) fn register(&mut self, slot: &mut Slot, waker: &Waker) -> u64 {
        self.waiters.register(slot, waker);
        self.waiters.current()
    }

    /// The subscriber of `slot` stops waiting; returns the wakers it has
    /// to pass on (see [`Waiters::unregister`]).
    pub(crate) fn unregister(&mut self, slot: &mut Slot) -> Relay {
        self.waiters.unregister(slot)
    }

    /// Wakers relayed to the group of `slot` (see [`Waiters::relay`]).
    pub(crate) fn relay(&mut self, slot: &Slot) -> Relay {
        self.waiters.relay(slot)
    }

    /// Every waker: the topic was closed or reset.
    pub(crate) fn take_waiters(&mut self) -> Vec<Waker> {
        self.waiters.take_all()
    }
}

impl Drop for Ring {
    /// A ring that goes away no longer counts towards the hub's total.
    fn drop(&mut self) {
        self.held.sub(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::hub::Overflow;
    use crate::Event;

    fn limits(history: usize, queue: usize) -> Limits {
        Limits {
            history_events: history,
            history_bytes: usize::MAX,
            history_age: None,
            queue_events: queue,
            queue_bytes: usize::MAX,
            overflow: Overflow::Skip,
        }
    }

    impl Ring {
        fn new_for_test(limits: Limits, evicted_seq: u64) -> Self {
            Ring::new(limits, evicted_seq, Held::default())
        }
    }

    fn event(len: usize) -> EncodedEvent {
        // `data: ` + text + `\n\n`
        Event::default().data("x".repeat(len - 8)).encode()
    }

    fn fill(ring: &mut Ring, seqs: impl IntoIterator<Item = u64>, len: usize, now: Instant) {
        for seq in seqs {
            ring.append(seq, event(len), now);
        }
    }

    #[test]
    fn history_count_bounds_the_ring() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(3, 100), 0);
        fill(&mut ring, 1..=5, 10, now);
        assert_eq!((ring.len(), ring.front(), ring.next()), (3, 2, 5));
        assert_eq!(ring.bytes(), 30);
        assert_eq!(ring.position_after(2), Ok(2));
        assert_eq!(ring.position_after(1), Err(TooOld));
        assert_eq!(ring.position_after(5), Ok(5));
        assert_eq!(ring.history_start(now), 2);
    }

    #[test]
    fn the_hub_total_follows_appends_evictions_and_drops() {
        let now = Instant::now();
        let held = Held::default();
        let mut a = Ring::new(limits(2, 1), 0, held.clone());
        let mut b = Ring::new(limits(10, 1), 0, held.clone());
        fill(&mut a, 1..=3, 10, now);
        fill(&mut b, 4..=5, 10, now);
        assert_eq!((a.bytes(), b.bytes(), held.get()), (20, 20, 40));
        a.limits.history_events = 0;
        a.evict(now);
        assert_eq!(held.get(), 20);
        fill(&mut a, 6..=6, 10, now);
        drop(b);
        assert_eq!(held.get(), 0, "a kept nothing, b is gone");
    }

    #[test]
    fn history_bytes_bound_the_ring() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(
            Limits {
                history_bytes: 25,
                ..limits(100, 1)
            },
            0,
        );
        fill(&mut ring, 1..=4, 10, now);
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.bytes(), 20);
        // An event larger than the bound is not kept at all.
        ring.append(5, event(30), now);
        assert_eq!(ring.len(), 0);
        assert_eq!(ring.position_after(4), Err(TooOld));
        assert_eq!(ring.position_after(5), Ok(5));
    }

    #[test]
    fn history_age_bounds_the_ring() {
        let start = Instant::now();
        let mut ring = Ring::new_for_test(
            Limits {
                history_age: Some(Duration::from_secs(10)),
                ..limits(100, 1)
            },
            0,
        );
        fill(&mut ring, 1..=2, 10, start);
        fill(&mut ring, 3..=3, 10, start + Duration::from_secs(5));
        assert_eq!(ring.history_start(start + Duration::from_secs(12)), 2);
        ring.evict(start + Duration::from_secs(12));
        assert_eq!((ring.front(), ring.len()), (2, 1));
        ring.evict(start + Duration::from_secs(16));
        assert!(ring.is_empty());
        assert_eq!(ring.position_after(2), Err(TooOld));
    }

    #[test]
    fn queue_window_is_kept_while_anyone_listens() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(0, 4), 0);
        fill(&mut ring, 1..=3, 10, now);
        assert!(ring.is_empty(), "nobody listens, no history");
        ring.subscribers = 1;
        fill(&mut ring, 4..=9, 10, now);
        assert_eq!((ring.front(), ring.len()), (5, 4));
        ring.subscribers = 0;
        ring.evict(now);
        assert!(ring.is_empty());
        assert_eq!(ring.last_seq(), 9);
    }

    #[test]
    fn longer_of_history_and_window_is_kept() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(2, 5), 0);
        ring.subscribers = 1;
        fill(&mut ring, 1..=10, 10, now);
        assert_eq!(ring.len(), 5);
        ring.subscribers = 0;
        ring.evict(now);
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn lag_by_events_and_bytes() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(
            Limits {
                queue_bytes: 35,
                ..limits(100, 4)
            },
            0,
        );
        fill(&mut ring, 1..=5, 10, now);
        assert_eq!(ring.lag(5, 0), None);
        assert_eq!(ring.lag(2, 0), None, "3 behind, 30 bytes");
        assert_eq!(ring.lag(1, 0), Some(4), "4 behind, 40 bytes > 35");
        assert_eq!(ring.lag(0, 0), Some(5), "5 behind > 4 events");
        // A single event larger than the byte bound is not a lag.
        ring.append(6, event(100), now);
        assert_eq!(ring.lag(5, 0), None);
        assert_eq!(ring.lag(4, 0), Some(2));
    }

    #[test]
    fn a_replay_is_not_a_lag_but_live_events_during_it_count() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(100, 2), 0);
        fill(&mut ring, 1..=50, 10, now);
        // Resumed at 0 when the head was 50: 50 unread, none live.
        assert_eq!(ring.lag(0, 50), None);
        fill(&mut ring, 51..=52, 10, now);
        assert_eq!(ring.lag(10, 50), None, "2 live events: at the bound");
        ring.append(53, event(10), now);
        assert_eq!(ring.lag(10, 50), Some(43), "3 live events: over it");
        assert_eq!(ring.lag(51, 50), None, "caught up meanwhile");
    }

    #[test]
    fn evicted_positions_lag() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(2, 100), 0);
        fill(&mut ring, 1..=4, 10, now);
        assert_eq!(ring.lag(1, 1), Some(3));
        assert!(ring.get(1).is_none());
        assert_eq!(ring.get(2).map(|(seq, _)| seq), Some(3));
    }

    #[test]
    fn positions_follow_sequence_numbers_with_gaps() {
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(10, 10), 7);
        fill(&mut ring, [10, 20, 30], 10, now);
        assert_eq!(ring.position_after(7), Ok(0));
        assert_eq!(ring.position_after(6), Err(TooOld));
        assert_eq!(ring.position_after(15), Ok(1));
        assert_eq!(ring.position_after(20), Ok(2));
        assert_eq!(ring.position_after(99), Ok(3));
    }

    #[test]
    fn an_append_wakes_every_waiter_through_the_relay() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::Wake;

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let now = Instant::now();
        let mut ring = Ring::new_for_test(limits(0, 4), 0);
        let mut slots = [Slot::default(); 3];
        for slot in &mut slots {
            ring.register(slot, &waker);
        }
        ring.register(&mut slots[0], &waker);
        drop(ring.unregister(&mut slots[2]));
        let woken = ring.append(1, event(10), now);
        assert_eq!(woken.len(), 1, "one leader");
        woken.into_iter().for_each(Waker::wake);
        ring.relay(&slots[0]).wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(ring.append(2, event(10), now).is_empty(), "nobody waits");
    }
}
