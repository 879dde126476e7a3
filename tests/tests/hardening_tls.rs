//! Clients that stop reading, over HTTPS: the same protections as over plain
//! TCP (`hardening_stall.rs`), from `.sse_settings(..)` alone. The servers
//! bind with `bind_rustls_0_23` and have no connection hook of their own:
//! sse-runtime's `rustls-0_23` feature makes its hook see the TCP socket
//! under actix-tls's rustls stream.

use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp, SseSettings};
use sse_test_support::{
    lossy, wait_until, within, Counter, Gauge, Live, RawRequest, RawResponse, ServerOptions, Stop,
    TestServer, STEP,
};
use tokio::time::Instant;

/// What the routes report: clean-ups run, streams alive.
#[derive(Clone, Default)]
struct Counters {
    cleanups: Counter,
    live: Gauge,
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
    /// As fast as the connection takes it: fills a stalled client's
    /// buffers (the TLS layer's and the kernel's).
    #[sse("fast")]
    fn fast(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        let alive = self.track(&cleanup);
        stream::iter(0u64..).map(move |i| {
            let _alive = &alive;
            format!("{i:0>100}")
        })
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

/// An HTTPS server (HTTP/1.1 or HTTP/2 by ALPN) with `settings` and nothing
/// else: `ServerOptions::sse_settings` calls `SseServerExt::sse_settings`
/// before `bind_rustls_0_23`, as an application does.
fn start(options: ServerOptions, settings: SseSettings, counters: &Counters) -> TestServer {
    let counters = counters.clone();
    options.tls().sse_settings(Some(settings)).serve(move || {
        App::new().service(Streams {
            counters: counters.clone(),
        })
    })
}

/// An HTTPS client of `path` that has read until `text` arrived, and that
/// body; it reads nothing more unless asked.
async fn open(server: &TestServer, path: &str, text: &str) -> (RawResponse, Vec<u8>) {
    let pem = server.cert_pem().expect("a TLS server");
    let mut response = RawRequest::get(path)
        .tls(pem)
        .send(server.addr())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.read_until(text.as_bytes(), STEP).await.unwrap();
    (response, body)
}

#[actix_web::test]
async fn a_stalled_https_reader_is_dropped_after_the_write_timeout() {
    let counters = Counters::default();
    let settings = SseSettings::default().write_timeout(Duration::from_millis(300));
    let server = start(ServerOptions::new(), settings, &counters);

    // A reading client beside it, to show the drop is the stalled one's.
    let (mut reader, _) = open(&server, "/ticks", "data: 1\n").await;

    let opened = Instant::now();
    // Reads the response head and the first events, then never again.
    let (mut stalled, _) = open(&server, "/fast", "data: 0000").await;
    assert!(
        wait_until(Duration::from_secs(10), || counters.cleanups.get() == 1).await,
        "the stalled HTTPS reader was not dropped (without the hook under TLS it \
         would hold its connection until the server stops)"
    );
    let dropped_after = opened.elapsed();
    assert!(
        dropped_after >= Duration::from_millis(300),
        "dropped before the write timeout: {dropped_after:?}"
    );
    assert!(wait_until(STEP, || counters.live.get() == 1).await);

    // The reading client still receives.
    let more = reader.read_until(b"data: 30\n", STEP).await.unwrap();
    assert!(lossy(&more).contains("data: 30\n"));
    assert_eq!(counters.live.get(), 1, "the reading stream must survive");

    // The stalled client's connection is gone: what was buffered, then the
    // end, which is no proper end of the body (a reset, or TCP's end
    // without TLS's close_notify).
    let (_, ended) = stalled
        .body_until_closed(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!ended, "a dropped stream must not look finished");

    drop(reader);
    server.stop().await;
}

#[actix_web::test]
async fn a_stop_with_a_stalled_https_reader_ends_within_the_drain_deadline() {
    let counters = Counters::default();
    // No write timeout: only the stop's drain deadline can end the stall.
    let settings = SseSettings::default()
        .write_timeout(None)
        .drain_deadline(Duration::from_millis(200));
    // actix's own 30 s shutdown timeout, which alone would wait for it.
    let server = start(
        ServerOptions::new().shutdown_timeout(30),
        settings,
        &counters,
    );

    let (mut stalled, _) = open(&server, "/fast", "data: 0000").await;
    // Long enough for the stream to fill the connection's buffers.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        counters.cleanups.get(),
        0,
        "nothing may drop it before the stop"
    );

    let started = Instant::now();
    within(Duration::from_secs(10), server.stop_with(Stop::EndStreams)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "the stop took {took:?}");
    assert!(wait_until(STEP, || counters.cleanups.get() == 1).await);
    assert_eq!(counters.live.get(), 0);

    let (_, ended) = stalled
        .body_until_closed(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(!ended, "the stalled stream never took its last event");
}
