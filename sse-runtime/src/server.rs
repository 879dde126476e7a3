//! [`SseServerExt`]: one call that sets an actix `HttpServer` up for SSE.

use std::any::Any;
use std::fmt;

use actix_http::Request;
use actix_service::IntoServiceFactory;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Extensions, Response, Service, ServiceFactory};
use actix_web::{Error, HttpServer};

use crate::settings::SseSettings;
use crate::socket;

/// Sets an actix-web [`HttpServer`] up for SSE in one call, so that no piece
/// is forgotten.
///
/// Call it **before** `bind` (actix captures the connection hook when a
/// listener is bound):
///
/// ```no_run
/// use actix_web::{App, HttpServer};
/// use sse_runtime::SseServerExt;
///
/// #[actix_web::main]
/// async fn main() -> std::io::Result<()> {
///     let server = HttpServer::new(|| App::new())
///         .sse_defaults()
///         .bind(("127.0.0.1", 8080))?
///         .run();
///     sse_runtime::serve(server).await
/// }
/// ```
///
/// It applies:
/// * `h1_allow_half_closed(false)`: a client that closes its side of an idle
///   HTTP/1.1 stream is noticed at once, not at the next write;
/// * a connection hook (`on_connect`) that keeps a handle on each accepted
///   socket, through which SSE streams get the [`SseSettings`]: the write
///   timeout, the send-buffer cap, and the drain deadline of a server stop.
///
/// The hook recognises plain TCP (`bind`, `bind_auto_h2c`), Unix sockets
/// (`listen_uds`), and, with this crate's `rustls-0_23` feature, HTTPS
/// through `bind_rustls_0_23`, HTTP/2 by ALPN included:
///
/// ```no_run
/// # async fn run(tls: rustls::ServerConfig) -> std::io::Result<()> {
/// use actix_web::{App, HttpServer};
/// use sse_runtime::SseServerExt;
///
/// // Cargo.toml: sse-runtime = { version = "0.1", features = ["rustls-0_23"] }
/// let server = HttpServer::new(|| App::new())
///     .sse_defaults()
///     .bind_rustls_0_23(("0.0.0.0", 8443), tls)?
///     .run();
/// sse_runtime::serve(server).await
/// # }
/// ```
///
/// For another TLS stack, install your own hook and hand it the TCP stream
/// under the TLS layer ([`SseSettings::attach`]).
///
/// It replaces any `on_connect` hook set before; if you need your own, call
/// [`SseSettings::on_connect`] from it instead. Routes on a server without
/// the hook still work: their streams only lack the write timeout, the
/// send-buffer cap and the drain deadline (a client that stops reading then
/// holds its connection, and a server stop, until actix's own timeouts);
/// each worker thread logs a warning at its first such stream.
pub trait SseServerExt: Sized {
    /// Applies [`SseSettings::default()`]; see the trait docs.
    fn sse_defaults(self) -> Self {
        self.sse_settings(SseSettings::default())
    }

    /// Applies `settings`; see the trait docs.
    fn sse_settings(self, settings: SseSettings) -> Self;
}

impl<F, I, S, B> SseServerExt for HttpServer<F, I, S, B>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    fn sse_settings(self, settings: SseSettings) -> Self {
        self.h1_allow_half_closed(false)
            .on_connect(move |conn, extensions| settings.on_connect(conn, extensions))
    }
}

impl SseSettings {
    /// The connection hook that [`SseServerExt`] installs, for servers that
    /// need an `on_connect` hook of their own: call it from yours.
    ///
    /// It recognises plain TCP connections, Unix sockets on Unix, and, with
    /// the `rustls-0_23` feature, the rustls 0.23 stream of
    /// `bind_rustls_0_23`. For another TLS stack (openssl, say), pass the
    /// TCP stream under the TLS layer to [`attach`](Self::attach) instead.
    ///
    /// ```no_run
    /// use actix_web::{App, HttpServer};
    /// use sse_runtime::SseSettings;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let sse = SseSettings::default();
    /// let server = HttpServer::new(|| App::new())
    ///     .h1_allow_half_closed(false)
    ///     .on_connect(move |conn, extensions| {
    ///         sse.on_connect(conn, extensions);
    ///         // ... your own connection data
    ///     })
    ///     .bind(("127.0.0.1", 8080))?;
    /// # Ok(()) }
    /// ```
    pub fn on_connect(&self, conn: &dyn Any, extensions: &mut Extensions) {
        socket::attach_any(*self, conn, extensions);
    }

    /// Registers `socket`, the transport under a connection (for TLS, the
    /// TCP stream the TLS stream wraps, e.g. `tls_stream.get_ref().0`), from
    /// inside an `on_connect` hook. The socket is duplicated, not taken.
    #[cfg(unix)]
    pub fn attach(&self, socket: &impl std::os::fd::AsFd, extensions: &mut Extensions) {
        socket::attach(*self, socket::dup(socket), extensions);
    }

    /// Registers `socket`, the transport under a connection (for TLS, the
    /// TCP stream the TLS stream wraps, e.g. `tls_stream.get_ref().0`), from
    /// inside an `on_connect` hook. The socket is duplicated, not taken.
    #[cfg(windows)]
    pub fn attach(
        &self,
        socket: &impl std::os::windows::io::AsSocket,
        extensions: &mut Extensions,
    ) {
        socket::attach(*self, socket::dup(socket), extensions);
    }
}
