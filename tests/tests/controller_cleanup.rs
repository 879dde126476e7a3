//! `CleanUp` in `#[sse]` methods: callbacks run exactly once, in order,
//! however the connection ends (the stream finished, an item failed, the
//! method refused the request, the client went away), a panicking callback
//! does not stop the others, callbacks can be added from inside the stream,
//! `closed()` completes, `CleanUp` works in any parameter position, and the
//! stream itself is dropped when the connection ends.

mod fixtures;

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use actix_web::{test, web, App, HttpRequest};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp};
use tokio::time::sleep;

use fixtures::Denied;
use sse_test_support::fetch::{body, get, read_until};
use sse_test_support::{
    call_service, lossy, serve, wait_until, DropGuard, Flag, Log, RawRequest, TestServer, STEP,
};

/// What the routes report to the test.
#[derive(Clone, Default)]
struct Probe {
    log: Log,
    stream_dropped: Flag,
}

impl Probe {
    /// A callback that logs `entry`.
    fn logger(&self, entry: &'static str) -> impl FnOnce() + Send + 'static {
        let log = self.log.clone();
        move || log.push(entry)
    }

    /// A guard to hold in a stream: sets `stream_dropped` when dropped.
    fn guard(&self) -> DropGuard {
        DropGuard(self.stream_dropped.clone())
    }
}

struct Cleanups {
    probe: Probe,
}

#[derive(Debug)]
struct Broken;

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broken")
    }
}

/// `first` at once, then nothing ever; holds `guard` while alive.
fn hello_then_idle(guard: DropGuard) -> impl Stream<Item = &'static str> {
    stream::iter(["hello"])
        .chain(stream::pending())
        .map(move |item| {
            let _held = &guard;
            item
        })
}

#[controller("cleanup")]
impl Cleanups {
    #[sse("finite")]
    fn finite(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        for entry in ["first", "second", "third"] {
            cleanup.add(self.probe.logger(entry));
        }
        let guard = self.probe.guard();
        stream::iter(["a", "b"]).map(move |item| {
            let _held = &guard;
            item
        })
    }

    #[sse("failing")]
    fn failing(&self, cleanup: CleanUp) -> impl Stream<Item = Result<&'static str, Broken>> {
        cleanup.add(self.probe.logger("failing"));
        stream::iter([Ok("a"), Err(Broken), Ok("never")])
    }

    #[sse("unserialisable")]
    fn unserialisable(&self, cleanup: CleanUp) -> impl Stream<Item = HashMap<(u8, u8), u8>> {
        cleanup.add(self.probe.logger("unserialisable"));
        stream::iter([HashMap::from([((1, 2), 3)])]).chain(stream::pending())
    }

    #[sse("refused")]
    async fn refused(&self, cleanup: CleanUp) -> Result<impl Stream<Item = &'static str>, Denied> {
        cleanup.add(self.probe.logger("refused"));
        Err::<stream::Empty<&'static str>, _>(Denied)
    }

    #[sse("infinite", keep_alive = "50ms")]
    fn infinite(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        cleanup.add(self.probe.logger("infinite"));
        hello_then_idle(self.probe.guard())
    }

    #[sse("panicking")]
    fn panicking(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        cleanup.add(self.probe.logger("one"));
        cleanup.add(|| panic!("a CleanUp callback panics on purpose"));
        cleanup.add(self.probe.logger("three"));
        cleanup.add(|| std::panic::panic_any(42_u32));
        cleanup.add(self.probe.logger("five"));
        stream::iter(["done"])
    }

    #[sse("from_stream")]
    fn added_in_stream(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        cleanup.add(self.probe.logger("before stream"));
        let probe = self.probe.clone();
        stream::iter(["one", "two"]).map(move |item| {
            if item == "two" {
                cleanup.add(probe.logger("added in stream"));
            }
            item
        })
    }

    #[sse("from_infinite_stream", keep_alive = "50ms")]
    fn added_in_infinite_stream(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let probe = self.probe.clone();
        hello_then_idle(self.probe.guard()).map(move |item| {
            cleanup.add(probe.logger("added in stream"));
            item
        })
    }

    #[sse("closed", keep_alive = "50ms")]
    fn closed(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let log = self.probe.log.clone();
        tokio::spawn(async move {
            cleanup.closed().await;
            assert!(cleanup.is_closed());
            log.push("closed");
        });
        hello_then_idle(self.probe.guard())
    }

    #[sse("closed_finite")]
    async fn closed_finite(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let log = self.probe.log.clone();
        let watcher = cleanup.clone();
        tokio::spawn(async move {
            watcher.closed().await;
            log.push("closed");
        });
        // Let the watcher start waiting.
        tokio::task::yield_now().await;
        assert!(!cleanup.is_closed());
        stream::iter(["x"])
    }

    #[sse("order", keep_alive = "50ms")]
    fn order(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let probe = self.probe.clone();
        cleanup.add(move || {
            let entry = if probe.stream_dropped.is_set() {
                "stream already dropped"
            } else {
                "stream still alive"
            };
            probe.log.push(entry);
        });
        hello_then_idle(self.probe.guard())
    }

    #[sse("first/{n}")]
    fn cleanup_first(&self, cleanup: CleanUp, n: web::Path<u32>) -> impl Stream<Item = String> {
        cleanup.add(self.probe.logger("first position"));
        stream::iter([format!("n={n}")])
    }

    #[sse("middle/{n}")]
    async fn cleanup_middle(
        &self,
        n: web::Path<u32>,
        cleanup: CleanUp,
        request: HttpRequest,
    ) -> impl Stream<Item = String> {
        cleanup.add(self.probe.logger("middle position"));
        stream::iter([format!("n={n} {}", request.path())])
    }

    #[sse("last/{n}")]
    fn cleanup_last(
        &self,
        request: HttpRequest,
        n: web::Path<u32>,
        cleanup: sse_runtime::CleanUp,
    ) -> impl Stream<Item = String> {
        cleanup.add(self.probe.logger("last position"));
        stream::iter([format!("n={n} {}", request.method())])
    }

    #[sse("only")]
    fn cleanup_only(cleanup: CleanUp) -> impl Stream<Item = String> {
        let closed = cleanup.is_closed();
        stream::iter([format!("closed={closed}")])
    }
}

