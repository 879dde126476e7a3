//! The wire encoder: SSE lines written straight into a [`BytesMut`].
//!
//! Every byte that reaches the socket is framed by these few functions
//! (events, the opening `retry:` hint, keep-alive comments, the final error
//! event, the shutdown frame), so the framing rules live in one place:
//!
//! * free text (`data`, comments) is split on CRLF, CR and LF, exactly the
//!   line terminators the WHATWG parser recognises, so a browser reads back
//!   precisely the text that was sent and nothing can start a new field;
//! * single-line fields (`event`, `id`) are checked by the caller
//!   ([`crate::Event`]) before they get here;
//! * every value is written after `": "`, so a value that itself starts with
//!   a space keeps it (the parser strips exactly one).

use std::fmt::Display;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};

/// Writes `text` as one `<name>: <line>` per line (`name` empty = comment).
///
/// An empty `text` still writes one line: for `data` that is what makes a
/// browser dispatch an event whose data is the empty string.
pub(crate) fn text_lines(buf: &mut BytesMut, name: &[u8], text: &str) {
    let bytes = text.as_bytes();
    buf.reserve(bytes.len() + name.len() + 3);
    let mut rest = bytes;
    loop {
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        field(buf, name, &rest[..end]);
        if end == rest.len() {
            return;
        }
        // CRLF is one terminator; a lone CR or LF is one too.
        let skip = if rest[end] == b'\r' && rest.get(end + 1) == Some(&b'\n') {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
    }
}

/// Writes one `<name>: <value>` line; `value` must hold no CR or LF.
pub(crate) fn field(buf: &mut BytesMut, name: &[u8], value: &[u8]) {
    buf.reserve(name.len() + value.len() + 3);
    buf.put_slice(name);
    if value.is_empty() {
        buf.put_slice(b":\n");
    } else {
        buf.put_slice(b": ");
        buf.put_slice(value);
        buf.put_u8(b'\n');
    }
}

/// Writes `value` as JSON in a single `data:` line, serialised in place.
///
/// Compact `serde_json` output never holds a raw line break, except through
/// `RawValue`, which passes user text through untouched: the formatter
/// notices such a fragment, and only then is the JSON re-framed as text
/// lines so the framing stays exact. Ordinary values are not rescanned.
pub(crate) fn json_data<T: serde::Serialize + ?Sized>(
    buf: &mut BytesMut,
    value: &T,
) -> Result<(), serde_json::Error> {
    let start = buf.len();
    buf.put_slice(b"data: ");
    let body = buf.len();
    let mut raw_line_break = false;
    let result = value.serialize(&mut serde_json::Serializer::with_formatter(
        Append(&mut *buf),
        LineBreakAware(&mut raw_line_break),
    ));
    if let Err(err) = result {
        buf.truncate(start);
        return Err(err);
    }
    if raw_line_break {
        let json = buf.split_off(body);
        buf.truncate(start);
        // serde_json only ever writes UTF-8.
        let text = std::str::from_utf8(&json).unwrap_or_default();
        text_lines(buf, b"data", text);
    } else {
        buf.put_u8(b'\n');
    }
    Ok(())
}

/// `io::Write` straight into a `BytesMut`: unlike `BufMut::writer`, every
/// write is one inlined `extend_from_slice`, which matters because
/// `serde_json` writes a value in many small pieces.
struct Append<'a>(&'a mut BytesMut);

impl std::io::Write for Append<'_> {
    #[inline]
    fn write(&mut self, src: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(src);
        Ok(src.len())
    }

    #[inline]
    fn write_all(&mut self, src: &[u8]) -> std::io::Result<()> {
        self.0.extend_from_slice(src);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// serde_json's compact format, noting whether a raw fragment (`RawValue`,
/// the only way compact output can hold a raw CR or LF) brought a line break.
struct LineBreakAware<'a>(&'a mut bool);

impl serde_json::ser::Formatter for LineBreakAware<'_> {
    #[inline]
    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        if fragment.bytes().any(|b| b == b'\n' || b == b'\r') {
            *self.0 = true;
        }
        writer.write_all(fragment.as_bytes())
    }
}

/// Writes a `retry:` line in whole milliseconds.
pub(crate) fn retry(buf: &mut BytesMut, after: Duration) {
    let millis = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    field(buf, b"retry", millis.to_string().as_bytes());
}

/// Ends the event: the blank line that makes a client dispatch it.
pub(crate) fn end(buf: &mut BytesMut) {
    buf.put_u8(b'\n');
}

/// The comment sent after a stretch of silence. A whole frame on its own
/// (comment, blank line) and static, so a keep-alive never allocates.
pub(crate) fn keep_alive() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// The `retry:` hint that opens a stream: a frame without data, so a client
/// dispatches nothing but keeps the delay for its next reconnection.
pub(crate) fn retry_hint(buf: &mut BytesMut, after: Duration) {
    retry(buf, after);
    end(buf);
}

/// The final event of a stream that an item (or a panic) ended: named
/// `name` (`error` unless the route chose another), with the message as its
/// data, split like any other text so a multi-line message cannot forge
/// fields. `name` is an already checked single line.
pub(crate) fn error_event(buf: &mut BytesMut, name: &str, message: &dyn Display) {
    field(buf, b"event", name.as_bytes());
    text_lines(buf, b"data", &message.to_string());
    end(buf);
}

/// The id that marks a finished stream; see [`end_frame`].
pub(crate) const END_ID: &str = "sse-end";

