//! The demo's browser edge: CORS for front-end dev servers on this machine,
//! HTTPS with HTTP/2 (or h2c behind a proxy), connection caps, `/metrics`
//! and a log line per stream.
//!
//! ```no_run
//! use sse_examples::edge::{self, Edge, Transport};
//! use sse_examples::{Config, Examples};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let examples = Examples::new(Config::demo());
//!     let (config, _pem) = edge::self_signed()?;
//!     let edge = Edge {
//!         transport: Transport::Tls(Box::new(config)),
//!         metrics: Some(edge::install_metrics().expect("no recorder yet")),
//!         ..Edge::default()
//!     };
//!     let (server, addr) = edge::serve(&examples, ("127.0.0.1", 8443), 2, edge)?;
//!     println!("https://{addr}/");
//!     sse_runtime::serve(server).await
//! }
//! ```

use std::future::ready;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::header::{self, HeaderName};
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sse_runtime::{Limits, SseEdge, SseServerExt};

use crate::Examples;

/// How the demo listens.
#[derive(Debug, Default)]
pub enum Transport {
    /// Plain HTTP/1.1: what browsers get on `http://`, six connections per
    /// origin at most.
    #[default]
    Http1,
    /// Plain text, HTTP/1.1 or HTTP/2 with prior knowledge (h2c): for a
    /// proxy in front that speaks HTTP/2 to its back ends. Browsers never
    /// use h2c.
    H2c,
    /// HTTPS, HTTP/2 chosen by ALPN (HTTP/1.1 for clients without it):
    /// what browsers need for HTTP/2.
    Tls(Box<rustls::ServerConfig>),
}

/// The demo's edge settings.
#[derive(Debug)]
pub struct Edge {
    /// How the server listens.
    pub transport: Transport,
    /// Caps on open SSE streams.
    pub limits: Limits,
    /// Serves `/metrics` from this recorder when set.
    pub metrics: Option<PrometheusHandle>,
}

impl Default for Edge {
    /// HTTP/1.1, the demo's caps ([`demo_limits`]), no `/metrics`.
    fn default() -> Self {
        Edge {
            transport: Transport::Http1,
            limits: demo_limits(),
            metrics: None,
        }
    }
}

/// The demo's caps: 10 000 streams in all, 256 per client address. Enough
/// for every demo page and test; a runaway script gets the shed answer.
pub fn demo_limits() -> Limits {
    Limits::new()
        .max_streams(10_000)
        .max_streams_per_client(256)
        .retry_after(Duration::from_secs(5))
}

/// `Last-Event-ID`, which a reconnecting `EventSource` sends.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// CORS for front-end dev servers on this machine: any `http://localhost`
/// or `http://127.0.0.1` origin, any port, with credentials (cookies) —
/// nothing else.
///
/// `withCredentials: true` needs the exact origin echoed back with
/// `Access-Control-Allow-Credentials: true` (browsers refuse `*` there);
/// `actix-cors` echoes the request's origin when the predicate accepts it,
/// and adds `Vary: Origin`. `Last-Event-ID` is allowed so that a
/// reconnection's preflight, where a browser sends one, is answered.
pub fn dev_cors() -> Cors {
    Cors::default()
        .allowed_origin_fn(|origin, _| is_local_dev_origin(origin.as_bytes()))
        .allowed_methods(["GET", "POST"])
        .allowed_headers([LAST_EVENT_ID, header::CONTENT_TYPE, header::CACHE_CONTROL])
        .supports_credentials()
        .max_age(600)
}

/// `http://localhost` or `http://127.0.0.1`, with an optional numeric port.
pub fn is_local_dev_origin(origin: &[u8]) -> bool {
    let Some(rest) = origin.strip_prefix(b"http://") else {
        return false;
    };
    let port = rest
        .strip_prefix(b"localhost")
        .or_else(|| rest.strip_prefix(b"127.0.0.1"));
    match port {
        Some([]) => true,
        Some([b':', digits @ ..]) => {
            !digits.is_empty() && digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// Installs the process-wide Prometheus recorder that `/metrics` renders,
/// with histogram buckets for the clean-up latency.
pub fn install_metrics() -> Result<PrometheusHandle, String> {
    PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(sse_runtime::metrics::CLEANUP_LATENCY_SECONDS.to_owned()),
            sse_runtime::metrics::CLEANUP_LATENCY_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|err| format!("cannot install the metrics recorder: {err}"))
}

fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<rustls::ServerConfig> {
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidInput, err))
}

/// A TLS configuration with a self-signed certificate for `localhost` and
/// `127.0.0.1`, made now, and that certificate in PEM (for
/// `curl --cacert`, or a client's trust store in tests).
pub fn self_signed() -> io::Result<(rustls::ServerConfig, String)> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|err| io::Error::other(format!("cannot make a certificate: {err}")))?;
    let pem = made.cert.pem();
    let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let config = server_config(vec![made.cert.der().clone()], key)?;
    Ok((config, pem))
}

