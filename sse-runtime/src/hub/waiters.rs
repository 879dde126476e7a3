//! Who to wake when a topic changes: the wakers of its idle subscribers,
//! grouped by the thread each registered from.
//!
//! A publish must not cost the publisher one wake per subscriber: with
//! 10 000 idle subscribers that is most of the publish, and from a plain
//! thread each wake of an actix task is a cross-thread hand-off. So a
//! change wakes one subscriber per thread group (its *leader*) and hands
//! the rest of the group to the group's *relay*; whichever subscription of
//! the group runs next (normally the leader, on that same thread) wakes
//! the relay. The publisher's cost is one wake per thread that has idle
//! subscribers, whatever their number.
//!
//! A leader that is woken but never polled (a subscription held in a
//! `select!` whose other branch won) would hold its group back; so each
//! further change wakes another leader from a relay still waiting, and a
//! subscription that is dropped passes its group's relay on. The relay is
//! only a hand-off: every waker it holds is woken exactly as if the
//! publisher had done it.
//!
//! # The poll without the lock, and contention
//!
//! A subscription that found nothing registers for the next change, and
//! its polls end without taking the lock while the topics' generation is
//! unchanged: in a response, the poll after actix has written a delivery
//! is one of those, so a delivery locks its topic twice instead of three
//! times.
//!
//! One topic read by subscribers on several worker threads is one lock
//! and one shared event buffer for all of them, so its deliveries contend
//! across threads: in `benches/benches/backplane.rs`, 2 × 5 000
//! subscribers of one topic on two threads reach a p99 of 11–23 ms at
//! 1 000 events/s, where two Redis-backed instances (each with its own
//! copy of the topic) stay at 3–7 ms. That is 10 million deliveries a
//! second; at ordinary rates it does not show: in
//! `benches/benches/fanout.rs` with two server threads, 10 000 subscribers
//! of one topic get 2.3× the events/s of actix-web-lab's broadcaster at
//! 0.92× its p99. Topics with both that much traffic and that many
//! readers are better spread over instances (see `backplane`).

use std::mem;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;

/// The wakers of one topic's idle subscribers.
pub(crate) struct Waiters {
    groups: Vec<Group>,
    /// Bumped whenever the waiting wakers are taken: a [`Slot`] from an
    /// older generation no longer points into the lists. Only written under
    /// the topic's lock, and also read without it (see [`Generation`]).
    generation: Arc<AtomicU64>,
}

/// A topic's waiter generation, read without its lock: a subscription that
/// registered in generation `g` and still reads `g` knows nothing changed
/// since (every append, close and reset bumps it under the lock before any
/// waker is woken), so its next poll can return `Pending` without locking.
#[derive(Clone)]
pub(crate) struct Generation(Arc<AtomicU64>);

impl Generation {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

struct Group {
    thread: usize,
    /// Registered since the last change; `None` where a subscription left
    /// (see `unregister`: removing would move the others' slots).
    waiting: Vec<Option<Waker>>,
    /// Taken by a change, to be woken by the first of the group that runs.
    relay: Vec<Option<Waker>>,
}

/// Wakers taken out of [`Waiters`] under the topic's lock, to be woken
/// once it is released.
#[must_use = "the wakers must be woken"]
pub(crate) struct Relay(Vec<Option<Waker>>);

impl Relay {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    pub(crate) fn wake(self) {
        self.0.into_iter().flatten().for_each(Waker::wake);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.iter().flatten().count()
    }
}

/// Where one subscription's waker sits in one topic's [`Waiters`]: lets it
/// register again without a search, and leave without a trace.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Slot {
    /// 0: not registered in any generation (they start at 1).
    generation: u64,
    group: u32,
    index: u32,
    /// The thread it last registered from (0: never).
    thread: usize,
}

/// An address unique to the current thread while it lives: the key of its
/// group. A later thread reusing it only shares a group with a dead one.
fn thread_key() -> usize {
    thread_local!(static KEY: u8 = const { 0 });
    KEY.with(|key| std::ptr::from_ref(key) as usize)
}

impl Waiters {
    pub(crate) fn new() -> Self {
        Waiters {
            groups: Vec::new(),
            generation: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The lock-free view of the generation.
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.generation.clone())
    }

