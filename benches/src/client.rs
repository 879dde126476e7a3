//! The one client used for every contender: `sse-test-support`'s raw
//! HTTP/1.1 client sends a `GET` and hands the decoded body, piece by piece
//! and without copying, to a counter of the `\n\n` event terminators in
//! it. Nothing here depends on the server under test.
//!
//! The decoder costs a few dozen instructions per HTTP chunk and the
//! counter is a `memchr` scan: both must stay well below the cost of the
//! servers they measure, which for the peers send one chunk per event.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use memchr::memmem;
use sse_test_support::RawRequest;

/// How much the client asks the kernel for per read.
const READ_SIZE: usize = 256 * 1024;

/// What one request received.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// Event terminators (`\n\n`) in the decoded body.
    pub events: u64,
    /// Decoded body bytes (without the chunked framing).
    pub body_bytes: u64,
    /// HTTP chunks in the body (the final empty chunk excluded).
    pub chunks: u64,
    /// Bytes received after the response head, chunked framing included.
    pub wire_bytes: u64,
    /// `read` calls that returned data, head included.
    pub reads: u64,
    /// From the first byte of the response to the end of the body.
    pub elapsed: Duration,
    /// The body up to and including the first `\n\n`.
    pub first_event: Vec<u8>,
}

impl Fetch {
    /// Events per second, first byte to last.
    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64()
    }
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Counts `\n\n` across the pieces of a body, including one split between
/// two pieces.
struct Counter {
    finder: memmem::Finder<'static>,
    events: u64,
    bytes: u64,
    last_was_lf: bool,
    first_event: Vec<u8>,
    first_done: bool,
}

impl Counter {
    fn new() -> Self {
        Counter {
            finder: memmem::Finder::new(b"\n\n"),
            events: 0,
            bytes: 0,
            last_was_lf: false,
            first_event: Vec::new(),
            first_done: false,
        }
    }

    fn feed(&mut self, data: &[u8]) {
        let Some(&last) = data.last() else { return };
        if !self.first_done {
            self.first_event.extend_from_slice(data);
            if let Some(at) = self.finder.find(&self.first_event) {
                self.first_event.truncate(at + 2);
                self.first_done = true;
            }
        }
        let rest = if self.last_was_lf && data[0] == b'\n' {
            self.events += 1;
            &data[1..]
        } else {
            data
        };
        self.events += self.finder.find_iter(rest).count() as u64;
        self.last_was_lf = last == b'\n';
        self.bytes += data.len() as u64;
    }
}

/// `GET path` from `addr` (HTTP/1.1, `Connection: close`), reading the whole
/// chunked body.
///
/// # Errors
/// Any I/O error, a status other than 200, a body that is not chunked or a
/// malformed chunk.
pub async fn fetch(addr: SocketAddr, path: &str) -> io::Result<Fetch> {
    let mut response = RawRequest::get(path)
        .header("Accept", "text/event-stream")
        .header("Connection", "close")
        .read_size(READ_SIZE)
        .send(addr)
        .await?;
    if response.status() != 200 {
        return Err(bad(format!("unexpected status {}", response.status())));
    }
    if !response
        .header("transfer-encoding")
        .is_some_and(|codings| codings.contains("chunked"))
    {
        return Err(bad(format!(
            "body is not chunked; headers: {:?}",
            response.headers()
        )));
    }
    let mut counter = Counter::new();
    response.drain(|piece| counter.feed(piece)).await?;
    let stats = response.stats();
    Ok(Fetch {
        events: counter.events,
        body_bytes: stats.body_bytes,
        chunks: stats.chunks,
        wire_bytes: stats.wire_bytes,
        reads: stats.reads,
        elapsed: response
            .last_read_at()
            .duration_since(response.first_byte_at()),
        first_event: counter.first_event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_terminators_split_between_pieces() {
        let mut counter = Counter::new();
        for piece in [
            &b"data: a\n"[..],
            b"\n",
            b"data: b\n\nda",
            b"ta: c\n",
            b"\ndata: d\n\n",
        ] {
            counter.feed(piece);
        }
        assert_eq!(counter.events, 4);
        assert_eq!(counter.first_event, b"data: a\n\n");
    }
}
