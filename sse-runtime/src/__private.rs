//! What generated code needs from the runtime. Not a public API: it may
//! change in any release.

pub use crate::cleanup::CleanUp;
pub use crate::connection::Connection;
pub use crate::item::encoders::{Flow, ItemEncoder, PlainItems, ResultItems};
pub use crate::response::{respond, RouteConfig, Sink, SseBody};
pub use actix_web;
pub use std;

use std::fmt::Display;

use futures_core::Stream;

use crate::item::IntoEvent;

/// Chooses how a route's stream items are encoded, by autoref
/// specialisation: a stream of `Result`s resolves to [`ResultItemsKind`]
/// (method on `Probe`), anything else falls back to [`PlainItemsKind`]
/// (method on `&Probe`). Stable Rust has no specialisation, and a blanket
/// `IntoEvent for T: Serialize` cannot coexist with one for `Result`, since
/// `Result<T, E>` is itself `Serialize`.
///
/// The methods also check the items: their `where` clauses have the item
/// type itself as `Self` (`Status: IntoEvent`), so that rustc reports
/// `IntoEvent`'s `on_unimplemented` message rather than the `Serialize` it
/// failed on deep inside `Sink::stream`'s bounds. The generated code spans
/// the probe and the `Sink::stream` call alike, and rustc then drops the
/// second, identical failure.
pub struct Probe<'a, S>(pub &'a S);

/// Picked for streams of `Result<T, E>`.
pub trait ResultItemsKind<T, E> {
    /// The encoder for this stream's items.
    fn __sse_items(&self) -> ResultItems
    where
        T: IntoEvent,
        E: Display,
    {
        ResultItems
    }
}

impl<S, T, E> ResultItemsKind<T, E> for Probe<'_, S> where S: Stream<Item = Result<T, E>> {}

/// Picked for every other stream.
pub trait PlainItemsKind<S> {
    /// The encoder for this stream's items.
    fn __sse_items(&self) -> PlainItems
    where
        S: Stream,
        S::Item: IntoEvent,
    {
        PlainItems
    }
}

// No `S: Stream` bound here: a non-stream must still find this method (and
// fail only on its `where` clause, like `expect_stream` did) rather than
// add a "no method named `__sse_items`" error.
impl<S> PlainItemsKind<S> for &Probe<'_, S> {}

/// The error of a `Result<impl Stream, E>` route: refuses the request.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be the error of an `#[sse]` method",
    label = "the error type must implement `actix_web::ResponseError`",
    note = "implement `actix_web::ResponseError` for `{Self}` (it sets the HTTP status and body of the refusal), or return `actix_web::Error`, e.g. `actix_web::error::ErrorForbidden(..)`"
)]
pub trait RouteError: Into<actix_web::Error> {}

#[diagnostic::do_not_recommend]
impl<E: Into<actix_web::Error>> RouteError for E {}

/// Refuses the request with `error`; spanned at the user's error type.
pub fn reject<E: RouteError>(sink: Sink, error: E) {
    sink.reject(error);
}

/// Asserts, with a message that names the fix, that a route returned a stream.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a stream of SSE events",
    label = "an `#[sse]` method must return a `Stream`",
    note = "return `impl Stream<Item = T>` (e.g. `futures::stream::iter([...])`), or `Result<impl Stream<Item = T>, E>` to refuse the request before streaming"
)]
pub trait SseStream: Stream {}

// `do_not_recommend`: report `String: SseStream` with the message above,
// not `String: Stream` with a list of unrelated stream types.
#[diagnostic::do_not_recommend]
impl<S: Stream> SseStream for S {}

/// Identity function whose bound reports a non-stream return type at the
/// user's return type.
pub fn expect_stream<S: SseStream>(stream: S) -> S {
    stream
}
