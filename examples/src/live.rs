//! Rust twins of the *Complete Examples* of the `aim_server_sse`
//! package's guide: live counter, progress updates and live feed, mounted at
//! `/aim`. The chat notifications are in [`crate::chat`].
//!
//! | Route | Sample in the guide |
//! |---|---|
//! | `GET /aim/counter` | Complete Examples › Live Counter |
//! | `GET /aim/progress` | Complete Examples › Progress Updates |
//! | `GET /aim/feed` | Complete Examples › Live Feed |

use std::time::Duration;

use async_stream::try_stream;
use futures_util::stream::Stream;
use serde::Serialize;
use serde_json::{json, Value};
use sse_runtime::{
    controller, event_name, sse, CleanUp, Event, EventError, HubError, LastEventId, Subscription,
};
use tokio::sync::mpsc;

use crate::pace::Pace;
use crate::services::{FeedService, Gauge};

/// The data of a `progress` event. A struct keeps the guide's key order
/// (`json!` maps sort their keys).
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// 0 to 100.
    pub percentage: u32,
    /// `Processing... 10%`.
    pub message: String,
}

/// Counter, progress and feed.
#[derive(Debug, Clone)]
pub struct LiveController {
    /// Clock speed of every sleep and timer below.
    pub pace: Pace,
    /// `feedService`.
    pub feed_service: FeedService,
    /// Counts the counters whose timer is running.
    pub counters: Gauge,
}

#[controller("aim")]
impl LiveController {
    /// `aim_server_sse`, *Live Counter*: `{"count": 1}`, `{"count": 2}`, … every
    /// second until the client disconnects.
    ///
    /// Like the guide, the counting runs in a timer outside the response (a
    /// spawned task feeding a channel), so it must be stopped explicitly:
    /// the task ends when [`CleanUp::closed`] completes, and a cleanup
    /// callback logs `Client disconnected` (the guide's `sink.onClose`).
    #[sse("counter")]
    fn counter(&self, clean_up: CleanUp) -> impl Stream<Item = Value> {
        let (sink, events) = mpsc::channel(16);
        let every = self.pace.of(Duration::from_secs(1));
        let running = self.counters.enter();
        let closed = clean_up.clone();
        tokio::spawn(async move {
            let _running = running;
            let mut timer = tokio::time::interval(every);
            timer.tick().await; // the first tick is immediate
            let mut count = 0;
            loop {
                tokio::select! {
                    () = closed.closed() => break, // timer.cancel()
                    _ = timer.tick() => {
                        count += 1;
                        if sink.send(json!({"count": count})).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });

        // Clean up when client disconnects
        clean_up.add(|| tracing::info!("Client disconnected"));

        futures_util::stream::unfold(events, |mut events| async move {
            let event = events.recv().await?;
            Some((event, events))
        })
    }

    /// `aim_server_sse`, *Progress Updates*: `progress` events with
    /// `{"percentage":0,"message":"Processing... 0%"}` … 100 in steps of
    /// ten, 500 ms apart, then a `complete` event `{"message": "Done!"}`.
    #[sse("progress")]
    fn progress(&self) -> impl Stream<Item = Result<Event, EventError>> {
        try_stream! {
            for i in (0..=100).step_by(10) {
                self.pace.sleep(Duration::from_millis(500)).await;
                yield Event::named(event_name!("progress")).json(&Progress {
                    percentage: i,
                    message: format!("Processing... {i}%"),
                })?;
            }

            yield Event::named(event_name!("complete"))
                .json(&json!({"message": "Done!"}))?;
        }
    }

    /// `aim_server_sse`, *Live Feed*: every feed update as an event with its
    /// type as the event name (`post`, `like`, `comment`), the update's
    /// JSON and the hub's id, plus a keep-alive comment after 30 s of
    /// silence. A client that reconnects with `Last-Event-ID` gets the
    /// updates it missed from the feed's history.
    ///
    /// The guide cancels the keep-alive timer and the subscription in
    /// `sink.onClose`. Here the keep-alive belongs to the runtime and the
    /// subscription is the returned stream, which the runtime drops when
    /// the connection ends, before running the `CleanUp` callbacks.
    ///
    /// A hub at its bounds answers `503` (see [`HubError`]).
    #[sse("feed", keep_alive = "30s")]
    fn feed(&self, clean_up: CleanUp, last: LastEventId) -> Result<Subscription, HubError> {
        // Subscribe to real-time updates (each published as its event)
        let subscription = self.feed_service.stream(last)?;
        clean_up.add(|| tracing::info!("Feed client left; its subscription is gone"));
        Ok(subscription)
    }
}
