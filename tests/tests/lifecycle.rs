//! Connection lifecycle over real sockets: how each way a connection can end
//! reaches `CleanUp`, promptly and exactly once.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// Counts what the test needs to see: clean-ups run, streams alive.
#[derive(Default)]
struct Probe {
    cleanups: AtomicUsize,
    live_streams: AtomicUsize,
}

/// Held by each stream; its drop proves the stream was dropped.
struct LiveStream(Arc<Probe>);

impl LiveStream {
    fn new(probe: &Arc<Probe>) -> Self {
        probe.live_streams.fetch_add(1, Ordering::SeqCst);
        LiveStream(probe.clone())
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        self.0.live_streams.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Lifecycle {
    probe: Arc<Probe>,
    ended: mpsc::UnboundedSender<Instant>,
}

impl Lifecycle {
    fn track(&self, cleanup: &CleanUp) -> LiveStream {
        let probe = self.probe.clone();
        let ended = self.ended.clone();
        cleanup.add(move || {
            probe.cleanups.fetch_add(1, Ordering::SeqCst);
            let _ = ended.send(Instant::now());
        });
        LiveStream::new(&self.probe)
    }
}

/// A stream that sends `first` and then nothing, forever.
fn idle_after(first: &'static str, live: LiveStream) -> impl Stream<Item = &'static str> {
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
            probe.cleanups.fetch_add(1000, Ordering::SeqCst);
        });
        idle_after("hello", live)
    }
}

struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
    probe: Arc<Probe>,
    ended: mpsc::UnboundedReceiver<Instant>,
}

fn start(detect_half_close: bool) -> Server {
    let probe = Arc::new(Probe::default());
    let (tx, ended) = mpsc::unbounded_channel();
    let app_probe = probe.clone();
    let server = HttpServer::new(move || {
        App::new().service(Lifecycle {
            probe: app_probe.clone(),
            ended: tx.clone(),
        })
    })
    .workers(1)
    .backlog(4096)
    .max_connections(20_000)
    .h1_allow_half_closed(!detect_half_close)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Server {
        addr,
        handle,
        probe,
        ended,
    }
}

/// Opens `path` and reads until `until` has arrived; returns the socket and
/// what was read.
async fn open(addr: SocketAddr, path: &str, until: &str) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(format!("GET /{path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .expect("send request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), async {
        while !String::from_utf8_lossy(&seen).contains(until) {
            let n = socket.read(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "connection closed before {until:?}: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{until:?} did not arrive: {:?}",
            String::from_utf8_lossy(&seen)
        )
    });
    (socket, String::from_utf8_lossy(&seen).into_owned())
}

async fn read_to_end(socket: &mut TcpStream) -> String {
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut out))
        .await
        .expect("the server should close the connection")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

async fn next_cleanup(server: &mut Server, within: Duration) -> Instant {
    tokio::time::timeout(within, server.ended.recv())
        .await
        .expect("CleanUp did not run in time")
        .expect("channel open")
}

