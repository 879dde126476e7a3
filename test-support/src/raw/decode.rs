//! The body decoder: how a response body is delimited (RFC 9112 § 6.3) and
//! the chunked transfer coding, as a state machine over whatever bytes have
//! arrived.
//!
//! Its cost per HTTP chunk is a few dozen instructions and it never copies:
//! the benchmarks read millions of one-event chunks through it and must
//! measure the servers, not this client.

use std::io;

/// The longest chunk-size or trailer line accepted; a peer sending more
/// without a line feed is broken, and buffering it would grow without bound.
const MAX_LINE: usize = 4096;

/// Receives a body as it is decoded.
pub(crate) trait Sink {
    /// Body bytes, in order (a piece of a chunk for a chunked body).
    fn data(&mut self, bytes: &[u8]);
    /// The end of a chunk (for other framings: of the bytes of one read).
    fn chunk_end(&mut self);
}

/// Where a chunked body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(usize),
    /// Expecting the CRLF that ends a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailer,
}

/// How the body is delimited, and how far it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked(Chunked),
    /// `Content-Length`: this many bytes left.
    Length(u64),
    /// Neither: the body ends when the connection closes.
    UntilClose,
    /// The body is complete (or there is none).
    Done,
}

impl Framing {
    /// A chunked body, before its first chunk.
    pub(crate) fn chunked() -> Self {
        Framing::Chunked(Chunked::Size)
    }

    /// A body of `length` bytes.
    pub(crate) fn length(length: u64) -> Self {
        if length == 0 {
            Framing::Done
        } else {
            Framing::Length(length)
        }
    }

    /// Whether the body is complete.
    pub(crate) fn is_done(self) -> bool {
        self == Framing::Done
    }

    /// Consumes what it can of `data` and returns how many bytes it used.
    /// Bytes left over (an incomplete line or chunk trailer CRLF) must be
    /// offered again with more data after them.
    pub(crate) fn decode(&mut self, data: &[u8], sink: &mut impl Sink) -> io::Result<usize> {
        match self {
            Framing::Chunked(_) => self.decode_chunked(data, sink),
            Framing::Length(left) => {
                let take = usize::try_from(*left).map_or(data.len(), |left| left.min(data.len()));
                if take > 0 {
                    sink.data(&data[..take]);
                    sink.chunk_end();
                    *left -= take as u64;
                    if *left == 0 {
                        *self = Framing::Done;
                    }
                }
                Ok(take)
            }
            Framing::UntilClose => {
                if !data.is_empty() {
                    sink.data(data);
                    sink.chunk_end();
                }
                Ok(data.len())
            }
            Framing::Done => Ok(0),
        }
    }

    /// The connection was closed by the peer: fine only where that ends the
    /// body.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        match self {
            Framing::UntilClose | Framing::Done => {
                *self = Framing::Done;
                Ok(())
            }
            Framing::Chunked(_) | Framing::Length(_) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the end of the body",
            )),
        }
    }

    fn decode_chunked(&mut self, data: &[u8], sink: &mut impl Sink) -> io::Result<usize> {
        let mut at = 0;
        loop {
            let Framing::Chunked(state) = *self else {
                return Ok(at);
            };
            match state {
                Chunked::Size | Chunked::Trailer => {
                    let Some(lf) = memchr::memchr(b'\n', &data[at..]) else {
                        if data.len() - at > MAX_LINE {
                            return Err(bad("chunk-size or trailer line too long"));
                        }
                        return Ok(at);
                    };
                    let line = data[at..at + lf]
                        .strip_suffix(b"\r")
                        .ok_or_else(|| bad("chunked framing line not ended by CRLF"))?;
                    at += lf + 1;
                    *self = if state == Chunked::Trailer {
                        if line.is_empty() {
                            Framing::Done
                        } else {
                            Framing::Chunked(Chunked::Trailer)
                        }
                    } else {
                        match chunk_size(line)? {
                            0 => Framing::Chunked(Chunked::Trailer),
                            size => Framing::Chunked(Chunked::Data(size)),
                        }
                    };
                }
                Chunked::Data(left) => {
                    let take = left.min(data.len() - at);
                    if take == 0 {
                        return Ok(at);
                    }
                    sink.data(&data[at..at + take]);
                    at += take;
                    *self = Framing::Chunked(if take == left {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left - take)
                    });
                }
                Chunked::DataEnd => {
                    if data.len() - at < 2 {
                        return Ok(at);
                    }
                    if &data[at..at + 2] != b"\r\n" {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                    at += 2;
                    sink.chunk_end();
                    *self = Framing::Chunked(Chunked::Size);
                }
            }
        }
    }
}