/// The last frame of a stream that ran out: an `id:` line and a blank line.
/// Without data a browser dispatches no event, but the id becomes the
/// `EventSource`'s last event id, which its reconnect sends back as
/// `Last-Event-ID`: the server then answers `204`, and `EventSource` stops.
pub(crate) fn end_frame(buf: &mut BytesMut) {
    field(buf, b"id", END_ID.as_bytes());
    end(buf);
}

/// The last item of a stream that ended but should be resumed, not closed
/// (a hub subscription dropped for lagging, or reset by its backplane): a
/// comment on the wire, and, recognised by its address, the sign for the
/// response to leave the end frame out so that the browser reconnects.
static RESUME_FRAME: [u8; 23] = *b": reconnect to resume\n\n";

/// [`RESUME_FRAME`], as a shareable buffer.
pub(crate) fn resume_frame() -> Bytes {
    Bytes::from_static(&RESUME_FRAME)
}

/// Whether `bytes` is [`resume_frame`]'s buffer itself (the same text from
/// elsewhere is an ordinary comment).
pub(crate) fn is_resume_frame(bytes: &[u8]) -> bool {
    std::ptr::eq(bytes, &RESUME_FRAME[..])
}

/// The last frame of a stream ended by a server stop: a comment saying why,
/// and when to reconnect (to the next instance).
pub(crate) fn shutdown_frame(buf: &mut BytesMut, retry_after: Duration) {
    text_lines(buf, b"", "server shutting down");
    retry(buf, retry_after);
    end(buf);
}

/// The whole stream of a request shed by a connection limit: a comment
/// saying why, and when to come back. A 200 stream that ends this way makes
/// `EventSource` reconnect after the delay; a non-200 would make it give up.
pub(crate) fn busy_frame(buf: &mut BytesMut, retry_after: Duration) {
    text_lines(buf, b"", "server busy, reconnect later");
    retry(buf, retry_after);
    end(buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &[u8], s: &str) -> String {
        let mut buf = BytesMut::new();
        text_lines(&mut buf, name, s);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn splits_on_every_line_terminator() {
        assert_eq!(
            text(b"data", "a\r\nb\rc\nd"),
            "data: a\ndata: b\ndata: c\ndata: d\n"
        );
        assert_eq!(text(b"data", "\n"), "data:\ndata:\n");
        assert_eq!(text(b"data", ""), "data:\n");
        assert_eq!(text(b"data", "\r\r\n"), "data:\ndata:\ndata:\n");
        assert_eq!(text(b"", "hi\nthere"), ": hi\n: there\n");
    }

    #[test]
    fn keeps_leading_spaces() {
        assert_eq!(text(b"data", "  x"), "data:   x\n");
    }

    #[test]
    fn raw_json_with_newlines_is_reframed() {
        let raw = serde_json::value::RawValue::from_string("{\n\"a\": 1\r\n}".into()).unwrap();
        let mut buf = BytesMut::new();
        json_data(&mut buf, &raw).unwrap();
        assert_eq!(&buf[..], b"data: {\ndata: \"a\": 1\ndata: }\n");
    }

    #[test]
    fn nested_raw_line_break_is_reframed_and_escaped_ones_are_not() {
        #[derive(serde::Serialize)]
        struct S<'a> {
            a: &'a serde_json::value::RawValue,
            b: &'a str,
        }
        let raw = serde_json::value::RawValue::from_string("{\r\n}".into()).unwrap();
        let mut buf = BytesMut::new();
        json_data(&mut buf, &S { a: &raw, b: "x\ny" }).unwrap();
        assert_eq!(&buf[..], b"data: {\"a\":{\ndata: },\"b\":\"x\\ny\"}\n");
        let mut buf = BytesMut::new();
        json_data(&mut buf, &serde_json::json!({"k": "a\nb\r"})).unwrap();
        assert_eq!(&buf[..], b"data: {\"k\":\"a\\nb\\r\"}\n");
    }

    fn framed(write: impl FnOnce(&mut BytesMut)) -> String {
        let mut buf = BytesMut::new();
        write(&mut buf);
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[test]
    fn control_frames() {
        assert_eq!(&keep_alive()[..], b": keep-alive\n\n");
        assert_eq!(
            framed(|buf| retry_hint(buf, Duration::from_millis(2500))),
            "retry: 2500\n\n"
        );
        assert_eq!(
            framed(|buf| shutdown_frame(buf, Duration::from_secs(1))),
            ": server shutting down\nretry: 1000\n\n"
        );
        assert_eq!(
            framed(|buf| busy_frame(buf, Duration::from_millis(4321))),
            ": server busy, reconnect later\nretry: 4321\n\n"
        );
    }

    #[test]
    fn error_event_splits_its_message() {
        assert_eq!(
            framed(|buf| error_event(buf, "error", &"no\r\nmore")),
            "event: error\ndata: no\ndata: more\n\n"
        );
    }

    #[test]
    fn the_resume_frame_is_known_by_its_address() {
        assert!(is_resume_frame(&resume_frame()));
        assert!(!is_resume_frame(b": reconnect to resume\n\n"));
        assert_eq!(&resume_frame()[..], b": reconnect to resume\n\n");
    }

    #[test]
    fn the_end_frame_sets_an_id_and_dispatches_nothing() {
        assert_eq!(framed(end_frame), "id: sse-end\n\n");
    }

    #[test]
    fn json_error_leaves_buffer_untouched() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let mut buf = BytesMut::from(&b"x"[..]);
        assert!(json_data(&mut buf, &map).is_err());
        assert_eq!(&buf[..], b"x");
    }
}
