//! The same routes written both ways, as an `#[sse]` controller (under
//! `/c`) and as plain actix handlers returning `Sse` (under `/p`), and every
//! check run against both over a real loopback server: the wire, the end of
//! a finished stream, error events, `CleanUp`, the write timeout of a
//! stalled client, a server stop, and `SseEdge`'s caps. The macros expand
//! into `Sse`, so the two must not differ.

use std::fmt;
use std::time::Duration;

use actix_web::{web, App, HttpRequest};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, event_name, sse, CleanUp, Limits, Shown, Sse, SseEdge, SseSettings};
use sse_test_support::{
    lossy, wait_until, within, Counter, RawRequest, RawResponse, ServerOptions, Stop, TestServer,
    STEP,
};

/// Both forms, under these prefixes.
const FORMS: [&str; 2] = ["/c", "/p"];

/// What the routes report.
#[derive(Clone, Default)]
struct Probes {
    /// Route methods (or handlers) run.
    runs: Counter,
    /// Items produced by `/once`'s stream.
    polled: Counter,
    cleanups: Counter,
}

#[derive(Debug)]
struct Broken(&'static str);

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn two() -> impl Stream<Item = &'static str> {
    stream::iter(["Hello, world!", "This is a real-time update"])
}

fn failing() -> impl Stream<Item = Result<u8, Broken>> {
    stream::iter([Ok(1), Err(Broken("postgres://admin:hunter2@db"))])
}

fn shown() -> impl Stream<Item = Result<u8, Shown<&'static str>>> {
    stream::iter([Ok(1), Err(Shown("quota exceeded"))])
}

fn once(probes: &Probes) -> impl Stream<Item = &'static str> + use<> {
    probes.runs.bump();
    let polled = probes.polled.clone();
    stream::iter(["only"]).inspect(move |_| polled.bump())
}

/// As fast as the socket takes it: fills a stalled client's buffers.
fn fast(probes: &Probes, cleanup: &CleanUp) -> impl Stream<Item = String> + use<> {
    let cleanups = probes.cleanups.clone();
    cleanup.add(move || cleanups.bump());
    stream::iter(0u64..).map(|i| format!("{i:0>100}"))
}

/// One small event every 20 ms, for ever.
fn ticks(probes: &Probes, cleanup: &CleanUp) -> impl Stream<Item = u64> + use<> {
    let cleanups = probes.cleanups.clone();
    cleanup.add(move || cleanups.bump());
    stream::iter(0u64..).then(|i| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        i
    })
}

struct Routes {
    probes: Probes,
}

#[controller("c")]
impl Routes {
    #[sse("two")]
    fn two(&self) -> impl Stream<Item = &'static str> {
        two()
    }

    #[sse("failing")]
    fn failing(&self) -> impl Stream<Item = Result<u8, Broken>> {
        failing()
    }

    #[sse("shown", error_event = "failed")]
    fn shown(&self) -> impl Stream<Item = Result<u8, Shown<&'static str>>> {
        shown()
    }

    #[sse("replayed", retry = "1500ms", reconnect_on_end = true)]
    fn replayed(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["again"])
    }

    #[sse("once")]
    fn once(&self) -> impl Stream<Item = &'static str> {
        once(&self.probes)
    }

    #[sse("fast", write_timeout = "300ms")]
    fn fast(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        fast(&self.probes, &cleanup)
    }

    #[sse("ticks")]
    fn ticks(&self, cleanup: CleanUp) -> impl Stream<Item = u64> {
        ticks(&self.probes, &cleanup)
    }
}

/// The plain handlers: the same streams, the same options.
fn plain(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/p/two",
        web::get().to(|| async { Sse::from_stream(two()) }),
    )
    .route(
        "/p/failing",
        web::get().to(|| async { Sse::from_try_stream(failing()) }),
    )
    .route(
        "/p/shown",
        web::get()
            .to(|| async { Sse::from_try_stream(shown()).error_event(event_name!("failed")) }),
    )
    .route(
        "/p/replayed",
        web::get().to(|| async {
            Sse::from_stream(stream::iter(["again"]))
                .retry(Duration::from_millis(1500))
                .reconnect_on_end()
        }),
    )
    .route(
        "/p/once",
        web::get().to(|probes: web::Data<Probes>| async move { Sse::from_stream(once(&probes)) }),
    )
    .route(
        "/p/fast",
        web::get().to(|probes: web::Data<Probes>, cleanup: CleanUp| async move {
            Sse::from_stream(fast(&probes, &cleanup)).write_timeout(Duration::from_millis(300))
        }),
    )
    .route(
        "/p/ticks",
        // `on_close` instead of the extractor: the other way in.
        web::get().to(|probes: web::Data<Probes>| async move {
            let cleanup = CleanUp::new();
            let stream = ticks(&probes, &cleanup);
            Sse::from_stream(stream).on_close(move || cleanup.run())
        }),
    );
}

