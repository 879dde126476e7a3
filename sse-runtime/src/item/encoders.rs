//! The item encoders: how one item of a route's stream becomes bytes, and
//! whether the stream goes on after it. The generated code picks one per
//! stream through `__private::Probe`, so that `Result` items get their own
//! treatment without specialisation.

use bytes::{Bytes, BytesMut};

use crate::event::EventError;
use crate::item::{IntoEvent, ItemError};

/// Whether the stream goes on after an item, and if not, why.
#[derive(Debug)]
pub enum Flow {
    /// Keep streaming.
    Continue,
    /// The item could not be encoded (its `Serialize` failed). The stream
    /// ends with an error event whose text is generic: the error's own
    /// text may hold anything (a database URL, a password) and is logged
    /// instead.
    Failed(EventError),
    /// The item was the user's own `Err`: the stream ends with an error
    /// event. Its text is `public` if the error type chose to show it
    /// ([`crate::Shown`]), else the generic one; `detail` goes to the log.
    ItemErr {
        /// What the client may read, if anything.
        public: Option<String>,
        /// The error's own text, for the log.
        detail: String,
    },
}

/// Turns one item of a route's stream into bytes; chosen per stream by
/// `__private::Probe` so that `Result` items get their own treatment.
pub trait ItemEncoder<I> {
    /// Appends `item` to `buf` as one whole event, or tells why the stream
    /// ends instead (the caller writes the error event).
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow;

    /// The item's bytes if it is one whole encoded event that can go out
    /// as is (see [`IntoEvent::into_encoded`]); `Err(item)` otherwise.
    fn encoded(&self, item: I) -> Result<Bytes, I> {
        Err(item)
    }
}

/// Items that are events in their own right.
#[derive(Debug, Clone, Copy)]
pub struct PlainItems;

impl<I: IntoEvent> ItemEncoder<I> for PlainItems {
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow {
        match item.encode_into(buf) {
            Ok(()) => Flow::Continue,
            Err(err) => Flow::Failed(err),
        }
    }

    fn encoded(&self, item: I) -> Result<Bytes, I> {
        item.into_encoded()
    }
}

/// `Result` items: `Ok` is an event, `Err` a final `error` event.
#[derive(Debug, Clone, Copy)]
pub struct ResultItems;

impl<T: IntoEvent, E: ItemError> ItemEncoder<Result<T, E>> for ResultItems {
    fn encode(&self, item: Result<T, E>, buf: &mut BytesMut) -> Flow {
        match item {
            Ok(item) => PlainItems.encode(item, buf),
            Err(err) => Flow::ItemErr {
                public: err.public_message(),
                detail: err.detail(),
            },
        }
    }

    fn encoded(&self, item: Result<T, E>) -> Result<Bytes, Result<T, E>> {
        match item {
            Ok(item) => item.into_encoded().map_err(Ok),
            Err(err) => Err(Err(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<I>(encoder: impl ItemEncoder<I>, item: I) -> (Flow, String) {
        let mut buf = BytesMut::new();
        let flow = encoder.encode(item, &mut buf);
        (flow, String::from_utf8(buf.to_vec()).unwrap())
    }

    #[test]
    fn plain_items_continue() {
        let (flow, wire) = run(PlainItems, "x");
        assert!(matches!(flow, Flow::Continue));
        assert_eq!(wire, "data: x\n\n");
    }

    #[test]
    fn an_item_that_cannot_be_encoded_fails_and_writes_nothing() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        let (flow, wire) = run(PlainItems, map);
        assert!(
            matches!(flow, Flow::Failed(EventError::Json(_))),
            "{flow:?}"
        );
        assert_eq!(wire, "");
    }

    #[test]
    fn result_items() {
        let (flow, wire) = run(ResultItems, Ok::<_, &str>("x"));
        assert!(matches!(flow, Flow::Continue));
        assert_eq!(wire, "data: x\n\n");
        let (flow, wire) = run(ResultItems, Err::<&str, _>("postgres://u:pw@db"));
        assert!(
            matches!(flow, Flow::ItemErr { public: None, ref detail } if detail == "postgres://u:pw@db"),
            "{flow:?}"
        );
        assert_eq!(wire, "");
        let (flow, _) = run(ResultItems, Err::<&str, _>(crate::Shown("try later")));
        assert!(
            matches!(flow, Flow::ItemErr { public: Some(ref text), .. } if text == "try later"),
            "{flow:?}"
        );
    }
}
