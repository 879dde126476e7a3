//! Rust twins of every code sample in Revali's `@SSE` guide, all on one
//! controller mounted at `/events`, like the guide's
//! `@Controller('events') class EventController`.
//!
//! | Route | Sample in the guide |
//! |---|---|
//! | `GET /events/updates` | Creating an SSE Handler |
//! | `GET /events/limited` | Connection Management › Automatic Cleanup |
//! | `GET /events/events` | Connection Management › Manual Cleanup |
//! | `GET /events/live` | Connection Management › Infinite Streams |
//! | `GET /events/connection-errors` | Error Handling › Connection Errors |
//! | `GET /events/graceful` | Error Handling › Graceful Degradation |
//! | `GET /events/status` | Best Practices › Use Appropriate Data Types |
//! | `GET /events/proper-cleanup` | Best Practices › Handle Connection Cleanup |
//! | `GET /events/updates-100` | Best Practices › Avoid Memory Leaks (✅ limited duration) |
//! | `GET /events/updates-forever` | Best Practices › Avoid Memory Leaks (❌ infinite, no cleanup) |
//!
//! The guide uses the route names `events` and `updates` several times; here
//! each sample has its own path. The guide's Dart client is
//! `examples/examples/client.rs` (`cargo run -p sse-examples --example client`).
//!
//! The guide's "❌ Avoid - Complex objects without serialization" does not
//! compile in Rust: an item that is neither `Serialize` nor an `Event` is
//! refused at build time.
//!
//! ```compile_fail
//! use futures_util::stream::{self, Stream};
//! use sse_runtime::{controller, sse};
//!
//! // No `Serialize`: cannot be sent.
//! struct ComplexObject {
//!     callback: fn(),
//! }
//!
//! struct EventController;
//!
//! #[controller("events")]
//! impl EventController {
//!     #[sse("complex")]
//!     fn complex() -> impl Stream<Item = ComplexObject> {
//!         // error: `ComplexObject` can't be sent as an SSE event
//!         stream::iter([ComplexObject { callback: || {} }])
//!     }
//! }
//! ```

use std::time::{Duration, SystemTime};

use async_stream::stream;
use futures_util::stream::{self as futures_stream, Stream};
use serde::Serialize;
use sse_runtime::{controller, sse, CleanUp, HubError, Subscription};

use crate::clock;
use crate::pace::Pace;
use crate::services::{EventService, LiveUpdateService, ResourceService, ServiceError};

/// The guide's `EventController`, with the services its samples use.
#[derive(Debug, Clone)]
pub struct EventController {
    /// Clock speed of every sleep below.
    pub pace: Pace,
    /// `eventService`.
    pub event_service: EventService,
    /// `resourceService`.
    pub resource_service: ResourceService,
    /// `liveUpdateService`.
    pub live_update_service: LiveUpdateService,
}

/// The guide's typed status: `StatusUpdate({required status, required timestamp})`
/// with a `toJson()` writing the timestamp as ISO-8601.
#[derive(Debug, Clone, Serialize)]
pub struct StatusUpdate {
    /// E.g. `"Running"`.
    pub status: String,
    /// Sent as `"2024-01-01T00:00:00.000Z"`.
    #[serde(serialize_with = "clock::serialize")]
    pub timestamp: SystemTime,
}

