//! The bytes the hub sends: a published item encoded once, sealed with the
//! hub's id; and the hub's own events (`sse-missed`, the position marker,
//! presence).

use std::fmt::Write;

use bytes::BytesMut;

use crate::event::{EncodedEvent, Event, EventError};
use crate::item::IntoEvent;
use crate::resume::EventId;

/// Room for `id: <16 hex>-<20 digits>\n\n`, reserved up front so sealing
/// never reallocates.
const ID_ROOM: usize = 44;

/// An event's fields without the blank line that ends it: what the hub
/// appends its `id:` line to.
#[derive(Debug, Clone)]
pub(crate) struct Body(BytesMut);

impl Body {
    /// Encodes `item` once; the only step of a publish that runs user code.
    pub(crate) fn encode(item: impl IntoEvent) -> Result<Self, EventError> {
        let mut buf = BytesMut::new();
        item.encode_into(&mut buf)?;
        Ok(Body::from_event_bytes(buf))
    }

    /// An `event: <name>` event whose data is `item`.
    pub(crate) fn named(name: &str, item: impl IntoEvent) -> Result<Self, EventError> {
        let mut buf = BytesMut::from(Event::default().event(name)?.fields());
        item.encode_into(&mut buf)?;
        Ok(Body::from_event_bytes(buf))
    }

    fn from_event(event: Event) -> Self {
        let mut buf = BytesMut::with_capacity(event.fields().len() + ID_ROOM);
        buf.extend_from_slice(event.fields());
        Body(buf)
    }

    /// `buf` holds one complete event; drops its terminating blank line.
    fn from_event_bytes(mut buf: BytesMut) -> Self {
        // Every encoder ends an event with `\n`; the check keeps a future
        // one that does not from losing a byte of its last field.
        if buf.last() == Some(&b'\n') {
            buf.truncate(buf.len() - 1);
        }
        buf.reserve(ID_ROOM);
        Body(buf)
    }

    /// The fields as published, for a backplane to carry.
    #[cfg(feature = "redis")]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Fields a backplane carried (from [`as_bytes`](Self::as_bytes)).
    #[cfg(feature = "redis")]
    pub(crate) fn from_wire(fields: &[u8]) -> Self {
        let mut buf = BytesMut::with_capacity(fields.len() + ID_ROOM);
        buf.extend_from_slice(fields);
        Body(buf)
    }

    /// The event on the wire, with the hub's id as its last field so that
    /// it wins over any `id` the item set itself.
    pub(crate) fn seal(mut self, id: EventId) -> EncodedEvent {
        // `BytesMut`'s `fmt::Write` only appends; it cannot fail.
        let _ = write!(self.0, "id: {id}\n\n");
        EncodedEvent(self.0.freeze())
    }
}

/// The data of an `sse-missed` event.
#[derive(serde::Serialize)]
struct Missed<'a> {
    reason: &'a str,
    topics: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    missed: Option<u64>,
}

/// The event that tells a client it missed events: see
/// [`MISSED_EVENT`](super::MISSED_EVENT).
pub(crate) fn missed(
    reason: &str,
    topics: &[&str],
    missed: Option<u64>,
    id: Option<EventId>,
) -> EncodedEvent {
    let data = Missed {
        reason,
        topics,
        missed,
    };
    // Strings and an integer: serialising cannot fail, nor can a constant
    // name be refused.
    let event = Event::default()
        .event(super::MISSED_EVENT)
        .unwrap_or_default()
        .data(serde_json::to_string(&data).unwrap_or_default());
    match id {
        Some(id) => Body::from_event(event).seal(id),
        None => event.encode(),
    }
}

/// An event with only an id: browsers dispatch nothing but remember the
/// id, so a client that reconnects before any event resumes from here.
pub(crate) fn position(id: EventId) -> EncodedEvent {
    Body(BytesMut::with_capacity(ID_ROOM)).seal(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(event: &EncodedEvent) -> &str {
        std::str::from_utf8(event.as_ref()).unwrap()
    }

    #[test]
    fn the_hub_id_comes_last() {
        let id = EventId::new(0xab, 12);
        let sealed = Body::encode(Event::default().id("mine").unwrap().data("x"))
            .unwrap()
            .seal(id);
        assert_eq!(text(&sealed), "id: mine\ndata: x\nid: ab-12\n\n");
        assert_eq!(
            text(&Body::encode("hi").unwrap().seal(id)),
            "data: hi\nid: ab-12\n\n"
        );
        assert_eq!(
            text(&Body::encode(Event::default()).unwrap().seal(id)),
            "id: ab-12\n\n"
        );
        let shared = Event::default().data("s").encode();
        assert_eq!(
            text(&Body::encode(shared).unwrap().seal(id)),
            "data: s\nid: ab-12\n\n"
        );
    }

    #[test]
    fn sealing_does_not_reallocate() {
        let body = Body::encode(serde_json::json!({"a": 1})).unwrap();
        let capacity = body.0.capacity();
        let id = EventId::new(u64::MAX, u64::MAX);
        let sealed = body.seal(id);
        assert!(sealed.as_ref().len() <= capacity);
    }

    #[test]
    fn named_events() {
        let id = EventId::new(1, 2);
        let body = Body::named("user-joined", "ann").unwrap();
        assert_eq!(
            text(&body.seal(id)),
            "event: user-joined\ndata: ann\nid: 1-2\n\n"
        );
        assert!(Body::named("a\nb", "ann").is_err());
    }

    #[test]
    fn missed_and_position_events() {
        let event = missed("too-old", &["a", "b\"c"], None, Some(EventId::new(1, 9)));
        assert_eq!(
            text(&event),
            "event: sse-missed\ndata: {\"reason\":\"too-old\",\"topics\":[\"a\",\"b\\\"c\"]}\nid: 1-9\n\n"
        );
        let event = missed("lagged", &["t"], Some(3), None);
        assert_eq!(
            text(&event),
            "event: sse-missed\ndata: {\"reason\":\"lagged\",\"topics\":[\"t\"],\"missed\":3}\n\n"
        );
        assert_eq!(text(&position(EventId::new(1, 9))), "id: 1-9\n\n");
    }
}
