//! A streaming, WHATWG-conformant `text/event-stream` parser.
//!
//! [`EventStreamParser`] turns the bytes of an event stream, delivered in
//! arbitrary chunks, into [`ReceivedEvent`]s exactly as a browser's
//! `EventSource` would (HTML Living Standard, § 9.2.6 "Interpreting an event
//! stream"):
//!
//! * the stream is decoded as UTF-8; invalid bytes become U+FFFD, never an
//!   error. A multi-byte sequence split between two chunks is reassembled; an
//!   incomplete sequence is only replaced when the line it belongs to ends;
//! * one leading byte order mark (U+FEFF) is stripped, a second one is data;
//! * lines end with CRLF, CR or LF — a CR at the end of one chunk followed by
//!   an LF at the start of the next is a single line ending;
//! * lines starting with `:` are comments; a line without a colon is a field
//!   name with an empty value; exactly one space after the colon is removed;
//!   unknown fields are ignored;
//! * `event`, `data`, `id` (ignored if it contains U+0000) and `retry`
//!   (ignored unless it is all ASCII digits) behave as specified, and a blank
//!   line dispatches the event if its data buffer is non-empty;
//! * an event that is not terminated by a blank line when the stream ends is
//!   discarded.
//!
//! The only deviation from the standard is a memory bound: the size of the
//! event being assembled (the pending line plus the data buffer) is limited to
//! [`DEFAULT_MAX_EVENT_SIZE`] (1 MiB) by default, see
//! [`EventStreamParser::with_max_event_size`]. Exceeding it yields
//! [`ParseError::EventTooLarge`] instead of growing without bound.
//!
//! For async byte streams (an HTTP client's body, an actix body) use
//! [`EventStream`] / [`parse_stream`].
//!
//! How exactness is checked: the web-platform-tests `eventsource/format-*`
//! cases are ported as tests with every input split at every byte
//! boundary; property tests check that encoding and then parsing arbitrary
//! field values (CR, LF, CRLF, NUL, BOM, colons, leading spaces) gives back
//! exactly one identical event or a refusal (100 000 cases in CI); and the
//! repository's `fuzz/` holds a `cargo fuzz` target for the parser.
//!
//! # Example
//!
//! ```
//! use sse_runtime::parse::EventStreamParser;
//!
//! let mut parser = EventStreamParser::new();
//! // Chunks may split lines, line endings and UTF-8 sequences anywhere.
//! let mut events = parser.feed(b"event: greeting\nid: 1\ndata: hel").unwrap();
//! assert!(events.is_empty());
//! events.extend(parser.feed(b"lo\r").unwrap());
//! events.extend(parser.feed(b"\ndata: w\xC3").unwrap());
//! events.extend(parser.feed(b"\xB6rld\n\n: a comment\nretry: 1500\n\n").unwrap());
//!
//! assert_eq!(events.len(), 1);
//! assert_eq!(events[0].event, "greeting");
//! assert_eq!(events[0].data, "hello\nwörld");
//! assert_eq!(events[0].id, "1");
//! assert_eq!(parser.last_event_id(), "1");
//! assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(1500)));
//! ```

mod stream;

pub use stream::{parse_stream, EventStream, EventStreamError};

use std::fmt;
use std::time::Duration;

/// Default limit for [`EventStreamParser::max_event_size`]: 1 MiB.
///
/// It bounds the bytes of the line being assembled plus the (decoded) data
/// buffer of the event being assembled, so a peer that never ends a line or
/// never ends an event cannot make the parser allocate without bound.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1024 * 1024;

