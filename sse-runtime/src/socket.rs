//! A handle on a connection's socket, taken when actix accepts it, through
//! which a stream can bound the connection's kernel memory and shut the
//! connection down from outside actix.
//!
//! Why a handle from outside: actix's HTTP/1 dispatcher stops polling a
//! response body while its write buffer is full, so nothing inside the body
//! (no timer, no stop signal) runs for a client that stopped reading. The
//! one thing that still reaches such a connection is its socket: a
//! `shutdown` makes actix's next read and write fail, and actix then drops
//! the body, which runs `CleanUp`.
//!
//! How, without `unsafe` and without disturbing actix:
//! * the handle is an owned duplicate of the socket (`dup`), never a bare
//!   descriptor number, which could be reused by another connection after
//!   actix closes its own;
//! * it is only used for socket options and `shutdown`, which act on the
//!   socket both descriptors share; it is never registered with epoll
//!   (actix's descriptor already is) and never read from or written to;
//! * it lives in the connection's `Extensions`, which actix drops with the
//!   connection, so the duplicate never keeps a finished connection open;
//!   streams hold only a [`Weak`] reference to it.

use std::any::Any;
use std::cell::Cell;
use std::io;
use std::net::Shutdown;
use std::rc::{Rc, Weak};
use std::time::Duration;

use actix_web::dev::Extensions;
use socket2::Socket;
use tokio::sync::Notify;

use crate::settings::SseSettings;

/// What `on_connect` leaves in a connection's `Extensions`.
pub(crate) struct ConnSocket(pub(crate) Rc<Handle>);

/// The socket duplicate and the server's settings.
pub(crate) struct Handle {
    socket: Socket,
    pub(crate) settings: SseSettings,
    /// Set once the stream-specific options are applied (HTTP/2 runs many
    /// streams on one connection).
    capped: Cell<bool>,
    /// Woken when actix drops the connection (and with it this handle).
    closed: Rc<Notify>,
}

#[cfg(test)]
impl Handle {
    /// A handle on `socket` with the default settings, as `attach` makes.
    pub(crate) fn for_test(socket: Socket) -> Rc<Handle> {
        Rc::new(Handle {
            socket,
            settings: SseSettings::default(),
            capped: Cell::new(false),
            closed: Rc::default(),
        })
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.closed.notify_waiters();
    }
}

/// Duplicates the socket of an accepted connection, if it is of a kind this
/// crate knows, and stores the handle in `extensions`: plain TCP, a Unix
/// socket on Unix, and (feature `rustls-0_23`) the TCP stream under
/// actix-tls's rustls 0.23 stream, which is what `bind_rustls_0_23` hands
/// the hook. Other connection types are left alone: their streams run
/// without the socket-level protections; see [`SseSettings::attach`].
///
/// Under TLS the socket is still the right handle: the protections act on
/// the kernel's buffers and on the connection as a whole, beneath the TLS
/// layer, and a `shutdown` there makes actix's TLS reads and writes fail
/// just as it does for plain TCP.
pub(crate) fn attach_any(settings: SseSettings, conn: &dyn Any, extensions: &mut Extensions) {
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        attach(settings, dup(tcp), extensions);
        return;
    }
    #[cfg(feature = "rustls-0_23")]
    if let Some(tls) = conn
        .downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>()
    {
        // `get_ref` is tokio-rustls's: the transport and the TLS session.
        attach(settings, dup(tls.get_ref().0), extensions);
        return;
    }
    #[cfg(unix)]
    if let Some(unix) = conn.downcast_ref::<actix_web::rt::net::UnixStream>() {
        attach(settings, dup(unix), extensions);
    }
}

pub(crate) fn attach(
    settings: SseSettings,
    socket: io::Result<Socket>,
    extensions: &mut Extensions,
) {
    match socket {
        Ok(socket) => {
            extensions.insert(ConnSocket(Rc::new(Handle {
                socket,
                settings,
                capped: Cell::new(false),
                closed: Rc::default(),
            })));
        }
        // Out of descriptors, typically: the connection still works, only
        // without the write timeout and the send-buffer cap.
        Err(err) => tracing::warn!(error = %err, "could not duplicate an accepted socket"),
    }
}

#[cfg(unix)]
pub(crate) fn dup(socket: &impl std::os::fd::AsFd) -> io::Result<Socket> {
    Ok(Socket::from(socket.as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
pub(crate) fn dup(socket: &impl std::os::windows::io::AsSocket) -> io::Result<Socket> {
    Ok(Socket::from(socket.as_socket().try_clone_to_owned()?))
}

impl Handle {
    /// A reference for a stream: it does not keep the socket open.
    pub(crate) fn downgrade(self: &Rc<Self>) -> Weak<Handle> {
        Rc::downgrade(self)
    }

    /// Notified when the connection is dropped.
    pub(crate) fn closed(&self) -> Rc<Notify> {
        self.closed.clone()
    }

    /// Applies the options of a connection that carries an SSE stream: the
    /// send-buffer cap, and (Linux) the write timeout as `TCP_USER_TIMEOUT`,
    /// with which the kernel itself closes the connection once data has
    /// waited that long for an acknowledgement or a window, even in states
    /// where no stream is there to watch (the last bytes after a stream
    /// ended). Failures are logged and otherwise ignored: the stream works
    /// without them.
    pub(crate) fn cap(&self, write_timeout: Option<Duration>) {
        if self.capped.replace(true) {
            return;
        }
        if let Some(bytes) = self.settings.send_buffer
            && let Err(err) = self.socket.set_send_buffer_size(bytes)
        {
            tracing::debug!(error = %err, "could not cap an SSE socket's send buffer");
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(timeout) = write_timeout {
            // Not a Unix socket: the option is TCP's.
            if self
                .socket
                .local_addr()
                .is_ok_and(|a| a.as_socket().is_some())
                && let Err(err) = self.socket.set_tcp_user_timeout(Some(timeout))
            {
                tracing::debug!(error = %err, "could not set TCP_USER_TIMEOUT on an SSE socket");
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = write_timeout;
    }

    /// Ends the connection at once: unsent data is discarded (a zero
    /// linger makes the final close a reset, freeing the kernel buffers of
    /// a client that will never read them), and both directions are shut
    /// so that actix's pending read and write wake up and fail.
    pub(crate) fn abort(&self) {
        let _ = self.socket.set_linger(Some(Duration::ZERO));
        if let Err(err) = self.socket.shutdown(Shutdown::Both) {
            // Already disconnected: actix is about to notice by itself.
            tracing::debug!(error = %err, "shutting down an SSE socket");
        }
    }
}
