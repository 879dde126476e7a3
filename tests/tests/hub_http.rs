//! The hub behind `#[sse]` routes, over real loopback sockets: resume with
//! `Last-Event-ID` (and the `lastEventId` query fallback) while a publisher
//! races, the `sse-missed` signal, a stalled client among 100 readers,
//! `204` after close, presence, and publishes from many threads.
//!
//! Helpers are local to this file (a loopback server, an event-stream
//! client on reqwest, a raw client whose socket can stall).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use sse_runtime::hub::{Hub, HubError};
use sse_runtime::parse::{EventStreamParser, ReceivedEvent};
use sse_runtime::{controller, sse, LastEventId, Subscription};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{sleep, timeout, Instant};

/// Bound on any single wait in these tests.
const STEP: Duration = Duration::from_secs(10);

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
    async fn publish(&self, topic: web::Path<String>, body: String) -> HttpResponse {
        publish(&self.hub, &topic, body).await
    }

    /// Publishes the body to a room.
    #[post("room/{room}")]
    async fn say(&self, room: web::Path<String>, body: String) -> HttpResponse {
        publish(&self.hub, &format!("room/{room}"), body).await
    }
}

async fn publish(hub: &Hub, topic: &str, body: String) -> HttpResponse {
    match hub.publish(topic, body).await {
        Ok(id) => HttpResponse::Accepted().json(serde_json::json!({ "id": id.to_string() })),
        Err(err) => HttpResponse::Conflict().body(err.to_string()),
    }
}

// ---------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------

/// A loopback server for `hub`'s routes; stopped when dropped.
struct Server {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl Server {
    /// Must run inside an actix System (`#[actix_web::test]`).
    fn start(hub: &Hub) -> Self {
        let hub = hub.clone();
        let server = HttpServer::new(move || App::new().service(Routes { hub: hub.clone() }))
            .workers(1)
            // Notice a client that leaves at once (presence, counts).
            .h1_allow_half_closed(false)
            .disable_signals()
            .shutdown_timeout(1)
            .bind(("127.0.0.1", 0))
            .expect("bind 127.0.0.1:0");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Server { addr, handle }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Sends the stop command; completion is not awaited here.
        drop(self.handle.stop(false));
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .connect_timeout(STEP)
        .build()
        .expect("reqwest client")
}

/// An event stream read the way `EventSource` reads it.
struct Stream {
    response: reqwest::Response,
    parser: EventStreamParser,
    ready: VecDeque<ReceivedEvent>,
    ended: bool,
}

impl Stream {
    async fn open(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = http().get(url);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = timeout(STEP, request.send())
            .await
            .expect("response head in time")
            .expect("request");
        assert_eq!(response.status(), 200, "{url}");
        Stream {
            response,
            parser: EventStreamParser::new(),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event, `None` at the end of the stream; panics after
    /// [`STEP`] without one.
    async fn next(&mut self) -> Option<ReceivedEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            let chunk = timeout(STEP, self.response.chunk())
                .await
                .expect("an event in time")
                .expect("body");
            match chunk {
                Some(bytes) => self
                    .parser
                    .feed_into(&bytes, &mut self.ready)
                    .expect("well-formed stream"),
                None => self.ended = true,
            }
        }
    }

    /// The events already received but not yet taken: a browser would
    /// have dispatched them all.
    fn take_received(&mut self) -> Vec<ReceivedEvent> {
        self.ready.drain(..).collect()
    }

