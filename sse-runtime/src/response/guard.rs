//! What a stream does about its connection, beside writing to it: bounds
//! the socket's kernel memory, starts the watchdog that ends a stalled or
//! left-over connection (`watchdog.rs`), and on HTTP/2 looks for a
//! cancellation (`cancel.rs`).

use std::rc::Rc;
use std::task::Context;
use std::time::Duration;

use crate::cancel::H2Cancel;
use crate::connection::Connection;
use crate::lifecycle::StopSignal;
use crate::watchdog::{Stall, Watchdog};

/// Owned by the body; dropping it ends the watch (unless a server stop
/// needs it to see the connection through its drain deadline).
pub(super) struct ConnectionGuard {
    stall: Option<Rc<Stall>>,
    _watchdog: Option<Watchdog>,
    h2_cancel: Option<H2Cancel>,
}

impl ConnectionGuard {
    /// Sets up the protections `conn` allows. `write_timeout` is the route's
    /// choice: `None` for the server's default, `Some(None)` for none.
    pub(super) fn new(
        conn: Connection,
        write_timeout: Option<Option<Duration>>,
        stop: StopSignal,
    ) -> ConnectionGuard {
        let settings = conn.settings;
        let write_timeout = write_timeout.unwrap_or(settings.write_timeout);
        let h2_cancel = conn
            .h2_payload
            .map(|payload| H2Cancel::new(payload, settings.h2_reset_check));
        let Some(socket) = conn.socket.and_then(|weak| weak.upgrade()) else {
            return ConnectionGuard {
                stall: None,
                _watchdog: None,
                h2_cancel,
            };
        };
        socket.cap(write_timeout);
        let stall = Rc::new(Stall::default());
        let watchdog = Watchdog::watch(
            &socket,
            stall.clone(),
            write_timeout,
            settings.drain_deadline,
            stop,
            conn.place,
        );
        ConnectionGuard {
            stall: Some(stall),
            _watchdog: Some(watchdog),
            h2_cancel,
        }
    }

    /// actix asked the body for more: what it had was taken.
    pub(super) fn asked_again(&self) {
        if let Some(stall) = &self.stall {
            stall.asked_again();
        }
    }

    /// The body hands actix a chunk, `at` (the clock read the body also
    /// resets its timers with).
    pub(super) fn chunk_out(&self, at: tokio::time::Instant) {
        if let Some(stall) = &self.stall {
            stall.chunk_out(at);
        }
    }

    /// Whether the watchdog closed the connection because its client took
    /// no bytes within the write timeout.
    pub(super) fn timed_out(&self) -> bool {
        self.stall.as_ref().is_some_and(|stall| stall.timed_out())
    }

    /// Whether the client cancelled the stream (HTTP/2 only; HTTP/1.1
    /// cancellations reach actix itself, which drops the body).
    pub(super) fn poll_cancelled(&mut self, cx: &mut Context<'_>) -> bool {
        self.h2_cancel
            .as_mut()
            .is_some_and(|check| check.poll_cancelled(cx))
    }
}
