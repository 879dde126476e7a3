//! Tracing of SSE streams: one span per stream, an event when it opens and
//! one when it closes, so a `tracing-subscriber` user gets a connection
//! log without writing one.
//!
//! The span, `sse`, carries `id` (unique per stream in the process; on
//! HTTP/2 several streams share one TCP connection), `route` (the route's
//! pattern), `path` (the requested path), `peer` (the TCP peer) and, when a
//! trusted proxy forwarded the request, `client`. The route's own code runs
//! inside the span, so its log lines carry these fields too.
//!
//! The requested path is the client's input: it is recorded with `Debug`,
//! quoted and escaped, so a crafted path cannot forge a log line.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tracing::field::{display, Empty};
use tracing::Span;

use crate::limits::Cap;

/// Where a stream is: what its span and its shed event say.
pub(crate) struct Place<'a> {
    pub(crate) id: u64,
    pub(crate) route: &'a str,
    pub(crate) path: &'a str,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) client: Option<IpAddr>,
}

/// The span of one stream, from its admission to its close.
pub(crate) fn span(place: &Place<'_>) -> Span {
    let span = tracing::info_span!(
        "sse",
        id = place.id,
        route = place.route,
        path = ?place.path,
        peer = Empty,
        client = Empty,
    );
    if let Some(peer) = place.peer {
        span.record("peer", display(peer));
        if let Some(client) = place.client.filter(|c| *c != peer.ip()) {
            span.record("client", display(client));
        }
    }
    span
}

/// The stream started streaming.
pub(crate) fn opened(span: &Span) {
    tracing::info!(parent: span, "SSE stream opened");
}

/// What a stream sent, for its close event.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sent {
    pub(crate) events: u64,
    pub(crate) bytes: u64,
    pub(crate) keep_alives: u64,
}

/// The stream closed for `reason` after `duration`.
pub(crate) fn closed(span: &Span, reason: &'static str, duration: Duration, sent: Sent) {
    tracing::info!(
        parent: span,
        reason,
        ?duration,
        events = sent.events,
        bytes = sent.bytes,
        keep_alives = sent.keep_alives,
        "SSE stream closed",
    );
}

/// A request was shed by `cap`. Debug level: under overload, a line per
/// shed request would add to the load; the shed metric counts them.
pub(crate) fn shed(place: &Place<'_>, cap: Cap, answer: &'static str) {
    tracing::debug!(
        route = place.route,
        path = ?place.path,
        peer = ?place.peer,
        client = ?place.client,
        cap = cap.as_str(),
        answer,
        "SSE request shed by a connection cap",
    );
}
