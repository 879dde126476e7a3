//! The SSE response: headers, the body that streams a route's events, and
//! the driver that runs the route method.
//!
//! Why not `HttpResponse::streaming(stream)`: a route's stream may borrow
//! from the controller (`&self`), so it cannot be a `'static` stream handed
//! to actix. Instead the whole method call runs inside one `'static` future,
//! the *driver*, which owns the controller `Arc` and the stream borrowing
//! it, and encodes items into a buffer shared with the body. The body polls
//! the driver, then sends whatever is buffered as one chunk: every event
//! that was ready at that moment goes out in a single write.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::HttpResponse;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use tokio::time::{sleep_until, Instant, Sleep};

use crate::cleanup::{CleanUp, CleanupGuard};
use crate::encode;
use crate::item::IntoEvent;
use crate::lifecycle::{StreamTicket, Streams};

/// Past this many buffered bytes the driver lets the body send them even if
/// the stream still has items ready, bounding memory and latency.
const HIGH_WATER: usize = 32 * 1024;

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";

/// `retry:` sent when the server stops, for routes without a `retry` option.
const SHUTDOWN_RETRY: Duration = Duration::from_secs(1);

/// Per-route settings, filled in by `#[sse(...)]`, which also owns their
/// defaults (so they are stated once, in `sse-macros/src/route.rs`).
#[derive(Debug, Clone, Copy)]
pub struct RouteConfig {
    /// Comment sent after this much silence; `None` disables keep-alive.
    pub keep_alive: Option<Duration>,
    /// `retry:` hint sent first in the stream (and again when the server
    /// stops).
    pub retry: Option<Duration>,
    /// The stream is closed after this long.
    pub max_duration: Option<Duration>,
    /// The stream is closed after this long without an event.
    pub idle_timeout: Option<Duration>,
}

/// What the driver decided before streaming.
enum Start {
    Undecided,
    Streaming,
    Rejected(actix_web::Error),
}

struct Shared {
    buf: BytesMut,
    start: Start,
}

/// The driver's handle on the response: refuse it with an HTTP error, or
/// stream items into it.
pub struct Sink {
    shared: Rc<RefCell<Shared>>,
}

/// Whether the stream goes on after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Keep streaming.
    Continue,
    /// The item ended the stream (an error event was sent).
    End,
}

/// Turns one item of a route's stream into bytes; chosen per stream by
/// `__private::Probe` so that `Result` items get their own treatment.
pub trait ItemEncoder<I> {
    /// Appends `item` to `buf`.
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow;
}

impl Sink {
    /// Refuses the request with an ordinary HTTP error: nothing is streamed.
    pub fn reject(self, error: impl Into<actix_web::Error>) {
        self.shared.borrow_mut().start = Start::Rejected(error.into());
    }

    /// Streams `stream` into the response until it ends or an item ends it.
    pub async fn stream<S, K>(self, stream: S, encoder: K)
    where
        S: Stream,
        K: ItemEncoder<S::Item>,
    {
        self.shared.borrow_mut().start = Start::Streaming;
        let mut stream = pin!(stream);
        while let Some(item) = stream.next().await {
            let full = {
                let mut shared = self.shared.borrow_mut();
                if encoder.encode(item, &mut shared.buf) == Flow::End {
                    return;
                }
                shared.buf.len() >= HIGH_WATER
            };
            if full {
                YieldToBody(false).await;
            }
        }
    }
}

/// Returns `Pending` once without arranging a wake-up. Sound only because
/// the body, seeing the driver pending with bytes buffered, returns them and
/// so is polled again by actix.
struct YieldToBody(bool);

impl Future for YieldToBody {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// Items that are events in their own right.
#[derive(Debug, Clone, Copy)]
pub struct PlainItems;

impl<I: IntoEvent> ItemEncoder<I> for PlainItems {
    fn encode(&self, item: I, buf: &mut BytesMut) -> Flow {
        match item.encode_into(buf) {
            Ok(()) => Flow::Continue,
            Err(err) => {
                tracing::error!(error = %err, "SSE item could not be encoded; ending the stream");
                error_event(buf, &err);
                Flow::End
            }
        }
    }
}

/// `Result` items: `Ok` is an event, `Err` a final `error` event.
#[derive(Debug, Clone, Copy)]
pub struct ResultItems;

impl<T: IntoEvent, E: Display> ItemEncoder<Result<T, E>> for ResultItems {
    fn encode(&self, item: Result<T, E>, buf: &mut BytesMut) -> Flow {
        match item {
            Ok(item) => PlainItems.encode(item, buf),
            Err(err) => {
                error_event(buf, &err);
                Flow::End
            }
        }
    }
}

fn error_event(buf: &mut BytesMut, err: &dyn Display) {
    encode::field(buf, b"event", b"error");
    encode::text_lines(buf, b"data", &err.to_string());
    encode::end(buf);
}

/// Runs a route: calls `route` with a [`Sink`], waits until it either
/// refuses the request or starts streaming, and answers accordingly.
pub async fn respond<F, Fut>(
    config: RouteConfig,
    cleanup: CleanUp,
    route: F,
) -> Result<HttpResponse<SseBody>, actix_web::Error>
where
    F: FnOnce(Sink) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    // Owns the cleanup from here on: a refusal, a panic, or actix dropping
    // this future all run it.
    let guard = CleanupGuard(cleanup);
    let mut buf = BytesMut::new();
    if let Some(retry) = config.retry {
        encode::retry(&mut buf, retry);
        encode::end(&mut buf);
    }
    let shared = Rc::new(RefCell::new(Shared {
        buf,
        start: Start::Undecided,
    }));
    let mut driver: Pin<Box<dyn Future<Output = ()>>> = Box::pin(route(Sink {
        shared: shared.clone(),
    }));
    let finished = std::future::poll_fn(|cx| {
        let finished = match poll_guarded(&mut driver, cx) {
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(Panicked)) => {
                return Poll::Ready(Err(actix_web::error::ErrorInternalServerError(
                    "the SSE route panicked",
                )))
            }
            Poll::Pending => false,
        };
        let undecided = matches!(shared.borrow().start, Start::Undecided);
        if finished || !undecided {
            Poll::Ready(Ok(finished))
        } else {
            Poll::Pending
        }
    })
    .await?;
    let start = std::mem::replace(&mut shared.borrow_mut().start, Start::Streaming);
    if let Start::Rejected(error) = start {
        return Err(error);
    }
    let body = SseBody {
        shared,
        driver: (!finished).then_some(driver),
        keep_alive: config.keep_alive.map(Timer::new),
        idle: config.idle_timeout.map(Timer::new),
        deadline: config.max_duration.map(Timer::new),
        shutdown_retry: config.retry.unwrap_or(SHUTDOWN_RETRY),
        ticket: Some(Streams::current().open()),
        cleanup: Some(guard),
    };
    Ok(sse_response(body))
}

