//! The examples over real HTTP: each test starts the demo's services on
//! 127.0.0.1 with an OS-chosen port and talks to them with the raw client
//! of `sse-test-support`, which shows the body exactly as sent.
//!
//! Every sleep of the examples runs at [`FAST`] (one second lasts 10 ms),
//! and every wait here is bounded, so no test takes more than a second or
//! two.

mod demo;

use demo::{start, Demo, FAST};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sse_examples::services::Stats;
use sse_examples::{Config, Examples, ROUTES};
use sse_runtime::parse::ReceivedEvent;
use sse_test_support::{
    lossy, wait_until, within, ChildGuard, EventReader, RawRequest, RawResponse, STEP,
};

fn config() -> Config {
    Config {
        pace: FAST,
        upstream_fails_after: Some(3),
        background: false,
    }
}

impl Demo {
    async fn send(&self, request: RawRequest) -> RawResponse {
        send(self.server.addr(), request).await
    }

    /// The whole body of a finite route, after checking the SSE headers.
    async fn body(&self, path: &str) -> String {
        let mut response = self.send(RawRequest::get(path)).await;
        assert_sse_headers(&response, path);
        text(&mut response, path).await
    }

    async fn open(&self, path: &str) -> EventReader {
        let response = self.send(RawRequest::get(path)).await;
        assert_sse_headers(&response, path);
        response.into_events()
    }

    /// POSTs `json`; returns the status and the answer.
    async fn post_json(&self, path: &str, json: &str) -> (u16, String) {
        let request = RawRequest::post(path)
            .header("content-type", "application/json")
            .body(json);
        let mut response = self.send(request).await;
        (response.status(), text(&mut response, path).await)
    }