async fn settle(server: &Server, cleanups: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.probe.cleanups.load(Ordering::SeqCst) < cleanups && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn half_close(socket: TcpStream) -> TcpStream {
    let std = socket.into_std().expect("into std");
    std.shutdown(std::net::Shutdown::Write).expect("shutdown");
    TcpStream::from_std(std).expect("from std")
}

fn reset(socket: TcpStream) {
    // Deprecated for blocking on drop with a non-zero linger; zero resets at once.
    #[allow(deprecated)]
    socket.set_linger(Some(Duration::ZERO)).expect("linger");
    drop(socket);
}

#[actix_web::test]
async fn client_fin_on_an_idle_stream_runs_cleanup_promptly() {
    let mut server = start(true);
    let (socket, _) = open(server.addr, "idle", "data: hello\n\n").await;
    let closed_at = Instant::now();
    let _socket = half_close(socket);
    let ran_at = next_cleanup(&mut server, Duration::from_secs(1)).await;
    let latency = ran_at.duration_since(closed_at);
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    settle(&server, 1).await;
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 1);
    assert_eq!(server.probe.live_streams.load(Ordering::SeqCst), 0);
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn client_reset_on_an_idle_stream_runs_cleanup_promptly() {
    let mut server = start(true);
    let (socket, _) = open(server.addr, "idle", "data: hello\n\n").await;
    let closed_at = Instant::now();
    reset(socket);
    let ran_at = next_cleanup(&mut server, Duration::from_secs(1)).await;
    assert!(ran_at.duration_since(closed_at) < Duration::from_secs(1));
    assert_eq!(server.probe.live_streams.load(Ordering::SeqCst), 0);
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn without_half_close_detection_the_next_keep_alive_notices() {
    let mut server = start(false);
    let (socket, _) = open(server.addr, "ka", "data: hello\n\n").await;
    drop(socket);
    // Noticed when a keep-alive comment (every 200 ms) fails to be written.
    next_cleanup(&mut server, Duration::from_secs(3)).await;
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 1);
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn finished_stream_runs_cleanup_once_and_closes_the_connection() {
    let mut server = start(true);
    let (mut socket, _) = open(server.addr, "finite", "data: a\n\n").await;
    let rest = read_to_end(&mut socket).await;
    assert!(rest.ends_with("0\r\n\r\n") || rest.is_empty() || rest.contains("data: b"));
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    settle(&server, 1).await;
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 1);
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn a_panicking_stream_ends_alone() {
    let mut server = start(true);
    let (mut socket, head) = open(server.addr, "panic", "data: before\n\n").await;
    let rest = read_to_end(&mut socket).await;
    let all = head + &rest;
    assert!(
        all.contains("event: error\ndata: internal error\n\n"),
        "{all:?}"
    );
    next_cleanup(&mut server, Duration::from_secs(1)).await;
    assert_eq!(server.probe.live_streams.load(Ordering::SeqCst), 0);
    // The worker survived: the same single worker still serves.
    let (_socket, _) = open(server.addr, "idle", "data: hello\n\n").await;
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn max_duration_and_idle_timeout_close_the_stream() {
    let mut server = start(true);
    for path in ["max", "idle-timeout"] {
        let started = Instant::now();
        let (mut socket, _) = open(server.addr, path, "data: hello\n\n").await;
        let rest = read_to_end(&mut socket).await;
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "{path}: closed after {took:?}"
        );
        assert!(rest.ends_with("0\r\n\r\n"), "{path}: {rest:?}");
        next_cleanup(&mut server, Duration::from_secs(1)).await;
    }
    // Keep-alive comments do not count as activity for the idle timeout.
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn graceful_stop_ends_streams_with_a_retry_hint() {
    let mut server = start(true);
    let (mut plain, _) = open(server.addr, "idle", "data: hello\n\n").await;
    let (mut hinted, _) = open(server.addr, "retry", "data: hello\n\n").await;
    let started = Instant::now();
    tokio::time::timeout(
        Duration::from_secs(5),
        sse_runtime::stop(&server.handle, true),
    )
    .await
    .expect("graceful stop must not wait for infinite streams");
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
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 2);
    assert_eq!(server.probe.live_streams.load(Ordering::SeqCst), 0);
}

#[actix_web::test]
async fn forced_stop_runs_every_cleanup() {
    let mut server = start(true);
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets.push(open(server.addr, "idle", "data: hello\n\n").await.0);
    }
    server.handle.stop(false).await;
    for _ in 0..20 {
        next_cleanup(&mut server, Duration::from_secs(5)).await;
    }
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 20);
}

#[actix_web::test]
async fn async_cleanup_is_driven_to_completion_before_stop_returns() {
    let server = start(true);
    let _open = open(server.addr, "async-cleanup", "data: hello\n\n").await;
    sse_runtime::stop(&server.handle, true).await;
    // 1 (sync callback) + 1000 (the async work, which sleeps first).
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), 1001);
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One churn connection, ending the way `n` selects.
async fn churn_one(addr: SocketAddr, n: usize) {
    match n % 4 {
        // FIN on an idle stream
        0 => drop(half_close(open(addr, "idle", "data: hello\n\n").await.0)),
        // RST on an idle stream
        1 => reset(open(addr, "idle", "data: hello\n\n").await.0),
        // RST in the middle of a fast stream
        2 => reset(open(addr, "fast", "data: event 3\n").await.0),
        // gone before the first event
        _ => {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            s.write_all(b"GET /slow-start HTTP/1.1\r\nHost: t\r\n\r\n")
                .await
                .expect("send");
            reset(s);
        }
    }
}

/// 10 000 connections ending every way a connection can end, in bounded
/// batches: every one gets exactly one clean-up and leaves nothing behind.
#[actix_web::test]
async fn churn_leaves_no_stream_and_no_memory_behind() {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 200;
    let server = start(true);
    let addr = server.addr;
    let before = server.probe.cleanups.load(Ordering::SeqCst);
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
    assert_eq!(server.probe.cleanups.load(Ordering::SeqCst), before + TOTAL);
    assert_eq!(server.probe.live_streams.load(Ordering::SeqCst), 0);
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
    server.handle.stop(false).await;
}
