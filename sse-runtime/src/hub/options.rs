//! Configuration: [`HubBuilder`], per-topic [`TopicOptions`] and the
//! [`Overflow`] policy, resolved into one [`Limits`] per topic; and the
//! hub-wide bounds (topics, bytes) that hold whatever the topics' own
//! settings.

use std::time::Duration;

use super::Hub;

/// What happens to a subscriber that falls further behind than its queue
/// bound (see the module docs, "Lagging").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// End the laggard's stream. Its client reconnects with
    /// `Last-Event-ID` and resumes from history, so with enough history
    /// nothing is lost. The default for topics with history.
    Disconnect,
    /// Jump the laggard to the newest event and tell it how many it missed
    /// with an [`sse-missed`](super::MISSED_EVENT) event. The default for
    /// topics without history.
    Skip,
}

/// Settings for the topics whose name starts with a prefix, given to
/// [`HubBuilder::topics`]. Unset fields keep the hub's setting.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::hub::{Hub, Overflow, TopicOptions};
///
/// let hub = Hub::builder()
///     .history(100)
///     // A task's progress: keep it all (the topic is closed when done).
///     .topics(
///         "progress/",
///         TopicOptions::new().history(usize::MAX).history_bytes(usize::MAX).no_history_age(),
///     )
///     // A ticker: no history, newest value first.
///     .topics("ticker/", TopicOptions::new().history(0).queue(16).overflow(Overflow::Skip))
///     .build();
/// # drop(hub);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TopicOptions {
    history: Option<usize>,
    history_bytes: Option<usize>,
    history_age: Option<Option<Duration>>,
    queue: Option<usize>,
    queue_bytes: Option<usize>,
    overflow: Option<Overflow>,
}

impl TopicOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep at most `events` past events for resuming clients (0: none).
    #[must_use]
    pub fn history(mut self, events: usize) -> Self {
        self.history = Some(events);
        self
    }

    /// Keep at most `bytes` of past events (their encoded size).
    #[must_use]
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = Some(bytes);
        self
    }

    /// Forget past events older than `age` (the hub's default:
    /// [`DEFAULT_HISTORY_AGE`]).
    #[must_use]
    pub fn history_age(mut self, age: Duration) -> Self {
        self.history_age = Some(Some(age));
        self
    }

    /// Keep past events whatever their age: only the count and bytes
    /// bound the history. For topics whose history must outlive any
    /// reconnect, e.g. a task's progress that is closed when done; a topic
    /// nobody subscribes to is then held until the hub-wide bounds (see
    /// [`HubBuilder::max_topics`]) make room for others.
    #[must_use]
    pub fn no_history_age(mut self) -> Self {
        self.history_age = Some(None);
        self
    }

    /// Let a subscriber fall at most `events` behind the newest event
    /// (values below 1 count as 1).
    #[must_use]
    pub fn queue(mut self, events: usize) -> Self {
        self.queue = Some(events);
        self
    }

    /// Let a subscriber fall at most `bytes` behind the newest event; one
    /// event larger than that is still delivered on its own.
    #[must_use]
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = Some(bytes);
        self
    }

    /// What to do with a subscriber beyond its queue bound.
    #[must_use]
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = Some(overflow);
        self
    }

    /// `self`, with the fields it leaves unset taken from `base`.
    fn over(&self, base: &TopicOptions) -> TopicOptions {
        TopicOptions {
            history: self.history.or(base.history),
            history_bytes: self.history_bytes.or(base.history_bytes),
            history_age: self.history_age.or(base.history_age),
            queue: self.queue.or(base.queue),
            queue_bytes: self.queue_bytes.or(base.queue_bytes),
            overflow: self.overflow.or(base.overflow),
        }
    }

    fn resolve(&self) -> Limits {
        let history_events = self.history.unwrap_or(0);
        let history_bytes = self.history_bytes.unwrap_or(DEFAULT_HISTORY_BYTES);
        let keeps_history = history_events > 0 && history_bytes > 0;
        // Without history there is nothing to age: leaving the age out
        // spares the sweep and the ring a clock per event.
        let history_age = match self.history_age {
            _ if !keeps_history => None,
            None => Some(DEFAULT_HISTORY_AGE),
            Some(age) => age,
        };
        Limits {
            history_events,
            history_bytes,
            history_age,
            queue_events: self.queue.unwrap_or(DEFAULT_QUEUE).max(1),
            queue_bytes: self.queue_bytes.unwrap_or(DEFAULT_QUEUE_BYTES),
            overflow: self.overflow.unwrap_or(if keeps_history {
                Overflow::Disconnect
            } else {
                Overflow::Skip
            }),
        }
    }
}

