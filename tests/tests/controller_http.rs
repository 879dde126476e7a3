//! HTTP-level behaviour of SSE responses, seen by a raw TCP client that
//! records every chunk: events ready together go out in one chunk, an event
//! is not held back by a slow successor, the `Compress` middleware leaves
//! the stream alone, keep-alive comments follow the route's option, and
//! other routes keep answering while many streams are open.

use std::io;
use std::time::Duration;

use actix_web::middleware::Compress;
use actix_web::{test, App, HttpResponse};
use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};
use tokio::time::{sleep, Instant};

use sse_test_support::fetch::{get, read_for, text};
use sse_test_support::{
    call_service, count, lossy, read_body, serve, within, Chunk, RawRequest, RawResponse,
    TestServer, STEP,
};

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

struct Http;

/// `first`, then `second` after two seconds.
fn slow_pair() -> impl Stream<Item = &'static str> {
    stream::unfold(0u8, |step| async move {
        match step {
            0 => Some(("first", 1)),
            1 => {
                sleep(Duration::from_secs(2)).await;
                Some(("second", 2))
            }
            _ => None,
        }
    })
}

const HUGE: usize = 2000;

fn huge_item(i: usize) -> String {
    format!("{i:04} {}", "x".repeat(95))
}

fn huge_events() -> String {
    let mut events: String = (0..HUGE)
        .map(|i| format!("data: {}\n\n", huge_item(i)))
        .collect();
    events.push_str("id: sse-end\n\n");
    events
}

/// The burst's events, then the end frame of a stream that ran out.
fn burst_events() -> String {
    let mut events: String = (0..100).map(|i| format!("data: event {i}\n\n")).collect();
    events.push_str("id: sse-end\n\n");
    events
}

#[controller("http")]
impl Http {
    /// 100 events, all ready at once.
    #[sse("burst")]
    fn burst() -> impl Stream<Item = String> {
        stream::iter((0..100).map(|i| format!("event {i}")))
    }

    /// 100 events that become ready together, after the stream started
    /// (so after the first poll of the body).
    #[sse("late_burst")]
    fn late_burst() -> impl Stream<Item = String> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            sleep(Duration::from_millis(100)).await;
            for i in 0..100 {
                let _ = tx.send(format!("event {i}"));
            }
        });
        stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// About 216 KB of events, all ready at once: more than one chunk's
    /// worth.
    #[sse("huge")]
    fn huge() -> impl Stream<Item = String> {
        stream::iter((0..HUGE).map(huge_item))
    }

    #[sse("slow")]
    fn slow() -> impl Stream<Item = &'static str> {
        slow_pair()
    }

    #[sse("idle_fast", keep_alive = "100ms")]
    fn idle_fast() -> impl Stream<Item = String> {
        stream::pending()
    }

    #[sse("idle_default")]
    fn idle_default() -> impl Stream<Item = String> {
        stream::pending()
    }

    #[sse("idle_off", keep_alive = false)]
    fn idle_off() -> impl Stream<Item = String> {
        stream::pending()
    }

    #[sse("idle_retry", retry = "3s", keep_alive = "100ms")]
    fn idle_retry() -> impl Stream<Item = String> {
        stream::pending()
    }

    #[get("ping")]
    fn ping() -> &'static str {
        "pong"
    }

    #[get("big")]
    fn big() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain")
            .body("compress me ".repeat(1000))
    }
}

const GZIP: &[(&str, &str)] = &[("Accept-Encoding", "gzip")];