fn start() -> (TestServer, Probe) {
    let probe = Probe::default();
    let shared = probe.clone();
    let server = serve(move || {
        App::new().service(Cleanups {
            probe: shared.clone(),
        })
    });
    (server, probe)
}

/// Waits (at most 2 s) for `expected` in the log, then checks that nothing
/// else runs during a short grace period: exactly once.
async fn expect_log(probe: &Probe, expected: &[&str]) {
    let ran = wait_until(Duration::from_secs(2), || probe.log.len() >= expected.len()).await;
    assert!(
        ran,
        "callbacks did not run within 2 s: {:?}, expected {expected:?}",
        probe.log.entries()
    );
    sleep(Duration::from_millis(100)).await;
    assert_eq!(probe.log.entries(), expected);
}

async fn expect_stream_dropped(probe: &Probe) {
    assert!(
        wait_until(Duration::from_secs(2), || probe.stream_dropped.is_set()).await,
        "the stream was not dropped within 2 s"
    );
}

#[actix_web::test]
async fn callbacks_run_once_in_order_when_the_stream_finishes() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/finite")).await;
    assert_eq!(
        lossy(&body(response).await),
        "data: a\n\ndata: b\n\nid: sse-end\n\n"
    );
    expect_log(&probe, &["first", "second", "third"]).await;
    expect_stream_dropped(&probe).await;
    server.stop().await;
    assert_eq!(probe.log.len(), 3, "callbacks ran again at shutdown");
}

#[actix_web::test]
async fn callbacks_run_when_an_item_errors() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/failing")).await;
    assert_eq!(
        lossy(&body(response).await),
        "data: a\n\nevent: error\ndata: internal error\n\n"
    );
    expect_log(&probe, &["failing"]).await;

    // A value that fails to serialise ends even an otherwise endless stream.
    let response = get(&server.url("/cleanup/unserialisable")).await;
    let text = lossy(&body(response).await);
    assert!(text.starts_with("event: error\ndata: "), "{text:?}");
    expect_log(&probe, &["failing", "unserialisable"]).await;
    server.stop().await;
}

#[actix_web::test]
async fn callbacks_run_when_the_method_refuses_the_request() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/refused")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(lossy(&body(response).await), "denied");
    expect_log(&probe, &["refused"]).await;
    server.stop().await;
}

#[actix_web::test]
async fn callbacks_run_when_a_reqwest_client_disconnects() {
    let (server, probe) = start();
    let mut response = get(&server.url("/cleanup/infinite")).await;
    let received = read_until(&mut response, b"data: hello\n\n", STEP).await;
    assert_eq!(lossy(&received), "data: hello\n\n");
    sleep(Duration::from_millis(120)).await;
    assert!(
        probe.log.is_empty(),
        "ran while connected: {:?}",
        probe.log.entries()
    );
    assert!(
        !probe.stream_dropped.is_set(),
        "stream dropped while connected"
    );

    drop(response);
    expect_log(&probe, &["infinite"]).await;
    expect_stream_dropped(&probe).await;
    server.stop().await;
}

