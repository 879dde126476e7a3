//! The hub behind `#[sse]` routes, over real loopback sockets: resume with
//! `Last-Event-ID` (and the `lastEventId` query fallback) while a publisher
//! races, the `sse-missed` signal, a stalled client among 100 readers,
//! `204` after close and `410` for a publish to it, presence, publishes
//! from many threads, and the hub's bounds (one client visiting thousands
//! of rooms; `503` when nothing can be freed).
//!
//! Clients are sse-test-support's raw HTTP/1.1 client (one with a tiny
//! receive buffer stalls), read through the runtime's WHATWG parser.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpResponse};
use sse_runtime::hub::{Hub, HubError};
use sse_runtime::parse::ReceivedEvent;
use sse_runtime::{controller, sse, LastEventId, Sse, Subscription};
use sse_test_support::fetch::{body, client, send};
use sse_test_support::{wait_until, within, EventReader, RawRequest, ServerOptions, TestServer};
use tokio::time::sleep;

// ---------------------------------------------------------------------------
// The routes under test
// ---------------------------------------------------------------------------

struct Routes {
    hub: Hub,
}

#[derive(serde::Deserialize)]
struct User {
    user: String,
}

#[controller("hub")]
impl Routes {
    /// A topic's stream, resumable; a client without an id gets the
    /// topic's history first.
    #[sse("topic/{topic}")]
    fn topic(&self, topic: web::Path<String>, last: LastEventId) -> Result<Subscription, HubError> {
        self.hub
            .subscribe([topic.into_inner()])
            .from_oldest()
            .after(last)
            .start()
    }

    /// A topic's stream from the next event on (no history for newcomers).
    #[sse("live/{topic}")]
    fn live(&self, topic: web::Path<String>, last: LastEventId) -> Result<Subscription, HubError> {
        self.hub.subscribe([topic.into_inner()]).after(last).start()
    }

    /// A chat room with join/leave announcements.
    #[sse("room/{room}")]
    fn room(
        &self,
        room: web::Path<String>,
        user: web::Query<User>,
        last: LastEventId,
    ) -> Result<Subscription, HubError> {
        self.hub
            .subscribe([format!("room/{room}")])
            .after(last)
            .announce(&user.user)
            .start()
    }

    /// Publishes the body to a topic; answers `202 {"id": …}`.
    #[post("topic/{topic}")]
    async fn publish(
        &self,
        topic: web::Path<String>,
        body: String,
    ) -> actix_web::Result<HttpResponse> {
        publish(&self.hub, &topic, body).await
    }

    /// Publishes the body to a room.
    #[post("room/{room}")]
    async fn say(&self, room: web::Path<String>, body: String) -> actix_web::Result<HttpResponse> {
        publish(&self.hub, &format!("room/{room}"), body).await
    }
}

/// A failed publish answers what `PublishError` documents (`?`).
async fn publish(hub: &Hub, topic: &str, body: String) -> actix_web::Result<HttpResponse> {
    let id = hub.publish(topic, body).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "id": id.to_string() })))
}

// ---------------------------------------------------------------------------
// Helpers (the shared ones are sse-test-support's)
// ---------------------------------------------------------------------------

/// Bound on any single wait in these tests: generous, as 100 readers share
/// the machine with a publisher.
const WAIT: Duration = Duration::from_secs(10);

/// A loopback server for `hub`'s routes; stopped when dropped.
fn start(hub: &Hub) -> TestServer {
    let hub = hub.clone();
    ServerOptions::new()
        // Notice a client that leaves at once (presence, counts).
        .detect_half_close(true)
        .serve(move || App::new().service(Routes { hub: hub.clone() }))
}

/// A request for `path`, with `Last-Event-ID` when given.
fn get(path: &str, last_event_id: Option<&str>) -> RawRequest {
    let request = RawRequest::get(path).timeout(WAIT);
    match last_event_id {
        Some(id) => request.header("Last-Event-ID", id),
        None => request,
    }
}

