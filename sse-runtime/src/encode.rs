//! The wire encoder: SSE lines written straight into a [`BytesMut`].
//!
//! Everything that reaches the socket goes through these few functions, so
//! the framing rules live in one place:
//!
//! * free text (`data`, comments) is split on CRLF, CR and LF, exactly the
//!   line terminators the WHATWG parser recognises, so a browser reads back
//!   precisely the text that was sent and nothing can start a new field;
//! * single-line fields (`event`, `id`) are checked by the caller
//!   ([`crate::Event`]) before they get here;
//! * every value is written after `": "`, so a value that itself starts with
//!   a space keeps it (the parser strips exactly one).

use bytes::{BufMut, BytesMut};

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
/// `RawValue`, which passes user text through untouched: that rare case is
/// detected and re-framed as text lines so the framing stays exact.
pub(crate) fn json_data<T: serde::Serialize + ?Sized>(
    buf: &mut BytesMut,
    value: &T,
) -> Result<(), serde_json::Error> {
    let start = buf.len();
    buf.put_slice(b"data: ");
    let body = buf.len();
    if let Err(err) = serde_json::to_writer(buf.writer(), value) {
        buf.truncate(start);
        return Err(err);
    }
    if buf[body..].iter().any(|&b| b == b'\n' || b == b'\r') {
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

/// Ends the event: the blank line that makes a client dispatch it.
pub(crate) fn end(buf: &mut BytesMut) {
    buf.put_u8(b'\n');
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
    fn json_error_leaves_buffer_untouched() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let mut buf = BytesMut::from(&b"x"[..]);
        assert!(json_data(&mut buf, &map).is_err());
        assert_eq!(&buf[..], b"x");
    }
}
