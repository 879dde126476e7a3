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

mod cleanup;
mod encode;
mod event;
pub mod hub;
mod in_flight;
mod item;
mod lifecycle;
mod response;
mod resume;

#[cfg(feature = "client")]
pub mod parse;
#[cfg(feature = "client")]
pub mod test;

#[doc(hidden)]
pub mod __private;

pub use cleanup::CleanUp;
pub use event::{EncodedEvent, Event, EventError, Field};
pub use hub::{Hub, HubError, Subscription};
pub use item::IntoEvent;
pub use lifecycle::{close_streams, serve, stop};
pub use response::SseBody;
pub use resume::{EventId, LastEventId, ParseEventIdError};
pub use sse_macros::{controller, sse};

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
