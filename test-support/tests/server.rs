//! The test server: both homes, every way to stop it, and that dropping it
//! stops it too.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::{web, App};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse};
use sse_test_support::{
    lossy, serve, within, AppFactory, RawRequest, ServerOptions, Stop, TestServer, STEP,
};

struct Forever;

#[controller("")]
impl Forever {
    /// One event, then nothing until the server ends the stream.
    #[sse("forever", keep_alive = false)]
    fn forever() -> impl Stream<Item = &'static str> {
        stream::iter(["hello"]).chain(stream::pending())
    }

    #[get("ping")]
    fn ping() -> &'static str {
        "pong"
    }
}

fn app() -> App<impl AppFactory<BoxBody>> {
    App::new()
        .service(Forever)
        .route("/echo", web::get().to(echo_last_event_id))
}

async fn echo_last_event_id(request: actix_web::HttpRequest) -> String {
    request
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("none")
        .to_owned()
}

async fn ping(addr: SocketAddr) -> io::Result<String> {
    let mut response = RawRequest::get("/ping")
        .timeout(Duration::from_secs(1))
        .send(addr)
        .await?;
    Ok(lossy(&response.body_to_end(STEP).await?))
}

/// Connecting fails once the server is gone (the port stays unused: the
/// OS does not hand an ephemeral port out again at once).
async fn assert_gone(addr: SocketAddr) {
    let err = ping(addr).await.expect_err("the server still answers");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[actix_web::test]
async fn serves_on_the_current_system_and_stops() {
    let server = serve(app);
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);
    assert_eq!(server.url("/a"), format!("http://{}/a", server.addr()));
    assert_eq!(ping(server.addr()).await.unwrap(), "pong");
    let addr = server.addr();
    server.stop().await;
    assert_gone(addr).await;
}

/// The drop only requests the stop: the server goes soon after.
async fn eventually_gone(addr: SocketAddr) {
    within(STEP, async {
        while ping(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_gone(addr).await;
}

#[actix_web::test]
async fn dropping_the_server_stops_it() {
    let server = serve(app);
    let addr = server.addr();
    drop(server);
    eventually_gone(addr).await;
}

#[tokio::test]
async fn serves_on_its_own_thread_without_an_actix_runtime() {
    for how in [Stop::Forced, Stop::Graceful, Stop::EndStreams] {
        let server = ServerOptions::new().serve_on_thread(app);
        assert_eq!(ping(server.addr()).await.unwrap(), "pong", "{how:?}");
        let addr = server.addr();
        server.stop_with(how).await;
        assert_gone(addr).await;
    }
}

#[test]
fn dropping_a_thread_server_outside_any_runtime_stops_it() {
    let server = ServerOptions::new().serve_on_thread(app);
    let addr = server.addr();
    drop(server);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(assert_gone(addr));
}

/// `Stop::EndStreams` runs `sse_runtime::stop` in the server's own
/// `System`, where it finds the open streams, even from another runtime.
#[tokio::test]
async fn end_streams_reaches_the_streams_of_a_thread_server() {
    let server = ServerOptions::new()
        .shutdown_timeout(30)
        .serve_on_thread(app);
    let mut stream = RawRequest::get("/forever")
        .send(server.addr())
        .await
        .unwrap();
    stream.read_until(b"data: hello\n\n", STEP).await.unwrap();
    let started = std::time::Instant::now();
    server.stop_with(Stop::EndStreams).await;
    // Not actix's 30 s wait for the open response.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let rest = stream.body_to_end(STEP).await.unwrap();
    assert!(
        lossy(&rest).contains(": server shutting down\n"),
        "{:?}",
        lossy(&rest)
    );
}

#[actix_web::test]
async fn adopted_servers_are_stopped_like_the_others() {
    let server = actix_web::HttpServer::new(app)
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
    let addr = server.addrs()[0];
    let server = TestServer::adopt(server.run(), addr);
    assert_eq!(ping(addr).await.unwrap(), "pong");
    server.stop().await;
    assert_gone(addr).await;
}

#[actix_web::test]
async fn requests_carry_any_header() {
    let server = serve(app);
    let mut response = RawRequest::get("/echo")
        .header("Last-Event-ID", "41")
        .send(server.addr())
        .await
        .unwrap();
    assert_eq!(response.body_to_end(STEP).await.unwrap(), b"41");
    server.stop().await;
}

#[cfg(all(feature = "tls", feature = "reqwest"))]
mod tls_and_h2c {
    use super::*;
    use sse_test_support::fetch::{client_for, send, text};

    #[actix_web::test]
    async fn a_tls_server_speaks_http2_by_alpn_to_a_client_that_trusts_it() {
        let server = ServerOptions::new().tls().serve(app);
        let url = server.url("/ping");
        assert!(url.starts_with("https://127.0.0.1:"), "{url}");
        assert!(server.cert_pem().unwrap().contains("BEGIN CERTIFICATE"));
        let response = send(client_for(&server, false).get(&url)).await;
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(text(response).await, "pong");
        // A client that trusts only the usual roots refuses it.
        let stranger = sse_test_support::fetch::client();
        assert!(within(STEP, stranger.get(&url).send()).await.is_err());
        server.stop().await;
    }

    #[actix_web::test]
    async fn an_h2c_server_speaks_both_versions() {
        let server = ServerOptions::new().h2c().serve(app);
        assert!(server.cert_pem().is_none());
        let url = server.url("/ping");
        let response = send(client_for(&server, true).get(&url)).await;
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        assert_eq!(text(response).await, "pong");
        let response = send(client_for(&server, false).get(&url)).await;
        assert_eq!(response.version(), reqwest::Version::HTTP_11);
        server.stop().await;
    }
}

#[actix_web::test]
async fn open_event_stream_refuses_what_is_not_one() {
    let server = serve(app);
    let mut events = RawRequest::get("/forever")
        .open_event_stream(server.addr())
        .await
        .unwrap()
        .into_events();
    assert_eq!(events.next_event().await.unwrap().unwrap().data, "hello");
    for path in ["/ping", "/missing"] {
        let err = RawRequest::get(path)
            .open_event_stream(server.addr())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{path}");
        assert!(err.to_string().contains("not an event stream"), "{err}");
    }
    server.stop().await;
}
