//! [`SseSettings`]: the server-wide limits that keep one bad client from
//! costing the server (a write timeout, a send-buffer cap, a drain deadline).

use std::time::Duration;

/// Server-wide connection limits for SSE streams, applied with
/// [`SseServerExt::sse_settings`](crate::SseServerExt::sse_settings).
///
/// [`SseSettings::default()`] is what
/// [`sse_defaults()`](crate::SseServerExt::sse_defaults) applies:
///
/// | setting | default | what it bounds |
/// | --- | --- | --- |
/// | [`write_timeout`](Self::write_timeout) | 30 s | how long a stream may wait for its client to take bytes |
/// | [`send_buffer`](Self::send_buffer) | 64 KiB | kernel memory held per SSE connection (`SO_SNDBUF`) |
/// | [`drain_deadline`](Self::drain_deadline) | 500 ms | how long a server stop waits for a client to take its last event |
/// | [`h2_reset_check`](Self::h2_reset_check) | 100 ms | how soon a cancelled HTTP/2 stream is noticed |
///
/// ```no_run
/// use std::time::Duration;
/// use actix_web::{App, HttpServer};
/// use sse_runtime::{SseServerExt, SseSettings};
///
/// # async fn run() -> std::io::Result<()> {
/// let settings = SseSettings::default()
///     .write_timeout(Duration::from_secs(10))
///     .send_buffer(128 * 1024);
/// let server = HttpServer::new(|| App::new())
///     .sse_settings(settings) // before `bind`
///     .bind(("127.0.0.1", 8080))?
///     .run();
/// sse_runtime::serve(server).await
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseSettings {
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) send_buffer: Option<usize>,
    pub(crate) drain_deadline: Duration,
    pub(crate) h2_reset_check: Duration,
}

/// 30 s: long enough for a phone to switch networks or ride out a tunnel
/// (several of TCP's doubling retransmission intervals fit), and for a
/// browser tab that the OS briefly froze; short enough to end
/// before the 60 s idle timeouts of nginx (`proxy_read_timeout`,
/// `send_timeout`) and AWS load balancers, so that the server, not a
/// proxy in between, decides, and logs why. Above the 15 s keep-alive, so
/// a client that takes one keep-alive comment in two is still fine.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// 64 KiB (the kernel books twice that): holds a few hundred typical events,
/// enough to keep a stream at full speed on a ~50 ms path, while 1 000
/// stalled clients cost at most ~128 MiB of kernel memory instead of the
/// 4 MiB each that Linux's send-buffer autotuning allows.
const SEND_BUFFER: usize = 64 * 1024;

/// A reading client takes the last event within milliseconds; a stop
/// should not wait much longer for one that does not.
const DRAIN_DEADLINE: Duration = Duration::from_millis(500);

/// The HTTP/1.1 figure (a closed connection is noticed within about a
/// millisecond) cannot be matched without a notification; 100 ms keeps the
/// cost of the check at one cheap wake-up per idle HTTP/2 stream per tick.
const H2_RESET_CHECK: Duration = Duration::from_millis(100);

impl Default for SseSettings {
    fn default() -> Self {
        SseSettings {
            write_timeout: Some(WRITE_TIMEOUT),
            send_buffer: Some(SEND_BUFFER),
            drain_deadline: DRAIN_DEADLINE,
            h2_reset_check: H2_RESET_CHECK,
        }
    }
}

impl SseSettings {
    /// Closes a stream whose client has not taken any of its bytes for this
    /// long (the route option `write_timeout` overrides it per route);
    /// `None` turns the check off. Default: 30 s.
    ///
    /// "Taken" means accepted by the client's TCP stack: a client whose
    /// receive window stays shut, or that stops acknowledging data (a phone
    /// gone out of coverage), is closed; a slow but steady reader is not.
    /// The stream is dropped and its `CleanUp` runs; the reason is logged.
    #[must_use]
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.write_timeout = timeout.into().filter(|t| !t.is_zero());
        self
    }

    /// Caps the kernel's send buffer (`SO_SNDBUF`) of a connection once it
    /// carries an SSE stream; `None` leaves the system's autotuning alone.
    /// Default: 64 KiB (Linux books twice the value).
    ///
    /// Together with the framework's own buffers this bounds the unsent
    /// bytes of a connection whose client stopped reading: the stream is
    /// not asked for more until the socket takes some, so a fast producer
    /// is held back rather than buffered.
    #[must_use]
    pub fn send_buffer(mut self, bytes: impl Into<Option<usize>>) -> Self {
        self.send_buffer = bytes.into().filter(|b| *b > 0);
        self
    }

    /// How long [`stop`](crate::stop), [`serve`](crate::serve) and
    /// [`close_streams`](crate::close_streams) give each connection to take
    /// its stream's last event before its socket is shut down. Default:
    /// 500 ms.
    #[must_use]
    pub fn drain_deadline(mut self, deadline: Duration) -> Self {
        self.drain_deadline = deadline;
        self
    }

    /// How often an idle HTTP/2 stream checks whether the client cancelled
    /// it (`RST_STREAM`) or the connection is gone: actix-web offers no
    /// notification for either, so the stream looks. Default: 100 ms.
    #[must_use]
    pub fn h2_reset_check(mut self, every: Duration) -> Self {
        self.h2_reset_check = every.max(Duration::from_millis(1));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_turns_a_limit_off_and_the_h2_check_is_clamped() {
        let s = SseSettings::default()
            .write_timeout(Duration::ZERO)
            .send_buffer(0)
            .h2_reset_check(Duration::ZERO);
        assert_eq!(s.write_timeout, None);
        assert_eq!(s.send_buffer, None);
        assert_eq!(s.h2_reset_check, Duration::from_millis(1));
    }

    #[test]
    fn defaults() {
        let s = SseSettings::default();
        assert_eq!(s.write_timeout, Some(Duration::from_secs(30)));
        assert_eq!(s.send_buffer, Some(64 * 1024));
        assert_eq!(s.drain_deadline, Duration::from_millis(500));
        assert_eq!(s.h2_reset_check, Duration::from_millis(100));
    }
}
