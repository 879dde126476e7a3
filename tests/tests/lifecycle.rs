//! Connection lifecycle over real sockets: how each way a connection can end
//! reaches `CleanUp`, promptly and exactly once.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp};
use sse_test_support::{
    lossy, rss_kib, wait_until, within, Counter, Gauge, Live, RawRequest, RawResponse,
    ServerOptions, Stop, TestServer,
};
use tokio::sync::mpsc;

/// Counts what the test needs to see: clean-ups run, streams alive.
#[derive(Clone, Default)]
struct Probe {
    cleanups: Counter,
    live_streams: Gauge,
}

struct Lifecycle {
    probe: Probe,
    ended: mpsc::UnboundedSender<Instant>,
}

impl Lifecycle {
    /// Counts the stream alive until it is dropped, and its clean-up.
    fn track(&self, cleanup: &CleanUp) -> Live {
        let cleanups = self.probe.cleanups.clone();
        let ended = self.ended.clone();
        cleanup.add(move || {
            cleanups.bump();
            let _ = ended.send(Instant::now());
        });
        self.probe.live_streams.enter()
    }
}

/// A stream that sends `first` and then nothing, forever.
fn idle_after(first: &'static str, live: Live) -> impl Stream<Item = &'static str> {
    stream::once(async move { first }).chain(stream::pending().map(move |()| {
        let _keep = &live;
        ""
    }))
}

#[controller("")]
impl Lifecycle {
    #[sse("idle", keep_alive = false)]
    fn idle(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        idle_after("hello", self.track(&cleanup))
    }

    #[sse("ka", keep_alive = "200ms")]
    fn keep_alive(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        idle_after("hello", self.track(&cleanup))
    }

    #[sse("fast", keep_alive = false)]
    fn fast(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        let live = self.track(&cleanup);
        stream::iter(0..).map(move |i| {
            let _keep = &live;
            format!("event {i}")
        })
    }

    #[sse("slow-start", keep_alive = false)]
    async fn slow_start(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let live = self.track(&cleanup);
        tokio::time::sleep(Duration::from_millis(20)).await;
        idle_after("late", live)
    }

    #[sse("retry", keep_alive = false, retry = "2s")]
    fn with_retry(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        idle_after("hello", self.track(&cleanup))
    }

    #[sse("max", keep_alive = false, max_duration = "300ms")]
    fn max(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        idle_after("hello", self.track(&cleanup))
    }

    #[sse("idle-timeout", keep_alive = "50ms", idle_timeout = "300ms")]
    fn idle_timeout(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        idle_after("hello", self.track(&cleanup))
    }

    #[sse("panic", keep_alive = false)]
    fn panics(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let live = self.track(&cleanup);
        stream::iter([Some("before"), None]).then(move |item| {
            let _keep = &live;
            async move {
                if item.is_none() {
                    // After the response has started.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                item.expect("the stream panics on purpose")
            }
        })
    }

    #[sse("finite")]
    fn finite(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let live = self.track(&cleanup);
        stream::iter(["a", "b"]).map(move |s| {
            let _keep = &live;
            s
        })
    }

    #[sse("async-cleanup", keep_alive = false)]
    fn async_cleanup(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let live = self.track(&cleanup);
        let probe = self.probe.clone();
        cleanup.add_async(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            probe.cleanups.add(1000);
        });
        idle_after("hello", live)
    }
}

struct Server {
    /// `None` once stopped.
    http: Option<TestServer>,
    probe: Probe,
    ended: mpsc::UnboundedReceiver<Instant>,
}

impl Server {
    fn addr(&self) -> SocketAddr {
        self.http.as_ref().expect("server running").addr()
    }

    async fn stop_with(&mut self, how: Stop) {
        self.http
            .take()
            .expect("server running")
            .stop_with(how)
            .await;
    }
}

fn start(detect_half_close: bool) -> Server {
    let probe = Probe::default();
    let (tx, ended) = mpsc::unbounded_channel();
    let app_probe = probe.clone();
    let http = ServerOptions::new()
        .detect_half_close(detect_half_close)
        .backlog(4096)
        .max_connections(20_000)
        // actix's default: a graceful stop that waited for the open streams
        // would take this long.
        .shutdown_timeout(30)
        .serve(move || {
            App::new().service(Lifecycle {
                probe: app_probe.clone(),
                ended: tx.clone(),
            })
        });
    Server {
        http: Some(http),
        probe,
        ended,
    }
}

/// Opens `path` and reads until `until` has arrived; returns the response
/// and the body so far.
async fn open(addr: SocketAddr, path: &str, until: &str) -> (RawResponse, String) {
    let mut response = RawRequest::get(&format!("/{path}"))
        .send(addr)
        .await
        .unwrap_or_else(|err| panic!("GET /{path}: {err}"));
    let seen = response
        .read_until(until.as_bytes(), Duration::from_secs(5))
        .await
        .unwrap_or_else(|err| panic!("{until:?} did not arrive: {err}"));
    (response, lossy(&seen))
}

/// The rest of the body, which the server must end (with the last chunk)
/// and follow by closing the connection.
async fn read_to_end(response: &mut RawResponse) -> String {
    let limit = Duration::from_secs(5);
    let rest = response
        .body_to_end(limit)
        .await
        .expect("the server should end the body");
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    response
        .wait_closed(limit)
        .await
        .expect("the server should close the connection");
    lossy(&rest)
}

/// When the next clean-up ran; fails the test, naming the caller's line, if
/// none runs within `limit`.
#[track_caller]
fn next_cleanup(server: &mut Server, limit: Duration) -> impl Future<Output = Instant> + '_ {
    let ran = within(limit, server.ended.recv());
    async move { ran.await.expect("channel open") }
}

