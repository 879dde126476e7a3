//! HTTP/2 (h2c): a client that cancels an idle stream (`RST_STREAM`), or
//! whose connection closes, is noticed without any write on the stream.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::App;
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp, SseSettings};
use sse_test_support::{within, ServerOptions, TestServer};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

struct Idle {
    ended: mpsc::UnboundedSender<Instant>,
}

#[controller("")]
impl Idle {
    /// One event, then silence: no keep-alive, so no write could reveal a
    /// cancellation.
    #[sse("idle", keep_alive = false)]
    fn idle(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let ended = self.ended.clone();
        cleanup.add(move || {
            let _ = ended.send(Instant::now());
        });
        stream::once(async { "hello" }).chain(stream::pending())
    }
}

/// An h2c server with `settings` (`None`: without the connection hook),
/// and the times its streams' `CleanUp`s ran.
fn start(settings: Option<SseSettings>) -> (TestServer, mpsc::UnboundedReceiver<Instant>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let server = ServerOptions::new()
        .h2c()
        .sse_settings(settings)
        .serve(move || App::new().service(Idle { ended: tx.clone() }));
    (server, rx)
}

/// An h2c client with one open `/idle` stream that has received its event.
struct H2Stream {
    send: h2::SendStream<Bytes>,
    body: h2::RecvStream,
    connection: tokio::task::JoinHandle<()>,
    _client: h2::client::SendRequest<Bytes>,
}

async fn open(addr: SocketAddr) -> H2Stream {
    within(Duration::from_secs(5), async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
        let connection = tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut client = client.ready().await.expect("ready");
        let request = http::Request::get(format!("http://{addr}/idle"))
            .body(())
            .expect("request");
        let (response, send) = client.send_request(request, true).expect("send request");
        let response = response.await.expect("response");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        let mut seen = Vec::new();
        while !seen.ends_with(b"\n\n") {
            let chunk = body.data().await.expect("a first event").expect("data");
            let _ = body.flow_control().release_capacity(chunk.len());
            seen.extend_from_slice(&chunk);
        }
        assert_eq!(seen, b"data: hello\n\n");
        H2Stream {
            send,
            body,
            connection,
            _client: client,
        }
    })
    .await
}

async fn cleanup_after(ended: &mut mpsc::UnboundedReceiver<Instant>, from: Instant) -> Duration {
    let at = within(Duration::from_secs(5), ended.recv())
        .await
        .expect("channel open");
    at.duration_since(from)
}

#[actix_web::test]
async fn a_cancelled_idle_stream_is_noticed_without_a_write() {
    for settings in [Some(SseSettings::default()), None] {
        let (server, mut ended) = start(settings);
        let mut stream = open(server.addr()).await;
        let cancelled = Instant::now();
        stream.send.send_reset(h2::Reason::CANCEL);
        let latency = cleanup_after(&mut ended, cancelled).await;
        println!(
            "RST_STREAM to CleanUp (hook: {}): {latency:?}",
            settings.is_some()
        );
        // The check runs every 100 ms; keep-alive is off, so without it the
        // stream would never end.
        assert!(latency < Duration::from_secs(1), "{latency:?}");
        drop(stream.body);
        stream.connection.abort();
        server.stop().await;
    }
}

#[actix_web::test]
async fn a_closed_h2_connection_ends_its_streams() {
    let (server, mut ended) = start(Some(SseSettings::default()));
    let stream = open(server.addr()).await;
    let closed = Instant::now();
    // Dropping the connection's task closes the TCP connection.
    stream.connection.abort();
    drop(stream);
    let latency = cleanup_after(&mut ended, closed).await;
    println!("h2 connection close to CleanUp: {latency:?}");
    assert!(latency < Duration::from_secs(1), "{latency:?}");
    server.stop().await;
}

#[actix_web::test]
async fn other_streams_on_the_connection_go_on() {
    let (server, mut ended) = start(Some(SseSettings::default()));
    let addr = server.addr();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut streams = Vec::new();
    for _ in 0..2 {
        let mut client = client.clone().ready().await.expect("ready");
        let request = http::Request::get(format!("http://{addr}/idle"))
            .body(())
            .expect("request");
        let (response, send) = client.send_request(request, true).expect("send request");
        let response = within(Duration::from_secs(5), response)
            .await
            .expect("response");
        streams.push((send, response.into_body()));
    }
    let (mut first, _second) = (streams.remove(0), streams.remove(0));
    first.0.send_reset(h2::Reason::CANCEL);
    cleanup_after(&mut ended, Instant::now()).await;
    // Only one of the two ended.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(ended.try_recv().is_err(), "the other stream must stay open");
    drop(first);
    connection.abort();
    server.stop().await;
}
