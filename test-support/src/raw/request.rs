//! The request side: what to send, and the connection it is sent on.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use memchr::memmem;
use tokio::net::{TcpSocket, TcpStream};

use super::head::{Head, MAX_HEAD};
use super::wire::{Transport, Wire};
use super::RawResponse;
use crate::text::lossy;
use crate::wait::STEP;

/// Bytes asked of the kernel per read unless [`RawRequest::read_size`]
/// says otherwise.
const DEFAULT_READ_SIZE: usize = 16 * 1024;

/// How long [`RawRequest::open_event_stream`] reads a refusal's body for
/// its error message.
const SHOW_REFUSAL: Duration = Duration::from_millis(200);

/// An HTTP/1.1 request to send over a fresh connection, written exactly as
/// given: any method, target and headers (`Last-Event-ID`, a broken
/// `Accept`, ...). `Host` and `Content-Length` are added unless given.
///
/// ```
/// use sse_test_support::RawRequest;
///
/// let request = RawRequest::get("/events?room=1")
///     .header("Accept", "text/event-stream")
///     .header("Last-Event-ID", "41");
/// # let _ = request;
/// ```
#[derive(Clone)]
pub struct RawRequest {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    read_size: usize,
    recv_buffer: Option<u32>,
    timeout: Duration,
    /// The certificate to trust (PEM) when speaking TLS.
    #[cfg(feature = "tls")]
    tls: Option<String>,
}

impl fmt::Debug for RawRequest {
    // Readable in a failing test's message: the body as text, not numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("target", &self.target)
            .field("headers", &self.headers)
            .field("body", &lossy(&self.body))
            .finish_non_exhaustive()
    }
}

impl RawRequest {
    /// A request with `method` for `target` (a path with an optional query).
    pub fn new(method: &str, target: &str) -> Self {
        RawRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            read_size: DEFAULT_READ_SIZE,
            recv_buffer: None,
            timeout: STEP,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// `GET target`.
    pub fn get(target: &str) -> Self {
        Self::new("GET", target)
    }

    /// `POST target`; add the payload with [`body`](Self::body).
    pub fn post(target: &str) -> Self {
        Self::new("POST", target)
    }

    /// Adds a header line `name: value` (repeat a name to send it twice).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The request body; `Content-Length` is added unless given.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Bytes asked of the kernel per read (16 KiB unless set): large reads
    /// keep a fast stream cheap to receive.
    pub fn read_size(mut self, bytes: usize) -> Self {
        self.read_size = bytes.max(1);
        self
    }

    /// The socket's receive buffer, set before connecting. A small one
    /// makes a client that stops reading stall the server's writes soon.
    pub fn recv_buffer_size(mut self, bytes: u32) -> Self {
        self.recv_buffer = Some(bytes);
        self
    }

    /// Speaks TLS, trusting exactly the certificate `cert_pem` (a TLS test
    /// server's [`cert_pem`](crate::TestServer::cert_pem)), and offering
    /// only HTTP/1.1 by ALPN. The client reads the socket only when asked,
    /// as over plain TCP, so it can stall a server's writes the same way.
    /// Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, cert_pem: &str) -> Self {
        self.tls = Some(cert_pem.to_owned());
        self
    }

    /// The bound on connecting, writing the request and receiving the
    /// response head ([`STEP`] unless set); beyond it, [`send`](Self::send)
    /// fails with [`io::ErrorKind::TimedOut`].
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Connects to `addr`, writes the request and reads the response head.
    ///
    /// # Errors
    /// A request that cannot be written as given (a CR or LF in a header,
    /// say: [`io::ErrorKind::InvalidInput`]), a connection or I/O error, a
    /// malformed head ([`io::ErrorKind::InvalidData`]), the connection
    /// closing first ([`io::ErrorKind::UnexpectedEof`]) or the timeout.
    pub async fn send(self, addr: SocketAddr) -> io::Result<RawResponse> {
        let limit = self.timeout;
        bounded(limit, "the response head", async {
            self.write_to(addr).await?.response().await
        })
        .await
    }

