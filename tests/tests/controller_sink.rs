//! `#[sse]` methods that take an `EventSink`, over real sockets: what is
//! sent arrives in order and framed like a stream's items; the connection
//! lives while the method runs or a clone of its sink lives; sends are
//! bounded; a send after the client left fails so producers stop;
//! `Result<(), E>` refuses before the first event and ends the stream with
//! an error event after it; panics, `max_duration` and a server stop end a
//! sink route as they end a stream route, and `CleanUp` runs each time.

mod fixtures;

use std::time::Duration;

use actix_web::{web, App};
use serde::Deserialize;
use serde_json::json;
use sse_runtime::{controller, event_name, sse, CleanUp, Event, EventSink, SendError};

use fixtures::Denied;
use sse_test_support::{
    lossy, wait_until, Counter, DropGuard, Flag, Log, RawRequest, RawResponse, ServerOptions, Stop,
    TestServer, STEP,
};

/// What the routes report to the test.
#[derive(Clone, Default)]
struct Probe {
    log: Log,
    /// A producer saw `SendError::Closed` and stopped.
    producer_stopped: Flag,
    /// `EventSink::closed` completed.
    closed_seen: Flag,
    /// How many `try_send`s succeeded.
    accepted: Counter,
    /// The method's future was dropped.
    method_dropped: Flag,
}

struct Sinks {
    probe: Probe,
}

#[derive(Deserialize)]
struct Access {
    ok: bool,
}

impl From<SendError> for Denied {
    fn from(_: SendError) -> Self {
        Denied
    }
}

#[controller("sink")]
impl Sinks {
    /// Every kind of item, then the method returns and the stream ends.
    #[sse("kinds")]
    async fn kinds(&self, sink: EventSink, cleanup: CleanUp) {
        let log = self.probe.log.clone();
        cleanup.add(move || log.push("cleanup"));
        sink.send("two\nlines").await.unwrap();
        sink.send(json!({"count": 1})).await.unwrap();
        sink.comment("a comment").await.unwrap();
        let named = Event::named(event_name!("tick")).id("7").unwrap();
        sink.send(named.data("full event")).await.unwrap();
        sink.send(Event::default().data("shared").encode())
            .await
            .unwrap();
    }

