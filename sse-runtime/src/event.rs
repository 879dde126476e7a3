//! [`Event`]: one SSE event with full control over its fields.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::encode;

/// Room reserved by an event's first field; larger events grow as needed.
const INITIAL_CAPACITY: usize = 64;

/// One server-sent event, built field by field and encoded as it is built.
///
/// Fields are written to the wire format the moment they are set, so sending
/// an `Event` costs no further formatting. The builder is *checked*: the two
/// single-line fields that a line break could turn into an injection,
/// [`event`](Event::event) and [`id`](Event::id), return a
/// [`Result`]; everything else accepts any text and frames it exactly.
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::Event;
///
/// # fn main() -> Result<(), sse_runtime::EventError> {
/// let event = Event::default()
///     .event("notification")?
///     .id("42")?
///     .data("two\nlines")
///     .retry(Duration::from_secs(3));
/// assert_eq!(
///     event.encode().as_ref(),
///     b"event: notification\nid: 42\ndata: two\ndata: lines\nretry: 3000\n\n"
/// );
///
/// // A line break in a name is refused instead of forging a second event.
/// assert!(Event::default().event("x\ndata: forged").is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Event {
    buf: BytesMut,
}

impl Event {
    /// Appends `text` as the event's data.
    ///
    /// Text is split on CRLF, CR and LF into `data:` lines, which a client
    /// joins back with `\n`: line breaks of any style arrive as `\n`, and
    /// nothing in `text` can end the event early. Calling `data` twice
    /// appends: the client sees both texts joined by `\n`. An empty string
    /// still makes an event (browsers dispatch it with empty data).
    ///
    /// ```
    /// # use sse_runtime::Event;
    /// assert_eq!(Event::default().data("a\r\nb").encode().as_ref(), b"data: a\ndata: b\n\n");
    /// ```
    #[must_use]
    pub fn data(mut self, text: impl AsRef<str>) -> Self {
        encode::text_lines(self.buf_mut(), b"data", text.as_ref());
        self
    }

