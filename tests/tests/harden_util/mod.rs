//! Small helpers for the `hardening_*` tests: a server on 127.0.0.1:0 set up
//! with `sse_settings`, and a raw HTTP/1.1 client that can read, or stall.
//! Every wait is bounded.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use sse_runtime::{SseServerExt, SseSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// Awaits `fut` for at most `limit`, panicking with `what` on timeout.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `cond` until it holds or `limit` passes; returns whether it held.
pub async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// A server with one worker on a fresh loopback port.
pub struct Server {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
}

/// Starts `factory`'s app with `settings` applied (`None`: a plain actix
/// server, without the connection hook). Call inside an actix System.
pub fn start<F, T, B>(settings: Option<SseSettings>, factory: F) -> Server
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let server = HttpServer::new(factory)
        .workers(1)
        .max_connections(20_000)
        .backlog(2048)
        .disable_signals();
    let server = match settings {
        Some(settings) => server.sse_settings(settings),
        None => server,
    };
    let server = server.bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Server { addr, handle }
}

/// Counts clean-ups and streams alive, for routes to report into.
#[derive(Default)]
pub struct Counters {
    pub cleanups: AtomicUsize,
    pub live: AtomicUsize,
}

impl Counters {
    pub fn cleanups(&self) -> usize {
        self.cleanups.load(Ordering::SeqCst)
    }

    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }
}

/// Held by a stream: counts it alive until the stream is dropped.
pub struct Alive(Arc<Counters>);

impl Alive {
    pub fn new(counters: &Arc<Counters>) -> Self {
        counters.live.fetch_add(1, Ordering::SeqCst);
        Alive(counters.clone())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A raw HTTP/1.1 client on one connection.
pub struct Client {
    pub socket: TcpStream,
    /// Everything read so far, head included.
    pub raw: Vec<u8>,
    /// When each read returned bytes.
    pub arrivals: Vec<Instant>,
}

impl Client {
    /// Connects and sends `GET path`; reads nothing yet.
    pub async fn get(addr: SocketAddr, path: &str) -> Client {
        let mut socket = within(Duration::from_secs(5), "connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        socket
            .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .expect("send request");
        Client {
            socket,
            raw: Vec::new(),
            arrivals: Vec::new(),
        }
    }

    /// Connects, sends `GET path` and reads until `text` appears in the
    /// body (or the head, for a status line).
    pub async fn open(addr: SocketAddr, path: &str, text: &str) -> Client {
        let mut client = Client::get(addr, path).await;
        client.read_until(text, Duration::from_secs(5)).await;
        client
    }

    /// One read; `false` at end of stream or on an error (a reset).
    pub async fn read_some(&mut self) -> bool {
        let mut buf = [0u8; 16 * 1024];
        match self.socket.read(&mut buf).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.arrivals.push(Instant::now());
                true
            }
        }
    }

    /// Reads until `text` is in what was read; panics after `limit` or at
    /// the end of the connection.
    pub async fn read_until(&mut self, text: &str, limit: Duration) {
        within(limit, &format!("waiting for {text:?}"), async {
            while !self.text().contains(text) {
                assert!(
                    self.read_some().await,
                    "connection ended before {text:?}: {:?}",
                    self.text()
                );
            }
        })
        .await;
    }

    /// Reads until the connection ends (closed or reset).
    pub async fn read_to_end(&mut self, limit: Duration) {
        within(limit, "waiting for the connection to end", async {
            while self.read_some().await {}
        })
        .await;
    }

    /// What was read, lossily decoded.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The response head (status line and headers).
    pub fn head(&self) -> String {
        let text = self.text();
        text.split("\r\n\r\n").next().unwrap_or_default().to_owned()
    }

    /// The body, de-chunked, and whether its last chunk arrived.
    pub fn body(&self) -> (Vec<u8>, bool) {
        let Some(start) = find(&self.raw, b"\r\n\r\n") else {
            return (Vec::new(), false);
        };
        dechunk(&self.raw[start + 4..])
    }

    /// The longest time between two reads that returned bytes.
    pub fn longest_gap(&self) -> Duration {
        self.arrivals
            .windows(2)
            .map(|w| w[1].duration_since(w[0]))
            .max()
            .unwrap_or_default()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body as far as it is complete.
pub fn dechunk(mut raw: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(raw, b"\r\n") else {
            return (body, false);
        };
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
        let Some(size) = size else {
            return (body, false);
        };
        if size == 0 {
            return (body, true);
        }
        let data = line_end + 2;
        if raw.len() < data + size + 2 {
            return (body, false);
        }
        body.extend_from_slice(&raw[data..data + size]);
        raw = &raw[data + size + 2..];
    }
}

/// The events in `body`, parsed by the project's WHATWG parser: only
/// complete events come out.
pub fn events(body: &[u8]) -> Vec<sse_runtime::parse::ReceivedEvent> {
    let mut parser = sse_runtime::parse::EventStreamParser::new();
    parser.feed(body).expect("a well-formed event stream")
}