fn sse_response<B: MessageBody + 'static>(body: B) -> HttpResponse<B> {
    let mut response = HttpResponse::with_body(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx and similar proxies buffer responses unless told not to.
    headers.insert(
        header::HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    // actix's `Compress` middleware leaves an already-encoded response alone;
    // compressing would hold events back until a compressor block fills.
    headers.insert(
        header::CONTENT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    // The connection ends with the stream: an idle keep-alive connection
    // left behind would hold a graceful server stop for its whole timeout.
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    response
}

/// A resettable deadline (keep-alive, idle timeout, maximum duration).
struct Timer {
    every: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl Timer {
    fn new(every: Duration) -> Self {
        Timer {
            every,
            sleep: Box::pin(sleep_until(Instant::now() + every)),
        }
    }

    fn reset(&mut self) {
        let at = Instant::now() + self.every;
        self.sleep.as_mut().reset(at);
    }

    fn poll_fired(timer: &mut Option<Timer>, cx: &mut Context<'_>) -> bool {
        timer
            .as_mut()
            .is_some_and(|t| t.sleep.as_mut().poll(cx).is_ready())
    }
}

/// The driver panicked.
struct Panicked;

/// Polls the driver, turning a panic in the user's code into an error so
/// that one bad stream ends alone instead of taking its worker thread (and
/// every connection on it) down.
fn poll_guarded(
    driver: &mut Pin<Box<dyn Future<Output = ()>>>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), Panicked>> {
    match catch_unwind(AssertUnwindSafe(|| driver.as_mut().poll(cx))) {
        Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
        Ok(Poll::Pending) => Poll::Pending,
        Err(_) => {
            tracing::error!("an SSE stream panicked; ending it");
            Poll::Ready(Err(Panicked))
        }
    }
}

/// The body of an SSE response: the route's events as they are produced.
pub struct SseBody {
    shared: Rc<RefCell<Shared>>,
    driver: Option<Pin<Box<dyn Future<Output = ()>>>>,
    keep_alive: Option<Timer>,
    idle: Option<Timer>,
    deadline: Option<Timer>,
    shutdown_retry: Duration,
    ticket: Option<StreamTicket>,
    cleanup: Option<CleanupGuard>,
}

impl SseBody {
    fn finish(&mut self) {
        // The stream (and whatever it holds) goes first, then the callbacks,
        // and only then does a server stop waiting on this stream go on.
        self.driver = None;
        self.cleanup = None;
        self.ticket = None;
    }

    /// Stops the stream and queues `last` as its final bytes.
    fn end_with(&mut self, last: impl FnOnce(&mut BytesMut)) {
        self.driver = None;
        last(&mut self.shared.borrow_mut().buf);
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
        if this.driver.is_some() && this.ticket.as_mut().is_some_and(|t| t.poll_closing(cx)) {
            let retry = this.shutdown_retry;
            this.end_with(|buf| shutdown_event(buf, retry));
        }
        if let Some(driver) = this.driver.as_mut() {
            match poll_guarded(driver, cx) {
                Poll::Ready(Ok(())) => this.driver = None,
                Poll::Ready(Err(Panicked)) => {
                    this.end_with(|buf| error_event(buf, &"internal error"));
                }
                Poll::Pending => {}
            }
        }
        let chunk = {
            let mut shared = this.shared.borrow_mut();
            (!shared.buf.is_empty()).then(|| shared.buf.split().freeze())
        };
        if let Some(chunk) = chunk {
            for timer in [&mut this.keep_alive, &mut this.idle].into_iter().flatten() {
                timer.reset();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if this.driver.is_none()
            || Timer::poll_fired(&mut this.deadline, cx)
            || Timer::poll_fired(&mut this.idle, cx)
        {
            this.finish();
            return Poll::Ready(None);
        }
        if Timer::poll_fired(&mut this.keep_alive, cx) {
            if let Some(keep_alive) = this.keep_alive.as_mut() {
                keep_alive.reset();
            }
            return Poll::Ready(Some(Ok(Bytes::from_static(KEEP_ALIVE))));
        }
        Poll::Pending
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The last event of a stream ended by a server stop: when to reconnect.
fn shutdown_event(buf: &mut BytesMut, retry: Duration) {
    encode::text_lines(buf, b"", "server shutting down");
    encode::retry(buf, retry);
    encode::end(buf);
}
