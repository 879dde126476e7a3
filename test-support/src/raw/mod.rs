//! A raw HTTP/1.1 client over a `TcpStream` (or TLS over one, feature
//! `tls`: [`RawRequest::tls`]): it sees the response exactly
//! as framed on the wire (one [`Chunk`] per HTTP chunk, with the time it
//! arrived), sends any request ([`RawRequest`]), and can leave the way real
//! clients do: a FIN ([`RawResponse::half_close`]), an RST
//! ([`RawResponse::reset`]), or by no longer reading.
//!
//! Two ways to read a body:
//!
//! * chunk by chunk ([`next_chunk`](RawResponse::next_chunk) and the bounded
//!   helpers built on it), for tests that look at framing and timing;
//! * [`drain`](RawResponse::drain), which hands each decoded piece to a
//!   closure without copying, for benchmarks that receive millions of
//!   events.
//!
//! Nothing here panics on what the server sends: a malformed head or body
//! is an [`io::ErrorKind::InvalidData`] error, a connection closed inside a
//! body [`io::ErrorKind::UnexpectedEof`], a bounded wait that runs out
//! [`io::ErrorKind::TimedOut`] (its message lists what had arrived).
//!
//! ```
//! use std::time::Duration;
//! use actix_web::{web, App, HttpResponse};
//! use sse_test_support::{lossy, serve, RawRequest, STEP};
//!
//! # actix_web::rt::System::new().block_on(async {
//! let server = serve(|| {
//!     App::new().route(
//!         "/events",
//!         web::get().to(|| async {
//!             HttpResponse::Ok()
//!                 .content_type("text/event-stream")
//!                 .streaming(futures_util::stream::iter([
//!                     Ok::<_, std::convert::Infallible>(web::Bytes::from("data: a\n\n")),
//!                 ]))
//!         }),
//!     )
//! });
//! let mut response = RawRequest::get("/events").send(server.addr()).await.unwrap();
//! assert_eq!(response.header("transfer-encoding"), Some("chunked"));
//! let chunk = response.next_chunk_within(STEP).await.unwrap().expect("a chunk");
//! assert_eq!(lossy(&chunk), "data: a\n\n");
//! assert!(chunk.arrived() >= response.sent_at());
//! assert_eq!(response.next_chunk().await.unwrap(), None); // the end of the body
//! server.stop().await;
//! # });
//! ```

mod decode;
mod head;
mod request;
mod wire;

use std::borrow::Borrow;
use std::collections::VecDeque;
use std::io;
use std::ops::Deref;
use std::time::{Duration, Instant};

use tokio::time::timeout_at;

pub use request::{RawConnection, RawRequest};

use crate::events::EventReader;
use crate::text::{contains, lossy};
use decode::{Framing, Sink};
use head::Head;
use wire::Wire;

/// One piece of a body: an HTTP chunk's payload for a chunked body, else
/// the bytes one read brought. Derefs to its bytes, so `lossy(&chunk)` and
/// `chunks.concat()` work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    data: Vec<u8>,
    arrived: Instant,
}

impl Chunk {
    /// The payload.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// When the read that completed this chunk returned.
    pub fn arrived(&self) -> Instant {
        self.arrived
    }

    /// The payload, owned.
    pub fn into_data(self) -> Vec<u8> {
        self.data
    }
}

impl Deref for Chunk {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.data
    }
}

impl AsRef<[u8]> for Chunk {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Borrow<[u8]> for Chunk {
    fn borrow(&self) -> &[u8] {
        &self.data
    }
}

/// What the body of a [`RawResponse`] cost to receive so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyStats {
    /// Chunks completed ([`Chunk`] explains what one is); the final empty
    /// chunk of a chunked body does not count.
    pub chunks: u64,
    /// Body bytes after decoding.
    pub body_bytes: u64,
    /// Body bytes as framed on the wire (chunk-size lines included).
    pub wire_bytes: u64,
    /// `read` calls that returned data, the head's included.
    pub reads: u64,
}

/// A response read straight off the socket; dropping it closes the
/// connection (a FIN).
#[derive(Debug)]
pub struct RawResponse {
    wire: Wire,
    head: Head,
    framing: Framing,
    head_at: Instant,
    /// Data of a chunk not complete yet.
    partial: Vec<u8>,
    /// Complete chunks not handed out yet.
    ready: VecDeque<Chunk>,
    stats: BodyStats,
}

