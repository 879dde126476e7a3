//! The demo server: every example of `sse-examples` on one port.
//!
//! ```text
//! cargo run -p sse-examples --release [-- --addr 127.0.0.1:8080] [--pace 1s]
//!     [--tls [--cert FILE --key FILE] | --h2c] [--redis URL]
//! ```
//!
//! `--addr` (or `DEMO_ADDR`) sets the listening address, port 0 picks a free
//! port; `--pace` (or `DEMO_PACE`) sets how long one of the examples'
//! seconds lasts, e.g. `100ms` to watch everything at ten times the speed.
//! `--tls` serves HTTPS with HTTP/2 (a self-signed certificate made at
//! start, or `--cert`/`--key`), `--h2c` HTTP/2 without TLS for a proxy in
//! front. `/metrics` serves Prometheus metrics; pages on
//! `http://localhost:*` and `http://127.0.0.1:*` may open its streams
//! (with credentials). The first line printed is
//! `sse-examples demo listening on http://ADDR` (`https://` with `--tls`).
//!
//! `--redis URL` (or `DEMO_REDIS`) shares the demo's hub through Redis
//! (`redis://127.0.0.1:6379`), so that several demo processes on different
//! ports act as one: a chat message posted to one reaches the listeners of
//! every one, with the same ids, and a client resumes on any of them with
//! `Last-Event-ID`. What stays per instance: `/stats`, the room members
//! (`/chat/{room}/members`), a task's end and its `409` (`/progress/{task}`;
//! follow a task on the instance that started it, while it runs), the notifications of
//! `/aim/notifications/{user}` (they reach that user's connections on the
//! instance posted to), and the background publishers (each instance
//! ticks, so the ticker, live updates and feed carry every instance's
//! items). If Redis can't be reached at start, the demo says so and exits
//! with status 1. Without `--redis` nothing needs Redis.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use sse_examples::edge::{self, Edge, Transport};
use sse_examples::{listing, parse_duration, rooms, Config, Examples, Pace};
use sse_runtime::Hub;

const USAGE: &str = "\
usage: demo [--addr ADDR] [--pace DURATION] [--tls [--cert FILE --key FILE] | --h2c]
            [--redis URL]

  --addr ADDR        listen on ADDR (default 127.0.0.1:8080, env DEMO_ADDR);
                     port 0 picks a free port
  --pace DURATION    how long one second of the examples lasts (default 1s,
                     env DEMO_PACE), e.g. 100ms
  --tls              HTTPS with HTTP/2 (ALPN h2, HTTP/1.1 as fallback), with
                     a self-signed certificate for localhost and 127.0.0.1
                     made at start (its PEM is written next to the log)
  --cert FILE        with --tls: the certificate chain (PEM) to use instead
  --key FILE         with --tls: its private key (PEM)
  --h2c              plain-text HTTP/1.1 and HTTP/2 with prior knowledge,
                     for a proxy in front (browsers never use h2c)
  --redis URL        share the hub through Redis at URL (env DEMO_REDIS),
                     e.g. redis://127.0.0.1:6379: several demos on different
                     ports then act as one (stats, room members and task
                     ends stay per instance)
  -h, --help         this help

Serves Prometheus metrics at /metrics. Set RUST_LOG=debug for more log
output.";

/// How the demo listens, as asked on the command line.
enum Listen {
    Http1,
    H2c,
    Tls { files: Option<(PathBuf, PathBuf)> },
}

