//! The shapes an `#[sse]` method may have: `impl Stream`, named stream
//! types (`Pin<Box<dyn Stream>>`, `BoxStream`, `LocalBoxStream`),
//! `Result<stream, E: ResponseError>` (an `Err` is an ordinary HTTP error
//! response), `async fn` and `fn`, `&self` and no receiver, and streams that
//! borrow from the controller.

mod fixtures;

use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpRequest, HttpResponse, ResponseError};
use futures_util::stream::{self, BoxStream, LocalBoxStream, Stream, StreamExt};
use sse_runtime::{controller, sse};

use fixtures::Denied;
use sse_test_support::fetch::{body, client, get, send, text};
use sse_test_support::{call_service, lossy, read_body, serve, STEP};

struct Shapes {
    words: Vec<String>,
    prefix: String,
}

/// Refusal with a custom response (status, header and JSON body).
#[derive(Debug)]
struct Throttled;

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("throttled")
    }
}

impl ResponseError for Throttled {
    fn status_code(&self) -> StatusCode {
        StatusCode::TOO_MANY_REQUESTS
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::TooManyRequests()
            .insert_header(("retry-after", "7"))
            .json(serde_json::json!({"error": "slow down"}))
    }
}

#[controller("shapes")]
impl Shapes {
    #[sse("impl")]
    fn impl_stream() -> impl Stream<Item = &'static str> {
        stream::iter(["a", "b"])
    }

    #[sse("async")]
    async fn async_stream() -> impl Stream<Item = u32> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        stream::iter([1, 2, 3])
    }

    #[sse("async_self")]
    async fn async_self(&self) -> impl Stream<Item = String> {
        tokio::task::yield_now().await;
        stream::iter([format!("{}!", self.prefix)])
    }

    #[sse("pinned")]
    fn pinned(&self) -> Pin<Box<dyn Stream<Item = String>>> {
        Box::pin(stream::iter(self.words.clone()))
    }

    #[sse("boxed")]
    fn boxed(&self) -> BoxStream<'_, &str> {
        stream::iter(self.words.iter().map(String::as_str)).boxed()
    }

    #[sse("local")]
    fn local() -> LocalBoxStream<'static, String> {
        // `Rc` is not `Send`: a local stream is fine.
        let shared = std::rc::Rc::new("local".to_owned());
        stream::iter([shared]).map(|s| (*s).clone()).boxed_local()
    }

    #[sse("borrow")]
    fn borrow(&self) -> impl Stream<Item = &String> + '_ {
        stream::iter(self.words.iter())
    }

    #[sse("borrow_async")]
    async fn borrow_async(&self) -> impl Stream<Item = String> + '_ {
        tokio::task::yield_now().await;
        stream::iter(self.words.iter()).then(move |word| async move {
            tokio::task::yield_now().await;
            format!("{}{word}", self.prefix)
        })
    }

    #[sse("allowed/{ok}")]
    async fn allowed(&self, ok: web::Path<bool>) -> Result<impl Stream<Item = &str> + '_, Denied> {
        if !ok.into_inner() {
            return Err(Denied);
        }
        Ok(stream::iter(self.words.iter().map(String::as_str)))
    }

    #[sse("sync_result/{ok}")]
    fn sync_result(ok: web::Path<bool>) -> Result<BoxStream<'static, u32>, Throttled> {
        if ok.into_inner() {
            Ok(stream::iter([1, 2]).boxed())
        } else {
            Err(Throttled)
        }
    }

    #[sse("actix_result")]
    fn actix_result(request: HttpRequest) -> actix_web::Result<impl Stream<Item = &'static str>> {
        if request.headers().contains_key("authorization") {
            Ok(stream::iter(["welcome"]))
        } else {
            Err(actix_web::error::ErrorForbidden("no token"))
        }
    }

    #[sse("slow_decision/{ok}")]
    async fn slow_decision(
        ok: web::Path<bool>,
    ) -> Result<impl Stream<Item = &'static str>, Denied> {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if ok.into_inner() {
            Ok(stream::iter(["decided"]))
        } else {
            Err(Denied)
        }
    }

    #[sse("empty")]
    fn empty() -> impl Stream<Item = String> {
        stream::empty()
    }
}

