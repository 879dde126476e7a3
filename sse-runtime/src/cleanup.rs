//! [`CleanUp`]: callbacks that run once when an SSE connection ends.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use std::convert::Infallible;
use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tokio::sync::Notify;

use crate::in_flight::InFlight;

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Work to do when the connection ends, however it ends.
///
/// Take a `CleanUp` parameter in an `#[sse]` method and the framework hands
/// one in for each request. In a plain actix handler that returns an
/// [`Sse`](crate::Sse), take it as an ordinary extractor: it is the
/// connection of the `Sse` the handler returns (or, if the handler returns
/// anything else, it runs when the request is done). [`Sse::on_close`](crate::Sse::on_close)
/// is the other way in. Callbacks registered with [`add`](CleanUp::add)
/// run exactly once, in the order they were added, when the connection
/// ends: the stream finished, the stream failed, the client went away, or
/// the request was refused before streaming. A panicking callback is caught
/// and logged and does not stop the others. A callback added after the end
/// runs at once.
///
/// `CleanUp` is a cheap handle (`Clone`, `Send`, `Sync`): move clones into
/// the stream or into spawned tasks to register work later, or to learn that
/// the connection closed ([`closed`](CleanUp::closed)).
///
/// ```
/// use sse_runtime::CleanUp;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
///
/// let runs = Arc::new(AtomicUsize::new(0));
/// let cleanup = CleanUp::new();
/// let counter = runs.clone();
/// cleanup.add(move || { counter.fetch_add(1, Ordering::SeqCst); });
///
/// cleanup.run(); // what the framework does when the connection ends
/// cleanup.run(); // never twice
/// assert_eq!(runs.load(Ordering::SeqCst), 1);
/// assert!(cleanup.is_closed());
/// ```
#[derive(Clone, Default)]
pub struct CleanUp {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    callbacks: Mutex<Vec<Callback>>,
    closed: AtomicBool,
    notify: Notify,
}

impl CleanUp {
    /// A fresh, open handle with no callbacks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `callback` to run when the connection ends (at once if it
    /// already has).
    pub fn add(&self, callback: impl FnOnce() + Send + 'static) {
        {
            let mut callbacks = self.lock();
            // Checked under the lock: `run` sets `closed` while holding it,
            // so a callback is either queued before `run` drains the queue or
            // sees `closed` and runs here; never both, never neither.
            if !self.inner.closed.load(Ordering::Acquire) {
                callbacks.push(Box::new(callback));
                return;
            }
        }
        call(Box::new(callback));
    }

    /// Registers async clean-up work, started when the connection ends.
    ///
    /// The future runs to completion on a runtime of its own that outlives
    /// any server, so it finishes even when the connection ended because
    /// its worker was being shut down; [`crate::stop`] waits for it.
    ///
    /// ```
    /// # let cleanup = sse_runtime::CleanUp::new();
    /// cleanup.add_async(async {
    ///     // e.g. tell a presence service the user left
    /// });
    /// ```
    pub fn add_async(&self, work: impl Future<Output = ()> + Send + 'static) {
        self.add(move || spawn_async_cleanup(work));
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Completes when the connection has ended: for producers running
    /// outside the response stream (spawned tasks) to learn they can stop.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let cleanup = sse_runtime::CleanUp::new();
    /// let watcher = cleanup.clone();
    /// let task = tokio::spawn(async move { watcher.closed().await; "stopped" });
    /// cleanup.run();
    /// assert_eq!(task.await.unwrap(), "stopped");
    /// # }
    /// ```
    pub async fn closed(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Ends the connection's life: runs every registered callback once, in
    /// order. Later calls do nothing. The framework calls this; call it
    /// yourself only when driving a `CleanUp` outside a request (tests).
    pub fn run(&self) {
        let callbacks = {
            let mut callbacks = self.lock();
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return;
            }
            std::mem::take(&mut *callbacks)
        };
        self.inner.notify.notify_waiters();
        for callback in callbacks {
            call(callback);
        }
    }

    /// [`run`](Self::run), then `done` once the callbacks have run and
    /// every async clean-up they started has finished (at once if there was
    /// none): the end of the connection's clean-up, for its latency metric.
    pub(crate) fn run_observed(&self, done: impl FnOnce() + Send + 'static) {
        let group = Arc::new(Done(Mutex::new(Some(Box::new(done)))));
        // Async clean-ups started by these callbacks take a share of the
        // group; `done` runs when the last share is dropped.
        let outer = RUN_GROUP.with(|g| g.replace(Some(group.clone())));
        self.run();
        RUN_GROUP.with(|g| g.replace(outer));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Callback>> {
        // A poisoned lock only means a panic elsewhere while holding it; the
        // Vec is still consistent.
        self.inner
            .callbacks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn call(callback: Callback) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(callback)) {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("<non-string panic payload>");
        tracing::error!(panic = message, "an SSE CleanUp callback panicked");
    }
}

impl fmt::Debug for CleanUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanUp")
            .field("closed", &self.is_closed())
            .field("callbacks", &self.lock().len())
            .finish()
    }
}

