//! Connection lifecycle figures, ours against actix-web-lab in one run:
//!
//! 1. disconnect → clean-up latency: a client opens an idle SSE stream
//!    (no keep-alive) and closes (FIN) or resets (RST) its socket; we time
//!    until the server dropped the stream (`CleanUp` for ours, a drop guard
//!    in the stream for actix-web-lab, which has no clean-up hook);
//! 2. graceful stop with many open streams: a child process holds the
//!    connections (each process stays under the fd limit), the server stops.
//!
//! `cargo bench -p sse-benches --bench lifecycle`

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{web, App};
use futures_util::stream::{self, Stream, StreamExt};
use sse_benches::report::percentile;
use sse_runtime::{controller, sse, CleanUp};
use sse_test_support::{
    contains, ChildGuard, RawRequest, RawResponse, ServerOptions, Stop, TestServer,
};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const SAMPLES: usize = 200;
const HELD_STREAMS: usize = 10_000;

/// Sends the moment a stream ended.
#[derive(Clone)]
struct Ended(mpsc::UnboundedSender<Instant>);

struct DropSignal(Option<mpsc::UnboundedSender<Instant>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(Instant::now());
        }
    }
}

/// An idle stream after one event.
fn idle(guard: Option<DropSignal>) -> impl Stream<Item = &'static str> {
    stream::once(async { "hello" }).chain(stream::pending().map(move |()| {
        let _guard = &guard;
        ""
    }))
}

#[controller("")]
impl Ended {
    #[sse("idle", keep_alive = false)]
    fn idle(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        let tx = self.0.clone();
        cleanup.add(move || {
            let _ = tx.send(Instant::now());
        });
        idle(None)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Server {
    Ours,
    Lab,
}

/// Starts a server in an actix `System` on its own thread.
fn start(
    which: Server,
    half_closed_detection: bool,
    ended: mpsc::UnboundedSender<Instant>,
) -> TestServer {
    ServerOptions::new()
        .backlog(16_384)
        .max_connections(25_000)
        .shutdown_timeout(10)
        .detect_half_close(half_closed_detection)
        .serve_on_thread(move || {
            let app = App::new();
            match which {
                Server::Ours => app.service(Ended(ended.clone())),
                Server::Lab => {
                    let ended = ended.clone();
                    app.route(
                        "/idle",
                        web::get().to(move || {
                            let guard = DropSignal(Some(ended.clone()));
                            async move {
                                actix_web_lab::sse::Sse::from_stream(idle(Some(guard)).map(|s| {
                                    Ok::<_, std::convert::Infallible>(
                                        actix_web_lab::sse::Data::new(s).into(),
                                    )
                                }))
                            }
                        }),
                    )
                }
            }
        })
}

/// Opens `/idle` and reads its first event.
async fn open_idle(addr: SocketAddr) -> RawResponse {
    let mut response = RawRequest::get("/idle").send(addr).await.expect("request");
    response
        .read_until(b"data: hello\n\n", Duration::from_secs(10))
        .await
        .expect("first event");
    response
}

/// Median and p99 of close → end, or how many closes went unnoticed.
fn latency(client: &Runtime, which: Server, half_closed_detection: bool, reset: bool) -> String {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = start(which, half_closed_detection, tx);
    let addr = server.addr();
    let mut samples = Vec::new();
    let mut missed = 0;
    // Half-closed sockets stay open until the end: a FIN, never an RST.
    let mut half_closed = Vec::new();
    client.block_on(async {
        for _ in 0..SAMPLES {
            let mut response = open_idle(addr).await;
            while rx.try_recv().is_ok() {}
            let closed = Instant::now();
            if reset {
                response.reset().expect("RST");
            } else {
                response.half_close().await.expect("FIN");
                half_closed.push(response);
            }
            match tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
                Ok(Some(at)) => samples.push(at.duration_since(closed)),
                _ => {
                    missed += 1;
                    if missed >= 5 && samples.is_empty() {
                        break;
                    }
                }
            }
        }
        server.stop_with(Stop::Forced).await;
    });
    drop(half_closed);
    if samples.is_empty() {
        return format!("never noticed within 200 ms ({missed} of {missed})");
    }
    samples.sort();
    format!(
        "median {:>8.3} ms   p99 {:>8.3} ms   ({} samples{})",
        percentile(&samples, 0.5).unwrap_or_default().as_secs_f64() * 1e3,
        percentile(&samples, 0.99).unwrap_or_default().as_secs_f64() * 1e3,
        samples.len(),
        if missed > 0 {
            format!(", {missed} not noticed within 200 ms")
        } else {
            String::new()
        }
    )
}

/// Client mode: hold `n` streams open, report, then count how many ended.
fn hold(addr: SocketAddr, n: usize) {
    let client = client_runtime();
    let mut streams = Vec::with_capacity(n);
    client.block_on(async {
        for _ in 0..n {
            streams.push(open_idle(addr).await);
        }
    });
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let hinted = client.block_on(async {
        let mut hinted = 0;
        for mut stream in streams {
            let mut rest = Vec::new();
            // Until the end of the body, the connection closing or a silence
            // far longer than the server's 10 s shutdown timeout.
            while let Ok(Some(chunk)) = stream.next_chunk_within(Duration::from_secs(30)).await {
                rest.extend_from_slice(&chunk);
            }
            if contains(&rest, b"retry:") {
                hinted += 1;
            }
        }
        hinted
    });
    println!("closed {n} hinted {hinted}");
}

/// Time for a graceful stop with `HELD_STREAMS` open streams.
fn graceful_stop(client: &Runtime, which: Server) -> String {
    let (tx, _rx) = mpsc::unbounded_channel();
    let server = start(which, true, tx);
    let addr = server.addr();
    let mut child = ChildGuard::spawn(
        Command::new(std::env::current_exe().expect("exe"))
            .args(["--hold", &addr.to_string(), &HELD_STREAMS.to_string()])
            .stdout(Stdio::piped()),
    )
    .expect("client process");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready", "client failed to open streams");
    let started = Instant::now();
    let how = if which == Server::Ours {
        Stop::EndStreams
    } else {
        Stop::Graceful
    };
    client.block_on(server.stop_with(how));
    let took = started.elapsed();
    line.clear();
    out.read_line(&mut line).expect("result line");
    let _ = child.wait();
    format!("{:>7.3} s   client: {}", took.as_secs_f64(), line.trim())
}

fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--hold") {
        let addr = args[at + 1].parse().expect("address");
        let n = args[at + 2].parse().expect("count");
        return hold(addr, n);
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let client = client_runtime();
    println!("disconnect -> stream dropped / CleanUp ran ({SAMPLES} connections each)");
    for (name, detect) in [
        ("default server settings", false),
        ("with .h1_allow_half_closed(false)", true),
    ] {
        println!("  {name}:");
        for (close, reset) in [("FIN", false), ("RST", true)] {
            println!(
                "    {close}  sse-runtime:   {}",
                latency(&client, Server::Ours, detect, reset)
            );
            println!(
                "    {close}  actix-web-lab: {}",
                latency(&client, Server::Lab, detect, reset)
            );
        }
    }
    println!("graceful stop with {HELD_STREAMS} open streams (actix shutdown_timeout 10 s)");
    println!(
        "  sse-runtime (sse_runtime::stop): {}",
        graceful_stop(&client, Server::Ours)
    );
    println!(
        "  actix-web-lab (handle.stop(true)): {}",
        graceful_stop(&client, Server::Lab)
    );
}
