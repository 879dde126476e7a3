//! Metrics of SSE streams, through the [`metrics`](https://docs.rs/metrics)
//! facade (cargo feature `metrics`).
//!
//! The runtime only records; the application installs a recorder, such as
//! `metrics-exporter-prometheus`, and serves what it renders. Without a
//! recorder every call is a no-op, and without the feature none of this is
//! compiled. Streams are counted when the server wraps its app in
//! [`SseEdge`](crate::SseEdge), which knows each stream's route.
//!
//! | name | type | labels | what |
//! | --- | --- | --- | --- |
//! | `sse_streams_open` | gauge | `route` | streams open now |
//! | `sse_streams_opened_total` | counter | `route` | streams opened |
//! | `sse_streams_closed_total` | counter | `route`, `reason` | streams closed, by why (below) |
//! | `sse_streams_shed_total` | counter | `route`, `cap` | requests shed by a cap (`server`, `route`, `client`) |
//! | `sse_sent_events_total` | counter | `route` | events handed to the connection |
//! | `sse_sent_bytes_total` | counter | `route` | bytes handed to the connection, keep-alives included |
//! | `sse_sent_keep_alives_total` | counter | `route` | keep-alive comments sent |
//! | `sse_cleanup_latency_seconds` | histogram | | from the end of a stream being noticed to its `CleanUp` work, async included, being done |
//! | `sse_hub_topics` | gauge | | hub topics that exist |
//! | `sse_hub_subscribers` | gauge | | hub subscriptions open |
//! | `sse_hub_lagged_subscribers_total` | counter | | times a subscriber fell behind and skipped events |
//! | `sse_hub_skipped_events_total` | counter | | events such subscribers skipped |
//! | `sse_hub_dropped_subscribers_total` | counter | | subscribers dropped for being too slow |
//!
//! `route` is the route's path pattern (`/chat/{room}`), never the
//! requested path, so the number of series stays that of the routes.
//! `reason` is one of `finished` (the stream ended), `error` (an `Err`
//! item, an item that could not be encoded, or a panic), `client_left`,
//! `write_timeout`, `idle_timeout`, `max_duration` and `stopped` (a server
//! stop).
//!
//! The `metrics` facade records a histogram as raw samples; the exporter
//! decides how to publish it. Prometheus's exporter publishes a summary
//! unless it is given buckets, e.g. [`CLEANUP_LATENCY_BUCKETS`]:
//!
//! ```
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//! use sse_runtime::metrics;
//!
//! let recorder = PrometheusBuilder::new()
//!     .set_buckets_for_metric(
//!         Matcher::Full(metrics::CLEANUP_LATENCY_SECONDS.to_owned()),
//!         metrics::CLEANUP_LATENCY_BUCKETS,
//!     )
//!     .unwrap()
//!     .build_recorder();
//! let handle = recorder.handle(); // `handle.render()` is the /metrics body
//! # let _ = (recorder, handle);
//! ```
//!
//! The hub reports through a small crate-internal API (`metrics::hub`):
//! `topic_created`, `topic_removed`, `subscribed`, `unsubscribed`,
//! `lagged(skipped)` and `dropped`, each one call at the place where the
//! hub does that thing.

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

use std::sync::Arc;
use std::time::Duration;

use crate::limits::Cap;