/// Parses a chunk-size line (without its CRLF): hex digits, then optional
/// whitespace and `;extensions`.
fn chunk_size(line: &[u8]) -> io::Result<usize> {
    let malformed = || {
        bad(format!(
            "bad chunk-size line {:?}",
            String::from_utf8_lossy(line)
        ))
    };
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    if digits.is_empty() || !matches!(rest.first(), None | Some(b';' | b' ' | b'\t')) {
        return Err(malformed());
    }
    digits.iter().try_fold(0usize, |size, &b| {
        let digit = (b as char).to_digit(16).ok_or_else(malformed)?;
        size.checked_mul(16)
            .and_then(|s| s.checked_add(digit as usize))
            .ok_or_else(|| bad("chunk size overflows"))
    })
}

fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        chunks: Vec<Vec<u8>>,
        partial: Vec<u8>,
    }

    impl Sink for Collect {
        fn data(&mut self, bytes: &[u8]) {
            self.partial.extend_from_slice(bytes);
        }
        fn chunk_end(&mut self) {
            self.chunks.push(std::mem::take(&mut self.partial));
        }
    }

    /// Feeds `wire` one byte at a time, as the slowest network would.
    fn byte_by_byte(framing: &mut Framing, wire: &[u8]) -> io::Result<(Collect, Vec<u8>)> {
        let mut sink = Collect::default();
        let mut pending = Vec::new();
        for &b in wire {
            pending.push(b);
            let used = framing.decode(&pending, &mut sink)?;
            pending.drain(..used);
        }
        Ok((sink, pending))
    }

    #[test]
    fn decodes_chunks_fed_byte_by_byte() {
        let wire =
            b"9\r\ndata: a\n\n\r\n4;ext=1\r\ndata\r\nA\r\n: b\n\ndata:\r\n0\r\nx-t: 1\r\n\r\n";
        let mut framing = Framing::chunked();
        let (sink, pending) = byte_by_byte(&mut framing, wire).unwrap();
        assert!(framing.is_done());
        assert!(pending.is_empty());
        assert_eq!(sink.chunks, [&b"data: a\n\n"[..], b"data", b": b\n\ndata:"]);
    }

    #[test]
    fn decodes_a_whole_body_at_once_and_leaves_what_follows() {
        let mut framing = Framing::chunked();
        let mut sink = Collect::default();
        let wire = b"3\r\nabc\r\n0\r\n\r\nHTTP/1.1";
        let used = framing.decode(wire, &mut sink).unwrap();
        assert_eq!(&wire[used..], b"HTTP/1.1");
        assert_eq!(sink.chunks, [b"abc"]);
        assert!(framing.is_done());
    }

    #[test]
    fn refuses_broken_chunked_framing() {
        for wire in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"3x\r\n",
            b"3\nabc",
            b"3\r\nabcXY",
            b"fffffffffffffffffffffff\r\n",
        ] {
            let err = byte_by_byte(&mut Framing::chunked(), wire)
                .err()
                .unwrap_or_else(|| panic!("accepted {:?}", String::from_utf8_lossy(wire)));
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        }
        let endless = vec![b'1'; MAX_LINE + 10];
        assert!(byte_by_byte(&mut Framing::chunked(), &endless).is_err());
    }

    #[test]
    fn closing_inside_a_delimited_body_is_an_error() {
        let mut framing = Framing::chunked();
        byte_by_byte(&mut framing, b"3\r\nab").unwrap();
        assert_eq!(
            framing.close().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
        let mut framing = Framing::length(3);
        assert!(framing.close().is_err());
        let mut framing = Framing::UntilClose;
        framing.close().unwrap();
        assert!(framing.is_done());
    }

    #[test]
    fn content_length_stops_at_the_length() {
        let mut framing = Framing::length(5);
        let mut sink = Collect::default();
        assert_eq!(framing.decode(b"abc", &mut sink).unwrap(), 3);
        assert_eq!(framing.decode(b"defgh", &mut sink).unwrap(), 2);
        assert!(framing.is_done());
        assert_eq!(sink.chunks, [&b"abc"[..], b"de"]);
        assert!(Framing::length(0).is_done());
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1f").unwrap(), 31);
        assert_eq!(chunk_size(b"8000;x=y").unwrap(), 0x8000);
        assert_eq!(chunk_size(b"A \t;x").unwrap(), 10);
        assert!(chunk_size(b"").is_err());
        assert!(chunk_size(b"zz").is_err());
        assert!(chunk_size(b";x").is_err());
    }
}
