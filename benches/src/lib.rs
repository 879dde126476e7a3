//! Benchmarks for `sse-runtime` against the two usual alternatives,
//! actix-web-lab's `sse` and axum's `sse`.
//!
//! The bench targets live in `benches/benches/`; this library holds what they
//! share: the event type, the three servers ([`servers`]), the loopback
//! client ([`client`]) and the result tables ([`report`]).
//!
//! ```text
//! cargo bench -p sse-benches --bench one_stream
//! cargo bench -p sse-benches --bench encode
//! cargo bench -p sse-benches --bench sink
//! cargo bench -p sse-benches --bench fanout
//! ```

pub mod client;
pub mod report;
pub mod servers;

/// The event every contender streams: a small struct sent as JSON,
/// `{"seq":n,"name":"tick"}`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Tick {
    /// Position in the stream.
    pub seq: u64,
    /// Always `"tick"`.
    pub name: &'static str,
}

impl Tick {
    /// The `seq`-th tick.
    pub fn new(seq: u64) -> Self {
        Tick { seq, name: "tick" }
    }
}

/// Reads a positive integer setting from the environment (e.g.
/// `SSE_BENCH_N=100000`), or `default` when unset.
///
/// # Panics
/// If the variable is set but is not a positive integer.
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => match value.trim().replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={value:?}: expected a positive integer"),
        },
        Err(_) => default,
    }
}