async fn settle(server: &Server, cleanups: usize) {
    // The assertions that follow report a shortfall.
    wait_until(Duration::from_secs(10), || {
        server.probe.cleanups.get() >= cleanups
    })
    .await;
}

async fn half_close(response: &mut RawResponse) {
    response.half_close().await.expect("FIN");
}

fn reset(response: RawResponse) {
    response.reset().expect("RST");
}

#[actix_web::test]
async fn client_fin_on_an_idle_stream_runs_cleanup_promptly() {
    let mut server = start(true);
    let (mut response, _) = open(server.addr(), "idle", "data: hello\n\n").await;
    let closed_at = Instant::now();
    half_close(&mut response).await;
    let ran_at = next_cleanup(&mut server, Duration::from_secs(1)).await;
    let latency = ran_at.duration_since(closed_at);
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    settle(&server, 1).await;
    assert_eq!(server.probe.cleanups.get(), 1);
    assert_eq!(server.probe.live_streams.get(), 0);
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn client_reset_on_an_idle_stream_runs_cleanup_promptly() {
    let mut server = start(true);
    let (response, _) = open(server.addr(), "idle", "data: hello\n\n").await;
    let closed_at = Instant::now();
    reset(response);
    let ran_at = next_cleanup(&mut server, Duration::from_secs(1)).await;
    assert!(ran_at.duration_since(closed_at) < Duration::from_secs(1));
    assert_eq!(server.probe.live_streams.get(), 0);
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn without_half_close_detection_the_next_keep_alive_notices() {
    let mut server = start(false);
    let (response, _) = open(server.addr(), "ka", "data: hello\n\n").await;
    drop(response);
    // Noticed when a keep-alive comment (every 200 ms) fails to be written.
    next_cleanup(&mut server, Duration::from_secs(3)).await;
    assert_eq!(server.probe.cleanups.get(), 1);
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn finished_stream_runs_cleanup_once_and_closes_the_connection() {
    let mut server = start(true);
    let (mut response, head) = open(server.addr(), "finite", "data: a\n\n").await;
    let rest = read_to_end(&mut response).await;
    assert_eq!(head + &rest, "data: a\n\ndata: b\n\nid: sse-end\n\n");
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    settle(&server, 1).await;
    assert_eq!(server.probe.cleanups.get(), 1);
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn a_panicking_stream_ends_alone() {
    let mut server = start(true);
    let (mut response, head) = open(server.addr(), "panic", "data: before\n\n").await;
    let rest = read_to_end(&mut response).await;
    let all = head + &rest;
    assert!(
        all.contains("event: error\ndata: internal error\n\n"),
        "{all:?}"
    );
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    assert_eq!(server.probe.live_streams.get(), 0);
    // The worker survived: the same single worker still serves.
    let (_response, _) = open(server.addr(), "idle", "data: hello\n\n").await;
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn max_duration_and_idle_timeout_close_the_stream() {
    let mut server = start(true);
    for path in ["max", "idle-timeout"] {
        let started = Instant::now();
        let (mut response, _) = open(server.addr(), path, "data: hello\n\n").await;
        // Ends the body with the last chunk and closes the connection.
        let rest = read_to_end(&mut response).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "{path}: closed after {took:?}"
        );
        assert!(response.is_ended(), "{path}: {rest:?}");
        next_cleanup(&mut server, Duration::from_secs(1)).await;
    }
    // Keep-alive comments do not count as activity for the idle timeout.
    server.stop_with(Stop::Forced).await;
}

#[actix_web::test]
async fn graceful_stop_ends_streams_with_a_retry_hint() {
    let mut server = start(true);
    let (mut plain, _) = open(server.addr(), "idle", "data: hello\n\n").await;
    let (mut hinted, _) = open(server.addr(), "retry", "data: hello\n\n").await;
    let started = Instant::now();
    // A graceful stop must not wait for infinite streams.
    within(Duration::from_secs(5), server.stop_with(Stop::EndStreams)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let plain = read_to_end(&mut plain).await;
    let hinted = read_to_end(&mut hinted).await;
    assert!(
        plain.contains(": server shutting down\nretry: 1000\n\n"),
        "{plain:?}"
    );
    assert!(
        hinted.contains(": server shutting down\nretry: 2000\n\n"),
        "{hinted:?}"
    );
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    assert_eq!(server.probe.cleanups.get(), 2);
    assert_eq!(server.probe.live_streams.get(), 0);
}

#[actix_web::test]
async fn forced_stop_runs_every_cleanup() {
    let mut server = start(true);
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(open(server.addr(), "idle", "data: hello\n\n").await.0);
    }
    server.stop_with(Stop::Forced).await;
    for _ in 0..20 {
        next_cleanup(&mut server, Duration::from_secs(5)).await;
    }
    assert_eq!(server.probe.cleanups.get(), 20);
}

#[actix_web::test]
async fn async_cleanup_is_driven_to_completion_before_stop_returns() {
    let mut server = start(true);
    let _open = open(server.addr(), "async-cleanup", "data: hello\n\n").await;
    server.stop_with(Stop::EndStreams).await;
    // 1 (sync callback) + 1000 (the async work, which sleeps first).
    assert_eq!(server.probe.cleanups.get(), 1001);
}

/// One churn connection, ending the way `n` selects.
async fn churn_one(addr: SocketAddr, n: usize) {
    match n % 4 {
        // FIN on an idle stream
        0 => half_close(&mut open(addr, "idle", "data: hello\n\n").await.0).await,
        // RST on an idle stream
        1 => reset(open(addr, "idle", "data: hello\n\n").await.0),
        // RST in the middle of a fast stream
        2 => reset(open(addr, "fast", "data: event 3\n").await.0),
        // gone before the first event
        _ => RawRequest::get("/slow-start")
            .write_to(addr)
            .await
            .expect("send the request")
            .reset()
            .expect("RST"),
    }
}

/// 10 000 connections ending every way a connection can end, in bounded
/// batches: every one gets exactly one clean-up and leaves nothing behind.
#[actix_web::test]
async fn churn_leaves_no_stream_and_no_memory_behind() {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 200;
    let mut server = start(true);
    let addr = server.addr();
    let before = server.probe.cleanups.get();
    let mut rss_after_half = 0;
    for batch in 0..TOTAL / BATCH {
        if batch == TOTAL / BATCH / 2 {
            // Half-way, the allocator has reached its working size; from here
            // on, a leak would show as growth.
            settle(&server, before + TOTAL / 2).await;
            rss_after_half = rss_kib();
        }
        let mut tasks = Vec::with_capacity(BATCH);
        for i in 0..BATCH {
            tasks.push(tokio::spawn(churn_one(addr, batch * BATCH + i)));
        }
        for task in tasks {
            task.await.expect("client task");
        }
    }
    settle(&server, before + TOTAL).await;
    assert_eq!(server.probe.cleanups.get(), before + TOTAL);
    assert_eq!(server.probe.live_streams.get(), 0);
    let after = rss_kib();
    // 5 000 more connections may not grow the process by more than allocator
    // slack (a leak of even 2 KiB per connection would be 10 MiB).
    println!(
        "RSS after {} connections: {rss_after_half} KiB, after {TOTAL}: {after} KiB",
        TOTAL / 2
    );
    assert!(
        after < rss_after_half + 8 * 1024,
        "RSS grew from {rss_after_half} KiB to {after} KiB over the last {} connections",
        TOTAL / 2
    );
    server.stop_with(Stop::Forced).await;
}
