//! Clients that stop reading, measured over loopback (Linux: it reads
//! `/proc/net/sockstat` and `/proc/net/tcp`):
//!
//! 1. 1 000 clients open a fast infinite stream and never read, while 10
//!    clients read a stream of one event per 10 ms: time until every stalled
//!    stream is dropped (write timeout 2 s), kernel TCP memory at its peak
//!    (`TCP: mem`, pages, above the level before the run), the largest send
//!    queue of a stalled server socket, and the longest gap any reading
//!    client saw meanwhile;
//! 2. a graceful stop (`sse_runtime::stop`) with 1 000 reading streams and
//!    100 stalled ones, under the default settings;
//! 3. for contrast, the same stall without the connection hook (a plain
//!    actix server), with 100 stalled clients to keep the load bounded:
//!    nothing is dropped and the kernel memory per client is far larger.
//!
//! `cargo bench -p sse-benches --bench stalled`
//! (`SSE_PROBE_STALLED=1000`, `SSE_PROBE_WRITE_TIMEOUT_MS=2000` to change.)

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use futures_util::stream::{self, Stream, StreamExt};
use sse_benches::env_u64;
use sse_runtime::{controller, sse, CleanUp, SseServerExt, SseSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READERS_DURING_STALL: usize = 10;
const READERS_AT_STOP: usize = 1_000;
const STALLED_AT_STOP: usize = 100;
const STALLED_UNHOOKED: usize = 100;

/// Counts the streams whose `CleanUp` ran.
#[derive(Clone, Default)]
struct Probe {
    cleanups: Arc<AtomicUsize>,
}

#[controller("")]
impl Probe {
    /// ~100-byte events as fast as the socket takes them.
    #[sse("fast")]
    fn fast(&self, cleanup: CleanUp) -> impl Stream<Item = String> {
        self.track(&cleanup);
        stream::iter(0u64..).map(|i| format!("{i:0>100}"))
    }

    /// One small event every `ms` milliseconds.
    #[sse("ticks/{ms}")]
    fn ticks(&self, ms: actix_web::web::Path<u64>, cleanup: CleanUp) -> impl Stream<Item = u64> {
        self.track(&cleanup);
        let every = Duration::from_millis(ms.into_inner());
        stream::iter(0u64..).then(move |i| async move {
            tokio::time::sleep(every).await;
            i
        })
    }
}

impl Probe {
    fn track(&self, cleanup: &CleanUp) {
        let cleanups = self.cleanups.clone();
        cleanup.add(move || {
            cleanups.fetch_add(1, Ordering::SeqCst);
        });
    }

    fn cleanups(&self) -> usize {
        self.cleanups.load(Ordering::SeqCst)
    }
}

/// A server on its own thread and actix `System`, one worker.
struct Running {
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    system: actix_rt::System,
    thread: std::thread::JoinHandle<()>,
}

fn start(probe: Probe, settings: Option<SseSettings>) -> Running {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let server = HttpServer::new(move || App::new().service(probe.clone()))
                .workers(1)
                .backlog(4096)
                .max_connections(25_000)
                .shutdown_timeout(5)
                .disable_signals();
            let server = match settings {
                Some(settings) => server.sse_settings(settings),
                None => server.h1_allow_half_closed(false),
            };
            let server = server.bind(("127.0.0.1", 0)).expect("bind");
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

impl Running {
    /// `sse_runtime::stop(graceful)` from inside the server's System; returns
    /// how long until the server had stopped, and how long of that the
    /// streams and their connections took (`close_streams`).
    fn stop(self) -> (Duration, Duration) {
        let started = Instant::now();
        let handle = self.handle;
        let (tx, rx) = mpsc::channel();
        self.system.arbiter().spawn(async move {
            sse_runtime::close_streams().await;
            let _ = tx.send(started.elapsed());
            sse_runtime::stop(&handle, true).await;
            actix_rt::System::current().stop();
        });
        self.thread.join().expect("server thread");
        let took = started.elapsed();
        (took, rx.recv().unwrap_or(took))
    }
}

/// `TCP: mem` of `/proc/net/sockstat`, in pages.
fn tcp_mem_pages() -> u64 {
    std::fs::read_to_string("/proc/net/sockstat")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("TCP:"))?.to_owned();
            let mut words = line.split_whitespace();
            words.find(|w| *w == "mem")?;
            words.next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The largest send queue (bytes) among sockets whose local port is `port`,
/// from `/proc/net/tcp` (`tx_queue` column).
fn largest_send_queue(port: u16) -> u64 {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return 0;
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1)?;
            let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            let queues = cols.nth(2)?;
            let tx = u64::from_str_radix(queues.split(':').next()?, 16).ok()?;
            (local_port == port).then_some(tx)
        })
        .max()
        .unwrap_or(0)
}

