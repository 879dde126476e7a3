//! Server-Sent Events for actix-web: return a `Stream` from a controller
//! method (or an [`Sse`] from any handler), and every item reaches the
//! browser as an SSE event.
//!
//! What the runtime takes care of, so that routes don't have to:
//!
//! * **the wire**: exact framing, checked event names and ids (no SSE
//!   injection), text or JSON per item, events ready together written
//!   together ([items](guide::items));
//! * **the end of a stream**: a finished stream stays finished (its
//!   reconnect is answered `204`), an `Err` item's text stays in the log
//!   unless it is [`Shown`], and a panic ends only its own stream
//!   ([routes](guide::routes));
//! * **the connection**: [`CleanUp`] runs exactly once, a client that left
//!   is noticed at once, a client that stops reading is closed after a
//!   write timeout and cannot hold memory, and a server stop ends every
//!   stream at once ([lifecycle](guide::lifecycle),
//!   [slow clients](guide::slow_clients));
//! * **fan-out and resume**: the [`hub`] publishes once to every
//!   subscriber and replays what a reconnecting browser missed, in memory
//!   or shared by several instances through Redis
//!   ([`backplane`](backplane/index.html));
//! * **the browser edge**: HTTP/2 and TLS, CORS, connection caps, metrics
//!   and tracing ([production](guide::production)).
//!
//! # Quick start
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use futures_util::stream::{self, Stream};
//! use sse_runtime::{controller, sse, SseServerExt};
//!
//! pub struct EventController;
//!
//! #[controller("events")]
//! impl EventController {
//!     /// `GET /events/updates`
//!     #[sse("updates")]
//!     fn updates(&self) -> impl Stream<Item = &'static str> {
//!         stream::iter(["Hello, world!", "This is a real-time update"])
//!     }
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let server = HttpServer::new(|| App::new().service(EventController))
//!         .sse_defaults() // before `bind`: write timeout, send-buffer cap, stop deadline
//!         .bind(("127.0.0.1", 8080))?
//!         .run();
//!     sse_runtime::serve(server).await // on SIGINT/SIGTERM, end the streams first
//! }
//! ```
//!
//! ```text
//! $ curl -N http://127.0.0.1:8080/events/updates
//! data: Hello, world!
//!
//! data: This is a real-time update
//!
//! id: sse-end
//!
//! ```
//!
//! The same without a controller, from any actix-web handler: return an
//! [`Sse`], which `#[sse]` routes expand into.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use futures_util::stream;
//! use sse_runtime::{Sse, SseServerExt};
//!
//! async fn updates() -> Sse {
//!     Sse::from_stream(stream::iter(["Hello, world!", "This is a real-time update"]))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let server = HttpServer::new(|| App::new().route("/events/updates", web::get().to(updates)))
//!         .sse_defaults()
//!         .bind(("127.0.0.1", 8080))?
//!         .run();
//!     sse_runtime::serve(server).await
//! }
//! ```
//!
//! # The manual
//!
//! The [`guide`] holds the policies and how-tos, one chapter per concern:
//! [routes](guide::routes), [items](guide::items), [the sink](guide::sink),
//! [the lifecycle](guide::lifecycle), [slow clients](guide::slow_clients)
//! and [production](guide::production). The modules document their own
//! subjects: [`hub`], [`backplane`](backplane/index.html),
//! [`parse`](parse/index.html), [`test`](test/index.html) and
//! [`metrics`](metrics/index.html), the last four with their features.
//!
//! # Cargo features
//!
//! None is on by default; a server needs none of them.
//!
//! | feature | adds |
//! | --- | --- |
//! | `parser` | [`parse`](parse/index.html): the WHATWG `text/event-stream` parser, for writing clients (a reconnecting consumer, a proxy, a load generator) |
//! | `testing` | [`test`](test/index.html): in-process test helpers that call a service and read its events, for testing servers; implies `parser`. Usually a dev-dependency feature |
//! | `metrics` | [`metrics`](metrics/index.html): stream counts, bytes, shed requests, clean-up latency and hub counts through the `metrics` facade, for streams under an [`SseEdge`] |
//! | `redis` | [`backplane`](backplane/index.html): `Hub::builder().redis(url)`, a hub shared by several server instances through Redis (ids, history, delivery, recovery) |
//! | `rustls-0_23` | [`sse_defaults()`](SseServerExt::sse_defaults)' connection hook also sees through actix-web's `bind_rustls_0_23` (rustls 0.23), so HTTPS streams get the write timeout, the send-buffer cap and the drain deadline; turns on actix-web's feature of the same name |
//!
//! ```toml
//! [dependencies]
//! sse-runtime = "0.1"
//!
//! [dev-dependencies]
//! sse-runtime = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # Versions
//!
//! The crate follows semantic versioning; before 1.0 a minor release may
//! break, with migration notes in the repository's
//! [CHANGELOG.md](https://github.com/sse-rs/sse-runtime/blob/main/CHANGELOG.md).
//! `sse-macros` is released with it and pinned exactly: depend on
//! `sse-runtime` only. It needs Rust 1.89 or newer.
//!
//! # Layout
//!
//! Which module holds which concern, and how a request and a publish flow
//! through them:
//! [ARCHITECTURE.md](https://github.com/sse-rs/sse-runtime/blob/main/ARCHITECTURE.md)
//! at the repository root.

