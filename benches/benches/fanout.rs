//! Fan-out: one publisher, N subscribers over loopback, 100-byte events.
//!
//! * **ours**: a [`Hub`] subscription returned from an `#[sse]` route; a
//!   publish is encoded once and shared;
//! * **actix-web-lab**: its broadcaster pattern, a bounded `mpsc` of 64
//!   events per client (`Sse::from_infallible_receiver`), the publisher
//!   `try_send`s a fresh `Data` to each;
//! * **axum**: `tokio::sync::broadcast` (capacity 1 024, as the hub's
//!   default queue), each subscriber turning what it receives into an
//!   `axum` `Event`.
//!
//! Each server runs in a child process of its own (this binary, re-run
//! with `SSE_FANOUT_SERVE`) on one thread — one server core — so that its
//! memory can be read from `/proc` alone; the clients share one thread in
//! this process. For N = 1 000 and 10 000 it measures:
//!
//! 1. memory per idle subscriber: the server's RSS after N subscribed,
//!    minus before, over N;
//! 2. delivered events/s: `K` publishes in bursts of 16 (the publisher
//!    yields between bursts), events received by all clients over the time
//!    until the last arrived;
//! 3. delivery latency p50/p99 at a fixed publish rate every contender
//!    sustains, for 6 s (timestamps in the payload; one machine, one
//!    clock);
//! 4. publisher cost: time inside the publish call, per publish, at that
//!    rate, and the server's CPU time (all its threads) per delivery in
//!    that phase;
//! 5. with `--features h2`: memory per idle subscriber again over HTTP/2
//!    (h2c), 100 subscribers per connection, as a browser's `EventSource`s
//!    of one origin share one connection: ours, actix-web-lab and actix's
//!    floor (an idle streaming response with nothing of either in it).
//!
//! `cargo bench -p sse-benches --bench fanout [--features h2]`
//! (`SSE_FANOUT_NS=1000,10000` to change N, `SSE_FANOUT_ROUNDS=3` for
//! medians over three rounds, `SSE_FANOUT_CONTENDERS=ours,axum` for a
//! subset, `SSE_FANOUT_LATENCY_SECS` for the fixed-rate phase,
//! `SSE_FANOUT_SERVER_THREADS=2` for two server threads,
//! `SSE_FANOUT_HARDENED=1` for servers set up with `.sse_defaults()`, which
//! keeps a second descriptor per connection: N = 10 000 then needs more
//! than 20 000 open files,
//! `SSE_FANOUT_CLIENT_THREADS=2` to check that the client thread is not
//! what limits the figures.) Linux only (`/proc`).

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{web, App, HttpResponse, HttpServer};
use futures_util::stream;
use sse_benches::report::{median, percentile, thousands, Table};
use sse_runtime::{controller, sse, Hub, SseServerExt, Subscription};
use sse_test_support::{rss_kib_of as rss_kib, ChildGuard};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const TOPIC: &str = "bench";
/// Payload: a 20-digit send time (ns since the epoch), then filler.
const PAYLOAD: usize = 100;
const BURST: u64 = 16;
const CONTENDERS: [&str; 3] = ["ours", "actix-web-lab", "axum"];

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn payload() -> String {
    format!("{:020}{}", now_ns(), "x".repeat(PAYLOAD - 20))
}

/// Publishes `count` payloads, `rate` a second (0: in bursts of
/// [`BURST`], yielding between them); returns the mean time spent inside
/// `publish`, in ns.
async fn publish_loop(count: u64, rate: u64, publish: impl Fn(String)) -> f64 {
    let start = tokio::time::Instant::now();
    let mut spent = Duration::ZERO;
    for i in 0..count {
        let payload = payload();
        let t = Instant::now();
        publish(payload);
        spent += t.elapsed();
        if rate > 0 {
            let next = start + Duration::from_secs(i + 1) / rate as u32;
            tokio::time::sleep_until(next).await;
        } else if i % BURST == BURST - 1 {
            tokio::task::yield_now().await;
        }
    }
    spent.as_nanos() as f64 / count.max(1) as f64
}

