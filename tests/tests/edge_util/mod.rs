//! Helpers of the browser-edge tests (`edge_*.rs`): a real server on
//! `127.0.0.1:0` over HTTP/1.1, h2c or TLS (HTTP/2 by ALPN), and reqwest
//! clients for each.
//!
//! Every wait in here is bounded: nothing can hang a test.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use sse_runtime::SseServerExt;
use tokio::time::timeout;

/// The bound on one network step when nothing slower is expected.
pub const STEP: Duration = Duration::from_secs(5);

/// Awaits `fut` for at most `limit`, panicking with `what` on timeout.
pub async fn within<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match timeout(limit, fut).await {
        Ok(out) => out,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// How a test server listens.
pub enum Transport {
    Http1,
    H2c,
    /// HTTPS with a certificate made now; HTTP/2 by ALPN.
    Tls,
}

/// A running server; dropping it requests a forced stop.
pub struct Server {
    pub addr: SocketAddr,
    /// The certificate (PEM) a TLS server presents.
    pub cert_pem: Option<String>,
    handle: ServerHandle,
}

/// Starts `factory`'s app on a fresh loopback port, with one worker. Must
/// be called inside an actix System (an `#[actix_web::test]` function).
pub fn serve<F, T, B>(transport: Transport, factory: F) -> Server
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let server = HttpServer::new(factory)
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .sse_defaults();
    let addr = ("127.0.0.1", 0);
    let (server, cert_pem) = match transport {
        Transport::Http1 => (server.bind(addr), None),
        Transport::H2c => (server.bind_auto_h2c(addr), None),
        Transport::Tls => {
            let (config, pem) = self_signed();
            (server.bind_rustls_0_23(addr, config), Some(pem))
        }
    };
    let server = server.expect("bind 127.0.0.1:0");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Server {
        addr,
        cert_pem,
        handle,
    }
}

impl Server {
    /// `http(s)://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.cert_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// A client for this server: HTTP/2 with prior knowledge for h2c,
    /// trusting the server's certificate for TLS.
    pub fn client(&self, h2_prior_knowledge: bool) -> reqwest::Client {
        let mut builder = reqwest::Client::builder().no_proxy().connect_timeout(STEP);
        if h2_prior_knowledge {
            builder = builder.http2_prior_knowledge();
        }
        if let Some(pem) = &self.cert_pem {
            let cert =
                reqwest::Certificate::from_pem(pem.as_bytes()).expect("the test certificate");
            builder = builder
                .use_rustls_tls()
                .tls_built_in_root_certs(false)
                .add_root_certificate(cert);
        }
        builder.build().expect("reqwest client")
    }

    /// Stops the server, forcibly closing open connections (bounded).
    pub async fn stop(self) {
        let _ = timeout(Duration::from_secs(2), self.handle.stop(false)).await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// A rustls configuration with a self-signed certificate for `127.0.0.1`
/// and `localhost`, and that certificate in PEM.
pub fn self_signed() -> (rustls::ServerConfig, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("a self-signed certificate");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![made.cert.der().clone()], key)
    .expect("the certificate and key");
    (config, made.cert.pem())
}

/// Reads `response` until it ends, at most `limit`.
pub async fn body_within(response: reqwest::Response, limit: Duration) -> String {
    let bytes = within(limit, "a whole body", response.bytes())
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The next chunk of `response` (`None` at its end), at most [`STEP`].
pub async fn next_chunk(response: &mut reqwest::Response) -> Option<String> {
    within(STEP, "a chunk", response.chunk())
        .await
        .expect("chunk")
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}
