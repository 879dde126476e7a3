//! Tracing under an `SseEdge`: one `sse` span per stream carrying its id,
//! route, path (escaped) and peer, an event at open and one at close with
//! the end reason and what was sent; the route's own log lines inside the
//! span.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test::{init_service, TestRequest};
use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::test::call;
use sse_runtime::{controller, sse, Limits, SseEdge};
use sse_test_support::TraceLog;

struct Traced;

#[controller("t")]
impl Traced {
    #[sse("finite/{name}")]
    fn finite(&self) -> impl Stream<Item = &'static str> {
        tracing::info!("route says hello");
        stream::iter(["a", "b", "c"])
    }

    #[sse("endless")]
    fn endless(&self) -> impl Stream<Item = &'static str> {
        stream::once(async { "open" }).chain(stream::pending())
    }

    #[sse("failing")]
    fn failing(&self) -> impl Stream<Item = Result<&'static str, String>> {
        stream::iter([Ok("fine"), Err("broken".to_owned())])
    }
}

async fn app(
    edge: SseEdge,
) -> impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error> {
    init_service(App::new().wrap(edge).service(Traced)).await
}

fn peer() -> SocketAddr {
    "10.1.2.3:40000".parse().unwrap()
}

#[actix_web::test]
async fn open_and_close_events_carry_the_span() {
    let (log, _guard) = TraceLog::capture_thread();
    let app = app(SseEdge::new()).await;
    let req = TestRequest::get()
        .uri("/t/finite/x%0Ay%22z")
        .peer_addr(peer())
        .to_request();
    let mut res = call(&app, req)
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    assert_eq!(res.collect_all().await.unwrap().len(), 3);
    let bytes = res.raw_bytes().len();
    drop(res);

    let opened = log.line_with("SSE stream opened");
    assert!(opened.contains("sse{id="), "{opened}");
    assert!(opened.contains(r#"route="/t/finite/{name}""#), "{opened}");
    // The client's path, quoted by Debug.
    assert!(opened.contains(r#"path="/t/finite/x%0Ay%22z""#), "{opened}");
    assert!(opened.contains("peer=10.1.2.3:40000"), "{opened}");

    let hello = log.line_with("route says hello");
    assert!(
        hello.contains("sse{id="),
        "the route runs in the span: {hello}"
    );

    let closed = log.line_with("SSE stream closed");
    assert!(closed.contains("reason=\"finished\""), "{closed}");
    assert!(closed.contains("events=3"), "{closed}");
    assert!(closed.contains(&format!("bytes={bytes}")), "{closed}");
    assert!(closed.contains("keep_alives=0"), "{closed}");
    assert!(closed.contains("duration="), "{closed}");
}

#[actix_web::test]
async fn end_reasons() {
    let (log, _guard) = TraceLog::capture_thread();
    let app = app(SseEdge::new()).await;

    let req = TestRequest::get()
        .uri("/t/endless")
        .peer_addr(peer())
        .to_request();
    let mut res = call(&app, req).await.unwrap();
    res.next_event().await.unwrap().unwrap();
    res.disconnect();
    let left = log.line_with("SSE stream closed");
    assert!(left.contains("reason=\"client_left\""), "{left}");
    assert!(left.contains("events=1"), "{left}");

    let req = TestRequest::get()
        .uri("/t/failing")
        .peer_addr(peer())
        .to_request();
    let mut res = call(&app, req).await.unwrap();
    let events = res.collect_all().await.unwrap();
    assert_eq!(events.last().unwrap().event, "error");
    let text = log.text();
    let failed = text
        .lines()
        .filter(|l| l.contains("SSE stream closed"))
        .nth(1)
        .expect("a second close");
    assert!(failed.contains("reason=\"error\""), "{failed}");
}

#[actix_web::test]
async fn forwarded_client_and_shed_requests_are_logged() {
    let (log, _guard) = TraceLog::capture_thread();
    let limits = Limits::new()
        .max_streams_per_client(1)
        .trust_forwarded_for(["10.1.2.3".parse().unwrap()]);
    let app = app(SseEdge::new().limits(limits)).await;
    let via = || {
        TestRequest::get()
            .uri("/t/endless")
            .peer_addr(peer())
            .insert_header(("x-forwarded-for", "192.0.2.44"))
            .insert_header((header::ACCEPT, "text/event-stream"))
            .to_request()
    };
    let mut held = call(&app, via()).await.unwrap();
    held.next_event().await.unwrap().unwrap();
    let opened = log.line_with("SSE stream opened");
    assert!(opened.contains("client=192.0.2.44"), "{opened}");

    let mut shed = call(&app, via()).await.unwrap();
    assert!(shed
        .collect_for(Duration::from_secs(1))
        .await
        .unwrap()
        .is_empty());
    let line = log.line_with("shed by a connection cap");
    assert!(line.contains("cap=\"client\""), "{line}");
    assert!(line.contains("answer=\"reconnect\""), "{line}");
}

#[actix_web::test]
async fn without_the_edge_nothing_is_logged() {
    let (log, _guard) = TraceLog::capture_thread();
    let app = init_service(App::new().service(Traced)).await;
    let req = TestRequest::get().uri("/t/finite/x").to_request();
    let mut res = call(&app, req).await.unwrap();
    assert_eq!(res.collect_all().await.unwrap().len(), 3);
    assert!(!log.text().contains("SSE stream"), "{}", log.text());
}
