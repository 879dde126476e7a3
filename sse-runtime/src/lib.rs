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
//! See the crate README for routes, items, options and [`CleanUp`].
//!
//! # Cargo features
//!
//! None is on by default; a server needs none of them.
//!
//! | feature | adds |
//! | --- | --- |
//! | `parser` | `sse_runtime::parse`: the WHATWG `text/event-stream` parser, for writing clients (a reconnecting consumer, a proxy, a load generator) |
//! | `testing` | `sse_runtime::test`: in-process test helpers that call a service and read its events, for testing servers; implies `parser`. Usually a dev-dependency feature |
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

mod cleanup;
mod encode;
mod event;
mod in_flight;
mod item;
mod lifecycle;
mod response;
mod sink;

#[cfg(feature = "parser")]
pub mod parse;
#[cfg(feature = "testing")]
pub mod test;

#[doc(hidden)]
pub mod __private;

pub use cleanup::CleanUp;
pub use event::{EncodedEvent, Event, EventError, Field};
pub use item::IntoEvent;
pub use lifecycle::{close_streams, serve, stop};
pub use sink::{EventSink, SendError, Sending};
pub use sse_macros::{controller, sse};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