/// An event stream read the way `EventSource` reads it.
async fn open(server: &TestServer, path: &str, last_event_id: Option<&str>) -> EventReader {
    get(path, last_event_id)
        .open_event_stream(server.addr())
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"))
        .into_events()
        .with_timeout(WAIT)
}

/// A client whose receive buffer is tiny and which reads only when told:
/// a connection that stalls.
async fn open_stalling(server: &TestServer, path: &str) -> EventReader {
    let response = get(path, None)
        .recv_buffer_size(4096)
        .read_size(64 * 1024)
        .open_event_stream(server.addr())
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"));
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    response.into_events().with_timeout(WAIT)
}

/// The next event, `None` at the end of the stream; panics after [`WAIT`]
/// without one.
async fn next(stream: &mut EventReader) -> Option<ReceivedEvent> {
    stream.next_event().await.unwrap()
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, cond: impl FnMut() -> bool) {
    assert!(wait_until(WAIT, cond).await, "timed out waiting for {what}");
}

fn seq(event: &ReceivedEvent) -> u64 {
    event
        .id
        .parse::<sse_runtime::EventId>()
        .unwrap_or_else(|_| panic!("hub id in {event:?}"))
        .seq()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// One connection of a client that keeps reconnecting: opens the stream
/// after `last` (header, or query parameter every third time), takes up to
/// `limit` events, drops the connection, and returns what it received.
async fn connect_read_drop(
    server: &TestServer,
    last: &mut String,
    round: usize,
    limit: usize,
) -> Vec<u64> {
    let mut stream = if round.is_multiple_of(3) && !last.is_empty() {
        let path = format!("/hub/topic/feed?lastEventId={last}");
        open(server, &path, None).await
    } else {
        let id = (!last.is_empty()).then_some(last.as_str());
        open(server, "/hub/topic/feed", id).await
    };
    let mut got = Vec::new();
    while got.len() < limit {
        let Some(event) = next(&mut stream).await else {
            break;
        };
        got.push(seq(&event));
    }
    // The connection drops here; what already arrived still counts, as a
    // browser would have dispatched it.
    got.extend(stream.take_received().iter().map(seq));
    *last = stream.last_event_id().to_owned();
    got
}

#[actix_web::test]
async fn resume_after_many_reconnects_has_no_gap_or_duplicate_while_publishing() {
    const WHILE_PUBLISHING: usize = 3_000;
    let hub = Hub::builder()
        .history(usize::MAX)
        .history_bytes(usize::MAX)
        .build();
    let server = start(&hub);
    // A publisher on its own thread, in bursts as fast as it can with a
    // breath in between (so the run stays short); "noise" puts holes into
    // the feed's ids.
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let hub = hub.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                for _ in 0..20 {
                    let id = hub.publish_blocking("feed", ids.len().to_string()).unwrap();
                    ids.push(id.seq());
                    if ids.len().is_multiple_of(3) {
                        hub.publish_blocking("noise", "n").unwrap();
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            ids
        })
    };
    let mut got: Vec<u64> = Vec::new();
    let mut last = String::new();
    let mut round = 0;
    while got.len() < WHILE_PUBLISHING {
        round += 1;
        let limit = round * 7 % 40 + 1;
        got.extend(connect_read_drop(&server, &mut last, round, limit).await);
    }
    let racing_rounds = round;
    stop.store(true, Ordering::SeqCst);
    let published = publisher.join().unwrap();
    while got.len() < published.len() {
        round += 1;
        let limit = (round * 7 % 40 + 1).min(published.len() - got.len());
        got.extend(connect_read_drop(&server, &mut last, round, limit).await);
    }
    assert!(
        racing_rounds >= 20,
        "only {racing_rounds} reconnects while publishing"
    );
    assert_eq!(got, published, "every event once, in order");
    eventually("every connection's subscription to end", || {
        hub.subscribers("feed") == 0
    })
    .await;
}

