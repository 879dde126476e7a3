//! What a server facing browsers adds: HTTPS with HTTP/2 (a self-signed
//! certificate made at start; load your own in production), CORS for the
//! front end's origin, caps on open streams (`SseEdge` + `Limits`),
//! Prometheus metrics at `/metrics`, a log line per stream, the connection
//! hardening of `.sse_defaults()` and a stop that ends streams first.
//!
//! ```text
//! cargo run -p sse-examples --example production   # PORT=9443 to move it
//! curl -N --cacert <the printed PEM file> https://127.0.0.1:8443/events/ticks
//! curl --cacert <the printed PEM file> https://127.0.0.1:8443/metrics
//! ```
//!
//! Needs sse-runtime's features `metrics` and `rustls-0_23` (so HTTPS
//! connections get the write timeout too), actix-web's `rustls-0_23` and
//! `http2`, and `actix-cors`, `rcgen`, `rustls`, `metrics-exporter-prometheus`.
//! `PORT=0` picks a free port; the first line printed is
//! `listening on https://ADDR`, the second names the certificate's file.

use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::stream::{self, Stream};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use rustls::pki_types::PrivateKeyDer;
use sse_runtime::{controller, metrics, sse, Limits, SseEdge, SseServerExt};

/// The stream the browsers read.
pub struct Ticks;

#[controller("events")]
impl Ticks {
    /// `GET /events/ticks`: a number every second, for an hour at most.
    #[sse("ticks", retry = "3s", max_duration = "1h")]
    fn ticks(&self) -> impl Stream<Item = u64> {
        let every = tokio::time::interval(Duration::from_secs(1));
        stream::unfold((0, every), |(n, mut every)| async move {
            every.tick().await; // the first tick is at once
            Some((n, (n + 1, every)))
        })
    }
}

/// A certificate for `localhost` and `127.0.0.1`, and its PEM.
fn self_signed() -> Result<(rustls::ServerConfig, String), Box<dyn std::error::Error>> {
    let made = rcgen::generate_simple_self_signed(["localhost".into(), "127.0.0.1".into()])?;
    let key = PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key)?;
    Ok((config, made.cert.pem()))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A log line when each stream opens and closes (route, peer, reason).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let metrics = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(metrics::CLEANUP_LATENCY_SECONDS.to_owned()),
            metrics::CLEANUP_LATENCY_BUCKETS,
        )?
        .install_recorder()?;
    // Built once: its clones share the counts, so the caps are server-wide.
    let edge = SseEdge::new().limits(
        Limits::new()
            .max_streams(10_000)
            .max_streams_per_client(16)
            .retry_after(Duration::from_secs(5)),
    );
    let (tls, pem) = self_signed()?;
    let pem_file = std::env::temp_dir().join(format!("sse-production-{}.pem", std::process::id()));
    std::fs::write(&pem_file, pem)?;

    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8443);
    let server = HttpServer::new(move || {
        let metrics = metrics.clone();
        let cors = Cors::default()
            .allowed_origin("https://app.example.com")
            .allowed_methods(["GET"])
            .allowed_header("last-event-id")
            .supports_credentials()
            .max_age(3600);
        App::new()
            .wrap(edge.clone())
            .wrap(cors)
            .service(Ticks)
            .route(
                "/metrics",
                web::get().to(move || {
                    let body = metrics.render();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4")
                            .body(body)
                    }
                }),
            )
    })
    .sse_defaults() // before `bind`: write timeout, send-buffer cap, stop deadline
    .bind_rustls_0_23(("127.0.0.1", port), tls)?; // ALPN offers h2 and http/1.1
    let addr = server.addrs()[0];
    let cert = pem_file.display();
    println!("listening on https://{addr}");
    println!("self-signed certificate: {cert}");
    println!("try: curl -N --cacert {cert} https://{addr}/events/ticks");
    println!("     curl --cacert {cert} https://{addr}/metrics");
    // On Ctrl-C or SIGTERM: streams end with a `retry:` hint, then the stop.
    sse_runtime::serve(server.run()).await?;
    std::fs::remove_file(&pem_file)?;
    Ok(())
}
