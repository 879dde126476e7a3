//! How a stream item becomes an event: [`IntoEvent`], and (in `encoders`)
//! how a route's stream of items is encoded with it.

use std::fmt;

use bytes::{Bytes, BytesMut};
use serde::ser::{self, Impossible, Serialize};

use crate::encode;
use crate::event::{EncodedEvent, Event};

pub(crate) mod encoders;
mod error;
mod explicit;

pub use error::{ItemError, Shown};
pub use explicit::{Json, Text};

/// A value that can be sent as one SSE event: the item type of an `#[sse]`
/// stream.
///
/// Implemented for
/// * every `T: Serialize`: strings (and chars) are sent as plain text, any
///   other value as compact JSON. That includes the shared and borrowed
///   strings `Arc<str>`, `Rc<str>`, `Box<str>` and `Cow<str>` (the runtime
///   turns on serde's `rc` feature for the first two);
/// * [`Json`] and [`Text`], which state the encoding instead.
///
/// **The probe rule.** Whether a `T: Serialize` is text is decided by the
/// value, not the type: whatever serializes as a string, a char, or one of
/// those inside a newtype or `Some`, is text; everything else is JSON. So
/// `Some("x")` is `data: x` but `None::<&str>` is `data: null`, and a
/// `UserId(String)` newtype goes out unquoted. Where a client parses every
/// event as JSON, send [`Json`]`(value)`; for text, [`Text`]`(value)`.
/// * [`Event`], for full control over the event's fields;
/// * [`EncodedEvent`], an event encoded once and shared between clients.
///
/// ```
/// use bytes::BytesMut;
/// use sse_runtime::IntoEvent;
///
/// #[derive(serde::Serialize)]
/// struct Status { status: &'static str }
///
/// let mut buf = BytesMut::new();
/// "Hello, world!".encode_into(&mut buf).unwrap();
/// Status { status: "Running" }.encode_into(&mut buf).unwrap();
/// assert_eq!(&buf[..], b"data: Hello, world!\n\ndata: {\"status\":\"Running\"}\n\n");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be sent as an SSE event",
    label = "not an SSE event",
    note = "an item is sent as JSON if it implements `serde::Serialize`: derive it on your own types; for another crate's type, enable that crate's `serde` feature or wrap it in a type of yours. Or map the item into `sse_runtime::Event`"
)]
pub trait IntoEvent {
    /// Appends this value as one complete event (ending in a blank line).
    ///
    /// On error nothing is appended.
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError>;

    /// The value's bytes if it already is one whole encoded event, so that
    /// the response can send them without a copy (a hub's events, shared
    /// by every subscriber); `Err(self)` otherwise, the default.
    #[doc(hidden)]
    fn into_encoded(self) -> Result<Bytes, Self>
    where
        Self: Sized,
    {
        Err(self)
    }
}

use crate::event::EventError;

// Without this, a failed bound reports `Serialize` and lists its
// implementors instead of `IntoEvent`'s message, which names both fixes.
#[diagnostic::do_not_recommend]
impl<T: Serialize> IntoEvent for T {
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        // Strings are probed first so that `"hi"` goes out as `data: hi`, not
        // as the JSON string `"hi"`; the probe refuses anything else at its
        // first call, before writing, so non-strings pay one failed call.
        if self.serialize(TextProbe { buf: &mut *buf }).is_err() {
            encode::json_data(buf, &self).map_err(EventError::Json)?;
        }
        encode::end(buf);
        Ok(())
    }
}

impl IntoEvent for Event {
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        buf.extend_from_slice(self.fields());
        encode::end(buf);
        Ok(())
    }
}

impl IntoEvent for EncodedEvent {
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        buf.extend_from_slice(self.as_ref());
        Ok(())
    }

    fn into_encoded(self) -> Result<Bytes, Self> {
        Ok(self.0)
    }
}