#[actix_web::test]
async fn the_missed_signal_for_too_old_other_epoch_and_unknown_ids() {
    let hub = Hub::builder().history(2).build();
    let server = start(&hub);
    let first = hub.publish("t", "1").await.unwrap();
    for i in 2..=5 {
        hub.publish("t", i.to_string()).await.unwrap();
    }
    let other_epoch = Hub::new().last_id().to_string();
    let cases = [
        (first.to_string(), "too-old"),
        (other_epoch, "epoch"),
        ("12345".to_owned(), "unknown-id"),
    ];
    for (id, reason) in cases {
        // Header and query parameter alike.
        for query in [false, true] {
            let mut stream = if query {
                let path = format!("/hub/live/t?lastEventId={id}");
                open(&server, &path, None).await
            } else {
                open(&server, "/hub/live/t", Some(&id)).await
            };
            let event = next(&mut stream).await.unwrap();
            assert_eq!(event.event, "sse-missed");
            let data: serde_json::Value = event.json().unwrap();
            assert_eq!(data["reason"], reason, "{id} (query: {query})");
            assert_eq!(data["topics"], serde_json::json!(["t"]));
            // The signal carries the current position, so the browser
            // resumes cleanly from here.
            assert_eq!(event.id, hub.last_id().to_string());
        }
    }
    // A garbage header counts as no id: a plain live start.
    let garbage = "x".repeat(LastEventId::MAX_LEN + 1);
    let mut stream = open(&server, "/hub/live/t", Some(&garbage)).await;
    let id = hub.publish("t", "after").await.unwrap();
    let event = next(&mut stream).await.unwrap();
    assert_eq!((event.data.as_str(), event.id), ("after", id.to_string()));
}

