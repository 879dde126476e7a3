use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{test, web, App, HttpResponse};
use bytes::Bytes;
use futures_util::stream;

use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn sse(body: impl futures_core::Stream<Item = Result<Bytes, io::Error>> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .streaming(body)
}

fn frames(
    frames: &'static [&'static str],
) -> impl futures_core::Stream<Item = Result<Bytes, io::Error>> {
    stream::iter(frames.iter().map(|f| Ok(Bytes::from_static(f.as_bytes()))))
}

async fn finite() -> HttpResponse {
    sse(frames(&[
        "retry: 1000\n",
        "id: 1\nevent: greet\ndata: {\"name\":\"ann\"}\n\n",
        ": keep-alive\n\n",
        "id: 2\ndata: multi\ndata: line\n\n",
    ]))
}

/// Sets the flag when dropped: observes that the server's stream was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn ticks(
    period: Duration,
    dropped: Arc<AtomicBool>,
) -> impl futures_core::Stream<Item = Result<Bytes, io::Error>> {
    stream::unfold((0u64, DropFlag(dropped)), move |(n, flag)| async move {
        actix_web::rt::time::sleep(period).await;
        let frame = Bytes::from(format!("id: {n}\ndata: {{\"n\":{n}}}\n\n"));
        Some((Ok(frame), (n + 1, flag)))
    })
}

#[derive(Clone, Default)]
struct Flag(Arc<AtomicBool>);

async fn infinite(flag: web::Data<Flag>) -> HttpResponse {
    sse(ticks(Duration::from_millis(5), flag.0.clone()))
}

async fn silent() -> HttpResponse {
    sse(stream::pending())
}

async fn one_then_silent() -> HttpResponse {
    sse(futures_util::StreamExt::chain(
        frames(&["data: only\n\n"]),
        stream::pending(),
    ))
}

async fn plain() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("hello")
}

async fn unterminated() -> HttpResponse {
    sse(frames(&["data: 1\n\n", "data: 2\n"]))
}

async fn failing() -> HttpResponse {
    sse(futures_util::StreamExt::chain(
        frames(&["data: before\n\n"]),
        stream::iter([Err(io::Error::other("disk on fire"))]),
    ))
}

async fn byte_by_byte() -> HttpResponse {
    let text = "\u{FEFF}data: ä€😀\r\ndata: b\r\r\nevent: x\ndata: c\r\n\r\n";
    let bytes: Vec<Result<Bytes, io::Error>> = text
        .as_bytes()
        .iter()
        .map(|b| Ok(Bytes::copy_from_slice(&[*b])))
        .collect();
    sse(stream::iter(bytes))
}

async fn slow_to_respond() -> HttpResponse {
    actix_web::rt::time::sleep(Duration::from_secs(60)).await;
    HttpResponse::Ok().finish()
}

/// `actix_http::Request` is not re-exported by actix-web, so the app is built
/// by a macro instead of a function with a nameable return type.
macro_rules! app {
    ($flag:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new($flag.clone()))
                .route("/finite", web::get().to(finite))
                .route("/infinite", web::get().to(infinite))
                .route("/silent", web::get().to(silent))
                .route("/one-then-silent", web::get().to(one_then_silent))
                .route("/plain", web::get().to(plain))
                .route("/unterminated", web::get().to(unterminated))
                .route("/failing", web::get().to(failing))
                .route("/byte-by-byte", web::get().to(byte_by_byte))
                .route("/slow", web::get().to(slow_to_respond)),
        )
        .await
    };
    () => {
        app!(Flag::default())
    };
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

fn ev(event: &str, data: &str, id: &str) -> ReceivedEvent {
    ReceivedEvent {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.to_owned(),
    }
}

#[actix_web::test]
async fn all_events_of_a_finite_stream() {
    let app = app!();
    let got = all_events(&app, get("/finite").to_request(), SECOND)
        .await
        .unwrap();
    assert_eq!(
        got,
        [
            ev("greet", "{\"name\":\"ann\"}", "1"),
            ev("message", "multi\nline", "2")
        ]
    );
}

#[actix_web::test]
async fn step_by_step_on_a_finite_stream() {
    let app = app!();
    let mut res = call(&app, get("/finite").to_request()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.content_type(), Some("text/event-stream"));
    assert!(res.is_event_stream());
    assert_eq!(res.timeout(), DEFAULT_TIMEOUT);
    assert_eq!(res.retry(), None, "nothing is read before it is asked for");
    assert!(res.raw_bytes().is_empty());

    let first = res.next_event().await.unwrap().unwrap();
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Greeting {
        name: String,
    }
    assert_eq!(
        first.json::<Greeting>().unwrap(),
        Greeting { name: "ann".into() }
    );
    assert_eq!(res.retry(), Some(Duration::from_millis(1000)));
    assert_eq!(res.last_event_id(), "1");
    assert!(!res.is_ended());

    let second = res.next_event().await.unwrap().unwrap();
    assert_eq!(second.data, "multi\nline");
    assert_eq!(res.next_event().await.unwrap(), None);
    assert!(res.is_ended());
    assert!(!res.discarded_tail());
    assert_eq!(res.next_event().await.unwrap(), None, "stays ended");
    assert_eq!(
        res.raw_bytes(),
        b"retry: 1000\nid: 1\nevent: greet\ndata: {\"name\":\"ann\"}\n\n: keep-alive\n\nid: 2\ndata: multi\ndata: line\n\n"
    );
    res.clear_raw_bytes();
    assert!(res.raw_bytes().is_empty());
}

