//! The three contenders, each serving `GET /bench/stream`: `n` ticks as
//! JSON events, produced by an always-ready stream
//! (`stream::iter(0..n).map(..)`) and serialised per event with
//! `serde_json`. Keep-alive comments are off everywhere.
//!
//! Every stream is wrapped in the same [`Metered`] adapter, which reads
//! the serving thread's CPU time when the stream is first polled and when it
//! ends: CPU time per event is far less disturbed by a noisy machine than
//! wall-clock throughput.
//!
//! Each server runs on threads of its own: actix-web (ours and
//! actix-web-lab) on an actix `System` with one worker
//! (`sse-test-support`'s `serve_on_thread`), axum on a tokio
//! current-thread runtime on its own thread.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::{web, App};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse};
use sse_test_support::{ServerOptions, Stop, TestServer};

use crate::Tick;

/// The path every contender serves its stream at.
pub const PATH: &str = "/bench/stream";

/// A server under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// This project: a `#[controller]` with an `#[sse]` route.
    Ours,
    /// `actix_web_lab::sse::Sse::from_stream`.
    ActixWebLab,
    /// `axum::response::sse::Sse::new`.
    Axum,
}

impl Contender {
    /// All contenders, ours first.
    pub const ALL: [Contender; 3] = [Contender::Ours, Contender::ActixWebLab, Contender::Axum];

    /// The name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Ours => "sse-runtime (ours)",
            Contender::ActixWebLab => "actix-web-lab",
            Contender::Axum => "axum",
        }
    }
}

/// Where a [`Metered`] stream leaves the CPU time its thread spent between
/// the stream's first poll and its end.
#[derive(Debug, Clone, Default)]
pub struct CpuMeter(Arc<Mutex<Option<Duration>>>);

impl CpuMeter {
    /// Wraps `stream` so that its serving thread's CPU time is recorded.
    pub fn wrap<S: Stream + Unpin>(&self, stream: S) -> Metered<S> {
        Metered {
            inner: stream,
            start: None,
            meter: self.clone(),
        }
    }

    /// The CPU time of the last stream that ended, if not taken yet.
    pub fn take(&self) -> Option<Duration> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// A stream that measures its thread's CPU time from its first poll to its
/// end; see [`CpuMeter`].
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    start: Option<Duration>,
    meter: CpuMeter,
}

impl<S: Stream + Unpin> Stream for Metered<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        let start = *this
            .start
            .get_or_insert_with(|| cpu_time::ThreadTime::now().as_duration());
        let next = this.inner.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            let spent = cpu_time::ThreadTime::now()
                .as_duration()
                .saturating_sub(start);
            *this.meter.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(spent);
        }
        next
    }
}

/// Our controller: one SSE route streaming `n` ticks, keep-alive off.
#[derive(Debug, Clone)]
pub struct OursController {
    /// Events per response.
    pub n: u64,
    /// Receives each stream's CPU time.
    pub meter: CpuMeter,
}

#[controller("bench")]
impl OursController {
    #[sse("stream", keep_alive = false)]
    fn stream(&self) -> impl Stream<Item = Tick> {
        self.meter.wrap(stream::iter(0..self.n).map(Tick::new))
    }
}

/// actix-web-lab's stream of `n` ticks, JSON through `Data::new_json`.
pub fn actix_web_lab_stream(
    n: u64,
) -> impl Stream<Item = Result<actix_web_lab::sse::Event, serde_json::Error>> + Unpin {
    use actix_web_lab::sse::{Data, Event};
    stream::iter(0..n).map(|seq| Data::new_json(Tick::new(seq)).map(Event::Data))
}

/// axum's stream of `n` ticks, JSON through `Event::json_data`.
pub fn axum_stream(
    n: u64,
) -> impl Stream<Item = Result<axum::response::sse::Event, axum::Error>> + Send + Unpin {
    use axum::response::sse::Event;
    stream::iter(0..n).map(|seq| Event::default().json_data(Tick::new(seq)))
}

enum Running {
    Actix(TestServer),
    Axum {
        stop: tokio::sync::oneshot::Sender<()>,
        thread: JoinHandle<()>,
    },
}

/// A running server; [`Server::stop`] shuts it down and joins its thread.
pub struct Server {
    /// Which contender this is.
    pub contender: Contender,
    /// Where it listens (127.0.0.1, an ephemeral port).
    pub addr: SocketAddr,
    /// CPU time of the serving thread for the last completed stream.
    pub meter: CpuMeter,
    running: Running,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("contender", &self.contender)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Starts `contender` serving `n` events per request.
    ///
    /// # Panics
    /// If the server cannot bind or its thread cannot start.
    pub fn start(contender: Contender, n: u64) -> Server {
        let meter = CpuMeter::default();
        let m = meter.clone();
        match contender {
            Contender::Ours => start_actix(contender, meter, move |cfg| {
                cfg.service(OursController {
                    n,
                    meter: m.clone(),
                });
            }),
            Contender::ActixWebLab => start_actix(contender, meter, move |cfg| {
                let m = m.clone();
                cfg.route(
                    PATH,
                    web::get().to(move || {
                        let stream = m.wrap(actix_web_lab_stream(n));
                        async move { actix_web_lab::sse::Sse::from_stream(stream) }
                    }),
                );
            }),
            Contender::Axum => start_axum(n, meter),
        }
    }

    /// Stops the server and waits for its thread to end. Call it from an
    /// async context (any executor): stopping actix is a future.
    ///
    /// # Panics
    /// If the server thread panicked.
    pub async fn stop(self) {
        match self.running {
            Running::Actix(server) => server.stop_with(Stop::Graceful).await,
            Running::Axum { stop, thread } => {
                let _ = stop.send(());
                thread.join().expect("server thread panicked");
            }
        }
    }
}

fn start_actix<F>(contender: Contender, meter: CpuMeter, configure: F) -> Server
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    // `SSE_BENCH_HARDENED=1`: ours as deployed with `.sse_defaults()`
    // (send-buffer cap, write-timeout watchdog).
    let hardened = contender == Contender::Ours
        && std::env::var_os("SSE_BENCH_HARDENED").is_some_and(|v| v == "1");
    let options =
        ServerOptions::new().sse_settings(hardened.then(sse_runtime::SseSettings::default));
    let server = options.serve_on_thread(move || App::new().configure(configure.clone()));
    Server {
        contender,
        addr: server.addr(),
        meter,
        running: Running::Actix(server),
    }
}

fn start_axum(n: u64, meter: CpuMeter) -> Server {
    let m = meter.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("axum-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .expect("bind 127.0.0.1:0");
                tx.send(listener.local_addr().expect("local addr"))
                    .expect("bench main thread gone");
                let app = axum::Router::new().route(
                    PATH,
                    axum::routing::get(move || {
                        let stream = m.wrap(axum_stream(n));
                        async move { axum::response::sse::Sse::new(stream) }
                    }),
                );
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("axum server failed");
            });
        })
        .expect("spawn server thread");
    let addr = rx.recv().expect("server thread died before binding");
    Server {
        contender: Contender::Axum,
        addr,
        meter,
        running: Running::Axum {
            stop: stop_tx,
            thread,
        },
    }
}
