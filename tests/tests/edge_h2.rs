//! HTTP/2: TLS with ALPN h2 (rustls 0.23) and h2c with prior knowledge.
//! Twenty SSE streams multiplexed on one connection each get all their
//! events; a stream the client cancels (RST_STREAM) is cleaned up while
//! its neighbours on the same connection go on.

mod edge_util;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest};
use edge_util::{body_within, next_chunk, serve, within, Server, Transport, STEP};
use futures_util::stream::{self, Stream, StreamExt};
use reqwest::Version;
use sse_runtime::{controller, sse, CleanUp, SseEdge};

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
        let n = n.into_inner();
        let cleaned = self.cleaned.clone();
        cleanup.add(move || cleaned.0.lock().unwrap().push((n, Instant::now())));
        stream::once(async move { format!("idle {n}") }).chain(stream::pending())
    }
}

fn start(transport: Transport) -> (Server, Cleaned) {
    let cleaned = Cleaned::default();
    let routes = cleaned.clone();
    let server = serve(transport, move || {
        App::new().wrap(SseEdge::new()).service(H2 {
            cleaned: routes.clone(),
        })
    });
    (server, cleaned)
}

/// The `data:` lines of an event-stream body.
fn data_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect()
}

async fn twenty_streams_on_one_connection(server: &Server, client: &reqwest::Client) {
    // One stream first, so the connection exists before the burst (a
    // client racing 20 handshakes could open several).
    let warm = client
        .get(server.url("/h2/ticks/100"))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.version(), Version::HTTP_2);
    let warm = body_within(warm, STEP).await;
    let port = data_lines(&warm)[0].rsplit(':').next().unwrap().to_owned();

    let bodies = futures_util::future::join_all((0..20).map(|n| {
        let request = client.get(server.url(&format!("/h2/ticks/{n}")));
        async move {
            let response = within(STEP, "a response head", request.send())
                .await
                .unwrap();
            assert_eq!(response.version(), Version::HTTP_2);
            body_within(response, STEP).await
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

async fn cancelled_stream_is_cleaned_up(
    server: &Server,
    client: &reqwest::Client,
    cleaned: &Cleaned,
) {
    let mut kept = client.get(server.url("/h2/idle/1")).send().await.unwrap();
    let mut cancelled = client.get(server.url("/h2/idle/2")).send().await.unwrap();
    assert_eq!(cancelled.version(), Version::HTTP_2);
    assert!(next_chunk(&mut kept).await.unwrap().contains("idle 1"));
    assert!(next_chunk(&mut cancelled).await.unwrap().contains("idle 2"));
    // Dropping the body makes the client reset the stream (RST_STREAM);
    // the connection stays, carrying stream 1.
    let dropped = Instant::now();
    drop(cancelled);
    let deadline = dropped + Duration::from_secs(3);
    let cleaned_at = loop {
        if let Some(at) = cleaned.at(2) {
            break at;
        }
        assert!(
            Instant::now() < deadline,
            "the cancelled stream was not cleaned up within 3 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let latency = cleaned_at.saturating_duration_since(dropped);
    eprintln!("HTTP/2 cancel to clean-up: {latency:?} (reset check 100 ms, keep-alive 200 ms)");
    // The runtime's reset check (every 100 ms) finds it; the next write
    // (a keep-alive, 200 ms) would anyway. Generous for a loaded machine.
    assert!(latency < Duration::from_millis(1200), "{latency:?}");
    assert!(
        cleaned.at(1).is_none(),
        "the neighbour stream was closed too"
    );
    // The neighbour still gets its keep-alives.
    let more = next_chunk(&mut kept).await.unwrap();
    assert!(more.starts_with(':'), "{more:?}");
}

#[actix_web::test]
async fn tls_alpn_h2() {
    let (server, cleaned) = start(Transport::Tls);
    let client = server.client(false);
    twenty_streams_on_one_connection(&server, &client).await;
    cancelled_stream_is_cleaned_up(&server, &client, &cleaned).await;
    server.stop().await;
}

#[actix_web::test]
async fn h2c_prior_knowledge() {
    let (server, cleaned) = start(Transport::H2c);
    let client = server.client(true);
    twenty_streams_on_one_connection(&server, &client).await;
    cancelled_stream_is_cleaned_up(&server, &client, &cleaned).await;
    server.stop().await;
}

#[actix_web::test]
async fn tls_still_serves_http1_clients() {
    let (server, _) = start(Transport::Tls);
    let client = reqwest::Client::builder()
        .no_proxy()
        .http1_only()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(server.cert_pem.as_ref().unwrap().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    let response = client.get(server.url("/h2/ticks/7")).send().await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert_eq!(data_lines(&body_within(response, STEP).await).len(), 5);
    server.stop().await;
}
