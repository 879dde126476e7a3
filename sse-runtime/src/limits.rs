//! Load shedding: caps on concurrent SSE streams (server-wide, per route,
//! per client address) and the answer a request gets when a cap is full.
//!
//! The answer depends on who asks. A non-200 response makes `EventSource`
//! (and the polyfills and client libraries that follow its spec) give up
//! for good, so a client that asks for `text/event-stream` gets a 200
//! stream that carries only a jittered `retry:` and ends: it comes back
//! after that delay, spread out so that shed clients do not return as one
//! wave. Any other client gets `503 Service Unavailable` (server or route
//! full) or `429 Too Many Requests` (its own address is over its cap), with
//! a `Retry-After` header. [`Shed`] overrides the choice.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use actix_web::dev::ResourceMap;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

/// The default base of the reconnection delay given to shed clients.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Caps on concurrent SSE streams, given to [`SseEdge::limits`](crate::SseEdge::limits).
///
/// Every cap is off until set. A stream counts from the moment its request
/// is admitted until its `CleanUp` has run; a request over any cap is shed
/// before the route's method runs (see [`Shed`] for what it is answered).
///
/// ```
/// use std::time::Duration;
/// use sse_runtime::{Limits, Shed};
///
/// let limits = Limits::new()
///     .max_streams(10_000)               // the whole server
///     .max_streams_per_route(2_000)      // every route ...
///     .route("/events/firehose", 100)    // ... unless named here
///     .max_streams_per_client(8)         // one address (IPv6: its /64)
///     .trust_forwarded_for(["10.0.0.5".parse().unwrap()]) // your proxy
///     .retry_after(Duration::from_secs(10))
///     .shed(Shed::Auto);
/// ```
#[derive(Debug, Clone)]
pub struct Limits {
    total: Option<usize>,
    per_route: Option<usize>,
    routes: HashMap<String, usize>,
    per_client: Option<usize>,
    proxies: Vec<IpAddr>,
    shed: Shed,
    retry_after: Duration,
}

/// What a request over a cap is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shed {
    /// [`Reconnect`](Shed::Reconnect) for requests whose `Accept` header
    /// names `text/event-stream` (`EventSource` always sends it, and gives
    /// up for good on any non-200 answer); [`Refuse`](Shed::Refuse) for the
    /// rest. The default.
    #[default]
    Auto,
    /// A `200` event stream holding a comment and a jittered `retry:`, then
    /// its end: the client reconnects after that delay.
    Reconnect,
    /// `503 Service Unavailable` (server or route cap) or `429 Too Many
    /// Requests` (client cap), with a jittered `Retry-After` in seconds.
    Refuse,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            total: None,
            per_route: None,
            routes: HashMap::new(),
            per_client: None,
            proxies: Vec::new(),
            shed: Shed::Auto,
            retry_after: RETRY_AFTER,
        }
    }
}

impl Limits {
    /// No caps yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `n` SSE streams open on the server (every worker together).
    #[must_use]
    pub fn max_streams(mut self, n: usize) -> Self {
        self.total = Some(n);
        self
    }

    /// At most `n` SSE streams open on each route that [`route`](Self::route)
    /// does not name.
    #[must_use]
    pub fn max_streams_per_route(mut self, n: usize) -> Self {
        self.per_route = Some(n);
        self
    }

    /// At most `n` SSE streams open on the route registered as `pattern`:
    /// the full path as the route declares it, controller prefix included,
    /// with its `{placeholders}` (e.g. `"/chat/{room}"`), so every room
    /// shares the cap.
    ///
    /// A pattern the app does not register is logged as a warning at the
    /// first request through the [`SseEdge`](crate::SseEdge), since its cap
    /// would never apply: a typo, or a path such as `"/chat/lobby"` (the
    /// warning names the pattern it falls under, `"/chat/{room}"`). Patterns
    /// with a `{name:regex}` placeholder are not checked.
    #[must_use]
    pub fn route(mut self, pattern: impl Into<String>, n: usize) -> Self {
        self.routes.insert(pattern.into(), n);
        self
    }

