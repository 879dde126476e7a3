//! The item encoders: how one item of a route's stream becomes bytes, and
//! whether the stream goes on after it. The generated code picks one per
//! stream through `__private::Probe`, so that `Result` items get their own
//! treatment without specialisation.

use std::fmt::Display;

use bytes::BytesMut;

use crate::encode;
use crate::item::IntoEvent;

/// Whether the stream goes on after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep streaming.
    Continue,
    /// The item ended the stream (an error event was sent).
    End,
}

/// Turns one item of a route's stream into bytes; chosen per stream by
/// `__private::Probe` so that `Result` items get their own treatment.
pub trait ItemEncoder<I> {
    /// Appends `item` to `buf`.
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow;
}

/// Items that are events in their own right.
#[derive(Debug, Clone, Copy)]
pub struct PlainItems;

impl<I: IntoEvent> ItemEncoder<I> for PlainItems {
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow {
        match item.encode_into(buf) {
            Ok(()) => Flow::Continue,
            Err(err) => {
                tracing::error!(error = %err, "SSE item could not be encoded; ending the stream");
                encode::error_event(buf, &err);
                Flow::End
            }
        }
    }
}

/// `Result` items: `Ok` is an event, `Err` a final `error` event.
#[derive(Debug, Clone, Copy)]
pub struct ResultItems;

impl<T: IntoEvent, E: Display> ItemEncoder<Result<T, E>> for ResultItems {
    fn encode(&self, item: Result<T, E>, buf: &mut BytesMut) -> Flow {
        match item {
            Ok(item) => PlainItems.encode(item, buf),
            Err(err) => {
                encode::error_event(buf, &err);
                Flow::End
            }
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
        assert_eq!(run(PlainItems, "x"), (Flow::Continue, "data: x\n\n".into()));
    }

    #[test]
    fn an_item_that_cannot_be_encoded_ends_the_stream() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        let (flow, wire) = run(PlainItems, map);
        assert_eq!(flow, Flow::End);
        assert!(wire.starts_with("event: error\ndata: "), "{wire}");
    }

    #[test]
    fn result_items() {
        assert_eq!(
            run(ResultItems, Ok::<_, &str>("x")),
            (Flow::Continue, "data: x\n\n".into())
        );
        assert_eq!(
            run(ResultItems, Err::<&str, _>("gone")),
            (Flow::End, "event: error\ndata: gone\n\n".into())
        );
    }
}
