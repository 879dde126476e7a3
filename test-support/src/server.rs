//! A real actix-web server on `127.0.0.1:<port chosen by the OS>`, stopped
//! by its [`TestServer`] handle: explicitly with [`TestServer::stop`] /
//! [`TestServer::stop_with`], or on drop (also when the test fails).
//!
//! Two homes for the server:
//!
//! * [`ServerOptions::serve`] spawns it on the *current* actix `System` (call
//!   it inside `#[actix_web::test]`). `sse_runtime` keeps its registry of
//!   open streams per `System`, so this is the home for tests that call
//!   `sse_runtime::stop` or `close_streams` themselves.
//! * [`ServerOptions::serve_on_thread`] runs it in a `System` on a thread of
//!   its own, for callers without an actix runtime (benchmarks) or that must
//!   not share one with the server; [`Stop::EndStreams`] still reaches its
//!   streams because the stop runs inside that `System`.
//!
//! Either way the worker threads are actix's own; `workers(1)` by default.

use std::io;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer};
use tokio::sync::oneshot;

/// How long a stop may take beyond the server's own shutdown timeout:
/// `sse_runtime::stop` gives open streams and their async clean-ups up to
/// 5 s before actix's stop starts.
const STOP_SLACK: Duration = Duration::from_secs(10);

/// actix's default shutdown timeout, assumed for servers built elsewhere
/// ([`TestServer::adopt`]).
const ACTIX_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings for a test server; [`serve`] uses the defaults.
///
/// Defaults: one worker, actix's backlog and connection limit, a 1 s
/// shutdown timeout, signals ignored (a test must not stop on the
/// developer's Ctrl-C of another process), and actix's default for half
/// closed connections (allowed, so a client's FIN on an idle stream goes
/// unnoticed: see [`detect_half_close`](Self::detect_half_close)).
///
/// ```
/// use actix_web::App;
/// use sse_test_support::ServerOptions;
///
/// # actix_web::rt::System::new().block_on(async {
/// let server = ServerOptions::new()
///     .detect_half_close(true)
///     .backlog(4096)
///     .serve(|| App::new());
/// assert!(server.addr().ip().is_loopback());
/// server.stop().await;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct ServerOptions {
    workers: usize,
    backlog: Option<u32>,
    max_connections: Option<usize>,
    shutdown_timeout: u64,
    detect_half_close: bool,
    sse_settings: Option<sse_runtime::SseSettings>,
    transport: Transport,
}

/// What a test server speaks on its port.
#[derive(Debug, Clone)]
enum Transport {
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/1.1, and HTTP/2 with prior knowledge (h2c).
    #[cfg(feature = "http2")]
    H2c,
    /// TLS; HTTP/2 or HTTP/1.1 by ALPN.
    #[cfg(feature = "tls")]
    Tls(Box<crate::tls::TestCert>),
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            workers: 1,
            backlog: None,
            max_connections: None,
            shutdown_timeout: 1,
            detect_half_close: false,
            sse_settings: None,
            transport: Transport::Http1,
        }
    }
}

