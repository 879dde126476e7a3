//! Routing and extraction: actix-web extractors in `#[sse]` methods
//! (`Path`, `Query`, `Data`, `HttpRequest`, `Header`, a failing custom
//! `FromRequest`), path normalisation of controller and route paths, several
//! controllers in one app, `#[get]`/`#[post]`/`#[put]`/`#[patch]`/`#[delete]`
//! routes next to `#[sse]` ones (including an end-to-end publish → receive
//! over one path), and actix's 404/405 for everything else.

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{dev, test, web, App, FromRequest, HttpRequest, HttpResponse};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use sse_runtime::{controller, sse};
use tokio::sync::broadcast;

use sse_test_support::fetch::{body, client, get, read_until, send, text};
use sse_test_support::{call_service, lossy, read_body, serve, STEP};

// ---------------------------------------------------------------------------
// Extractors
// ---------------------------------------------------------------------------

struct Extract;

#[derive(Deserialize)]
struct Page {
    from: u32,
    name: Option<String>,
}

/// Application state, handed in with `app_data(web::Data::new(..))`.
struct AppName(String);

/// A custom extractor that fails without an `x-api-key` header.
struct ApiKey(String);

impl FromRequest for ApiKey {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(
            req.headers()
                .get("x-api-key")
                .and_then(|v| v.to_str().ok())
                .map(|key| ApiKey(key.to_owned()))
                .ok_or_else(|| actix_web::error::ErrorForbidden("missing api key")),
        )
    }
}

#[controller("ex")]
impl Extract {
    #[sse("progress/{task_id}")]
    fn progress(task_id: web::Path<u32>) -> impl Stream<Item = String> {
        let id = task_id.into_inner();
        stream::iter([format!("task {id} started"), format!("task {id} done")])
    }

    #[sse("pair/{name}/{n}")]
    async fn pair(path: web::Path<(String, u8)>) -> impl Stream<Item = String> {
        let (name, n) = path.into_inner();
        stream::iter([format!("{name}:{n}")])
    }

    #[sse("query")]
    fn query(page: web::Query<Page>) -> impl Stream<Item = String> {
        stream::iter([format!(
            "from {} name {}",
            page.from,
            page.name.as_deref().unwrap_or("-")
        )])
    }

    #[sse("data")]
    fn data(&self, name: web::Data<AppName>) -> impl Stream<Item = String> {
        stream::iter([name.0.clone()])
    }

    #[sse("request")]
    fn request(request: HttpRequest) -> impl Stream<Item = String> {
        let custom = request
            .headers()
            .get("x-custom")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_owned();
        stream::iter([
            format!("{} {}", request.method(), request.path()),
            format!("query {}", request.query_string()),
            format!("x-custom {custom}"),
        ])
    }

    #[sse("header")]
    fn header(accept: web::Header<header::Accept>) -> impl Stream<Item = String> {
        stream::iter([accept.preference().to_string()])
    }

    #[sse("key")]
    async fn key(key: ApiKey) -> impl Stream<Item = String> {
        stream::iter([format!("key {}", key.0)])
    }

    #[sse("all/{id}")]
    async fn all(
        &self,
        id: web::Path<u32>,
        page: web::Query<Page>,
        name: web::Data<AppName>,
        request: HttpRequest,
        key: ApiKey,
    ) -> impl Stream<Item = String> {
        stream::iter([format!(
            "{} {} {} {} {}",
            id.into_inner(),
            page.from,
            name.0,
            request.path(),
            key.0
        )])
    }
}

/// The extractor routes with their application state.
fn extract_app(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::Data::new(AppName("my app".to_owned())))
        .service(Extract);
}

