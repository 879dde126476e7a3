//! The body of an SSE response: polls the driver, hands actix whatever it
//! buffered as one chunk, and keeps the stream's timers (keep-alive, idle
//! timeout, maximum duration), its place in the server's lifecycle and its
//! connection guard (`guard.rs`).

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use bytes::{Bytes, BytesMut};
use tokio::time::{sleep_until, Instant, Sleep};

use super::driver::{Driver, Panicked, Shared};
use super::guard::ConnectionGuard;
use super::RouteConfig;
use crate::cleanup::CleanupGuard;
use crate::connection::Connection;
use crate::edge::{EndReason, Watch};
use crate::encode;
use crate::lifecycle::{StreamTicket, Streams};

/// `retry:` sent when the server stops, for routes without a `retry` option.
const SHUTDOWN_RETRY: Duration = Duration::from_secs(1);

/// A resettable deadline (keep-alive, idle timeout, maximum duration).
///
/// Resetting moves `due` only: the keep-alive and idle timers are reset
/// with every chunk, and moving a tokio timer each time was a measurable
/// share of a fan-out's cost. The sleep stays armed at the old deadline;
/// when it wakes early it is re-armed at `due`, so a busy stream touches
/// the timer wheel once per period instead of once per chunk.
struct Timer {
    every: Duration,
    due: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Timer {
    fn new(every: Duration) -> Self {
        let due = Instant::now() + every;
        Timer {
            every,
            due,
            sleep: Box::pin(sleep_until(due)),
        }
    }

    fn reset(&mut self, now: Instant) {
        self.due = now + self.every;
    }

    fn poll_fired(timer: &mut Option<Timer>, cx: &mut Context<'_>) -> bool {
        let Some(timer) = timer else { return false };
        loop {
            if timer.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            if timer.sleep.deadline() >= timer.due {
                return true;
            }
            let due = timer.due;
            timer.sleep.as_mut().reset(due);
        }
    }
}

/// The body of an SSE response: the route's events as they are produced.
pub struct SseBody {
    shared: Rc<RefCell<Shared>>,
    driver: Option<Driver>,
    keep_alive: Option<Timer>,
    idle: Option<Timer>,
    deadline: Option<Timer>,
    shutdown_retry: Duration,
    ticket: Option<StreamTicket>,
    cleanup: Option<CleanupGuard>,
    connection: ConnectionGuard,
    /// Under an `SseEdge`: the stream's span, counts and place under the caps.
    watch: Option<Watch>,
    /// Why the stream is ending, once the body has decided it is.
    ended: Option<EndReason>,
}

impl SseBody {
    /// The body of a route that started streaming; `driver` is `None` if the
    /// route already finished. Counts as an open stream from here on.
    pub(super) fn new(
        shared: Rc<RefCell<Shared>>,
        driver: Option<Driver>,
        config: &RouteConfig,
        cleanup: CleanupGuard,
        conn: Connection,
        watch: Option<Watch>,
    ) -> SseBody {
        let ended = driver.is_none().then(|| finished(&shared));
        let streams = Streams::current();
        let connection = ConnectionGuard::new(conn, config.write_timeout, streams.stop_signal());
        SseBody {
            shared,
            driver,
            keep_alive: config.keep_alive.map(Timer::new),
            idle: config.idle_timeout.map(Timer::new),
            deadline: config.max_duration.map(Timer::new),
            shutdown_retry: config.retry.unwrap_or(SHUTDOWN_RETRY),
            ticket: Some(streams.open()),
            cleanup: Some(cleanup),
            connection,
            watch,
            ended,
        }
    }

    fn finish(&mut self) {
        let noticed = std::time::Instant::now();
        // The stream (and whatever it holds) goes first, then the callbacks,
        // and only then does a server stop waiting on this stream go on.
        self.driver = None;
        match self.watch.take() {
            Some(watch) => {
                // Decided by the body, or else actix dropped it: the
                // connection is gone, closed by the watchdog or the client.
                let reason = self.ended.unwrap_or(if self.connection.timed_out() {
                    EndReason::WriteTimeout
                } else {
                    EndReason::ClientLeft
                });
                watch.close(reason, noticed, self.cleanup.take());
            }
            None => self.cleanup = None,
        }
        self.ticket = None;
    }

    /// Stops the stream for `reason` and queues `last` as its final bytes.
    fn end_with(&mut self, reason: EndReason, last: impl FnOnce(&mut BytesMut)) {
        self.driver = None;
        self.ended = Some(reason);
        last(self.shared.borrow_mut().buf());
    }
}

impl MessageBody for SseBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        this.connection.asked_again();
        if this.driver.is_some() && this.connection.poll_cancelled(cx) {
            tracing::debug!(
                route = &*this.shared.borrow().place.route,
                "the client cancelled its HTTP/2 stream; ending it"
            );
            this.finish();
            return Poll::Ready(None);
        }
        if this.driver.is_some() && this.ticket.as_mut().is_some_and(|t| t.poll_closing(cx)) {
            let retry = this.shutdown_retry;
            this.end_with(EndReason::Stopped, |buf| {
                encode::shutdown_frame(buf, retry);
            });
        }
        if let Some(driver) = this.driver.as_mut() {
            let polled = match this.watch.as_ref() {
                Some(watch) => watch.span().in_scope(|| driver.poll(cx)),
                None => driver.poll(cx),
            };
            match polled {
                Poll::Ready(Ok(())) => {
                    this.driver = None;
                    this.ended = Some(finished(&this.shared));
                }
                Poll::Ready(Err(Panicked(message))) => {
                    this.driver = None;
                    this.ended = Some(EndReason::Error);
                    this.shared
                        .borrow_mut()
                        .fail_internal("an SSE stream panicked", &message);
                }
                Poll::Pending => {}
            }
        }
        let chunk = {
            let mut shared = this.shared.borrow_mut();
            let events = std::mem::take(&mut shared.events);
            shared.take_chunk().map(|chunk| (events, chunk))
        };
        if let Some((events, chunk)) = chunk {
            // One clock read per chunk, for the timers and the stall stamp.
            let now = Instant::now();
            for timer in [&mut this.keep_alive, &mut this.idle].into_iter().flatten() {
                timer.reset(now);
            }
            this.connection.chunk_out(now);
            if let Some(watch) = this.watch.as_mut() {
                watch.sent(events, chunk.len());
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if this.driver.is_none() {
            this.finish();
            return Poll::Ready(None);
        }
        let timed_out = if Timer::poll_fired(&mut this.deadline, cx) {
            Some(EndReason::MaxDuration)
        } else if Timer::poll_fired(&mut this.idle, cx) {
            Some(EndReason::IdleTimeout)
        } else {
            None
        };
        if timed_out.is_some() {
            this.ended = timed_out;
            this.finish();
            return Poll::Ready(None);
        }
        if Timer::poll_fired(&mut this.keep_alive, cx) {
            let now = Instant::now();
            if let Some(keep_alive) = this.keep_alive.as_mut() {
                keep_alive.reset(now);
            }
            this.connection.chunk_out(now);
            let frame = encode::keep_alive();
            if let Some(watch) = this.watch.as_mut() {
                watch.keep_alive(frame.len());
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        Poll::Pending
    }
}

/// Why a stream whose route returned ended: an item ended it with an
/// error event, or it ran out (then followed by the end frame, unless the
/// route opted out).
fn finished(shared: &RefCell<Shared>) -> EndReason {
    if shared.borrow_mut().ran_out() {
        EndReason::Error
    } else {
        EndReason::Finished
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        self.finish();
    }
}
