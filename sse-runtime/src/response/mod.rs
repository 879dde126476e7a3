//! The SSE response: the route's settings, the entry point the generated
//! code calls, and the response headers. The driver (`driver.rs`) runs the
//! route; the body (`body.rs`) writes what it produced.
//!
//! Why not `HttpResponse::streaming(stream)`: a route's stream may borrow
//! from the controller (`&self`), so it cannot be a `'static` stream handed
//! to actix. Instead the whole method call runs inside one `'static` future,
//! the *driver*, which owns the controller `Arc` and the stream borrowing
//! it, and encodes items into a buffer shared with the body. The body polls
//! the driver, then sends whatever is buffered as one chunk: every event
//! that was ready at that moment goes out in a single write.

mod body;
mod driver;
mod guard;

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::HttpResponse;
use bytes::BytesMut;

pub use body::SseBody;
pub use driver::Sink;

use crate::cleanup::{CleanUp, CleanupGuard};
use crate::connection::Connection;
use crate::edge::{self, Admission};
use crate::encode;
use driver::{Driver, Panicked, Shared, Start};

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
    /// The stream is closed when its client takes no bytes for this long:
    /// `None` for the server's default (`SseSettings::write_timeout`),
    /// `Some(None)` for no timeout.
    pub write_timeout: Option<Option<Duration>>,
}

/// Runs a route: calls `route` with a [`Sink`], waits until it either
/// refuses the request or starts streaming, and answers accordingly.
///
/// Once the route has returned a stream the answer is an event stream,
/// whatever happens next: a panic among the first items (polled here,
/// before the response is sent) becomes the stream's error event, so a
/// browser's `EventSource` reconnects instead of giving up on a 500. Only a
/// panic in the route method itself, before there is a stream, is a 500.
pub async fn respond<F, Fut>(
    conn: Connection,
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
    // Under an `SseEdge`: the caps decide before the route's method runs.
    let pending = match edge::admit() {
        Admission::Unobserved => None,
        Admission::Open(pending) => Some(pending),
        Admission::Reconnect(retry) => return Ok(shed_stream(retry, guard, conn)),
        Admission::Refuse(error) => return Err(error.into()),
    };
    let mut buf = BytesMut::new();
    if let Some(retry) = config.retry {
        encode::retry_hint(&mut buf, retry);
    }
    let shared = Shared::new(buf, conn.place.clone());
    let mut driver = Driver::start(route, &shared);
    let finished = std::future::poll_fn(|cx| {
        let _entered = pending.as_ref().map(|p| p.span().enter());
        let finished = match driver.poll(cx) {
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(Panicked(message))) => {
                let mut shared = shared.borrow_mut();
                if !matches!(shared.start, Start::Streaming) {
                    tracing::error!(
                        route = &*shared.place.route,
                        peer = ?shared.place.peer,
                        panic = %message,
                        "an SSE route method panicked before returning a stream",
                    );
                    return Poll::Ready(Err(actix_web::error::ErrorInternalServerError(
                        "the SSE route panicked",
                    )));
                }
                shared.fail_internal("an SSE stream panicked", &message);
                true
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
    let driver = (!finished).then_some(driver);
    let watch = pending.map(edge::Pending::open);
    Ok(sse_response(SseBody::new(
        shared, driver, &config, guard, conn, watch,
    )))
}

/// The answer to a request shed by a cap, for a client that would give up
/// on an HTTP error: a stream that only says when to come back.
fn shed_stream(retry: Duration, guard: CleanupGuard, conn: Connection) -> HttpResponse<SseBody> {
    let mut buf = BytesMut::new();
    encode::busy_frame(&mut buf, retry);
    let config = RouteConfig {
        keep_alive: None,
        retry: None,
        max_duration: None,
        idle_timeout: None,
        write_timeout: None,
    };
    let shared = Shared::new(buf, conn.place.clone());
    sse_response(SseBody::new(shared, None, &config, guard, conn, None))
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