/// Connects, asks for `path` and reads until the first event: the stream
/// is under way.
async fn open(addr: SocketAddr, path: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: probe\r\n\r\n").as_bytes())
        .await
        .expect("request");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(6).any(|w| w == b"data: ") {
        let n = socket.read(&mut buf).await.expect("read");
        assert!(n > 0, "closed before the first event");
        seen.extend_from_slice(&buf[..n]);
    }
    socket
}

/// Reads `socket` until it ends, `until` passes or the shutdown comment
/// arrives (returns whether it did); keeps the longest gap between two
/// reads, in microseconds, in `longest_gap`.
async fn read(mut socket: TcpStream, until: Instant, longest_gap: Arc<AtomicU64>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    let mut last = Instant::now();
    let mut tail = Vec::new();
    while let Ok(Ok(n)) = tokio::time::timeout_at(until.into(), socket.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        let now = Instant::now();
        let gap = u64::try_from((now - last).as_micros()).unwrap_or(u64::MAX);
        longest_gap.fetch_max(gap, Ordering::Relaxed);
        last = now;
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(22).any(|w| w == b": server shutting down") {
            return true;
        }
        let keep = tail.len().saturating_sub(32);
        tail.drain(..keep);
    }
    false
}

/// Samples the peak of `TCP: mem` and of the server's largest send queue
/// until `done` holds.
async fn peak_while(port: u16, mut done: impl FnMut() -> bool) -> (u64, u64) {
    let (mut mem, mut queue) = (0, 0);
    while !done() {
        mem = mem.max(tcp_mem_pages());
        queue = queue.max(largest_send_queue(port));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (mem, queue)
}

fn stalled_readers(stalled: usize, write_timeout: Duration) {
    let probe = Probe::default();
    let settings = SseSettings::default().write_timeout(write_timeout);
    let server = start(probe.clone(), Some(settings));
    let addr = server.addr;
    let rt = client_runtime();
    let idle_mem = tcp_mem_pages();
    let gap = Arc::new(AtomicU64::new(0));
    let ((took, dropped), (peak, queue)) = rt.block_on(async {
        let until = Instant::now() + write_timeout * 3 + Duration::from_secs(30);
        let mut readers = Vec::new();
        for _ in 0..READERS_DURING_STALL {
            let socket = open(addr, "/ticks/10").await;
            readers.push(tokio::spawn(read(socket, until, gap.clone())));
        }
        let mut held = Vec::with_capacity(stalled);
        for _ in 0..stalled {
            held.push(open(addr, "/fast").await);
        }
        let opened = Instant::now();
        let sampler = peak_while(addr.port(), || probe.cleanups() >= stalled);
        let sampled = tokio::time::timeout(write_timeout * 3 + Duration::from_secs(20), sampler)
            .await
            .unwrap_or((tcp_mem_pages(), largest_send_queue(addr.port())));
        let took = opened.elapsed();
        let dropped = probe.cleanups();
        for reader in readers {
            reader.abort();
        }
        drop(held);
        ((took, dropped), sampled)
    });
    drop(rt);
    let gap = Duration::from_micros(gap.load(Ordering::Relaxed));
    println!(
        "  {stalled} stalled clients, write timeout {:?}: {dropped} dropped {:.2} s after the \
         last one opened",
        write_timeout,
        took.as_secs_f64()
    );
    println!(
        "  kernel TCP memory at peak: {} pages above idle ({} KiB per stalled client, both ends \
         of loopback); largest server send queue {} KiB",
        peak.saturating_sub(idle_mem),
        peak.saturating_sub(idle_mem) * 4 / stalled.max(1) as u64,
        queue / 1024
    );
    println!(
        "  longest gap seen by {READERS_DURING_STALL} reading clients (one event per 10 ms): {:.1} ms",
        gap.as_secs_f64() * 1e3
    );
    server.stop();
}

/// The clients' runtime: one thread, apart from the server's.
fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

fn stop_with_stalled(readers: usize, stalled: usize) {
    let probe = Probe::default();
    let server = start(probe.clone(), Some(SseSettings::default()));
    let addr = server.addr;
    // Readers connect and read on a thread of their own, so that they go on
    // reading while this thread waits for the server to stop.
    let (ready_tx, ready_rx) = mpsc::channel();
    let reader_thread = std::thread::spawn(move || {
        client_runtime().block_on(async move {
            // Opened together: each waits 100 ms for its first event.
            let opening: Vec<_> = (0..readers)
                .map(|_| tokio::spawn(open(addr, "/ticks/100")))
                .collect();
            let mut sockets = Vec::with_capacity(readers);
            for socket in opening {
                sockets.push(socket.await.expect("open a reader"));
            }
            let until = Instant::now() + Duration::from_secs(30);
            let gap = Arc::new(AtomicU64::new(0));
            let tasks: Vec<_> = sockets
                .into_iter()
                .map(|s| tokio::spawn(read(s, until, gap.clone())))
                .collect();
            let _ = ready_tx.send(());
            let mut hinted = 0;
            for task in tasks {
                if let Ok(true) = task.await {
                    hinted += 1;
                }
            }
            hinted
        })
    });
    ready_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("readers connected");
    let rt = client_runtime();
    let held = rt.block_on(async {
        let mut held = Vec::with_capacity(stalled);
        for _ in 0..stalled {
            held.push(open(addr, "/fast").await);
        }
        held
    });
    // Let the stalled streams fill their sockets.
    std::thread::sleep(Duration::from_millis(500));
    let (took, streams) = server.stop();
    let hinted = reader_thread.join().expect("reader thread");
    drop(held);
    println!(
        "  graceful stop with {readers} reading + {stalled} stalled streams: {:.3} s \
         (streams and their connections closed after {:.3} s; {hinted} readers got the \
         shutdown event; {} clean-ups ran)",
        took.as_secs_f64(),
        streams.as_secs_f64(),
        probe.cleanups()
    );
}

fn unhooked(stalled: usize) {
    let probe = Probe::default();
    let server = start(probe.clone(), None);
    let addr = server.addr;
    let rt = client_runtime();
    let idle_mem = tcp_mem_pages();
    let (peak, queue, held) = rt.block_on(async {
        let mut held = Vec::with_capacity(stalled);
        for _ in 0..stalled {
            held.push(open(addr, "/fast").await);
        }
        let until = Instant::now() + Duration::from_secs(3);
        let (peak, queue) = peak_while(addr.port(), || Instant::now() >= until).await;
        (peak, queue, held)
    });
    println!(
        "  {stalled} stalled clients, 3 s: {} dropped; kernel TCP memory {} pages above idle \
         ({} KiB per stalled client); largest server send queue {} KiB",
        probe.cleanups(),
        peak.saturating_sub(idle_mem),
        peak.saturating_sub(idle_mem) * 4 / stalled.max(1) as u64,
        queue / 1024
    );
    let (took, _) = server.stop();
    println!(
        "  graceful stop with them open: {:.3} s (actix shutdown_timeout 5 s)",
        took.as_secs_f64()
    );
    drop(held);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let stalled = env_u64("SSE_PROBE_STALLED", 1_000) as usize;
    let write_timeout = Duration::from_millis(env_u64("SSE_PROBE_WRITE_TIMEOUT_MS", 2_000));
    println!("with .sse_settings(..) (the connection hook):");
    stalled_readers(stalled, write_timeout);
    stop_with_stalled(READERS_AT_STOP, STALLED_AT_STOP);
    println!("without the hook (plain HttpServer, h1_allow_half_closed(false)):");
    unhooked(STALLED_UNHOOKED);
}
