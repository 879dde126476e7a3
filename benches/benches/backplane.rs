//! The hub on Redis against the in-memory hub, in the same run.
//!
//! For N subscribers per instance (1 000 and 5 000): the in-memory hub with
//! 2 × N subscribers in one process, and two Redis-backed instances with N
//! each, through one local `redis-server` (started here on a free loopback
//! port, killed by its PID at the end). Subscribers are hub subscriptions
//! read by tasks in this process (no HTTP: this measures the hub and the
//! backplane, not the sockets).
//!
//! 1. Throughput: 2 000 events published as fast as 64 concurrent
//!    publishers go (alternating instances); delivered events per second
//!    until every subscriber has every event.
//! 2. Latency at a fixed rate: 1 000 events/s for 2 s; publish-to-deliver
//!    p50 / p99, timed from just before `publish` is called to the moment a
//!    subscriber's task reads the event (every 25th subscriber records).
//! 3. Redis CPU per delivered event: user + system time of the
//!    `redis-server` process (`/proc/<pid>/stat`, 100 ticks/s) over both
//!    phases, divided by the deliveries.
//!
//! Two layouts, each in the same run for both hubs:
//! * **1** thread: everything on one actix `System`, as one actix worker
//!   would;
//! * **1 each**: each Redis instance with its subscribers on a thread (an
//!   actix `System`) of its own, as two processes would; in memory, the
//!   subscribers split over two such threads, as two actix workers would.
//!   The publishers stay on the main thread.
//!
//! `cargo bench -p sse-benches --bench backplane`
//! (`SSE_BENCH_RATE=1000`, `SSE_BENCH_EVENTS=2000` to change.)

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use sse_benches::env_u64;
use sse_benches::report::{percentile, thousands, Table};
use sse_runtime::Hub;
use sse_test_support::RedisServer;

/// Every how many subscribers one records latencies.
const SAMPLE_EVERY: usize = 25;

/// Concurrent publishers in the throughput phase: enough to keep Redis
/// round trips overlapping (commands share one multiplexed connection).
const PUBLISHERS: u64 = 64;

/// A counter on a cache line of its own: the subscribers of two threads
/// counting into one line would slow both down and measure the bench.
#[repr(align(128))]
#[derive(Default)]
struct Counter(AtomicU64);

/// What the subscribers saw, from any thread.
struct Probe {
    base: Instant,
    /// Deliveries, one counter per thread running subscribers.
    delivered: [Counter; 2],
    ready: AtomicUsize,
    latencies: Mutex<Vec<u64>>,
}

impl Probe {
    fn new() -> Arc<Probe> {
        Arc::new(Probe {
            base: Instant::now(),
            delivered: Default::default(),
            ready: AtomicUsize::new(0),
            latencies: Mutex::new(Vec::new()),
        })
    }

    fn delivered(&self) -> u64 {
        self.delivered
            .iter()
            .map(|c| c.0.load(Ordering::Relaxed))
            .sum()
    }
}

struct Figures {
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    redis_cpu_per_event: Option<Duration>,
}

/// Where the hubs and their subscribers run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Everything on this thread, as one actix worker would.
    OneThread,
    /// Each instance (or, in memory, each half of the subscribers) on a
    /// thread of its own, as two processes or two actix workers would; the
    /// publishers on this thread.
    ThreadEach,
}

fn builder() -> sse_runtime::hub::HubBuilder {
    Hub::builder().history(1_000).queue(100_000)
}

async fn redis_hub(url: &str, namespace: &str) -> Hub {
    builder()
        .redis(url)
        .namespace(namespace)
        .build()
        .await
        .expect("redis-server is up")
}

/// Ticks of CPU time (user + system) the process used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    field(11) + field(12)
}