#[actix_web::test]
async fn extractors_over_loopback() {
    let server = serve(|| App::new().configure(extract_app));
    let fetch = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let url = server.url(path);
        async move {
            let mut request = client().get(url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let response = send(request).await;
            let status = response.status().as_u16();
            let event_stream = response
                .headers()
                .get("content-type")
                .is_some_and(|ct| ct == "text/event-stream");
            (status, event_stream, lossy(&body(response).await))
        }
    };

    assert_eq!(
        fetch("/ex/progress/42", &[]).await,
        (
            200,
            true,
            "data: task 42 started\n\ndata: task 42 done\n\nid: sse-end\n\n".to_owned()
        )
    );
    assert_eq!(
        fetch("/ex/pair/bob/7", &[]).await,
        (200, true, "data: bob:7\n\nid: sse-end\n\n".to_owned())
    );
    assert_eq!(
        fetch("/ex/query?from=3&name=ann", &[]).await,
        (
            200,
            true,
            "data: from 3 name ann\n\nid: sse-end\n\n".to_owned()
        )
    );
    assert_eq!(
        fetch("/ex/query?from=5", &[]).await,
        (
            200,
            true,
            "data: from 5 name -\n\nid: sse-end\n\n".to_owned()
        )
    );
    assert_eq!(
        fetch("/ex/data", &[]).await,
        (200, true, "data: my app\n\nid: sse-end\n\n".to_owned())
    );
    assert_eq!(
        fetch("/ex/request?a=1&b=2", &[("x-custom", "hello")]).await,
        (
            200,
            true,
            "data: GET /ex/request\n\ndata: query a=1&b=2\n\ndata: x-custom hello\n\nid: sse-end\n\n".to_owned()
        )
    );
    assert_eq!(
        fetch("/ex/header", &[("accept", "text/event-stream")]).await,
        (
            200,
            true,
            "data: text/event-stream\n\nid: sse-end\n\n".to_owned()
        )
    );
    assert_eq!(
        fetch("/ex/key", &[("x-api-key", "s3cret")]).await,
        (200, true, "data: key s3cret\n\nid: sse-end\n\n".to_owned())
    );
    assert_eq!(
        fetch("/ex/all/9?from=1", &[("x-api-key", "k")]).await,
        (
            200,
            true,
            "data: 9 1 my app /ex/all/9 k\n\nid: sse-end\n\n".to_owned()
        )
    );
    server.stop().await;
}

#[actix_web::test]
async fn failing_extractors_answer_their_error_and_no_stream() {
    let server = serve(|| App::new().configure(extract_app));
    let cases: &[(&str, u16, Option<&str>)] = &[
        // The custom extractor's own error.
        ("/ex/key", 403, Some("missing api key")),
        ("/ex/all/9?from=1", 403, Some("missing api key")),
        // actix's defaults: an unparsable path segment is 404, a bad
        // query string 400.
        ("/ex/progress/abc", 404, None),
        ("/ex/query", 400, None),
        ("/ex/query?from=x", 400, None),
    ];
    for (path, status, expected_body) in cases {
        let response = get(&server.url(path)).await;
        assert_eq!(response.status().as_u16(), *status, "{path}");
        assert_ne!(
            response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some("text/event-stream".to_owned()),
            "{path}"
        );
        let text = text(response).await;
        assert!(!text.contains("data:"), "{path}: {text:?}");
        if let Some(expected) = expected_body {
            assert_eq!(text, *expected, "{path}");
        }
    }
    server.stop().await;
}

#[actix_web::test]
async fn extractors_in_process() {
    use sse_runtime::test::{all_events, call};

    let app = test::init_service(App::new().configure(extract_app)).await;
    let events = all_events(
        &app,
        test::TestRequest::get()
            .uri("/ex/all/3?from=2&name=x")
            .insert_header(("x-api-key", "abc"))
            .to_request(),
        STEP,
    )
    .await
    .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data, "3 2 my app /ex/all/3 abc");

    let events = all_events(
        &app,
        test::TestRequest::get().uri("/ex/progress/5").to_request(),
        STEP,
    )
    .await
    .unwrap();
    let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["task 5 started", "task 5 done"]);

    let response = call(&app, test::TestRequest::get().uri("/ex/key").to_request())
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(!response.is_event_stream());
}

