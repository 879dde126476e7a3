//! The sink: sending events from the method, a task or a timer, instead
//! of returning a stream.
//!
//! # Policies
//!
//! * **The connection lives while the method runs or any clone of its
//!   sink lives**, and ends when both are over, or when the client leaves,
//!   a timeout elapses or the server stops. Everything in
//!   [the lifecycle](super::lifecycle) applies unchanged: a sink method is
//!   driven as a stream, its sink's receiving half being the route's
//!   stream.
//! * **Bounded.** At most [`EventSink::CAPACITY`](crate::EventSink::CAPACITY)
//!   (32) events wait for a slow client; then `send` waits, so a slow
//!   client slows its producers down instead of growing memory.
//! * **A closed connection says so.** Every send fails with
//!   [`SendError::Closed`](crate::SendError::Closed) once the client has
//!   gone: stop producing.
//! * **Refusing.** A method returning `Result<(), E>`
//!   (`E: actix_web::ResponseError`) refuses with an ordinary HTTP error by
//!   returning `Err` before it sends anything: the response waits until
//!   the first event (or the return) to know which. After the first event
//!   the response has begun, so a later `Err` ends the stream with a final
//!   error event, as an `Err` item does. A method without a `Result`
//!   starts the response at once. If the first event of a `Result` method
//!   may be long in coming, send a comment (`sink.comment("ok").await`)
//!   once it has accepted the request, so that the client sees the
//!   response begin.
//!
//! # In a controller
//!
//! Take an [`EventSink`](crate::EventSink) parameter, as `c.sse((sink)
//! async { … })` does in the `aim_server_sse` package; the method returns
//! nothing (or `Result<(), E>`):
//!
//! ```
//! use std::time::Duration;
//! use serde_json::json;
//! use sse_runtime::{controller, event_name, sse, Event, EventSink};
//!
//! pub struct Live;
//!
//! #[controller("live")]
//! impl Live {
//!     /// `GET /live/counter`: the connection lives while the method runs.
//!     #[sse("counter")]
//!     async fn counter(&self, sink: EventSink) {
//!         let mut n = 0;
//!         loop {
//!             tokio::time::sleep(Duration::from_secs(1)).await;
//!             n += 1;
//!             if sink.send(json!({ "count": n })).await.is_err() {
//!                 break; // the client has gone
//!             }
//!         }
//!     }
//!
//!     /// `GET /live/timer`: returns at once; the connection lives while a
//!     /// clone of the sink does, and `on_close` stops the timer.
//!     #[sse("timer")]
//!     fn timer(&self, sink: EventSink) {
//!         let ticker = sink.clone();
//!         let task = tokio::spawn(async move {
//!             let mut every = tokio::time::interval(Duration::from_secs(1));
//!             loop {
//!                 every.tick().await;
//!                 let tick = Event::named(event_name!("tick")).data("1");
//!                 if ticker.send(tick).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!         sink.on_close(move || task.abort());
//!     }
//! }
//! ```
//!
//! `SendError` is a `ResponseError` (`500`), so `sink.send(x).await?`
//! works in a method returning `actix_web::Result<()>`.
//!
//! # In a plain handler
//!
//! [`Sse::channel(capacity)`](crate::Sse::channel) returns a sink and the
//! response that streams what it sends; hand the sink to a task and return
//! the response.
//!
//! # The sink's API
//!
//! | | |
//! | --- | --- |
//! | `sink.send(item).await` | any item a stream could yield (`Serialize`, `Event`, `EncodedEvent`, `Json`, `Text`); waits while the queue is full |
//! | `sink.try_send(item)` | the same without waiting: `Err(SendError::Full)` at once |
//! | `sink.comment(text).await` | a `: text` comment |
//! | `Err(SendError::Closed)` | the connection has ended: stop producing |
//! | `Err(SendError::Event(..))` | this item could not be encoded; the stream goes on |
//! | `sink.closed().await`, `sink.is_closed()` | learn that the connection ended, e.g. in a `select!` |
//! | `sink.on_close(f)` | the connection's [`CleanUp::add`](crate::CleanUp::add), at hand; a `CleanUp` parameter works too |
//!
//! # Sink or stream
//!
//! A sink costs its channel: each event is encoded by the sender into a
//! buffer of its own and passes a bounded queue, where a returned stream
//! is encoded straight into the response's buffer. That is far above what
//! a timer or a subscription produces, but a route that streams as fast as
//! it can should return a stream (the `sink` benchmark in the repository's
//! `BENCHMARKS.md` compares them). The demo serves the `aim_server_sse`
//! package's samples both ways, `/aim/..` as streams and `/aim/sink/..`
//! through sinks, with the same bytes on the wire.