    /// Appends `value`, serialised as compact JSON, as the event's data.
    ///
    /// The JSON is written straight into the event's buffer. Fails only when
    /// `serde_json` does (a map with non-string keys, a failing `Serialize`).
    ///
    /// ```
    /// # use sse_runtime::Event;
    /// # fn main() -> Result<(), sse_runtime::EventError> {
    /// let event = Event::default().json(&serde_json::json!({"count": 1}))?;
    /// assert_eq!(event.encode().as_ref(), b"data: {\"count\":1}\n\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Result<Self, EventError> {
        encode::json_data(self.buf_mut(), value).map_err(EventError::Json)?;
        Ok(self)
    }

    /// An event of type `name`, a name checked when the program is compiled
    /// (see [`event_name!`](crate::event_name)): nothing to unwrap, so it
    /// fits in a `.map(..)` closure.
    ///
    /// ```
    /// use sse_runtime::{event_name, Event};
    ///
    /// let tick = Event::named(event_name!("tick")).data("1");
    /// assert_eq!(tick.encode().as_ref(), b"event: tick\ndata: 1\n\n");
    /// ```
    pub fn named(name: EventName) -> Self {
        let mut event = Event::default();
        encode::field(event.buf_mut(), b"event", name.0.as_bytes());
        event
    }

    /// Sets the event type (`event:` field); clients dispatch it to
    /// listeners of that name instead of `message`.
    ///
    /// For a name known when the program is compiled,
    /// [`Event::named`] with [`event_name!`](crate::event_name) checks it
    /// then, and has no error to handle.
    ///
    /// # Errors
    /// [`EventError::LineBreak`] if `name` contains CR or LF.
    pub fn event(mut self, name: impl AsRef<str>) -> Result<Self, EventError> {
        let name = name.as_ref();
        check(Field::Event, name, b"\r\n")?;
        encode::field(self.buf_mut(), b"event", name.as_bytes());
        Ok(self)
    }

    /// Sets the event id (`id:` field), which the client sends back as
    /// `Last-Event-ID` when it reconnects. An empty id resets it.
    ///
    /// # Errors
    /// [`EventError::LineBreak`] for CR or LF, [`EventError::Nul`] for a NUL
    /// character (a browser would silently ignore such an id).
    pub fn id(mut self, id: impl AsRef<str>) -> Result<Self, EventError> {
        let id = id.as_ref();
        check(Field::Id, id, b"\r\n\0")?;
        encode::field(self.buf_mut(), b"id", id.as_bytes());
        Ok(self)
    }

    /// Tells the client how long to wait before reconnecting (`retry:`,
    /// whole milliseconds).
    #[must_use]
    pub fn retry(mut self, after: Duration) -> Self {
        encode::retry(self.buf_mut(), after);
        self
    }

    /// Adds a comment, which clients ignore (useful for debugging and as a
    /// heartbeat). Multi-line text becomes several comment lines.
    ///
    /// ```
    /// # use sse_runtime::Event;
    /// assert_eq!(Event::default().comment("hi").encode().as_ref(), b": hi\n\n");
    /// ```
    #[must_use]
    pub fn comment(mut self, text: impl AsRef<str>) -> Self {
        encode::text_lines(self.buf_mut(), b"", text.as_ref());
        self
    }

    /// Finishes the event into its wire form, ready to be shared between
    /// many connections.
    #[must_use]
    pub fn encode(mut self) -> EncodedEvent {
        encode::end(&mut self.buf);
        EncodedEvent(self.buf.freeze())
    }

    /// The buffer to write a field into. The first field allocates room
    /// for a typical small event at once, instead of growing the buffer
    /// field by field (three allocations for event + id + data).
    fn buf_mut(&mut self) -> &mut BytesMut {
        if self.buf.capacity() == 0 {
            self.buf.reserve(INITIAL_CAPACITY);
        }
        &mut self.buf
    }

    /// The fields written so far, without the terminating blank line.
    pub(crate) fn fields(&self) -> &[u8] {
        &self.buf
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Event")
            .field(&String::from_utf8_lossy(&self.buf))
            .finish()
    }
}

fn check(field: Field, value: &str, forbidden: &[u8]) -> Result<(), EventError> {
    match value.bytes().position(|b| forbidden.contains(&b)) {
        None => Ok(()),
        Some(at) if value.as_bytes()[at] == 0 => Err(EventError::Nul { field, at }),
        Some(at) => Err(EventError::LineBreak { field, at }),
    }
}

/// An event type (`event:` field) checked when the program is compiled:
/// made by [`event_name!`](crate::event_name), sent with [`Event::named`].
///
/// ```
/// use sse_runtime::{event_name, EventName};
///
/// const PROGRESS: EventName = event_name!("progress");
/// assert_eq!(PROGRESS.as_str(), "progress");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventName(&'static str);

impl EventName {
    /// Checks `name`; in a const context, a line break is a compile error.
    /// Reached only through `event_name!`, which forces a const context.
    pub(crate) const fn checked(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] == b'\r' || bytes[at] == b'\n' {
                panic!("an SSE event name must be a single line: this one contains CR or LF, which could forge extra fields or events");
            }
            at += 1;
        }
        EventName(name)
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl AsRef<str> for EventName {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// An event in wire form: encoded once, cheap to clone and send to many
/// clients (it is a reference-counted [`Bytes`]).
///
/// ```
/// # use sse_runtime::{EncodedEvent, Event};
/// let shared: EncodedEvent = Event::default().data("tick").encode();
/// let for_another_client = shared.clone(); // no copy of the bytes
/// assert_eq!(for_another_client.as_ref(), b"data: tick\n\n");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedEvent(pub(crate) Bytes);

impl EncodedEvent {
    /// The last item of a stream that should be resumed rather than closed
    /// when it ends (see `encode::resume_frame`).
    pub(crate) fn resume() -> EncodedEvent {
        EncodedEvent(crate::encode::resume_frame())
    }

    /// The encoded bytes, including the terminating blank line.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }
}

impl AsRef<[u8]> for EncodedEvent {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<EncodedEvent> for Bytes {
    fn from(event: EncodedEvent) -> Bytes {
        event.0
    }
}

impl From<Event> for EncodedEvent {
    fn from(event: Event) -> Self {
        event.encode()
    }
}

impl fmt::Debug for EncodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EncodedEvent")
            .field(&String::from_utf8_lossy(&self.0))
            .finish()
    }
}

