//! [`Json`] and [`Text`]: items whose encoding is stated by their type
//! rather than probed from their value.

use std::fmt::Display;

use bytes::BytesMut;
use serde::Serialize;

use crate::encode;
use crate::event::EventError;
use crate::item::IntoEvent;

/// An item sent as JSON whatever its value: `Json("x")` is `data: "x"`,
/// `Json(None::<u8>)` is `data: null`.
///
/// A plain `T: Serialize` item is probed: a value that serializes as a
/// string (a `&str`, a `String` newtype, `Some("x")`) goes out as text, any
/// other as JSON (see [`IntoEvent`]). When the browser parses every event
/// with `JSON.parse`, that runtime choice is a trap: wrap the item.
///
/// ```
/// use bytes::BytesMut;
/// use sse_runtime::{IntoEvent, Json};
///
/// #[derive(serde::Serialize)]
/// struct UserId(String);
///
/// let mut buf = BytesMut::new();
/// UserId("ada".into()).encode_into(&mut buf).unwrap();
/// Json(UserId("ada".into())).encode_into(&mut buf).unwrap();
/// assert_eq!(&buf[..], b"data: ada\n\ndata: \"ada\"\n\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Json<T>(pub T);

// Coherent beside `impl<T: Serialize> IntoEvent for T` because `Json`
// does not implement `Serialize`.
impl<T: Serialize> IntoEvent for Json<T> {
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        encode::json_data(buf, &self.0).map_err(EventError::Json)?;
        encode::end(buf);
        Ok(())
    }
}

/// An item sent as text, its `Display` form split into `data:` lines:
/// `Text(3)` is `data: 3`, a type without `Serialize` works too.
///
/// ```
/// use bytes::BytesMut;
/// use sse_runtime::{IntoEvent, Text};
///
/// let mut buf = BytesMut::new();
/// Text(std::net::Ipv4Addr::LOCALHOST).encode_into(&mut buf).unwrap();
/// Text("two\nlines").encode_into(&mut buf).unwrap();
/// assert_eq!(&buf[..], b"data: 127.0.0.1\n\ndata: two\ndata: lines\n\n");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Text<T>(pub T);

impl<T: Display> IntoEvent for Text<T> {
    fn encode_into(self, buf: &mut BytesMut) -> Result<(), EventError> {
        encode::text_lines(buf, b"data", &self.0.to_string());
        encode::end(buf);
        Ok(())
    }
}
