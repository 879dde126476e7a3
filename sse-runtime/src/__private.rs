//! What generated code needs from the runtime. Not a public API: it may
//! change in any release.

pub use crate::cleanup::CleanUp;
pub use crate::connection::H2ReceiveHalf;
pub use crate::item::encoders::{Flow, ItemEncoder, PlainItems, ResultItems};
pub use crate::item::ItemError;
pub use crate::response::{Sink, Sse, SseBody};
pub use crate::sink::{EventSink, SinkEvents};
pub use actix_web;
pub use std;

use std::future::{Future, Ready};
use std::marker::PhantomData;

use futures_core::Stream;

use crate::item::IntoEvent;

/// Streams a route's items with the encoder their type calls for, chosen by
/// autoderef specialisation on `&&&&Probe<S>`; the first level whose impl
/// applies wins:
///
/// | level | `impl` for | applies to                          |
/// |-------|------------|-------------------------------------|
/// | 1     | `&&&&Probe` | [`ResultItemsKind`]: good `Result` items |
/// | 2     | `&&&Probe`  | [`BadResultItemsKind`]: other `Result` items |
/// | 3     | `&&Probe`   | [`PlainItemsKind`]: good items      |
/// | 4     | `&Probe`    | [`BadPlainItemsKind`]: other items  |
/// | 5     | `Probe`     | [`NotAStreamKind`]: not a stream    |
///
/// Stable Rust has no specialisation, and a blanket `IntoEvent for T:
/// Serialize` cannot coexist with one for `Result`, since `Result<T, E>` is
/// itself `Serialize`.
///
/// Every mistake must fail exactly one obligation, since rustc's merging of
/// identical errors is not reliable (incremental builds repeat them). The
/// good levels state their bounds on the impl, so they are never picked to
/// fail. The bad levels fail on their method's `where` clause alone, with
/// the item type itself as `Self` (`Status: IntoEvent`) so that rustc shows
/// `IntoEvent`'s message, and return a plain future that repeats no bound.
/// A non-stream, already refused by [`expect_stream`], reaches level 5,
/// which has no bound at all. Levels 2, 4 and 5 therefore never run in a
/// program that compiles.
pub struct Probe<S>(PhantomData<fn() -> S>);

impl<S> Probe<S> {
    /// The probe for `stream`'s type; it does not keep the borrow.
    pub fn of(_stream: &S) -> Self {
        Probe(PhantomData)
    }
}

// By hand: a derive would demand `S: Copy`. Level 5 takes the probe by value.
impl<S> Clone for Probe<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Probe<S> {}

/// Level 1: a stream of `Result<T, E>` whose `T` is an event and whose `E`
/// is an [`ItemError`].
pub trait ResultItemsKind<S, T, E>: Sized {
    /// Streams `stream` into `sink`.
    fn __sse_stream(self, sink: Sink, stream: S) -> impl Future<Output = ()>
    where
        S: Stream<Item = Result<T, E>>,
        T: IntoEvent,
        E: ItemError,
    {
        sink.stream(stream, ResultItems)
    }
}

impl<S, T, E> ResultItemsKind<S, T, E> for &&&&Probe<S>
where
    S: Stream<Item = Result<T, E>>,
    T: IntoEvent,
    E: ItemError,
{
}

/// Level 2: a stream of `Result<T, E>` that fails level 1; the `where`
/// clause names what is missing.
pub trait BadResultItemsKind<S, T, E>: Sized {
    /// Reports the missing bound; never runs.
    fn __sse_stream(self, sink: Sink, stream: S) -> Ready<()>
    where
        T: IntoEvent,
        E: ItemError,
    {
        drop((sink, stream));
        std::future::ready(())
    }
}

impl<S, T, E> BadResultItemsKind<S, T, E> for &&&Probe<S> where S: Stream<Item = Result<T, E>> {}

/// Level 3: any other stream whose items are events.
pub trait PlainItemsKind<S>: Sized {
    /// Streams `stream` into `sink`.
    fn __sse_stream(self, sink: Sink, stream: S) -> impl Future<Output = ()>
    where
        S: Stream,
        S::Item: IntoEvent,
    {
        sink.stream(stream, PlainItems)
    }
}

impl<S> PlainItemsKind<S> for &&Probe<S>
where
    S: Stream,
    S::Item: IntoEvent,
{
}

/// Level 4: a stream whose items are not events; the `where` clause says so.
pub trait BadPlainItemsKind<S>: Sized {
    /// Reports the missing bound; never runs.
    fn __sse_stream(self, sink: Sink, stream: S) -> Ready<()>
    where
        S: Stream,
        S::Item: IntoEvent,
    {
        drop((sink, stream));
        std::future::ready(())
    }
}

impl<S: Stream> BadPlainItemsKind<S> for &Probe<S> {}

/// Level 5: not a stream, which [`expect_stream`] has already reported.
pub trait NotAStreamKind<S>: Sized {
    /// Adds no second error; never runs.
    fn __sse_stream(self, sink: Sink, stream: S) -> Ready<()> {
        drop((sink, stream));
        std::future::ready(())
    }
}

impl<S> NotAStreamKind<S> for Probe<S> {}

/// `#[sse]` by its bare name, glob-imported next to a controller that uses
/// it so that it resolves without a `use`, like the other route attributes.
pub mod attrs {
    pub use sse_macros::sse;
}

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

/// A connection's [`EventSink`] and its receiving half, made before the
/// route runs so that the method can be handed the sink.
pub fn sink_channel(cleanup: &CleanUp) -> (EventSink, SinkEvents) {
    crate::sink::channel(cleanup)
}

/// Runs a method that takes an [`EventSink`] and returns nothing: the
/// response starts at once and streams what the sink sends.
pub async fn stream_sink<F>(sink: Sink, method: F, events: SinkEvents)
where
    F: Future<Output = ()>,
{
    let method = async move {
        method.await;
        Ok(())
    };
    crate::sink::run::stream(sink, method, events).await;
}

/// Runs a method that takes an [`EventSink`] and returns `Result<(), E>`:
/// an `Err` before the first event refuses the request. Spanned at the
/// user's `E`, so a wrong error type is reported there.
pub async fn stream_sink_or_reject<F, E>(sink: Sink, method: F, events: SinkEvents)
where
    F: Future<Output = Result<(), E>>,
    E: RouteError,
{
    let method = async move { method.await.map_err(Into::into) };
    crate::sink::run::stream_or_refuse(sink, method, events).await;
}

/// What `event_name!` expands to, inside `const { .. }`: a CR or LF in
/// `name` panics during const evaluation, which is a compile error.
pub const fn event_name(name: &'static str) -> crate::EventName {
    crate::EventName::checked(name)
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