impl RawResponse {
    fn new(wire: Wire, head: Head, framing: Framing) -> Self {
        RawResponse {
            head_at: wire.last_read_at,
            wire,
            head,
            framing,
            partial: Vec::new(),
            ready: VecDeque::new(),
            stats: BodyStats::default(),
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The header fields in wire order, names lower-cased.
    pub fn headers(&self) -> &[(String, String)] {
        &self.head.headers
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    /// How many times header `name` appears (case-insensitive).
    pub fn header_count(&self, name: &str) -> usize {
        self.head.values(name).count()
    }

    /// When the request had been written.
    pub fn sent_at(&self) -> Instant {
        self.wire.sent_at
    }

    /// When the first byte of the response arrived.
    pub fn first_byte_at(&self) -> Instant {
        self.wire.first_byte_at.unwrap_or(self.head_at)
    }

    /// When the read that completed the head returned.
    pub fn head_at(&self) -> Instant {
        self.head_at
    }

    /// When the last read that brought data returned.
    pub fn last_read_at(&self) -> Instant {
        self.wire.last_read_at
    }

    /// The longest time between two reads that brought data, the head's
    /// included: how long this client went without receiving anything
    /// while it was reading. A client that stops calling the reading
    /// methods stalls on purpose and sees no gap for it until it reads
    /// again.
    pub fn longest_gap(&self) -> Duration {
        self.wire.longest_gap
    }

    /// What the body cost to receive so far.
    pub fn stats(&self) -> BodyStats {
        BodyStats {
            reads: self.wire.reads,
            ..self.stats
        }
    }

    /// Whether the whole body has been read and handed out.
    pub fn is_ended(&self) -> bool {
        self.framing.is_done() && self.ready.is_empty()
    }

    /// The next chunk; `Ok(None)` once the body has ended. Unbounded (see
    /// [`next_chunk_within`](Self::next_chunk_within)) and cancel-safe: a
    /// timeout around it loses nothing.
    ///
    /// # Errors
    /// An I/O error, malformed framing, or the connection closing inside a
    /// delimited body.
    pub async fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        loop {
            if let Some(chunk) = self.ready.pop_front() {
                return Ok(Some(chunk));
            }
            if self.framing.is_done() {
                return Ok(None);
            }
            let mut sink = Collect {
                partial: &mut self.partial,
                ready: &mut self.ready,
                arrived: self.wire.last_read_at,
                stats: &mut self.stats,
            };
            let used = self.framing.decode(self.wire.pending(), &mut sink)?;
            self.consume(used);
            if self.ready.is_empty() && !self.framing.is_done() {
                self.fill().await?;
            }
        }
    }

    /// [`next_chunk`](Self::next_chunk), waiting at most `limit`.
    ///
    /// # Errors
    /// As `next_chunk`, and [`io::ErrorKind::TimedOut`] when no chunk (nor
    /// the end) arrived in time.
    pub async fn next_chunk_within(&mut self, limit: Duration) -> io::Result<Option<Chunk>> {
        request::bounded(limit, "chunk", self.next_chunk()).await
    }

    /// Every chunk until the body ends, waiting at most `limit` in all.
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk), and [`io::ErrorKind::TimedOut`]
    /// when the body has not ended in time; the message shows what arrived.
    pub async fn chunks_to_end(&mut self, limit: Duration) -> io::Result<Vec<Chunk>> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut chunks: Vec<Chunk> = Vec::new();
        loop {
            let next = timeout_at(deadline, self.next_chunk()).await;
            match next {
                Ok(Ok(Some(chunk))) => chunks.push(chunk),
                Ok(Ok(None)) => return Ok(chunks),
                Ok(Err(err)) => return Err(after(err, &chunks.concat())),
                Err(_) => {
                    let err = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the body did not end within {limit:?}"),
                    );
                    return Err(after(err, &chunks.concat()));
                }
            }
        }
    }

    /// The whole body, waiting at most `limit` for its end.
    ///
    /// # Errors
    /// As [`chunks_to_end`](Self::chunks_to_end).
    pub async fn body_to_end(&mut self, limit: Duration) -> io::Result<Vec<u8>> {
        Ok(self.chunks_to_end(limit).await?.concat())
    }

    /// Everything that arrives within `duration`, or until the body ends.
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk).
    pub async fn body_for(&mut self, duration: Duration) -> io::Result<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + duration;
        let mut body = Vec::new();
        while let Ok(next) = timeout_at(deadline, self.next_chunk()).await {
            match next {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(err) => return Err(after(err, &body)),
            }
        }
        Ok(body)
    }

    /// Reads until the body received by this call contains `needle`, waiting
    /// at most `limit`; returns all of it (the rest of the last chunk
    /// included).
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk), [`io::ErrorKind::UnexpectedEof`]
    /// if the body ends first, [`io::ErrorKind::TimedOut`] after `limit`.
    pub async fn read_until(&mut self, needle: &[u8], limit: Duration) -> io::Result<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut body = Vec::new();
        while !contains(&body, needle) {
            let failure = match timeout_at(deadline, self.next_chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    body.extend_from_slice(&chunk);
                    continue;
                }
                Ok(Ok(None)) => io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended"),
                Ok(Err(err)) => err,
                Err(_) => io::Error::new(io::ErrorKind::TimedOut, format!("{limit:?} passed")),
            };
            let err = io::Error::new(
                failure.kind(),
                format!("waiting for {:?}: {failure}", lossy(needle)),
            );
            return Err(after(err, &body));
        }
        Ok(body)
    }

    /// Reads until the body ends or the connection goes away inside it (a
    /// FIN or an RST from the server), waiting at most `limit`; returns what
    /// this call received and whether the body ended properly (`false`:
    /// cut off, as a server does to a client it drops).
    ///
    /// # Errors
    /// Malformed framing ([`io::ErrorKind::InvalidData`]), another I/O
    /// error, or [`io::ErrorKind::TimedOut`] when the connection is still
    /// open after `limit`; the message shows what arrived.
    pub async fn body_until_closed(&mut self, limit: Duration) -> io::Result<(Vec<u8>, bool)> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut body = Vec::new();
        loop {
            let failure = match timeout_at(deadline, self.next_chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    body.extend_from_slice(&chunk);
                    continue;
                }
                Ok(Ok(None)) => return Ok((body, true)),
                Ok(Err(err)) if is_cut(&err) => return Ok((body, false)),
                Ok(Err(err)) => err,
                Err(_) => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the connection stayed open for {limit:?}"),
                ),
            };
            return Err(after(failure, &body));
        }
    }

    /// Reads the rest of the body, handing each decoded piece to `on_data`
    /// in order, without copying or keeping it: the fast path for long
    /// streams. Chunk boundaries still count in [`stats`](Self::stats).
    /// Unbounded.
    ///
    /// # Errors
    /// As [`next_chunk`](Self::next_chunk).
    pub async fn drain(&mut self, mut on_data: impl FnMut(&[u8])) -> io::Result<()> {
        for chunk in self.ready.drain(..) {
            on_data(&chunk);
        }
        if !self.partial.is_empty() {
            on_data(&self.partial);
            self.partial.clear();
        }
        loop {
            let mut sink = Pass {
                on_data: &mut on_data,
                stats: &mut self.stats,
            };
            let used = self.framing.decode(self.wire.pending(), &mut sink)?;
            self.consume(used);
            if self.framing.is_done() {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    /// Waits at most `limit` for the server to close the connection after
    /// the body, as it must when it sent `Connection: close`.
    ///
    /// # Errors
    /// [`io::ErrorKind::InvalidInput`] if the body has not been read to its
    /// end, [`io::ErrorKind::InvalidData`] if more bytes follow it,
    /// [`io::ErrorKind::TimedOut`] if the connection stays open.
    pub async fn wait_closed(&mut self, limit: Duration) -> io::Result<()> {
        if !self.is_ended() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "wait_closed: the body has not been read to its end",
            ));
        }
        request::bounded(limit, "close of the connection", async {
            loop {
                if !self.wire.pending().is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "bytes after the end of the body: {:?}",
                            lossy(self.wire.pending())
                        ),
                    ));
                }
                if self.wire.fill().await? == 0 {
                    return Ok(());
                }
            }
        })
        .await
    }

    /// Closes the sending side (a FIN) and keeps reading possible: the
    /// server may notice the client leave, or may not.
    ///
    /// # Errors
    /// The socket's error.
    pub async fn half_close(&mut self) -> io::Result<()> {
        self.wire.half_close().await
    }

    /// Closes the connection with an RST, as a client that crashes or
    /// times out hard does.
    ///
    /// # Errors
    /// The socket's error while setting a zero linger time.
    pub fn reset(self) -> io::Result<()> {
        self.wire.reset()
    }

    /// Reads the body as an event stream, through `sse_runtime`'s parser.
    pub fn into_events(self) -> EventReader {
        EventReader::new(self)
    }

    fn consume(&mut self, used: usize) {
        self.wire.consume(used);
        self.stats.wire_bytes += used as u64;
    }

    /// One more read; the peer closing is fine only where it ends the body.
    async fn fill(&mut self) -> io::Result<()> {
        if self.wire.fill().await? == 0 {
            self.framing.close()?;
        }
        Ok(())
    }
}

