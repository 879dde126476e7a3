//! Serving browsers in production: HTTP/2 and TLS, CORS, connection caps,
//! metrics and tracing.
//!
//! # Policies
//!
//! * **Never make a browser give up by accident.** `EventSource` gives up
//!   for good on any answer but `200`, so a request shed by a cap is
//!   answered with a `200` stream that tells it when to come back, and
//!   only clients that are not `EventSource`s get `503` / `429`.
//! * **A cap holds for the whole server**, every worker together, and a
//!   stream holds its place until its `CleanUp` has run.
//! * **Observability costs nothing unless asked for**: metrics go through
//!   the `metrics` facade (no recorder, no cost; no feature, no code), and
//!   client input never reaches a log line unescaped.
//!
//! # HTTP/2 and TLS
//!
//! Over HTTP/1.1 a browser opens at most **6 connections per origin**,
//! shared by every tab: the 7th `EventSource` stays `CONNECTING`, and with
//! a few tabs open even `fetch()` calls queue behind the streams. Two
//! fixes:
//!
//! 1. **HTTP/2**, where one connection carries ~100 streams. Browsers
//!    speak HTTP/2 only over TLS: enable actix-web's `rustls-0_23` and
//!    `http2` features and bind with TLS (ALPN offers `h2` and `http/1.1`
//!    by itself). With sse-runtime's own `rustls-0_23` feature (which turns
//!    on actix-web's), the connection hook of
//!    [`.sse_defaults()`](crate::SseServerExt::sse_defaults) recognises
//!    `bind_rustls_0_23`'s connections, so HTTPS streams get the write
//!    timeout, the send-buffer cap and the drain deadline with no hook of
//!    your own; without the feature they go without them, and each worker
//!    thread logs a warning.
//!
//!    ```
//!    // Cargo.toml: sse-runtime = { version = "0.1", features = ["rustls-0_23"] }
//!    use actix_web::{App, HttpServer};
//!    use sse_runtime::SseServerExt;
//!
//!    async fn run(tls: rustls::ServerConfig) -> std::io::Result<()> {
//!        let server = HttpServer::new(|| App::new())
//!            .sse_defaults()
//!            .bind_rustls_0_23(("0.0.0.0", 8443), tls)?
//!            // behind a proxy that speaks HTTP/2 in plain text (h2c):
//!            // .bind_auto_h2c(("127.0.0.1", 8080))?
//!            .run();
//!        sse_runtime::serve(server).await
//!    }
//!    # let _ = run;
//!    ```
//!
//!    `bind_auto_h2c` serves HTTP/1.1 and HTTP/2 with prior knowledge on
//!    one plain-text port, for a proxy in front (browsers never use h2c).
//!    For another TLS stack, hand the TCP stream under the TLS layer to
//!    [`SseSettings::attach`](crate::SseSettings::attach) from your own
//!    `on_connect` hook.
//!
//!    Memory: over HTTP/2 an idle subscriber costs a stream, ~7.5–8 KB
//!    measured, instead of a connection, ~11.7 KB (actix's own floor per
//!    HTTP/1.1 connection is 10.3 KB). actix-web's `http2` feature itself
//!    adds ~1.7 KB to every HTTP/1.1 connection, so turn it on only where
//!    HTTP/2 is served.
//! 2. **One stream per page** carrying several topics (named events, or a
//!    topic field in the data), instead of one `EventSource` per widget; a
//!    hub [`Subscription`](crate::Subscription) reads several topics.
//!
//! **A cancelled HTTP/2 stream.** actix-web's HTTP/2 dispatcher never asks
//! whether the client cancelled a stream (`RST_STREAM`, e.g. a closed
//! `EventSource` on a connection that stays open) or whether the
//! connection is gone: an idle stream would learn it only at its next
//! write. The runtime therefore looks at the request's receive half, which
//! fails once the stream was reset or the connection closed, every
//! [`h2_reset_check`](crate::SseSettings::h2_reset_check) (100 ms) while
//! the stream is idle, without writing anything: a cancelled stream is
//! dropped, and its `CleanUp` run, within about 100 ms, with or without
//! `.sse_defaults()`, while other streams on the connection go on. The
//! check costs one timer wake-up per idle HTTP/2 stream per interval. See
//! [`Sse`](crate::Sse#http2) for what a plain handler needs for it.
//!
//! # CORS
//!
//! A page on another origin (a front-end dev server on `:5173`, say) can
//! open an `EventSource` to your server only if the response carries
//! `Access-Control-Allow-Origin`. Use
//! [`actix-cors`](https://docs.rs/actix-cors) rather than writing headers
//! by hand:
//!
//! ```
//! use actix_cors::Cors;
//! use actix_web::App;
//!
//! fn cors() -> Cors {
//!     Cors::default()
//!         .allowed_origin("https://app.example.com") // exact; several calls for several
//!         .allowed_methods(["GET"])
//!         .allowed_header("last-event-id")            // see below
//!         .supports_credentials()                     // for `withCredentials: true`
//!         .max_age(3600)
//! }
//!
//! # let _ = App::new().wrap(cors());
//! ```
//!
//! * **Without credentials** (`new EventSource(url)`), any allowed origin
//!   works; the recipe above serves both cases.
//! * **With `withCredentials: true`** the browser sends cookies and
//!   accepts the response only with the *exact* origin in
//!   `Access-Control-Allow-Origin` (never `*`) and
//!   `Access-Control-Allow-Credentials: true`. `actix-cors` echoes the
//!   request's origin when it is allowed and adds `Vary: Origin`.
//! * **Reconnects carry `Last-Event-ID`.** Headless Chromium sends it on a
//!   cross-origin reconnect *without* a preflight; allowing the header
//!   anyway answers the `OPTIONS` preflight of a browser or polyfill that
//!   does send one.
//! * An origin that is not allowed gets no CORS headers: the browser keeps
//!   the stream from the page and `EventSource` fails for good (no
//!   reconnect).
//!
//! CORS middleware may sit inside or outside [`SseEdge`](crate::SseEdge).
//!
//! # Limits
//!
//! [`SseEdge`](crate::SseEdge) is a middleware that admits each SSE
//! request before the route's method runs. With [`Limits`](crate::Limits)
//! it caps open streams server-wide, per route and per client address;
//! both pages show how to set them up. Build the `SseEdge` once, outside
//! the `HttpServer` factory, and clone it into every worker's app: the
//! clones share the counts, so a cap holds for the whole server.
//!
//! What a request over a cap gets is chosen per client ([`Shed`](crate::Shed)):
//!
//! | client | answer |
//! | --- | --- |
//! | asks for `text/event-stream` (`EventSource` always does, and so do the polyfills and libraries that follow its spec) | `200` event stream: `: server busy, reconnect later`, a `retry:` drawn evenly from ½ to 1½ × `retry_after`, then its end; the browser comes back after that delay, and shed clients do not return as one wave |
//! | anything else | `503 Service Unavailable` (server or route full) or `429 Too Many Requests` (its address is over its cap), with a jittered `Retry-After` in seconds |
//!
//! A [`route`](crate::Limits::route) cap names the route's pattern as the
//! app registers it, controller prefix and `{placeholders}` included
//! (`"/chat/{room}"`: all rooms share it); a pattern the app does not
//! register is logged as a warning at the first request. A route that
//! refuses the request (returns `Err`) frees its place at once. The client
//! address is the TCP peer's; `X-Forwarded-For` is read only when the peer
//! is one of the proxies named in
//! [`trust_forwarded_for`](crate::Limits::trust_forwarded_for). Other
//! routes pass through `SseEdge` untouched, at the cost of one route
//! lookup; wrap only the SSE controllers (`web::scope("").wrap(edge)`) to
//! spare them even that.
//!
//! # Metrics
//!
//! With the cargo feature `metrics`, streams under an `SseEdge` and the
//! hub are counted through the [`metrics`](https://docs.rs/metrics)
//! facade: the runtime only records, your application installs the
//! exporter, e.g. `metrics-exporter-prometheus`. The facade was chosen over
//! `prometheus-client` because a library should not own the registry: it
//! costs nothing without a recorder, works with any backend (Prometheus,
//! StatsD, ...), and per-stream handles are looked up once, so a chunk
//! costs two atomic adds.
//!
//! ```
//! use actix_web::{web, App, HttpResponse};
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//! use sse_runtime::{metrics, SseEdge};
//!
//! let recorder = PrometheusBuilder::new()
//!     .set_buckets_for_metric(
//!         Matcher::Full(metrics::CLEANUP_LATENCY_SECONDS.to_owned()),
//!         metrics::CLEANUP_LATENCY_BUCKETS,
//!     )
//!     .unwrap()
//!     .build_recorder(); // `.install_recorder()` in a program
//! let handle = recorder.handle();
//! let app = App::new().wrap(SseEdge::new()).route(
//!     "/metrics",
//!     web::get().to(move || {
//!         let body = handle.render();
//!         async move { HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body) }
//!     }),
//! );
//! # drop((recorder, app));
//! ```
//!
//! Every metric, its type and labels are listed in the
//! [`metrics`](../../metrics/index.html) module (feature `metrics`). Their `route` label is the route's
//! pattern (`/chat/{room}`), never the requested path, so the number of
//! series stays that of your routes.
//!
//! # Tracing
//!
//! Under an `SseEdge`, each stream gets a `tracing` span `sse` with `id`
//! (unique per stream in the process), `route`, `path`, `peer` and,
//! behind a trusted proxy, `client`; an `info` event when it opens and one
//! when it closes, with `reason`, `duration`, `events`, `bytes` and
//! `keep_alives`. The route's method and stream run inside the span, so
//! your own log lines carry the same fields. With `tracing-subscriber`'s
//! `fmt` that is a connection log for free:
//!
//! ```text
//! INFO sse{id=2 route="/aim/quick-start" path="/aim/quick-start" peer=127.0.0.1:37756}: SSE stream opened
//! INFO sse{id=2 route="/aim/quick-start" path="/aim/quick-start" peer=127.0.0.1:37756}: SSE stream closed reason="client_left" duration=2.003894916s events=2 bytes=30 keep_alives=0
//! ```
//!
//! The requested path is the client's input and is recorded with `Debug`
//! (quoted, escaped), so a crafted path cannot forge a log line; log user
//! input of your own the same way (`tracing::info!(user = ?id)`). Requests
//! shed by a cap are logged at `debug` only (the metric counts them):
//! under overload a line each would add to the load.