async fn wait_for(probe: &Probe, count: u64, limit: Duration) -> Instant {
    let deadline = Instant::now() + limit;
    while probe.delivered() < count {
        assert!(
            Instant::now() < deadline,
            "only {} of {count} deliveries",
            probe.delivered()
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Instant::now()
}

/// Starts `count` subscribers of `hub` on the current actix `System`,
/// numbered from `first` (every [`SAMPLE_EVERY`]th records latencies),
/// counting into the probe's counter `thread`.
fn spawn_readers(
    hub: &Hub,
    first: usize,
    count: usize,
    probe: &Arc<Probe>,
    thread: usize,
) -> Vec<actix_rt::task::JoinHandle<()>> {
    (first..first + count)
        .map(|i| {
            let hub = hub.clone();
            let probe = probe.clone();
            actix_rt::spawn(async move {
                let mut sub = hub.subscribe(["bench"]).start().expect("subscribes");
                // The position marker: attached from here on.
                let _ = sub.next().await;
                probe.ready.fetch_add(1, Ordering::SeqCst);
                let sampled = i % SAMPLE_EVERY == 0;
                while let Some(event) = sub.next().await {
                    let text = event.as_ref();
                    let Some(data) = text.strip_prefix(b"data: ") else {
                        continue;
                    };
                    probe.delivered[thread].0.fetch_add(1, Ordering::Relaxed);
                    if sampled {
                        let end = data.iter().position(|&b| b == b'\n').unwrap_or(0);
                        let sent: u64 = std::str::from_utf8(&data[..end])
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0);
                        let now = probe.base.elapsed().as_nanos() as u64;
                        probe
                            .latencies
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(now.saturating_sub(sent));
                    }
                }
            })
        })
        .collect()
}

/// The subscribers of one [`Layout::ThreadEach`] thread; dropping it stops
/// the thread and waits for it.
struct Instance {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Instance {
    /// A thread with its own actix `System` running `count` subscribers
    /// of the hub `make` builds there; returns once the hub exists.
    fn start<F, Fut>(make: F, thread: usize, count: usize, probe: &Arc<Probe>) -> (Instance, Hub)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Hub>,
    {
        let (hub_tx, hub_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let probe = probe.clone();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let hub = make().await;
                let _ = hub_tx.send(hub.clone());
                let readers = spawn_readers(&hub, thread * count, count, &probe, thread);
                let _ = stopped.await;
                for reader in readers {
                    reader.abort();
                }
                drop(hub);
                tokio::time::sleep(Duration::from_millis(50)).await;
            });
        });
        let hub = hub_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the instance's hub");
        let instance = Instance {
            stop: Some(stop),
            thread: Some(thread),
        };
        (instance, hub)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn measure(
    redis: Option<&RedisServer>,
    layout: Layout,
    per_instance: usize,
    run: usize,
) -> Figures {
    let events = env_u64("SSE_BENCH_EVENTS", 2_000);
    let rate = env_u64("SSE_BENCH_RATE", 1_000);
    let total = per_instance * 2;
    let probe = Probe::new();
    let namespace = format!("bench{run}");
    let mut instances = Vec::new();
    let mut readers = Vec::new();
    let hubs: Vec<Hub> = match (layout, redis) {
        (Layout::OneThread, None) => {
            let hub = builder().build();
            readers = spawn_readers(&hub, 0, total, &probe, 0);
            vec![hub]
        }
        (Layout::OneThread, Some(redis)) => {
            let mut hubs = Vec::new();
            for i in 0..2 {
                let hub = redis_hub(&redis.url(), &namespace).await;
                readers.extend(spawn_readers(
                    &hub,
                    i * per_instance,
                    per_instance,
                    &probe,
                    0,
                ));
                hubs.push(hub);
            }
            hubs
        }
        (Layout::ThreadEach, None) => {
            let hub = builder().build();
            for i in 0..2 {
                let shared = hub.clone();
                let make = move || async move { shared };
                instances.push(Instance::start(make, i, per_instance, &probe).0);
            }
            vec![hub]
        }
        (Layout::ThreadEach, Some(redis)) => {
            let mut hubs = Vec::new();
            for i in 0..2 {
                let (url, namespace) = (redis.url(), namespace.clone());
                let make = move || async move { redis_hub(&url, &namespace).await };
                let (instance, hub) = Instance::start(make, i, per_instance, &probe);
                instances.push(instance);
                hubs.push(hub);
            }
            hubs
        }
    };
    while probe.ready.load(Ordering::SeqCst) < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let cpu_before = redis.and_then(RedisServer::pid).map(cpu_ticks);

    // 1. Throughput.
    let start = Instant::now();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|k| {
            let hub = hubs[k as usize % hubs.len()].clone();
            let base = probe.base;
            actix_rt::spawn(async move {
                for _ in (k..events).step_by(PUBLISHERS as usize) {
                    let sent = base.elapsed().as_nanos() as u64;
                    hub.publish("bench", sent.to_string())
                        .await
                        .expect("published");
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let expected = events * total as u64;
    let done = wait_for(&probe, expected, Duration::from_secs(120)).await;
    let per_sec = expected as f64 / done.duration_since(start).as_secs_f64();

    // 2. Latency at a fixed rate.
    probe
        .latencies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let mut tick = tokio::time::interval(Duration::from_nanos(1_000_000_000 / rate));
    let count = rate * 2;
    for k in 0..count {
        tick.tick().await;
        let hub = hubs[k as usize % hubs.len()].clone();
        let sent = probe.base.elapsed().as_nanos() as u64;
        actix_rt::spawn(async move {
            hub.publish("bench", sent.to_string())
                .await
                .expect("published");
        });
    }
    let expected = expected + count * total as u64;
    wait_for(&probe, expected, Duration::from_secs(120)).await;
    let redis_cpu_per_event = match (redis.and_then(RedisServer::pid), cpu_before) {
        (Some(pid), Some(before)) => {
            let ticks = cpu_ticks(pid) - before;
            Some(Duration::from_millis(ticks * 10).div_f64(expected as f64))
        }
        _ => None,
    };
    let mut latencies = probe
        .latencies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    latencies.sort_unstable();
    let pick = |q: f64| Duration::from_nanos(percentile(&latencies, q).unwrap_or(0));
    let figures = Figures {
        per_sec,
        p50: pick(0.50),
        p99: pick(0.99),
        redis_cpu_per_event,
    };
    for reader in readers {
        reader.abort();
    }
    drop(hubs);
    drop(instances);
    tokio::time::sleep(Duration::from_millis(50)).await;
    figures
}

fn main() {
    actix_rt::System::new().block_on(async {
        let redis = RedisServer::start(false)
            .await
            .expect("redis-server starts");
        let rate = env_u64("SSE_BENCH_RATE", 1_000);
        let mut table = Table::new([
            "subscribers",
            "threads",
            "hub",
            "delivered/s",
            "vs memory",
            &format!("p50 @ {rate}/s"),
            &format!("p99 @ {rate}/s"),
            "Redis CPU / delivery",
        ])
        .left_aligned(3);
        let mut run = 0;
        for per_instance in [1_000usize, 5_000] {
            for (layout, threads) in [(Layout::OneThread, "1"), (Layout::ThreadEach, "1 each")] {
                let memory = measure(None, layout, per_instance, run).await;
                let shared = measure(Some(&redis), layout, per_instance, run + 1).await;
                run += 2;
                let label = format!("2 × {}", thousands(per_instance as f64));
                for (name, f) in [
                    ("memory (1 process)", &memory),
                    ("Redis (2 instances)", &shared),
                ] {
                    table.row([
                        label.clone(),
                        threads.to_owned(),
                        name.to_owned(),
                        thousands(f.per_sec),
                        format!("{:.0} %", 100.0 * f.per_sec / memory.per_sec),
                        format!("{:.2} ms", f.p50.as_secs_f64() * 1e3),
                        format!("{:.2} ms", f.p99.as_secs_f64() * 1e3),
                        f.redis_cpu_per_event
                            .map_or("—".to_owned(), |d| format!("{:.0} ns", d.as_nanos())),
                    ]);
                }
            }
        }
        println!("{}", table.render());
    });
}