/// Gauge: streams open now, by `route`.
#[cfg(feature = "metrics")]
pub const STREAMS_OPEN: &str = "sse_streams_open";
/// Counter: streams opened, by `route`.
#[cfg(feature = "metrics")]
pub const STREAMS_OPENED: &str = "sse_streams_opened_total";
/// Counter: streams closed, by `route` and `reason`.
#[cfg(feature = "metrics")]
pub const STREAMS_CLOSED: &str = "sse_streams_closed_total";
/// Counter: requests shed by a cap, by `route` and `cap`.
#[cfg(feature = "metrics")]
pub const STREAMS_SHED: &str = "sse_streams_shed_total";
/// Counter: events handed to the connection, by `route`.
#[cfg(feature = "metrics")]
pub const SENT_EVENTS: &str = "sse_sent_events_total";
/// Counter: bytes handed to the connection, by `route`.
#[cfg(feature = "metrics")]
pub const SENT_BYTES: &str = "sse_sent_bytes_total";
/// Counter: keep-alive comments sent, by `route`.
#[cfg(feature = "metrics")]
pub const SENT_KEEP_ALIVES: &str = "sse_sent_keep_alives_total";
/// Histogram: seconds from the end of a stream being noticed until its
/// `CleanUp` work, async included, is done.
#[cfg(feature = "metrics")]
pub const CLEANUP_LATENCY_SECONDS: &str = "sse_cleanup_latency_seconds";
/// Gauge: hub topics that exist.
#[cfg(feature = "metrics")]
pub const HUB_TOPICS: &str = "sse_hub_topics";
/// Gauge: hub subscriptions open.
#[cfg(feature = "metrics")]
pub const HUB_SUBSCRIBERS: &str = "sse_hub_subscribers";
/// Counter: times a hub subscriber fell behind and skipped events.
#[cfg(feature = "metrics")]
pub const HUB_LAGGED_SUBSCRIBERS: &str = "sse_hub_lagged_subscribers_total";
/// Counter: events that lagging hub subscribers skipped.
#[cfg(feature = "metrics")]
pub const HUB_SKIPPED_EVENTS: &str = "sse_hub_skipped_events_total";
/// Counter: hub subscribers dropped for being too slow.
#[cfg(feature = "metrics")]
pub const HUB_DROPPED_SUBSCRIBERS: &str = "sse_hub_dropped_subscribers_total";

/// Buckets for [`CLEANUP_LATENCY_SECONDS`]: 100 µs to 10 s. Synchronous
/// clean-up lands in the first buckets; async work that calls other
/// services, further up.
#[cfg(feature = "metrics")]
pub const CLEANUP_LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Registers the help text and unit of every metric above with the
/// installed recorder. [`SseEdge::new`](crate::SseEdge::new) calls it, so
/// install the recorder before building the `SseEdge`, or call this after.
#[cfg(feature = "metrics")]
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(STREAMS_OPEN, "SSE streams open now");
    describe_counter!(STREAMS_OPENED, "SSE streams opened");
    describe_counter!(STREAMS_CLOSED, "SSE streams closed, by reason");
    describe_counter!(STREAMS_SHED, "SSE requests shed by a connection cap");
    describe_counter!(SENT_EVENTS, "SSE events handed to the connection");
    describe_counter!(
        SENT_BYTES,
        Unit::Bytes,
        "SSE bytes handed to the connection"
    );
    describe_counter!(SENT_KEEP_ALIVES, "SSE keep-alive comments sent");
    describe_histogram!(
        CLEANUP_LATENCY_SECONDS,
        Unit::Seconds,
        "From the end of an SSE stream being noticed to its CleanUp work being done"
    );
    describe_gauge!(HUB_TOPICS, "Hub topics that exist");
    describe_gauge!(HUB_SUBSCRIBERS, "Hub subscriptions open");
    describe_counter!(
        HUB_LAGGED_SUBSCRIBERS,
        "Times a hub subscriber fell behind and skipped events"
    );
    describe_counter!(
        HUB_SKIPPED_EVENTS,
        "Events that lagging hub subscribers skipped"
    );
    describe_counter!(
        HUB_DROPPED_SUBSCRIBERS,
        "Hub subscribers dropped for being too slow"
    );
}

/// One open stream's handles, looked up once when it opens so that each
/// chunk costs only atomic adds.
pub(crate) struct StreamMetrics {
    #[cfg(feature = "metrics")]
    route: Arc<str>,
    #[cfg(feature = "metrics")]
    open: metrics::Gauge,
    #[cfg(feature = "metrics")]
    events: metrics::Counter,
    #[cfg(feature = "metrics")]
    bytes: metrics::Counter,
    #[cfg(feature = "metrics")]
    keep_alives: metrics::Counter,
}