thread_local! {
    /// The [`CleanUp::run_observed`] under way on this thread, if any.
    static RUN_GROUP: RefCell<Option<Arc<Done>>> = const { RefCell::new(None) };
}

/// Calls its function when dropped, i.e. when the last share of an observed
/// run (the run itself, and each async clean-up it started) is gone.
struct Done(Mutex<Option<Callback>>);

impl Drop for Done {
    fn drop(&mut self) {
        let done = self.0.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = done.take() {
            call(done);
        }
    }
}

/// Async clean-up work started but not finished, process-wide. Counted from
/// the moment it starts (when its connection ends), so a server stop waits
/// for the work of the connections it ended, not for work still registered
/// on connections elsewhere.
pub(crate) static ASYNC_CLEANUPS: InFlight = InFlight::new();

fn spawn_async_cleanup(work: impl Future<Output = ()> + Send + 'static) {
    let Some(runtime) = cleanup_runtime() else {
        tracing::error!("no runtime for async SSE clean-up; it was dropped");
        return;
    };
    /// Leaves [`ASYNC_CLEANUPS`] however the work ends (done, or dropped).
    struct Slot;
    impl Drop for Slot {
        fn drop(&mut self) {
            ASYNC_CLEANUPS.leave();
        }
    }
    ASYNC_CLEANUPS.enter();
    let slot = Slot;
    let group = RUN_GROUP.with(|g| g.borrow().clone());
    runtime.spawn(async move {
        let _slot = slot;
        work.await;
        drop(group);
    });
}

/// A small runtime on its own thread for async clean-up: a worker's runtime
/// may be the very thing shutting down when a connection ends.
fn cleanup_runtime() -> Option<&'static tokio::runtime::Handle> {
    static RUNTIME: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            let handle = runtime.handle().clone();
            std::thread::Builder::new()
                .name("sse-cleanup".into())
                .spawn(move || runtime.block_on(std::future::pending::<()>()))
                .ok()?;
            Some(handle)
        })
        .as_ref()
}

/// The `CleanUp` extractor: one per request (a second extraction gets the
/// same handle), kept in the request under a guard until the response
/// takes it (`taken_by_handler`), so that it runs even if the handler
/// returns something else.
impl FromRequest for CleanUp {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut extensions = req.extensions_mut();
        let cleanup = match extensions.get::<CleanupGuard>() {
            Some(guard) => guard.0.clone(),
            None => {
                let cleanup = CleanUp::new();
                extensions.insert(CleanupGuard(cleanup.clone()));
                cleanup
            }
        };
        ready(Ok(cleanup))
    }
}

/// The guard of the `CleanUp` the handler extracted, if it did.
pub(crate) fn taken_by_handler(req: &HttpRequest) -> Option<CleanupGuard> {
    req.extensions_mut().remove::<CleanupGuard>()
}

/// Runs the connection's [`CleanUp`] when dropped: owned by whatever
/// currently represents the connection (the handler, then the body), so
/// every way out, including a panic or a dropped future, ends in `run`.
pub(crate) struct CleanupGuard(pub(crate) CleanUp);

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        self.0.run();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn runs_in_order_once_despite_panics() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let cleanup = CleanUp::new();
        for i in 0..3 {
            let log = log.clone();
            cleanup.add(move || {
                log.lock().unwrap().push(i);
                if i == 1 {
                    panic!("boom");
                }
            });
        }
        drop(CleanupGuard(cleanup.clone()));
        cleanup.run();
        assert_eq!(*log.lock().unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn observed_run_waits_for_async_work() {
        let (tx, rx) = std::sync::mpsc::channel();
        let cleanup = CleanUp::new();
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        cleanup.add_async(async move {
            let _ = gate.await;
            o.lock().unwrap().push("async");
        });
        let o = order.clone();
        cleanup.run_observed(move || {
            o.lock().unwrap().push("done");
            tx.send(()).unwrap();
        });
        assert!(rx.try_recv().is_err(), "done before the async work");
        release.send(()).unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["async", "done"]);
    }

    #[test]
    fn observed_run_without_async_work_is_done_at_once() {
        let done = Arc::new(AtomicUsize::new(0));
        let cleanup = CleanUp::new();
        cleanup.add(|| {});
        let d = done.clone();
        cleanup.run_observed(move || {
            d.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn late_callbacks_run_immediately() {
        let cleanup = CleanUp::new();
        cleanup.run();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        cleanup.add(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