/// The UTF-8 encoding of U+FEFF BYTE ORDER MARK.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One event dispatched by an [`EventStreamParser`].
///
/// The fields mirror the `MessageEvent` a browser's `EventSource` would fire.
///
/// ```
/// use sse_runtime::parse::{EventStreamParser, ReceivedEvent};
///
/// let events = EventStreamParser::new().feed(b"data: a\ndata: b\n\n").unwrap();
/// assert_eq!(
///     events,
///     [ReceivedEvent { event: "message".into(), data: "a\nb".into(), id: String::new() }]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceivedEvent {
    /// The event type: the last `event` field of the event, or `"message"`
    /// when there was none or it was empty.
    pub event: String,
    /// The `data` field values joined with `"\n"` (no trailing newline).
    pub data: String,
    /// The stream's last event ID at the time of dispatch: the last `id` field
    /// seen so far in the stream (not necessarily in this event), `""` if none
    /// or if it was reset by an empty `id` field.
    pub id: String,
}

impl ReceivedEvent {
    /// Deserializes [`data`](Self::data) as JSON.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// #[derive(serde::Deserialize, Debug, PartialEq)]
    /// struct Tick {
    ///     n: u32,
    /// }
    ///
    /// let events = EventStreamParser::new().feed(b"data: {\"n\": 7}\n\n").unwrap();
    /// assert_eq!(events[0].json::<Tick>().unwrap(), Tick { n: 7 });
    /// ```
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.data)
    }
}

/// Error returned by [`EventStreamParser::feed`] when the stream violates the
/// parser's resource limit.
///
/// Once an error has been returned the parser is *failed*: every further
/// [`feed`](EventStreamParser::feed) returns the same error without looking
/// at its input, until [`finish`](EventStreamParser::finish) starts a new
/// stream.
///
/// ```
/// use sse_runtime::parse::{EventStreamParser, ParseError};
///
/// let mut parser = EventStreamParser::with_max_event_size(8);
/// let err = parser.feed(b"data: 0123456789").unwrap_err();
/// assert_eq!(err, ParseError::EventTooLarge { limit: 8 });
/// assert_eq!(err.to_string(), "event stream: event exceeds the maximum size of 8 bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The pending line plus the data buffer of the event being assembled grew
    /// beyond the configured [`max_event_size`](EventStreamParser::max_event_size).
    EventTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { limit } => write!(
                f,
                "event stream: event exceeds the maximum size of {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for ParseError {}

/// Incremental decoder from event-stream bytes to [`ReceivedEvent`]s.
///
/// Feed it the body chunks in order with [`feed`](Self::feed) (or
/// [`feed_into`](Self::feed_into) to reuse an output buffer) and call
/// [`finish`](Self::finish) when the body ends. The result never depends on
/// how the body was split into chunks.
///
/// The parser keeps [`last_event_id`](Self::last_event_id) and
/// [`retry`](Self::retry) across [`finish`](Self::finish), so one parser can
/// serve all the connections of a reconnecting client: send
/// `Last-Event-ID: {last_event_id}` and wait `retry` before reconnecting.
///
/// ```
/// use sse_runtime::parse::EventStreamParser;
///
/// let mut parser = EventStreamParser::new();
/// let events = parser.feed(b"id: 41\ndata: first\n\nid: 42\ndata: cut off").unwrap();
/// assert_eq!(events.len(), 1);
/// // The connection drops: the unterminated event is discarded ...
/// assert!(parser.finish());
/// // ... and the id of the last *dispatched* event is what to resume from.
/// assert_eq!(parser.last_event_id(), "41");
///
/// // The next connection reuses the parser.
/// let events = parser.feed(b"data: again\n\n").unwrap();
/// assert_eq!(events[0].id, "41");
/// ```
#[derive(Debug, Clone)]
pub struct EventStreamParser {
    max_event_size: usize,
    /// Bytes of the current line that were received but not yet terminated.
    line: Vec<u8>,
    /// The previous chunk ended with CR: skip an LF at the start of the next.
    skip_lf: bool,
    /// No line of the current stream has been processed yet (BOM check).
    at_stream_start: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    retry: Option<Duration>,
    failed: Option<ParseError>,
}

impl Default for EventStreamParser {
    fn default() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }
}