#[actix_web::test]
async fn last_event_id_query_parameter_resumes() {
    let hub = Hub::builder().history(10).build();
    let server = start(&hub);
    let ids: Vec<_> =
        futures_util::future::join_all((0..4).map(|i| hub.publish("q", i.to_string())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let path = format!("/hub/live/q?user=x&lastEventId={}", ids[1]);
    let mut stream = open(&server, &path, None).await;
    assert_eq!(next(&mut stream).await.unwrap().data, "2");
    assert_eq!(next(&mut stream).await.unwrap().data, "3");
    // The header wins over the parameter.
    let mut stream = open(&server, &path, Some(&ids[2].to_string())).await;
    assert_eq!(next(&mut stream).await.unwrap().data, "3");
}

/// What [`stall_one_among_a_hundred`] leaves: the server, the stalled
/// client (not read since its response head) and the ids published.
struct Stalled {
    server: TestServer,
    client: EventReader,
    published: Vec<u64>,
}

/// One client stops reading; 16 MB are published that it cannot take,
/// then 100 readers join and receive 500 more events, every one, while the
/// stalled client holds up neither them nor the publisher.
async fn stall_one_among_a_hundred(hub: &Hub) -> Stalled {
    const READERS: usize = 100;
    const BULK: usize = 2_000;
    const SMALL: usize = 500;
    const BURST: usize = 25;
    let server = start(hub);

    let client = open_stalling(&server, "/hub/live/feed").await;
    eventually("the stalled client's subscription", || {
        hub.subscribers("feed") == 1
    })
    .await;
    // 16 MB, paced so that the client would keep up if it read: what stops
    // it is its full socket, not the publisher's speed.
    let bulk = "b".repeat(8 * 1024);
    let mut published = Vec::new();
    for _ in 0..BULK / 8 {
        for _ in 0..8 {
            published.push(hub.publish("feed", bulk.as_str()).await.unwrap().seq());
        }
        sleep(Duration::from_millis(2)).await;
    }

    let progress: Arc<Vec<AtomicU64>> = Arc::new((0..READERS).map(|_| AtomicU64::new(0)).collect());
    let failed = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..READERS {
        let mut stream = open(&server, "/hub/live/feed", None).await;
        let progress = progress.clone();
        let failed = failed.clone();
        readers.push(actix_rt::spawn(async move {
            for want in 0..SMALL {
                let event = next(&mut stream).await.expect("the stream goes on");
                if event.data != want.to_string() {
                    failed.store(true, Ordering::SeqCst);
                    panic!("reader {r}: got {:?}, want {want}", event.data);
                }
                progress[r].store(want as u64 + 1, Ordering::SeqCst);
            }
        }));
    }
    // The stalled client may already be gone (disconnected as a laggard
    // before its socket even filled up).
    eventually("100 readers subscribed", || {
        hub.subscribers("feed") >= READERS
    })
    .await;

    // Bursts the readers keep up with (the queue bound is 64 events).
    for burst in 0..SMALL / BURST {
        for i in burst * BURST..(burst + 1) * BURST {
            published.push(hub.publish("feed", i.to_string()).await.unwrap().seq());
        }
        let sent = ((burst + 1) * BURST) as u64;
        eventually("the readers to keep up", || {
            failed.load(Ordering::SeqCst)
                || progress.iter().all(|p| p.load(Ordering::SeqCst) >= sent)
        })
        .await;
        assert!(!failed.load(Ordering::SeqCst), "a reader saw a wrong event");
    }
    for reader in readers {
        within(WAIT, reader).await.expect("reader saw every event");
    }
    Stalled {
        server,
        client,
        published,
    }
}

fn seqs(events: &[ReceivedEvent]) -> Vec<u64> {
    events.iter().map(seq).collect()
}

#[actix_web::test]
async fn a_stalled_client_is_disconnected_and_resumes_from_history() {
    let hub = Hub::builder()
        .history(10_000)
        .history_bytes(usize::MAX)
        .queue(64)
        .build();
    let Stalled {
        server,
        mut client,
        published,
    } = stall_one_among_a_hundred(&hub).await;

    // Reading again, it gets a part without gaps, then its stream ends
    // (it was disconnected as a laggard).
    let before = client.collect_all().await.unwrap();
    assert!(before.len() < published.len());
    assert_eq!(seqs(&before), published[..before.len()]);

    // Its reconnect resumes from history: nothing lost, nothing twice.
    let last = client.last_event_id().to_owned();
    let mut resumed = open(&server, "/hub/live/feed", Some(&last)).await;
    let mut after = Vec::new();
    while before.len() + after.len() < published.len() {
        after.push(next(&mut resumed).await.expect("the replay goes on"));
    }
    assert_eq!(seqs(&after), published[before.len()..]);
}

#[actix_web::test]
async fn a_stalled_client_skips_with_the_count_of_what_it_missed() {
    let hub = Hub::builder().queue(64).build();
    let Stalled {
        server: _server,
        mut client,
        published,
    } = stall_one_among_a_hundred(&hub).await;
    // Memory: the topic holds its queue window, not what the stalled
    // client has not read.
    assert!(hub.stats("feed").unwrap().events <= 64);

    // Reading again, it gets events and `sse-missed` notices; each notice
    // counts exactly the events skipped where it stands, until every
    // published event is received or counted.
    let mut at = 0;
    let mut notices = 0;
    while at < published.len() {
        let event = next(&mut client).await.expect("the stream goes on");
        if event.event == "sse-missed" {
            let data: serde_json::Value = event.json().unwrap();
            assert_eq!(data["reason"], "lagged");
            at += data["missed"].as_u64().unwrap() as usize;
            notices += 1;
        } else {
            assert_eq!(seq(&event), published[at], "at {at}");
            at += 1;
        }
    }
    assert_eq!(at, published.len(), "no more than was published");
    assert!(notices >= 1);

    // Now at the live edge, it receives what comes next.
    let tail = hub.publish("feed", "tail").await.unwrap();
    let event = next(&mut client).await.expect("the stream goes on");
    assert_eq!((event.data.as_str(), seq(&event)), ("tail", tail.seq()));
}

#[actix_web::test]
async fn a_closed_topic_ends_its_streams_and_then_answers_204() {
    let hub = Hub::builder().history(10).build();
    let server = start(&hub);
    let mut stream = open(&server, "/hub/live/task", None).await;
    eventually("the subscription", || hub.subscribers("task") == 1).await;
    hub.publish("task", "50%").await.unwrap();
    let done = hub.publish("task", "done").await.unwrap();
    assert!(hub.close("task"));
    assert_eq!(next(&mut stream).await.unwrap().data, "50%");
    assert_eq!(next(&mut stream).await.unwrap().data, "done");
    assert!(next(&mut stream).await.is_none(), "the stream ends");
    // The end frame: the browser's last event id becomes `sse-end`.
    assert_eq!(stream.last_event_id(), Sse::END_ID);

    // EventSource reconnects after an ending stream: it gets 204 and stops,
    // whether it says `sse-end`, the topic's last id, or nothing.
    for id in [Some(Sse::END_ID.to_owned()), Some(done.to_string()), None] {
        let mut response = get("/hub/live/task", id.as_deref())
            .send(server.addr())
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{id:?}");
        assert!(response.body_to_end(WAIT).await.unwrap().is_empty());
    }
    // Publishing to it is refused: `410 Gone`, with nothing of the error's
    // own text (it names the topic).
    let response = send(client().post(server.url("/hub/topic/task")).body("late")).await;
    assert_eq!(response.status(), 410);
    let text = String::from_utf8(body(response).await).unwrap();
    assert_eq!(text, "gone\n");
}

#[actix_web::test]
async fn presence_counts_and_join_leave_events() {
    let hub = Hub::new();
    let server = start(&hub);
    let mut watcher = open(&server, "/hub/room/lobby?user=watcher", None).await;
    let joined = next(&mut watcher).await.unwrap();
    assert_eq!(
        (joined.event.as_str(), joined.data.as_str()),
        ("user-joined", "watcher")
    );
    assert_eq!(hub.subscribers("room/lobby"), 1);

    let ann = open(&server, "/hub/room/lobby?user=ann", None).await;
    let joined = next(&mut watcher).await.unwrap();
    assert_eq!(
        (joined.event.as_str(), joined.data.as_str()),
        ("user-joined", "ann")
    );
    assert_eq!(hub.subscribers("room/lobby"), 2);

    // The connection's end is the subscription's end.
    drop(ann);
    let left = next(&mut watcher).await.unwrap();
    assert_eq!(
        (left.event.as_str(), left.data.as_str()),
        ("user-left", "ann")
    );
    eventually("the count to drop", || hub.subscribers("room/lobby") == 1).await;

    // A POST reaches the room; its answer carries the id.
    let response = send(client().post(server.url("/hub/room/lobby")).body("hello")).await;
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = serde_json::from_slice(&body(response).await).unwrap();
    let message = next(&mut watcher).await.unwrap();
    assert_eq!(message.data, "hello");
    assert_eq!(body["id"], message.id);
}

#[actix_web::test]
async fn publishes_from_many_threads_reach_the_client_in_order() {
    const THREADS: usize = 8;
    const EACH: usize = 500;
    let hub = Hub::builder().queue(THREADS * EACH).build();
    let server = start(&hub);
    let mut stream = open(&server, "/hub/live/shared", None).await;
    eventually("the subscription", || hub.subscribers("shared") == 1).await;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    hub.publish_blocking("shared", format!("{t}:{i}")).unwrap();
                }
            })
        })
        .collect();
    let mut next_of = [0usize; THREADS];
    let mut previous = 0;
    for _ in 0..THREADS * EACH {
        let event = next(&mut stream).await.expect("the stream goes on");
        assert!(seq(&event) > previous, "ids grow");
        previous = seq(&event);
        let (t, i) = event.data.split_once(':').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next_of[t], "thread {t}'s order is kept");
        next_of[t] += 1;
    }
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(next_of, [EACH; THREADS]);
}

