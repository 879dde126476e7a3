//! Helpers shared by the `controller_*` integration tests: a real actix-web
//! server on `127.0.0.1:0`, a raw HTTP/1.1 client that sees every chunk and
//! byte, bounded reqwest helpers, and small shared-state probes.
//!
//! Every wait in here is bounded: nothing can hang a test.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout, Instant};

/// The bound on one network step (connect, response head, a whole finite
/// body) when nothing slower is expected.
pub const STEP: Duration = Duration::from_secs(5);

/// Awaits `fut` for at most `limit`, panicking with `what` on timeout.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `cond` every few milliseconds until it holds or `limit` passes;
/// returns whether it held.
pub async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

/// A running server on `127.0.0.1:<random port>` with one worker thread.
/// Dropping it requests a forced stop; [`TestServer::stop`] also waits
/// (bounded) for the stop to complete.
pub struct TestServer {
    /// Where the server listens.
    pub addr: SocketAddr,
    handle: ServerHandle,
}

/// Starts `factory`'s app on a fresh loopback port. Must be called inside
/// an actix System (e.g. an `#[actix_web::test]` function): the server
/// future is spawned on it, the worker runs in its own thread.
pub fn serve<F, T, B>(factory: F) -> TestServer
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
        .disable_signals()
        .shutdown_timeout(1)
        .bind(("127.0.0.1", 0))
        .expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    TestServer { addr, handle }
}

impl TestServer {
    /// `http://<addr><path>`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server, forcibly closing open connections (bounded).
    pub async fn stop(self) {
        let stopping = self.handle.stop(false);
        // A stuck shutdown is not this test's concern; do not hang on it.
        let _ = timeout(Duration::from_secs(2), stopping).await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The stop command is sent when `stop` is called; the returned
        // future only waits for completion.
        drop(self.handle.stop(false));
    }
}

/// `actix_web::test::call_service`, bounded by [`STEP`].
pub async fn call_service<S, R, B, E>(app: &S, request: R) -> S::Response
where
    S: actix_web::dev::Service<R, Response = ServiceResponse<B>, Error = E>,
    E: std::fmt::Debug,
{
    within(
        STEP,
        "in-process call",
        actix_web::test::call_service(app, request),
    )
    .await
}

// ---------------------------------------------------------------------------
// reqwest helpers
// ---------------------------------------------------------------------------

/// A reqwest client that never uses a proxy nor reuses connections.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .connect_timeout(STEP)
        .build()
        .expect("reqwest client")
}

/// `GET url`, waiting at most [`STEP`] for the response head.
pub async fn get(url: &str) -> reqwest::Response {
    send(client().get(url)).await
}

/// Sends `request`, waiting at most [`STEP`] for the response head.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    within(STEP, "response head", request.send())
        .await
        .expect("request failed")
}

/// The whole body of a finite response (at most [`STEP`]).
pub async fn body(response: reqwest::Response) -> Vec<u8> {
    within(STEP, "whole body", response.bytes())
        .await
        .expect("body failed")
        .to_vec()
}

/// The whole body as UTF-8 text (at most [`STEP`]).
pub async fn text(response: reqwest::Response) -> String {
    String::from_utf8(body(response).await).expect("body is UTF-8")
}

/// Everything received within `duration` (or until the body ends).
pub async fn read_for(response: &mut reqwest::Response, duration: Duration) -> Vec<u8> {
    let deadline = Instant::now() + duration;
    let mut out = Vec::new();
    while let Ok(chunk) = tokio::time::timeout_at(deadline, response.chunk()).await {
        match chunk.expect("body failed") {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => break,
        }
    }
    out
}

/// Reads until the received bytes contain `needle`; panics after `limit`.
pub async fn read_until(
    response: &mut reqwest::Response,
    needle: &[u8],
    limit: Duration,
) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = Instant::now() + limit;
    while !contains(&out, needle) {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(chunk) => chunk.expect("body failed"),
            Err(_) => panic!(
                "timed out after {limit:?} waiting for {:?}; received {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&out)
            ),
        };
        match chunk {
            Some(bytes) => out.extend_from_slice(&bytes),
            None => panic!(
                "body ended before {:?}; received {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&out)
            ),
        }
    }
    out
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    count(haystack, needle) > 0
}

/// Non-overlapping occurrences of `needle` in `haystack`.
pub fn count(haystack: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            n += 1;
            i += needle.len();
        } else {
            i += 1;
        }
    }
    n
}

/// Lossy UTF-8 rendering for assertion messages and comparisons.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------
// Raw HTTP/1.1 client
// ---------------------------------------------------------------------------

enum Framing {
    Chunked,
    Length(usize),
    UntilClose,
}

/// A response read straight off a `TcpStream`: the status, the headers and
/// the body exactly as framed on the wire (one item per HTTP chunk).
/// Dropping it closes the connection.
pub struct RawResponse {
    stream: TcpStream,
    /// Received, not yet consumed bytes.
    buf: Vec<u8>,
    /// The status code.
    pub status: u16,
    /// The headers in wire order, names lower-cased.
    pub headers: Vec<(String, String)>,
    framing: Framing,
    ended: bool,
    /// When the request was written.
    pub sent_at: Instant,
}

/// Sends `GET path` with `headers` and reads the response head.
pub async fn raw_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    raw_request(addr, "GET", path, headers, b"").await
}

/// Sends a request over a fresh connection and reads the response head
/// (at most [`STEP`]).
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    within(STEP, "raw request", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        stream.write_all(&bytes).await.expect("write request");
        let sent_at = Instant::now();
        let mut response = RawResponse {
            stream,
            buf: Vec::new(),
            status: 0,
            headers: Vec::new(),
            framing: Framing::UntilClose,
            ended: false,
            sent_at,
        };
        response.read_head().await;
        response
    })
    .await
}

