//! Two demo processes sharing one real `redis-server` (`demo --redis URL`)
//! act as one hub: a chat message posted to one reaches a listener on the
//! other with the same id, a client resumes on the other instance with
//! `Last-Event-ID` and gets exactly what it missed, presence events
//! cross too, and the routes documented as per-instance answer without a
//! panic. A demo whose Redis can't be reached says so and exits non-zero;
//! a message posted while Redis is down is a `503` with `Retry-After`,
//! whose body tells nothing of the cause.
//!
//! `redis-server` must be on `PATH` (CI installs it): without it these
//! tests fail, they are not skipped. Every process is killed by its PID
//! when dropped, also when an assertion fails; every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use sse_runtime::parse::ReceivedEvent;
use sse_test_support::{
    wait_for_answer, within, ChildGuard, EventReader, RawRequest, RedisServer, STEP,
};

async fn redis() -> RedisServer {
    RedisServer::start(false).await.unwrap_or_else(|err| {
        panic!(
            "these tests need `redis-server` on PATH (CI installs it); starting it failed: {err}"
        )
    })
}

/// One demo process on `127.0.0.1:0` sharing its hub through `redis`.
struct Demo {
    addr: SocketAddr,
    _child: ChildGuard,
}

impl Demo {
    fn start(redis: &str) -> Demo {
        let mut child = ChildGuard::spawn(
            Command::new(env!("CARGO_BIN_EXE_demo"))
                .args(["--addr", "127.0.0.1:0", "--pace", "100ms", "--redis", redis])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )
        .expect("start the demo");
        let stdout = child.stdout.take().expect("the demo's stdout");
        // A blocking read on a thread: a demo that prints nothing must not
        // hang the test. It reads on to the end, so the demo never blocks
        // on a full pipe.
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = first_tx.send(first);
            for _ in lines {}
        });
        let line = first_rx
            .recv_timeout(STEP)
            .expect("the demo prints its address");
        let addr = line
            .strip_prefix("sse-examples demo listening on http://")
            .and_then(|addr| addr.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Demo {
            addr,
            _child: child,
        }
    }

    /// `GET path`, with `Last-Event-ID: last` if given, as an event stream.
    async fn open(&self, path: &str, last: Option<&str>) -> EventReader {
        let mut request = RawRequest::get(path);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = request
            .send(self.addr)
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(response.header("content-type"), Some("text/event-stream"));
        response.into_events()
    }

    /// `GET path` as an event stream whose subscription is attached: its
    /// first event (where it starts, an `id:` alone that a browser does
    /// not dispatch) has arrived.
    async fn attached(&self, path: &str) -> EventReader {
        let mut response = RawRequest::get(path)
            .send(self.addr)
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        assert_eq!(response.status(), 200, "GET {path}");
        let start = response
            .read_until(b"\n\n", STEP)
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        assert!(
            start.starts_with(b"id: "),
            "{:?}",
            String::from_utf8_lossy(&start)
        );
        response.into_events()
    }

    /// A whole answer: its status and its body as JSON (`Null` if not).
    async fn call(&self, request: RawRequest) -> (u16, Value) {
        let described = format!("{request:?}");
        let mut response = request
            .send(self.addr)
            .await
            .unwrap_or_else(|err| panic!("{described}: {err}"));
        let body = response
            .body_to_end(STEP)
            .await
            .unwrap_or_else(|err| panic!("{described}: {err}"));
        (
            response.status(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = RawRequest::post(path)
            .header("content-type", "application/json")
            .body(body.to_string());
        self.call(request).await
    }

    /// Posts a chat message to `room`; returns its event id.
    async fn say(&self, room: &str, text: &str) -> String {
        let (status, answer) = self
            .post(
                &format!("/chat/{room}"),
                &json!({ "from": "ada", "text": text }),
            )
            .await;
        assert_eq!(status, 202, "POST /chat/{room}: {answer}");
        answer["id"].as_str().expect("an id").to_owned()
    }

    async fn members(&self, room: &str) -> Value {
        let (status, members) = self
            .call(RawRequest::get(&format!("/chat/{room}/members")))
            .await;
        assert_eq!(status, 200);
        members
    }

    /// Asks for `room`'s members until they are `expected` (Bob and Carol
    /// are gone once this instance has noticed their disconnects).
    async fn wait_for_members(&self, room: &str, expected: Value) {
        let what = format!("members of {room}");
        wait_for_answer(STEP, &what, &expected, || self.members(room)).await;
    }
}

async fn next(events: &mut EventReader) -> ReceivedEvent {
    events.expect_event().await
}

/// The next event of type `kind`; others (presence) are skipped.
async fn next_of(events: &mut EventReader, kind: &str) -> ReceivedEvent {
    within(STEP, async {
        loop {
            let event = next(events).await;
            if event.event == kind {
                return event;
            }
        }
    })
    .await
}

/// Waits for `user`'s `user-joined`: their subscription is attached, so
/// nothing published afterwards is missed.
async fn joined(events: &mut EventReader, user: &str) {
    loop {
        let event = next_of(events, "user-joined").await;
        if event.json::<Value>().expect("JSON")["user"] == user {
            return;
        }
    }
}

/// The `message` events' `(text, id)`.
fn texts_and_ids(messages: &[ReceivedEvent]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| {
            let data: Value = m.json().expect("JSON");
            (
                data["text"].as_str().expect("a text").to_owned(),
                m.id.clone(),
            )
        })
        .collect()
}

async fn messages(events: &mut EventReader, n: usize) -> Vec<(String, String)> {
    let mut got = Vec::new();
    for _ in 0..n {
        got.push(next_of(events, "message").await);
    }
    texts_and_ids(&got)
}