impl EventStreamParser {
    /// A parser with the [default](DEFAULT_MAX_EVENT_SIZE) event size limit.
    ///
    /// ```
    /// use sse_runtime::parse::{EventStreamParser, DEFAULT_MAX_EVENT_SIZE};
    ///
    /// assert_eq!(EventStreamParser::new().max_event_size(), DEFAULT_MAX_EVENT_SIZE);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that fails with [`ParseError::EventTooLarge`] when the pending
    /// line plus the event's data buffer exceeds `max_event_size` bytes.
    ///
    /// The bound counts the raw bytes of the line being assembled (including
    /// a leading byte order mark, excluding the line terminator) plus the
    /// UTF-8 length of the data buffer (each `data` value plus one `"\n"`).
    /// Every line counts, including comments and unknown fields. The data
    /// buffer is checked before and after each `data` line, so an accepted
    /// event's [`data`](ReceivedEvent::data) is always shorter than the limit.
    /// Whether the limit is hit does not depend on how the input is chunked.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::with_max_event_size(16);
    /// assert!(parser.feed(b"data: short\n\n").is_ok());
    /// assert!(parser.feed(b": a comment that never ends ...").is_err());
    /// ```
    pub fn with_max_event_size(max_event_size: usize) -> Self {
        Self {
            max_event_size,
            line: Vec::new(),
            skip_lf: false,
            at_stream_start: true,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            retry: None,
            failed: None,
        }
    }

    /// The configured event size limit in bytes.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// assert_eq!(EventStreamParser::with_max_event_size(64).max_event_size(), 64);
    /// ```
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// The last event ID of the stream: the value of the `id` field in effect
    /// at the last blank line (dispatched event or not), `""` initially.
    ///
    /// An `id` field that is not yet followed by a blank line does not count,
    /// so after a dropped connection this is the id to send as
    /// `Last-Event-ID`.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::new();
    /// parser.feed(b"id: 7\ndata: x\n\nid: 8\n").unwrap();
    /// assert_eq!(parser.last_event_id(), "7");
    /// parser.feed(b"\n").unwrap(); // a blank line commits the id even without data
    /// assert_eq!(parser.last_event_id(), "8");
    /// ```
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time set by the last valid `retry` field, if any.
    ///
    /// `retry` values that are empty or contain anything but ASCII digits are
    /// ignored; values beyond `u64::MAX` milliseconds saturate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::new();
    /// assert_eq!(parser.retry(), None);
    /// parser.feed(b"retry: 2500\nretry: 10s\n").unwrap(); // the second one is ignored
    /// assert_eq!(parser.retry(), Some(Duration::from_millis(2500)));
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Parses the next chunk of the stream and returns the events it
    /// completed.
    ///
    /// Events completed before an error in the same chunk are lost with this
    /// method; use [`feed_into`](Self::feed_into) if they matter.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::new();
    /// assert!(parser.feed(b"data: 1\n").unwrap().is_empty());
    /// assert_eq!(parser.feed(b"\n").unwrap()[0].data, "1");
    /// ```
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<ReceivedEvent>, ParseError> {
        let mut out = Vec::new();
        self.feed_into(chunk, &mut out)?;
        Ok(out)
    }

