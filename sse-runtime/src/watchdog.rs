//! The per-stream watchdog: a small task beside the response body that
//! shuts the connection down when its client has stopped taking bytes for
//! the write timeout, or when a server stop's drain deadline passes.
//!
//! It has to be a task of its own, not a timer inside the body: actix does
//! not poll a body whose connection's write buffer is full, which is
//! exactly the situation to detect (see `socket.rs`).
//!
//! The measure of "stalled" needs no system call: the body stamps the time
//! when it hands actix a chunk and clears the stamp when actix asks for the
//! next one. actix asks again at once unless its write buffer is full, i.e.
//! unless the socket did not take the bytes; so a stamp that stays is the
//! age of the stall. One clock read per chunk (chunks coalesce every ready
//! event) is the whole cost on the fast path.

use std::cell::Cell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::connection::Place;
use crate::lifecycle::{StopSignal, WatchTicket};
use crate::socket::Handle;

/// Shared by a body and its watchdog: since when the body's last chunk has
/// been waiting for actix to come back (`None`: it came back), and whether
/// the watchdog closed the connection for it (the body's end reason).
#[derive(Default)]
pub(crate) struct Stall(Cell<Option<Instant>>, Cell<bool>);

impl Stall {
    /// The body handed a chunk to actix.
    pub(crate) fn chunk_out(&self, at: Instant) {
        self.0.set(Some(at));
    }

    /// actix asked the body for more: the socket took the last chunk.
    pub(crate) fn asked_again(&self) {
        self.0.set(None);
    }

    /// Whether the watchdog closed the connection for the write timeout.
    pub(crate) fn timed_out(&self) -> bool {
        self.1.get()
    }
}

/// A running watchdog; ends with the stream unless a server stop is under
/// way, in which case it stays to shut the connection down if the
/// connection outlives the drain deadline.
pub(crate) struct Watchdog {
    task: JoinHandle<()>,
    stop: StopSignal,
}

impl Watchdog {
    /// Starts watching `socket` for the stream that shares `stall`.
    pub(crate) fn spawn(
        socket: &Rc<Handle>,
        stall: Rc<Stall>,
        write_timeout: Option<Duration>,
        drain: Duration,
        stop: StopSignal,
        place: Place,
    ) -> Watchdog {
        let watch = Watch {
            socket: socket.downgrade(),
            closed: socket.closed(),
            stall,
            write_timeout,
            drain,
            stop: stop.clone(),
            place,
            _ticket: stop.watch(),
        };
        let task = actix_rt::spawn(watch.run());
        Watchdog { task, stop }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if !self.stop.is_stopping() {
            self.task.abort();
        }
    }
}

/// The watchdog task's state.
struct Watch {
    socket: Weak<Handle>,
    closed: Rc<Notify>,
    stall: Rc<Stall>,
    write_timeout: Option<Duration>,
    drain: Duration,
    stop: StopSignal,
    place: Place,
    /// Counts this watchdog in the server's registry for as long as it runs.
    _ticket: WatchTicket,
}

impl Watch {
    async fn run(self) {
        tokio::select! {
            timeout = self.stalled() => {
                self.stall.1.set(true);
                self.abort(format_args!(
                    "SSE client took no bytes within the write timeout ({timeout:?}); closing its connection"
                ));
            }
            () = self.stop.wait() => {
                let closed = self.closed.notified();
                tokio::pin!(closed);
                closed.as_mut().enable();
                if self.socket.strong_count() == 0 {
                    return;
                }
                tokio::select! {
                    () = closed => {}
                    () = tokio::time::sleep(self.drain) => {
                        // The client did not take the stream's last bytes.
                        self.abort(format_args!(
                            "SSE connection still open after the stop's drain deadline ({:?}); closing it",
                            self.drain
                        ));
                    }
                }
            }
        }
    }

    /// Completes with the write timeout once a stall has lasted that long.
    async fn stalled(&self) -> Duration {
        let Some(timeout) = self.write_timeout else {
            return std::future::pending().await;
        };
        loop {
            // Sleeps until the current stall would be `timeout` old, or a
            // full `timeout` when there is none: a stall that starts in
            // between is then found with time to spare, and is acted on
            // at exactly its deadline.
            let wake = self.stall.0.get().unwrap_or_else(Instant::now) + timeout;
            sleep_until(wake).await;
            if self
                .stall
                .0
                .get()
                .is_some_and(|since| since + timeout <= Instant::now())
            {
                return timeout;
            }
        }
    }

    fn abort(&self, why: std::fmt::Arguments<'_>) {
        if let Some(socket) = self.socket.upgrade() {
            tracing::warn!(route = &*self.place.route, peer = ?self.place.peer, "{why}");
            socket.abort();
        }
    }
}