/// Default history bound in bytes, once a count is set.
pub const DEFAULT_HISTORY_BYTES: usize = 4 << 20;
/// Default age bound of a topic's history: past events older than this
/// are forgotten, whatever the count and bytes allow (see the module
/// docs, "History", for why every history has one).
pub const DEFAULT_HISTORY_AGE: Duration = Duration::from_secs(300);
/// Default bound on the number of topics a hub holds at once (see the
/// module docs, "Bounds").
pub const DEFAULT_MAX_TOPICS: usize = 65_536;
/// Default bound on the encoded bytes all the topics of a hub hold
/// together (see the module docs, "Bounds").
pub const DEFAULT_MAX_TOTAL_BYTES: usize = 64 << 20;
/// Default queue bound in events.
pub const DEFAULT_QUEUE: usize = 1024;
/// Default queue bound in bytes.
pub const DEFAULT_QUEUE_BYTES: usize = 1 << 20;
/// Default number of closed topics remembered.
pub const DEFAULT_CLOSED_TOPICS: usize = 1024;
/// Default time a closed topic is remembered.
pub const DEFAULT_CLOSED_FOR: Duration = Duration::from_secs(600);

/// One topic's settings, every field decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) history_events: usize,
    pub(crate) history_bytes: usize,
    pub(crate) history_age: Option<Duration>,
    pub(crate) queue_events: usize,
    pub(crate) queue_bytes: usize,
    pub(crate) overflow: Overflow,
}

impl Limits {
    /// Whether a topic with these limits keeps anything when nobody
    /// listens.
    pub(crate) fn keeps_history(&self) -> bool {
        self.history_events > 0 && self.history_bytes > 0
    }
}

/// The settings of a whole hub, resolved per topic on demand.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    defaults: TopicOptions,
    /// Longest prefix first, so the first match is the most specific.
    prefixes: Vec<(String, TopicOptions)>,
    pub(crate) closed_topics: usize,
    pub(crate) closed_for: Duration,
    pub(crate) max_topics: usize,
    pub(crate) max_bytes: usize,
}

impl Options {
    pub(crate) fn limits(&self, topic: &str) -> Limits {
        match self
            .prefixes
            .iter()
            .find(|(p, _)| topic.starts_with(p.as_str()))
        {
            Some((_, options)) => options.over(&self.defaults).resolve(),
            None => self.defaults.resolve(),
        }
    }
}

/// Builds a [`Hub`]: history, queue bounds and overflow policy for all
/// topics, overrides by topic prefix, how long closed topics are
/// remembered, and the hub-wide bounds.
///
/// Defaults: no history (once a count is set: 4 MiB and 5 minutes); a
/// queue of 1 024 events and 1 MiB; [`Overflow::Disconnect`] for topics
/// with history, [`Overflow::Skip`] without; 1 024 closed topics
/// remembered for 10 minutes; at most 65 536 topics and 64 MiB of events
/// in the whole hub.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::hub::Hub;
///
/// let hub = Hub::builder()
///     .history(1_000)
///     .history_age(Duration::from_secs(300))
///     .queue(256)
///     .build();
/// # drop(hub);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct HubBuilder {
    defaults: TopicOptions,
    prefixes: Vec<(String, TopicOptions)>,
    closed_topics: usize,
    closed_for: Duration,
    max_topics: usize,
    max_bytes: usize,
}

impl Default for HubBuilder {
    fn default() -> Self {
        HubBuilder {
            defaults: TopicOptions::default(),
            prefixes: Vec::new(),
            closed_topics: DEFAULT_CLOSED_TOPICS,
            closed_for: DEFAULT_CLOSED_FOR,
            max_topics: DEFAULT_MAX_TOPICS,
            max_bytes: DEFAULT_MAX_TOTAL_BYTES,
        }
    }
}

impl HubBuilder {
    /// Keep at most `events` past events per topic (0: none, the default).
    pub fn history(mut self, events: usize) -> Self {
        self.defaults = self.defaults.history(events);
        self
    }

    /// Keep at most `bytes` of past events per topic (default 4 MiB).
    pub fn history_bytes(mut self, bytes: usize) -> Self {
        self.defaults = self.defaults.history_bytes(bytes);
        self
    }

    /// Forget past events older than `age` (default 5 minutes,
    /// [`DEFAULT_HISTORY_AGE`]).
    pub fn history_age(mut self, age: Duration) -> Self {
        self.defaults = self.defaults.history_age(age);
        self
    }

    /// Keep past events whatever their age (see
    /// [`TopicOptions::no_history_age`]); better set per topic prefix.
    pub fn no_history_age(mut self) -> Self {
        self.defaults = self.defaults.no_history_age();
        self
    }