fn shapes() -> Shapes {
    Shapes {
        words: vec!["alpha".to_owned(), "beta".to_owned(), "gamma".to_owned()],
        prefix: "p-".to_owned(),
    }
}

#[actix_web::test]
async fn every_return_shape_streams_over_loopback() {
    let server = serve(|| App::new().service(shapes()));
    let cases: &[(&str, &str)] = &[
        ("/shapes/impl", "data: a\n\ndata: b\n\n"),
        ("/shapes/async", "data: 1\n\ndata: 2\n\ndata: 3\n\n"),
        ("/shapes/async_self", "data: p-!\n\n"),
        (
            "/shapes/pinned",
            "data: alpha\n\ndata: beta\n\ndata: gamma\n\n",
        ),
        (
            "/shapes/boxed",
            "data: alpha\n\ndata: beta\n\ndata: gamma\n\n",
        ),
        ("/shapes/local", "data: local\n\n"),
        (
            "/shapes/borrow",
            "data: alpha\n\ndata: beta\n\ndata: gamma\n\n",
        ),
        (
            "/shapes/borrow_async",
            "data: p-alpha\n\ndata: p-beta\n\ndata: p-gamma\n\n",
        ),
        (
            "/shapes/allowed/true",
            "data: alpha\n\ndata: beta\n\ndata: gamma\n\n",
        ),
        ("/shapes/sync_result/true", "data: 1\n\ndata: 2\n\n"),
        ("/shapes/slow_decision/true", "data: decided\n\n"),
        ("/shapes/empty", ""),
    ];
    for (path, expected) in cases {
        let response = get(&server.url(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "text/event-stream",
            "{path}"
        );
        assert_eq!(
            lossy(&body(response).await),
            format!("{expected}id: sse-end\n\n"),
            "{path}"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn result_err_is_an_ordinary_error_response() {
    let server = serve(|| App::new().service(shapes()));

    let response = get(&server.url("/shapes/allowed/false")).await;
    assert_eq!(response.status(), 401);
    let content_type = response.headers().get("content-type").unwrap().clone();
    assert_eq!(content_type, "text/plain; charset=utf-8");
    assert!(response.headers().get("x-accel-buffering").is_none());
    assert_eq!(text(response).await, "denied");

    let response = get(&server.url("/shapes/sync_result/false")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").unwrap(), "7");
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(text(response).await, "{\"error\":\"slow down\"}");

    let response = get(&server.url("/shapes/slow_decision/false")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(text(response).await, "denied");

    let response = get(&server.url("/shapes/actix_result")).await;
    assert_eq!(response.status(), 403);
    assert_eq!(text(response).await, "no token");

    let response = send(
        client()
            .get(server.url("/shapes/actix_result"))
            .header("authorization", "Bearer x"),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "data: welcome\n\nid: sse-end\n\n");
    server.stop().await;
}

#[actix_web::test]
async fn return_shapes_in_process() {
    use sse_runtime::test::all_events;

    let app = test::init_service(App::new().service(shapes())).await;
    let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();

    let events = all_events(&app, get("/shapes/borrow_async"), STEP)
        .await
        .unwrap();
    let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["p-alpha", "p-beta", "p-gamma"]);

    let events = all_events(&app, get("/shapes/boxed"), STEP).await.unwrap();
    assert_eq!(events.len(), 3);

    let events = all_events(&app, get("/shapes/empty"), STEP).await.unwrap();
    assert!(events.is_empty());

    let response = call_service(&app, get("/shapes/allowed/false")).await;
    assert_eq!(response.status(), 401);
    let bytes = read_body(response).await;
    assert_eq!(&bytes[..], b"denied");

    let response = call_service(&app, get("/shapes/sync_result/false")).await;
    assert_eq!(response.status(), 429);
    let bytes = read_body(response).await;
    assert_eq!(&bytes[..], b"{\"error\":\"slow down\"}");
}
