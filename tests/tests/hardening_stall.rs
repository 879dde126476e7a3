//! Clients that stop reading, over real sockets: dropped after the write
//! timeout without disturbing the others, and never holding a server stop.

use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp, SseSettings};
use sse_test_support::{
    lossy, parse_events, wait_until, within, Counter, Gauge, Live, RawRequest, RawResponse,
    ServerOptions, Stop, TestServer, STEP,
};
use tokio::time::Instant;

/// What the routes report: clean-ups run, streams alive.
#[derive(Clone, Default)]
struct Counters {
    cleanups: Counter,
    live: Gauge,
}

impl Counters {
    fn cleanups(&self) -> usize {
        self.cleanups.get()
    }

    fn live(&self) -> usize {
        self.live.get()
    }
}

struct Streams {
    counters: Counters,
}

impl Streams {
    fn track(&self, cleanup: &CleanUp) -> Live {
        let cleanups = self.counters.cleanups.clone();
        cleanup.add(move || cleanups.bump());
        self.counters.live.enter()
    }
}

#[controller("")]
impl Streams {
    /// As fast as the socket takes it: fills a stalled client's buffers.
    #[sse("fast")]
    fn fast(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        let alive = self.track(&cleanup);
        stream::iter(0u64..).map(move |i| {
            let _alive = &alive;
            format!("{i:0>100}")
        })
    }

    /// The same, with its own write timeout.
    #[sse("fast-short", write_timeout = "300ms")]
    fn fast_short(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        self.fast(cleanup)
    }

    /// The same, never timed out.
    #[sse("fast-kept", write_timeout = false)]
    fn fast_kept(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        self.fast(cleanup)
    }

    /// One small event every 10 ms.
    #[sse("ticks")]
    fn ticks(&self, cleanup: CleanUp) -> impl Stream<Item = u64> {
        let alive = self.track(&cleanup);
        stream::iter(0u64..).then(move |i| {
            let _alive = &alive;
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                i
            }
        })
    }
}

/// The app factory: every worker's `Streams` reports into `counters`.
macro_rules! app {
    ($counters:expr) => {{
        let counters = $counters.clone();
        move || {
            App::new().service(Streams {
                counters: counters.clone(),
            })
        }
    }};
}

/// A server with `settings`, room for many connections at once.
fn start(settings: SseSettings, counters: &Counters) -> TestServer {
    options(settings).serve(app!(counters))
}

fn options(settings: SseSettings) -> ServerOptions {
    ServerOptions::new()
        .max_connections(20_000)
        .backlog(2048)
        .sse_settings(Some(settings))
}

/// A client of `path` that has read until `text` arrived, and that body.
async fn open(server: &TestServer, path: &str, text: &str) -> (RawResponse, Vec<u8>) {
    let mut response = RawRequest::get(path).send(server.addr()).await.unwrap();
    let body = response.read_until(text.as_bytes(), STEP).await.unwrap();
    (response, body)
}

/// A client that read on until told to stop or its stream ended: its
/// response, the whole body, and whether the body ended properly.
struct Read {
    response: RawResponse,
    body: Vec<u8>,
    ended: bool,
}

/// Keeps reading `client` in the background; returns what it read when
/// told to stop.
fn keep_reading(
    (mut response, mut body): (RawResponse, Vec<u8>),
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Read>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let ended = loop {
            tokio::select! {
                _ = &mut stopped => break false,
                next = response.next_chunk() => match next {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) => break true,
                    // Reset or cut off: the stream did not end properly.
                    Err(_) => break false,
                },
            }
        };
        Read {
            response,
            body,
            ended,
        }
    });
    (stop, task)
}

