//! The `aim_server_sse` package's samples in its own style, mounted at
//! `/aim/sink`:
//! the guide's `c.sse((sink) async { … })` becomes an `#[sse]` method that
//! takes an [`EventSink`] and sends through it.
//!
//! | Route | Sample in the guide |
//! |---|---|
//! | `GET /aim/sink/quick-start` | Quick Start |
//! | `GET /aim/sink/counter` | Complete Examples › Live Counter |
//! | `GET /aim/sink/feed` | Complete Examples › Live Feed |
//!
//! The same samples as returned streams are [`crate::aim`]'s quick start
//! and [`crate::live`]'s counter and feed; both styles send the same bytes.
//!
//! Two lifetimes show here. The quick start sends from the method itself:
//! the connection lives while the method runs. The counter and the feed
//! return at once after handing clones of the sink to spawned tasks, as the
//! guide hands its sink to `Timer.periodic` and `stream.listen`: the
//! connection lives while a clone does, and `sink.on_close` (the guide's
//! `sink.onClose`) stops those tasks when the client leaves. A send after
//! that fails, so a task that was not stopped ends at its next send anyway.

use std::pin::pin;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use sse_runtime::{controller, sse, EventSink, HubError, LastEventId};

use crate::pace::Pace;
use crate::services::{FeedService, Gauge};

/// Quick start, counter and feed, sending through an [`EventSink`].
#[derive(Debug, Clone)]
pub struct AimSinkController {
    /// Clock speed of every sleep and timer below.
    pub pace: Pace,
    /// `feedService`.
    pub feed_service: FeedService,
    /// Counts the counters whose timer is running.
    pub counters: Gauge,
}

#[controller("aim/sink")]
impl AimSinkController {
    /// `aim_server_sse`, *Quick Start*: `Event 0` … `Event 9`, one second apart
    /// (each after its pause), then the method returns and the stream ends.
    #[sse("quick-start")]
    async fn quick_start(&self, sink: EventSink) {
        for i in 0..10 {
            self.pace.sleep(Duration::from_secs(1)).await;
            if sink.send(format!("Event {i}")).await.is_err() {
                return;
            }
        }
    }

    /// `aim_server_sse`, *Live Counter*: `{"count": 1}`, `{"count": 2}`, … every
    /// second from a periodic timer, until the client disconnects; then
    /// `on_close` cancels the timer and logs `Client disconnected`.
    #[sse("counter")]
    fn counter(&self, sink: EventSink) {
        let mut count = 0;
        let mut every_second = self.pace.periodic(Duration::from_secs(1));
        let running = self.counters.enter();
        let ticker = sink.clone();
        let timer = tokio::spawn(async move {
            let _running = running;
            loop {
                every_second.tick().await;
                count += 1;
                if ticker.send(json!({ "count": count })).await.is_err() {
                    break;
                }
            }
        });

        // Clean up when client disconnects
        sink.on_close(move || {
            timer.abort();
            tracing::info!("Client disconnected");
        });
    }

    /// `aim_server_sse`, *Live Feed*: every feed update as an event with the
    /// update's id, its type as the event name and its JSON, and a
    /// `: keep-alive` comment every 30 seconds from a timer of its own (the
    /// route's automatic keep-alive is off, as the guide runs its own).
    /// A hub at its bounds answers `503` (see [`HubError`]).
    #[sse("feed", keep_alive = false)]
    fn feed(&self, sink: EventSink) -> Result<(), HubError> {
        // Subscribe to real-time updates (now, so that none is missed
        // before the task starts; first, so that a refusal leaves nothing
        // running)
        let updates = self.feed_service.stream(LastEventId::NONE)?;

        // Keep-alive
        let mut every_30s = self.pace.periodic(Duration::from_secs(30));
        let pinger = sink.clone();
        let keep_alive = tokio::spawn(async move {
            loop {
                every_30s.tick().await;
                if pinger.comment("keep-alive").await.is_err() {
                    break;
                }
            }
        });

        let listener = sink.clone();
        let subscription = tokio::spawn(async move {
            let mut updates = pin!(updates);
            while let Some(update) = updates.next().await {
                match listener.send(update).await {
                    Ok(()) => {}
                    Err(err) if err.is_closed() => break,
                    Err(err) => tracing::warn!(%err, "feed update skipped"),
                }
            }
        });

        sink.on_close(move || {
            keep_alive.abort();
            subscription.abort();
        });
        Ok(())
    }
}