// ---------------------------------------------------------------------------
// Paths, several controllers, other methods
// ---------------------------------------------------------------------------

struct Slashes;

#[controller("/events/")]
impl Slashes {
    #[sse("/x/")]
    fn x() -> impl Stream<Item = &'static str> {
        stream::iter(["slashes"])
    }

    #[sse("nested/deeper/")]
    fn nested() -> impl Stream<Item = &'static str> {
        stream::iter(["nested"])
    }
}

struct Root;

#[controller("")]
impl Root {
    #[sse("")]
    fn index() -> impl Stream<Item = &'static str> {
        stream::iter(["root"])
    }

    #[sse("top")]
    fn top() -> impl Stream<Item = &'static str> {
        stream::iter(["top"])
    }
}

/// A unit struct with nothing in it registers fine.
struct Nothing;

#[controller("nothing")]
impl Nothing {}

/// Plain REST routes next to an SSE route.
struct Items;

#[controller("items")]
impl Items {
    #[sse("feed")]
    fn feed() -> impl Stream<Item = &'static str> {
        stream::iter(["item feed"])
    }

    #[get("")]
    async fn list() -> HttpResponse {
        HttpResponse::Ok().body("list")
    }

    #[get("{id}")]
    fn show(&self, id: web::Path<u32>) -> String {
        format!("show {id}")
    }

    #[put("{id}")]
    async fn replace(id: web::Path<u32>, body: String) -> String {
        format!("put {id} {body}")
    }

    #[patch("{id}")]
    async fn update(&self, id: web::Path<u32>, body: String) -> String {
        format!("patch {id} {body}")
    }

    #[delete("{id}")]
    async fn remove(id: web::Path<u32>) -> HttpResponse {
        HttpResponse::NoContent()
            .insert_header(("x-deleted", id.to_string()))
            .finish()
    }
}

/// GET streams what POST publishes, on the same path.
struct Chat {
    tx: broadcast::Sender<String>,
}

#[controller("chat")]
impl Chat {
    #[sse("room", keep_alive = false)]
    fn listen(&self) -> impl Stream<Item = String> {
        stream::unfold(self.tx.subscribe(), |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(message) => return Some((message, rx)),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
    }

    #[post("room")]
    async fn publish(&self, body: String) -> HttpResponse {
        let receivers = self.tx.send(body).unwrap_or(0);
        HttpResponse::Ok().body(format!("delivered to {receivers}"))
    }
}

#[actix_web::test]
async fn controller_and_route_paths_are_normalised() {
    let server = serve(|| {
        App::new()
            .service(Slashes)
            .service(Root)
            .service(Nothing)
            .service(Items)
    });
    let cases: &[(&str, &str)] = &[
        ("/events/x", "data: slashes\n\n"),
        ("/events/nested/deeper", "data: nested\n\n"),
        ("/", "data: root\n\n"),
        ("/top", "data: top\n\n"),
        ("/items/feed", "data: item feed\n\n"),
    ];
    for (path, expected) in cases {
        let response = get(&server.url(path)).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            lossy(&body(response).await),
            format!("{expected}id: sse-end\n\n"),
            "{path}"
        );
    }
    for path in [
        "/events//x",
        "/events/x/y",
        "//events/x",
        "/events",
        "/nothing",
        "/missing",
    ] {
        let response = get(&server.url(path)).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn http_method_routes_and_defaults() {
    let server = serve(|| App::new().service(Items).service(Slashes));
    let http = client();

    let response = send(http.get(server.url("/items"))).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "list");

    let response = send(http.get(server.url("/items/4"))).await;
    assert_eq!(text(response).await, "show 4");

    let response = send(http.put(server.url("/items/4")).body("new")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "put 4 new");

    let response = send(http.patch(server.url("/items/4")).body("part")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "patch 4 part");

    let response = send(http.delete(server.url("/items/4"))).await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers().get("x-deleted").unwrap(), "4");

