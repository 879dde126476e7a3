//! HTTP/2: TLS with ALPN h2 (rustls 0.23) and h2c with prior knowledge.
//! Twenty SSE streams multiplexed on one connection each get all their
//! events; a stream the client cancels (RST_STREAM) is cleaned up while
//! its neighbours on the same connection go on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpRequest};
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::Version;
use sse_runtime::{controller, sse, CleanUp, Sse, SseEdge};
use sse_test_support::fetch::{client_for, read_until, send, text};
use sse_test_support::{lossy, ServerOptions, TestServer, STEP};

/// When each `/h2/idle` stream's `CleanUp` ran, by its `n`.
#[derive(Clone, Default)]
struct Cleaned(Arc<Mutex<Vec<(u32, Instant)>>>);

impl Cleaned {
    fn at(&self, n: u32) -> Option<Instant> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .find(|(m, _)| *m == n)
            .map(|(_, at)| *at)
    }
}

struct H2 {
    cleaned: Cleaned,
}

#[controller("h2")]
impl H2 {
    /// Five events naming the stream and the client's port, 10 ms apart.
    #[sse("ticks/{n}")]
    fn ticks(&self, n: actix_web::web::Path<u32>, req: HttpRequest) -> impl Stream<Item = String> {
        let n = n.into_inner();
        let port = req.peer_addr().map_or(0, |a| a.port());
        stream::iter(0..5).then(move |i| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            format!("{n}:{i}:{port}")
        })
    }

    /// One event, then silence with a 200 ms keep-alive.
    #[sse("idle/{n}", keep_alive = "200ms")]
    fn idle(&self, n: actix_web::web::Path<u32>, cleanup: CleanUp) -> impl Stream<Item = String> {
        idle(n.into_inner(), &self.cleaned, &cleanup)
    }
}

fn idle(n: u32, cleaned: &Cleaned, cleanup: &CleanUp) -> impl Stream<Item = String> + use<> {
    let cleaned = cleaned.clone();
    cleanup.add(move || cleaned.0.lock().unwrap().push((n, Instant::now())));
    stream::once(async move { format!("idle {n}") }).chain(stream::pending())
}

/// The idle route as a plain handler returning `Sse`: under `SseEdge`,
/// which keeps a `GET`'s receive half for it.
async fn plain_idle(n: web::Path<u32>, cleaned: web::Data<Cleaned>, cleanup: CleanUp) -> Sse {
    Sse::from_stream(idle(n.into_inner(), &cleaned, &cleanup))
        .keep_alive(Duration::from_millis(200))
}

fn start(options: ServerOptions) -> (TestServer, Cleaned) {
    let cleaned = Cleaned::default();
    let routes = cleaned.clone();
    let server = options.sse_defaults().serve(move || {
        App::new()
            .wrap(SseEdge::new())
            .app_data(web::Data::new(routes.clone()))
            .service(H2 {
                cleaned: routes.clone(),
            })
            .route("/p/idle/{n}", web::get().to(plain_idle))
    });
    (server, cleaned)
}

/// The `data:` lines of an event-stream body.
fn data_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect()
}

async fn twenty_streams_on_one_connection(server: &TestServer, client: &reqwest::Client) {
    // One stream first, so the connection exists before the burst (a
    // client racing 20 handshakes could open several).
    let warm = client
        .get(server.url("/h2/ticks/100"))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.version(), Version::HTTP_2);
    let warm = text(warm).await;
    let port = data_lines(&warm)[0].rsplit(':').next().unwrap().to_owned();

    let bodies = futures_util::future::join_all((0..20).map(|n| {
        let request = client.get(server.url(&format!("/h2/ticks/{n}")));
        async move {
            let response = send(request).await;
            assert_eq!(response.version(), Version::HTTP_2);
            text(response).await
        }
    }))
    .await;
    for (n, body) in bodies.iter().enumerate() {
        let data = data_lines(body);
        let want: Vec<String> = (0..5).map(|i| format!("{n}:{i}:{port}")).collect();
        assert_eq!(
            data, want,
            "stream {n}: all its events, all on one connection"
        );
    }
}

/// As an `#[sse]` route (`prefix` `/h2`) or a plain handler (`/p`).
async fn cancelled_stream_is_cleaned_up(
    server: &TestServer,
    client: &reqwest::Client,
    cleaned: &Cleaned,
    prefix: &str,
) {
    let (one, two) = if prefix == "/h2" { (1, 2) } else { (3, 4) };
    let mut kept = send(client.get(server.url(&format!("{prefix}/idle/{one}")))).await;
    let mut cancelled = send(client.get(server.url(&format!("{prefix}/idle/{two}")))).await;
    assert_eq!(cancelled.version(), Version::HTTP_2);
    read_until(&mut kept, format!("idle {one}").as_bytes(), STEP).await;
    read_until(&mut cancelled, format!("idle {two}").as_bytes(), STEP).await;
    // Dropping the body makes the client reset the stream (RST_STREAM);
    // the connection stays, carrying stream 1.
    let dropped = Instant::now();
    drop(cancelled);
    let deadline = dropped + Duration::from_secs(3);
    let cleaned_at = loop {
        if let Some(at) = cleaned.at(two) {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "{prefix}: the cancelled stream was not cleaned up within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let latency = cleaned_at.saturating_duration_since(dropped);
    eprintln!("HTTP/2 cancel to clean-up: {latency:?} (reset check 100 ms, keep-alive 200 ms)");
    // The runtime's reset check (every 100 ms) finds it; the next write
    // (a keep-alive, 200 ms) would anyway. Generous for a loaded machine.
    assert!(latency < Duration::from_millis(1200), "{latency:?}");
    assert!(
        cleaned.at(one).is_none(),
        "the neighbour stream was closed too"
    );
    // The neighbour still gets its keep-alives.
    let more = read_until(&mut kept, b":", STEP).await;
    assert!(more.starts_with(b":"), "{:?}", lossy(&more));
}

/// Both HTTP/2 checks over `options`' transport.
async fn multiplexing_and_cancel(options: ServerOptions, h2_prior_knowledge: bool) {
    let (server, cleaned) = start(options);
    let client = client_for(&server, h2_prior_knowledge);
    twenty_streams_on_one_connection(&server, &client).await;
    cancelled_stream_is_cleaned_up(&server, &client, &cleaned, "/h2").await;
    cancelled_stream_is_cleaned_up(&server, &client, &cleaned, "/p").await;
    server.stop().await;
}

#[actix_web::test]
async fn tls_alpn_h2() {
    multiplexing_and_cancel(ServerOptions::new().tls(), false).await;
}

#[actix_web::test]
async fn h2c_prior_knowledge() {
    multiplexing_and_cancel(ServerOptions::new().h2c(), true).await;
}

#[actix_web::test]
async fn tls_still_serves_http1_clients() {
    let (server, _) = start(ServerOptions::new().tls());
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(server.cert_pem().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let response = send(client.get(server.url("/h2/ticks/7"))).await;
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(data_lines(&text(response).await).len(), 5);
    server.stop().await;
}
