//! [`SseEdge`]: the middleware that lets a server's SSE streams be capped
//! ([`Limits`]), traced (`trace.rs`) and measured (`metrics.rs`).
//!
//! The middleware takes what admission needs from the request (the route
//! pattern, the path, the peer, two headers) and keeps it in a task-local
//! for as long as actix polls the handler under it; the response looks
//! there once ([`admit`]): an `#[sse]` route before its method runs, a
//! plain handler's `Sse` when actix turns it into a response (still inside
//! the handler's future). It cannot keep the request itself: actix's router
//! needs to be its only owner while it routes. A server without the
//! middleware pays nothing.

use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::HeaderValue;
use actix_web::http::Uri;
use tokio::task::futures::TaskLocalFuture;
use tracing::Span;

use crate::cleanup::CleanupGuard;
use crate::limits::{
    accepts_event_stream, Counters, Limits, Permit, ShedError, Verdict, FORWARDED_FOR,
};
use crate::metrics::{self, StreamMetrics};
use crate::trace::{self, Place, Sent};

/// Route label of a request that matched no pattern (a default service).
const UNMATCHED: &str = "<unmatched>";

/// Middleware that applies [`Limits`] to the SSE streams of the app it
/// wraps, gives each stream a `tracing` span with an event at open and at
/// close, and, with the cargo feature `metrics`, counts them (see
/// `sse_runtime::metrics`).
///
/// Build it once, outside the `HttpServer` factory, and clone it into each
/// worker's app: the clones share the stream counts, so a cap holds for the
/// whole server.
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use sse_runtime::{Limits, SseEdge};
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let edge = SseEdge::new().limits(Limits::new().max_streams(10_000));
///     let server = HttpServer::new(move || App::new().wrap(edge.clone()))
///         .bind(("127.0.0.1", 8080))?
///         .run();
///     sse_runtime::serve(server).await
/// }
/// ```
///
/// Other routes pass through untouched, at the cost of one route lookup
/// per request; to spare them that, wrap only the SSE controllers, e.g.
/// `web::scope("").wrap(edge).service(Events)`. CORS middleware
/// (`actix-cors`) may sit inside or outside it.
#[derive(Clone, Default)]
pub struct SseEdge {
    limits: Option<Arc<Counters>>,
}

impl std::fmt::Debug for SseEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseEdge")
            .field("limits", &self.limits.as_ref().map(|c| &c.limits))
            .finish()
    }
}

impl SseEdge {
    /// Tracing (and metrics, with the feature), no caps.
    pub fn new() -> Self {
        #[cfg(feature = "metrics")]
        metrics::describe();
        SseEdge { limits: None }
    }

    /// Caps the streams of the wrapped app with `limits`.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = Some(Arc::new(Counters::new(limits)));
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for SseEdge
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = SseEdgeService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SseEdgeService {
            service,
            edge: self.clone(),
        }))
    }
}

/// The service [`SseEdge`] wraps an app's service in.
pub struct SseEdgeService<S> {
    service: S,
    edge: SseEdge,
}

tokio::task_local! {
    /// The request whose handler is being polled, under an `SseEdge`.
    static REQUEST: Rc<Context>;
}

/// What [`admit`] needs to know of a request, and the edge it came through.
pub struct Context {
    edge: SseEdge,
    route: Option<String>,
    uri: Uri,
    peer: Option<SocketAddr>,
    event_stream: bool,
    /// `X-Forwarded-For` lines, kept only from a trusted proxy.
    forwarded: Vec<HeaderValue>,
}

impl<S, B> Service<ServiceRequest> for SseEdgeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = TaskLocalFuture<Rc<Context>, S::Future>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        // An HTTP/2 GET has no body to read: its receive half is kept for
        // the response, which watches it for the client's cancel. Any GET,
        // not only one that asks for an event stream: a plain client
        // (curl, reqwest) sends no `Accept`.
        crate::connection::keep_h2_receive_half(&mut req);
        let event_stream = accepts_event_stream(req.headers());
        if let Some(counters) = &self.edge.limits {
            counters.check_routes_once(req.resource_map());
        }
        let peer = req.peer_addr();
        let trusted = self
            .edge
            .limits
            .as_ref()
            .is_some_and(|counters| peer.is_some_and(|peer| counters.limits.trusts(peer.ip())));
        let forwarded = if trusted {
            req.headers().get_all(FORWARDED_FOR).cloned().collect()
        } else {
            Vec::new()
        };
        let context = Rc::new(Context {
            edge: self.edge.clone(),
            route: req.match_pattern(),
            uri: req.uri().clone(),
            peer,
            event_stream,
            forwarded,
        });
        // Some services start their work in `call` itself: cover that too.
        let future = REQUEST.sync_scope(context.clone(), || self.service.call(req));
        REQUEST.scope(context, future)
    }
}