    // Wrong method on an existing path: actix's 405.
    for (method, path) in [
        (reqwest::Method::POST, "/events/x"),
        (reqwest::Method::DELETE, "/events/x"),
        (reqwest::Method::POST, "/items/4"),
        (reqwest::Method::POST, "/items/feed"),
        (reqwest::Method::PUT, "/items"),
    ] {
        let response = send(http.request(method.clone(), server.url(path))).await;
        assert_eq!(response.status(), 405, "{method} {path}");
    }
    // Unknown path: 404.
    let response = send(http.get(server.url("/items/4/extra"))).await;
    assert_eq!(response.status(), 404);
    server.stop().await;
}

#[actix_web::test]
async fn methods_and_defaults_in_process() {
    let app = test::init_service(
        App::new()
            .service(Items)
            .service(Slashes)
            .service(Root)
            .service(Nothing),
    )
    .await;
    let status = |request: test::TestRequest| {
        let app = &app;
        async move {
            call_service(app, request.to_request())
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(test::TestRequest::get().uri("/events/x")).await, 200);
    assert_eq!(
        status(test::TestRequest::post().uri("/events/x")).await,
        405
    );
    assert_eq!(status(test::TestRequest::get().uri("/nope")).await, 404);
    assert_eq!(status(test::TestRequest::get().uri("/nothing")).await, 404);
    assert_eq!(
        status(test::TestRequest::delete().uri("/items/1")).await,
        204
    );
    assert_eq!(
        status(test::TestRequest::patch().uri("/items/1").set_payload("x")).await,
        200
    );
    let response = call_service(
        &app,
        test::TestRequest::put()
            .uri("/items/2")
            .set_payload("body")
            .to_request(),
    )
    .await;
    let bytes = read_body(response).await;
    assert_eq!(&bytes[..], b"put 2 body");
}

#[actix_web::test]
async fn post_publishes_to_get_stream_on_the_same_path() {
    let (tx, _) = broadcast::channel::<String>(16);
    let server = serve(move || App::new().service(Chat { tx: tx.clone() }));
    let http = client();

    let mut stream = send(http.get(server.url("/chat/room"))).await;
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers().get("content-type").unwrap(),
        "text/event-stream"
    );

    // The GET subscribed before its headers were sent.
    let response = send(http.post(server.url("/chat/room")).body("hello")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(text(response).await, "delivered to 1");
    let received = read_until(&mut stream, b"data: hello\n\n", Duration::from_secs(2)).await;
    assert_eq!(lossy(&received), "data: hello\n\n");

    let response = send(http.post(server.url("/chat/room")).body("multi\nline")).await;
    assert_eq!(text(response).await, "delivered to 1");
    let received = read_until(&mut stream, b"\n\n", Duration::from_secs(2)).await;
    assert_eq!(lossy(&received), "data: multi\ndata: line\n\n");

    // A second listener gets later messages too.
    let mut second = send(http.get(server.url("/chat/room"))).await;
    let response = send(http.post(server.url("/chat/room")).body("both")).await;
    assert_eq!(text(response).await, "delivered to 2");
    for stream in [&mut stream, &mut second] {
        let received = read_until(stream, b"\n\n", Duration::from_secs(2)).await;
        assert_eq!(lossy(&received), "data: both\n\n");
    }
    drop(stream);
    drop(second);
    server.stop().await;
}

#[actix_web::test]
async fn post_publishes_to_get_stream_in_process() {
    use sse_runtime::test::call;

    let (tx, _) = broadcast::channel::<String>(16);
    let app = test::init_service(App::new().service(Chat { tx })).await;
    let mut stream = call(
        &app,
        test::TestRequest::get().uri("/chat/room").to_request(),
    )
    .await
    .unwrap()
    .expect_event_stream()
    .unwrap();
    let response = call_service(
        &app,
        test::TestRequest::post()
            .uri("/chat/room")
            .set_payload("in process")
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let event = stream
        .next_event_within(Duration::from_secs(2))
        .await
        .unwrap()
        .expect("stream ended");
    assert_eq!(event.data, "in process");
    stream.disconnect();
}
