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

use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::lifecycle::StopSignal;
use crate::socket::Handle;

/// Shared by a body and its watchdog: since when the body's last chunk has
/// been waiting for actix to come back (`None`: it came back).
#[derive(Default)]
pub(crate) struct Stall(Cell<Option<Instant>>);

impl Stall {
    /// The body handed a chunk to actix.
    pub(crate) fn chunk_out(&self) {
        self.0.set(Some(Instant::now()));
    }

    /// actix asked the body for more: the socket took the last chunk.
    pub(crate) fn asked_again(&self) {
        self.0.set(None);
    }
}

/// Where the log line of a shutdown says it happened.
#[derive(Clone)]
pub(crate) struct Place {
    pub(crate) route: Rc<str>,
    pub(crate) peer: Option<std::net::SocketAddr>,
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
        socket: Weak<Handle>,
        stall: Rc<Stall>,
        write_timeout: Option<Duration>,
        drain: Duration,
        stop: StopSignal,
        place: Place,
    ) -> Watchdog {
        let task = actix_rt::spawn(watch(
            socket,
            stall,
            write_timeout,
            drain,
            stop.clone(),
            place,
        ));
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

async fn watch(
    socket: Weak<Handle>,
    stall: Rc<Stall>,
    write_timeout: Option<Duration>,
    drain: Duration,
    stop: StopSignal,
    place: Place,
) {
    let stalled = async {
        let Some(timeout) = write_timeout else {
            return std::future::pending().await;
        };
        loop {
            // Sleeps until the current stall would be `timeout` old, or a
            // full `timeout` when there is none: a stall that starts in
            // between is then found with time to spare, and is acted on
            // at exactly its deadline.
            let wake = stall.0.get().unwrap_or_else(Instant::now) + timeout;
            sleep_until(wake).await;
            if stall
                .0
                .get()
                .is_some_and(|since| since + timeout <= Instant::now())
            {
                return timeout;
            }
        }
    };
    tokio::select! {
        timeout = stalled => {
            if let Some(socket) = socket.upgrade() {
                tracing::warn!(
                    route = &*place.route,
                    peer = ?place.peer,
                    ?timeout,
                    "SSE client took no bytes within the write timeout; closing its connection",
                );
                socket.abort();
            }
        }
        () = stop.wait() => {
            tokio::time::sleep(drain).await;
            // Still open after the drain deadline: the client did not take
            // the stream's last bytes.
            if let Some(socket) = socket.upgrade() {
                tracing::info!(
                    route = &*place.route,
                    peer = ?place.peer,
                    ?drain,
                    "SSE connection still open after the stop's drain deadline; closing it",
                );
                socket.abort();
            }
        }
    }
}
