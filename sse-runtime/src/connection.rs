//! [`Connection`]: what an SSE route needs to know about the connection it
//! answers on, taken from the request by the generated handler.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::Payload;
use actix_web::http::Version;
use actix_web::{FromRequest, HttpRequest};

use crate::settings::SseSettings;
use crate::socket::{ConnSocket, Handle};

/// The connection under an SSE request: the socket handle left by the
/// connection hook (if the server has it), the server's settings, the
/// request's receive half on HTTP/2, and the route and peer for logs.
pub struct Connection {
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

impl FromRequest for Connection {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let handle = req.conn_data::<ConnSocket>().map(|c| c.0.clone());
        if handle.is_none() && req.peer_addr().is_some() {
            warn_unhooked();
        }
        let h2_payload = (req.version() == Version::HTTP_2).then(|| payload.take());
        let route = req
            .match_pattern()
            .map_or_else(|| Rc::from(req.path()), Rc::from);
        ready(Ok(Connection {
            settings: handle
                .as_ref()
                .map_or_else(SseSettings::default, |h| h.settings),
            socket: handle.as_ref().map(Handle::downgrade),
            h2_payload,
            place: Place {
                route,
                peer: req.peer_addr(),
            },
        }))
    }
}

/// Once per process: a real connection (it has a peer address) without the
/// handle means the server was set up without the hook, or with it after
/// `bind`.
fn warn_unhooked() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "SSE stream on a server without sse_runtime's connection hook: streams run \
             without a write timeout, send-buffer cap or stop deadline; call \
             `.sse_defaults()` on the HttpServer before `.bind(..)`"
        );
    }
}
