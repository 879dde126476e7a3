//! Slow, stalled and vanished clients: what `.sse_defaults()` does about
//! a client that stops reading, and what it costs.
//!
//! # The problem
//!
//! actix-web stops polling a response body while the connection's write
//! buffer is full, so nothing inside a stream runs (no timer, no
//! keep-alive, no shutdown) for a client that stopped reading. Left alone,
//! such a client keeps its stream forever, holds a server stop for actix's
//! whole shutdown timeout, and makes the kernel buffer megabytes for it
//! (Linux autotunes send buffers up to 4 MiB: 1 000 stalled clients pushed
//! a host into TCP memory pressure).
//!
//! # Policies
//!
//! With [`.sse_defaults()`](crate::SseServerExt::sse_defaults), called on
//! the `HttpServer` **before** `bind`:
//!
//! * **A client that takes none of a stream's bytes for the write timeout
//!   (30 s) is closed**: its connection is shut down, the stream dropped,
//!   its `CleanUp` run, and the reason logged (`warn`, with route and
//!   peer). "Taken" means accepted by the client's TCP stack: a slow but
//!   steady reader is never closed; one whose receive window stays shut,
//!   or that stops acknowledging, is. On Linux the same bound is given to
//!   the kernel (`TCP_USER_TIMEOUT`), which thus drops a client that stops
//!   acknowledging (a phone out of coverage) even while the stream has
//!   nothing queued. The route option `write_timeout` overrides it per
//!   route.
//! * **What one stalled connection holds is bounded**, by back-pressure
//!   rather than by closing: a stream is pulled, not pushed, so its items
//!   are not even asked for while the socket takes nothing, and a fast
//!   producer is held back rather than buffered. The bound is the
//!   send-buffer cap (64 KiB, which Linux books twice: at most 186 KiB was
//!   measured in the kernel's send queue, against 3.8 MiB without the
//!   cap), actix's write buffer (32 KiB by default, `h1_write_buffer_size`)
//!   and the stream's own coalescing buffer (32 KiB, or one event if a
//!   single event is larger).
//! * **A server stop never waits for a stalled client**: a connection
//!   whose client does not take its last bytes within the drain deadline
//!   (500 ms) is shut down (see [the lifecycle](super::lifecycle#server-stop)).
//!
//! The settings, their defaults and how to change them are on
//! [`SseSettings`](crate::SseSettings), applied with
//! [`.sse_settings(..)`](crate::SseServerExt::sse_settings) instead of
//! `.sse_defaults()`.
//!
//! *Why 30 s.* Long enough for a phone to switch networks or ride out a
//! tunnel, and for a browser tab the OS briefly froze; shorter than the
//! 60 s idle timeouts of nginx (`proxy_read_timeout`, `send_timeout`) and
//! AWS load balancers, so that the server, not a proxy in between, decides,
//! and logs why. It is above the 15 s keep-alive, so a client that takes
//! one comment in two is fine. A dropped browser reconnects (with
//! `Last-Event-ID`).
//!
//! # HTTP/2
//!
//! The protections act on the whole connection: the send-buffer cap
//! applies to it once it carries an SSE stream, and a stream that stalls
//! for the write timeout (the client stopped reading the connection, or
//! stopped granting this stream flow-control window) shuts the connection
//! down, ending its other streams too; their browsers reconnect.
//!
//! # How, and what it costs
//!
//! The connection hook that `.sse_defaults()` installs keeps an owned
//! duplicate of each accepted socket (never a bare descriptor number,
//! never polled, never read), used only for socket options and `shutdown`;
//! it is dropped with the connection. One task per worker thread shuts a
//! socket down when a stream's last chunk has waited for it longer than
//! the write timeout; actix's next read and write then fail, and it drops
//! the stream. The fast path costs one clock read per chunk: the
//! one-stream benchmark runs at the same speed with and without it.
//!
//! The duplicate is a second file descriptor per connection, so a hardened
//! server needs an open-files limit above twice the connections it should
//! hold (`ulimit -n`, systemd's `LimitNOFILE=`): 10 000 streams take more
//! than 20 000 descriptors. When no descriptor is left, the hook logs
//! `could not duplicate an accepted socket` and that connection goes
//! unhardened. In memory, the duplicate and the stream's place under the
//! watchdog add about 0.6 KB per stream.
//!
//! # Without the hook
//!
//! On a server without `.sse_defaults()` (or with it called after `bind`)
//! everything else works; streams only lack the write timeout, the
//! send-buffer cap and the drain deadline, and each worker thread logs a
//! warning at its first such stream, naming the fix. The hook recognises
//! plain TCP, Unix sockets and, with the cargo feature `rustls-0_23`,
//! HTTPS through actix-web's `bind_rustls_0_23` (see
//! [production](super::production#http2-and-tls)). If you need an
//! `on_connect` hook of your own, call
//! [`SseSettings::on_connect`](crate::SseSettings::on_connect) from it;
//! for another TLS stack, pass the TCP stream under the TLS layer to
//! [`SseSettings::attach`](crate::SseSettings::attach).