impl ServerOptions {
    /// The defaults (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// Worker threads (`HttpServer::workers`).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Pending-connection queue length (`HttpServer::backlog`), for tests
    /// that open thousands of connections at once.
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = Some(backlog);
        self
    }

    /// Connections per worker (`HttpServer::max_connections`).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// Seconds a graceful stop waits for open responses
    /// (`HttpServer::shutdown_timeout`).
    pub fn shutdown_timeout(mut self, seconds: u64) -> Self {
        self.shutdown_timeout = seconds;
        self
    }

    /// Whether an HTTP/1.1 client that closes its sending side counts as gone
    /// (`HttpServer::h1_allow_half_closed(!detect)`), so that a FIN on an
    /// idle stream ends it at once.
    pub fn detect_half_close(mut self, detect: bool) -> Self {
        self.detect_half_close = detect;
        self
    }

    /// Sets the server up with `sse_runtime`'s connection hook and these
    /// settings (`SseServerExt::sse_settings`, which also detects half
    /// closes); `None`, the default, leaves the server without the hook.
    pub fn sse_settings(mut self, settings: Option<sse_runtime::SseSettings>) -> Self {
        self.sse_settings = settings;
        self
    }

    /// `sse_runtime`'s connection hook with the default settings: what
    /// `HttpServer::sse_defaults()` sets up in an application.
    pub fn sse_defaults(self) -> Self {
        self.sse_settings(Some(sse_runtime::SseSettings::default()))
    }

    /// Speaks HTTP/2 with prior knowledge (h2c) as well as HTTP/1.1
    /// (`HttpServer::bind_auto_h2c`). Feature `http2`.
    #[cfg(feature = "http2")]
    pub fn h2c(mut self) -> Self {
        self.transport = Transport::H2c;
        self
    }

    /// Serves over TLS with a certificate made now for `127.0.0.1` and
    /// `localhost` (HTTP/2 or HTTP/1.1 by ALPN); [`TestServer::url`] is then
    /// `https://..` and [`TestServer::cert_pem`] gives the certificate to
    /// trust. Feature `tls`.
    #[cfg(feature = "tls")]
    pub fn tls(mut self) -> Self {
        // `TestCert::default()` makes a new certificate.
        self.transport = Transport::Tls(Box::default());
        self
    }

    /// Starts `factory`'s app on the current actix `System`.
    ///
    /// # Panics
    /// Outside an actix `System`, or if `127.0.0.1:0` cannot be bound.
    pub fn serve<F, T, B>(self, factory: F) -> TestServer
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: AppFactory<B>,
        B: MessageBody + 'static,
    {
        assert!(
            actix_rt::System::try_current().is_some(),
            "serve() runs the server on the current actix System: call it inside \
             #[actix_web::test] (or use serve_on_thread)"
        );
        let (server, addr) = self.bind(factory).unwrap_or_else(|err| bind_failed(&err));
        let mut server = TestServer::spawn_here(server, addr, self.shutdown());
        server.cert_pem = self.cert_pem();
        server
    }

    /// Starts `factory`'s app in a new actix `System` on a thread of its
    /// own; works with or without a runtime on the calling thread.
    ///
    /// # Panics
    /// If the thread cannot start or `127.0.0.1:0` cannot be bound.
    pub fn serve_on_thread<F, T, B>(self, factory: F) -> TestServer
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: AppFactory<B>,
        B: MessageBody + 'static,
    {
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let shutdown = self.shutdown();
        let cert_pem = self.cert_pem();
        let thread = std::thread::Builder::new()
            .name("sse-test-server".into())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    let (server, addr) = match self.bind(factory) {
                        Ok(bound) => bound,
                        Err(err) => {
                            let _ = started_tx.send(Err(err));
                            return;
                        }
                    };
                    let started = (addr, server.handle(), actix_rt::System::current());
                    if started_tx.send(Ok(started)).is_err() {
                        return;
                    }
                    // Ends when the server has stopped; its error (a worker
                    // that failed to start) already showed in the log.
                    let _ = server.await;
                });
            })
            .unwrap_or_else(|err| panic!("cannot start the server thread: {err}"));
        let (addr, handle, system) = match started_rx.recv() {
            Ok(Ok(started)) => started,
            Ok(Err(err)) => bind_failed(&err),
            Err(_) => panic!("the server thread ended before it was listening"),
        };
        TestServer {
            addr,
            handle,
            shutdown,
            home: Home::Thread {
                system,
                thread: Some(thread),
            },
            cert_pem,
        }
    }

    fn bind<F, T, B>(&self, factory: F) -> io::Result<(Server, SocketAddr)>
    where
        F: Fn() -> App<T> + Send + Clone + 'static,
        T: AppFactory<B>,
        B: MessageBody + 'static,
    {
        let mut server = HttpServer::new(factory)
            .workers(self.workers)
            .disable_signals()
            .shutdown_timeout(self.shutdown_timeout)
            .h1_allow_half_closed(!self.detect_half_close);
        // These must come before `bind`, which creates the listener.
        if let Some(backlog) = self.backlog {
            server = server.backlog(backlog);
        }
        if let Some(max) = self.max_connections {
            server = server.max_connections(max);
        }
        if let Some(settings) = self.sse_settings {
            server = sse_runtime::SseServerExt::sse_settings(server, settings);
        }
        let loopback = ("127.0.0.1", 0);
        let server = match &self.transport {
            Transport::Http1 => server.bind(loopback)?,
            #[cfg(feature = "http2")]
            Transport::H2c => server.bind_auto_h2c(loopback)?,
            #[cfg(feature = "tls")]
            Transport::Tls(cert) => server.bind_rustls_0_23(loopback, cert.server_config())?,
        };
        let addr = server.addrs().first().copied().ok_or_else(|| {
            io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to listen on")
        })?;
        Ok((server.run(), addr))
    }

    fn shutdown(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout)
    }

    /// The certificate a TLS server presents, in PEM.
    fn cert_pem(&self) -> Option<String> {
        match &self.transport {
            #[cfg(feature = "tls")]
            Transport::Tls(cert) => Some(cert.pem().to_owned()),
            _ => None,
        }
    }
}

/// The service factory of an [`App`] that `HttpServer` can serve: what
/// `App::new().service(..)` builds. Named once so that the bounds of
/// [`serve`] stay readable.
pub trait AppFactory<B>:
    ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<B>,
        Error = actix_web::Error,
        InitError = (),
    > + 'static
{
}

impl<T, B> AppFactory<B> for T where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static
{
}

/// Starts `factory`'s app on the current actix `System` with the default
/// [`ServerOptions`].
///
/// ```
/// use actix_web::{web, App};
/// use sse_test_support::{serve, RawRequest, STEP};
///
/// # actix_web::rt::System::new().block_on(async {
/// let server = serve(|| App::new().route("/", web::get().to(|| async { "hi" })));
/// let mut response = RawRequest::get("/").send(server.addr()).await.unwrap();
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.body_to_end(STEP).await.unwrap(), b"hi");
/// server.stop().await;
/// # });
/// ```
///
/// # Panics
/// Outside an actix `System`, or if `127.0.0.1:0` cannot be bound.
pub fn serve<F, T, B>(factory: F) -> TestServer
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: AppFactory<B>,
    B: MessageBody + 'static,
{
    ServerOptions::new().serve(factory)
}