#[actix_web::test]
async fn take_from_an_infinite_stream_then_disconnect() {
    let flag = Flag::default();
    let app = app!(flag);
    let mut res = call(&app, get("/infinite").to_request())
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap()
        .with_timeout(SECOND);
    let got = res.take(3).await.unwrap();
    assert_eq!(
        got.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["0", "1", "2"]
    );
    let more = res.take(2).await.unwrap();
    assert_eq!(more[1].json::<serde_json::Value>().unwrap()["n"], 4);
    assert!(!flag.0.load(Ordering::SeqCst), "stream still alive");
    res.disconnect();
    assert!(
        flag.0.load(Ordering::SeqCst),
        "stream dropped on disconnect"
    );
}

#[actix_web::test]
async fn events_helper_drops_the_stream_afterwards() {
    let flag = Flag::default();
    let app = app!(flag);
    let got = events(&app, get("/infinite").to_request(), 4, SECOND)
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    assert!(flag.0.load(Ordering::SeqCst));
}

#[actix_web::test]
async fn collect_for_samples_an_infinite_stream() {
    let app = app!();
    let mut res = call(&app, get("/infinite").to_request()).await.unwrap();
    let sampled = res.collect_for(Duration::from_millis(100)).await.unwrap();
    // 5 ms period: roughly 20 events; be lenient with slow CI machines.
    assert!(!sampled.is_empty(), "got nothing in 100 ms");
    assert!(sampled.len() <= 21, "got {}", sampled.len());
    for (i, event) in sampled.iter().enumerate() {
        assert_eq!(event.id, i.to_string());
    }
    assert!(!res.is_ended());
    // Sampling does not lose events: the next one follows on.
    let next = res.next_event().await.unwrap().unwrap();
    assert_eq!(next.id, sampled.len().to_string());
}

