//! The demo server: every example of `sse-examples` on one port.
//!
//! ```text
//! cargo run -p sse-examples --release [-- --addr 127.0.0.1:8080] [--pace 1s]
//! ```
//!
//! `--addr` (or `DEMO_ADDR`) sets the listening address, port 0 picks a free
//! port; `--pace` (or `DEMO_PACE`) sets how long one of the examples'
//! seconds lasts, e.g. `100ms` to watch everything at ten times the speed.
//! The first line printed is `sse-examples demo listening on http://ADDR`.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use sse_examples::{listing, parse_duration, Config, Examples, Pace};

const USAGE: &str = "\
usage: demo [--addr ADDR] [--pace DURATION]

  --addr ADDR        listen on ADDR (default 127.0.0.1:8080, env DEMO_ADDR);
                     port 0 picks a free port
  --pace DURATION    how long one second of the examples lasts (default 1s,
                     env DEMO_PACE), e.g. 100ms
  -h, --help         this help

Set RUST_LOG=debug for more log output.";

struct Options {
    addr: SocketAddr,
    pace: Pace,
}

fn parse_options() -> Result<Options, String> {
    let mut addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let mut pace = std::env::var("DEMO_PACE").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--addr" => addr = value("--addr")?,
            "--pace" => pace = Some(value("--pace")?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|e| format!("`{addr}` is not an address like 127.0.0.1:8080: {e}"))?;
    let pace = match pace {
        Some(pace) => Pace::new(parse_duration(&pace)?),
        None => Pace::REAL,
    };
    Ok(Options { addr, pace })
}

fn log_level() -> tracing::Level {
    match std::env::var("RUST_LOG").as_deref() {
        Ok("trace") => tracing::Level::TRACE,
        Ok("debug") => tracing::Level::DEBUG,
        Ok("warn") => tracing::Level::WARN,
        Ok("error") => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("demo: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(log_level())
        .with_writer(std::io::stderr)
        .init();

    let examples = Examples::new(Config {
        pace: options.pace,
        ..Config::demo()
    });
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let (server, addr) = match examples.serve(options.addr, workers) {
        Ok(bound) => bound,
        Err(err) => {
            eprintln!("demo: cannot listen on {}: {err}", options.addr);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // The first line is read by tests to find the port.
    let _ = write!(stdout, "{}", listing(&format!("http://{addr}")));
    if options.pace != Pace::REAL {
        let _ = writeln!(
            stdout,
            "\n(one second of the examples lasts {:?})",
            options.pace.second()
        );
    }
    let _ = writeln!(stdout, "\nPress Ctrl-C to stop.");
    let _ = stdout.flush();
    drop(stdout);

    // On Ctrl-C or SIGTERM, open streams end first (with a `retry:` hint),
    // so the graceful stop does not wait out actix's shutdown timeout.
    match sse_runtime::serve(server).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("demo: {err}");
            ExitCode::FAILURE
        }
    }
}