    /// [`send`](Self::send), for a response that must be an event stream:
    /// `200` with `Content-Type: text/event-stream`.
    ///
    /// # Errors
    /// As `send`, and [`io::ErrorKind::InvalidData`] for any other answer
    /// (the message names the status, the content type and the start of
    /// the body).
    pub async fn open_event_stream(self, addr: SocketAddr) -> io::Result<RawResponse> {
        let mut response = self.send(addr).await?;
        let content_type = response.header("content-type").map(str::to_owned);
        if response.status() == 200 && content_type.as_deref() == Some("text/event-stream") {
            return Ok(response);
        }
        // Whatever of the body comes quickly explains the refusal best.
        let start = response.body_for(SHOW_REFUSAL).await.unwrap_or_default();
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not an event stream: status {}, content type {content_type:?}, body {:?}",
                response.status(),
                lossy(&start)
            ),
        ))
    }

    /// Connects to `addr` and writes the request, leaving the response
    /// unread: for clients that leave (or reset) before any answer.
    ///
    /// # Errors
    /// As [`send`](Self::send), for the steps it takes.
    pub async fn write_to(self, addr: SocketAddr) -> io::Result<RawConnection> {
        let bytes = self.encode(addr)?;
        bounded(self.timeout, "the connection", async {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            if let Some(size) = self.recv_buffer {
                socket.set_recv_buffer_size(size)?;
            }
            let stream = socket.connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut stream = self.transport(stream, addr).await?;
            stream.write_all(&bytes).await?;
            Ok(RawConnection {
                wire: Wire::new(stream, self.read_size, Instant::now()),
                method: self.method,
            })
        })
        .await
    }

    /// `tcp` as the request travels on it: as it is, or after a TLS
    /// handshake.
    async fn transport(&self, tcp: TcpStream, addr: SocketAddr) -> io::Result<Transport> {
        #[cfg(feature = "tls")]
        if let Some(pem) = &self.tls {
            let config = crate::tls::http1_client_config(pem)?;
            let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            return Ok(Transport::Tls(Box::new(tls)));
        }
        // Only TLS names the server.
        #[cfg(not(feature = "tls"))]
        let _ = addr;
        Ok(Transport::Tcp(tcp))
    }

    /// The request as it goes on the wire.
    fn encode(&self, addr: SocketAddr) -> io::Result<Vec<u8>> {
        check_token(&self.method, "method")?;
        if self.target.is_empty() || self.target.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(invalid(format!("bad request target {:?}", self.target)));
        }
        let mut out = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        let given = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !given("host") {
            out.push_str(&format!("Host: {addr}\r\n"));
        }
        for (name, value) in &self.headers {
            check_token(name, "header name")?;
            if value.contains(['\r', '\n', '\0']) {
                return Err(invalid(format!("bad value for header {name}: {value:?}")));
            }
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if !self.body.is_empty() && !given("content-length") && !given("transfer-encoding") {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        Ok(bytes)
    }
}

/// A connection whose request has been written and whose response has not
/// been read yet.
#[derive(Debug)]
pub struct RawConnection {
    wire: Wire,
    method: String,
}

impl RawConnection {
    /// When the request had been written.
    pub fn sent_at(&self) -> Instant {
        self.wire.sent_at
    }

    /// Reads the response head (skipping interim 1xx responses). Unbounded:
    /// [`RawRequest::send`] bounds it.
    ///
    /// # Errors
    /// An I/O error, a malformed or oversized head, or the connection
    /// closing before the head.
    pub async fn response(mut self) -> io::Result<RawResponse> {
        loop {
            let head = self.read_head().await?;
            if !head.is_interim() {
                let framing = head.framing(&self.method)?;
                return Ok(RawResponse::new(self.wire, head, framing));
            }
        }
    }

    async fn read_head(&mut self) -> io::Result<Head> {
        loop {
            if let Some(at) = memmem::find(self.wire.pending(), b"\r\n\r\n") {
                let head = Head::parse(&self.wire.pending()[..at])?;
                self.wire.consume(at + 4);
                return Ok(head);
            }
            if self.wire.pending().len() > MAX_HEAD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("response head larger than {MAX_HEAD} bytes"),
                ));
            }
            if self.wire.fill().await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed before the response head; received {:?}",
                        lossy(self.wire.pending())
                    ),
                ));
            }
        }
    }

    /// Closes the sending side (a FIN): the server sees the client leave.
    ///
    /// # Errors
    /// The socket's error.
    pub async fn half_close(&mut self) -> io::Result<()> {
        self.wire.half_close().await
    }

    /// Closes the connection with an RST.
    ///
    /// # Errors
    /// The socket's error while setting a zero linger time.
    pub fn reset(self) -> io::Result<()> {
        self.wire.reset()
    }
}

/// A method or header name: a non-empty HTTP token.
fn check_token(text: &str, what: &str) -> io::Result<()> {
    let is_tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if text.is_empty() || !text.bytes().all(is_tchar) {
        return Err(invalid(format!("bad {what} {text:?}")));
    }
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// `future`, or a [`io::ErrorKind::TimedOut`] error naming `what` after
/// `limit`.
pub(crate) async fn bounded<T>(
    limit: Duration,
    what: &str,
    future: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no {what} within {limit:?}"),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap()
    }

    #[test]
    fn adds_host_and_content_length_unless_given() {
        let bytes = RawRequest::post("/p").body("abc").encode(addr()).unwrap();
        assert_eq!(
            lossy(&bytes),
            "POST /p HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 3\r\n\r\nabc"
        );
        let bytes = RawRequest::get("/")
            .header("host", "example")
            .header("Last-Event-ID", "7")
            .encode(addr())
            .unwrap();
        assert_eq!(
            lossy(&bytes),
            "GET / HTTP/1.1\r\nhost: example\r\nLast-Event-ID: 7\r\n\r\n"
        );
    }

    #[test]
    fn refuses_what_would_corrupt_the_request() {
        for request in [
            RawRequest::get("/").header("x", "a\r\nInjected: 1"),
            RawRequest::get("/").header("bad name", "x"),
            RawRequest::get("/").header("", "x"),
            RawRequest::get("/a b"),
            RawRequest::get(""),
            RawRequest::new("GE T", "/"),
        ] {
            let err = request.encode(addr()).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
    }
}
