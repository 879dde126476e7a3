//! Every program of `examples/examples/` run as a user runs it: each server
//! starts on `PORT=0`, prints `listening on URL` and the `curl` lines to
//! try, and serves its first events over a real connection; `client` reads
//! a server of this test and reconnects; `testing` passes its checks.
//!
//! Integration tests do not build examples, so these run the binaries
//! `cargo build -p sse-examples --examples --all-features` left next to
//! this test's own (`target/<profile>/examples/`), and say so when one is
//! missing or older than its source. Each child is killed by its PID when
//! its guard drops, also when an assertion fails, and every wait is
//! bounded.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use actix_web::{web, App};
use futures_util::stream;
use serde_json::{json, Value};
use sse_runtime::parse::ReceivedEvent;
use sse_runtime::{Event, LastEventId, Sse};
use sse_test_support::{serve, within, ChildGuard, EventReader, RawRequest, RedisServer, STEP};

/// The built example `name`, checked to be there and up to date.
fn example_binary(name: &str) -> PathBuf {
    let build = "build the examples first: cargo build -p sse-examples --examples --all-features";
    // This test runs as target/<profile>/deps/examples_smoke-<hash>.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let modified = |path: &Path| path.metadata().and_then(|m| m.modified()).ok();
    let Some(built) = modified(&binary) else {
        panic!("{} is missing: {build}", binary.display());
    };
    if modified(&source).is_some_and(|changed| changed > built) {
        panic!(
            "{} is older than {}: {build}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// An example server, killed by its PID when dropped.
struct Running {
    child: ChildGuard,
    addr: SocketAddr,
    /// `http://ADDR` or `https://ADDR`, as printed.
    base: String,
    lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts example `name` on `127.0.0.1:0` with `env`, and reads its
    /// first line, `listening on URL`.
    fn start(name: &str, env: &[(&str, &str)]) -> Running {
        let child = ChildGuard::spawn(
            Command::new(example_binary(name))
                .env("PORT", "0")
                .envs(env.iter().copied())
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let mut child = child.unwrap_or_else(|err| panic!("start example {name}: {err}"));
        let stdout = child.stdout.take().expect("the example's stdout");
        // Blocking reads on a thread of their own: an example that prints
        // nothing must not hang the test, nor one that prints a lot block.
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let first = lines
            .recv_timeout(STEP)
            .unwrap_or_else(|err| panic!("example {name} printed no first line: {err}"));
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("example {name}: unexpected first line {first:?}"))
            .to_owned();
        let addr = base
            .split_once("://")
            .and_then(|(_, addr)| addr.parse().ok())
            .unwrap_or_else(|| panic!("example {name}: not a URL with an ip:port: {base}"));
        Running {
            child,
            addr,
            base,
            lines,
        }
    }

    /// The next printed line that starts with `prefix` (others skipped).
    fn line(&self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(STEP) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(err) => panic!("no line starting with {prefix:?}: {err}"),
            }
        }
    }

    /// Checks that the example prints a `curl -N` line for `path`.
    fn prints_curl_for(&self, path: &str) {
        let try_line = self.line("try: ");
        let url = format!("{}{path}", self.base);
        assert!(
            try_line.contains("curl -N") && try_line.contains(&url),
            "{try_line:?} does not show `curl -N ... {url}`"
        );
    }

    /// `GET path` as an event stream.
    async fn events(&self, request: RawRequest) -> EventReader {
        let described = format!("{request:?}");
        request
            .open_event_stream(self.addr)
            .await
            .unwrap_or_else(|err| panic!("{described}: {err}"))
            .into_events()
    }

    /// `GET path` whose hub subscription is attached: its first frame
    /// (an `id:` alone, where it starts, not dispatched) has arrived.
    async fn attached(&self, path: &str) -> EventReader {
        let mut response = RawRequest::get(path)
            .open_event_stream(self.addr)
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        let start = response.read_until(b"\n\n", STEP).await;
        let start = start.unwrap_or_else(|err| panic!("GET {path}: {err}"));
        assert!(
            start.starts_with(b"id: "),
            "{}",
            String::from_utf8_lossy(&start)
        );
        response.into_events()
    }

    /// A whole answer: status and body.
    async fn call(&self, request: RawRequest) -> (u16, Vec<u8>) {
        let described = format!("{request:?}");
        let mut response = request
            .send(self.addr)
            .await
            .unwrap_or_else(|err| panic!("{described}: {err}"));
        let body = response.body_to_end(STEP).await;
        let body = body.unwrap_or_else(|err| panic!("{described}: {err}"));
        (response.status(), body)
    }

    /// Posts a chat message to `/rooms/{room}`; returns its event id.
    async fn say(&self, room: &str, text: &str) -> String {
        let request = RawRequest::post(&format!("/rooms/{room}"))
            .header("content-type", "application/json")
            .body(json!({ "from": "ada", "text": text }).to_string());
        let (status, body) = self.call(request).await;
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 202, "POST /rooms/{room}: {answer}");
        answer["id"].as_str().expect("an id").to_owned()
    }
}