    /// Sends `user` a chat notification.
    async fn notify(&self, user: &str, from: &str, message: &str) -> (u16, String) {
        let json = format!(r#"{{"from":"{from}","message":"{message}"}}"#);
        self.post_json(&format!("/aim/notifications/{user}"), &json)
            .await
    }

    /// Waits until the server's stats satisfy `done`.
    async fn wait_for_stats(&self, what: &str, done: impl Fn(&Stats) -> bool) {
        wait_for_stats(&self.examples, what, done).await;
    }

    async fn wait_until_idle(&self) {
        self.wait_for_stats("every connection to be cleaned up", Stats::is_idle)
            .await;
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

async fn send(addr: SocketAddr, request: RawRequest) -> RawResponse {
    let described = format!("{request:?}");
    request
        .send(addr)
        .await
        .unwrap_or_else(|err| panic!("{described}: {err}"))
}

/// The rest of a finite body as text.
async fn text(response: &mut RawResponse, path: &str) -> String {
    let body = response
        .body_to_end(STEP)
        .await
        .unwrap_or_else(|err| panic!("{path}: {err}"));
    String::from_utf8(body).unwrap_or_else(|err| panic!("{path}: {err}"))
}

async fn wait_for_stats(examples: &Examples, what: &str, done: impl Fn(&Stats) -> bool) {
    assert!(
        wait_until(STEP, || done(&examples.stats())).await,
        "timed out waiting for {what}: {:?}",
        examples.stats()
    );
}

fn assert_sse_headers(response: &RawResponse, path: &str) {
    assert_eq!(response.status(), 200, "{path}");
    let header = |name: &str| response.header(name).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "text/event-stream", "{path}");
    assert_eq!(header("cache-control"), "no-cache", "{path}");
}

async fn next(sse: &mut EventReader) -> Option<ReceivedEvent> {
    sse.next_event().await.expect("the event stream")
}

async fn take(sse: &mut EventReader, n: usize) -> Vec<ReceivedEvent> {
    sse.take(n).await.expect("the event stream")
}

fn data(events: &[ReceivedEvent]) -> Vec<&str> {
    events.iter().map(|e| e.data.as_str()).collect()
}

fn raw(sse: &EventReader) -> String {
    lossy(sse.raw_bytes())
}

#[actix_web::test]
async fn updates_sends_the_two_strings() {
    let server = start(config());
    assert_eq!(
        server.body("/events/updates").await,
        "data: Hello, world!\n\ndata: This is a real-time update\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn limited_sends_five_updates_a_second_apart_then_closes() {
    let server = start(config());
    let started = Instant::now();
    let body = server.body("/events/limited").await;
    assert_eq!(
        body,
        "data: Update 0\n\ndata: Update 1\n\ndata: Update 2\n\ndata: Update 3\n\ndata: Update 4\n\nid: sse-end\n\n"
    );
    // Five paced seconds: the last pause comes before the connection closes.
    assert!(started.elapsed() >= FAST.of(Duration::from_secs(5)));
    server.stop().await;
}

#[actix_web::test]
async fn updates_100_sends_a_hundred_updates_then_closes() {
    let server = start(config());
    let expected: String = (0..100).map(|i| format!("data: Update {i}\n\n")).collect();
    assert_eq!(
        server.body("/events/updates-100").await,
        expected + "id: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn progress_counts_to_100_then_completes() {
    let server = start(config());
    let mut expected: String = (0..=100)
        .step_by(10)
        .map(|i| {
            format!(
                "event: progress\ndata: {{\"percentage\":{i},\"message\":\"Processing... {i}%\"}}\n\n"
            )
        })
        .collect();
    expected.push_str("event: complete\ndata: {\"message\":\"Done!\"}\n\nid: sse-end\n\n");
    assert_eq!(server.body("/aim/progress").await, expected);
    server.stop().await;
}

#[actix_web::test]
async fn named_events_keep_their_names() {
    let server = start(config());
    assert_eq!(
        server.body("/aim/named").await,
        "event: notification\ndata: {\"message\":\"New notification\"}\n\n\
         event: update\ndata: {\"status\":\"completed\"}\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn aim_sending_samples() {
    let server = start(config());
    assert_eq!(
        server.body("/aim/basic").await,
        "data: Hello, SSE!\n\nid: sse-end\n\n"
    );

    let expected: String = (0..5)
        .map(|i| format!("data: Event number {i}\n\n"))
        .collect();
    assert_eq!(
        server.body("/aim/multiple").await,
        expected + "id: sse-end\n\n"
    );

    let expected: String = (0..10).map(|i| format!("data: Event {i}\n\n")).collect();
    assert_eq!(
        server.body("/aim/quick-start").await,
        expected + "id: sse-end\n\n"
    );

    let json = server.body("/aim/json").await;
    let data = json
        .strip_prefix(
            "data: {\"type\":\"notification\",\"message\":\"New message\",\"timestamp\":\"",
        )
        .and_then(|rest| rest.strip_suffix("\"}\n\nid: sse-end\n\n"))
        .unwrap_or_else(|| panic!("{json:?}"));
    assert_iso8601(data);

    let comments = server.body("/aim/comments").await;
    let rest = comments
        .strip_prefix(": This is a comment\n\n: Connection established at ")
        .and_then(|rest| {
            rest.strip_suffix(
                "\n\ndata: Two comments were sent before this event\n\nid: sse-end\n\n",
            )
        })
        .unwrap_or_else(|| panic!("{comments:?}"));
    assert_iso8601(rest);
    server.stop().await;
}

fn assert_iso8601(text: &str) {
    let bytes = text.as_bytes();
    assert_eq!(bytes.len(), 24, "{text}");
    for (i, &b) in bytes.iter().enumerate() {
        let expected = match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            23 => b == b'Z',
            _ => b.is_ascii_digit(),
        };
        assert!(expected, "not ISO-8601: {text}");
    }
}

#[actix_web::test]
async fn status_is_typed_json_with_an_iso_timestamp() {
    let server = start(config());
    let mut sse = server.open("/events/status").await;
    let event = next(&mut sse).await.unwrap();
    assert!(next(&mut sse).await.is_none());
    let status: serde_json::Value = event.json().unwrap();
    assert_eq!(status["status"], "Running");
    assert_iso8601(status["timestamp"].as_str().unwrap());
    assert!(raw(&sse).starts_with("data: {\"status\":\"Running\",\"timestamp\":\""));
    server.stop().await;
}

#[actix_web::test]
async fn ids_are_sent_and_the_stream_stops_when_the_client_leaves() {
    let server = start(config());
    let mut sse = server.open("/aim/ids").await;
    let events = take(&mut sse, 3).await;
    assert_eq!(
        events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert_eq!(data(&events), ["Event 1", "Event 2", "Event 3"]);
    assert!(raw(&sse)
        .starts_with("id: 1\ndata: Event 1\n\nid: 2\ndata: Event 2\n\nid: 3\ndata: Event 3\n\n"));
    drop(sse);
    server.stop().await;
}

#[actix_web::test]
async fn ids_resume_after_the_last_event_id() {
    let server = start(config());
    let ids =
        |events: &[ReceivedEvent]| -> Vec<String> { events.iter().map(|e| e.id.clone()).collect() };

    // What a reconnecting EventSource sends: the count goes on.
    let response = server
        .send(RawRequest::get("/aim/ids").header("Last-Event-ID", "3"))
        .await;
    assert_sse_headers(&response, "/aim/ids after 3");
    let mut sse = response.into_events();
    let events = take(&mut sse, 2).await;
    assert_eq!(ids(&events), ["4", "5"]);
    assert_eq!(data(&events), ["Event 4", "Event 5"]);
    drop(sse);

    // What a polyfill sends instead of the header.
    let mut sse = server.open("/aim/ids?lastEventId=41").await;
    assert_eq!(ids(&take(&mut sse, 1).await), ["42"]);
    drop(sse);

    // Not a count of this route (another route's id, a hand-made header):
    // it starts over.
    for garbage in ["abc", "-2", "4.5", "3f9a0c21-1042"] {
        let response = server
            .send(RawRequest::get("/aim/ids").header("Last-Event-ID", garbage))
            .await;
        assert_sse_headers(&response, garbage);
        let mut sse = response.into_events();
        assert_eq!(ids(&take(&mut sse, 1).await), ["1"], "{garbage}");
    }

    // The largest id: the next one would overflow, so it starts over too.
    let response = server
        .send(RawRequest::get("/aim/ids").header("Last-Event-ID", &u64::MAX.to_string()))
        .await;
    let mut sse = response.into_events();
    assert_eq!(ids(&take(&mut sse, 1).await), ["1"]);
    drop(sse);
    server.stop().await;
}

#[actix_web::test]
async fn counter_timer_stops_when_the_client_leaves() {
    let server = start(config());
    let mut sse = server.open("/aim/counter").await;
    let events = take(&mut sse, 3).await;
    assert_eq!(
        data(&events),
        [r#"{"count":1}"#, r#"{"count":2}"#, r#"{"count":3}"#]
    );
    assert_eq!(server.examples.stats().counters_running, 1);
    drop(sse);
    server
        .wait_for_stats("the counter's timer to stop", |s| s.counters_running == 0)
        .await;
    server.stop().await;
}

#[actix_web::test]
async fn live_updates_reach_every_subscriber_until_it_leaves() {
    let server = start(config());
    let mut first = server.open("/events/live").await;
    let mut second = server.open("/events/live").await;
    server
        .wait_for_stats("two live subscribers", |s| s.live_subscribers == 2)
        .await;
    let live = &server.examples.services().live;
    let hub = &server.examples.services().hub;
    let start = hub.last_id();
    assert_eq!(live.publish("Live update #1").await, 2);
    let one = hub.last_id();
    assert_eq!(live.publish("Live update #2").await, 2);
    let two = hub.last_id();
    for sse in [&mut first, &mut second] {
        assert_eq!(
            data(&take(sse, 2).await),
            ["Live update #1", "Live update #2"]
        );
        // The hub's wire: where the client starts, then each update with
        // its id, which a reconnecting client resumes from.
        assert_eq!(
            raw(sse),
            format!(
                "id: {start}\n\ndata: Live update #1\nid: {one}\n\ndata: Live update #2\nid: {two}\n\n"
            )
        );
    }
    drop(first);
    server
        .wait_for_stats("one live subscriber", |s| s.live_subscribers == 1)
        .await;
    assert_eq!(live.publish("Live update #3").await, 1);
    assert_eq!(next(&mut second).await.unwrap().data, "Live update #3");
    drop(second);
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn live_updates_with_the_background_ticker() {
    let server = start(Config {
        background: true,
        ..config()
    });
    let mut sse = server.open("/events/live").await;
    let events = take(&mut sse, 3).await;
    let numbers: Vec<u64> = events
        .iter()
        .map(|e| {
            e.data
                .strip_prefix("Live update #")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(numbers[1], numbers[0] + 1, "{numbers:?}");
    assert_eq!(numbers[2], numbers[1] + 1, "{numbers:?}");
    drop(sse);
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn feed_events_carry_id_type_and_json() {
    let server = start(config());
    let mut sse = server.open("/aim/feed").await;
    server
        .wait_for_stats("a feed subscriber", |s| s.feed_subscribers == 1)
        .await;
    let feed = &server.examples.services().feed;
    let start = server.examples.services().hub.last_id();
    let (_, post) = feed.publish("post", "ada", "hello").await.unwrap();
    let (_, like) = feed
        .publish("like", "grace", "liked a post by ada")
        .await
        .unwrap();
    let events = take(&mut sse, 2).await;
    assert_eq!(events[1].event, "like");
    assert_eq!(events[1].id, like.to_string());
    assert_eq!(
        raw(&sse),
        format!(
            "id: {start}\n\n\
             event: post\ndata: {{\"id\":\"1\",\"type\":\"post\",\"author\":\"ada\",\"text\":\"hello\"}}\nid: {post}\n\n\
             event: like\ndata: {{\"id\":\"2\",\"type\":\"like\",\"author\":\"grace\",\"text\":\"liked a post by ada\"}}\nid: {like}\n\n"
        )
    );
    drop(sse);
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn chat_notifications_reach_only_their_user() {
    let server = start(config());
    let mut alice = server.open("/aim/notifications/alice").await;
    let mut bob = server.open("/aim/notifications/bob").await;
    server
        .wait_for_stats("two users", |s| s.notification_users == 2)
        .await;

    assert_eq!(
        server.notify("alice", "bob", "Hi Alice!").await,
        (202, r#"{"delivered":1}"#.to_owned())
    );
    let (_, answer) = server.notify("bob", "alice", "Hi Bob!").await;
    assert_eq!(answer, r#"{"delivered":1}"#);
    let (_, answer) = server.notify("carol", "bob", "anyone?").await;
    assert_eq!(answer, r#"{"delivered":0}"#);

    let to_alice = next(&mut alice).await.unwrap();
    assert_eq!(to_alice.event, "notification");
    let notification: serde_json::Value = to_alice.json().unwrap();
    assert_eq!(notification["from"], "bob");
    assert_eq!(notification["message"], "Hi Alice!");
    assert_iso8601(notification["timestamp"].as_str().unwrap());
    // Bob's first notification is his own, not Alice's.
    let to_bob: serde_json::Value = next(&mut bob).await.unwrap().json().unwrap();
    assert_eq!(to_bob["message"], "Hi Bob!");

    drop(alice);
    drop(bob);
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn manual_cleanup_disposes_the_resource() {
    let server = start(config());
    // To the end: the upstream fails after three events, which ends the
    // stream with an error event.
    assert_eq!(
        server.body("/events/events").await,
        "data: Event 1\n\ndata: Event 2\n\ndata: Event 3\n\n\
         event: error\ndata: internal error\n\n"
    );
    server.wait_until_idle().await;
    assert_eq!(server.examples.stats().resources_disposed, 1);

    // Leaving early disposes of it too.
    let mut sse = server.open("/events/events").await;
    assert_eq!(next(&mut sse).await.unwrap().data, "Event 1");
    assert_eq!(server.examples.stats().resources_in_use, 1);
    drop(sse);
    server.wait_until_idle().await;
    assert_eq!(server.examples.stats().resources_disposed, 2);
    server.stop().await;
}

#[actix_web::test]
async fn connection_errors_end_with_the_error_text() {
    let server = start(config());
    assert_eq!(
        server.body("/events/connection-errors").await,
        "data: Event 1\n\ndata: Event 2\n\ndata: Event 3\n\n\
         data: Error: connection to the event source lost\n\nid: sse-end\n\n"
    );
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn graceful_degradation_resubscribes_after_an_error() {
    let server = start(config());
    let mut sse = server.open("/events/graceful").await;
    let events = take(&mut sse, 9).await;
    let unavailable = "Service temporarily unavailable";
    assert_eq!(
        data(&events),
        [
            "Event 1",
            "Event 2",
            "Event 3",
            unavailable, //
            "Event 1",
            "Event 2",
            "Event 3",
            unavailable, //
            "Event 1",
        ]
    );
    drop(sse);
    server.wait_until_idle().await;
    server.stop().await;
}

#[actix_web::test]
async fn proper_cleanup_cancels_the_listener_and_disposes_the_resource() {
    let server = start(Config {
        upstream_fails_after: None,
        ..config()
    });
    let mut sse = server.open("/events/proper-cleanup").await;
    assert_eq!(data(&take(&mut sse, 2).await), ["Event 1", "Event 2"]);
    let stats = server.examples.stats();
    assert_eq!(
        (
            stats.listeners,
            stats.resources_in_use,
            stats.upstream_streams
        ),
        (1, 1, 2)
    );
    drop(sse);
    server.wait_until_idle().await;
    assert_eq!(server.examples.stats().resources_disposed, 1);
    server.stop().await;
}

#[actix_web::test]
async fn updates_forever_stops_when_the_client_leaves() {
    let server = start(config());
    let mut sse = server.open("/events/updates-forever").await;
    assert_eq!(
        data(&take(&mut sse, 3).await),
        ["Update", "Update", "Update"]
    );
    drop(sse);
    server.stop().await;
}

#[actix_web::test]
async fn every_listed_route_answers_and_cleans_up() {
    // With the publishers, so that the live update and feed routes send.
    let server = start(Config {
        background: true,
        ..config()
    });
    let mut open = Vec::new();
    for route in ROUTES {
        match route.method {
            "GET" => {
                let mut sse = server.open(route.path).await;
                // The notification stream waits for a POST; every other
                // route sends something within a few paced seconds.
                if !route.path.starts_with("/aim/notifications/") {
                    assert!(
                        next(&mut sse).await.is_some(),
                        "{} sent nothing",
                        route.path
                    );
                }
                open.push(sse);
            }
            "POST" => {
                let answer = server
                    .post_json(route.path, r#"{"from":"bob","message":"Hi Alice!"}"#)
                    .await;
                assert_eq!(
                    answer,
                    (202, r#"{"delivered":1}"#.to_owned()),
                    "{}",
                    route.path
                );
            }
            other => panic!("unexpected method {other}"),
        }
    }
    let mut page = server.send(RawRequest::get("/")).await;
    assert_eq!(page.status(), 200);
    let page = text(&mut page, "/").await;
    assert!(
        page.contains("/dashboard/app.js"),
        "the page lacks its script"
    );
    let mut script = server.send(RawRequest::get("/dashboard/app.js")).await;
    assert_eq!(script.status(), 200);
    let script = text(&mut script, "/dashboard/app.js").await;
    for route in ["/events/updates", "/aim/progress", "new EventSource(url)"] {
        assert!(script.contains(route), "the dashboard lacks {route}");
    }
    let icon = server.send(RawRequest::get("/favicon.ico")).await;
    assert_eq!(icon.status(), 200, "/favicon.ico");
    drop(open);
    server.wait_until_idle().await;
    let mut stats = server.send(RawRequest::get("/stats")).await;
    let stats: serde_json::Value = serde_json::from_str(&text(&mut stats, "/stats").await).unwrap();
    assert_eq!(stats["upstream_streams"], 0);
    assert_eq!(stats["notification_users"], 0);
    server.stop().await;
}

/// The demo binary itself: `--addr` with port 0, `--pace`, the start-up
/// listing with a `curl -N` line per route, and a route served.
#[actix_web::test]
async fn demo_binary_lists_every_route_and_serves_them() {
    // Killed when dropped, should an assertion fail first.
    let mut child = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0", "--pace", "10ms"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    // Read the listing on a thread: a blocking read must not stall the
    // runtime, and must not hang the test if the demo prints nothing.
    let (lines_tx, lines_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last = line.starts_with("Press Ctrl-C");
            if lines_tx.send(line).is_err() || last {
                break;
            }
        }
    });
    let mut listing = Vec::new();
    while !listing
        .last()
        .is_some_and(|l: &String| l.starts_with("Press Ctrl-C"))
    {
        match lines_rx.recv_timeout(STEP) {
            Ok(line) => listing.push(line),
            Err(err) => panic!("the demo's listing stopped ({err}) after {listing:#?}"),
        }
    }
    let base = listing[0]
        .strip_prefix("sse-examples demo listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {:?}", listing[0]))
        .to_owned();
    let listing = listing.join("\n");
    for route in ROUTES {
        assert!(
            listing.contains(&route.curl(&base)),
            "{listing}\nlacks {route:?}"
        );
    }
    assert!(listing.contains(&format!("{base}/ ")), "{listing}");
    let addr: SocketAddr = base
        .strip_prefix("http://")
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("not an http://ip:port address: {base}"));

    let mut response = send(addr, RawRequest::get("/events/limited")).await;
    let body = text(&mut response, "/events/limited").await;
    assert_eq!(
        body,
        "data: Update 0\n\ndata: Update 1\n\ndata: Update 2\n\ndata: Update 3\n\ndata: Update 4\n\nid: sse-end\n\n"
    );

    // SIGTERM: the open (infinite) stream ends with a retry hint and the
    // demo exits promptly instead of waiting out actix's 30 s timeout.
    let mut live = send(addr, RawRequest::get("/aim/ids")).await;
    let first = live.next_chunk_within(STEP).await.expect("first event");
    assert!(first.is_some());
    let signalled = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM to the demo we started");
    assert!(status.success());
    let mut rest = Vec::new();
    while let Ok(Some(chunk)) = within(STEP, live.next_chunk()).await {
        rest.extend_from_slice(&chunk);
    }
    let rest = lossy(&rest);
    assert!(rest.contains(": server shutting down\nretry: "), "{rest:?}");
    let exited = child
        .wait_within(Duration::from_secs(10))
        .await
        .expect("wait for the demo")
        .expect("the demo did not exit within 10 s of SIGTERM");
    assert!(exited.success(), "{exited:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
}
