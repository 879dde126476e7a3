//! Where a publish gets its id and how it reaches the subscribers: the
//! seam a backplane plugs into.
//!
//! A publish is two steps, kept apart on purpose:
//!
//! 1. **assign** an id: the next hub-wide sequence number;
//! 2. **deliver** it: append the sealed event to the topic's ring and wake
//!    the topic's waiting subscribers ([`Registry::deliver`]), the local
//!    fan-out, encode-once, whatever the engine.
//!
//! The in-memory engine does both under the registry lock. The Redis
//! engine (feature `redis`, [`crate::backplane`]) assigns the number inside
//! its publish script (`INCR`, then `XADD` into the topic's stream with the
//! explicit id `<seq>-0`, then `PUBLISH`), and every instance's pub/sub
//! reader calls step 2 with that number, in order; a jump in the numbers
//! means pub/sub lost a message and is filled from the stream first.
//! Subscriptions never see the difference: they read rings either way.
//!
//! [`Registry::deliver`]: super::registry::Registry::deliver

use parking_lot::Mutex;
use tokio::time::Instant;

use super::error::PublishError;
use super::options::Options;
use super::registry::{Closed, Full, Registry};
use super::wire::Body;
use crate::resume::EventId;

/// The id source and fan-out of a hub.
pub(crate) enum Engine {
    /// Ids from a counter in this process; fan-out to this process's
    /// subscribers. Nothing is shared with other processes.
    Memory,
    /// Ids and history in Redis; its pub/sub reader delivers to this
    /// process's subscribers.
    #[cfg(feature = "redis")]
    Redis(crate::backplane::redis::Redis),
}

impl Engine {
    /// Publishes `body` to `topic` in memory and wakes whom it concerns.
    pub(crate) fn publish_local(
        registry: &Mutex<Registry>,
        options: &Options,
        topic: &str,
        body: Body,
    ) -> Result<EventId, PublishError> {
        let now = Instant::now();
        let (id, wake) = {
            let mut registry = registry.lock();
            registry.sweep_if_due(options, now);
            // A refused topic uses up no id: nothing was published.
            let target =
                registry
                    .for_publish(topic, options, now)
                    .map_err(|Full| PublishError::Full {
                        topic: topic.to_owned(),
                    })?;
            let id = EventId::new(registry.epoch, registry.seq + 1);
            registry
                .deliver(target, topic, id, body, options, now)
                .map(|wake| (id, wake))
                .map_err(|Closed| PublishError::Closed {
                    topic: topic.to_owned(),
                })?
        };
        // Outside the lock: a woken task may run at once on
        // another thread and would only wait for it.
        for waker in wake {
            waker.wake();
        }
        Ok(id)
    }
}