// docs.rs (nightly, `--cfg docsrs`) labels each feature-gated item with
// the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod backplane;
mod cancel;
mod cleanup;
mod connection;
mod edge;
mod encode;
mod event;
#[cfg(any(doc, doctest))]
pub mod guide;
pub mod hub;
mod in_flight;
mod item;
mod lifecycle;
mod limits;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
mod metrics;
mod response;
mod resume;
mod server;
mod settings;
mod sink;
mod socket;
mod trace;
mod watchdog;

#[cfg(feature = "parser")]
#[cfg_attr(docsrs, doc(cfg(feature = "parser")))]
pub mod parse;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod test;

#[doc(hidden)]
pub mod __private;

pub use cleanup::CleanUp;
pub use edge::{SseEdge, SseEdgeService};
pub use event::{EncodedEvent, Event, EventError, EventName, Field};
pub use hub::{Hub, HubError, Subscription};
pub use item::{IntoEvent, ItemError, Json, Shown, Text};
pub use lifecycle::{close_streams, serve, stop};
pub use limits::{Limits, Shed};
pub use response::Sse;
pub use resume::{EventId, LastEventId, ParseEventIdError};
pub use server::SseServerExt;
pub use settings::SseSettings;
pub use sink::{EventSink, SendError, Sending};
pub use sse_macros::{controller, sse};

/// An [`EventName`] checked when the program is compiled: a CR or LF in
/// the name is a compile error, so [`Event::named`] needs no `?`.
///
/// ```
/// use futures_util::stream::{self, StreamExt};
/// use sse_runtime::{event_name, Event};
///
/// // Infallible, so the items stay `Event`s rather than `Result`s.
/// let ticks = stream::iter(1..=3).map(|n| Event::named(event_name!("tick")).data(n.to_string()));
/// # let _ = ticks;
/// ```
///
/// ```compile_fail
/// // error: an SSE event name must be a single line
/// let name = sse_runtime::event_name!("tick\ndata: forged");
/// ```
///
/// The name must be known when compiling: a string literal or a `const`.
/// A name from input goes through the checked [`Event::event`] instead
/// (`Event::default().event(name)?`).
///
/// A macro rather than a `const fn`: a `const fn` is checked at compile time
/// only when called in a const context, and called anywhere else it would
/// check at run time and could only panic; the macro always evaluates in a
/// const context, so a bad name never reaches a running program.
#[macro_export]
macro_rules! event_name {
    ($name:expr $(,)?) => {
        const { $crate::__private::event_name($name) }
    };
}

/// This crate's README (the front page of its package), compiled and run
/// as doc tests. The repository README's samples are compiled by the
/// workspace's `tests` crate: that file is not part of this package.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