/// What the response does with a request.
pub(crate) enum Admission {
    /// No `SseEdge` above it: stream without caps, spans or metrics.
    Unobserved,
    /// Admitted: stream, observed.
    Open(Pending),
    /// Shed: a 200 stream that tells the client to come back after this.
    Reconnect(Duration),
    /// Shed: an HTTP error.
    Refuse(ShedError),
}

/// Decides on the current request: counts it against the caps, and gives
/// it its span. Called by the response (`Sse`) before it streams.
pub(crate) fn admit() -> Admission {
    REQUEST
        .try_with(|context| context.admit())
        .unwrap_or(Admission::Unobserved)
}

impl Context {
    fn admit(&self) -> Admission {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let route: Arc<str> = Arc::from(self.route.as_deref().unwrap_or(UNMATCHED));
        let peer = self.peer;
        let counters = self.edge.limits.as_ref();
        let client = match counters {
            Some(counters) => counters.limits.client_addr(peer, &self.forwarded),
            None => peer.map(|p| p.ip()),
        };
        let place = Place {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            route: &route,
            path: self.uri.path(),
            peer,
            client,
        };
        let mut permit = None;
        if let Some(counters) = counters {
            match counters.acquire(&route, client) {
                Ok(held) => permit = Some(held),
                Err(cap) => {
                    metrics::shed(&route, cap);
                    return match counters.limits.verdict(cap, self.event_stream) {
                        Verdict::Reconnect(retry) => {
                            trace::shed(&place, cap, "reconnect");
                            Admission::Reconnect(retry)
                        }
                        Verdict::Refuse(error) => {
                            trace::shed(&place, cap, "refuse");
                            Admission::Refuse(error)
                        }
                    };
                }
            }
        }
        Admission::Open(Pending {
            span: trace::span(&place),
            route: route.clone(),
            permit,
        })
    }
}

/// An admitted request whose route has not started streaming yet (its
/// method may still refuse it). Dropped unopened, it only frees its place.
pub(crate) struct Pending {
    span: Span,
    route: Arc<str>,
    permit: Option<Permit>,
}

impl Pending {
    /// The span the route's method runs in.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The route started streaming.
    pub(crate) fn open(self) -> Watch {
        trace::opened(&self.span);
        Watch {
            metrics: StreamMetrics::opened(&self.route),
            span: self.span,
            opened: Instant::now(),
            sent: Sent::default(),
            permit: self.permit,
        }
    }
}

/// Why a stream ended: the `reason` of its close event and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// The stream ran out of items.
    Finished,
    /// An `Err` item, an item that could not be encoded, or a panic.
    Error,
    /// The connection went away before the stream ended.
    ClientLeft,
    /// The client took no bytes within the write timeout.
    WriteTimeout,
    /// The route's `idle_timeout` passed without an event.
    IdleTimeout,
    /// The route's `max_duration` passed.
    MaxDuration,
    /// The server stopped.
    Stopped,
}

impl EndReason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EndReason::Finished => "finished",
            EndReason::Error => "error",
            EndReason::ClientLeft => "client_left",
            EndReason::WriteTimeout => "write_timeout",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::MaxDuration => "max_duration",
            EndReason::Stopped => "stopped",
        }
    }
}

/// An open, observed stream: what it sent, for its close event and metrics,
/// and its place under the caps.
pub(crate) struct Watch {
    span: Span,
    opened: Instant,
    sent: Sent,
    metrics: StreamMetrics,
    permit: Option<Permit>,
}

impl Watch {
    /// The stream's span, entered while its route runs.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// A chunk holding `events` events went to the connection.
    pub(crate) fn sent(&mut self, events: u64, bytes: usize) {
        self.sent.events += events;
        self.sent.bytes += bytes as u64;
        self.metrics.sent(events, bytes);
    }

    /// A keep-alive comment went to the connection.
    pub(crate) fn keep_alive(&mut self, bytes: usize) {
        self.sent.keep_alives += 1;
        self.sent.bytes += bytes as u64;
        self.metrics.keep_alive(bytes);
    }

    /// The stream ended for `reason`, noticed at `noticed`: logs and counts
    /// the close, runs `cleanup` and times it, then frees the stream's
    /// place under the caps.
    pub(crate) fn close(self, reason: EndReason, noticed: Instant, cleanup: Option<CleanupGuard>) {
        trace::closed(
            &self.span,
            reason.as_str(),
            noticed.saturating_duration_since(self.opened),
            self.sent,
        );
        self.metrics.closed(reason.as_str());
        if let Some(guard) = cleanup {
            guard
                .0
                .run_observed(move || metrics::cleanup_latency(noticed.elapsed()));
        }
        drop(self.permit);
    }
}