// ---------------------------------------------------------------- servers

#[derive(Clone)]
struct Ours {
    hub: Hub,
}

#[controller("")]
impl Ours {
    #[sse("sub")]
    fn sub(&self) -> Subscription {
        self.hub.subscribe([TOPIC]).start().expect("an open topic")
    }
}

type LabClients = Arc<Mutex<Vec<tokio::sync::mpsc::Sender<actix_web_lab::sse::Event>>>>;

fn lab_publish(clients: &LabClients, payload: String) {
    use tokio::sync::mpsc::error::TrySendError;
    let mut clients = clients.lock().unwrap_or_else(|e| e.into_inner());
    clients.retain(|client| {
        let event = actix_web_lab::sse::Data::new(payload.clone()).into();
        !matches!(client.try_send(event), Err(TrySendError::Closed(_)))
    });
}

/// The server's threads: actix workers, or axum's tokio workers
/// (`SSE_FANOUT_SERVER_THREADS`, default 1).
fn server_threads() -> usize {
    sse_benches::env_u64("SSE_FANOUT_SERVER_THREADS", 1) as usize
}

fn serve_actix(contender: &str) {
    let ours = Ours {
        hub: Hub::builder().build(),
    };
    let lab: LabClients = Arc::default();
    let is_ours = contender == "ours";
    actix_rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            let (ours, lab, lab_sub) = (ours.clone(), lab.clone(), lab.clone());
            let hub = ours.hub.clone();
            let (count_hub, count_lab) = (hub.clone(), lab.clone());
            let app = App::new()
                .route(
                    "/publish/{count}/{rate}",
                    web::post().to(move |args: web::Path<(u64, u64)>| {
                        let (hub, lab) = (hub.clone(), lab.clone());
                        async move {
                            let (count, rate) = args.into_inner();
                            let ns = if is_ours {
                                publish_loop(count, rate, |p| {
                                    let _ = hub.publish_blocking(TOPIC, p);
                                })
                                .await
                            } else {
                                publish_loop(count, rate, |p| lab_publish(&lab, p)).await
                            };
                            HttpResponse::Ok().body(format!("{ns}"))
                        }
                    }),
                )
                // The floor: an idle actix streaming response with nothing
                // of ours or actix-web-lab's in it.
                .route(
                    "/bare",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("text/event-stream")
                            .streaming(stream::pending::<Result<web::Bytes, actix_web::Error>>())
                    }),
                )
                .route(
                    "/count",
                    web::get().to(move || {
                        let n = if is_ours {
                            count_hub.subscribers(TOPIC)
                        } else {
                            count_lab.lock().map_or(0, |c| c.len())
                        };
                        async move { HttpResponse::Ok().body(n.to_string()) }
                    }),
                );
            if is_ours {
                app.service(ours)
            } else {
                app.route(
                    "/sub",
                    web::get().to(move || {
                        let (tx, rx) = tokio::sync::mpsc::channel(64);
                        lab_sub.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
                        async move { actix_web_lab::sse::Sse::from_infallible_receiver(rx) }
                    }),
                )
            }
        })
        .workers(server_threads())
        .backlog(4096)
        .max_connections(25_000)
        .disable_signals();
        // `SSE_FANOUT_HARDENED`: with the connection hook (`.sse_defaults()`),
        // as the README sets servers up: write timeouts, send-buffer caps.
        let server = if std::env::var_os("SSE_FANOUT_HARDENED").is_some() {
            server.sse_defaults()
        } else {
            server
        };
        // `SSE_FANOUT_H2C`: HTTP/1.1 and HTTP/2 with prior knowledge, for the
        // memory of subscribers that share connections (`measure_h2`).
        #[cfg(feature = "h2")]
        let server = if std::env::var_os("SSE_FANOUT_H2C").is_some() {
            server.bind_auto_h2c(("127.0.0.1", 0))
        } else {
            server.bind(("127.0.0.1", 0))
        };
        #[cfg(not(feature = "h2"))]
        let server = server.bind(("127.0.0.1", 0));
        let server = server.expect("bind");
        println!("{}", server.addrs()[0]);
        let _ = server.run().await;
    });
}

