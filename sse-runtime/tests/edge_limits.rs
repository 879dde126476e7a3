//! `Limits` under an `SseEdge`, in process: each cap sheds the request
//! over it before the route's method runs, with a reconnect stream for
//! EventSource-like clients and 503/429 + `Retry-After` for the rest, and a
//! stream frees its place when it ends; a route cap on a pattern the app
//! does not register is logged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header;
use actix_web::test::{init_service, TestRequest};
use actix_web::{App, HttpResponse};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::test::{call, SseResponse};
use sse_runtime::{controller, sse, Limits, Shed, SseEdge};
use sse_test_support::TraceLog;

struct Routes {
    calls: Arc<AtomicUsize>,
}

#[controller("edge")]
impl Routes {
    #[sse("a")]
    fn a(&self) -> impl Stream<Item = &'static str> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        stream::once(async { "open" }).chain(stream::pending())
    }

    #[sse("b")]
    fn b(&self) -> impl Stream<Item = &'static str> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        stream::once(async { "open" }).chain(stream::pending())
    }

    #[sse("refuse")]
    fn refuse(&self) -> Result<impl Stream<Item = &'static str>, actix_web::Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err::<stream::Empty<&'static str>, _>(actix_web::error::ErrorForbidden("no"))
    }
}

async fn app(
    limits: Limits,
) -> (
    impl Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let routes = Routes {
        calls: calls.clone(),
    };
    let service = init_service(
        App::new()
            .wrap(SseEdge::new().limits(limits))
            .service(routes),
    )
    .await;
    (service, calls)
}

fn peer(ip: &str) -> SocketAddr {
    format!("{ip}:40000").parse().unwrap()
}

/// A request as `EventSource` sends it.
fn browser(uri: &str, from: &str) -> TestRequest {
    TestRequest::get()
        .uri(uri)
        .peer_addr(peer(from))
        .insert_header((header::ACCEPT, "text/event-stream"))
}

/// A request as a script sends it (no `Accept: text/event-stream`).
fn script(uri: &str, from: &str) -> TestRequest {
    TestRequest::get().uri(uri).peer_addr(peer(from))
}

/// An admitted stream, held open; dropping it is the client leaving.
async fn hold<S>(app: &S, req: TestRequest) -> SseResponse
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut res = call(app, req.to_request())
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    let first = res.next_event().await.unwrap().expect("an admitted stream");
    assert_eq!(first.data, "open");
    res
}

/// Asserts a reconnect answer: 200, an event stream holding only a comment
/// and a `retry:` between half and one and a half times 5 s, then its end.
async fn assert_reconnect<S>(app: &S, req: TestRequest)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let mut res = call(app, req.to_request())
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.collect_all().await.unwrap().is_empty());
    let retry = res.retry().expect("a retry: field");
    assert!(
        retry >= Duration::from_millis(2500) && retry < Duration::from_millis(7500),
        "{retry:?}"
    );
    let raw = String::from_utf8(res.raw_bytes().to_vec()).unwrap();
    assert!(
        raw.starts_with(": server busy, reconnect later\nretry: "),
        "{raw:?}"
    );
}

/// Asserts a refusal with `status` and a `Retry-After` of 3 to 8 s.
async fn assert_refused<S>(app: &S, req: TestRequest, status: u16)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let res = app.call(req.to_request()).await.unwrap();
    assert_eq!(res.status().as_u16(), status);
    let after: u64 = res
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3..=8).contains(&after), "Retry-After: {after}");
    let body = actix_web::body::to_bytes(res.into_body()).await.unwrap();
    assert!(
        String::from_utf8_lossy(&body).contains("too many open event streams"),
        "{body:?}"
    );
}