    /// The generation a registration made now belongs to.
    pub(crate) fn current(&self) -> u64 {
        // Written only under the lock the caller holds: nothing to order.
        self.generation.load(Ordering::Relaxed)
    }

    fn bump(&mut self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Arranges for `waker` to be woken by the next change.
    pub(crate) fn register(&mut self, slot: &mut Slot, waker: &Waker) {
        let generation = self.current();
        if slot.generation == generation {
            let known = &mut self.groups[slot.group as usize].waiting[slot.index as usize];
            match known {
                Some(known) if known.will_wake(waker) => {}
                Some(known) => known.clone_from(waker),
                None => *known = Some(waker.clone()),
            }
            return;
        }
        let thread = thread_key();
        let group = match self.groups.iter().position(|g| g.thread == thread) {
            Some(group) => group,
            None => {
                self.groups.push(Group {
                    thread,
                    waiting: Vec::new(),
                    relay: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let waiting = &mut self.groups[group].waiting;
        *slot = Slot {
            generation,
            group: u32::try_from(group).unwrap_or(u32::MAX),
            index: u32::try_from(waiting.len()).unwrap_or(u32::MAX),
            thread,
        };
        waiting.push(Some(waker.clone()));
    }

    /// The subscription of `slot` leaves: its waker (if still waiting) is
    /// forgotten, and the relay of its group is returned to be woken, in
    /// case it was the leader that would have passed it on.
    pub(crate) fn unregister(&mut self, slot: &mut Slot) -> Relay {
        if slot.generation == self.current()
            && let Some(waiting) = self
                .groups
                .get_mut(slot.group as usize)
                .and_then(|g| g.waiting.get_mut(slot.index as usize))
        {
            *waiting = None;
        }
        let relay = self.relay(slot);
        *slot = Slot::default();
        relay
    }

    /// The relay of the group `slot` registered in (or of the current
    /// thread), for the caller to wake once it has released the lock.
    pub(crate) fn relay(&mut self, slot: &Slot) -> Relay {
        let thread = match slot.thread {
            0 => thread_key(),
            thread => thread,
        };
        match self.groups.iter_mut().find(|g| g.thread == thread) {
            Some(group) if !group.relay.is_empty() => Relay(mem::take(&mut group.relay)),
            _ => Relay(Vec::new()),
        }
    }

    /// The topic changed: returns one waker per group to wake now; the
    /// rest of each group waits in its relay.
    pub(crate) fn take(&mut self) -> Vec<Waker> {
        let mut wake = Vec::new();
        self.bump();
        if self.groups.is_empty() {
            return wake;
        }
        self.groups.retain_mut(|group| {
            if group.relay.is_empty() {
                mem::swap(&mut group.relay, &mut group.waiting);
            } else {
                group.relay.append(&mut group.waiting);
            }
            // A slot that was left (see `unregister`) must not lead.
            while let Some(entry) = group.relay.pop() {
                if let Some(leader) = entry {
                    wake.push(leader);
                    break;
                }
            }
            // A group with nothing left to relay is found again by its
            // thread's next registration; dropping it keeps the list to
            // the threads that have idle subscribers.
            !group.relay.is_empty()
        });
        wake
    }

    /// Every waker, waiting or in a relay: the topic ends for all.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.bump();
        let mut wake = Vec::new();
        for group in self.groups.drain(..) {
            wake.extend(group.waiting.into_iter().flatten());
            wake.extend(group.relay.into_iter().flatten());
        }
        wake
    }

    /// Wakers held (waiting or relayed), for tests.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.waiting.iter().chain(&g.relay).flatten().count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        (count, waker)
    }

    /// `n` counting wakers, each registered in its own slot.
    fn registered(waiters: &mut Waiters, n: usize) -> (Vec<Arc<Count>>, Vec<Slot>) {
        let mut counts = Vec::new();
        let mut slots = vec![Slot::default(); n];
        for slot in &mut slots {
            let (count, waker) = counter();
            waiters.register(slot, &waker);
            counts.push(count);
        }
        (counts, slots)
    }

    fn wake_all(wakers: Vec<Waker>) -> usize {
        let n = wakers.len();
        wakers.into_iter().for_each(Waker::wake);
        n
    }

    #[test]
    fn a_change_wakes_one_per_thread_and_the_relay_the_rest() {
        let mut waiters = Waiters::new();
        let (counts, slots) = registered(&mut waiters, 5);
        assert_eq!(wake_all(waiters.take()), 1, "one leader for this thread");
        assert_eq!(waiters.len(), 4);
        // The leader runs and passes the relay on.
        let relay = waiters.relay(&slots[4]);
        assert_eq!(relay.len(), 4);
        relay.wake();
        assert_eq!(waiters.len(), 0);
        let woken: usize = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).sum();
        assert_eq!(woken, 5);
        assert!(counts.iter().all(|c| c.0.load(Ordering::SeqCst) == 1));
    }

    #[test]
    fn registering_twice_keeps_one_waker() {
        let mut waiters = Waiters::new();
        let (count, waker) = counter();
        let (other_count, other) = counter();
        let mut slot = Slot::default();
        waiters.register(&mut slot, &waker);
        waiters.register(&mut slot, &waker);
        waiters.register(&mut slot, &other);
        assert_eq!(waiters.len(), 1);
        wake_all(waiters.take());
        assert_eq!(count.0.load(Ordering::SeqCst), 0, "replaced");
        assert_eq!(other_count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_slot_of_an_older_generation_registers_anew() {
        let mut waiters = Waiters::new();
        let (count, waker) = counter();
        let mut slot = Slot::default();
        waiters.register(&mut slot, &waker);
        wake_all(waiters.take());
        waiters.register(&mut slot, &waker);
        wake_all(waiters.take());
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn unregistering_forgets_the_waker_and_passes_the_relay_on() {
        let mut waiters = Waiters::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let (c, wc) = counter();
        let (mut sa, mut sb, mut sc) = (Slot::default(), Slot::default(), Slot::default());
        waiters.register(&mut sa, &wa);
        waiters.register(&mut sb, &wb);
        waiters.register(&mut sc, &wc);
        // c leads, a and b wait in the relay; c leaves without running.
        wake_all(waiters.take());
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        let relay = waiters.unregister(&mut sc);
        assert_eq!(relay.len(), 2);
        relay.wake();
        assert_eq!(
            (a.0.load(Ordering::SeqCst), b.0.load(Ordering::SeqCst)),
            (1, 1)
        );
        // A waiting waker that leaves is not woken.
        waiters.register(&mut sa, &wa);
        waiters.register(&mut sb, &wb);
        assert!(waiters.unregister(&mut sa).is_empty());
        // The slot a left is not a leader: b is.
        assert_eq!(wake_all(waiters.take()), 1);
        assert_eq!(a.0.load(Ordering::SeqCst), 1, "a left before the change");
        assert_eq!(b.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_leader_that_never_runs_holds_its_group_back_one_change_at_most() {
        let mut waiters = Waiters::new();
        let (counts, _slots) = registered(&mut waiters, 3);
        wake_all(waiters.take());
        // The leader never runs; the next change wakes another.
        wake_all(waiters.take());
        wake_all(waiters.take());
        let woken: usize = counts.iter().map(|c| c.0.load(Ordering::SeqCst)).sum();
        assert_eq!(woken, 3);
        assert_eq!(waiters.len(), 0);
    }

    #[test]
    fn groups_are_per_thread() {
        let mut waiters = Waiters::new();
        let (here, waker) = counter();
        let mut slot = Slot::default();
        waiters.register(&mut slot, &waker);
        let (there, other) = counter();
        let mut waiters = std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let mut slot = Slot::default();
                    waiters.register(&mut slot, &other);
                    waiters
                })
                .join()
                .expect("the thread")
        });
        assert_eq!(wake_all(waiters.take()), 2, "one leader per thread");
        assert_eq!(
            (
                here.0.load(Ordering::SeqCst),
                there.0.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
    }

    #[test]
    fn take_all_wakes_waiting_and_relayed() {
        let mut waiters = Waiters::new();
        let (mut counts, _) = registered(&mut waiters, 2);
        wake_all(waiters.take());
        counts.extend(registered(&mut waiters, 2).0);
        assert_eq!(wake_all(waiters.take_all()), 3);
        assert!(counts.iter().all(|c| c.0.load(Ordering::SeqCst) == 1));
    }
}