fn serve_axum() {
    use axum::extract::{Path, State};
    use axum::response::sse::{Event, Sse};
    use axum::routing::{get, post};
    use tokio::sync::broadcast;

    let runtime = if server_threads() == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(server_threads())
            .enable_all()
            .build()
    }
    .expect("runtime");
    runtime.block_on(async {
        let (tx, _) = broadcast::channel::<Arc<str>>(1024);
        let app = axum::Router::new()
            .route(
                "/sub",
                get(|State(tx): State<broadcast::Sender<Arc<str>>>| async move {
                    let rx = tx.subscribe();
                    let events = stream::unfold(rx, |mut rx| async move {
                        loop {
                            match rx.recv().await {
                                Ok(text) => {
                                    let event = Event::default().data(&*text);
                                    return Some((Ok::<_, std::convert::Infallible>(event), rx));
                                }
                                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                                Err(broadcast::error::RecvError::Closed) => return None,
                            }
                        }
                    });
                    Sse::new(events)
                }),
            )
            .route(
                "/publish/{count}/{rate}",
                post(
                    |State(tx): State<broadcast::Sender<Arc<str>>>,
                     Path((count, rate)): Path<(u64, u64)>| async move {
                        let ns = publish_loop(count, rate, |p| {
                            let _ = tx.send(Arc::from(p));
                        })
                        .await;
                        format!("{ns}")
                    },
                ),
            )
            .route(
                "/count",
                get(|State(tx): State<broadcast::Sender<Arc<str>>>| async move {
                    tx.receiver_count().to_string()
                }),
            )
            .with_state(tx);
        // The same accept backlog as the actix servers (tokio's default,
        // 1 024, drops SYNs when 500 clients connect at once).
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind");
        let listener = socket.listen(4096).expect("listen");
        println!("{}", listener.local_addr().expect("addr"));
        axum::serve(listener, app).await.expect("serve");
    });
}

// ---------------------------------------------------------------- clients

#[derive(Default)]
struct Shared {
    delivered: AtomicU64,
    /// ns since the epoch of the latest receive.
    last_at: AtomicU64,
    measuring: AtomicBool,
    latencies_us: Mutex<Vec<u32>>,
}