    /// At most `n` SSE streams open per client address. IPv4 addresses
    /// count one by one; IPv6 addresses by their /64 prefix, since one
    /// host commonly holds a whole /64.
    ///
    /// The address is the TCP peer's, unless that peer is a proxy named in
    /// [`trust_forwarded_for`](Self::trust_forwarded_for).
    #[must_use]
    pub fn max_streams_per_client(mut self, n: usize) -> Self {
        self.per_client = Some(n);
        self
    }

    /// Takes the client address from `X-Forwarded-For` when, and only when,
    /// the TCP peer is one of `proxies`: the right-most address in the
    /// header that is not itself one of `proxies` (the left part of the
    /// header is whatever the client sent, so it is never trusted). A
    /// request from anyone else is counted by its TCP peer address, so a
    /// forged header gains nothing.
    #[must_use]
    pub fn trust_forwarded_for(mut self, proxies: impl IntoIterator<Item = IpAddr>) -> Self {
        self.proxies = proxies.into_iter().map(canonical).collect();
        self
    }

    /// What shed requests are answered; [`Shed::Auto`] by default.
    #[must_use]
    pub fn shed(mut self, shed: Shed) -> Self {
        self.shed = shed;
        self
    }

    /// The base of the delay shed clients are told to wait (default 5 s).
    /// Each gets a delay drawn evenly from half to one and a half times it.
    #[must_use]
    pub fn retry_after(mut self, base: Duration) -> Self {
        self.retry_after = base;
        self
    }

    /// Tells, in a warning, of each [`route`](Self::route) pattern that
    /// the app does not register as such, since its cap would silently
    /// never apply: a typo, or a path (`/chat/lobby`) where the route's
    /// pattern (`/chat/{room}`) is meant. A pattern is looked up as a path,
    /// which matches its own route; one with a custom regex
    /// (`{id:\d+}`) cannot be looked up that way and is not checked.
    pub(crate) fn check_routes(&self, routes: &ResourceMap) {
        let mut patterns: Vec<&String> = self.routes.keys().collect();
        patterns.sort();
        for pattern in patterns {
            if has_custom_regex(pattern) {
                continue;
            }
            match routes.match_pattern(pattern) {
                Some(found) if found == *pattern => {}
                Some(found) => tracing::warn!(
                    pattern = %pattern,
                    route = %found,
                    "Limits::route names a path, not a route pattern; its cap never applies: \
                     streams there count under the route's pattern, name that instead"
                ),
                None => tracing::warn!(
                    pattern = %pattern,
                    "Limits::route names no route of this app; its cap never applies \
                     (patterns are full paths with their {{placeholders}}, e.g. \"/chat/{{room}}\")"
                ),
            }
        }
    }

    fn route_cap(&self, route: &str) -> Option<usize> {
        self.routes.get(route).copied().or(self.per_route)
    }

    /// Whether `peer` is a proxy whose `X-Forwarded-For` is trusted.
    pub(crate) fn trusts(&self, peer: IpAddr) -> bool {
        self.proxies.contains(&canonical(peer))
    }

    /// The address a request from `peer` is counted under, given its
    /// `X-Forwarded-For` lines (read only if `peer` is trusted; see
    /// [`trust_forwarded_for`](Self::trust_forwarded_for)).
    pub(crate) fn client_addr(
        &self,
        peer: Option<SocketAddr>,
        forwarded: &[HeaderValue],
    ) -> Option<IpAddr> {
        let peer = canonical(peer?.ip());
        if !self.proxies.contains(&peer) {
            return Some(peer);
        }
        Some(forwarded_for(forwarded, &self.proxies).unwrap_or(peer))
    }

    /// The answer to a request that `cap` shed; `event_stream`: whether it
    /// accepts `text/event-stream`.
    pub(crate) fn verdict(&self, cap: Cap, event_stream: bool) -> Verdict {
        let retry = jittered(self.retry_after);
        let reconnect = match self.shed {
            Shed::Auto => event_stream,
            Shed::Reconnect => true,
            Shed::Refuse => false,
        };
        if reconnect {
            Verdict::Reconnect(retry)
        } else {
            Verdict::Refuse(ShedError { cap, retry })
        }
    }
}

