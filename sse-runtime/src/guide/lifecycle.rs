//! `CleanUp` and the connection lifecycle: what ends a stream, how soon a
//! client that left is noticed, and how a server stops.
//!
//! # Policies
//!
//! * **Clean-up runs exactly once**, in the order it was added, whatever
//!   ended the connection (table below). The stream itself is dropped
//!   first, so an infinite stream stops doing work; then the callbacks
//!   run. A panicking callback is caught and logged and the others still
//!   run; a callback added after the end runs at once.
//! * **A client that leaves is noticed at once**, not at the next write,
//!   on a server set up with
//!   [`.sse_defaults()`](crate::SseServerExt::sse_defaults).
//! * **A server stop does not wait for infinite streams.** Stopped through
//!   the runtime, every stream ends at once with a hint to reconnect soon.
//!
//! # `CleanUp`
//!
//! Take a [`CleanUp`](crate::CleanUp) parameter (an `#[sse]` method gets
//! it injected; in a plain handler it is an ordinary extractor) and
//! register callbacks with `cleanup.add(|| ..)`, or async work with
//! `cleanup.add_async(async { .. })`. Clones share the callbacks, and
//! `cleanup.closed().await` lets a spawned producer learn that the
//! connection is gone.
//!
//! | what ends a stream | notes |
//! | --- | --- |
//! | the stream finishes | the end frame (see [routes](super::routes)), then the response ends and the connection closes |
//! | an item is an `Err`, or fails to serialise | a final error event (see [items](super::items)), then the end |
//! | the stream panics | a final error event (`internal error`); the panic is logged, other connections are unaffected |
//! | the client stops reading for the write timeout | the connection is shut down and the reason logged (see [slow clients](super::slow_clients)) |
//! | the method returns `Err` | the HTTP error is sent; nothing is streamed |
//! | the client closes (FIN) or resets (RST) the connection | noticed within about a millisecond with `.sse_defaults()` (below); an HTTP/2 stream within ~100 ms (see [production](super::production#http2-and-tls)) |
//! | `max_duration` / `idle_timeout` elapse | the stream ends cleanly |
//! | the server stops | see *Server stop* |
//!
//! # Noticing a client that left
//!
//! actix-web does not notice a client that closes its side of an idle
//! connection until a write fails (actix-web issue 1313).
//! `.sse_defaults()` sets `.h1_allow_half_closed(false)` on your
//! `HttpServer` (you can also set just that), and a FIN or RST on an idle
//! stream is noticed at once: the stream is dropped and `CleanUp` runs
//! within milliseconds. Without it, a reset is still noticed at once, but a
//! plain close only at the *second* write after it: the first write after
//! a close still succeeds (the client's system answers it with a reset),
//! and the one after that fails. With only keep-alive comments flowing
//! (every 15 s by default) that is up to 30 s. The setting makes actix
//! treat a half-closed connection as closed; SSE clients never half-close
//! on purpose.
//!
//! # Server stop
//!
//! actix-web gives handlers no signal when a graceful stop begins, so
//! infinite streams would hold a stop for actix's whole shutdown timeout
//! (30 s). Stop through the runtime instead:
//!
//! * [`serve(server).await`](crate::serve) runs the server and, on SIGINT
//!   or SIGTERM, ends every open SSE stream before actix's own graceful
//!   stop;
//! * [`stop(&handle, graceful).await`](crate::stop) does the same for a
//!   `ServerHandle`;
//! * [`close_streams().await`](crate::close_streams) only ends the
//!   streams.
//!
//! Streams are grouped per actix `System`, so call these from the System
//! that runs the server (a `#[actix_web::main]` program does); two servers
//! in separate Systems, as in parallel tests, never stop each other's
//! streams.
//!
//! Each stream then sends a last `: server shutting down` comment with a
//! `retry:` hint (the route's `retry`, or one second) so browsers
//! reconnect, to the next instance, ends, and runs its `CleanUp`. With
//! `.sse_defaults()` a connection whose client does not take those last
//! bytes within the drain deadline
//! ([`SseSettings::drain_deadline`](crate::SseSettings::drain_deadline),
//! 500 ms) is shut down, so a client that stopped reading never holds the
//! stop. The stop waits (up to 5 s in all) for the streams, their
//! connections and async clean-up work. SSE responses close their
//! connection when the stream ends, so no idle keep-alive connection holds
//! the stop either. A forced stop drops every stream, which runs `CleanUp`
//! too.
