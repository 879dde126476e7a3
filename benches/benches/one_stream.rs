//! One SSE stream over loopback, end to end: each contender streams N small
//! JSON events as fast as it can to one client, which measures events/s
//! from the first byte of the response to the last.
//!
//! `cargo bench -p sse-benches --bench one_stream`
//! (`SSE_BENCH_N`, default 1 000 000 events; `SSE_BENCH_ROUNDS`, default 5).

use std::collections::HashMap;

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

    let run = |server: &Server| -> Fetch {
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
        got
    };

    println!("one_stream: {n} events per run, {rounds} rounds interleaved, 1 warm-up round");
    for server in &servers {
        run(server);
    }
    let mut results: HashMap<Contender, Vec<Fetch>> = HashMap::new();
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        for server in &servers {
            let got = run(server);
            line.push_str(&format!(
                "  {} {} ev/s",
                server.contender.name(),
                thousands(got.events_per_sec())
            ));
            results.entry(server.contender).or_default().push(got);
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
        "ours ÷ this",
    ]);
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
            format!("{:.2}×", ours_median / median(&r)),
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
    let mut ratios = Table::new(["ratio", "of medians", "median of same-round ratios"]);
    ratios.row([
        "ours ÷ actix-web-lab".to_owned(),
        format!("{:.2}×", ours_median / awl),
        format!("{:.2}×", per_round(Contender::ActixWebLab)),
    ]);
    ratios.row([
        "ours ÷ axum".to_owned(),
        format!("{:.2}×", ours_median / axum),
        format!("{:.2}×", per_round(Contender::Axum)),
    ]);
    println!("{}", ratios.render());
    let verdict = ours_median / faster;
    println!(
        "target ≥ 2.00× the faster peer ({faster_name}): {verdict:.2}× → {}",
        if verdict >= 2.0 { "MET" } else { "NOT MET" }
    );

    client.block_on(async {
        for server in servers {
            server.stop().await;
        }
    });
}