#[actix_web::test]
async fn server_cap_sheds_and_frees_places() {
    let (app, calls) = app(Limits::new().max_streams(2)).await;
    let first = hold(&app, browser("/edge/a", "10.0.0.1")).await;
    let _second = hold(&app, browser("/edge/b", "10.0.0.2")).await;
    assert_reconnect(&app, browser("/edge/a", "10.0.0.3")).await;
    assert_refused(&app, script("/edge/b", "10.0.0.3"), 503).await;
    // Shed before the route's method ran.
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    drop(first);
    let _third = hold(&app, script("/edge/a", "10.0.0.3")).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[actix_web::test]
async fn route_cap_applies_to_its_route_only() {
    let (app, _) = app(Limits::new().max_streams_per_route(2).route("/edge/a", 1)).await;
    let _a = hold(&app, browser("/edge/a", "10.0.0.1")).await;
    assert_reconnect(&app, browser("/edge/a", "10.0.0.2")).await;
    assert_refused(&app, script("/edge/a", "10.0.0.2"), 503).await;
    // The default cap of 2 for every other route.
    let _b1 = hold(&app, browser("/edge/b", "10.0.0.1")).await;
    let _b2 = hold(&app, browser("/edge/b", "10.0.0.2")).await;
    assert_reconnect(&app, browser("/edge/b", "10.0.0.3")).await;
}

#[actix_web::test]
async fn client_cap_counts_per_address() {
    let (app, _) = app(Limits::new().max_streams_per_client(1)).await;
    let _mine = hold(&app, browser("/edge/a", "10.0.0.1")).await;
    assert_reconnect(&app, browser("/edge/b", "10.0.0.1")).await;
    assert_refused(&app, script("/edge/b", "10.0.0.1"), 429).await;
    // Someone else is not affected.
    let _theirs = hold(&app, browser("/edge/b", "10.0.0.2")).await;
    // A forged header from an untrusted peer changes nothing.
    let forged = script("/edge/b", "10.0.0.1").insert_header(("x-forwarded-for", "192.0.2.9"));
    assert_refused(&app, forged, 429).await;
}

#[actix_web::test]
async fn client_cap_behind_a_trusted_proxy_uses_forwarded_for() {
    let proxy = "10.9.9.9";
    let limits = Limits::new()
        .max_streams_per_client(1)
        .trust_forwarded_for([proxy.parse().unwrap()]);
    let (app, _) = app(limits).await;
    let via = |client: &str| script("/edge/a", proxy).insert_header(("x-forwarded-for", client));
    let _one = hold(&app, via("192.0.2.1")).await;
    let _two = hold(&app, via("192.0.2.2")).await;
    assert_refused(&app, via("192.0.2.1"), 429).await;
    // A client-supplied left part does not change who it is.
    assert_refused(
        &app,
        script("/edge/a", proxy).insert_header(("x-forwarded-for", "203.0.113.7, 192.0.2.2")),
        429,
    )
    .await;
}

#[actix_web::test]
async fn shed_policy_can_be_forced() {
    let (refusing, _) = app(Limits::new().max_streams(0).shed(Shed::Refuse)).await;
    assert_refused(&refusing, browser("/edge/a", "10.0.0.1"), 503).await;
    let (reconnecting, _) = app(Limits::new().max_streams(0).shed(Shed::Reconnect)).await;
    assert_reconnect(&reconnecting, script("/edge/a", "10.0.0.1")).await;
}

#[actix_web::test]
async fn a_refused_route_does_not_hold_a_place() {
    let (app, calls) = app(Limits::new().max_streams(1)).await;
    for _ in 0..3 {
        let res = app
            .call(script("/edge/refuse", "10.0.0.1").to_request())
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let _open = hold(&app, script("/edge/a", "10.0.0.1")).await;
}

#[actix_web::test]
async fn non_sse_routes_pass_through() {
    let app = init_service(
        App::new()
            .wrap(SseEdge::new().limits(Limits::new().max_streams(0)))
            .route(
                "/plain",
                actix_web::web::get().to(|| async { HttpResponse::Ok().body("plain") }),
            ),
    )
    .await;
    let res = app
        .call(script("/plain", "10.0.0.1").to_request())
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// Serves `Routes` plus `/chat/{room}` under `limits`, makes two requests,
/// and returns what was logged.
async fn logged_with(limits: Limits) -> TraceLog {
    struct Chat;
    #[controller("chat")]
    impl Chat {
        #[sse("{room}")]
        fn room(&self) -> impl Stream<Item = &'static str> {
            stream::once(async { "open" })
        }
    }
    let (log, _guard) = TraceLog::capture_thread();
    let app = init_service(
        App::new()
            .wrap(SseEdge::new().limits(limits))
            .service(Routes {
                calls: Arc::default(),
            })
            .service(Chat),
    )
    .await;
    for _ in 0..2 {
        let res = app
            .call(script("/chat/lobby", "10.0.0.1").to_request())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    log
}

#[actix_web::test]
async fn a_route_cap_on_no_route_is_logged_once() {
    let log = logged_with(Limits::new().route("/edge/typo", 1)).await;
    let line = log.line_with("names no route of this app");
    assert!(
        line.contains("WARN") && line.contains("pattern=/edge/typo"),
        "{line}"
    );
    assert_eq!(
        log.text().matches("Limits::route").count(),
        1,
        "{}",
        log.text()
    );
}

#[actix_web::test]
async fn a_route_cap_on_a_path_names_the_pattern_it_falls_under() {
    let log = logged_with(Limits::new().route("/chat/lobby", 1)).await;
    let line = log.line_with("names a path, not a route pattern");
    assert!(
        line.contains("pattern=/chat/lobby") && line.contains("route=/chat/{room}"),
        "{line}"
    );
}

#[actix_web::test]
async fn route_caps_on_registered_patterns_are_not_logged() {
    let log = logged_with(
        Limits::new()
            .route("/chat/{room}", 1)
            .route("/edge/a", 1)
            // Not checkable by lookup: skipped, not reported.
            .route("/edge/{id:\\d+}", 1),
    )
    .await;
    assert!(!log.text().contains("Limits::route"), "{}", log.text());
}