/// Counts `data: ` lines; records latencies while `measuring`.
async fn subscriber(
    addr: SocketAddr,
    path: &'static str,
    shared: Arc<Shared>,
    ready: Arc<AtomicU64>,
) {
    let mut socket = None;
    for _ in 0..5 {
        match TcpStream::connect(addr).await {
            Ok(connected) => {
                socket = Some(connected);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let Some(mut socket) = socket else {
        eprintln!("a subscriber could not connect");
        return;
    };
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: bench\r\naccept: text/event-stream\r\n\r\n");
    if socket.write_all(request.as_bytes()).await.is_err() {
        return;
    }
    let mut reader = BufReader::with_capacity(4096, socket);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    ready.fetch_add(1, Ordering::SeqCst);
    let finder = memchr::memmem::Finder::new(b"data: ");
    let mut carry: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let at = now_ns();
        carry.extend_from_slice(&chunk[..n]);
        let mut count = 0;
        let measuring = shared.measuring.load(Ordering::Relaxed);
        for pos in finder.find_iter(&carry) {
            if pos + 26 > carry.len() {
                break;
            }
            count += 1;
            if measuring {
                let sent = std::str::from_utf8(&carry[pos + 6..pos + 26])
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(sent) = sent {
                    let us = at.saturating_sub(sent) / 1_000;
                    shared
                        .latencies_us
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(us.min(u64::from(u32::MAX)) as u32);
                }
            }
        }
        let keep = carry.len().saturating_sub(25);
        carry.drain(..keep);
        if count > 0 {
            shared.delivered.fetch_add(count, Ordering::Relaxed);
            shared.last_at.fetch_max(at, Ordering::Relaxed);
        }
    }
}

/// One request to the server; fails after two minutes rather than wait
/// for a server that cannot answer (out of file descriptors, say).
async fn request(addr: SocketAddr, method: &str, path: &str) -> String {
    let exchange = async {
        let mut socket = TcpStream::connect(addr).await?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: bench\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await?;
        let mut answer = String::new();
        socket.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = match tokio::time::timeout(Duration::from_secs(120), exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(err)) => panic!("{method} {path}: {err}"),
        Err(_) => panic!("{method} {path}: no answer within 2 minutes"),
    };
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    // axum may answer chunked-free here (fixed length); actix too.
    body.trim().to_owned()
}

/// CPU time the process `pid` has used, over all its threads, in ns
/// (`/proc/PID/task/*/schedstat`: ns, where `/proc/PID/stat` counts 10 ms
/// ticks).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

struct Figures {
    bytes_per_sub: f64,
    events_per_sec: f64,
    delivered_share: f64,
    p50_us: u32,
    p99_us: u32,
    publish_ns: f64,
    /// Server CPU (all threads) per delivery in the fixed-rate phase.
    cpu_ns_per_delivery: f64,
}

impl Figures {
    /// Each figure's median over `runs` (see [`median`]).
    fn median(runs: &[Figures]) -> Figures {
        let of = |f: fn(&Figures) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        Figures {
            bytes_per_sub: of(|f| f.bytes_per_sub),
            events_per_sec: of(|f| f.events_per_sec),
            delivered_share: of(|f| f.delivered_share),
            p50_us: of(|f| f64::from(f.p50_us)).round() as u32,
            p99_us: of(|f| f64::from(f.p99_us)).round() as u32,
            publish_ns: of(|f| f.publish_ns),
            cpu_ns_per_delivery: of(|f| f.cpu_ns_per_delivery),
        }
    }
}

async fn wait_quiet(shared: &Shared, target: u64, limit: Duration) {
    let deadline = Instant::now() + limit;
    let mut last = u64::MAX;
    let mut still = Instant::now();
    while Instant::now() < deadline {
        let now = shared.delivered.load(Ordering::Relaxed);
        if now >= target {
            return;
        }
        if now != last {
            last = now;
            still = Instant::now();
        } else if still.elapsed() > Duration::from_secs(1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A contender's server: this binary re-run as a child process.
struct Server {
    child: ChildGuard,
    pid: u32,
    addr: SocketAddr,
}

impl Server {
    /// Starts `contender`'s server (actix-web-lab's for the floor, which
    /// answers `/bare` too), with h2c as well when `h2c`, and waits until
    /// it is idle.
    async fn start(contender: &str, h2c: bool) -> Server {
        let serve = if contender == FLOOR {
            "actix-web-lab"
        } else {
            contender
        };
        let mut command = Command::new(std::env::current_exe().expect("own path"));
        command
            .env("SSE_FANOUT_SERVE", serve)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if h2c {
            command.env("SSE_FANOUT_H2C", "1");
        }
        let mut child = ChildGuard::spawn(&mut command).expect("start the server");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)
            .expect("the server's address");
        let addr = first.trim().parse().expect("an address");
        tokio::time::sleep(Duration::from_millis(300)).await;
        Server { child, pid, addr }
    }
}

/// Waits until the server counts `n` subscribers (20 s at most).
async fn wait_subscribed(addr: SocketAddr, n: u64, contender: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while request(addr, "GET", "/count")
        .await
        .parse::<u64>()
        .unwrap_or(0)
        < n
    {
        assert!(
            Instant::now() < deadline,
            "{contender}: not all {n} subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The contender that measures actix's own cost of an idle streaming
/// connection (memory only).
const FLOOR: &str = "actix floor";

/// `rate` publishes a second for `latency_secs` measure latency and the
/// publisher's cost.
async fn measure(
    contender: &str,
    n: u64,
    burst_events: u64,
    rate: u64,
    latency_secs: u64,
) -> Figures {
    let floor = contender == FLOOR;
    let Server { child, pid, addr } = Server::start(contender, false).await;
    let before = rss_kib(pid);

    let shared = Arc::new(Shared::default());
    let ready = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for chunk in 0..n.div_ceil(500) {
        for _ in 0..500.min(n - chunk * 500) {
            tasks.push(tokio::spawn(subscriber(
                addr,
                if floor { "/bare" } else { "/sub" },
                shared.clone(),
                ready.clone(),
            )));
        }
        let want = (chunk * 500 + 500).min(n);
        let deadline = Instant::now() + Duration::from_secs(20);
        while ready.load(Ordering::SeqCst) < want && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    assert!(
        ready.load(Ordering::SeqCst) >= n,
        "{contender}: not all {n} connected"
    );
    if !floor {
        wait_subscribed(addr, n, contender).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    let bytes_per_sub = (after.saturating_sub(before) * 1024) as f64 / n as f64;
    if floor {
        for task in &tasks {
            task.abort();
        }
        drop(child); // killed and reaped
        return Figures {
            bytes_per_sub,
            events_per_sec: f64::NAN,
            delivered_share: f64::NAN,
            p50_us: 0,
            p99_us: 0,
            publish_ns: f64::NAN,
            cpu_ns_per_delivery: f64::NAN,
        };
    }

    // Throughput.
    let start_ns = now_ns();
    request(addr, "POST", &format!("/publish/{burst_events}/0")).await;
    wait_quiet(&shared, n * burst_events, Duration::from_secs(30)).await;
    let delivered = shared.delivered.load(Ordering::Relaxed);
    let took = (shared
        .last_at
        .load(Ordering::Relaxed)
        .saturating_sub(start_ns)) as f64
        / 1e9;
    let events_per_sec = delivered as f64 / took.max(1e-9);
    let delivered_share = delivered as f64 / (n * burst_events) as f64;

    // Latency and publisher cost at a fixed rate.
    let before_latency = shared.delivered.load(Ordering::Relaxed);
    shared.measuring.store(true, Ordering::SeqCst);
    let cpu_before = cpu_ns(pid);
    let publish_ns: f64 = request(
        addr,
        "POST",
        &format!("/publish/{}/{rate}", rate * latency_secs),
    )
    .await
    .parse()
    .unwrap_or(f64::NAN);
    wait_quiet(
        &shared,
        before_latency + n * rate * latency_secs,
        Duration::from_secs(latency_secs + 8),
    )
    .await;
    shared.measuring.store(false, Ordering::SeqCst);
    let cpu_ns_per_delivery = cpu_ns(pid).saturating_sub(cpu_before) as f64
        / (shared.delivered.load(Ordering::Relaxed) - before_latency).max(1) as f64;
    let mut latencies = std::mem::take(&mut *shared.latencies_us.lock().unwrap());
    latencies.sort_unstable();

    for task in &tasks {
        task.abort();
    }
    drop(tasks);
    drop(child); // killed and reaped
    Figures {
        bytes_per_sub,
        events_per_sec,
        delivered_share,
        p50_us: percentile(&latencies, 0.50).unwrap_or(0),
        p99_us: percentile(&latencies, 0.99).unwrap_or(0),
        publish_ns,
        cpu_ns_per_delivery,
    }
}

#[cfg(feature = "h2")]
/// Subscribers over HTTP/2 (h2c) that share a connection, as a browser's
/// `EventSource`s of one origin do: memory only.
const H2_STREAMS_PER_CONNECTION: u64 = 100;

#[cfg(feature = "h2")]
/// Bytes of server RSS per idle subscriber when `n` subscribers arrive as
/// streams of HTTP/2 connections, [`H2_STREAMS_PER_CONNECTION`] each.
async fn measure_h2(contender: &str, n: u64) -> f64 {
    let floor = contender == FLOOR;
    let Server { child, pid, addr } = Server::start(contender, true).await;
    let before = rss_kib(pid);

    let path = if floor { "/bare" } else { "/sub" };
    let mut connections = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..n.div_ceil(H2_STREAMS_PER_CONNECTION) {
        let socket = TcpStream::connect(addr).await.expect("connect");
        let (mut send, connection) = h2::client::handshake(socket).await.expect("h2 handshake");
        connections.push(tokio::spawn(connection));
        let mut pending = Vec::new();
        for _ in 0..H2_STREAMS_PER_CONNECTION.min(n - streams.len() as u64) {
            send = send.ready().await.expect("a stream");
            let request = http::Request::get(format!("http://bench{path}"))
                .body(())
                .expect("a request");
            let (response, _) = send.send_request(request, true).expect("send");
            pending.push(response);
        }
        for response in pending {
            // Headers arrived: the route ran and its body is streaming.
            streams.push(response.await.expect("a response"));
        }
    }
    if !floor {
        wait_subscribed(addr, n, contender).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    drop(streams);
    for connection in connections {
        connection.abort();
    }
    drop(child); // killed and reaped
    (after.saturating_sub(before) * 1024) as f64 / n as f64
}

fn main() {
    if let Ok(contender) = std::env::var("SSE_FANOUT_SERVE") {
        match contender.as_str() {
            "axum" => serve_axum(),
            other => serve_actix(other),
        }
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let ns: Vec<u64> = std::env::var("SSE_FANOUT_NS")
        .unwrap_or_else(|_| "1000,10000".to_owned())
        .split(',')
        .map(|n| n.trim().parse().expect("SSE_FANOUT_NS: numbers"))
        .collect();
    // The clients' threads (`SSE_FANOUT_CLIENT_THREADS`, default 1).
    let client_threads = sse_benches::env_u64("SSE_FANOUT_CLIENT_THREADS", 1) as usize;
    let runtime = if client_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(client_threads)
            .enable_all()
            .build()
    }
    .expect("runtime");
    let mut table = Table::new([
        "N",
        "contender",
        "bytes / idle sub",
        "delivered events/s",
        "delivered",
        "p50 latency",
        "p99 latency",
        "ns / publish",
        "server CPU ns / delivery",
    ])
    .left_aligned(2);
    let mut ratios = Table::new([
        "N",
        "ours vs",
        "events/s ×",
        "p99 ×",
        "CPU / delivery ×",
        "memory ×",
    ])
    .left_aligned(2);
    let mut above_floor = Vec::new();
    #[cfg(feature = "h2")]
    let mut h2 = Table::new(["N", "ours", "actix-web-lab", FLOOR]).left_aligned(1);
    // `SSE_FANOUT_ROUNDS=3`: medians over three rounds (BENCHMARKS.md's figures).
    let rounds = sse_benches::env_u64("SSE_FANOUT_ROUNDS", 1).max(1);
    // The fixed-rate phase. At N = 10 000 and 5 publishes/s, 6 s gives 30
    // publishes: enough that one disturbed publish does not set the p99.
    let latency_secs = sse_benches::env_u64("SSE_FANOUT_LATENCY_SECS", 6);
    // `SSE_FANOUT_CONTENDERS=ours,axum` measures a subset (ratios need ours first).
    let contenders: Vec<&str> = match std::env::var("SSE_FANOUT_CONTENDERS") {
        Ok(list) => CONTENDERS
            .into_iter()
            .filter(|c| list.split(',').any(|l| l.trim() == *c))
            .collect(),
        Err(_) => CONTENDERS.to_vec(),
    };
    for &n in &ns {
        // Total deliveries per throughput run: ~2 M at N=1 000, ~1 M at 10 000;
        // the fixed rate: 20 publishes/s at 1 000, 5 at 10 000 (≤ 50 000 deliveries/s).
        let burst_events = if n >= 10_000 { 100 } else { 2_000 };
        let rate = if n >= 10_000 { 5 } else { 20 };
        // Each round measures every contender once, in turn, so that a noisy
        // moment hits all of them; each figure is the median over rounds.
        let mut runs: Vec<Vec<Figures>> = contenders.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (i, contender) in contenders.iter().enumerate() {
                runs[i].push(runtime.block_on(measure(
                    contender,
                    n,
                    burst_events,
                    rate,
                    latency_secs,
                )));
            }
        }
        let mut all = Vec::new();
        for (contender, runs) in contenders.iter().copied().zip(runs) {
            let f = Figures::median(&runs);
            table.row([
                thousands(n as f64),
                contender.to_owned(),
                thousands(f.bytes_per_sub),
                thousands(f.events_per_sec),
                format!("{:.1} %", f.delivered_share * 100.0),
                format!("{:.2} ms", f64::from(f.p50_us) / 1e3),
                format!("{:.2} ms", f64::from(f.p99_us) / 1e3),
                thousands(f.publish_ns),
                thousands(f.cpu_ns_per_delivery),
            ]);
            all.push((contender, f));
        }
        let floor = runtime.block_on(measure(FLOOR, n, 0, 0, 0));
        let dash = || "—".to_owned();
        table.row([
            thousands(n as f64),
            FLOOR.to_owned(),
            thousands(floor.bytes_per_sub),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
        ]);
        #[cfg(feature = "h2")]
        let mut h2_row = vec![thousands(n as f64)];
        #[cfg(feature = "h2")]
        for contender in ["ours", "actix-web-lab", FLOOR] {
            h2_row.push(if contenders.contains(&contender) || contender == FLOOR {
                thousands(runtime.block_on(measure_h2(contender, n)))
            } else {
                dash()
            });
        }
        #[cfg(feature = "h2")]
        h2.row(h2_row);
        let Some(("ours", ours)) = all.first().map(|(name, f)| (*name, f)) else {
            continue;
        };
        above_floor.push((n, ours.bytes_per_sub - floor.bytes_per_sub));
        for (name, other) in &all[1..] {
            ratios.row([
                thousands(n as f64),
                (*name).to_owned(),
                format!("{:.2}", ours.events_per_sec / other.events_per_sec),
                format!(
                    "{:.2}",
                    f64::from(ours.p99_us) / f64::from(other.p99_us.max(1))
                ),
                format!(
                    "{:.2}",
                    ours.cpu_ns_per_delivery / other.cpu_ns_per_delivery
                ),
                format!("{:.2}", ours.bytes_per_sub / other.bytes_per_sub.max(1.0)),
            ]);
        }
    }
    println!(
        "fan-out: one server thread, 100-byte events, loopback; medians of {rounds} round(s)\n"
    );
    println!("{}", table.render());
    println!("ratios (ours / other; events/s: higher is better, p99, CPU and memory: lower)\n");
    println!("{}", ratios.render());
    #[cfg(feature = "h2")]
    {
        println!(
            "bytes per idle subscriber over HTTP/2 (h2c), {H2_STREAMS_PER_CONNECTION} \
             subscribers per connection (feature `h2`: the HTTP/1.1 figures above \
             include actix-web's `http2` feature)\n"
        );
        println!("{}", h2.render());
    }
    for (n, above) in above_floor {
        println!(
            "N = {}: ours uses {} bytes per idle subscriber above the floor",
            thousands(n as f64),
            thousands(above)
        );
    }
}