struct Options {
    addr: SocketAddr,
    pace: Pace,
    listen: Listen,
    redis: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut addr = std::env::var("DEMO_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let mut pace = std::env::var("DEMO_PACE").ok();
    let mut redis = std::env::var("DEMO_REDIS")
        .ok()
        .filter(|url| !url.is_empty());
    let (mut tls, mut h2c) = (false, false);
    let (mut cert, mut key) = (None, None);
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
            "--tls" => tls = true,
            "--h2c" => h2c = true,
            "--cert" => cert = Some(PathBuf::from(value("--cert")?)),
            "--key" => key = Some(PathBuf::from(value("--key")?)),
            "--redis" => redis = Some(value("--redis")?),
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
    let listen = match (tls, h2c, cert, key) {
        (true, true, ..) => return Err("choose one of --tls and --h2c".to_owned()),
        (false, _, Some(_), _) | (false, _, _, Some(_)) => {
            return Err("--cert and --key go with --tls".to_owned())
        }
        (true, false, Some(cert), Some(key)) => Listen::Tls {
            files: Some((cert, key)),
        },
        (true, false, None, None) => Listen::Tls { files: None },
        (true, false, ..) => return Err("--cert and --key go together".to_owned()),
        (false, true, None, None) => Listen::H2c,
        (false, false, None, None) => Listen::Http1,
    };
    Ok(Options {
        addr,
        pace,
        listen,
        redis,
    })
}

/// The transport for `listen`, and a note on the certificate for the user.
fn transport(listen: Listen) -> Result<(Transport, Option<String>), String> {
    match listen {
        Listen::Http1 => Ok((Transport::Http1, None)),
        Listen::H2c => Ok((Transport::H2c, None)),
        Listen::Tls {
            files: Some((cert, key)),
        } => {
            let config = edge::load_tls(&cert, &key).map_err(|err| err.to_string())?;
            Ok((Transport::Tls(Box::new(config)), None))
        }
        Listen::Tls { files: None } => {
            let (config, pem) = edge::self_signed().map_err(|err| err.to_string())?;
            let path = std::env::temp_dir().join(format!("sse-demo-{}.pem", std::process::id()));
            std::fs::write(&path, pem)
                .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            let note = format!(
                "self-signed certificate for localhost and 127.0.0.1 in {0}\n\
                 (curl --cacert {0} ..., or accept the browser's warning once)",
                path.display()
            );
            Ok((Transport::Tls(Box::new(config)), Some(note)))
        }
    }
}

/// How long connecting to Redis at start may take in all.
const REDIS_CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// The demo's hub on the Redis at `url`, or a one-line error naming it.
async fn shared_hub(url: &str) -> Result<Hub, String> {
    let failed = |why: String| {
        // One line, whatever the driver's message looks like.
        let why = why.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("cannot use Redis at {}: {why}", redacted(url))
    };
    match tokio::time::timeout(REDIS_CONNECT_LIMIT, rooms::redis_hub(url)).await {
        Ok(Ok(hub)) => Ok(hub),
        Ok(Err(err)) => Err(failed(err.to_string())),
        Err(_) => Err(failed(format!(
            "no answer within {}s",
            REDIS_CONNECT_LIMIT.as_secs()
        ))),
    }
}

/// `url` with its password, if any, replaced by `***`, for messages.
///
/// `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
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

    let config = Config {
        pace: options.pace,
        ..Config::demo()
    };
    let examples = match &options.redis {
        None => Examples::new(config),
        Some(url) => match shared_hub(url).await {
            Ok(hub) => Examples::with_hub(config, hub),
            Err(message) => {
                eprintln!("demo: {message}");
                return ExitCode::FAILURE;
            }
        },
    };
    let scheme = match options.listen {
        Listen::Tls { .. } => "https",
        Listen::Http1 | Listen::H2c => "http",
    };
    let (transport, certificate) = match transport(options.listen) {
        Ok(transport) => transport,
        Err(message) => {
            eprintln!("demo: {message}");
            return ExitCode::FAILURE;
        }
    };
    let metrics = match edge::install_metrics() {
        Ok(handle) => handle,
        Err(message) => {
            eprintln!("demo: {message}");
            return ExitCode::FAILURE;
        }
    };
    let edge = Edge {
        transport,
        metrics: Some(metrics),
        ..Edge::default()
    };
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let (server, addr) = match edge::serve(&examples, options.addr, workers, edge) {
        Ok(bound) => bound,
        Err(err) => {
            eprintln!("demo: cannot listen on {}: {err}", options.addr);
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // The first line is read by tests to find the port.
    let _ = write!(stdout, "{}", listing(&format!("{scheme}://{addr}")));
    let _ = writeln!(stdout, "\nPrometheus metrics: {scheme}://{addr}/metrics");
    if let Some(note) = certificate {
        let _ = writeln!(stdout, "{note}");
    }
    if let Some(url) = &options.redis {
        let _ = writeln!(
            stdout,
            "\nhub shared through Redis at {} (stats, room members and task ends are this instance's)",
            redacted(url)
        );
    }
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

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn a_password_in_a_redis_url_is_masked() {
        assert_eq!(
            redacted("redis://user:secret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redacted("redis://:secret@host"), "redis://:***@host");
        assert_eq!(redacted("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
        assert_eq!(redacted("redis://user@host"), "redis://user@host");
        // An `@` after the host is not a credential.
        assert_eq!(redacted("redis://host/0?x=a:b@c"), "redis://host/0?x=a:b@c");
        for odd in [
            "",
            "redis://",
            "redis://@",
            "no scheme:x@y",
            "rédis://ü:ö@ä",
        ] {
            let _ = redacted(odd);
        }
        assert_eq!(redacted("rédis://ü:ö@ä"), "rédis://ü:***@ä");
    }
}
