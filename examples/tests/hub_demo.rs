//! Over real HTTP: the demo's hub routes (`examples/src/rooms.rs`). Chat
//! rooms with join/leave, presence and resume by `Last-Event-ID` or
//! `?lastEventId=`; a broadcast to every room; a task's progress that ends
//! and then answers `204`; the resumable ticker; several topics in one
//! stream, and `400` for a topic that is not public.
//!
//! One second of the examples lasts 10 ms; every wait is bounded.

mod demo;

use demo::{Demo, FAST};
use std::net::SocketAddr;

use serde_json::{json, Value};
use sse_examples::Config;
use sse_runtime::parse::ReceivedEvent;
use sse_test_support::{wait_for_answer, wait_until, EventReader, RawRequest, RawResponse, STEP};

/// The demo; with `ticking`, its background publishers (the ticker) run.
fn start(ticking: bool) -> Demo {
    demo::start(Config {
        pace: FAST,
        upstream_fails_after: None,
        background: ticking,
    })
}

impl Demo {
    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    async fn send(&self, request: RawRequest) -> RawResponse {
        let described = format!("{request:?}");
        request
            .send(self.addr())
            .await
            .unwrap_or_else(|err| panic!("{described}: {err}"))
    }

    /// Opens an event stream, with `Last-Event-ID: last` if given.
    async fn open(&self, path: &str, last: Option<&str>) -> EventReader {
        let mut request = RawRequest::get(path);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let response = self.send(request).await;
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/event-stream"),
            "GET {path}"
        );
        response.into_events()
    }

    async fn status_of_get(&self, path: &str, last: Option<&str>) -> u16 {
        let mut request = RawRequest::get(path);
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        let mut response = self.send(request).await;
        let status = response.status();
        // The answer is complete (no stream left open behind it).
        response.body_to_end(STEP).await.expect("a whole answer");
        status
    }

    /// POSTs `body` as JSON; returns the status and the answer as JSON
    /// (`Null` if it is not JSON).
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = RawRequest::post(path)
            .header("content-type", "application/json")
            .body(body.to_string());
        let mut response = self.send(request).await;
        let status = response.status();
        let answer = response.body_to_end(STEP).await.expect("a whole answer");
        (
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        )
    }

    /// Posts a chat message; returns its event id.
    async fn say(&self, room: &str, from: &str, text: &str) -> String {
        let (status, answer) = self
            .post(
                &format!("/chat/{room}"),
                &json!({ "from": from, "text": text }),
            )
            .await;
        assert_eq!(status, 202, "{answer}");
        answer["id"].as_str().expect("an id").to_owned()
    }

    async fn members(&self, room: &str) -> Value {
        let mut response = self
            .send(RawRequest::get(&format!("/chat/{room}/members")))
            .await;
        assert_eq!(response.status(), 200);
        let body = response.body_to_end(STEP).await.expect("the members");
        serde_json::from_slice(&body).expect("JSON")
    }

    async fn wait_for_members(&self, room: &str, expected: Value) {
        let what = format!("members of {room}");
        wait_for_answer(STEP, &what, &expected, || self.members(room)).await;
    }
}

async fn next(events: &mut EventReader) -> ReceivedEvent {
    events.expect_event().await
}

async fn take(events: &mut EventReader, n: usize) -> Vec<ReceivedEvent> {
    events.take(n).await.expect("events in time")
}

fn json_of(event: &ReceivedEvent) -> Value {
    event.json().expect("JSON data")
}

fn summary(events: &[ReceivedEvent]) -> Vec<(String, Value)> {
    events
        .iter()
        .map(|e| (e.event.clone(), json_of(e)))
        .collect()
}

