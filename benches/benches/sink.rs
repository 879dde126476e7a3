//! The sink style against the stream style, on this project alone: one
//! server, three routes that deliver the same N events of
//! `{"seq":n,"name":"tick"}` to one loopback client, as fast as they can:
//!
//! * `stream`: the method returns `stream::iter(0..N).map(Tick::new)`;
//! * `sink`: the method sends each tick through its `EventSink`
//!   (`sink.send(tick).await`), inside the response's own task;
//! * `sink-task`: the method spawns a task that sends through a clone, so
//!   every event crosses between tasks.
//!
//! What the sink costs is its channel: each event is encoded by the sender
//! into a buffer its thread reuses, copied into the queue (32 events at
//! most, `EventSink::CAPACITY`), and copied again into the response's
//! buffer; the stream style encodes straight into the latter. A spawned
//! producer also fills at most the capacity before the response runs, so
//! `sink-task` writes at most 32 events per chunk.
//!
//! `cargo bench -p sse-benches --bench sink`
//! (`SSE_BENCH_N`, default 1 000 000 events; `SSE_BENCH_ROUNDS`, default 5;
//! `SSE_BENCH_ROUTES=sink,stream`, a subset, e.g. to profile one style).
//!
//! The ratio column is taken per round (each route against the `stream`
//! run of the same round, a few seconds apart), then its median: on a
//! shared machine the load moves the absolute figures far more than it
//! moves a ratio between runs that close together.

use std::collections::HashMap;

use futures_util::stream::{self, Stream, StreamExt};
use sse_benches::client::{fetch, Fetch};
use sse_benches::report::{max, median, min, thousands, Table};
use sse_benches::{env_u64, Tick};
use sse_runtime::{controller, sse, EventSink};
use sse_test_support::ServerOptions;

/// One controller, the three styles.
#[derive(Debug, Clone)]
struct Styles {
    n: u64,
}

#[controller("bench")]
impl Styles {
    #[sse("stream", keep_alive = false)]
    fn stream(&self) -> impl Stream<Item = Tick> {
        stream::iter(0..self.n).map(Tick::new)
    }

    #[sse("sink", keep_alive = false)]
    async fn sink(&self, sink: EventSink) {
        for seq in 0..self.n {
            if sink.send(Tick::new(seq)).await.is_err() {
                return;
            }
        }
    }

    #[sse("sink-task", keep_alive = false)]
    fn sink_task(&self, sink: EventSink) {
        let n = self.n;
        tokio::spawn(async move {
            for seq in 0..n {
                if sink.send(Tick::new(seq)).await.is_err() {
                    return;
                }
            }
        });
    }
}

const ROUTES: [&str; 3] = ["stream", "sink", "sink-task"];

/// The routes `SSE_BENCH_ROUTES` names (comma-separated), all by default.
fn routes() -> Vec<&'static str> {
    let Ok(wanted) = std::env::var("SSE_BENCH_ROUTES") else {
        return ROUTES.to_vec();
    };
    let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
    for name in &wanted {
        assert!(
            ROUTES.contains(name),
            "SSE_BENCH_ROUTES: no route {name:?} (routes: {ROUTES:?})"
        );
    }
    ROUTES
        .into_iter()
        .filter(|route| wanted.contains(route))
        .collect()
}

fn main() {
    let n = env_u64("SSE_BENCH_N", 1_000_000);
    let rounds = env_u64("SSE_BENCH_ROUNDS", 5);
    let routes = routes();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let server =
        ServerOptions::new().serve_on_thread(move || actix_web::App::new().service(Styles { n }));
    let expected_first = format!(
        "data: {}\n\n",
        serde_json::to_string(&Tick::new(0)).expect("json")
    );
    let run = |route: &str| -> Fetch {
        let got = client
            .block_on(fetch(server.addr(), &format!("/bench/{route}")))
            .unwrap_or_else(|err| panic!("{route}: request failed: {err}"));
        assert_eq!(got.events, n, "{route}: wrong number of events");
        assert_eq!(
            got.first_event,
            expected_first.as_bytes(),
            "{route}: unexpected first event"
        );
        got
    };

    println!("sink: {n} events per run, {rounds} rounds interleaved, 1 warm-up round");
    for &route in &routes {
        run(route);
    }
    let mut results: HashMap<&str, Vec<Fetch>> = HashMap::new();
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        for &route in &routes {
            let got = run(route);
            line.push_str(&format!(
                "  {route} {} ev/s;",
                thousands(got.events_per_sec())
            ));
            results.entry(route).or_default().push(got);
        }
        println!("{line}");
    }

    let rates =
        |route: &str| -> Vec<f64> { results[route].iter().map(Fetch::events_per_sec).collect() };
    let mut table = Table::new([
        "route",
        "median events/s",
        "min",
        "max",
        "events/chunk",
        "this ÷ stream",
    ]);
    for &route in &routes {
        let r = rates(route);
        let sample = &results[route][0];
        // Round by round, against the stream run of the same round.
        let ratio = results.get("stream").map_or_else(
            || "–".to_owned(),
            |_| {
                let per_round: Vec<f64> = r
                    .iter()
                    .zip(rates("stream"))
                    .map(|(this, stream)| this / stream)
                    .collect();
                format!(
                    "{:.2} ({:.2}–{:.2})",
                    median(&per_round),
                    min(&per_round),
                    max(&per_round)
                )
            },
        );
        table.row([
            route.to_owned(),
            thousands(median(&r)),
            thousands(min(&r)),
            thousands(max(&r)),
            format!("{:.1}", n as f64 / sample.chunks as f64),
            ratio,
        ]);
    }
    println!();
    println!("{}", table.render());
    client.block_on(server.stop());
}
