//! One client connection: the socket (plain TCP, or TLS over it) and its
//! read buffer, with the times and counts that the response reports.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::text::lossy;

/// What the HTTP/1.1 bytes travel on.
pub(crate) enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP (feature `tls`). Boxed: the TLS state is large, and
    /// most connections are plain.
    #[cfg(feature = "tls")]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Transport {
    /// The TCP socket itself, under TLS too: what a reset and the debug
    /// output act on.
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Tcp(tcp) => tcp,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.get_ref().0,
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Tcp(tcp) => tcp.read(buf).await,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf).await,
        }
    }

    /// Writes all of `bytes` and flushes them: TLS holds records back
    /// until flushed.
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Transport::Tcp(tcp) => tcp.write_all(bytes).await,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                tls.write_all(bytes).await?;
                tls.flush().await
            }
        }
    }

    /// Closes the sending side; under TLS, after a `close_notify`.
    async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Transport::Tcp(tcp) => tcp.shutdown().await,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.shutdown().await,
        }
    }
}

/// A connected socket and the bytes received but not consumed yet:
/// `buf[pos..end]`.
pub(crate) struct Wire {
    stream: Transport,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    /// How much one read asks the kernel for.
    read_size: usize,
    /// `read` calls that returned data.
    pub(crate) reads: u64,
    /// When the request had been written.
    pub(crate) sent_at: Instant,
    /// When the first byte of the response arrived.
    pub(crate) first_byte_at: Option<Instant>,
    /// When the last read that returned data completed.
    pub(crate) last_read_at: Instant,
    /// The longest time between two reads that returned data.
    pub(crate) longest_gap: Duration,
}

impl fmt::Debug for Wire {
    // The buffer is mostly stale bytes: show what is pending instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("peer", &self.stream.tcp().peer_addr().ok())
            .field("pending", &lossy(self.pending()))
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

impl Wire {
    pub(crate) fn new(stream: Transport, read_size: usize, sent_at: Instant) -> Self {
        Wire {
            stream,
            buf: Vec::new(),
            pos: 0,
            end: 0,
            read_size,
            reads: 0,
            sent_at,
            first_byte_at: None,
            last_read_at: sent_at,
            longest_gap: Duration::ZERO,
        }
    }

    /// Reads once; returns how many bytes arrived (0: the peer closed its
    /// side). Cancel-safe: nothing is lost if the future is dropped.
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < self.read_size {
            // Room for a full read after the leftover, without growing.
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.buf.len() - self.end < self.read_size {
            self.buf.resize(self.end + self.read_size, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..]).await?;
        if n > 0 {
            let now = Instant::now();
            self.end += n;
            if self.reads > 0 {
                self.longest_gap = self.longest_gap.max(now - self.last_read_at);
            }
            self.reads += 1;
            self.first_byte_at.get_or_insert(now);
            self.last_read_at = now;
        }
        Ok(n)
    }

    /// Received bytes not consumed yet.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Marks the first `n` pending bytes as consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.pos);
        self.pos += n;
    }

    /// Sends a FIN: the server sees the end of the request stream, and the
    /// response can still be read.
    pub(crate) async fn half_close(&mut self) -> io::Result<()> {
        self.stream.shutdown().await
    }

    /// Closes the connection with an RST instead of a FIN.
    pub(crate) fn reset(self) -> io::Result<()> {
        socket2::SockRef::from(self.stream.tcp()).set_linger(Some(Duration::ZERO))?;
        drop(self.stream);
        Ok(())
    }
}
