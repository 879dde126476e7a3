//! The browser edge over real sockets (HTTP/1.1 on 127.0.0.1): caps with a
//! trusted proxy's `X-Forwarded-For`, the CORS recipe of the README, and
//! the metrics and log lines of a stream.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqwest::header;
use sse_runtime::{controller, sse, Limits, SseEdge};
use sse_test_support::fetch::{client, read_until, send, text};
use sse_test_support::{contains, within, RawRequest, ServerOptions, TestServer, TraceLog, STEP};

struct Routes;

#[controller("x")]
impl Routes {
    #[sse("endless")]
    fn endless(&self) -> impl Stream<Item = &'static str> {
        stream::once(async { "open" }).chain(stream::pending())
    }

    #[sse("three")]
    fn three(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["1", "2", "3"])
    }

    /// As fast as the socket takes it, closed 300 ms into a stall.
    #[sse("fast", write_timeout = "300ms")]
    fn fast(&self) -> impl Stream<Item = String> {
        stream::iter(0u64..).map(|i| format!("{i:0>100}"))
    }
}

#[actix_web::test]
async fn caps_behind_a_trusted_proxy() {
    let server = ServerOptions::new().sse_defaults().serve(|| {
        let limits = Limits::new()
            .max_streams_per_client(2)
            .trust_forwarded_for(["127.0.0.1".parse().unwrap()]);
        App::new()
            .wrap(SseEdge::new().limits(limits))
            .service(Routes)
    });
    let client = client();
    let open = |who: &'static str| {
        send(
            client
                .get(server.url("/x/endless"))
                .header("x-forwarded-for", who)
                .header(header::ACCEPT, "text/event-stream"),
        )
    };
    let mut first = open("192.0.2.1").await;
    let mut second = open("192.0.2.1").await;
    read_until(&mut first, b"open", STEP).await;
    read_until(&mut second, b"open", STEP).await;

    // The browser-like third gets a stream that says when to come back.
    let third = open("192.0.2.1").await;
    assert_eq!(third.status(), 200);
    let body = text(third).await;
    assert!(
        body.starts_with(": server busy, reconnect later\nretry: "),
        "{body:?}"
    );
    // A script gets 429 and Retry-After.
    let script = send(
        client
            .get(server.url("/x/endless"))
            .header("x-forwarded-for", "192.0.2.1"),
    )
    .await;
    assert_eq!(script.status(), 429);
    assert!(script.headers().contains_key(header::RETRY_AFTER));
    // Another client behind the same proxy is not affected.
    let mut other = open("192.0.2.2").await;
    read_until(&mut other, b"open", STEP).await;

    // A client leaving frees its place at once.
    drop(first);
    let deadline = Instant::now() + STEP;
    loop {
        let mut again = open("192.0.2.1").await;
        // Still busy: the first chunk is the busy frame, not the event.
        let chunk = within(STEP, again.chunk()).await.unwrap();
        if chunk.is_some_and(|chunk| contains(&chunk, b"open")) {
            break;
        }
        assert!(Instant::now() < deadline, "the place was never freed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.stop().await;
}

/// The README's CORS recipe, for one known front end.
fn cors() -> Cors {
    Cors::default()
        .allowed_origin("http://app.example")
        .allowed_methods(["GET"])
        .allowed_header("last-event-id")
        .supports_credentials()
        .max_age(3600)
}

#[actix_web::test]
async fn cors_recipe_over_a_socket() {
    let server = ServerOptions::new()
        .sse_defaults()
        .serve(|| App::new().wrap(cors()).service(Routes));
    let client = client();

    let preflight = send(
        client
            .request(reqwest::Method::OPTIONS, server.url("/x/three"))
            .header(header::ORIGIN, "http://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "last-event-id"),
    )
    .await;
    assert_eq!(preflight.status(), 200);
    let h = preflight.headers();
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://app.example");
    assert_eq!(h[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    assert!(h[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .contains("last-event-id"));

    let stream = send(
        client
            .get(server.url("/x/three"))
            .header(header::ORIGIN, "http://app.example")
            .header("last-event-id", "41"),
    )
    .await;
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://app.example"
    );
    assert_eq!(stream.headers()[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(
        text(stream).await,
        "data: 1\n\ndata: 2\n\ndata: 3\n\nid: sse-end\n\n"
    );

    let elsewhere = send(
        client
            .get(server.url("/x/three"))
            .header(header::ORIGIN, "http://evil.example"),
    )
    .await;
    assert!(!elsewhere
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    server.stop().await;
}

/// The process-wide recorder and subscriber: the server runs on worker
/// threads of its own, so nothing thread-local would see it.
fn observe() -> &'static (PrometheusHandle, TraceLog) {
    static GLOBAL: OnceLock<(PrometheusHandle, TraceLog)> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let log = TraceLog::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        let handle = PrometheusBuilder::new().install_recorder().unwrap();
        (handle, log)
    })
}

/// The routes behind the edge middleware with its defaults.
fn edge_server() -> TestServer {
    ServerOptions::new()
        .sse_defaults()
        .serve(|| App::new().wrap(SseEdge::new()).service(Routes))
}

#[actix_web::test]
async fn metrics_and_log_lines_over_a_socket() {
    let (metrics, log) = observe();
    let server = edge_server();
    let response = send(client().get(server.url("/x/three"))).await;
    assert_eq!(text(response).await.matches("data:").count(), 3);

    let deadline = Instant::now() + STEP;
    let closed = loop {
        let text = log.text();
        // Other tests of this binary log too: pick this route's line.
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("SSE stream closed") && l.contains("route=\"/x/three\""))
        {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "no close line in:\n{text}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(closed.contains("route=\"/x/three\""), "{closed}");
    assert!(closed.contains("peer=127.0.0.1:"), "{closed}");
    assert!(closed.contains("reason=\"finished\""), "{closed}");
    assert!(closed.contains("events=3"), "{closed}");

    let rendered = metrics.render();
    for line in [
        "sse_streams_opened_total{route=\"/x/three\"} 1",
        "sse_streams_closed_total{route=\"/x/three\",reason=\"finished\"} 1",
        "sse_sent_events_total{route=\"/x/three\"} 3",
        "sse_streams_open{route=\"/x/three\"} 0",
    ] {
        assert!(rendered.contains(line), "no `{line}` in:\n{rendered}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_stalled_client_ends_with_write_timeout() {
    let (metrics, log) = observe();
    let server = edge_server();
    // Asks for the endless fast stream and never reads a byte.
    let stalled = RawRequest::get("/x/fast")
        .write_to(server.addr())
        .await
        .unwrap();
    let closed = "sse_streams_closed_total{route=\"/x/fast\",reason=\"write_timeout\"} 1";
    let deadline = Instant::now() + STEP;
    while !metrics.render().contains(closed) {
        assert!(
            Instant::now() < deadline,
            "no `{closed}` in:\n{}",
            metrics.render()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = log.text();
    assert!(
        text.lines().any(|l| l.contains("SSE stream closed")
            && l.contains("route=\"/x/fast\"")
            && l.contains("reason=\"write_timeout\"")),
        "{text}"
    );
    drop(stalled);
    server.stop().await;
}