/// The next event of type `kind`, others (presence) skipped.
async fn next_of(events: &mut EventReader, kind: &str) -> ReceivedEvent {
    within(STEP, async {
        loop {
            let event = events.expect_event().await;
            if event.event == kind {
                return event;
            }
        }
    })
    .await
}

fn datas(events: &[ReceivedEvent]) -> Vec<&str> {
    events.iter().map(|event| event.data.as_str()).collect()
}

/// A finished child's status and what it printed, within `limit`.
async fn finished(mut child: ChildGuard, limit: Duration) -> (bool, String) {
    let status = child
        .wait_within(limit)
        .await
        .expect("wait for the example");
    let status = status.unwrap_or_else(|| panic!("the example did not exit within {limit:?}"));
    let mut printed = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_string(&mut printed).expect("its output");
    }
    (status.success(), printed)
}

#[actix_web::test]
async fn hello_serves_the_route_both_ways() {
    let hello = Running::start("hello", &[]);
    hello.prints_curl_for("/events/updates");
    for path in ["/events/updates", "/plain/updates"] {
        let mut events = hello.events(RawRequest::get(path)).await;
        let all = events.collect_all().await.expect(path);
        assert_eq!(
            datas(&all),
            ["Hello, world!", "This is a real-time update"],
            "{path}"
        );
        assert_eq!(events.retry(), Some(Duration::from_secs(2)), "{path}");
    }
}

#[actix_web::test]
async fn json_sends_structs_and_named_events() {
    let json = Running::start("json", &[]);
    json.prints_curl_for("/tasks/progress");

    let mut progress = json.events(RawRequest::get("/tasks/progress")).await;
    let first = progress.expect_event().await;
    assert_eq!(first.event, "message");
    assert_eq!(
        first.json::<Value>().unwrap(),
        json!({"task": "build", "percent": 0})
    );

    let mut named = json.events(RawRequest::get("/tasks/named")).await;
    let first = named.expect_event().await;
    assert_eq!(first.event, "progress");
    assert_eq!(first.json::<Value>().unwrap()["percent"], 0);

    let mut names = json.events(RawRequest::get("/tasks/names")).await;
    assert_eq!(names.expect_event().await.data, "\"build\"");
}

#[actix_web::test]
async fn sink_sends_from_a_task_and_from_a_method() {
    let sink = Running::start("sink", &[]);
    sink.prints_curl_for("/countdown");

    let mut countdown = sink.events(RawRequest::get("/countdown")).await;
    assert_eq!(countdown.expect_event().await.data, "3");

    let mut counter = sink.events(RawRequest::get("/live/counter")).await;
    let first = counter.expect_event().await;
    assert_eq!(first.json::<Value>().unwrap(), json!({"count": 1}));
}

/// A room on `example`: a message reaches a listener, and a listener that
/// comes back with `Last-Event-ID` gets exactly the message it missed.
async fn publish_and_resume(example: &Running) {
    let mut ada = example.attached("/rooms/lobby").await;
    let first_id = example.say("lobby", "first").await;
    let first = next_of(&mut ada, "message").await;
    assert_eq!(
        first.json::<Value>().unwrap(),
        json!({"from": "ada", "text": "first"})
    );
    assert_eq!(first.id, first_id);

    let second_id = example.say("lobby", "second").await;
    let request = RawRequest::get("/rooms/lobby").header("last-event-id", &first_id);
    let mut back = example.events(request).await;
    let missed = next_of(&mut back, "message").await;
    assert_eq!(missed.json::<Value>().unwrap()["text"], "second");
    assert_eq!(missed.id, second_id);
}

#[actix_web::test]
async fn rooms_publishes_and_resumes() {
    let rooms = Running::start("rooms", &[]);
    rooms.prints_curl_for("/rooms/lobby?user=ada");
    let listener = rooms.attached("/rooms/hall").await;
    let (status, count) = rooms.call(RawRequest::get("/rooms/hall/count")).await;
    assert_eq!(
        (status, String::from_utf8_lossy(&count).as_ref()),
        (200, "1")
    );
    drop(listener);
    publish_and_resume(&rooms).await;
}

