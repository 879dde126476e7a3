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

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp};

const SAMPLES: usize = 200;
const HELD_STREAMS: usize = 10_000;

/// Sends the moment a stream ended.
#[derive(Clone)]
struct Ended(mpsc::Sender<Instant>);

struct DropSignal(Option<mpsc::Sender<Instant>>);

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

/// Starts a server on its own thread; returns its address and handle.
fn start(which: Server, half_closed_detection: bool, ended: mpsc::Sender<Instant>) -> Running {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
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
                                    actix_web_lab::sse::Sse::from_stream(idle(Some(guard)).map(
                                        |s| {
                                            Ok::<_, std::convert::Infallible>(
                                                actix_web_lab::sse::Data::new(s).into(),
                                            )
                                        },
                                    ))
                                }
                            }),
                        )
                    }
                }
            })
            .workers(1)
            .backlog(16_384)
            .max_connections(25_000)
            .shutdown_timeout(10)
            .h1_allow_half_closed(!half_closed_detection)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .expect("bind");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle(), actix_rt::System::current()))
                .expect("report address");
            let _ = server.await;
        });
    });
    let (addr, handle, system) = rx.recv().expect("server started");
    Running {
        addr,
        handle,
        system,
        thread,
    }
}

/// A server on its own thread and actix `System`.
struct Running {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    system: actix_rt::System,
    thread: std::thread::JoinHandle<()>,
}

impl Running {
    /// Stops the server from inside its own `System` (where
    /// `sse_runtime::stop` finds its streams) and waits until it has stopped.
    fn stop(self, graceful: bool, through_runtime: bool) {
        let handle = self.handle;
        self.system.arbiter().spawn(async move {
            if through_runtime {
                sse_runtime::stop(&handle, graceful).await;
            } else {
                handle.stop(graceful).await;
            }
            actix_rt::System::current().stop();
        });
        self.thread.join().expect("server thread");
    }
}

fn open_idle(addr: SocketAddr) -> TcpStream {
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket
        .write_all(b"GET /idle HTTP/1.1\r\nHost: bench\r\n\r\n")
        .expect("request");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(13).any(|w| w == b"data: hello\n\n") {
        let n = socket.read(&mut buf).expect("read");
        assert!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
    }
    socket
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Median and p99 of close → end, or how many closes went unnoticed.
fn latency(which: Server, half_closed_detection: bool, reset: bool) -> String {
    let (tx, rx) = mpsc::channel();
    let server = start(which, half_closed_detection, tx);
    let addr = server.addr;
    let mut samples = Vec::new();
    let mut missed = 0;
    for _ in 0..SAMPLES {
        let socket = open_idle(addr);
        while rx.try_recv().is_ok() {}
        let closed = Instant::now();
        if reset {
            socket2::SockRef::from(&socket)
                .set_linger(Some(Duration::ZERO))
                .expect("linger");
            drop(socket);
        } else {
            socket.shutdown(std::net::Shutdown::Write).expect("fin");
            std::mem::forget(socket); // keep the fd: a FIN, never an RST
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(at) => samples.push(at.duration_since(closed)),
            Err(_) => {
                missed += 1;
                if missed >= 5 && samples.is_empty() {
                    break;
                }
            }
        }
    }
    server.stop(false, false);
    if samples.is_empty() {
        return format!("never noticed within 200 ms ({missed} of {missed})");
    }
    samples.sort();
    format!(
        "median {:>8.3} ms   p99 {:>8.3} ms   ({} samples{})",
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
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
    let mut sockets = Vec::with_capacity(n);
    for _ in 0..n {
        sockets.push(open_idle(addr));
    }
    println!("ready");
    std::io::stdout().flush().expect("flush");
    let mut hinted = 0;
    for mut socket in sockets {
        let mut rest = Vec::new();
        let _ = socket.read_to_end(&mut rest);
        if rest.windows(6).any(|w| w == b"retry:") {
            hinted += 1;
        }
    }
    println!("closed {n} hinted {hinted}");
}

/// Time for a graceful stop with `HELD_STREAMS` open streams.
fn graceful_stop(which: Server) -> String {
    let (tx, _rx) = mpsc::channel();
    let server = start(which, true, tx);
    let addr = server.addr;
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .args(["--hold", &addr.to_string(), &HELD_STREAMS.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("client process");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line.trim(), "ready", "client failed to open streams");
    let started = Instant::now();
    server.stop(true, which == Server::Ours);
    let took = started.elapsed();
    line.clear();
    out.read_line(&mut line).expect("result line");
    let _ = child.wait();
    format!("{:>7.3} s   client: {}", took.as_secs_f64(), line.trim())
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
    println!("disconnect -> stream dropped / CleanUp ran ({SAMPLES} connections each)");
    for (name, detect) in [
        ("default server settings", false),
        ("with .h1_allow_half_closed(false)", true),
    ] {
        println!("  {name}:");
        for (close, reset) in [("FIN", false), ("RST", true)] {
            println!(
                "    {close}  sse-runtime:   {}",
                latency(Server::Ours, detect, reset)
            );
            println!(
                "    {close}  actix-web-lab: {}",
                latency(Server::Lab, detect, reset)
            );
        }
    }
    println!("graceful stop with {HELD_STREAMS} open streams (actix shutdown_timeout 10 s)");
    println!(
        "  sse-runtime (sse_runtime::stop): {}",
        graceful_stop(Server::Ours)
    );
    println!(
        "  actix-web-lab (handle.stop(true)): {}",
        graceful_stop(Server::Lab)
    );
}