/// A serializer that only accepts a string (or char, or one wrapped in a
/// newtype or `Some`) and writes it as `data:` lines; anything else fails
/// before writing a byte.
struct TextProbe<'a> {
    buf: &'a mut BytesMut,
}

#[derive(Debug)]
struct NotText;

impl fmt::Display for NotText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not text")
    }
}

impl std::error::Error for NotText {}

impl ser::Error for NotText {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotText
    }
}

macro_rules! not_text {
    ($($method:ident($($arg:ty),*);)*) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), NotText> { Err(NotText) })*
    };
}

impl ser::Serializer for TextProbe<'_> {
    type Ok = ();
    type Error = NotText;
    type SerializeSeq = Impossible<(), NotText>;
    type SerializeTuple = Impossible<(), NotText>;
    type SerializeTupleStruct = Impossible<(), NotText>;
    type SerializeTupleVariant = Impossible<(), NotText>;
    type SerializeMap = Impossible<(), NotText>;
    type SerializeStruct = Impossible<(), NotText>;
    type SerializeStructVariant = Impossible<(), NotText>;

    fn serialize_str(self, v: &str) -> Result<(), NotText> {
        encode::text_lines(self.buf, b"data", v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), NotText> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotText> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotText> {
        value.serialize(self)
    }

    not_text! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32);
        serialize_u64(u64); serialize_f32(f32); serialize_f64(f64); serialize_bytes(&[u8]);
        serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotText> {
        Err(NotText)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotText> {
        Err(NotText)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotText> {
        Err(NotText)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotText> {
        Err(NotText)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotText> {
        Err(NotText)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotText> {
        Err(NotText)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, NotText> {
        Err(NotText)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotText> {
        Err(NotText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(item: impl IntoEvent) -> String {
        let mut buf = BytesMut::new();
        item.encode_into(&mut buf).unwrap();
        String::from_utf8(buf.to_vec()).unwrap()
    }

    #[derive(serde::Serialize)]
    struct Name(String);

    #[test]
    fn text_values_are_plain() {
        assert_eq!(wire("Hello, world!"), "data: Hello, world!\n\n");
        assert_eq!(wire(String::from("a\nb")), "data: a\ndata: b\n\n");
        assert_eq!(wire('x'), "data: x\n\n");
        assert_eq!(wire(Some("x")), "data: x\n\n");
        assert_eq!(wire(Name("n".into())), "data: n\n\n");
        assert_eq!(wire(std::borrow::Cow::Borrowed("c")), "data: c\n\n");
    }

    #[test]
    fn smart_pointer_strings_are_plain_text() {
        use std::borrow::Cow;
        use std::rc::Rc;
        use std::sync::Arc;
        assert_eq!(wire(Arc::<str>::from("arc")), "data: arc\n\n");
        assert_eq!(wire(Rc::<str>::from("rc")), "data: rc\n\n");
        assert_eq!(wire(Box::<str>::from("box")), "data: box\n\n");
        assert_eq!(wire(Cow::<str>::Owned("cow".into())), "data: cow\n\n");
        assert_eq!(wire(Arc::new(String::from("a\nb"))), "data: a\ndata: b\n\n");
    }

    #[test]
    fn other_values_are_json() {
        assert_eq!(wire(5u8), "data: 5\n\n");
        assert_eq!(wire(None::<&str>), "data: null\n\n");
        assert_eq!(wire(vec!["a\nb"]), "data: [\"a\\nb\"]\n\n");
        assert_eq!(
            wire(serde_json::json!({"a": [1, 2]})),
            "data: {\"a\":[1,2]}\n\n"
        );
    }

    #[test]
    fn events_pass_through() {
        assert_eq!(wire(Event::default().data("x")), "data: x\n\n");
        assert_eq!(wire(Event::default().data("x").encode()), "data: x\n\n");
    }

    #[test]
    fn serialisation_errors_write_nothing() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        let mut buf = BytesMut::new();
        assert!(matches!(
            map.encode_into(&mut buf),
            Err(EventError::Json(_))
        ));
        assert!(buf.is_empty());
    }
}
