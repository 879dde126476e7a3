//! What generated code needs from the runtime. Not a public API: it may
//! change in any release.

pub use crate::cleanup::CleanUp;
pub use crate::response::{respond, ItemEncoder, PlainItems, ResultItems, RouteConfig, Sink};
pub use actix_web;
pub use std;

use futures_core::Stream;

/// Chooses how a route's stream items are encoded, by autoref
/// specialisation: a stream of `Result`s resolves to [`ResultItemsKind`]
/// (method on `Probe`), anything else falls back to [`PlainItemsKind`]
/// (method on `&Probe`). Stable Rust has no specialisation, and a blanket
/// `IntoEvent for T: Serialize` cannot coexist with one for `Result`, since
/// `Result<T, E>` is itself `Serialize`.
pub struct Probe<'a, S>(pub &'a S);

/// Picked for streams of `Result<T, E>`.
pub trait ResultItemsKind {
    /// The encoder for this stream's items.
    fn __sse_items(&self) -> ResultItems {
        ResultItems
    }
}

impl<S, T, E> ResultItemsKind for Probe<'_, S> where S: Stream<Item = Result<T, E>> {}

/// Picked for every other stream.
pub trait PlainItemsKind {
    /// The encoder for this stream's items.
    fn __sse_items(&self) -> PlainItems {
        PlainItems
    }
}

impl<S> PlainItemsKind for &Probe<'_, S> {}

/// Asserts, with a message that names the fix, that a route returned a stream.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stream of SSE events",
    label = "an `#[sse]` method must return a `Stream`",
    note = "return `impl Stream<Item = T>` (e.g. `futures::stream::iter([...])`), or `Result<impl Stream<Item = T>, E>` to refuse the request before streaming"
)]
pub trait SseStream: Stream {}

impl<S: Stream> SseStream for S {}

/// Identity function whose bound reports a non-stream return type at the
/// user's return type.
pub fn expect_stream<S: SseStream>(stream: S) -> S {
    stream
}
