//! Metrics under an `SseEdge` (feature `metrics`), read back from a real
//! Prometheus recorder: open/opened/closed by reason, events, bytes and
//! keep-alives per route, shed requests by cap, and the clean-up latency
//! histogram (async clean-up included).
//!
//! The recorder is global, so each test uses routes of its own.

mod prometheus;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::{init_service, TestRequest};
use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sse_runtime::metrics as names;
use sse_runtime::test::call;
use sse_runtime::{controller, sse, CleanUp, Limits, SseEdge};

fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(names::CLEANUP_LATENCY_SECONDS.to_owned()),
                names::CLEANUP_LATENCY_BUCKETS,
            )
            .unwrap()
            .install_recorder()
            .unwrap()
    })
}

/// `name{labels} value` lines of the rendered exposition, by `name{labels}`.
fn samples() -> HashMap<String, f64> {
    prometheus::samples(&recorder().render())
}

fn sample(key: &str) -> f64 {
    let all = samples();
    *all.get(key).unwrap_or_else(|| {
        let mut keys: Vec<_> = all.keys().collect();
        keys.sort();
        panic!("no sample {key}; have {keys:#?}")
    })
}

struct Measured;

#[controller("m")]
impl Measured {
    #[sse("finite")]
    fn finite(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["one", "two", "three"])
    }

    #[sse("quiet", keep_alive = "20ms")]
    fn quiet(&self) -> impl Stream<Item = &'static str> {
        stream::once(async { "open" }).chain(stream::pending())
    }

    #[sse("slow-cleanup")]
    fn slow_cleanup(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        cleanup.add_async(async {
            tokio::time::sleep(Duration::from_millis(150)).await;
        });
        stream::iter(["done"])
    }

    #[sse("capped")]
    fn capped(&self) -> impl Stream<Item = &'static str> {
        stream::once(async { "open" }).chain(stream::pending())
    }
}

async fn app(
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    recorder();
    let edge = SseEdge::new().limits(Limits::new().route("/m/capped", 1));
    init_service(App::new().wrap(edge).service(Measured)).await
}

fn get(uri: &str) -> actix_http::Request {
    TestRequest::get()
        .uri(uri)
        .peer_addr("10.0.0.1:40000".parse().unwrap())
        .to_request()
}

#[actix_web::test]
async fn a_finished_stream_is_counted() {
    let app = app().await;
    let mut res = call(&app, get("/m/finite")).await.unwrap();
    assert_eq!(res.collect_all().await.unwrap().len(), 3);
    let bytes = res.raw_bytes().len() as f64;
    drop(res);
    let route = r#"route="/m/finite""#;
    assert_eq!(sample(&format!("sse_streams_opened_total{{{route}}}")), 1.0);
    assert_eq!(
        sample(&format!(
            r#"sse_streams_closed_total{{{route},reason="finished"}}"#
        )),
        1.0
    );
    assert_eq!(sample(&format!("sse_streams_open{{{route}}}")), 0.0);
    assert_eq!(sample(&format!("sse_sent_events_total{{{route}}}")), 3.0);
    assert_eq!(sample(&format!("sse_sent_bytes_total{{{route}}}")), bytes);
}

#[actix_web::test]
async fn open_streams_keep_alives_and_client_left() {
    let app = app().await;
    let route = r#"route="/m/quiet""#;
    let mut res = call(&app, get("/m/quiet")).await.unwrap();
    res.next_event().await.unwrap().unwrap();
    assert_eq!(sample(&format!("sse_streams_open{{{route}}}")), 1.0);
    // Keep-alive comments are no events; wait for a few.
    res.collect_for(Duration::from_millis(120)).await.unwrap();
    let bytes = res.raw_bytes().len() as f64;
    res.disconnect();
    let keep_alives = sample(&format!("sse_sent_keep_alives_total{{{route}}}"));
    assert!(keep_alives >= 2.0, "{keep_alives}");
    assert_eq!(sample(&format!("sse_sent_bytes_total{{{route}}}")), bytes);
    assert_eq!(sample(&format!("sse_sent_events_total{{{route}}}")), 1.0);
    assert_eq!(sample(&format!("sse_streams_open{{{route}}}")), 0.0);
    assert_eq!(
        sample(&format!(
            r#"sse_streams_closed_total{{{route},reason="client_left"}}"#
        )),
        1.0
    );
}

#[actix_web::test]
async fn shed_requests_are_counted_by_cap() {
    let app = app().await;
    let mut held = call(&app, get("/m/capped")).await.unwrap();
    held.next_event().await.unwrap().unwrap();
    for _ in 0..2 {
        let res = app.call(get("/m/capped")).await.unwrap();
        assert_eq!(res.status(), 503);
    }
    assert_eq!(
        sample(r#"sse_streams_shed_total{route="/m/capped",cap="route"}"#),
        2.0
    );
    assert_eq!(
        sample(r#"sse_streams_opened_total{route="/m/capped"}"#),
        1.0
    );
}

#[actix_web::test]
async fn cleanup_latency_includes_async_work() {
    let app = app().await;
    let before = samples();
    let count = |s: &HashMap<String, f64>| {
        s.get("sse_cleanup_latency_seconds_count")
            .copied()
            .unwrap_or(0.0)
    };
    let slow = |s: &HashMap<String, f64>| {
        // Samples of at least 100 ms: total minus the 0.1 s bucket.
        count(s)
            - s.get(r#"sse_cleanup_latency_seconds_bucket{le="0.1"}"#)
                .copied()
                .unwrap_or(0.0)
    };
    let mut res = call(&app, get("/m/slow-cleanup")).await.unwrap();
    assert_eq!(res.collect_all().await.unwrap().len(), 1);
    drop(res);
    // Recorded once the async work is done, on the clean-up thread.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while slow(&samples()) <= slow(&before) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no clean-up latency of 100 ms or more was recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(count(&samples()) > count(&before));
}