#[controller("events")]
impl EventController {
    /// Revali's guide, *Creating an SSE Handler*: `@SSE('updates') sendUpdates()`
    /// yields two strings, then the connection closes.
    ///
    /// `data: Hello, world!` / `data: This is a real-time update`.
    #[sse("updates")]
    fn send_updates() -> impl Stream<Item = &'static str> {
        futures_stream::iter(["Hello, world!", "This is a real-time update"])
    }

    /// Revali's guide, *Automatic Cleanup*: `@SSE('limited') sendLimitedData()`,
    /// `Update 0` … `Update 4` one second apart; the connection closes
    /// automatically after the fifth (and its one-second pause).
    #[sse("limited")]
    fn send_limited_data(&self) -> impl Stream<Item = String> {
        stream! {
            for i in 0..5 {
                yield format!("Update {i}");
                self.pace.sleep(Duration::from_secs(1)).await;
            }
            // Connection closes automatically after 5 messages
        }
    }

    /// Revali's guide, *Manual Cleanup*: `@SSE('events') sendEvents(CleanUp cleanUp)`
    /// registers a callback that disposes of a resource, then streams the
    /// event service.
    ///
    /// The upstream's error, if any, is a `Result` item: it ends the stream
    /// with `event: error`, as an uncaught error in Dart's `yield*` would.
    #[sse("events")]
    fn send_events(&self, clean_up: CleanUp) -> impl Stream<Item = Result<String, ServiceError>> {
        let resource = self.resource_service.open("events");
        // Register cleanup callback
        clean_up.add(move || {
            tracing::info!("Connection closed, cleaning up resources");
            resource.dispose();
        });

        // Stream data
        self.event_service.stream()
    }

    /// Revali's guide, *Infinite Streams*: `@SSE('live') sendLiveUpdates()`
    /// forwards the live update service and never ends; the connection
    /// stays open until the client leaves (which drops the subscription).
    ///
    /// A hub at its bounds answers `503` (see [`HubError`]).
    #[sse("live")]
    fn send_live_updates(&self) -> Result<Subscription, HubError> {
        // `await for (final update in liveUpdateService.stream) yield update;`
        self.live_update_service.stream()
    }

    /// Revali's guide, *Connection Errors*: `yield* eventService.stream` inside a
    /// `try`; on error, `yield 'Error: $e'` and the connection closes.
    #[sse("connection-errors")]
    fn send_events_or_error(&self) -> impl Stream<Item = String> {
        stream! {
            for await event in self.event_service.stream() {
                match event {
                    Ok(event) => yield event,
                    Err(e) => {
                        yield format!("Error: {e}");
                        // Connection will close after error
                        break;
                    }
                }
            }
        }
    }

    /// Revali's guide, *Graceful Degradation*: on an upstream error, yield
    /// `Service temporarily unavailable`, wait five seconds and subscribe
    /// again. The guide recurses (`yield* sendEvents()`); a loop does the
    /// same without growing.
    #[sse("graceful")]
    fn send_events_degrading(&self) -> impl Stream<Item = String> {
        stream! {
            loop {
                let mut failed = false;
                for await event in self.event_service.stream() {
                    match event {
                        Ok(event) => yield event,
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                if !failed {
                    break; // the upstream ended normally: so do we
                }
                yield "Service temporarily unavailable".to_owned();
                self.pace.sleep(Duration::from_secs(5)).await;
                // Try to reconnect: the loop subscribes again.
            }
        }
    }

    /// Revali's guide, *Use Appropriate Data Types*: `@SSE('status') sendStatus()`
    /// yields one typed `StatusUpdate`, sent as JSON:
    /// `data: {"status":"Running","timestamp":"2024-01-01T00:00:00.000Z"}`.
    #[sse("status")]
    fn send_status() -> impl Stream<Item = StatusUpdate> {
        futures_stream::once(async {
            StatusUpdate {
                status: "Running".to_owned(),
                timestamp: SystemTime::now(),
            }
        })
    }

    /// Revali's guide, *Handle Connection Cleanup* (✅ Good - Proper cleanup): a
    /// listener on the event service and a resource, both released by
    /// `CleanUp` when the connection ends; the events themselves come from
    /// a second upstream stream, as in the guide.
    #[sse("proper-cleanup")]
    fn send_events_with_cleanup(
        &self,
        clean_up: CleanUp,
    ) -> impl Stream<Item = Result<String, ServiceError>> {
        let subscription = self.event_service.listen(|event| {
            // Handle events
            tracing::debug!(?event, "listener saw an event");
        });
        let resource = self.resource_service.open("proper-cleanup");

        clean_up.add(move || {
            subscription.cancel();
            resource.dispose();
        });

        self.event_service.stream()
    }

    /// Revali's guide, *Avoid Memory Leaks* (✅ Good - Limited duration streams):
    /// `Update 0` … `Update 99` one second apart, then the stream ends and
    /// the connection closes.
    #[sse("updates-100")]
    fn send_updates_limited(&self) -> impl Stream<Item = String> {
        stream! {
            for i in 0..100 {
                yield format!("Update {i}");
                self.pace.sleep(Duration::from_secs(1)).await;
            }
            // Stream ends, connection closes
        }
    }

    /// Revali's guide, *Avoid Memory Leaks* (❌ Avoid - Infinite streams without
    /// cleanup): `Update` every second, forever.
    ///
    /// Kept to show the difference in Rust: the stream is owned by the
    /// response and dropped when the client leaves, so this one does stop.
    /// It is still a poor pattern: it holds nothing that needs cleaning up
    /// *here*, but anything it acquired would need a `CleanUp`, and a
    /// client that never leaves keeps it running for ever.
    #[sse("updates-forever")]
    fn send_updates_forever(&self) -> impl Stream<Item = &'static str> {
        stream! {
            loop {
                yield "Update";
                self.pace.sleep(Duration::from_secs(1)).await;
                // No way to stop this stream (but the client's disconnect)
            }
        }
    }
}