impl RawResponse {
    async fn fill(&mut self) -> usize {
        let mut tmp = [0u8; 16 * 1024];
        let n = self.stream.read(&mut tmp).await.expect("socket read");
        self.buf.extend_from_slice(&tmp[..n]);
        n
    }

    async fn read_head(&mut self) {
        let end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            if self.fill().await == 0 {
                panic!(
                    "connection closed before the response head: {:?}",
                    lossy(&self.buf)
                );
            }
        };
        let head = String::from_utf8(self.buf[..end].to_vec()).expect("head is UTF-8");
        self.buf.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        self.status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            self.headers
                .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        self.framing = if self
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            Framing::Chunked
        } else if let Some(len) = self.header("content-length") {
            let len = len.parse().expect("content-length");
            self.ended = len == 0;
            Framing::Length(len)
        } else {
            Framing::UntilClose
        };
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times header `name` appears.
    pub fn header_count(&self, name: &str) -> usize {
        let name = name.to_ascii_lowercase();
        self.headers.iter().filter(|(n, _)| *n == name).count()
    }

    /// Whether the body has been read to its end.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The next piece of the body: one HTTP chunk's payload for a chunked
    /// body, else whatever arrived; `None` at the end of the body.
    /// Cancel-safe (bytes are only consumed once a whole chunk is there);
    /// unbounded, so wrap it in a timeout or use the bounded variants.
    pub async fn next_chunk(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.ended {
                return None;
            }
            match self.framing {
                Framing::Chunked => {
                    if let Some(chunk) = self.take_chunk() {
                        return chunk;
                    }
                }
                Framing::Length(ref mut left) => {
                    if !self.buf.is_empty() {
                        let n = self.buf.len().min(*left);
                        *left -= n;
                        self.ended = *left == 0;
                        return Some(self.buf.drain(..n).collect());
                    }
                }
                Framing::UntilClose => {
                    if !self.buf.is_empty() {
                        return Some(std::mem::take(&mut self.buf));
                    }
                }
            }
            if self.fill().await == 0 {
                return match self.framing {
                    Framing::UntilClose => {
                        self.ended = true;
                        None
                    }
                    _ => panic!(
                        "connection closed inside the body; buffered {:?}",
                        lossy(&self.buf)
                    ),
                };
            }
        }
    }

    /// A complete chunk from the buffer: `Some(Some(payload))`,
    /// `Some(None)` for the last chunk, `None` if more bytes are needed.
    fn take_chunk(&mut self) -> Option<Option<Vec<u8>>> {
        let line_end = find(&self.buf, b"\r\n")?;
        let line = std::str::from_utf8(&self.buf[..line_end]).expect("chunk size line");
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        let start = line_end + 2;
        if size == 0 {
            // Last chunk; no trailers expected: `0\r\n\r\n`.
            if self.buf.len() < start + 2 {
                return None;
            }
            assert_eq!(
                &self.buf[start..start + 2],
                b"\r\n",
                "trailers after the last chunk"
            );
            self.buf.drain(..start + 2);
            self.ended = true;
            return Some(None);
        }
        if self.buf.len() < start + size + 2 {
            return None;
        }
        assert_eq!(
            &self.buf[start + size..start + size + 2],
            b"\r\n",
            "chunk not followed by CRLF"
        );
        let payload = self.buf[start..start + size].to_vec();
        self.buf.drain(..start + size + 2);
        Some(Some(payload))
    }

    /// [`next_chunk`](Self::next_chunk), waiting at most `limit`: `Err(())`
    /// on timeout.
    pub async fn next_chunk_within(&mut self, limit: Duration) -> Result<Option<Vec<u8>>, ()> {
        timeout(limit, self.next_chunk()).await.map_err(|_| ())
    }

    /// Every chunk until the body ends; panics after `limit`.
    pub async fn chunks_to_end(&mut self, limit: Duration) -> Vec<Vec<u8>> {
        let mut chunks = Vec::new();
        let deadline = Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.next_chunk()).await {
                Ok(Some(chunk)) => chunks.push(chunk),
                Ok(None) => return chunks,
                Err(_) => panic!(
                    "body did not end within {limit:?}; received {:?}",
                    lossy(&chunks.concat())
                ),
            }
        }
    }

    /// The whole body until it ends; panics after `limit`.
    pub async fn body_to_end(&mut self, limit: Duration) -> Vec<u8> {
        self.chunks_to_end(limit).await.concat()
    }

    /// Everything received within `duration` (or until the body ends).
    pub async fn body_for(&mut self, duration: Duration) -> Vec<u8> {
        let deadline = Instant::now() + duration;
        let mut out = Vec::new();
        while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, self.next_chunk()).await {
            out.extend_from_slice(&chunk);
        }
        out
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------
// Shared-state probes
// ---------------------------------------------------------------------------

/// A thread-safe, cloneable list of strings, e.g. which callbacks ran.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Appends `entry`.
    pub fn push(&self, entry: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry.into());
    }

    /// A copy of the entries so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A thread-safe, cloneable boolean.
#[derive(Clone, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    /// Sets the flag.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A thread-safe, cloneable counter.
#[derive(Clone, Default)]
pub struct Counter(Arc<AtomicUsize>);

impl Counter {
    /// Adds one.
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The current count.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sets its flag when dropped: hold one in a stream to learn when the
/// stream is dropped.
pub struct DropGuard(pub Flag);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set();
    }
}
