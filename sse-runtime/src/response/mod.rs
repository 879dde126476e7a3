//! The SSE response: [`Sse`] (the responder, with every option), the
//! response headers, and the two halves it is made of. The driver
//! (`driver.rs`) runs the route; the body (`body.rs`) writes what it
//! produced.
//!
//! Why not `HttpResponse::streaming(stream)`: an `#[sse]` method's stream
//! may borrow from the controller (`&self`), so it cannot be a `'static`
//! stream handed to actix. Instead the whole method call runs inside one
//! `'static` future, the *driver*, which owns the controller `Arc` and the
//! stream borrowing it, and encodes items into a buffer shared with the
//! body. The body polls the driver, then sends whatever is buffered as one
//! chunk: every event that was ready at that moment goes out in a single
//! write. A stream handed to [`Sse::from_stream`] is such a driver too, so
//! both forms share one path.

mod body;
mod driver;
mod guard;
mod responder;

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::HttpResponse;
use bytes::BytesMut;

pub use body::SseBody;
pub use driver::Sink;
pub use responder::Sse;

use crate::cleanup::CleanupGuard;
use crate::connection::Connection;
use crate::encode;
use crate::event::EventName;
use driver::Shared;

/// A stream's options: one set, written by [`Sse`]'s builder methods
/// (which `#[sse(..)]` options expand into), with the defaults stated once,
/// in [`RouteConfig::DEFAULT`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteConfig {
    /// Comment sent after this much silence; `None` disables keep-alive.
    pub(crate) keep_alive: Option<Duration>,
    /// `retry:` hint sent first in the stream (and again when the server
    /// stops).
    pub(crate) retry: Option<Duration>,
    /// The stream is closed after this long.
    pub(crate) max_duration: Option<Duration>,
    /// The stream is closed after this long without an event.
    pub(crate) idle_timeout: Option<Duration>,
    /// The stream is closed when its client takes no bytes for this long:
    /// `None` for the server's default (`SseSettings::write_timeout`),
    /// `Some(None)` for no timeout.
    pub(crate) write_timeout: Option<Option<Duration>>,
    /// The name of the final event an error ends the stream with.
    pub(crate) error_event: EventName,
    /// Whether a stream that ran out ends with the end frame, so that the
    /// browser's reconnect is answered `204` (`false`: it replays).
    pub(crate) end_frame: bool,
}

impl RouteConfig {
    pub(crate) const DEFAULT: RouteConfig = RouteConfig {
        keep_alive: Some(Duration::from_secs(15)),
        retry: None,
        max_duration: None,
        idle_timeout: None,
        write_timeout: None,
        error_event: driver::DEFAULT_ERROR_EVENT,
        end_frame: true,
    };
}

/// The answer to a request shed by a cap, for a client that would give up
/// on an HTTP error: a stream that only says when to come back.
fn shed_stream(retry: Duration, guard: CleanupGuard, conn: Connection) -> HttpResponse<SseBody> {
    let mut buf = BytesMut::new();
    encode::busy_frame(&mut buf, retry);
    let config = RouteConfig {
        keep_alive: None,
        ..RouteConfig::DEFAULT
    };
    // The busy frame is the whole stream: no end frame, so that the
    // browser comes back.
    let shared = Shared::new(buf, conn.place.clone());
    shared.borrow_mut().end_frame = false;
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
