//! Test helpers shared by the workspace's integration tests, the examples'
//! tests and the benchmarks (not published).
//!
//! * [`serve`] / [`ServerOptions`]: a real actix-web server on
//!   `127.0.0.1:<free port>`, stopped by its [`TestServer`] explicitly or
//!   on drop, on the test's own actix `System` or on a thread of its own;
//! * [`RawRequest`] → [`RawResponse`]: an HTTP/1.1 client over a
//!   `TcpStream` (or TLS over one, feature `tls`) that shows the wire as it
//!   is (chunks, their arrival times, headers in order), sends any header,
//!   and can half-close, reset or stop reading; [`EventReader`] parses its body with
//!   `sse_runtime::parse`, as a browser would;
//! * [`within`] and [`wait_until`]: bounded waits, so that a broken test
//!   fails with a message instead of hanging;
//! * [`call_service`] / [`read_body`]: bounded in-process calls;
//! * `fetch` (feature `reqwest`): bounded helpers around reqwest;
//! * probes ([`Log`], [`Flag`], [`Counter`], [`Gauge`], [`DropGuard`]) that
//!   routes fill in and tests read, and byte-string helpers ([`lossy`],
//!   [`count`], [`contains`]);
//! * [`TraceLog`]: where a test's `tracing` subscriber writes, read back
//!   line by line;
//! * [`ChildGuard`]: a child process killed and reaped when dropped;
//! * [`browser::Browser`] (Unix): headless Chromium over its DevTools
//!   pipe, which loads pages in tabs and takes screenshots, and is ended
//!   with its whole process group when dropped;
//! * features `http2` and `tls`: servers that speak h2c
//!   ([`ServerOptions::h2c`]) or TLS with a certificate made for the run
//!   ([`ServerOptions::tls`], [`TestCert`]).
//!   [`RedisServer`]: a real `redis-server` on a free loopback port, killed
//!   by its PID when dropped.
//!
//! `sse_runtime::test` (the runtime's `testing` feature) is the user-facing
//! way to test a service in-process, without a socket; this crate is the
//! project's own, for what only a real connection shows.
//!
//! ```
//! use actix_web::{web, App};
//! use sse_test_support::{lossy, serve, within, RawRequest, STEP};
//!
//! // In a test file: `#[actix_web::test] async fn ping() { .. }`.
//! async fn ping() {
//!     let server = serve(|| App::new().route("/ping", web::get().to(|| async { "pong" })));
//!     let mut response = RawRequest::get("/ping")
//!         .header("Last-Event-ID", "7")
//!         .send(server.addr())
//!         .await
//!         .unwrap();
//!     assert_eq!(response.status(), 200);
//!     let body = within(STEP, response.body_to_end(STEP)).await.unwrap();
//!     assert_eq!(lossy(&body), "pong");
//!     server.stop().await;
//! }
//! # actix_web::rt::System::new().block_on(ping());
//! ```

#[cfg(unix)]
pub mod browser;
mod events;
#[cfg(feature = "reqwest")]
pub mod fetch;
mod in_process;
mod probe;
mod process;
mod raw;
mod redis_server;
mod server;
mod text;
#[cfg(feature = "tls")]
mod tls;
mod trace_log;
mod wait;

pub use events::{parse_events, EventReader};
pub use in_process::{call_service, read_body};
pub use probe::{rss_kib, rss_kib_of, Counter, DropGuard, Flag, Gauge, Live, Log};
pub use process::ChildGuard;
pub use raw::{BodyStats, Chunk, RawConnection, RawRequest, RawResponse};
pub use redis_server::RedisServer;
pub use server::{serve, AppFactory, ServerOptions, Stop, TestServer};
pub use text::{contains, count, lossy};
#[cfg(feature = "tls")]
pub use tls::TestCert;
pub use trace_log::TraceLog;
pub use wait::{wait_for_answer, wait_until, within, STEP};
