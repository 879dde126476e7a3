//! One SSE stream over loopback, end to end: each contender streams N small
//! JSON events as fast as it can to one client, which measures events/s
//! from the first byte of the response to the last. The serving thread's
//! CPU time per event is reported too: on a shared machine it is the
//! steadier figure.
//!
//! `cargo bench -p sse-benches --bench one_stream`
//! (`SSE_BENCH_N`, default 1 000 000 events; `SSE_BENCH_ROUNDS`, default 5).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sse_benches::client::{fetch, Fetch};
use sse_benches::report::{max, median, min, thousands, Table};
use sse_benches::servers::{Contender, Server, PATH};
use sse_benches::{env_u64, Tick};

fn main() {
    let n = env_u64("SSE_BENCH_N", 1_000_000);
    let rounds = env_u64("SSE_BENCH_ROUNDS", 5);
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let servers: Vec<Server> = Contender::ALL
        .iter()
        .map(|&c| Server::start(c, n))
        .collect();
    let expected_first = format!(
        "data: {}\n\n",
        serde_json::to_string(&Tick::new(0)).expect("json")
    );

    let run = |server: &Server| -> (Fetch, Duration) {
        let _ = server.meter.take();
        let got = client
            .block_on(fetch(server.addr, PATH))
            .unwrap_or_else(|err| panic!("{}: request failed: {err}", server.contender.name()));
        assert_eq!(
            got.events,
            n,
            "{}: received {} events, expected exactly {n}",
            server.contender.name(),
            got.events
        );
        assert_eq!(
            got.first_event,
            expected_first.as_bytes(),
            "{}: unexpected first event",
            server.contender.name()
        );
        // The stream ends (and is metered) before its last bytes are sent,
        // so the figure is normally there already.
        let deadline = Instant::now() + Duration::from_secs(2);
        let cpu = loop {
            if let Some(cpu) = server.meter.take() {
                break cpu;
            }
            assert!(
                Instant::now() < deadline,
                "{}: stream CPU time never recorded",
                server.contender.name()
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        (got, cpu)
    };

    println!("one_stream: {n} events per run, {rounds} rounds interleaved, 1 warm-up round");
    for server in &servers {
        run(server);
    }
    let mut results: HashMap<Contender, Vec<Fetch>> = HashMap::new();
    let mut cpu: HashMap<Contender, Vec<f64>> = HashMap::new();
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        for server in &servers {
            let (got, spent) = run(server);
            let ns = spent.as_nanos() as f64 / n as f64;
            line.push_str(&format!(
                "  {} {} ev/s {ns:.0} ns/ev CPU;",
                server.contender.name(),
                thousands(got.events_per_sec()),
            ));
            results.entry(server.contender).or_default().push(got);
            cpu.entry(server.contender).or_default().push(ns);
        }
        println!("{line}");
    }

    let rates =
        |c: Contender| -> Vec<f64> { results[&c].iter().map(Fetch::events_per_sec).collect() };
    let ours = rates(Contender::Ours);
    let ours_median = median(&ours);

    let mut table = Table::new([
        "contender",
        "median events/s",
        "min",
        "max",
        "MB/s (body)",
        "body B/event",
        "HTTP chunks/run",
        "events/chunk",
        "client reads/run",
        "server CPU ns/event",
        "ours ÷ this (events/s)",
        "this ÷ ours (CPU/event)",
    ]);
    let ours_cpu = median(&cpu[&Contender::Ours]);
    for c in Contender::ALL {
        let r = rates(c);
        let sample = &results[&c][0];
        let secs: Vec<f64> = results[&c]
            .iter()
            .map(|f| f.elapsed.as_secs_f64())
            .collect();
        let mb_per_s = sample.body_bytes as f64 / median(&secs) / 1e6;
        table.row([
            c.name().to_owned(),
            thousands(median(&r)),
            thousands(min(&r)),
            thousands(max(&r)),
            format!("{mb_per_s:.1}"),
            format!("{:.1}", sample.body_bytes as f64 / n as f64),
            thousands(sample.chunks as f64),
            format!("{:.1}", n as f64 / sample.chunks as f64),
            thousands(sample.reads as f64),
            format!("{:.0}", median(&cpu[&c])),
            format!("{:.2}×", ours_median / median(&r)),
            format!("{:.2}×", median(&cpu[&c]) / ours_cpu),
        ]);
    }
    println!();
    println!("{}", table.render());

    // Same-round ratios are less exposed to the machine's drift than a
    // ratio of medians taken over the whole run.
    let per_round = |peer: Contender| -> f64 {
        let peer = rates(peer);
        let ratios: Vec<f64> = ours.iter().zip(&peer).map(|(o, p)| o / p).collect();
        median(&ratios)
    };
    let awl = median(&rates(Contender::ActixWebLab));
    let axum = median(&rates(Contender::Axum));
    let (faster_name, faster) = if awl >= axum {
        ("actix-web-lab", awl)
    } else {
        ("axum", axum)
    };
    let cpu_ratio = |peer: Contender| median(&cpu[&peer]) / ours_cpu;
    let mut ratios = Table::new([
        "ratio",
        "events/s, of medians",
        "events/s, median of same-round ratios",
        "server CPU per event, peer ÷ ours",
    ]);
    ratios.row([
        "ours ÷ actix-web-lab".to_owned(),
        format!("{:.2}×", ours_median / awl),
        format!("{:.2}×", per_round(Contender::ActixWebLab)),
        format!("{:.2}×", cpu_ratio(Contender::ActixWebLab)),
    ]);
    ratios.row([
        "ours ÷ axum".to_owned(),
        format!("{:.2}×", ours_median / axum),
        format!("{:.2}×", per_round(Contender::Axum)),
        format!("{:.2}×", cpu_ratio(Contender::Axum)),
    ]);
    println!("{}", ratios.render());
    let verdict = ours_median / faster;
    println!(
        "target ≥ 2.00× the faster peer ({faster_name}), events/s medians: {verdict:.2}× → {}",
        if verdict >= 2.0 { "MET" } else { "NOT MET" }
    );
    let faster_cpu = cpu_ratio(Contender::ActixWebLab).min(cpu_ratio(Contender::Axum));
    println!(
        "same target on server CPU per event (the most efficient peer): {faster_cpu:.2}× → {}",
        if faster_cpu >= 2.0 { "MET" } else { "NOT MET" }
    );

    client.block_on(async {
        for server in servers {
            server.stop().await;
        }
    });
}