fn options() -> ServerOptions {
    ServerOptions::new().sse_settings(Some(
        SseSettings::default().drain_deadline(Duration::from_millis(300)),
    ))
}

fn start(probes: &Probes) -> TestServer {
    let probes = probes.clone();
    options().serve(move || app(probes.clone()))
}

fn app(
    probes: Probes,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(probes.clone()))
        .service(Routes { probes })
        .configure(plain)
}

/// The whole body of `path`, which must end by itself.
async fn whole(server: &TestServer, path: &str) -> (RawResponse, String) {
    let mut response = RawRequest::get(path).send(server.addr()).await.unwrap();
    let body = response.body_to_end(STEP).await.unwrap();
    (response, lossy(&body))
}

#[actix_web::test]
async fn the_wire_is_the_same() {
    let probes = Probes::default();
    let server = start(&probes);
    for form in FORMS {
        let (response, body) = whole(&server, &format!("{form}/two")).await;
        assert_eq!(response.status(), 200, "{form}");
        assert_eq!(response.header("content-type"), Some("text/event-stream"));
        assert_eq!(response.header("cache-control"), Some("no-cache"));
        assert_eq!(response.header("x-accel-buffering"), Some("no"));
        assert_eq!(
            body, "data: Hello, world!\n\ndata: This is a real-time update\n\nid: sse-end\n\n",
            "{form}"
        );

        let (_, body) = whole(&server, &format!("{form}/replayed")).await;
        assert_eq!(
            body, "retry: 1500\n\ndata: again\n\n",
            "{form}: no end frame"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn an_err_item_is_hidden_unless_shown() {
    let probes = Probes::default();
    let server = start(&probes);
    for form in FORMS {
        let (_, body) = whole(&server, &format!("{form}/failing")).await;
        assert_eq!(
            body, "data: 1\n\nevent: error\ndata: internal error\n\n",
            "{form}: the detail stays in the log, and a failed stream has no end frame"
        );
        let (_, body) = whole(&server, &format!("{form}/shown")).await;
        assert_eq!(
            body, "data: 1\n\nevent: failed\ndata: quota exceeded\n\n",
            "{form}"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_finished_streams_reconnect_is_answered_204() {
    let probes = Probes::default();
    let server = start(&probes);
    for form in FORMS {
        let path = format!("{form}/once");
        let (_, body) = whole(&server, &path).await;
        assert!(body.ends_with("id: sse-end\n\n"), "{form}: {body:?}");
        let (runs, polled) = (probes.runs.get(), probes.polled.get());
        for resume in [
            RawRequest::get(&path).header("Last-Event-ID", Sse::END_ID),
            RawRequest::get(&format!("{path}?lastEventId=sse-end")),
        ] {
            let mut response = resume.send(server.addr()).await.unwrap();
            assert_eq!(response.status(), 204, "{form}");
            assert!(response.body_to_end(STEP).await.unwrap().is_empty());
        }
        assert_eq!(
            probes.polled.get(),
            polled,
            "{form}: the stream was not polled"
        );
        if form == "/c" {
            assert_eq!(probes.runs.get(), runs, "the method did not run");
        }
        // Another id is an ordinary request.
        let mut other = RawRequest::get(&path)
            .header("Last-Event-ID", "7")
            .send(server.addr())
            .await
            .unwrap();
        assert_eq!(other.status(), 200);
        other.body_to_end(STEP).await.unwrap();
    }
    // A route that opted out streams again.
    for form in FORMS {
        let response = RawRequest::get(&format!("{form}/replayed"))
            .header("Last-Event-ID", Sse::END_ID)
            .send(server.addr())
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{form}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn cleanup_runs_once_when_the_client_leaves() {
    let probes = Probes::default();
    let server = start(&probes);
    for (at, form) in FORMS.into_iter().enumerate() {
        let mut response = RawRequest::get(&format!("{form}/ticks"))
            .send(server.addr())
            .await
            .unwrap();
        response.read_until(b"data: 2\n", STEP).await.unwrap();
        response.reset().unwrap();
        assert!(
            wait_until(STEP, || probes.cleanups.get() == at + 1).await,
            "{form}: clean-up did not run"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(probes.cleanups.get(), at + 1, "{form}: ran twice");
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_stalled_client_is_dropped_at_the_routes_write_timeout() {
    let probes = Probes::default();
    let server = start(&probes);
    for (at, form) in FORMS.into_iter().enumerate() {
        // Reads the head and the first events, then never again.
        let mut stalled = RawRequest::get(&format!("{form}/fast"))
            .send(server.addr())
            .await
            .unwrap();
        stalled.read_until(b"data: 0000", STEP).await.unwrap();
        assert!(
            within(Duration::from_secs(10), async {
                wait_until(Duration::from_secs(10), || probes.cleanups.get() == at + 1).await
            })
            .await,
            "{form}: the stalled client was not dropped"
        );
        let (_, ended) = stalled
            .body_until_closed(Duration::from_secs(5))
            .await
            .unwrap();
        assert!(!ended, "{form}: a dropped stream must not look finished");
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_server_stop_ends_both_with_the_shutdown_frame() {
    let probes = Probes::default();
    let server = start(&probes);
    let mut clients = Vec::new();
    for form in FORMS {
        let mut response = RawRequest::get(&format!("{form}/ticks"))
            .send(server.addr())
            .await
            .unwrap();
        response.read_until(b"data: 1\n", STEP).await.unwrap();
        clients.push((form, response));
    }
    within(Duration::from_secs(5), server.stop_with(Stop::EndStreams)).await;
    for (form, mut client) in clients {
        let body = lossy(&client.body_to_end(STEP).await.unwrap());
        assert!(
            body.contains(": server shutting down\n"),
            "{form}: {body:?}"
        );
        assert!(!body.contains("sse-end"), "{form}: a stop is not an end");
    }
    assert!(wait_until(STEP, || probes.cleanups.get() == 2).await);
}

#[actix_web::test]
async fn the_edge_caps_both() {
    let probes = Probes::default();
    let edge = SseEdge::new().limits(Limits::new().max_streams(1));
    let server = {
        let probes = probes.clone();
        options().serve(move || app(probes.clone()).wrap(edge.clone()))
    };
    for form in FORMS {
        let mut open = RawRequest::get(&format!("{form}/ticks"))
            .header("Accept", "text/event-stream")
            .send(server.addr())
            .await
            .unwrap();
        open.read_until(b"data: 1\n", STEP).await.unwrap();
        let mut shed = RawRequest::get(&format!("{form}/two"))
            .header("Accept", "text/event-stream")
            .send(server.addr())
            .await
            .unwrap();
        let body = lossy(&shed.body_to_end(STEP).await.unwrap());
        assert_eq!(shed.status(), 200, "{form}");
        assert!(body.starts_with(": server busy"), "{form}: {body:?}");
        assert!(!body.contains("Hello"), "{form}");
        open.reset().unwrap();
        assert!(
            wait_until(STEP, || {
                probes.cleanups.get() == FORMS.iter().position(|f| *f == form).unwrap() + 1
            })
            .await
        );
    }
    server.stop().await;
}

/// A handler may take the request and still return `Sse`: the macro-free
/// form composes with any extractor.
#[actix_web::test]
async fn a_handler_with_extractors_and_a_header() {
    async fn greet(req: HttpRequest, name: web::Path<String>) -> Sse {
        let agent = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        Sse::from_stream(stream::iter([format!("hi {name}"), agent]))
            .header(("x-stream", "greeting"))
    }
    let server = options().serve(|| App::new().route("/greet/{name}", web::get().to(greet)));
    let (response, body) = whole(&server, "/greet/ada").await;
    assert_eq!(response.header("x-stream"), Some("greeting"));
    assert!(body.starts_with("data: hi ada\n\n"), "{body:?}");
    server.stop().await;
}