/// The event field a value was meant for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The `event:` field (event type).
    Event,
    /// The `id:` field.
    Id,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Event => "event",
            Field::Id => "id",
        })
    }
}

/// Why an [`Event`] could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum EventError {
    /// A single-line field held a CR or LF, which would let the value start
    /// new fields or events on the wire.
    LineBreak {
        /// The field concerned.
        field: Field,
        /// Byte offset of the line break in the value.
        at: usize,
    },
    /// An `id` held a NUL character, which clients ignore the whole id for.
    Nul {
        /// The field concerned.
        field: Field,
        /// Byte offset of the NUL in the value.
        at: usize,
    },
    /// The value passed to [`Event::json`] could not be serialised.
    Json(serde_json::Error),
}

impl EventError {
    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<Field> {
        match self {
            EventError::LineBreak { field, .. } | EventError::Nul { field, .. } => Some(*field),
            EventError::Json(_) => None,
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::LineBreak { field, at } => write!(
                f,
                "SSE `{field}` field contains a line break at byte {at}; it must be a single line"
            ),
            EventError::Nul { field, at } => {
                write!(
                    f,
                    "SSE `{field}` field contains a NUL character at byte {at}"
                )
            }
            EventError::Json(err) => {
                write!(f, "SSE event data could not be serialised as JSON: {err}")
            }
        }
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EventError::Json(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(e: Event) -> String {
        String::from_utf8(e.encode().as_ref().to_vec()).unwrap()
    }

    #[test]
    fn fields_in_call_order() {
        let e = Event::default()
            .comment("c")
            .event("e")
            .unwrap()
            .id("1")
            .unwrap()
            .retry(Duration::from_millis(1500))
            .data("d");
        assert_eq!(wire(e), ": c\nevent: e\nid: 1\nretry: 1500\ndata: d\n\n");
    }

    #[test]
    fn rejects_injection_in_single_line_fields() {
        for bad in ["a\nb", "a\rb", "a\r\n", "\n"] {
            let err = Event::default().event(bad).unwrap_err();
            assert_eq!(err.field(), Some(Field::Event));
            assert!(matches!(err, EventError::LineBreak { .. }));
            assert!(matches!(
                Event::default().id(bad),
                Err(EventError::LineBreak { .. })
            ));
        }
        let err = Event::default().id("a\0").unwrap_err();
        assert!(matches!(
            err,
            EventError::Nul {
                field: Field::Id,
                at: 1
            }
        ));
        assert_eq!(
            err.to_string(),
            "SSE `id` field contains a NUL character at byte 1"
        );
        // NUL is fine in an event name: the parser keeps it.
        assert!(Event::default().event("a\0").is_ok());
    }

    #[test]
    fn named_events_are_checked_at_compile_time() {
        const TICK: EventName = crate::event_name!("tick");
        assert_eq!(
            wire(Event::named(TICK).data("1")),
            "event: tick\ndata: 1\n\n"
        );
        assert_eq!(
            wire(Event::named(crate::event_name!("a\0b"))),
            "event: a\0b\n\n"
        );
        // A runtime-checked name is the same bytes.
        assert_eq!(Event::named(TICK), Event::default().event(TICK).unwrap());
    }

    #[test]
    fn empty_values() {
        assert_eq!(wire(Event::default().data("")), "data:\n\n");
        assert_eq!(wire(Event::default().id("").unwrap()), "id:\n\n");
        assert_eq!(wire(Event::default()), "\n");
    }

    #[test]
    fn data_appends() {
        assert_eq!(
            wire(Event::default().data("a").data("b")),
            "data: a\ndata: b\n\n"
        );
    }
}