/// Whether a route pattern holds a `{name:regex}` placeholder.
fn has_custom_regex(pattern: &str) -> bool {
    pattern.split('{').skip(1).any(|placeholder| {
        placeholder
            .split('}')
            .next()
            .is_some_and(|p| p.contains(':'))
    })
}

/// The right-most address of `X-Forwarded-For` that is not a trusted
/// proxy. `None` if the header is missing or, at the entry that counts,
/// not an address: the proxy's own address is then used.
fn forwarded_for(forwarded: &[HeaderValue], proxies: &[IpAddr]) -> Option<IpAddr> {
    // Several header lines form one list, in order.
    let lines: Vec<&str> = forwarded
        .iter()
        .map(|value| value.to_str().ok())
        .collect::<Option<_>>()?;
    for entry in lines.iter().rev().flat_map(|line| line.rsplit(',')) {
        let addr = canonical(parse_forwarded(entry.trim())?);
        if !proxies.contains(&addr) {
            return Some(addr);
        }
    }
    None
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 addresses (a dual-stack listener's view of IPv4
/// clients) as the IPv4 address they are.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The header trusted proxies name the client in.
pub(crate) const FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Whether a request asks for `text/event-stream`, as `EventSource` does.
pub(crate) fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.to_ascii_lowercase().contains("text/event-stream"))
}

/// Evenly from half to one and a half times `base`, so that clients shed
/// together do not come back together.
fn jittered(base: Duration) -> Duration {
    base.mul_f64(0.5 + fastrand::f64())
}

/// What a client is counted as: its IPv4 address, or its IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(IpAddr);

impl ClientKey {
    pub(crate) fn of(addr: IpAddr) -> ClientKey {
        match canonical(addr) {
            IpAddr::V6(v6) => {
                let prefix = u128::from(v6) & !(u128::from(u64::MAX));
                ClientKey(IpAddr::V6(Ipv6Addr::from(prefix)))
            }
            v4 => ClientKey(v4),
        }
    }
}

/// Which cap shed a request; also the `cap` label of the shed metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    Server,
    Route,
    Client,
}

impl Cap {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Cap::Server => "server",
            Cap::Route => "route",
            Cap::Client => "client",
        }
    }
}

/// The answer to a shed request.
pub(crate) enum Verdict {
    /// A 200 stream telling the client to reconnect after this long.
    Reconnect(Duration),
    /// An HTTP error with `Retry-After`.
    Refuse(ShedError),
}

/// A request refused by a cap: `503` or `429` with `Retry-After`.
#[derive(Debug)]
pub(crate) struct ShedError {
    cap: Cap,
    retry: Duration,
}

impl ShedError {
    fn retry_secs(&self) -> u64 {
        // Whole seconds, rounded up: `Retry-After: 0` would invite a retry
        // storm.
        self.retry.as_secs() + u64::from(self.retry.subsec_nanos() > 0)
    }
}

impl fmt::Display for ShedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whose = match self.cap {
            Cap::Server => "the server has",
            Cap::Route => "this route has",
            Cap::Client => "your address has",
        };
        write!(
            f,
            "{whose} too many open event streams; retry after {} s",
            self.retry_secs()
        )
    }
}