#[actix_web::test]
async fn a_stalled_reader_is_dropped_after_the_write_timeout_and_others_are_unaffected() {
    let counters = Counters::default();
    let settings = SseSettings::default().write_timeout(Duration::from_millis(300));
    let server = start(settings, &counters);

    let reader = open(&server, "/ticks", "data: 1\n").await;
    let (stop_reading, reader) = keep_reading(reader);

    let opened = Instant::now();
    // Reads the response head and the first events, then never again.
    let (mut stalled, _) = open(&server, "/fast", "data: 0000").await;
    assert!(
        within(Duration::from_secs(10), async {
            wait_until(Duration::from_secs(10), || counters.cleanups() == 1).await
        })
        .await,
        "the stalled reader was not dropped"
    );
    let dropped_after = opened.elapsed();
    assert!(
        dropped_after >= Duration::from_millis(300),
        "dropped before the write timeout: {dropped_after:?}"
    );
    assert!(wait_until(Duration::from_secs(2), || counters.live() == 1).await);

    // The reading client kept receiving all along, and still does.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(counters.live(), 1, "the reading stream must survive");
    stop_reading.send(()).expect("reader task alive");
    let reader = reader.await.expect("reader task");
    let gap = reader.response.longest_gap();
    assert!(
        gap < Duration::from_secs(1),
        "the reader stalled for {gap:?}"
    );
    assert!(!reader.ended);
    assert!(parse_events(&reader.body).unwrap().len() > 20);

    // The stalled client's connection is gone: what was buffered, then the
    // end (a reset).
    let (_, ended) = stalled
        .body_until_closed(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!ended, "a dropped stream must not look finished");

    server.stop().await;
}

#[actix_web::test]
async fn without_a_write_timeout_a_stalled_reader_is_kept() {
    let counters = Counters::default();
    let settings = SseSettings::default().write_timeout(None);
    let server = start(settings, &counters);
    let _stalled = open(&server, "/fast", "data: 0000").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(counters.cleanups(), 0);
    assert_eq!(counters.live(), 1);
    server.stop().await;
}

#[actix_web::test]
async fn a_graceful_stop_does_not_wait_for_stalled_readers() {
    let counters = Counters::default();
    // No write timeout: only the stop's drain deadline can end the stalls.
    let settings = SseSettings::default()
        .write_timeout(None)
        .drain_deadline(Duration::from_millis(200));
    // actix's own 30 s shutdown timeout, which alone would wait for them.
    let server = options(settings).shutdown_timeout(30).serve(app!(counters));

    let mut readers = Vec::new();
    for _ in 0..20 {
        let reader = open(&server, "/ticks", "data: 0\n").await;
        readers.push(keep_reading(reader));
    }
    let mut stalled = Vec::new();
    for _ in 0..5 {
        stalled.push(open(&server, "/fast", "data: 0000").await.0);
    }
    // Long enough for every fast stream to fill its socket.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    within(Duration::from_secs(10), server.stop_with(Stop::EndStreams)).await;
    let took = started.elapsed();
    // actix alone would wait its 30 s shutdown timeout for the stalls.
    assert!(took < Duration::from_secs(3), "the stop took {took:?}");

    for (_, reader) in readers {
        let reader = within(Duration::from_secs(5), reader)
            .await
            .expect("reader task");
        assert!(reader.ended, "a reading client gets the end of its stream");
        let text = lossy(&reader.body);
        assert!(text.contains(": server shutting down\n"), "{text:?}");
    }
    for mut client in stalled {
        client
            .body_until_closed(Duration::from_secs(5))
            .await
            .unwrap();
    }
    assert!(wait_until(Duration::from_secs(2), || counters.cleanups() == 25).await);
    assert_eq!(counters.live(), 0);
}

#[actix_web::test]
async fn the_route_option_overrides_the_server_default() {
    let counters = Counters::default();
    // The server's default would keep both for 30 s, or drop both at once.
    for (default, path, dropped) in [
        (Duration::from_secs(30), "/fast-short", true),
        (Duration::from_millis(200), "/fast-kept", false),
    ] {
        let settings = SseSettings::default().write_timeout(default);
        let server = start(settings, &counters);
        let before = counters.cleanups();
        let _stalled = open(&server, path, "data: 0000").await;
        let ended = wait_until(Duration::from_secs(2), || counters.cleanups() > before).await;
        assert_eq!(
            ended, dropped,
            "{path} with a server default of {default:?}"
        );
        server.stop().await;
        assert!(wait_until(Duration::from_secs(5), || counters.live() == 0).await);
    }
}
