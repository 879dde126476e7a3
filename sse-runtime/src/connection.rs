//! [`Connection`]: what an SSE response needs to know about the connection
//! it answers on, read from the request when the response is made.

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::rc::{Rc, Weak};

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::{Method, Version};
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::settings::SseSettings;
use crate::socket::{ConnSocket, Handle};

/// The connection under an SSE request: the socket handle left by the
/// connection hook (if the server has it), the server's settings, the
/// request's receive half on HTTP/2, and the route and peer for logs.
pub(crate) struct Connection {
    pub(crate) socket: Option<Weak<Handle>>,
    pub(crate) settings: SseSettings,
    /// HTTP/2 only: read to notice a cancelled stream (see `cancel.rs`).
    pub(crate) h2_payload: Option<Payload>,
    pub(crate) place: Place,
}

/// Where a stream runs, for its log lines: the route pattern and the peer.
#[derive(Clone)]
pub(crate) struct Place {
    pub(crate) route: Rc<str>,
    pub(crate) peer: Option<std::net::SocketAddr>,
}

impl Place {
    /// Before the response knows its request.
    pub(crate) fn unknown() -> Place {
        Place {
            route: Rc::from(""),
            peer: None,
        }
    }
}

/// An HTTP/2 request's receive half, kept in the request's extensions by
/// whoever could take it (the `#[sse]` handler's hidden extractor, or
/// `SseEdge` for a `GET`), for the response to watch.
struct H2Receive(Payload);

impl Connection {
    /// The connection of `req`.
    pub(crate) fn of(req: &HttpRequest) -> Connection {
        let handle = req.conn_data::<ConnSocket>().map(|c| c.0.clone());
        if handle.is_none() && req.peer_addr().is_some() {
            warn_unhooked();
        }
        let h2_payload = req
            .extensions_mut()
            .remove::<H2Receive>()
            .map(|H2Receive(payload)| payload);
        let route = req
            .match_pattern()
            .map_or_else(|| Rc::from(req.path()), Rc::from);
        Connection {
            settings: handle
                .as_ref()
                .map_or_else(SseSettings::default, |h| h.settings),
            socket: handle.as_ref().map(Handle::downgrade),
            h2_payload,
            place: Place {
                route,
                peer: req.peer_addr(),
            },
        }
    }
}

/// The hidden extractor of every `#[sse]` handler: keeps the HTTP/2
/// receive half for the response (any method; the route's own extractors
/// have already run, since it comes last).
pub struct H2ReceiveHalf;

impl FromRequest for H2ReceiveHalf {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.version() == Version::HTTP_2 {
            req.extensions_mut().insert(H2Receive(payload.take()));
        }
        ready(Ok(H2ReceiveHalf))
    }
}

/// `SseEdge`'s part: an HTTP/2 `GET` asking for an event stream has no body
/// for the handler, so its receive half is kept for the response.
pub(crate) fn keep_h2_receive_half(req: &mut ServiceRequest) {
    if req.version() == Version::HTTP_2 && req.method() == Method::GET {
        let payload = req.take_payload();
        req.extensions_mut().insert(H2Receive(payload));
    }
}

/// Once per worker thread: a real connection (it has a peer address)
/// without the handle means the server was set up without the hook, with it
/// after `bind`, behind a custom hook that does not pass the connection on,
/// or on a transport the hook does not know (TLS without the `rustls-0_23`
/// feature).
///
/// Per thread rather than per process, so that the warning cannot be used
/// up by one server (a test's, an admin port's) and then stay silent for
/// another in the same process: every server's workers are threads of
/// their own. Per thread rather than per stream, so that a server that
/// runs unhardened on purpose logs a handful of lines, not one per client.
/// A thread-local flag also costs no synchronisation on the request path.
fn warn_unhooked() {
    thread_local! {
        static WARNED: Cell<bool> = const { Cell::new(false) };
    }
    if !WARNED.replace(true) {
        tracing::warn!(
            "SSE stream on a connection that sse_runtime's connection hook did not see: \
             its streams run without a write timeout, send-buffer cap or stop deadline. \
             Fix: call `.sse_defaults()` or `.sse_settings(..)` on the HttpServer before \
             `.bind(..)` (for HTTPS through `bind_rustls_0_23`, also enable sse-runtime's \
             `rustls-0_23` feature); with a custom `on_connect` hook, call \
             `SseSettings::on_connect` from it. Logged once per worker thread"
        );
    }
}