/// How [`TestServer::stop_with`] stops the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `ServerHandle::stop(false)`: open connections are closed at once.
    Forced,
    /// `ServerHandle::stop(true)`: actix waits up to the shutdown timeout
    /// for open responses to finish.
    Graceful,
    /// `sse_runtime::stop(handle, true)`, run in the server's `System`: every
    /// open SSE stream ends with its shutdown frame first, then the
    /// graceful stop finds nothing left to wait for.
    EndStreams,
}

enum Home {
    /// Spawned on the test's own `System`.
    Current,
    /// Running in a `System` on its own thread; `None` once joined.
    Thread {
        system: actix_rt::System,
        thread: Option<JoinHandle<()>>,
    },
}

/// A running test server. Dropping it starts a forced stop (and, for a
/// server on its own thread, waits a bounded time for that thread).
pub struct TestServer {
    addr: SocketAddr,
    handle: ServerHandle,
    shutdown: Duration,
    home: Home,
    /// The certificate of a TLS server (PEM).
    cert_pem: Option<String>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("own_thread", &matches!(self.home, Home::Thread { .. }))
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// Takes charge of a server built elsewhere (e.g. by an application's
    /// own `serve` function) that listens on `addr`, and spawns it on the
    /// current actix `System`. Its shutdown timeout is taken to be actix's
    /// default (30 s) when bounding a stop.
    ///
    /// # Panics
    /// Outside an actix `System`.
    pub fn adopt(server: Server, addr: SocketAddr) -> TestServer {
        assert!(
            actix_rt::System::try_current().is_some(),
            "TestServer::adopt spawns the server on the current actix System: \
             call it inside #[actix_web::test]"
        );
        TestServer::spawn_here(server, addr, ACTIX_SHUTDOWN_TIMEOUT)
    }

    fn spawn_here(server: Server, addr: SocketAddr, shutdown: Duration) -> TestServer {
        let handle = server.handle();
        actix_rt::spawn(server);
        TestServer {
            addr,
            handle,
            shutdown,
            home: Home::Current,
            cert_pem: None,
        }
    }

    /// Where the server listens: `127.0.0.1` and the port the OS chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr><path>` (`https://` for a TLS server); `path` starts
    /// with `/`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.cert_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// The certificate a TLS server ([`ServerOptions::tls`]) presents, in
    /// PEM; `None` for a server without TLS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// actix's handle, for what this type does not cover (pausing the
    /// accept loop, say).
    pub fn handle(&self) -> &ServerHandle {
        &self.handle
    }

    /// [`Stop::Forced`]: closes open connections and waits until the server
    /// has stopped.
    ///
    /// # Panics
    /// If the server has not stopped within its shutdown timeout plus 10 s.
    pub async fn stop(self) {
        self.stop_with(Stop::Forced).await;
    }

    /// Stops the server `how` and waits until it has stopped (for a server on
    /// its own thread: until that thread has ended). Call it from any async
    /// context.
    ///
    /// # Panics
    /// If the server has not stopped within its shutdown timeout plus 10 s,
    /// or its thread panicked.
    pub async fn stop_with(mut self, how: Stop) {
        let limit = self.shutdown + STOP_SLACK;
        let handle = self.handle.clone();
        match &mut self.home {
            Home::Current => {
                let stopped = tokio::time::timeout(limit, stop(handle, how)).await;
                assert!(stopped.is_ok(), "the server did not stop within {limit:?}");
            }
            Home::Thread { system, thread } => {
                let (done_tx, done_rx) = oneshot::channel();
                // `sse_runtime::stop` finds the streams of the `System` it
                // runs in: the server's, not the caller's.
                system.arbiter().spawn(async move {
                    stop(handle, how).await;
                    let _ = done_tx.send(());
                });
                // A closed channel says the same as a message: the server
                // future returned and its `System` went down, with the task.
                let stopped = tokio::time::timeout(limit, done_rx).await;
                assert!(stopped.is_ok(), "the server did not stop within {limit:?}");
                if let Some(thread) = thread.take() {
                    // The server future has returned: the thread is only
                    // tearing its `System` down.
                    thread.join().expect("the server thread panicked");
                }
            }
        }
    }
}

async fn stop(handle: ServerHandle, how: Stop) {
    match how {
        Stop::Forced => handle.stop(false).await,
        Stop::Graceful => handle.stop(true).await,
        Stop::EndStreams => sse_runtime::stop(&handle, true).await,
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // The command is sent by the call itself; the future would only wait
        // for completion. Stopping twice is harmless.
        drop(self.handle.stop(false));
        if let Home::Thread { thread, .. } = &mut self.home
            && let Some(thread) = thread.take()
        {
            // Bounded: a drop during a failing test must not hang it.
            let deadline = Instant::now() + self.shutdown + STOP_SLACK;
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

fn bind_failed(err: &io::Error) -> ! {
    panic!("cannot listen on 127.0.0.1:0: {err}")
}