    /// Returns at once; a spawned task holding a clone sends, then drops it.
    #[sse("spawned")]
    fn spawned(&self, sink: EventSink) {
        let log = self.probe.log.clone();
        sink.on_close(move || log.push("on_close"));
        tokio::spawn(async move {
            for n in 1..=3 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                sink.send(format!("tick {n}")).await.unwrap();
            }
        });
    }

    /// A producer that runs until the connection is gone.
    #[sse("endless", keep_alive = false)]
    fn endless(&self, sink: EventSink) {
        let log = self.probe.log.clone();
        sink.on_close(move || log.push("endless closed"));
        let probe = self.probe.clone();
        let watcher = sink.clone();
        tokio::spawn(async move {
            watcher.closed().await;
            probe.closed_seen.set();
        });
        let probe = self.probe.clone();
        tokio::spawn(async move {
            let mut n = 0_u64;
            loop {
                n += 1;
                match sink.send(n).await {
                    Ok(()) => tokio::time::sleep(Duration::from_millis(2)).await,
                    Err(err) => {
                        assert!(err.is_closed(), "{err}");
                        probe.producer_stopped.set();
                        break;
                    }
                }
            }
        });
    }

    /// `try_send` without ever yielding: the bound shows.
    #[sse("burst")]
    fn burst(&self, sink: EventSink) {
        for n in 0..EventSink::CAPACITY * 3 {
            match sink.try_send(n) {
                Ok(()) => self.probe.accepted.bump(),
                Err(SendError::Full) => {}
                Err(other) => panic!("unexpected {other}"),
            }
        }
    }

    /// Many more events than the bound, each waiting for room.
    #[sse("many")]
    async fn many(&self, sink: EventSink) {
        for n in 0..5_000 {
            sink.send(n).await.unwrap();
        }
    }

    /// Refuses unless `?ok=true`.
    #[sse("guarded")]
    async fn guarded(
        &self,
        access: web::Query<Access>,
        sink: EventSink,
        cleanup: CleanUp,
    ) -> Result<(), Denied> {
        let log = self.probe.log.clone();
        cleanup.add(move || log.push("guarded cleanup"));
        tokio::task::yield_now().await;
        if !access.ok {
            return Err(Denied);
        }
        sink.send("welcome").await?;
        Ok(())
    }

    /// Accepts, says so with a comment, then has nothing to send for a
    /// long time: the response must begin anyway.
    #[sse("quiet")]
    async fn quiet(&self, sink: EventSink) -> Result<(), Denied> {
        sink.comment("accepted").await?;
        std::future::pending::<()>().await;
        Ok(())
    }

    /// Fails after its first event.
    #[sse("fails_late")]
    async fn fails_late(&self, sink: EventSink) -> Result<(), Denied> {
        sink.send("first").await?;
        Err(Denied)
    }

    /// Panics once its first event has gone out (a panic before the
    /// response has begun is a 500, as for a stream route).
    #[sse("panics")]
    async fn panics(&self, sink: EventSink) {
        sink.send("before the panic").await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        panic!("a sink method panics on purpose");
    }

    /// Sends until `max_duration` ends the connection, which drops the
    /// method's future mid-loop.
    #[sse("bounded", max_duration = "100ms", keep_alive = false)]
    async fn bounded(&self, sink: EventSink) {
        let _alive = DropGuard(self.probe.method_dropped.clone());
        let mut n = 0_u64;
        while sink.send(n).await.is_ok() {
            n += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn start() -> (TestServer, Probe) {
    start_with(ServerOptions::new())
}

fn start_with(options: ServerOptions) -> (TestServer, Probe) {
    let probe = Probe::default();
    let shared = probe.clone();
    let server = options.serve(move || {
        App::new().service(Sinks {
            probe: shared.clone(),
        })
    });
    (server, probe)
}

async fn open(server: &TestServer, path: &str) -> RawResponse {
    RawRequest::get(path)
        .open_event_stream(server.addr())
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"))
}

async fn body(server: &TestServer, path: &str) -> String {
    let mut response = open(server, path).await;
    lossy(&response.body_to_end(STEP).await.expect("the whole body"))
}

async fn expect_flag(flag: &Flag, what: &str) {
    assert!(
        wait_until(STEP, || flag.is_set()).await,
        "{what} did not happen within {STEP:?}"
    );
}

async fn expect_log(log: &Log, entry: &str) {
    assert!(
        wait_until(STEP, || log.entries().iter().any(|e| e == entry)).await,
        "`{entry}` not logged within {STEP:?}: {:?}",
        log.entries()
    );
}

#[actix_web::test]
async fn every_kind_of_item_is_framed_like_a_stream_item() {
    let (server, probe) = start();
    assert_eq!(
        body(&server, "/sink/kinds").await,
        "data: two\ndata: lines\n\n\
         data: {\"count\":1}\n\n\
         : a comment\n\n\
         event: tick\nid: 7\ndata: full event\n\n\
         data: shared\n\nid: sse-end\n\n"
    );
    expect_log(&probe.log, "cleanup").await;
    server.stop().await;
}

#[actix_web::test]
async fn a_clone_in_a_spawned_task_keeps_the_connection_until_it_is_dropped() {
    let (server, probe) = start();
    assert_eq!(
        body(&server, "/sink/spawned").await,
        "data: tick 1\n\ndata: tick 2\n\ndata: tick 3\n\nid: sse-end\n\n"
    );
    expect_log(&probe.log, "on_close").await;
    server.stop().await;
}

#[actix_web::test]
async fn a_send_after_the_client_left_fails_and_closed_completes() {
    let (server, probe) = start();
    let mut events = open(&server, "/sink/endless").await.into_events();
    let first = events.take(3).await.expect("three events");
    let numbers: Vec<&str> = first.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert!(!probe.producer_stopped.is_set());
    drop(events);
    expect_flag(&probe.producer_stopped, "the producer stopping").await;
    expect_flag(&probe.closed_seen, "`closed()` completing").await;
    server.stop().await;
}

#[actix_web::test]
async fn try_send_fails_fast_once_the_bound_is_reached() {
    let (server, probe) = start();
    let text = body(&server, "/sink/burst").await;
    assert_eq!(probe.accepted.get(), EventSink::CAPACITY);
    let expected: String = (0..EventSink::CAPACITY)
        .map(|n| format!("data: {n}\n\n"))
        .collect();
    assert_eq!(text, expected + "id: sse-end\n\n");
    server.stop().await;
}

#[actix_web::test]
async fn send_waits_for_room_and_loses_nothing() {
    let (server, _probe) = start();
    let expected: String = (0..5_000).map(|n| format!("data: {n}\n\n")).collect();
    assert_eq!(
        body(&server, "/sink/many").await,
        expected + "id: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn result_err_before_the_first_event_is_an_http_error() {
    let (server, probe) = start();
    let mut refused = RawRequest::get("/sink/guarded?ok=false")
        .send(server.addr())
        .await
        .expect("a response");
    assert_eq!(refused.status(), 401);
    assert_eq!(lossy(&refused.body_to_end(STEP).await.unwrap()), "denied");
    expect_log(&probe.log, "guarded cleanup").await;

    assert_eq!(
        body(&server, "/sink/guarded?ok=true").await,
        "data: welcome\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_comment_begins_the_response_of_a_result_method() {
    let (server, _probe) = start();
    let mut response = open(&server, "/sink/quiet").await;
    let received = response.read_until(b"\n\n", STEP).await.unwrap();
    assert_eq!(lossy(&received), ": accepted\n\n");
    server.stop().await;
}

#[actix_web::test]
async fn result_err_after_an_event_ends_the_stream_with_an_error_event() {
    let (server, _probe) = start();
    assert_eq!(
        body(&server, "/sink/fails_late").await,
        "data: first\n\nevent: error\ndata: internal error\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_panic_ends_the_stream_with_an_error_event() {
    let (server, _probe) = start();
    assert_eq!(
        body(&server, "/sink/panics").await,
        "data: before the panic\n\nevent: error\ndata: internal error\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn max_duration_ends_a_sink_route_and_its_producer() {
    let (server, probe) = start();
    let text = body(&server, "/sink/bounded").await;
    assert!(text.starts_with("data: 0\n\ndata: 1\n\n"), "{text:?}");
    expect_flag(&probe.method_dropped, "the method's future being dropped").await;
    server.stop().await;
}

#[actix_web::test]
async fn a_server_stop_ends_sink_streams_with_the_shutdown_frame() {
    let (server, probe) = start_with(ServerOptions::new());
    let mut response = open(&server, "/sink/endless").await;
    let first = response.read_until(b"data: 1\n\n", STEP).await.unwrap();
    assert!(lossy(&first).starts_with("data: 1\n\n"));
    server.stop_with(Stop::EndStreams).await;
    let rest = lossy(&response.body_to_end(STEP).await.expect("the end"));
    assert!(rest.contains(": server shutting down\nretry: "), "{rest:?}");
    // The producer's task died with the worker; `on_close` ran before that.
    assert!(
        probe.log.entries().iter().any(|e| e == "endless closed"),
        "{:?}",
        probe.log.entries()
    );
}