#[actix_web::test]
async fn collect_for_returns_early_when_the_stream_ends() {
    let app = app!();
    let mut res = call(&app, get("/finite").to_request()).await.unwrap();
    let started = std::time::Instant::now();
    let got = res.collect_for(Duration::from_secs(30)).await.unwrap();
    assert_eq!(got.len(), 2);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[actix_web::test]
async fn next_event_times_out_on_a_silent_stream() {
    let app = app!();
    let mut res = call(&app, get("/silent").to_request())
        .await
        .unwrap()
        .with_timeout(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let err = res.next_event().await.unwrap_err();
    assert!(started.elapsed() < SECOND);
    assert!(
        matches!(&err, TestError::Timeout { waiting_for, received, .. } if waiting_for == "the next event" && received.is_empty()),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "timed out after 50ms waiting for the next event (0 event(s) received)"
    );
    // Still usable afterwards.
    assert!(res
        .next_event_within(Duration::from_millis(10))
        .await
        .is_err());
}

#[actix_web::test]
async fn take_timeout_reports_partial_events() {
    let app = app!();
    let mut res = call(&app, get("/one-then-silent").to_request())
        .await
        .unwrap();
    res.set_timeout(Duration::from_millis(50));
    match res.take(3).await {
        Err(TestError::Timeout {
            waiting_for,
            received,
            timeout,
        }) => {
            assert_eq!(waiting_for, "event 2 of 3");
            assert_eq!(received, [ev("message", "only", "")]);
            assert_eq!(timeout, Duration::from_millis(50));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[actix_web::test]
async fn collect_all_times_out_on_an_infinite_stream() {
    let app = app!();
    let mut res = call_with_timeout(
        &app,
        get("/infinite").to_request(),
        Duration::from_millis(60),
    )
    .await
    .unwrap();
    assert_eq!(res.timeout(), Duration::from_millis(60));
    match res.collect_all().await {
        Err(TestError::Timeout {
            waiting_for,
            received,
            ..
        }) => {
            assert_eq!(waiting_for, "the end of the stream");
            assert!(!received.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[actix_web::test]
async fn all_events_times_out_on_an_infinite_stream() {
    let app = app!();
    let err = all_events(
        &app,
        get("/infinite").to_request(),
        Duration::from_millis(30),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TestError::Timeout { .. }), "{err:?}");
}

#[actix_web::test]
async fn stream_ended_early() {
    let app = app!();
    let err = events(&app, get("/finite").to_request(), 5, SECOND)
        .await
        .unwrap_err();
    match &err {
        TestError::StreamEnded { expected, received } => {
            assert_eq!(*expected, 5);
            assert_eq!(received.len(), 2);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "event stream ended after 2 of 5 expected event(s)"
    );
}

#[actix_web::test]
async fn take_zero_is_immediate() {
    let app = app!();
    let mut res = call(&app, get("/silent").to_request()).await.unwrap();
    assert!(res.take(0).await.unwrap().is_empty());
}

#[actix_web::test]
async fn response_timeout() {
    let app = app!();
    let started = std::time::Instant::now();
    let err = call_with_timeout(&app, get("/slow").to_request(), Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(started.elapsed() < SECOND);
    assert!(
        matches!(&err, TestError::Timeout { waiting_for, .. } if waiting_for == "the response"),
        "{err:?}"
    );
    let err = events(
        &app,
        get("/slow").to_request(),
        1,
        Duration::from_millis(50),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, TestError::Timeout { .. }), "{err:?}");
}

#[actix_web::test]
async fn wrong_content_type_and_status() {
    let app = app!();
    let err = events(&app, get("/plain").to_request(), 1, SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TestError::NotEventStream { content_type: Some(ct) } if ct == "text/plain"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "expected content type text/event-stream, got \"text/plain\""
    );

    let err = all_events(&app, get("/no-such-route").to_request(), SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TestError::UnexpectedStatus { status } if status == StatusCode::NOT_FOUND),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "expected a 2xx event stream response, got status 404 Not Found"
    );

    let res = SseResponse::new(HttpResponse::Ok().finish());
    let err = res.expect_event_stream().unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected content type text/event-stream, got none"
    );
}

#[actix_web::test]
async fn unterminated_tail_is_discarded_and_reported() {
    let app = app!();
    let mut res = call(&app, get("/unterminated").to_request()).await.unwrap();
    let got = res.collect_all().await.unwrap();
    assert_eq!(got, [ev("message", "1", "")]);
    assert!(res.discarded_tail());
    assert!(res.raw_bytes().ends_with(b"data: 2\n"));
}

#[actix_web::test]
async fn body_error() {
    let app = app!();
    let mut res = call(&app, get("/failing").to_request()).await.unwrap();
    assert_eq!(res.next_event().await.unwrap().unwrap().data, "before");
    let err = res.next_event().await.unwrap_err();
    assert!(matches!(err, TestError::Body(_)), "{err:?}");
    assert_eq!(err.to_string(), "response body error: disk on fire");
    assert!(std::error::Error::source(&err).is_some());
    assert!(res.is_ended());
    assert_eq!(res.next_event().await.unwrap(), None);
}

#[actix_web::test]
async fn parse_error_with_a_small_limit() {
    let app = app!();
    let mut res = call(&app, get("/finite").to_request())
        .await
        .unwrap()
        .with_parser(EventStreamParser::with_max_event_size(16));
    let err = res.collect_all().await.unwrap_err();
    assert!(
        matches!(
            err,
            TestError::Parse(ParseError::EventTooLarge { limit: 16 })
        ),
        "{err:?}"
    );
    assert!(res.is_ended());
}

#[actix_web::test]
async fn chunks_of_one_byte() {
    let app = app!();
    let got = all_events(&app, get("/byte-by-byte").to_request(), SECOND)
        .await
        .unwrap();
    assert_eq!(got, [ev("message", "ä€😀\nb", ""), ev("x", "c", "")]);
}

#[actix_web::test]
async fn wraps_a_handler_response_directly() {
    let mut res = SseResponse::new(finite().await);
    assert_eq!(res.header("content-type"), Some("text/event-stream"));
    assert_eq!(res.collect_all().await.unwrap().len(), 2);

    // Non-streaming bodies work too.
    let mut res = SseResponse::new(HttpResponse::Ok().body("data: a\n\ndata: b\n\n"));
    assert_eq!(res.take(2).await.unwrap()[1].data, "b");
    assert!(res.next_event().await.unwrap().is_none());

    // And empty ones.
    let mut res = SseResponse::new(HttpResponse::NoContent().finish());
    assert!(res.collect_all().await.unwrap().is_empty());
    assert!(res.is_ended());
}

#[actix_web::test]
async fn next_event_is_cancel_safe() {
    let app = app!();
    let mut res = call(&app, get("/infinite").to_request()).await.unwrap();
    // Cancel many reads at random points; ids must still be consecutive.
    let mut got = Vec::new();
    while got.len() < 10 {
        if let Ok(Ok(Some(event))) =
            tokio::time::timeout(Duration::from_millis(2), res.next_event()).await
        {
            got.push(event);
        }
    }
    for (i, event) in got.iter().enumerate() {
        assert_eq!(event.id, i.to_string());
    }
}