    /// Let a subscriber fall at most `events` behind (default 1 024).
    pub fn queue(mut self, events: usize) -> Self {
        self.defaults = self.defaults.queue(events);
        self
    }

    /// Let a subscriber fall at most `bytes` behind (default 1 MiB).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.defaults = self.defaults.queue_bytes(bytes);
        self
    }

    /// The policy for subscribers beyond their queue bound.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.defaults = self.defaults.overflow(overflow);
        self
    }

    /// Different settings for topics whose name starts with `prefix`; the
    /// longest matching prefix wins, unset fields keep the hub's settings.
    pub fn topics(mut self, prefix: impl Into<String>, options: TopicOptions) -> Self {
        let prefix = prefix.into();
        self.prefixes.retain(|(p, _)| *p != prefix);
        self.prefixes.push((prefix, options));
        self
    }

    /// Remember at most `count` closed topics, each for at most `time`
    /// (see the module docs, "Closing").
    pub fn remember_closed(mut self, count: usize, time: Duration) -> Self {
        self.closed_topics = count;
        self.closed_for = time;
        self
    }

    /// Hold at most `count` topics at once (default 65 536,
    /// [`DEFAULT_MAX_TOPICS`]; values below 1 count as 1): past it, the
    /// longest-idle topic without subscribers is freed to make room, and
    /// if there is none a new topic is refused (see the module docs,
    /// "Bounds").
    pub fn max_topics(mut self, count: usize) -> Self {
        self.max_topics = count.max(1);
        self
    }

    /// Hold at most `bytes` of encoded events in all topics together
    /// (default 64 MiB, [`DEFAULT_MAX_TOTAL_BYTES`]): past it, the
    /// longest-idle topics without subscribers are freed; topics with
    /// subscribers keep what their own limits allow (see the module docs,
    /// "Bounds").
    pub fn max_total_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The hub, with a fresh epoch.
    pub fn build(self) -> Hub {
        Hub::from_options(self.into_options())
    }

    pub(crate) fn into_options(self) -> Options {
        let mut prefixes = self.prefixes;
        prefixes.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Options {
            defaults: self.defaults,
            prefixes,
            closed_topics: self.closed_topics,
            closed_for: self.closed_for,
            max_topics: self.max_topics,
            max_bytes: self.max_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pick_the_policy_from_history() {
        let options = HubBuilder::default().into_options();
        let limits = options.limits("any");
        assert_eq!(limits.history_events, 0);
        assert_eq!(limits.overflow, Overflow::Skip);
        assert_eq!(limits.queue_events, DEFAULT_QUEUE);
        let options = HubBuilder::default().history(10).into_options();
        assert_eq!(options.limits("any").overflow, Overflow::Disconnect);
        let options = HubBuilder::default()
            .history(10)
            .history_bytes(0)
            .into_options();
        assert_eq!(options.limits("any").overflow, Overflow::Skip);
    }

    #[test]
    fn history_has_an_age_unless_opted_out() {
        let options = HubBuilder::default()
            .history(10)
            .topics("forever/", TopicOptions::new().no_history_age())
            .topics(
                "short/",
                TopicOptions::new().history_age(Duration::from_secs(5)),
            )
            .topics("none/", TopicOptions::new().history(0))
            .into_options();
        assert_eq!(options.limits("a").history_age, Some(DEFAULT_HISTORY_AGE));
        assert_eq!(options.limits("forever/a").history_age, None);
        assert_eq!(
            options.limits("short/a").history_age,
            Some(Duration::from_secs(5))
        );
        assert_eq!(options.limits("none/a").history_age, None, "nothing to age");
        let options = HubBuilder::default()
            .history(10)
            .no_history_age()
            .into_options();
        assert_eq!(options.limits("a").history_age, None);
        let options = HubBuilder::default().max_topics(0).into_options();
        assert_eq!(
            (options.max_topics, options.max_bytes),
            (1, DEFAULT_MAX_TOTAL_BYTES)
        );
    }

    #[test]
    fn longest_prefix_wins_over_hub_settings() {
        let options = HubBuilder::default()
            .history(10)
            .queue(0)
            .topics("a/", TopicOptions::new().history(20))
            .topics(
                "a/b/",
                TopicOptions::new()
                    .history(0)
                    .overflow(Overflow::Disconnect),
            )
            .topics("a/", TopicOptions::new().history(30))
            .into_options();
        assert_eq!(options.limits("x").history_events, 10);
        assert_eq!(options.limits("a/x").history_events, 30);
        let ab = options.limits("a/b/c");
        assert_eq!(ab.history_events, 0);
        assert_eq!(ab.overflow, Overflow::Disconnect);
        assert_eq!(ab.queue_events, 1, "a zero queue is raised to one event");
    }
}