/// A TLS configuration from PEM files: a certificate chain and its key.
pub fn load_tls(cert: &Path, key: &Path) -> io::Result<rustls::ServerConfig> {
    let invalid = |what: &Path, err: rustls::pki_types::pem::Error| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {err}", what.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|err| invalid(cert, err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(cert, err))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: no certificate in it", cert.display()),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|err| invalid(key, err))?;
    server_config(certs, key)
}

/// Binds a server for `examples` with `edge`'s transport, caps and
/// metrics, behind [`dev_cors`], with the runtime's connection defaults
/// (`.sse_defaults()`: write timeout, send-buffer cap and drain deadline,
/// over TLS too; half-closed connections closed); returns it
/// (not yet awaited) with the address it listens on.
pub fn serve(
    examples: &Examples,
    addr: impl ToSocketAddrs,
    workers: usize,
    edge: Edge,
) -> io::Result<(Server, SocketAddr)> {
    let examples = examples.clone();
    // One for every worker: the caps count streams server-wide.
    let sse_edge = SseEdge::new().limits(edge.limits);
    let metrics = edge.metrics;
    let server = HttpServer::new(move || {
        let examples = examples.clone();
        let metrics = metrics.clone();
        App::new()
            .wrap(sse_edge.clone())
            .wrap(dev_cors())
            .configure(move |cfg| {
                if let Some(handle) = metrics {
                    cfg.route(
                        "/metrics",
                        web::get().to(move || {
                            ready(
                                HttpResponse::Ok()
                                    .content_type("text/plain; version=0.0.4")
                                    .body(handle.render()),
                            )
                        }),
                    );
                }
                examples.configure(cfg);
            })
    })
    .workers(workers)
    // Under TLS too: sse-runtime's `rustls-0_23` feature lets the hook see
    // the TCP socket under `bind_rustls_0_23`'s stream.
    .sse_defaults()
    .shutdown_timeout(1);
    let server = match edge.transport {
        Transport::Http1 => server.bind(addr)?,
        Transport::H2c => server.bind_auto_h2c(addr)?,
        Transport::Tls(config) => server.bind_rustls_0_23(addr, *config)?,
    };
    let addr = server.addrs().first().copied().ok_or_else(|| {
        io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to listen on")
    })?;
    Ok((server.run(), addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::dev::Service as _;
    use actix_web::http::header::HeaderMap;
    use actix_web::http::{Method, StatusCode};
    use actix_web::test::{init_service, TestRequest};

    #[test]
    fn local_dev_origins_only() {
        for ok in [
            "http://localhost",
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "http://127.0.0.1",
        ] {
            assert!(is_local_dev_origin(ok.as_bytes()), "{ok}");
        }
        for no in [
            "https://localhost:5173",
            "http://localhost.evil.com",
            "http://localhost:5173.evil.com",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.10:80",
            "http://localhost:",
            "http://localhost:123456",
            "http://example.com",
            "null",
        ] {
            assert!(!is_local_dev_origin(no.as_bytes()), "{no}");
        }
    }

    /// The status and headers `dev_cors` gives `req` in front of a route.
    async fn answer(req: TestRequest) -> (StatusCode, HeaderMap) {
        let app = init_service(App::new().wrap(dev_cors()).route(
            "/sse",
            web::get().to(|| async { HttpResponse::Ok().finish() }),
        ))
        .await;
        match app.call(req.to_request()).await {
            Ok(res) => (res.status(), res.headers().clone()),
            Err(err) => {
                let res = err.error_response();
                (res.status(), res.headers().clone())
            }
        }
    }

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
        headers.get(name).and_then(|v| v.to_str().ok())
    }

    #[actix_web::test]
    async fn allowed_origin_gets_credentials() {
        let (status, headers) = answer(
            TestRequest::get()
                .uri("/sse")
                .insert_header((header::ORIGIN, "http://localhost:5173")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some("http://localhost:5173")
        );
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
        assert!(header(&headers, "vary").is_some_and(|v| v.contains("Origin")));
    }

    #[actix_web::test]
    async fn preflight_for_last_event_id_is_answered() {
        let (status, headers) = answer(
            TestRequest::default()
                .method(Method::OPTIONS)
                .uri("/sse")
                .insert_header((header::ORIGIN, "http://127.0.0.1:3000"))
                .insert_header((header::ACCESS_CONTROL_REQUEST_METHOD, "GET"))
                .insert_header((header::ACCESS_CONTROL_REQUEST_HEADERS, "last-event-id")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            Some("http://127.0.0.1:3000")
        );
        assert!(header(&headers, "access-control-allow-headers")
            .is_some_and(|v| v.to_ascii_lowercase().contains("last-event-id")));
        assert_eq!(
            header(&headers, "access-control-allow-credentials"),
            Some("true")
        );
    }

    #[actix_web::test]
    async fn other_origins_are_refused() {
        let (status, headers) = answer(
            TestRequest::get()
                .uri("/sse")
                .insert_header((header::ORIGIN, "http://evil.example")),
        )
        .await;
        // Answered without CORS headers: the browser keeps the response
        // from the page (and `EventSource` fails without reconnecting).
        // Not refused outright, so that a same-origin POST from the demo
        // page under `--tls` (which sends its `https://` origin) works.
        assert_eq!(status, StatusCode::OK);
        assert!(headers.get("access-control-allow-origin").is_none());
    }
}