impl ResponseError for ShedError {
    fn status_code(&self) -> StatusCode {
        match self.cap {
            Cap::Client => StatusCode::TOO_MANY_REQUESTS,
            Cap::Server | Cap::Route => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((header::RETRY_AFTER, HeaderValue::from(self.retry_secs())))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}

/// The caps of one [`Limits`] and the streams counted against them, shared
/// by every worker of a server.
pub(crate) struct Counters {
    pub(crate) limits: Limits,
    /// The route patterns were checked against the app's routes
    /// ([`Limits::check_routes`], at the first request).
    checked: std::sync::Once,
    total: AtomicUsize,
    routes: Mutex<HashMap<Arc<str>, usize>>,
    clients: Mutex<HashMap<ClientKey, usize>>,
}

impl Counters {
    pub(crate) fn new(limits: Limits) -> Counters {
        Counters {
            limits,
            checked: std::sync::Once::new(),
            total: AtomicUsize::new(0),
            routes: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the route patterns against `routes` the first time only.
    pub(crate) fn check_routes_once(&self, routes: &ResourceMap) {
        self.checked.call_once(|| self.limits.check_routes(routes));
    }

    /// Counts a stream on `route` from `client` against every cap, or names
    /// the first cap that is full (and counts nothing).
    pub(crate) fn acquire(
        self: &Arc<Self>,
        route: &Arc<str>,
        client: Option<IpAddr>,
    ) -> Result<Permit, Cap> {
        let mut permit = Permit {
            counters: self.clone(),
            total: false,
            route: None,
            client: None,
        };
        if let Some(cap) = self.limits.total {
            self.total
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < cap).then_some(n + 1)
                })
                .map_err(|_| Cap::Server)?;
            permit.total = true;
        }
        if let Some(cap) = self.limits.route_cap(route) {
            let mut routes = lock(&self.routes);
            let open = routes.entry(route.clone()).or_default();
            if *open >= cap {
                return Err(Cap::Route);
            }
            *open += 1;
            permit.route = Some(route.clone());
        }
        if let (Some(cap), Some(addr)) = (self.limits.per_client, client) {
            let key = ClientKey::of(addr);
            let mut clients = lock(&self.clients);
            let open = clients.entry(key).or_default();
            if *open >= cap {
                return Err(Cap::Client);
            }
            *open += 1;
            permit.client = Some(key);
        }
        Ok(permit)
    }

    #[cfg(test)]
    fn open_total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps hold plain counts, valid whatever panicked while one was
    // held.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One admitted stream's place under the caps; dropping it frees the place.
pub(crate) struct Permit {
    counters: Arc<Counters>,
    total: bool,
    route: Option<Arc<str>>,
    client: Option<ClientKey>,
}

/// Takes one from the count under `key`, forgetting keys that reach zero
/// so that the maps hold only what is open.
fn release<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, usize>>, key: &K) {
    let mut map = lock(map);
    if let Some(open) = map.get_mut(key) {
        *open -= 1;
        if *open == 0 {
            map.remove(key);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.total {
            self.counters.total.fetch_sub(1, Ordering::AcqRel);
        }
        if let Some(route) = &self.route {
            release(&self.counters.routes, route);
        }
        if let Some(client) = &self.client {
            release(&self.counters.clients, client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(limits: Limits) -> Arc<Counters> {
        Arc::new(Counters::new(limits))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn tells_custom_regex_placeholders() {
        assert!(has_custom_regex("/item/{id:\\d+}"));
        assert!(has_custom_regex("/a/{x}/{y:[a-z]+}/z"));
        assert!(!has_custom_regex("/chat/{room}"));
        assert!(!has_custom_regex("/files/{tail}*"));
        assert!(!has_custom_regex("/plain"));
        assert!(!has_custom_regex("/time:now/{x}"));
    }

    #[test]
    fn server_cap_counts_and_frees() {
        let c = counters(Limits::new().max_streams(2));
        let route: Arc<str> = Arc::from("/a");
        let a = c.acquire(&route, None).unwrap();
        let _b = c.acquire(&route, None).unwrap();
        assert_eq!(c.acquire(&route, None).err(), Some(Cap::Server));
        drop(a);
        assert!(c.acquire(&route, None).is_ok());
    }

    #[test]
    fn a_refusal_by_a_later_cap_counts_nothing() {
        let c = counters(Limits::new().max_streams(10).max_streams_per_client(1));
        let route: Arc<str> = Arc::from("/a");
        let _held = c.acquire(&route, Some(ip("10.0.0.1"))).unwrap();
        assert_eq!(
            c.acquire(&route, Some(ip("10.0.0.1"))).err(),
            Some(Cap::Client)
        );
        assert_eq!(c.open_total(), 1);
    }

    #[test]
    fn route_caps_apply_per_pattern() {
        let c = counters(Limits::new().max_streams_per_route(2).route("/small", 1));
        let small: Arc<str> = Arc::from("/small");
        let big: Arc<str> = Arc::from("/big");
        let _s = c.acquire(&small, None).unwrap();
        assert_eq!(c.acquire(&small, None).err(), Some(Cap::Route));
        let _b1 = c.acquire(&big, None).unwrap();
        let _b2 = c.acquire(&big, None).unwrap();
        assert_eq!(c.acquire(&big, None).err(), Some(Cap::Route));
    }

    #[test]
    fn released_keys_are_forgotten() {
        let c = counters(
            Limits::new()
                .max_streams_per_client(1)
                .max_streams_per_route(1),
        );
        let route: Arc<str> = Arc::from("/a");
        drop(c.acquire(&route, Some(ip("10.0.0.1"))).unwrap());
        assert!(lock(&c.clients).is_empty());
        assert!(lock(&c.routes).is_empty());
    }

    #[test]
    fn ipv6_clients_count_by_prefix() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
            ClientKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:10.0.0.1")),
            ClientKey(ip("10.0.0.1"))
        );
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let limits = Limits::new().trust_forwarded_for([ip("10.0.0.5"), ip("10.0.0.6")]);
        let via = |peer: &str, xff: &[&str]| {
            let lines: Vec<HeaderValue> = xff
                .iter()
                .map(|l| HeaderValue::from_str(l).unwrap())
                .collect();
            limits.client_addr(Some(format!("{peer}:4000").parse().unwrap()), &lines)
        };
        // Through the proxy: the right-most untrusted entry.
        assert_eq!(via("10.0.0.5", &["1.1.1.1, 2.2.2.2"]), Some(ip("2.2.2.2")));
        assert_eq!(
            via("10.0.0.5", &["1.1.1.1", "2.2.2.2:555, 10.0.0.6"]),
            Some(ip("2.2.2.2"))
        );
        assert_eq!(
            via("10.0.0.5", &["[2001:db8::7]:80"]),
            Some(ip("2001:db8::7"))
        );
        // Garbage where it counts, or no header: the proxy itself.
        assert_eq!(
            via("10.0.0.5", &["1.1.1.1, nonsense"]),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(via("10.0.0.5", &[]), Some(ip("10.0.0.5")));
        // Not through a trusted proxy: the header is ignored.
        assert_eq!(via("3.3.3.3", &["1.1.1.1"]), Some(ip("3.3.3.3")));
    }

    #[test]
    fn jitter_stays_in_bounds() {
        let base = Duration::from_secs(4);
        for _ in 0..1000 {
            let d = jittered(base);
            assert!(
                d >= Duration::from_secs(2) && d < Duration::from_secs(6),
                "{d:?}"
            );
        }
    }

    #[test]
    fn verdict_by_accept_header() {
        let limits = Limits::new();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html, text/Event-Stream"),
        );
        let browser = accepts_event_stream(&headers);
        let script = accepts_event_stream(&HeaderMap::new());
        assert!(browser && !script);
        assert!(matches!(
            limits.verdict(Cap::Server, browser),
            Verdict::Reconnect(_)
        ));
        match limits.verdict(Cap::Client, script) {
            Verdict::Refuse(err) => {
                assert_eq!(err.status_code(), StatusCode::TOO_MANY_REQUESTS);
                let secs = err.retry_secs();
                assert!((3..=8).contains(&secs), "{secs}");
            }
            Verdict::Reconnect(_) => panic!("a script got a reconnect stream"),
        }
        let forced = Limits::new().shed(Shed::Refuse);
        assert!(matches!(
            forced.verdict(Cap::Route, browser),
            Verdict::Refuse(_)
        ));
        let forced = Limits::new().shed(Shed::Reconnect);
        assert!(matches!(
            forced.verdict(Cap::Route, script),
            Verdict::Reconnect(_)
        ));
    }
}