#[actix_web::test]
async fn callbacks_run_when_a_tcp_client_closes_the_connection() {
    let (server, probe) = start();
    let mut response = RawRequest::get("/cleanup/infinite")
        .send(server.addr())
        .await
        .expect("response head");
    assert_eq!(response.status(), 200);
    let first = response
        .next_chunk_within(STEP)
        .await
        .expect("first event")
        .expect("stream ended");
    assert_eq!(lossy(&first), "data: hello\n\n");
    assert!(probe.log.is_empty());

    drop(response);
    expect_log(&probe, &["infinite"]).await;
    expect_stream_dropped(&probe).await;
    server.stop().await;
}

#[actix_web::test]
async fn a_panicking_callback_does_not_stop_the_others() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/panicking")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        lossy(&body(response).await),
        "data: done\n\nid: sse-end\n\n"
    );
    expect_log(&probe, &["one", "three", "five"]).await;

    // The worker survived: the server still answers.
    let response = get(&server.url("/cleanup/panicking")).await;
    assert_eq!(
        lossy(&body(response).await),
        "data: done\n\nid: sse-end\n\n"
    );
    expect_log(&probe, &["one", "three", "five", "one", "three", "five"]).await;
    server.stop().await;
}

#[actix_web::test]
async fn a_callback_added_inside_the_stream_runs() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/from_stream")).await;
    assert_eq!(
        lossy(&body(response).await),
        "data: one\n\ndata: two\n\nid: sse-end\n\n"
    );
    expect_log(&probe, &["before stream", "added in stream"]).await;

    // And when the client leaves an endless stream.
    let mut response = get(&server.url("/cleanup/from_infinite_stream")).await;
    read_until(&mut response, b"data: hello\n\n", STEP).await;
    sleep(Duration::from_millis(100)).await;
    assert_eq!(probe.log.len(), 2, "{:?}", probe.log.entries());
    drop(response);
    expect_log(
        &probe,
        &["before stream", "added in stream", "added in stream"],
    )
    .await;
    server.stop().await;
}

#[actix_web::test]
async fn closed_completes_when_the_connection_ends() {
    let (server, probe) = start();
    let response = get(&server.url("/cleanup/closed_finite")).await;
    assert_eq!(lossy(&body(response).await), "data: x\n\nid: sse-end\n\n");
    expect_log(&probe, &["closed"]).await;

    let mut response = get(&server.url("/cleanup/closed")).await;
    read_until(&mut response, b"data: hello\n\n", STEP).await;
    sleep(Duration::from_millis(120)).await;
    assert_eq!(
        probe.log.entries(),
        ["closed"],
        "closed() completed while connected"
    );
    drop(response);
    expect_log(&probe, &["closed", "closed"]).await;
    server.stop().await;
}

#[actix_web::test]
async fn the_stream_is_dropped_before_the_callbacks_run() {
    let (server, probe) = start();
    let mut response = get(&server.url("/cleanup/order")).await;
    read_until(&mut response, b"data: hello\n\n", STEP).await;
    drop(response);
    expect_stream_dropped(&probe).await;
    expect_log(&probe, &["stream already dropped"]).await;
    server.stop().await;
}

#[actix_web::test]
async fn cleanup_in_any_parameter_position() {
    let (server, probe) = start();
    let cases = [
        ("/cleanup/first/1", "data: n=1\n\n"),
        ("/cleanup/middle/2", "data: n=2 /cleanup/middle/2\n\n"),
        ("/cleanup/last/3", "data: n=3 GET\n\n"),
        ("/cleanup/only", "data: closed=false\n\n"),
    ];
    for (path, expected) in cases {
        let response = get(&server.url(path)).await;
        assert_eq!(
            lossy(&body(response).await),
            format!("{expected}id: sse-end\n\n"),
            "{path}"
        );
    }
    expect_log(
        &probe,
        &["first position", "middle position", "last position"],
    )
    .await;
    server.stop().await;
}

#[actix_web::test]
async fn cleanup_in_process() {
    use sse_runtime::test::{all_events, call};

    let probe = Probe::default();
    let app = test::init_service(App::new().service(Cleanups {
        probe: probe.clone(),
    }))
    .await;
    let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();

    // Finished stream.
    let events = all_events(&app, get("/cleanup/finite"), STEP)
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    expect_log(&probe, &["first", "second", "third"]).await;

    // Refused before streaming: done by the time the response is there.
    let response = call_service(&app, get("/cleanup/refused")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(
        probe.log.entries().last().map(String::as_str),
        Some("refused")
    );

    // Disconnect: dropping the body is the client going away.
    let probe = Probe::default();
    let app = test::init_service(App::new().service(Cleanups {
        probe: probe.clone(),
    }))
    .await;
    let mut response = call(&app, get("/cleanup/infinite"))
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    let event = response.next_event().await.unwrap().expect("stream ended");
    assert_eq!(event.data, "hello");
    assert!(!probe.stream_dropped.is_set());
    assert!(probe.log.is_empty());
    response.disconnect();
    expect_stream_dropped(&probe).await;
    expect_log(&probe, &["infinite"]).await;
}
