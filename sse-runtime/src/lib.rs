//! Server-Sent Events controllers for actix-web.
//!
//! ```no_run
//! use futures_util::stream::{self, Stream};
//! use sse_runtime::{controller, sse};
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
//!     actix_web::HttpServer::new(|| actix_web::App::new().service(EventController))
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await
//! }
//! ```
//!
//! The same without a controller, from any actix-web handler: return an
//! [`Sse`], which the macros expand into.
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
//! A finished stream stays finished (its reconnect is answered `204`), an
//! `Err` item's text stays in the log unless it is [`Shown`], and
//! everything else a route does is described on [`Sse`].
//!
//! See the crate README for routes, items, options and [`CleanUp`], and
//! for serving browsers in production: CORS, HTTP/2 and TLS, connection
//! caps ([`Limits`]), metrics and tracing, the last three through the
//! [`SseEdge`] middleware; and for the sink style: an `#[sse]` method that takes an [`EventSink`] and
//! sends through it instead of returning a stream.
//!
//! # Cargo features
//!
//! None is on by default; a server needs none of them.
//!
//! | feature | adds |
//! | --- | --- |
//! | `parser` | `sse_runtime::parse`: the WHATWG `text/event-stream` parser, for writing clients (a reconnecting consumer, a proxy, a load generator) |
//! | `testing` | `sse_runtime::test`: in-process test helpers that call a service and read its events, for testing servers; implies `parser`. Usually a dev-dependency feature |
//! | `metrics` | `sse_runtime::metrics`: stream counts, bytes, shed requests and clean-up latency through the `metrics` facade, for streams under an [`SseEdge`] |
//! | `redis` | `sse_runtime::backplane`: `Hub::builder().redis(url)`, a hub shared by several server instances through Redis (ids, history, delivery, recovery) |
//! | `rustls-0_23` | [`sse_defaults()`](SseServerExt::sse_defaults)' connection hook also sees through actix-web's `bind_rustls_0_23` (rustls 0.23), so HTTPS streams get the write timeout, the send-buffer cap and the drain deadline; turns on actix-web's feature of the same name |
//!
//! ```toml
//! [dev-dependencies]
//! sse-runtime = { version = "0.1", features = ["testing"] }
//! ```
//!
//! # Layout
//!
//! Which module holds which concern, how a request flows through them, and
//! where the hub, `Last-Event-ID` resume and the backplane will go:
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