    /// Parses the next chunk of the stream, appending the completed events to
    /// `out` (a `Vec`, a `VecDeque`, ...).
    ///
    /// On error, `out` still received every event completed before the
    /// offending line.
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::with_max_event_size(16);
    /// let mut out = Vec::new();
    /// let result = parser.feed_into(b"data: ok\n\ndata: far too long for the limit\n", &mut out);
    /// assert!(result.is_err());
    /// assert_eq!(out.len(), 1);
    /// assert_eq!(out[0].data, "ok");
    /// ```
    pub fn feed_into<C>(&mut self, chunk: &[u8], out: &mut C) -> Result<(), ParseError>
    where
        C: Extend<ReceivedEvent>,
    {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let mut rest = chunk;
        if self.skip_lf
            && let Some((&first, tail)) = rest.split_first()
        {
            self.skip_lf = false;
            if first == b'\n' {
                rest = tail;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            let terminator = rest[end];
            if self.line.is_empty() {
                self.process_line(&rest[..end], out)?;
            } else {
                self.check_size(self.line.len() + end)?;
                self.line.extend_from_slice(&rest[..end]);
                let line = std::mem::take(&mut self.line);
                let result = self.process_line(&line, out);
                // Keep the allocation for the next partial line.
                self.line = line;
                self.line.clear();
                result?;
            }
            rest = &rest[end + 1..];
            if terminator == b'\r' {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
        }
        if !rest.is_empty() {
            self.check_size(self.line.len() + rest.len())?;
            self.line.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Ends the current stream (the connection closed) and returns whether
    /// anything was discarded: an unterminated line, `data` of an event that
    /// was never followed by a blank line, or the event that made the parser
    /// fail.
    ///
    /// No event is ever dispatched at the end of a stream. Afterwards the
    /// parser is ready for a new stream (a reconnection): the partial line,
    /// the data and event type buffers and a failed state are cleared, a byte
    /// order mark is accepted again, and [`last_event_id`](Self::last_event_id)
    /// and [`retry`](Self::retry) are kept (an `id` field not committed by a
    /// blank line is forgotten).
    ///
    /// ```
    /// use sse_runtime::parse::EventStreamParser;
    ///
    /// let mut parser = EventStreamParser::new();
    /// assert!(parser.feed(b"data: never dispatched\n").unwrap().is_empty());
    /// assert!(parser.finish());
    /// assert!(!parser.finish()); // nothing pending any more
    /// ```
    pub fn finish(&mut self) -> bool {
        let discarded = !self.line.is_empty() || !self.data.is_empty() || self.failed.is_some();
        self.line.clear();
        self.skip_lf = false;
        self.at_stream_start = true;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
        self.failed = None;
        discarded
    }

    fn check_size(&mut self, line_len: usize) -> Result<(), ParseError> {
        if line_len.saturating_add(self.data.len()) > self.max_event_size {
            Err(self.fail())
        } else {
            Ok(())
        }
    }

    #[cold]
    fn fail(&mut self) -> ParseError {
        let err = ParseError::EventTooLarge {
            limit: self.max_event_size,
        };
        // Release the memory held for the oversized event.
        self.line = Vec::new();
        self.data = String::new();
        self.failed = Some(err.clone());
        err
    }

    /// Interprets one complete line (without its terminator).
    fn process_line<C>(&mut self, line: &[u8], out: &mut C) -> Result<(), ParseError>
    where
        C: Extend<ReceivedEvent>,
    {
        self.check_size(line.len())?;
        let mut line = line;
        if self.at_stream_start {
            self.at_stream_start = false;
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        let (name, value) = match memchr::memchr(b':', line) {
            Some(0) => return Ok(()), // comment
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                if self.data.len() > self.max_event_size {
                    return Err(self.fail());
                }
            }
            b"event" => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
            }
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                push_lossy(&mut self.id_buffer, value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |acc, digit| {
                    acc.saturating_mul(10)
                        .saturating_add(u64::from(digit - b'0'))
                });
                self.retry = Some(Duration::from_millis(millis));
            }
            _ => {}
        }
        Ok(())
    }

    /// Handles a blank line.
    fn dispatch<C>(&mut self, out: &mut C)
    where
        C: Extend<ReceivedEvent>,
    {
        if self.last_event_id != self.id_buffer {
            self.last_event_id.clone_from(&self.id_buffer);
        }
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        self.data.pop(); // the trailing "\n"
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            std::mem::take(&mut self.event_type)
        };
        // Clone (one exact allocation) rather than take, so the buffer keeps
        // its capacity for the next event.
        let data = self.data.clone();
        self.data.clear();
        out.extend(std::iter::once(ReceivedEvent {
            event,
            data,
            id: self.last_event_id.clone(),
        }));
    }
}

/// Appends `bytes` decoded as UTF-8, replacing each maximal invalid
/// subsequence with U+FFFD (the WHATWG "UTF-8 decode" behaviour).
fn push_lossy(buf: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        buf.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            buf.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

#[cfg(test)]
mod tests;