impl StreamMetrics {
    /// Counts a stream opening on `route`.
    pub(crate) fn opened(route: &Arc<str>) -> StreamMetrics {
        #[cfg(feature = "metrics")]
        {
            let label = || metrics::SharedString::from(route.clone());
            let open = metrics::gauge!(STREAMS_OPEN, "route" => label());
            open.increment(1.0);
            metrics::counter!(STREAMS_OPENED, "route" => label()).increment(1);
            StreamMetrics {
                route: route.clone(),
                open,
                events: metrics::counter!(SENT_EVENTS, "route" => label()),
                bytes: metrics::counter!(SENT_BYTES, "route" => label()),
                keep_alives: metrics::counter!(SENT_KEEP_ALIVES, "route" => label()),
            }
        }
        #[cfg(not(feature = "metrics"))]
        StreamMetrics {}
    }

    /// `events` events in `bytes` bytes went to the connection.
    pub(crate) fn sent(&self, events: u64, bytes: usize) {
        #[cfg(feature = "metrics")]
        {
            if events > 0 {
                self.events.increment(events);
            }
            self.bytes.increment(bytes as u64);
        }
    }

    /// A keep-alive comment of `bytes` bytes went to the connection.
    pub(crate) fn keep_alive(&self, bytes: usize) {
        #[cfg(feature = "metrics")]
        {
            self.keep_alives.increment(1);
            self.bytes.increment(bytes as u64);
        }
    }

    /// The stream closed for `reason`.
    pub(crate) fn closed(self, reason: &'static str) {
        #[cfg(feature = "metrics")]
        {
            self.open.decrement(1.0);
            metrics::counter!(
                STREAMS_CLOSED,
                "route" => metrics::SharedString::from(self.route.clone()),
                "reason" => reason
            )
            .increment(1);
        }
    }
}

/// A request on `route` was shed by `cap`.
pub(crate) fn shed(route: &Arc<str>, cap: Cap) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        STREAMS_SHED,
        "route" => metrics::SharedString::from(route.clone()),
        "cap" => cap.as_str()
    )
    .increment(1);
}

/// A stream's clean-up was done `latency` after its end was noticed.
pub(crate) fn cleanup_latency(latency: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(CLEANUP_LATENCY_SECONDS).record(latency.as_secs_f64());
}

/// What the hub reports, one call at each place where it does the thing:
/// `hub/registry.rs` (topics), `hub/subscription.rs` (subscriptions,
/// laggards).
pub(crate) mod hub {
    /// A topic was created.
    pub(crate) fn topic_created() {
        #[cfg(feature = "metrics")]
        metrics::gauge!(super::HUB_TOPICS).increment(1.0);
    }

    /// A topic was removed.
    pub(crate) fn topic_removed() {
        #[cfg(feature = "metrics")]
        metrics::gauge!(super::HUB_TOPICS).decrement(1.0);
    }

    /// A subscription opened.
    pub(crate) fn subscribed() {
        #[cfg(feature = "metrics")]
        metrics::gauge!(super::HUB_SUBSCRIBERS).increment(1.0);
    }

    /// A subscription ended (for any reason, dropped ones included).
    pub(crate) fn unsubscribed() {
        #[cfg(feature = "metrics")]
        metrics::gauge!(super::HUB_SUBSCRIBERS).decrement(1.0);
    }

    /// A subscriber fell behind and skipped `skipped` events.
    pub(crate) fn lagged(skipped: u64) {
        #[cfg(feature = "metrics")]
        {
            metrics::counter!(super::HUB_LAGGED_SUBSCRIBERS).increment(1);
            metrics::counter!(super::HUB_SKIPPED_EVENTS).increment(skipped);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = skipped;
    }

    /// A subscriber was dropped for being too slow.
    pub(crate) fn dropped() {
        #[cfg(feature = "metrics")]
        metrics::counter!(super::HUB_DROPPED_SUBSCRIBERS).increment(1);
    }
}