async fn raw_get(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    let request = headers
        .iter()
        .fold(RawRequest::get(path), |request, (name, value)| {
            request.header(name, value)
        });
    request
        .send(server.addr())
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

async fn chunks_of(response: &mut RawResponse) -> Vec<Chunk> {
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    response.chunks_to_end(STEP).await.expect("the whole body")
}

/// The first chunk of `/http/slow`, which must arrive alone and at once
/// although its successor takes two seconds.
async fn first_event_arrives_promptly(response: &mut RawResponse) {
    let first = response
        .next_chunk_within(Duration::from_millis(1500))
        .await
        .expect("first event held back")
        .expect("stream ended");
    let latency = first.arrived().duration_since(response.sent_at());
    assert_eq!(lossy(&first), "data: first\n\n");
    assert!(
        latency < Duration::from_millis(300),
        "first event took {latency:?}"
    );
}

#[actix_web::test]
async fn ready_events_are_coalesced_into_few_chunks() {
    let server = serve(|| App::new().service(Http));
    for path in ["/http/burst", "/http/late_burst"] {
        let mut response = raw_get(&server, path, &[]).await;
        let chunks = chunks_of(&mut response).await;
        assert_eq!(lossy(&chunks.concat()), burst_events(), "{path}");
        assert!(
            chunks.len() <= 3,
            "{path}: 100 ready events arrived in {} chunks (sizes {:?})",
            chunks.len(),
            chunks.iter().map(|chunk| chunk.len()).collect::<Vec<_>>()
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_large_burst_is_sent_whole_in_bounded_chunks() {
    let server = serve(|| App::new().service(Http));
    let mut response = raw_get(&server, "/http/huge", &[]).await;
    let chunks = chunks_of(&mut response).await;
    let body = lossy(&chunks.concat());
    assert_eq!(body.len(), huge_events().len());
    assert!(body == huge_events(), "the large burst arrived altered");
    assert!(
        chunks.len() < 100,
        "{HUGE} ready events arrived in {} chunks",
        chunks.len()
    );
    server.stop().await;

    // In-process too (no socket back-pressure involved).
    let app = test::init_service(App::new().service(Http)).await;
    let request = test::TestRequest::get().uri("/http/huge").to_request();
    let response = call_service(&app, request).await;
    let bytes = read_body(response).await;
    assert!(
        lossy(&bytes) == huge_events(),
        "the large burst arrived altered"
    );
}

#[actix_web::test]
async fn an_event_is_not_held_back_by_a_slow_successor() {
    let server = serve(|| App::new().service(Http));
    let mut response = raw_get(&server, "/http/slow", &[]).await;
    assert_eq!(response.status(), 200);
    first_event_arrives_promptly(&mut response).await;
    drop(response);
    server.stop().await;
}

#[actix_web::test]
async fn compress_middleware_leaves_the_stream_alone() {
    let server = serve(|| App::new().wrap(Compress::default()).service(Http));

    // The middleware is active: an ordinary response is compressed.
    let big = raw_get(&server, "/http/big", GZIP).await;
    assert_eq!(big.status(), 200);
    assert_eq!(big.header("content-encoding"), Some("gzip"));
    drop(big);

    let mut response = raw_get(&server, "/http/slow", GZIP).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header_count("content-encoding"), 1);
    assert_eq!(response.header("content-encoding"), Some("identity"));
    first_event_arrives_promptly(&mut response).await;
    assert!(!response.is_ended());
    drop(response);

    let mut response = raw_get(&server, "/http/burst", GZIP).await;
    assert_eq!(response.header("content-encoding"), Some("identity"));
    assert_eq!(
        lossy(&chunks_of(&mut response).await.concat()),
        burst_events()
    );
    server.stop().await;
}

#[actix_web::test]
async fn keep_alive_comments_at_the_configured_pace() {
    let server = serve(|| App::new().service(Http));
    let mut response = get(&server.url("/http/idle_fast")).await;
    assert_eq!(response.status(), 200);
    let received = read_for(&mut response, Duration::from_secs(1)).await;
    let comments = count(&received, KEEP_ALIVE);
    assert!(
        (1..=20).contains(&comments),
        "{comments} keep-alive comments in 1 s at 100 ms"
    );
    assert_eq!(
        received.len(),
        comments * KEEP_ALIVE.len(),
        "only keep-alive comments: {:?}",
        lossy(&received)
    );
    drop(response);

    // After the retry hint, the keep-alives.
    let mut response = get(&server.url("/http/idle_retry")).await;
    let received = read_for(&mut response, Duration::from_millis(600)).await;
    let text = lossy(&received);
    let rest = text
        .strip_prefix("retry: 3000\n\n")
        .unwrap_or_else(|| panic!("stream did not start with the retry hint: {text:?}"));
    assert!(!rest.is_empty(), "no keep-alive within 600 ms");
    assert_eq!(rest.len() % KEEP_ALIVE.len(), 0, "{text:?}");
    assert_eq!(
        count(rest.as_bytes(), KEEP_ALIVE),
        rest.len() / KEEP_ALIVE.len()
    );
    drop(response);
    server.stop().await;
}

/// Nothing arrives for `duration`, and the stream stays open.
async fn assert_silent_and_open(response: &mut RawResponse, duration: Duration) {
    let received = response.body_for(duration).await.expect("body");
    assert!(received.is_empty(), "{:?}", lossy(&received));
    assert!(!response.is_ended());
}

#[actix_web::test]
async fn default_keep_alive_is_quiet_in_a_short_test() {
    let server = serve(|| App::new().service(Http));
    let mut response = raw_get(&server, "/http/idle_default", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_silent_and_open(&mut response, Duration::from_millis(400)).await;
    drop(response);
    server.stop().await;
}

#[actix_web::test]
async fn keep_alive_false_sends_nothing_on_an_idle_stream() {
    let server = serve(|| App::new().service(Http));
    let mut response = raw_get(&server, "/http/idle_off", &[]).await;
    assert_eq!(response.status(), 200);
    let head_latency = response.head_at().duration_since(response.sent_at());
    assert!(
        head_latency < Duration::from_millis(300),
        "the head of an idle stream took {head_latency:?}"
    );
    assert_silent_and_open(&mut response, Duration::from_millis(500)).await;
    drop(response);
    server.stop().await;
}

#[actix_web::test]
async fn keep_alive_in_process() {
    use sse_runtime::test::call;

    let app = test::init_service(App::new().service(Http)).await;
    let mut response = call(
        &app,
        test::TestRequest::get().uri("/http/idle_fast").to_request(),
    )
    .await
    .unwrap()
    .expect_event_stream()
    .unwrap();
    let events = response
        .collect_for(Duration::from_millis(350))
        .await
        .unwrap();
    assert!(events.is_empty(), "comments are not events: {events:?}");
    let comments = count(response.raw_bytes(), KEEP_ALIVE);
    assert!(comments >= 1, "{:?}", lossy(response.raw_bytes()));
    assert_eq!(response.raw_bytes().len(), comments * KEEP_ALIVE.len());
    response.disconnect();

    let mut response = call(
        &app,
        test::TestRequest::get().uri("/http/idle_off").to_request(),
    )
    .await
    .unwrap();
    let events = response
        .collect_for(Duration::from_millis(300))
        .await
        .unwrap();
    assert!(events.is_empty());
    assert!(response.raw_bytes().is_empty());
    assert!(!response.is_ended());
}

#[actix_web::test]
async fn other_routes_answer_while_many_streams_are_open() {
    let server = serve(|| App::new().service(Http));
    let mut open = Vec::new();
    for _ in 0..50 {
        let response = raw_get(&server, "/http/idle_off", &[]).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.header("content-type"), Some("text/event-stream"));
        open.push(response);
    }
    let started = Instant::now();
    let response = within(Duration::from_secs(2), get(&server.url("/http/ping"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "pong");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(1), "ping took {elapsed:?}");

    // An SSE route still streams too.
    let mut burst = raw_get(&server, "/http/burst", &[]).await;
    assert_eq!(lossy(&chunks_of(&mut burst).await.concat()), burst_events());

    // And every stream is still open.
    for response in &mut open {
        assert!(!response.is_ended());
        let waited = response.next_chunk_within(Duration::from_millis(1)).await;
        assert_eq!(waited.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }
    drop(open);
    server.stop().await;
}
