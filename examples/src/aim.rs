//! Rust twins of the event-sending samples of the `aim_server_sse`
//! package's guide, mounted at `/aim`. The guide registers every sample at
//! `/events`; here each has its own path.
//!
//! | Route | Sample in the guide |
//! |---|---|
//! | `GET /aim/quick-start` | Quick Start |
//! | `GET /aim/basic` | Sending Events › Basic Event |
//! | `GET /aim/multiple` | Sending Events › Multiple Events |
//! | `GET /aim/json` | Sending Events › JSON Events |
//! | `GET /aim/named` | Sending Events › Named Events |
//! | `GET /aim/ids` | Sending Events › Events with ID (resumes after `Last-Event-ID`) |
//! | `GET /aim/keep-alive` | Keep-Alive |
//! | `GET /aim/comments` | Comments |
//!
//! The guide's `sink.sendEvent(...)` calls become stream items: a string is
//! sent as plain `data:`, any other `Serialize` value (here `json!` maps) as
//! JSON, and an [`Event`] when the event needs a name, an id or a comment.

use std::time::Duration;

use async_stream::{stream, try_stream};
use futures_util::stream::{self as futures_stream, Stream};
use serde::Serialize;
use serde_json::json;
use sse_runtime::{controller, event_name, sse, Event, EventError, LastEventId};

use crate::clock;
use crate::pace::Pace;

/// The data of the *JSON Events* sample.
#[derive(Debug, Clone, Serialize)]
pub struct JsonMessage {
    /// `notification`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `New message`.
    pub message: &'static str,
    /// ISO-8601.
    pub timestamp: String,
}

/// The `/aim` samples that send events one by one.
#[derive(Debug, Clone)]
pub struct AimController {
    /// Clock speed of every sleep below.
    pub pace: Pace,
}

#[controller("aim")]
impl AimController {
    /// `aim_server_sse`, *Quick Start*: ten events, `Event 0` … `Event 9`, one
    /// second apart (each after its pause), then the stream ends.
    #[sse("quick-start")]
    fn quick_start(&self) -> impl Stream<Item = String> {
        stream! {
            for i in 0..10 {
                self.pace.sleep(Duration::from_secs(1)).await;
                yield format!("Event {i}");
            }
        }
    }

    /// `aim_server_sse`, *Basic Event*: `sink.sendEvent(data: 'Hello, SSE!')`.
    #[sse("basic")]
    fn basic() -> impl Stream<Item = &'static str> {
        futures_stream::iter(["Hello, SSE!"])
    }

    /// `aim_server_sse`, *Multiple Events*: `Event number 0` … `Event number 4`,
    /// one second apart.
    #[sse("multiple")]
    fn multiple(&self) -> impl Stream<Item = String> {
        stream! {
            for i in 0..5 {
                self.pace.sleep(Duration::from_secs(1)).await;
                yield format!("Event number {i}");
            }
        }
    }

    /// `aim_server_sse`, *JSON Events*: a map sent as JSON,
    /// `data: {"type":"notification","message":"New message","timestamp":"…"}`.
    ///
    /// A `json!({...})` map would do as well, with its keys sorted.
    #[sse("json")]
    fn json() -> impl Stream<Item = JsonMessage> {
        futures_stream::once(async {
            JsonMessage {
                kind: "notification",
                message: "New message",
                timestamp: clock::now(),
            }
        })
    }

    /// `aim_server_sse`, *Named Events*: a `notification` event, then an `update`
    /// event, each with JSON data. Browsers dispatch them to
    /// `addEventListener('notification' | 'update', ...)`.
    #[sse("named")]
    fn named() -> impl Stream<Item = Result<Event, EventError>> {
        try_stream! {
            // Different event types
            yield Event::named(event_name!("notification"))
                .json(&json!({"message": "New notification"}))?;

            yield Event::named(event_name!("update"))
                .json(&json!({"status": "completed"}))?;
        }
    }

    /// `aim_server_sse`, *Events with ID*: `id: 1` / `data: Event 1`, `id: 2` / …
    /// every second, forever. A reconnecting browser sends the last one back
    /// as `Last-Event-ID`, and the count resumes after it (`Last-Event-ID: 3`
    /// → `id: 4`, `id: 5`, …); an absent or non-numeric id starts at 1.
    #[sse("ids")]
    fn with_ids(&self, last: LastEventId) -> impl Stream<Item = Result<Event, EventError>> {
        // The ids are the count itself, so the id a browser reports is all
        // the state a resume needs. Anything that is not a count we sent
        // (another route's id, a hand-made header) restarts rather than
        // failing the request.
        let mut id = last
            .as_str()
            .and_then(|id| id.parse::<u64>().ok())
            .unwrap_or(0);
        try_stream! {
            loop {
                self.pace.sleep(Duration::from_secs(1)).await;
                // A client may send `u64::MAX`: start over instead of
                // overflowing (a panic would end the stream with an error).
                id = id.checked_add(1).unwrap_or(1);
                yield Event::default().id(id.to_string())?.data(format!("Event {id}"));
            }
        }
    }

    /// `aim_server_sse`, *Keep-Alive*: `Update` once a minute, and a `: keep-alive`
    /// comment after 30 seconds of silence. The guide runs its own
    /// `Timer.periodic`; here the route option does it (and only when the
    /// connection is actually idle).
    #[sse("keep-alive", keep_alive = "30s")]
    fn keep_alive(&self) -> impl Stream<Item = &'static str> {
        stream! {
            // Your event logic
            loop {
                self.pace.sleep(Duration::from_secs(60)).await;
                yield "Update";
            }
        }
    }

    /// `aim_server_sse`, *Comments*: two comments (`: This is a comment`,
    /// `: Connection established at …`), which clients do not see, then one
    /// message so that a browser shows something.
    #[sse("comments")]
    fn comments() -> impl Stream<Item = Event> {
        futures_stream::iter([
            Event::default().comment("This is a comment"),
            Event::default().comment(format!("Connection established at {}", clock::now())),
            Event::default().data("Two comments were sent before this event"),
        ])
    }
}
