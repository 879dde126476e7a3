//! Thread-safe probes that a route under test fills in and the test reads:
//! which callbacks ran, whether something happened, how often, how many are
//! alive. All are cheap to clone; clones share their state.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A list of strings, e.g. which clean-up callbacks ran, in order.
///
/// ```
/// use sse_test_support::Log;
///
/// let log = Log::default();
/// let writer = log.clone();
/// std::thread::spawn(move || writer.push("ran")).join().unwrap();
/// assert_eq!(log.entries(), ["ran"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends `entry`.
    pub fn push(&self, entry: impl Into<String>) {
        self.lock().push(entry.into());
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        // A test that panicked while pushing must not hide the log from the
        // assertion that reports it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A boolean that is set once, e.g. "the stream was dropped".
#[derive(Debug, Clone, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A counter, e.g. "items produced" or "clean-ups run".
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Adds one.
    pub fn bump(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: usize) {
        self.0.fetch_add(n, Ordering::SeqCst);
    }

    /// The current count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sets its [`Flag`] when dropped: hold one in a stream to learn when the
/// stream is dropped.
///
/// ```
/// use sse_test_support::{DropGuard, Flag};
///
/// let dropped = Flag::default();
/// let guard = DropGuard(dropped.clone());
/// assert!(!dropped.is_set());
/// drop(guard);
/// assert!(dropped.is_set());
/// ```
#[derive(Debug)]
pub struct DropGuard(pub Flag);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set();
    }
}

/// How many of something are alive: each [`Gauge::enter`] counts one until
/// the returned [`Live`] is dropped.
///
/// ```
/// use sse_test_support::Gauge;
///
/// let streams = Gauge::default();
/// let first = streams.enter();
/// let second = streams.enter();
/// assert_eq!(streams.get(), 2);
/// drop(first);
/// assert_eq!(streams.get(), 1);
/// # drop(second);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicUsize>);

impl Gauge {
    /// Counts one more alive until the result is dropped.
    pub fn enter(&self) -> Live {
        self.0.fetch_add(1, Ordering::SeqCst);
        Live(self.clone())
    }

    /// How many are alive now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// One alive in a [`Gauge`]; dropping it counts it out.
#[derive(Debug)]
pub struct Live(Gauge);

impl Drop for Live {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The resident memory of process `pid` in KiB, from `/proc/PID/status`
/// (0 where it cannot be read: another OS, or the process is gone).
pub fn rss_kib_of(pid: u32) -> u64 {
    rss_in(&format!("/proc/{pid}/status"))
}

/// [`rss_kib_of`] this process.
pub fn rss_kib() -> u64 {
    rss_in("/proc/self/status")
}

fn rss_in(status: &str) -> u64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|status| {
            let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
            line.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}
