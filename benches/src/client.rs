//! The one client used for every contender: a raw tokio `TcpStream` that
//! sends a `GET`, decodes the chunked body itself and counts the `\n\n`
//! event terminators in it. Nothing here depends on the server under test.
//!
//! The decoder is a small state machine over whatever bytes have arrived,
//! so its cost per HTTP chunk is a few dozen instructions: it must stay
//! well below the cost of the servers it measures, which for the peers
//! send one chunk per event.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use memchr::memmem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Where the chunked decoder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(usize),
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailer,
    /// The body is complete.
    Done,
}

/// Parses a chunk-size line (without its CRLF): hex digits, then optional
/// `;extensions`.
fn chunk_size(line: &[u8]) -> io::Result<usize> {
    let mut size = 0usize;
    let mut digits = 0;
    for &b in line {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            b';' | b' ' | b'\t' => break,
            _ => {
                return Err(bad(format!(
                    "bad chunk size line {:?}",
                    String::from_utf8_lossy(line)
                )))
            }
        };
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(usize::from(digit)))
            .ok_or_else(|| bad("chunk size overflows"))?;
        digits += 1;
    }
    if digits == 0 {
        return Err(bad(format!(
            "bad chunk size line {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    Ok(size)
}

/// The chunked-body decoder.
struct Decoder {
    state: State,
    chunks: u64,
    counter: Counter,
}

impl Decoder {
    /// Consumes what it can of `data`; returns how many bytes it used. Bytes
    /// left over (a partial line) are offered again with more data after them.
    fn decode(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut at = 0;
        loop {
            match self.state {
                State::Size | State::Trailer => {
                    let Some(lf) = memchr::memchr(b'\n', &data[at..]) else {
                        return Ok(at);
                    };
                    let line = &data[at..at + lf];
                    let line = line
                        .strip_suffix(b"\r")
                        .ok_or_else(|| bad("line not ended by CRLF"))?;
                    at += lf + 1;
                    if self.state == State::Trailer {
                        if line.is_empty() {
                            self.state = State::Done;
                        }
                    } else {
                        let size = chunk_size(line)?;
                        if size == 0 {
                            self.state = State::Trailer;
                        } else {
                            self.chunks += 1;
                            self.state = State::Data(size);
                        }
                    }
                }
                State::Data(left) => {
                    let take = left.min(data.len() - at);
                    if take == 0 {
                        return Ok(at);
                    }
                    self.counter.feed(&data[at..at + take]);
                    at += take;
                    self.state = if take == left {
                        State::DataEnd
                    } else {
                        State::Data(left - take)
                    };
                }
                State::DataEnd => {
                    if data.len() - at < 2 {
                        return Ok(at);
                    }
                    if &data[at..at + 2] != b"\r\n" {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                    at += 2;
                    self.state = State::Size;
                }
                State::Done => return Ok(at),
            }
        }
    }
}

/// A read buffer: `buf[pos..end]` is received and not yet consumed.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    wire: u64,
    reads: u64,
}

impl Conn {
    /// Reads more bytes; an early end of stream is an error.
    async fn fill(&mut self) -> io::Result<()> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < READ_SIZE {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < READ_SIZE {
            self.buf.resize(self.end + READ_SIZE, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the chunked body",
            ));
        }
        self.end += n;
        self.wire += n as u64;
        self.reads += 1;
        Ok(())
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }
}

/// `GET path` from `addr` (HTTP/1.1, `Connection: close`), reading the whole
/// chunked body.
///
/// # Errors
/// Any I/O error, a status other than 200, a body that is not chunked or a
/// malformed chunk.
pub async fn fetch(addr: SocketAddr, path: &str) -> io::Result<Fetch> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut conn = Conn {
        stream,
        buf: vec![0; 2 * READ_SIZE],
        pos: 0,
        end: 0,
        wire: 0,
        reads: 0,
    };
    conn.fill().await?;
    let start = Instant::now();

    let head_end = loop {
        if let Some(at) = memmem::find(conn.pending(), b"\r\n\r\n") {
            break at + 4;
        }
        conn.fill().await?;
    };
    let head = String::from_utf8_lossy(&conn.pending()[..head_end]).to_ascii_lowercase();
    conn.pos += head_end;
    let head_wire = conn.wire - (conn.end - conn.pos) as u64;
    let status = head.lines().next().unwrap_or_default().to_owned();
    if !status.starts_with("http/1.1 200") {
        return Err(bad(format!("unexpected status line: {status:?}")));
    }
    if !head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim() == "transfer-encoding" && value.contains("chunked")
        })
    }) {
        return Err(bad(format!("body is not chunked; head:\n{head}")));
    }

    let mut decoder = Decoder {
        state: State::Size,
        chunks: 0,
        counter: Counter::new(),
    };
    loop {
        let used = decoder.decode(conn.pending())?;
        conn.pos += used;
        if decoder.state == State::Done {
            break;
        }
        conn.fill().await?;
    }
    let elapsed = start.elapsed();
    Ok(Fetch {
        events: decoder.counter.events,
        body_bytes: decoder.counter.bytes,
        chunks: decoder.chunks,
        wire_bytes: conn.wire - head_wire - (conn.end - conn.pos) as u64,
        reads: conn.reads,
        elapsed,
        first_event: decoder.counter.first_event,
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

    #[test]
    fn decodes_chunks_fed_byte_by_byte() {
        let wire = b"9\r\ndata: a\n\n\r\n4;ext=1\r\ndata\r\nA\r\n: b\n\ndata:\r\n3\r\n x\n\r\n1\r\n\n\r\n0\r\nx-t: 1\r\n\r\n";
        let mut decoder = Decoder {
            state: State::Size,
            chunks: 0,
            counter: Counter::new(),
        };
        let mut pending = Vec::new();
        for &b in wire {
            pending.push(b);
            let used = decoder.decode(&pending).unwrap();
            pending.drain(..used);
        }
        assert_eq!(decoder.state, State::Done);
        assert!(pending.is_empty());
        assert_eq!(decoder.chunks, 5);
        // The last terminator is split between two chunks.
        assert_eq!(decoder.counter.events, 3);
        assert_eq!(decoder.counter.bytes, 9 + 4 + 10 + 3 + 1);
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1f").unwrap(), 31);
        assert_eq!(chunk_size(b"8000;x=y").unwrap(), 0x8000);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"zz").is_err());
    }
}
