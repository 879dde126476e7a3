//! Server-wide stream lifecycle: ending every open SSE stream of a server
//! when it stops, so a graceful stop completes at once instead of waiting
//! out actix's shutdown timeout (30 s by default) for infinite streams.
//!
//! actix-web gives handlers no signal that a graceful stop has begun, so the
//! stop has to come through here: [`stop`] for a `ServerHandle`, [`serve`]
//! for SIGINT/SIGTERM. Streams are grouped per actix `System` (all workers
//! of a server share it), so two servers in one process, as in tests, do not
//! stop each other's streams.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use tokio::sync::Notify;

use crate::in_flight::InFlight;

/// How long [`stop`] waits for streams and async clean-ups before it lets
/// actix stop anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(5);

/// The open streams of one actix `System`.
#[derive(Default)]
pub(crate) struct Streams {
    closing: AtomicBool,
    /// Woken once when closing starts; every open body waits on it.
    close: Arc<Notify>,
    open: InFlight,
    /// Watched connections (`watchdog.rs`): after a stop begins, each lasts
    /// until its connection has closed or been shut down, so a stop can
    /// wait for the connections themselves, not only for their streams.
    watched: InFlight,
}

impl Streams {
    /// The registry of the current actix `System` (a process-wide one
    /// outside any System).
    pub(crate) fn current() -> Arc<Streams> {
        static ALL: Mutex<Vec<(usize, Weak<Streams>)>> = Mutex::new(Vec::new());
        let system = actix_rt::System::try_current().map_or(usize::MAX, |s| s.id());
        let mut all = ALL.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|(_, streams)| streams.strong_count() > 0);
        if let Some(streams) = all
            .iter()
            .find(|(id, _)| *id == system)
            .and_then(|(_, s)| s.upgrade())
        {
            return streams;
        }
        let streams = Arc::new(Streams::default());
        all.push((system, Arc::downgrade(&streams)));
        streams
    }

    /// Registers an opening stream; the ticket's drop unregisters it.
    pub(crate) fn open(self: &Arc<Self>) -> StreamTicket {
        self.open.enter();
        let mut closed = Box::pin(self.close.clone().notified_owned());
        // Registered now, not at first poll, so a stop that begins between
        // here and the first poll still reaches this stream.
        closed.as_mut().enable();
        StreamTicket {
            streams: self.clone(),
            closed,
            registered: None,
        }
    }

    /// What a watchdog waits on to learn that the server is stopping.
    pub(crate) fn stop_signal(self: &Arc<Self>) -> StopSignal {
        StopSignal(self.clone())
    }

    pub(crate) fn begin_close(&self) {
        self.closing.store(true, Ordering::Release);
        self.close.notify_waiters();
    }
}

/// Learns that the server's streams are being closed.
#[derive(Clone)]
pub(crate) struct StopSignal(Arc<Streams>);

/// A watched connection's membership in [`Streams`].
pub(crate) struct WatchTicket(Arc<Streams>);

impl Drop for WatchTicket {
    fn drop(&mut self) {
        self.0.watched.leave();
    }
}

impl StopSignal {
    /// Counts a watched connection until the ticket is dropped.
    pub(crate) fn watch(&self) -> WatchTicket {
        self.0.watched.enter();
        WatchTicket(self.0.clone())
    }

    /// Whether both signal the stop of the same server.
    pub(crate) fn same_server(&self, other: &StopSignal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.0.closing.load(Ordering::Acquire)
    }

    /// Completes once closing has begun (at once if it already has).
    pub(crate) async fn wait(&self) {
        let notified = self.0.close.notified();
        tokio::pin!(notified);
        // Registered before the check, so a `begin_close` in between still
        // wakes us.
        notified.as_mut().enable();
        if !self.is_stopping() {
            notified.await;
        }
    }
}

/// One open stream's membership in [`Streams`].
pub(crate) struct StreamTicket {
    streams: Arc<Streams>,
    closed: std::pin::Pin<Box<tokio::sync::futures::OwnedNotified>>,
    /// The waker `closed` was last polled with: polling it again with the
    /// same one would change nothing, and happens for every chunk.
    registered: Option<std::task::Waker>,
}

impl StreamTicket {
    /// Whether the server is stopping; registers for a wake-up otherwise.
    ///
    /// `closing` is set before the waiters are notified, so once the
    /// notification is registered with this waker the flag alone answers.
    pub(crate) fn poll_closing(&mut self, cx: &mut std::task::Context<'_>) -> bool {
        if self.streams.closing.load(Ordering::Acquire) {
            return true;
        }
        if self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return false;
        }
        if std::future::Future::poll(self.closed.as_mut(), cx).is_ready() {
            return true;
        }
        self.registered = Some(cx.waker().clone());
        false
    }
}

impl Drop for StreamTicket {
    fn drop(&mut self) {
        self.streams.open.leave();
    }
}

/// Ends every open SSE stream of the current server, then stops it.
///
/// Call it from the actix `System` that runs the server (as in a
/// `#[actix_web::main]` program, or a task spawned on one of its arbiters):
/// streams are found per `System`.
///
/// Each stream sends a last event with a `retry:` hint (the route's `retry`
/// option, or one second) so browsers reconnect, to the next instance,
/// soon; then its `CleanUp` runs. On a server set up with
/// [`sse_defaults`](crate::SseServerExt::sse_defaults), a connection whose
/// client does not take those last bytes within the drain deadline
/// ([`SseSettings::drain_deadline`](crate::SseSettings::drain_deadline),
/// 500 ms) is shut down, so a client that stopped reading never holds the
/// stop. Waits (up to 5 s) for the streams, their connections and async
/// clean-up work, then calls [`ServerHandle::stop`]`(graceful)`.
///
/// ```no_run
/// # async fn f(handle: actix_web::dev::ServerHandle) {
/// sse_runtime::stop(&handle, true).await;
/// # }
/// ```
pub async fn stop(handle: &ServerHandle, graceful: bool) {
    close_streams().await;
    handle.stop(graceful).await;
}

/// Ends every open SSE stream of the current actix `System` and waits (up to
/// 5 s) until they, their connections (closed, or shut down at the drain
/// deadline) and their async clean-ups are done. [`stop`] and [`serve`]
/// call this; call it yourself if you stop the server another way.
pub async fn close_streams() {
    let streams = Streams::current();
    streams.begin_close();
    let _ = tokio::time::timeout(DRAIN_LIMIT, async {
        streams.open.idle().await;
        // The connections of the ended streams: closed once their last bytes
        // are out, or shut down at the drain deadline. Waiting for them here
        // matters because actix, when asked to stop while any connection is
        // open, looks again only a second later.
        streams.watched.idle().await;
        crate::cleanup::ASYNC_CLEANUPS.idle().await;
    })
    .await;
}

/// Runs `server` to completion; on SIGINT or SIGTERM, first ends its SSE
/// streams (see [`stop`]) so that actix's own graceful stop, which the same
/// signal starts, completes at once.
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use sse_runtime::SseServerExt;
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let server = HttpServer::new(|| App::new())
///         .sse_defaults() // before `bind`
///         .bind(("127.0.0.1", 8080))?
///         .run();
///     sse_runtime::serve(server).await
/// }
/// ```
pub async fn serve(server: Server) -> io::Result<()> {
    let watcher = actix_rt::spawn(async {
        shutdown_signal().await;
        close_streams().await;
    });
    let result = server.await;
    watcher.abort();
    result
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