#[actix_web::test]
async fn chat_messages_presence_and_resume_by_header_or_query() {
    let demo = start(false);
    let mut ada = demo.open("/chat/lobby?user=ada", None).await;
    let joined = next(&mut ada).await;
    assert_eq!(joined.event, "user-joined");
    assert_eq!(json_of(&joined), json!({ "user": "ada" }));
    demo.wait_for_members("lobby", json!(["ada"])).await;
    let grace = demo.open("/chat/lobby?user=grace", None).await;
    demo.wait_for_members("lobby", json!(["ada", "grace"]))
        .await;
    assert_eq!(demo.examples.services().hub.subscribers("chat/lobby"), 2);

    let first = demo.say("lobby", "bob", "hi").await;
    let events = take(&mut ada, 2).await;
    assert_eq!(
        summary(&events),
        [
            ("user-joined".to_owned(), json!({ "user": "grace" })),
            ("message".to_owned(), json!({ "from": "bob", "text": "hi" })),
        ]
    );
    assert_eq!(events[1].id, first, "the POST answers the event's id");

    // ada leaves; what happens while she is away is replayed on return.
    drop(ada);
    demo.wait_for_members("lobby", json!(["grace"])).await;
    demo.say("lobby", "bob", "two").await;
    demo.say("lobby", "bob", "three").await;
    let missed = [
        ("user-left".to_owned(), json!({ "user": "ada" })),
        (
            "message".to_owned(),
            json!({ "from": "bob", "text": "two" }),
        ),
        (
            "message".to_owned(),
            json!({ "from": "bob", "text": "three" }),
        ),
    ];
    let mut by_header = demo.open("/chat/lobby", Some(&first)).await;
    assert_eq!(summary(&take(&mut by_header, 3).await), missed);
    let mut by_query = demo
        .open(&format!("/chat/lobby?lastEventId={first}"), None)
        .await;
    assert_eq!(summary(&take(&mut by_query, 3).await), missed);

    // Then live, with no duplicate: the next event is the next message.
    let live = demo.say("lobby", "bob", "four").await;
    for events in [&mut by_header, &mut by_query] {
        let event = next(events).await;
        assert_eq!(json_of(&event)["text"], "four");
        assert_eq!(event.id, live);
    }
    // Anonymous listeners are not members.
    demo.wait_for_members("lobby", json!(["grace"])).await;
    drop(grace);
    demo.wait_for_members("lobby", json!([])).await;
    drop((by_header, by_query));
    demo.server.stop().await;
}

#[actix_web::test]
async fn an_id_from_another_start_gets_the_missed_signal() {
    let demo = start(false);
    // Well-formed, but not of this hub's epoch.
    let mut stale = demo.open("/chat/lobby", Some("0-5")).await;
    let missed = next(&mut stale).await;
    assert_eq!(missed.event, "sse-missed");
    assert_eq!(json_of(&missed)["reason"], "epoch");
    // An over-long id is treated as no id at all: the stream simply starts.
    let long = "9".repeat(1_000);
    let mut garbage = demo.open("/chat/lobby", Some(&long)).await;
    let id = demo.say("lobby", "bob", "hello").await;
    for events in [&mut stale, &mut garbage] {
        let event = next(events).await;
        assert_eq!((event.event.as_str(), event.id.as_str()), ("message", &*id));
    }
    drop((stale, garbage));
    demo.server.stop().await;
}

#[actix_web::test]
async fn broadcast_reaches_every_room() {
    let demo = start(false);
    let mut lobby = demo.open("/chat/lobby", None).await;
    let mut kitchen = demo.open("/chat/kitchen", None).await;
    let (status, answer) = demo
        .post("/broadcast", &json!({ "text": "closing soon" }))
        .await;
    assert_eq!(status, 202);
    let id = answer["id"].as_str().expect("an id");
    for room in [&mut lobby, &mut kitchen] {
        let event = next(room).await;
        assert_eq!(event.event, "message");
        assert_eq!(
            json_of(&event),
            json!({ "from": "server", "text": "closing soon" })
        );
        assert_eq!(event.id, id);
    }
    // A message to one room stays there.
    demo.say("kitchen", "bob", "soup").await;
    assert_eq!(json_of(&next(&mut kitchen).await)["text"], "soup");
    let id = demo.say("lobby", "bob", "hello").await;
    assert_eq!(next(&mut lobby).await.id, id, "the lobby saw only its own");
    drop((lobby, kitchen));
    demo.server.stop().await;
}

#[actix_web::test]
async fn progress_runs_to_completion_then_answers_204() {
    let demo = start(false);
    let (status, answer) = demo.post("/progress/build", &Value::Null).await;
    assert_eq!((status, answer), (202, json!({ "task": "build" })));
    let (again, _) = demo.post("/progress/build", &Value::Null).await;
    assert_eq!(again, 409, "a task starts once");

    let mut progress = demo.open("/progress/build", None).await;
    let events = progress.collect_all().await.expect("the stream ends");
    let percentages: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "progress")
        .map(|e| json_of(e)["percentage"].clone())
        .collect();
    assert_eq!(
        percentages,
        (0..=100).step_by(10).map(|p| json!(p)).collect::<Vec<_>>()
    );
    assert_eq!(events.last().map(|e| e.event.as_str()), Some("complete"));

    // EventSource reconnects with its last id: 204 makes it stop.
    let last = progress.last_event_id().to_owned();
    assert_eq!(
        demo.status_of_get("/progress/build", Some(&last)).await,
        204
    );
    // A client that missed part of it still gets the rest, then the end.
    let mut late = demo.open("/progress/build", Some(&events[8].id)).await;
    let rest = late.collect_all().await.expect("the stream ends");
    assert_eq!(rest.len(), events.len() - 9);
    demo.server.stop().await;
}