#[actix_web::test]
async fn one_client_visiting_thousands_of_rooms_leaves_the_hub_within_its_bounds() {
    const ROOMS: usize = 3_000;
    const MAX_TOPICS: usize = 256;
    // Like the demo's rooms: history, and join/leave announced in it.
    let hub = Hub::builder().history(100).max_topics(MAX_TOPICS).build();
    let server = start(&hub);
    // The first visitor reads its own arrival before leaving.
    let mut first = open(&server, "/hub/room/r0x?user=u0", None).await;
    let joined = loop {
        let event = next(&mut first).await.unwrap();
        if event.event == "user-joined" {
            break event.id;
        }
    };
    drop(first);
    for i in 1..ROOMS {
        // Opened, then closed at once: the route ran (the `200` came
        // back), so the room's topic and its `user-joined` exist.
        let response = get(&format!("/hub/room/r{i}x?user=u{i}"), None)
            .send(server.addr())
            .await
            .unwrap_or_else(|err| panic!("room {i}: {err}"));
        assert_eq!(response.status(), 200, "room {i}");
        drop(response);
        let totals = hub.totals();
        assert!(totals.topics <= MAX_TOPICS, "room {i}: {totals:?}");
    }
    // Every visitor is gone once its `user-left` is in: all topics idle.
    eventually("every room left", || {
        let totals = hub.totals();
        totals.evicted + totals.topics as u64 == ROOMS as u64
            && (0..ROOMS).rev().take(MAX_TOPICS).all(|i| {
                hub.stats(format!("room/r{i}x"))
                    .is_none_or(|s| s.subscribers == 0 && s.events == 2)
            })
    })
    .await;
    let totals = hub.totals();
    assert_eq!(totals.topics, MAX_TOPICS, "{totals:?}");
    assert_eq!(totals.refused, 0, "{totals:?}");
    assert!(totals.bytes <= MAX_TOPICS * 2 * 200, "{totals:?}");

    // The first visitor comes back to its evicted room: it is told it
    // missed events (its own `user-left`), not silently given nothing.
    assert!(hub.stats("room/r0x").is_none(), "evicted");
    let mut back = open(&server, "/hub/room/r0x?user=u0", Some(&joined)).await;
    let notice = next(&mut back).await.unwrap();
    assert_eq!(notice.event, "sse-missed");
    let data: serde_json::Value = notice.json().unwrap();
    assert_eq!(data["reason"], "too-old");
    drop(back);
    server.stop().await;
}

