//! Clients that stop reading, over real sockets: dropped after the write
//! timeout without disturbing the others, and never holding a server stop.

mod harden_util;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use harden_util::{start, wait_until, within, Alive, Client, Counters};
use sse_runtime::{controller, sse, CleanUp, SseSettings};
use tokio::time::Instant;

struct Streams {
    counters: Arc<Counters>,
}

impl Streams {
    fn track(&self, cleanup: &CleanUp) -> Alive {
        let counters = self.counters.clone();
        cleanup.add(move || {
            counters.cleanups.fetch_add(1, Ordering::SeqCst);
        });
        Alive::new(&self.counters)
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

/// Keeps reading `client` in the background; returns it when told to stop.
fn keep_reading(
    mut client: Client,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Client>,
) {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stopped => return client,
                more = client.read_some() => if !more { return client },
            }
        }
    });
    (stop, task)
}

#[actix_web::test]
async fn a_stalled_reader_is_dropped_after_the_write_timeout_and_others_are_unaffected() {
    let counters = Arc::new(Counters::default());
    let settings = SseSettings::default().write_timeout(Duration::from_millis(300));
    let server = start(Some(settings), app!(counters));

    let reader = Client::open(server.addr, "/ticks", "data: 1\n").await;
    let (stop_reading, reader) = keep_reading(reader);

    let opened = Instant::now();
    // Reads the response head and the first events, then never again.
    let mut stalled = Client::open(server.addr, "/fast", "data: 0000").await;
    assert!(
        within(
            Duration::from_secs(10),
            "the stalled stream's CleanUp",
            async { wait_until(Duration::from_secs(10), || counters.cleanups() == 1).await }
        )
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
    let gap = reader.longest_gap();
    assert!(
        gap < Duration::from_secs(1),
        "the reader stalled for {gap:?}"
    );
    let (body, ended) = reader.body();
    assert!(!ended);
    assert!(harden_util::events(&body).len() > 20);

    // The stalled client's connection is gone: what was buffered, then the
    // end (a reset).
    stalled.read_to_end(Duration::from_secs(5)).await;
    let (_, ended) = stalled.body();
    assert!(!ended, "a dropped stream must not look finished");

    server.handle.stop(false).await;
}

#[actix_web::test]
async fn without_a_write_timeout_a_stalled_reader_is_kept() {
    let counters = Arc::new(Counters::default());
    let settings = SseSettings::default().write_timeout(None);
    let server = start(Some(settings), app!(counters));
    let _stalled = Client::open(server.addr, "/fast", "data: 0000").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(counters.cleanups(), 0);
    assert_eq!(counters.live(), 1);
    server.handle.stop(false).await;
}

#[actix_web::test]
async fn a_graceful_stop_does_not_wait_for_stalled_readers() {
    let counters = Arc::new(Counters::default());
    // No write timeout: only the stop's drain deadline can end the stalls.
    let settings = SseSettings::default()
        .write_timeout(None)
        .drain_deadline(Duration::from_millis(200));
    let server = start(Some(settings), app!(counters));

    let mut readers = Vec::new();
    for _ in 0..20 {
        let reader = Client::open(server.addr, "/ticks", "data: 0\n").await;
        readers.push(keep_reading(reader));
    }
    let mut stalled = Vec::new();
    for _ in 0..5 {
        stalled.push(Client::open(server.addr, "/fast", "data: 0000").await);
    }
    // Long enough for every fast stream to fill its socket.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    within(
        Duration::from_secs(10),
        "graceful stop",
        sse_runtime::stop(&server.handle, true),
    )
    .await;
    let took = started.elapsed();
    // actix alone would wait its 30 s shutdown timeout for the stalls.
    assert!(took < Duration::from_secs(3), "the stop took {took:?}");

    for (_, reader) in readers {
        let reader = within(Duration::from_secs(5), "reader end", reader)
            .await
            .expect("reader task");
        let (body, ended) = reader.body();
        assert!(ended, "a reading client gets the end of its stream");
        let text = String::from_utf8_lossy(&body).into_owned();
        assert!(text.contains(": server shutting down\n"), "{text:?}");
    }
    for mut client in stalled {
        client.read_to_end(Duration::from_secs(5)).await;
    }
    assert!(wait_until(Duration::from_secs(2), || counters.cleanups() == 25).await);
    assert_eq!(counters.live(), 0);
}

#[actix_web::test]
async fn the_route_option_overrides_the_server_default() {
    let counters = Arc::new(Counters::default());
    // The server's default would keep both for 30 s, or drop both at once.
    for (default, path, dropped) in [
        (Duration::from_secs(30), "/fast-short", true),
        (Duration::from_millis(200), "/fast-kept", false),
    ] {
        let settings = SseSettings::default().write_timeout(default);
        let server = start(Some(settings), app!(counters));
        let before = counters.cleanups();
        let _stalled = Client::open(server.addr, path, "data: 0000").await;
        let ended = wait_until(Duration::from_secs(2), || counters.cleanups() > before).await;
        assert_eq!(
            ended, dropped,
            "{path} with a server default of {default:?}"
        );
        server.handle.stop(false).await;
        assert!(wait_until(Duration::from_secs(5), || counters.live() == 0).await);
    }
}
