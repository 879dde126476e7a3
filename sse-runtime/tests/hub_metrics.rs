//! The hub's metrics (feature `metrics`), read back from a real Prometheus
//! recorder: topics and subscriptions counted in and out, skipping and
//! disconnected laggards counted, every gauge back to zero once the hubs
//! are gone.
//!
//! The recorder is global to this test binary, so there is one test.

mod prometheus;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sse_runtime::hub::Hub;
use sse_runtime::metrics as names;
use sse_runtime::{EncodedEvent, Subscription};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(10);

fn samples(recorder: &PrometheusHandle) -> HashMap<String, f64> {
    prometheus::samples(&recorder.render())
}

/// The sample's value; a metric never recorded yet counts as 0.
fn sample(recorder: &PrometheusHandle, key: &str) -> f64 {
    samples(recorder).get(key).copied().unwrap_or(0.0)
}

async fn next(sub: &mut Subscription) -> Option<EncodedEvent> {
    timeout(STEP, sub.next()).await.expect("an event in time")
}

#[tokio::test]
async fn the_hub_reports_topics_subscribers_and_laggards() {
    let recorder = PrometheusBuilder::new().install_recorder().unwrap();
    let figures = |recorder: &PrometheusHandle| {
        [
            names::HUB_TOPICS,
            names::HUB_SUBSCRIBERS,
            names::HUB_LAGGED_SUBSCRIBERS,
            names::HUB_SKIPPED_EVENTS,
            names::HUB_DROPPED_SUBSCRIBERS,
        ]
        .map(|name| sample(recorder, name))
    };

    // No history: a laggard skips.
    let skipping = Hub::builder().queue(4).build();
    let mut slow = skipping.subscribe(["a"]).start().unwrap();
    let both = skipping.subscribe(["a", "b"]).start().unwrap();
    assert_eq!(figures(&recorder), [2.0, 2.0, 0.0, 0.0, 0.0]);
    next(&mut slow).await.expect("the start marker");
    for i in 0..10 {
        skipping.publish("a", i.to_string()).await.unwrap();
    }
    let notice = next(&mut slow).await.expect("the lag notice");
    assert!(std::str::from_utf8(notice.as_ref())
        .unwrap()
        .contains("sse-missed"));
    assert_eq!(figures(&recorder), [2.0, 2.0, 1.0, 10.0, 0.0]);
    drop(both);
    assert_eq!(figures(&recorder), [1.0, 1.0, 1.0, 10.0, 0.0], "`b` freed");

    // With history: a laggard is disconnected (and its topic kept).
    let keeping = Hub::builder().history(100).queue(4).build();
    let mut dropped = keeping.subscribe(["c"]).start().unwrap();
    next(&mut dropped).await.expect("the start marker");
    for i in 0..10 {
        keeping.publish("c", i.to_string()).await.unwrap();
    }
    while next(&mut dropped).await.is_some() {}
    assert_eq!(figures(&recorder), [2.0, 2.0, 1.0, 10.0, 1.0]);
    drop(dropped);
    assert_eq!(
        figures(&recorder),
        [2.0, 1.0, 1.0, 10.0, 1.0],
        "`c` keeps its history"
    );

    // Gone hubs leave nothing counted.
    drop((slow, skipping, keeping));
    assert_eq!(figures(&recorder), [0.0, 0.0, 1.0, 10.0, 1.0]);
}
