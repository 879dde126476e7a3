//! A server set up without sse-runtime's connection hook says so: one
//! warning per worker thread, at its first SSE stream, naming the fix; and
//! nothing with the hook.
//!
//! One test in this binary: it reads the process-wide log, which every
//! thread writes into.

use std::collections::BTreeSet;
use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use sse_runtime::{controller, sse};
use sse_test_support::{Log, RawRequest, RawResponse, ServerOptions, TestServer, TraceLog, STEP};

/// What only the warning says.
const WARNING: &str = "connection hook did not see";

struct Streams {
    /// The name of the thread each stream ran on.
    threads: Log,
}

#[controller("")]
impl Streams {
    /// One event, then open until the client leaves.
    #[sse("open")]
    fn open(&self) -> impl Stream<Item = &'static str> {
        let thread = std::thread::current();
        self.threads.push(thread.name().unwrap_or("unnamed"));
        stream::once(async { "hello" }).chain(stream::pending())
    }
}

/// A server with `workers` worker threads, with the hook or without.
fn start(workers: usize, hooked: bool, threads: &Log) -> TestServer {
    let threads = threads.clone();
    let options = ServerOptions::new().workers(workers);
    let options = if hooked {
        options.sse_defaults()
    } else {
        options
    };
    options.serve(move || {
        App::new().service(Streams {
            threads: threads.clone(),
        })
    })
}

/// Opens streams (each has its first event when this returns) until at
/// least `min` are open and they ran on `workers` different threads; a
/// bounded number of tries, since actix spreads connections over its
/// workers in turn. Returns the open streams.
async fn open_on_every_worker(
    server: &TestServer,
    workers: usize,
    min: usize,
    threads: &Log,
) -> Vec<RawResponse> {
    let mut open = Vec::new();
    for _ in 0..40 {
        let mut response = RawRequest::get("/open").send(server.addr()).await.unwrap();
        assert_eq!(response.status(), 200);
        response.read_until(b"data: hello\n", STEP).await.unwrap();
        open.push(response);
        if open.len() >= min && distinct(threads) == workers {
            return open;
        }
    }
    panic!(
        "streams ran on {:?}, not on {workers} workers",
        threads.entries()
    );
}

fn distinct(threads: &Log) -> usize {
    threads.entries().into_iter().collect::<BTreeSet<_>>().len()
}

/// The warning's lines so far; each names its thread (the subscriber of
/// `capture_process` prints thread names).
fn warnings(log: &TraceLog) -> Vec<String> {
    log.lines_with(WARNING)
}

#[actix_web::test]
async fn unhooked_servers_warn_once_per_worker_thread_and_hooked_ones_never() {
    let log = TraceLog::capture_process();

    // With the hook: six streams on two workers, not a word.
    let threads = Log::default();
    let hooked = start(2, true, &threads);
    let streams = open_on_every_worker(&hooked, 2, 6, &threads).await;
    assert_eq!(warnings(&log), Vec::<String>::new());
    drop(streams);
    hooked.stop().await;

    // Without: six streams on two workers, one warning from each worker.
    let threads = Log::default();
    let unhooked = start(2, false, &threads);
    let streams = open_on_every_worker(&unhooked, 2, 6, &threads).await;
    let lines = warnings(&log);
    assert_eq!(lines.len(), 2, "one per worker thread: {lines:#?}");
    let workers: BTreeSet<String> = threads.entries().into_iter().collect();
    for worker in &workers {
        let from_it = lines.iter().filter(|l| l.contains(worker.as_str())).count();
        assert_eq!(from_it, 1, "{worker} warned {from_it} times: {lines:#?}");
    }
    // It names the fix.
    for fix in [".sse_defaults()", ".bind(..)", "SseSettings::on_connect"] {
        assert!(lines[0].contains(fix), "{fix} missing from {:?}", lines[0]);
    }
    // More streams on the same threads add nothing.
    let mut more = Vec::new();
    for _ in 0..4 {
        let mut response = RawRequest::get("/open")
            .send(unhooked.addr())
            .await
            .unwrap();
        response.read_until(b"data: hello\n", STEP).await.unwrap();
        more.push(response);
    }
    assert_eq!(threads.len(), 10);
    assert_eq!(warnings(&log).len(), 2);
    drop((streams, more));
    unhooked.stop().await;

    // Another server's threads warn for themselves: the warnings of the
    // first were not used up for the whole process.
    let threads = Log::default();
    let other = start(1, false, &threads);
    let streams = open_on_every_worker(&other, 1, 2, &threads).await;
    // Give a stray duplicate the time to show up.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(warnings(&log).len(), 3, "{:#?}", warnings(&log));
    drop(streams);
    other.stop().await;
}