#[actix_web::test]
async fn redis_shares_the_rooms_through_redis() {
    let redis = RedisServer::start(false).await.unwrap_or_else(|err| {
        panic!("this test needs `redis-server` on PATH (CI installs it); starting it failed: {err}")
    });
    let example = Running::start("redis", &[("REDIS_URL", &redis.url())]);
    example.prints_curl_for("/rooms/lobby");
    publish_and_resume(&example).await;
}

#[actix_web::test]
async fn production_serves_https_with_cors_and_metrics() {
    let mut production = Running::start("production", &[]);
    assert!(
        production.base.starts_with("https://"),
        "{}",
        production.base
    );
    let cert_line = production.line("self-signed certificate: ");
    let cert_file = PathBuf::from(cert_line.trim_start_matches("self-signed certificate: "));
    let pem = std::fs::read_to_string(&cert_file).expect("the printed certificate file");
    let try_line = production.line("try: ");
    assert!(try_line.contains("curl -N --cacert"), "{try_line}");

    let origin = "https://app.example.com";
    let request = RawRequest::get("/events/ticks")
        .tls(&pem)
        .header("origin", origin);
    let response = request
        .open_event_stream(production.addr)
        .await
        .expect("/events/ticks");
    assert_eq!(response.header("access-control-allow-origin"), Some(origin));
    let mut ticks = response.into_events();
    assert_eq!(ticks.expect_event().await.data, "0");
    assert_eq!(ticks.retry(), Some(Duration::from_secs(3)));

    let (status, metrics) = production.call(RawRequest::get("/metrics").tls(&pem)).await;
    let metrics = String::from_utf8_lossy(&metrics);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("sse_streams_opened_total{route=\"/events/ticks\"} 1"),
        "{metrics}"
    );

    // SIGTERM: the open stream ends first, the example exits and removes
    // its certificate file.
    let pid = production.child.id().to_string();
    let signalled = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(signalled.expect("run kill").success());
    let exited = production.child.wait_within(Duration::from_secs(10)).await;
    let exited = exited
        .expect("wait")
        .expect("no exit within 10 s of SIGTERM");
    assert!(exited.success(), "{exited:?}");
    assert!(!cert_file.exists(), "{} left behind", cert_file.display());
}

#[actix_web::test]
async fn testing_passes_its_checks() {
    let child = ChildGuard::spawn(
        Command::new(example_binary("testing"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .expect("start the testing example");
    let (success, printed) = finished(child, STEP).await;
    assert!(success, "{printed}");
    assert!(printed.ends_with("all checks passed\n"), "{printed}");
}

fn event(id: &str, data: &str) -> Event {
    Event::default().id(id).expect("a plain id").data(data)
}

/// Two events with ids, then a cut (no end frame): the client must come
/// back after 50 ms with `Last-Event-ID: 2`, which the next event echoes.
async fn cut_feed(last: LastEventId) -> Sse {
    let events = match last.as_str() {
        None => vec![event("1", "one"), event("2", "two")],
        Some(id) => vec![event("3", &format!("after {id}"))],
    };
    Sse::from_stream(stream::iter(events))
        .retry(Duration::from_millis(50))
        .reconnect_on_end()
}

/// Two events, then the end frame: a client that comes back is told `204`.
async fn finished_feed() -> Sse {
    Sse::from_stream(stream::iter(["a", "b"])).retry(Duration::from_millis(50))
}

#[actix_web::test]
async fn client_reconnects_with_the_last_id_and_stops_on_204() {
    let server = serve(|| {
        App::new()
            .route("/cut", web::get().to(cut_feed))
            .route("/finished", web::get().to(finished_feed))
    });
    let client = |args: &[&str]| {
        ChildGuard::spawn(
            Command::new(example_binary("client"))
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .expect("start the client example")
    };

    let cut = client(&[&server.url("/cut"), "3"]);
    let (success, printed) = finished(cut, STEP).await;
    assert!(success, "{printed}");
    assert_eq!(
        printed,
        "message id=\"1\" data=\"one\"\nmessage id=\"2\" data=\"two\"\nmessage id=\"3\" data=\"after 2\"\n"
    );

    let ended = client(&[&server.url("/finished")]);
    let (success, printed) = finished(ended, STEP).await;
    assert!(success, "{printed}");
    assert_eq!(
        printed,
        "message id=\"\" data=\"a\"\nmessage id=\"\" data=\"b\"\n(204: the server has nothing more)\n"
    );
    server.stop().await;
}