fn seq(id: &str) -> u64 {
    id.rsplit_once('-')
        .and_then(|(_, seq)| seq.parse().ok())
        .unwrap_or_else(|| panic!("not an <epoch>-<seq> id: {id:?}"))
}

#[actix_web::test]
async fn two_demos_on_one_redis_act_as_one_hub() {
    let redis = redis().await;
    let a = Demo::start(&redis.url());
    let b = Demo::start(&redis.url());

    // Bob listens on B and sees his own arrival.
    let mut bob = b.open("/chat/lobby?user=bob", None).await;
    joined(&mut bob, "bob").await;
    // Carol listens on B too (she moves to A below).
    let mut carol = b.open("/chat/lobby?user=carol", None).await;
    joined(&mut carol, "carol").await;
    joined(&mut bob, "carol").await;

    // Posted to A, received on B with the ids A answered.
    let one = a.say("lobby", "one").await;
    let two = a.say("lobby", "two").await;
    let sent = vec![
        ("one".to_owned(), one.clone()),
        ("two".to_owned(), two.clone()),
    ];
    assert_eq!(messages(&mut bob, 2).await, sent);
    assert_eq!(messages(&mut carol, 2).await, sent);
    assert!(seq(&one) < seq(&two), "{one} then {two}");

    // Carol goes away; two messages are posted while she is gone, one to
    // each instance ...
    drop(carol);
    let three = a.say("lobby", "three").await;
    let four = b.say("lobby", "four").await;
    assert_eq!(
        messages(&mut bob, 2).await,
        [
            ("three".to_owned(), three.clone()),
            ("four".to_owned(), four.clone())
        ]
    );
    // ... and she comes back to A with the last id she saw: exactly what
    // she missed, then live, no duplicate.
    let mut carol = a.open("/chat/lobby", Some(&two)).await;
    let five = b.say("lobby", "five").await;
    let mut resumed = Vec::new();
    let mut last = seq(&two);
    while resumed.last().map(|(_, id): &(String, String)| id) != Some(&five) {
        let event = next(&mut carol).await;
        // Every event (presence too) is after the last one seen: no
        // duplicate, and in order.
        assert!(seq(&event.id) > last, "{event:?} is not after id {last}");
        last = seq(&event.id);
        if event.event == "message" {
            resumed.extend(texts_and_ids(&[event]));
        }
    }
    assert_eq!(
        resumed,
        [
            ("three".to_owned(), three),
            ("four".to_owned(), four),
            ("five".to_owned(), five)
        ]
    );

    // Presence crosses instances too: Bob leaves B, Carol on A sees it.
    drop(bob);
    loop {
        let left = next_of(&mut carol, "user-left").await;
        if left.json::<Value>().expect("JSON")["user"] == "bob" {
            break;
        }
    }

    // Per instance: the members, /stats, a task's progress. They answer
    // (no panic on the Redis hub).
    let mut dave = b.open("/chat/lobby?user=dave", None).await;
    joined(&mut dave, "dave").await;
    b.wait_for_members("lobby", json!(["dave"])).await;
    assert_eq!(a.members("lobby").await, json!([]));
    for demo in [&a, &b] {
        let (status, stats) = demo.call(RawRequest::get("/stats")).await;
        assert_eq!(status, 200, "{stats}");
        assert!(stats.is_object(), "{stats}");
    }
    // A task followed on the instance that runs it: every step, the end,
    // then the stream ends (the topic is closed there).
    let mut progress = a.attached("/progress/build").await;
    let (status, answer) = a.post("/progress/build", &json!({})).await;
    assert_eq!(status, 202, "{answer}");
    let steps = within(STEP, progress.collect_all())
        .await
        .expect("the task's events");
    let kinds: Vec<&str> = steps.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds.len(), 12, "{steps:?}");
    assert!(kinds[..11].iter().all(|k| *k == "progress"), "{steps:?}");
    assert_eq!(steps[10].json::<Value>().unwrap()["percentage"], 100);
    assert_eq!(kinds[11], "complete");
    let (status, answer) = a
        .post(
            "/aim/notifications/nobody",
            &json!({ "from": "ada", "message": "hi" }),
        )
        .await;
    assert_eq!((status, answer), (202, json!({ "delivered": 0 })));
    drop(dave);
}

/// A free loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("its address").port()
}

#[actix_web::test]
async fn an_unreachable_redis_is_a_clear_error_and_a_failed_exit() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let mut child = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0", "--redis", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .expect("start the demo");
    let status = child
        .wait_within(STEP)
        .await
        .expect("wait for the demo")
        .expect("the demo exits by itself");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("the demo's stderr")
        .read_to_string(&mut stderr)
        .expect("read the demo's stderr");
    assert!(!status.success(), "{status}: {stderr}");
    assert_eq!(status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].starts_with("demo: cannot use Redis at ") && lines[0].contains(&url),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[actix_web::test]
async fn a_message_posted_while_redis_is_down_is_a_503_with_retry_after() {
    let mut redis = redis().await;
    let demo = Demo::start(&redis.url());
    demo.say("lobby", "before").await;
    redis.kill(); // by its PID
    let mut response = RawRequest::post("/chat/lobby")
        .header("content-type", "application/json")
        .body(json!({ "from": "ada", "text": "lost?" }).to_string())
        .send(demo.addr)
        .await
        .expect("POST /chat/lobby");
    assert_eq!(response.status(), 503);
    assert_eq!(response.header("retry-after"), Some("5"));
    let body = response.body_to_end(STEP).await.expect("the body");
    assert_eq!(
        String::from_utf8_lossy(&body),
        "service unavailable, retry later\n",
        "nothing of the cause (`Connection refused`, the address) reaches the client"
    );
}