#[actix_web::test]
async fn ticker_resumes_without_gap_or_duplicate() {
    let demo = start(true);
    let mut ticker = demo.open("/ticker", None).await;
    let first = take(&mut ticker, 3).await;
    let n = |e: &ReceivedEvent| json_of(e)["n"].as_u64().expect("n");
    assert!(first.iter().all(|e| e.event == "tick"));
    assert_eq!(n(&first[1]), n(&first[0]) + 1);
    assert_eq!(n(&first[2]), n(&first[1]) + 1);
    let last = first[2].id.clone();
    drop(ticker);
    // Away for a few ticks (the ticker keeps a minute of them).
    let hub = demo.examples.services().hub.clone();
    let away_from = hub.last_id().seq();
    assert!(wait_until(STEP, || hub.last_id().seq() >= away_from + 5).await);

    for (path, header) in [
        ("/ticker".to_owned(), Some(last.as_str())),
        (format!("/ticker?lastEventId={last}"), None),
    ] {
        let mut resumed = demo.open(&path, header).await;
        let again = take(&mut resumed, 6).await;
        let numbers: Vec<u64> = again.iter().map(n).collect();
        let expected: Vec<u64> = (n(&first[2]) + 1..).take(6).collect();
        assert_eq!(numbers, expected, "{path}");
    }
    demo.server.stop().await;
}

#[actix_web::test]
async fn one_stream_carries_several_topics() {
    let demo = start(true);
    let mut both = demo.open("/hub?topics=ticker,chat/lobby", None).await;
    assert_eq!(next(&mut both).await.event, "tick");
    let id = demo.say("lobby", "bob", "hi").await;
    // Ticks keep coming; the message arrives among them.
    let mut seen = Vec::new();
    loop {
        let event = next(&mut both).await;
        if event.event == "message" {
            assert_eq!(event.id, id);
            break;
        }
        assert_eq!(event.event, "tick");
        seen.push(event);
        assert!(seen.len() < 1_000, "no message among {} ticks", seen.len());
    }
    drop(both);
    demo.server.stop().await;
}

#[actix_web::test]
async fn topics_and_names_outside_the_allow_list_are_400() {
    let demo = start(false);
    for path in [
        "/hub?topics=user/alice",
        "/hub?topics=secret",
        "/hub?topics=",
        "/hub?topics=ticker,",
        "/hub?topics=chat/",
        "/hub?topics=chat/a%20b",
        "/hub?topics=chat/lobby/extra",
        "/hub?topics=progress/..",
        "/hub?topics=a,b,c,d,e,f,g,h,i",
        "/hub",
        "/chat/bad%20room",
        "/chat/lobby?user=%0Aforged",
        "/progress/%E2%9C%93",
    ] {
        assert_eq!(demo.status_of_get(path, None).await, 400, "GET {path}");
    }
    let (status, _) = demo
        .post("/chat/bad%20room", &json!({ "from": "bob", "text": "hi" }))
        .await;
    assert_eq!(status, 400);
    let (status, _) = demo.post("/chat/lobby", &json!({ "from": "bob" })).await;
    assert_eq!(status, 400, "a message needs its text");
    assert_eq!(
        demo.examples.services().hub.topic_count(),
        0,
        "nothing was created"
    );
    demo.server.stop().await;
}

#[actix_web::test]
async fn the_ported_feed_and_notifications_resume_what_was_missed() {
    let demo = start(false);
    let services = demo.examples.services();
    let mut feed = demo.open("/aim/feed", None).await;
    let mut alice = demo.open("/aim/notifications/alice", None).await;
    assert!(wait_until(STEP, || services.feed.subscribers() == 1).await);
    assert!(wait_until(STEP, || services.notifications.users() == 1).await);
    let (_, seen) = services.feed.publish("post", "ada", "one").await.unwrap();
    assert_eq!(next(&mut feed).await.id, seen.to_string());
    assert_eq!(
        services
            .notifications
            .notify("alice", "bob", "hi")
            .await
            .unwrap(),
        1
    );
    let hi = next(&mut alice).await;
    assert_eq!(json_of(&hi)["message"], "hi");

    // Both clients are away (the browser's retry delay) ...
    drop((feed, alice));
    assert!(wait_until(STEP, || services.feed.subscribers() == 0).await);
    services.feed.publish("like", "grace", "two").await.unwrap();
    services
        .feed
        .publish("comment", "linus", "three")
        .await
        .unwrap();
    // ... and come back with their last ids: nothing is lost.
    let mut feed = demo.open("/aim/feed", Some(&seen.to_string())).await;
    let texts: Vec<Value> = take(&mut feed, 2)
        .await
        .iter()
        .map(|e| json_of(e)["text"].clone())
        .collect();
    assert_eq!(texts, [json!("two"), json!("three")]);
    let mut alice = demo.open("/aim/notifications/alice", Some(&hi.id)).await;
    assert!(wait_until(STEP, || services.notifications.users() == 1).await);
    assert_eq!(
        services
            .notifications
            .notify("alice", "bob", "back?")
            .await
            .unwrap(),
        1
    );
    assert_eq!(json_of(&next(&mut alice).await)["message"], "back?");
    drop((feed, alice));
    demo.server.stop().await;
}
