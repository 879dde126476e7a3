//! Bounded helpers around a `reqwest` client (feature `reqwest`): an
//! independent, real-world HTTP client next to this crate's raw one.
//!
//! Each helper panics with the caller's line when a step fails or takes
//! longer than [`STEP`] (or the limit given): a test wants the failure, not
//! a `Result`.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use tokio::time::{timeout, timeout_at, Instant};

use crate::server::TestServer;
use crate::text::{contains, lossy};
use crate::wait::STEP;

/// A client that never uses a proxy nor keeps idle connections (each test
/// sees fresh connections) and gives up connecting after [`STEP`].
///
/// # Panics
/// If reqwest cannot build the client.
pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .connect_timeout(STEP)
        .build()
        .expect("reqwest client")
}

/// A client for `server`: HTTP/2 with prior knowledge when
/// `h2_prior_knowledge` (for an h2c server; feature `http2`), and for a TLS
/// server one that trusts exactly its certificate (feature `tls`). It never
/// uses a proxy and gives up connecting after [`STEP`]; unlike [`client`] it
/// keeps idle connections, so that HTTP/2 requests share one.
///
/// # Panics
/// If `h2_prior_knowledge` is asked for without the `http2` feature, or
/// reqwest cannot build the client.
pub fn client_for(server: &TestServer, h2_prior_knowledge: bool) -> Client {
    let mut builder = Client::builder().no_proxy().connect_timeout(STEP);
    if h2_prior_knowledge {
        #[cfg(feature = "http2")]
        {
            builder = builder.http2_prior_knowledge();
        }
        #[cfg(not(feature = "http2"))]
        panic!("HTTP/2 prior knowledge needs sse-test-support's `http2` feature");
    }
    if let Some(pem) = server.cert_pem() {
        builder = trust(builder, pem);
    }
    builder.build().expect("reqwest client")
}

#[cfg(feature = "tls")]
fn trust(builder: reqwest::ClientBuilder, pem: &str) -> reqwest::ClientBuilder {
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("the test certificate");
    builder
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(cert)
}

#[cfg(not(feature = "tls"))]
fn trust(_: reqwest::ClientBuilder, _: &str) -> reqwest::ClientBuilder {
    // A server only has a certificate when the `tls` feature made one.
    unreachable!("a TLS test server without the `tls` feature")
}

/// `GET url` with [`client`], waiting at most [`STEP`] for the response
/// head.
///
/// ```no_run
/// # async fn example(server: sse_test_support::TestServer) {
/// use sse_test_support::fetch::{get, text};
///
/// let response = get(&server.url("/ping")).await;
/// assert_eq!(response.status(), 200);
/// assert_eq!(text(response).await, "pong");
/// # }
/// ```
///
/// # Panics
/// If the request fails or takes longer.
#[track_caller]
pub fn get(url: &str) -> impl Future<Output = Response> {
    send(client().get(url))
}

/// Sends `request`, waiting at most [`STEP`] for the response head.
///
/// # Panics
/// If the request fails or takes longer.
#[track_caller]
pub fn send(request: RequestBuilder) -> impl Future<Output = Response> {
    let caller = Location::caller();
    async move {
        match timeout(STEP, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => panic!("request failed: {err} (at {caller})"),
            Err(_) => panic!("no response head within {STEP:?} (at {caller})"),
        }
    }
}

/// The whole body of a finite response, waiting at most [`STEP`].
///
/// # Panics
/// If the body fails or takes longer.
#[track_caller]
pub fn body(response: Response) -> impl Future<Output = Vec<u8>> {
    let caller = Location::caller();
    async move {
        match timeout(STEP, response.bytes()).await {
            Ok(Ok(bytes)) => bytes.to_vec(),
            Ok(Err(err)) => panic!("body failed: {err} (at {caller})"),
            Err(_) => panic!("the body did not end within {STEP:?} (at {caller})"),
        }
    }
}

/// The whole body as UTF-8 text, waiting at most [`STEP`].
///
/// # Panics
/// If the body fails, takes longer or is not UTF-8.
#[track_caller]
pub fn text(response: Response) -> impl Future<Output = String> {
    let caller = Location::caller();
    let body = body(response);
    async move {
        String::from_utf8(body.await)
            .unwrap_or_else(|err| panic!("the body is not UTF-8: {err} (at {caller})"))
    }
}

/// Everything received within `duration`, or until the body ends.
///
/// # Panics
/// If the body fails.
#[track_caller]
pub fn read_for(response: &mut Response, duration: Duration) -> impl Future<Output = Vec<u8>> + '_ {
    let caller = Location::caller();
    async move {
        let deadline = Instant::now() + duration;
        let mut received = Vec::new();
        while let Ok(chunk) = timeout_at(deadline, response.chunk()).await {
            match chunk {
                Ok(Some(bytes)) => received.extend_from_slice(&bytes),
                Ok(None) => break,
                Err(err) => panic!("body failed: {err} (at {caller})"),
            }
        }
        received
    }
}

/// Reads until what this call received contains `needle`; returns all of
/// it.
///
/// # Panics
/// If the body fails or ends first, or after `limit`; the message shows
/// what arrived.
#[track_caller]
pub fn read_until<'a>(
    response: &'a mut Response,
    needle: &'a [u8],
    limit: Duration,
) -> impl Future<Output = Vec<u8>> + 'a {
    let caller = Location::caller();
    async move {
        let deadline = Instant::now() + limit;
        let mut received = Vec::new();
        while !contains(&received, needle) {
            let failure = match timeout_at(deadline, response.chunk()).await {
                Ok(Ok(Some(bytes))) => {
                    received.extend_from_slice(&bytes);
                    continue;
                }
                Ok(Ok(None)) => "the body ended".to_owned(),
                Ok(Err(err)) => format!("body failed: {err}"),
                Err(_) => format!("{limit:?} passed"),
            };
            panic!(
                "{failure} before {:?} arrived; received {:?} (at {caller})",
                lossy(needle),
                lossy(&received)
            );
        }
        received
    }
}