    /// What a browser would send as `Last-Event-ID` now.
    fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }
}

/// A client whose receive buffer is tiny and which reads only when told:
/// a connection that stalls.
struct RawStream {
    socket: TcpStream,
    /// Received bytes not yet decoded (chunked transfer coding).
    raw: Vec<u8>,
    parser: EventStreamParser,
    ended: bool,
}

impl RawStream {
    async fn open(addr: SocketAddr, path: &str) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let mut socket = timeout(STEP, socket.connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("request");
        let mut stream = RawStream {
            socket,
            raw: Vec::new(),
            parser: EventStreamParser::new(),
            ended: false,
        };
        let head_end = loop {
            if let Some(at) = find(&stream.raw, b"\r\n\r\n") {
                break at;
            }
            assert!(stream.fill().await > 0, "connection closed before the head");
        };
        let head = String::from_utf8_lossy(&stream.raw[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"));
        stream.raw.drain(..head_end + 4);
        stream
    }

    async fn fill(&mut self) -> usize {
        let mut buf = [0; 64 * 1024];
        let n = timeout(STEP, self.socket.read(&mut buf))
            .await
            .expect("bytes in time")
            .expect("read");
        self.raw.extend_from_slice(&buf[..n]);
        n
    }

    /// Reads until the response ends, returning every event.
    async fn read_to_end(&mut self) -> Vec<ReceivedEvent> {
        let mut events = Vec::new();
        while !self.ended {
            self.decode(&mut events);
            if !self.ended && self.fill().await == 0 {
                panic!("connection closed inside the body");
            }
        }
        events
    }

    /// Reads until `n` events arrived.
    async fn read_events(&mut self, n: usize) -> Vec<ReceivedEvent> {
        let mut events = Vec::new();
        loop {
            self.decode(&mut events);
            if events.len() >= n || self.ended {
                return events;
            }
            assert!(self.fill().await > 0, "connection closed inside the body");
        }
    }

    /// Decodes whole chunks from `raw` into events.
    fn decode(&mut self, events: &mut Vec<ReceivedEvent>) {
        while let Some(line_end) = find(&self.raw, b"\r\n") {
            let size = std::str::from_utf8(&self.raw[..line_end])
                .ok()
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                .expect("chunk size");
            if self.raw.len() < line_end + 2 + size + 2 {
                return;
            }
            let start = line_end + 2;
            self.parser
                .feed_into(&self.raw[start..start + size], events)
                .expect("well-formed stream");
            self.raw.drain(..start + size + 2);
            if size == 0 {
                self.ended = true;
                return;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Waits (bounded) until `cond` holds.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(2)).await;
    }
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
    server: &Server,
    last: &mut String,
    round: usize,
    limit: usize,
) -> Vec<u64> {
    let mut stream = if round.is_multiple_of(3) && !last.is_empty() {
        let path = format!("/hub/topic/feed?lastEventId={last}");
        Stream::open(&server.url(&path), None).await
    } else {
        let id = (!last.is_empty()).then_some(last.as_str());
        Stream::open(&server.url("/hub/topic/feed"), id).await
    };
    let mut got = Vec::new();
    while got.len() < limit {
        let Some(event) = stream.next().await else {
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
    let server = Server::start(&hub);
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
    let server = Server::start(&hub);
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
                Stream::open(&server.url(&path), None).await
            } else {
                Stream::open(&server.url("/hub/live/t"), Some(&id)).await
            };
            let event = stream.next().await.unwrap();
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
    let mut stream = Stream::open(&server.url("/hub/live/t"), Some(&garbage)).await;
    let id = hub.publish("t", "after").await.unwrap();
    let event = stream.next().await.unwrap();
    assert_eq!((event.data.as_str(), event.id), ("after", id.to_string()));
}

#[actix_web::test]
async fn last_event_id_query_parameter_resumes() {
    let hub = Hub::builder().history(10).build();
    let server = Server::start(&hub);
    let ids: Vec<_> =
        futures_util::future::join_all((0..4).map(|i| hub.publish("q", i.to_string())))
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
    let path = format!("/hub/live/q?user=x&lastEventId={}", ids[1]);
    let mut stream = Stream::open(&server.url(&path), None).await;
    assert_eq!(stream.next().await.unwrap().data, "2");
    assert_eq!(stream.next().await.unwrap().data, "3");
    // The header wins over the parameter.
    let mut stream = Stream::open(&server.url(&path), Some(&ids[2].to_string())).await;
    assert_eq!(stream.next().await.unwrap().data, "3");
}

/// What [`stall_one_among_a_hundred`] leaves: the server, the stalled
/// client (not read since its response head) and the ids published.
struct Stalled {
    server: Server,
    client: RawStream,
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
    let server = Server::start(hub);

    let client = RawStream::open(server.addr, "/hub/live/feed").await;
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
        let mut stream = Stream::open(&server.url("/hub/live/feed"), None).await;
        let progress = progress.clone();
        let failed = failed.clone();
        readers.push(actix_rt::spawn(async move {
            for want in 0..SMALL {
                let event = stream.next().await.expect("the stream goes on");
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
        timeout(STEP, reader)
            .await
            .expect("reader done in time")
            .expect("reader saw every event");
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
    let before = client.read_to_end().await;
    assert!(before.len() < published.len());
    assert_eq!(seqs(&before), published[..before.len()]);

    // Its reconnect resumes from history: nothing lost, nothing twice.
    let last = client.parser.last_event_id().to_owned();
    let mut resumed = Stream::open(&server.url("/hub/live/feed"), Some(&last)).await;
    let mut after = Vec::new();
    while before.len() + after.len() < published.len() {
        after.push(resumed.next().await.expect("the replay goes on"));
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
    let mut next = 0;
    let mut notices = 0;
    while next < published.len() {
        for event in client.read_events(1).await {
            if event.event == "sse-missed" {
                let data: serde_json::Value = event.json().unwrap();
                assert_eq!(data["reason"], "lagged");
                next += data["missed"].as_u64().unwrap() as usize;
                notices += 1;
            } else {
                assert_eq!(seq(&event), published[next], "at {next}");
                next += 1;
            }
        }
    }
    assert_eq!(next, published.len(), "no more than was published");
    assert!(notices >= 1);

    // Now at the live edge, it receives what comes next.
    let tail = hub.publish("feed", "tail").await.unwrap();
    let events = client.read_events(1).await;
    assert_eq!(
        (events[0].data.as_str(), seq(&events[0])),
        ("tail", tail.seq())
    );
}

#[actix_web::test]
async fn a_closed_topic_ends_its_streams_and_then_answers_204() {
    let hub = Hub::builder().history(10).build();
    let server = Server::start(&hub);
    let mut stream = Stream::open(&server.url("/hub/live/task"), None).await;
    eventually("the subscription", || hub.subscribers("task") == 1).await;
    hub.publish("task", "50%").await.unwrap();
    let done = hub.publish("task", "done").await.unwrap();
    assert!(hub.close("task"));
    assert_eq!(stream.next().await.unwrap().data, "50%");
    assert_eq!(stream.next().await.unwrap().data, "done");
    assert!(stream.next().await.is_none(), "the stream ends");
    assert_eq!(stream.last_event_id(), done.to_string());

    // EventSource reconnects after an ending stream: it gets 204 and stops.
    for id in [Some(done.to_string()), None] {
        let mut request = http().get(server.url("/hub/live/task"));
        if let Some(id) = &id {
            request = request.header("Last-Event-ID", id);
        }
        let response = timeout(STEP, request.send()).await.unwrap().unwrap();
        assert_eq!(response.status(), 204, "{id:?}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    // Publishing to it is refused.
    let response = http()
        .post(server.url("/hub/topic/task"))
        .body("late")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}

#[actix_web::test]
async fn presence_counts_and_join_leave_events() {
    let hub = Hub::new();
    let server = Server::start(&hub);
    let mut watcher = Stream::open(&server.url("/hub/room/lobby?user=watcher"), None).await;
    let joined = watcher.next().await.unwrap();
    assert_eq!(
        (joined.event.as_str(), joined.data.as_str()),
        ("user-joined", "watcher")
    );
    assert_eq!(hub.subscribers("room/lobby"), 1);

    let ann = Stream::open(&server.url("/hub/room/lobby?user=ann"), None).await;
    let joined = watcher.next().await.unwrap();
    assert_eq!(
        (joined.event.as_str(), joined.data.as_str()),
        ("user-joined", "ann")
    );
    assert_eq!(hub.subscribers("room/lobby"), 2);

    // The connection's end is the subscription's end.
    drop(ann);
    let left = watcher.next().await.unwrap();
    assert_eq!(
        (left.event.as_str(), left.data.as_str()),
        ("user-left", "ann")
    );
    eventually("the count to drop", || hub.subscribers("room/lobby") == 1).await;

    // A POST reaches the room; its answer carries the id.
    let response = http()
        .post(server.url("/hub/room/lobby"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    let message = watcher.next().await.unwrap();
    assert_eq!(message.data, "hello");
    assert_eq!(body["id"], message.id);
}

#[actix_web::test]
async fn publishes_from_many_threads_reach_the_client_in_order() {
    const THREADS: usize = 8;
    const EACH: usize = 500;
    let hub = Hub::builder().queue(THREADS * EACH).build();
    let server = Server::start(&hub);
    let mut stream = Stream::open(&server.url("/hub/live/shared"), None).await;
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
        let event = stream.next().await.expect("the stream goes on");
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