#[actix_web::test]
async fn a_full_hub_answers_503_with_retry_after_and_no_internal_text() {
    let hub = Hub::builder().history(10).max_topics(2).build();
    let server = start(&hub);
    // Two rooms with a listener each: nothing can be freed.
    let _a = open(&server, "/hub/live/secret-a", None).await;
    let _b = open(&server, "/hub/live/secret-b", None).await;
    eventually("both listeners", || {
        hub.subscribers("secret-a") == 1 && hub.subscribers("secret-b") == 1
    })
    .await;

    let mut response = get("/hub/live/secret-c", None)
        .send(server.addr())
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.header("retry-after"), Some("5"));
    let text = String::from_utf8(response.body_to_end(WAIT).await.unwrap()).unwrap();
    assert_eq!(text, "service unavailable, retry later\n");

    // A publish that would make a topic with history is refused alike...
    let response = send(client().post(server.url("/hub/topic/secret-d")).body("x")).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"5"[..])
    );
    let text = String::from_utf8(body(response).await).unwrap();
    assert!(
        !text.contains("secret") && !text.contains("hub"),
        "{text:?}"
    );
    // ...while the held topics work as before.
    let response = send(client().post(server.url("/hub/topic/secret-a")).body("x")).await;
    assert_eq!(response.status(), 202);
    assert_eq!(hub.totals().refused, 2);
    server.stop().await;
}