/// Collects chunks for [`RawResponse::next_chunk`].
struct Collect<'a> {
    partial: &'a mut Vec<u8>,
    ready: &'a mut VecDeque<Chunk>,
    arrived: Instant,
    stats: &'a mut BodyStats,
}

impl Sink for Collect<'_> {
    fn data(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        self.stats.body_bytes += bytes.len() as u64;
    }

    fn chunk_end(&mut self) {
        self.ready.push_back(Chunk {
            data: std::mem::take(self.partial),
            arrived: self.arrived,
        });
        self.stats.chunks += 1;
    }
}

/// Passes pieces through for [`RawResponse::drain`].
struct Pass<'a, F> {
    on_data: &'a mut F,
    stats: &'a mut BodyStats,
}

impl<F: FnMut(&[u8])> Sink for Pass<'_, F> {
    fn data(&mut self, bytes: &[u8]) {
        (self.on_data)(bytes);
        self.stats.body_bytes += bytes.len() as u64;
    }

    fn chunk_end(&mut self) {
        self.stats.chunks += 1;
    }
}

/// Whether `err` is the connection going away rather than something wrong
/// with what was sent.
fn is_cut(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// `err` with what had arrived before it, for the test's failure message.
fn after(err: io::Error, received: &[u8]) -> io::Error {
    io::Error::new(err.kind(), format!("{err}; received {:?}", lossy(received)))
}
