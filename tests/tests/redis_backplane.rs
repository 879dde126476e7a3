//! The hub on the Redis backplane, against a real `redis-server` started by
//! each test on a free loopback port (killed by its PID on drop): delivery
//! across instances with identical ids, resume on another instance while a
//! publisher races, a lost pub/sub message recovered from the stream, a
//! killed pub/sub connection, Redis restarted with and without
//! persistence, an instance that stops, two actix servers sharing a room
//! over HTTP, Redis unreachable at start, a publish while Redis is down
//! (`503` with `Retry-After`, in-process and over HTTP), and
//! `publish_blocking` from a plain thread.
//!
//! Two or three hub instances live in the test process, each with its own
//! connections, exactly as separate processes would have.

use std::time::Duration;

use futures_util::StreamExt;
use sse_runtime::hub::Hub;
use sse_runtime::{controller, sse, EventId, LastEventId, Subscription};
use sse_test_support::RedisServer;
use tokio::time::{sleep, timeout, Instant};

/// Bound on any single wait in these tests.
const STEP: Duration = Duration::from_secs(10);

async fn instance(redis: &RedisServer) -> Hub {
    Hub::builder()
        .history(20_000)
        .queue(20_000)
        .redis(redis.url())
        .probe_every(Duration::from_millis(200))
        .build()
        .await
        .expect("the hub connects to Redis")
}

/// An event's text, or `None` when the stream ended.
async fn next(sub: &mut Subscription) -> Option<String> {
    let event = timeout(STEP, sub.next()).await.expect("an event in time")?;
    Some(String::from_utf8(event.as_ref().to_vec()).expect("UTF-8 events"))
}

/// The next event with data: `(data, id)`. Position markers are skipped.
async fn data(sub: &mut Subscription) -> (String, String) {
    loop {
        let text = next(sub).await.expect("the stream goes on");
        let mut data = None;
        let mut id = None;
        for line in text.lines() {
            if let Some(d) = line.strip_prefix("data: ") {
                data = Some(d.to_owned());
            }
            if let Some(i) = line.strip_prefix("id: ") {
                id = Some(i.to_owned());
            }
        }
        if let Some(data) = data {
            return (data, id.unwrap_or_default());
        }
    }
}

/// A live subscription to `topic`, attached (its first event, the position
/// marker, was read), so that nothing published afterwards is missed.
async fn live(hub: &Hub, topic: &str) -> Subscription {
    let mut sub = hub.subscribe([topic]).start().expect("subscribes");
    let first = next(&mut sub).await.expect("a position marker");
    assert!(first.starts_with("id: "), "{first}");
    sub
}

#[actix_web::test]
async fn ten_thousand_events_reach_every_instance_with_identical_ids() {
    let redis = RedisServer::start(false).await.unwrap();
    let hubs = [
        instance(&redis).await,
        instance(&redis).await,
        instance(&redis).await,
    ];
    let mut subs = Vec::new();
    for hub in &hubs {
        subs.push(live(hub, "feed").await);
    }
    let publishers: Vec<_> = hubs
        .iter()
        .enumerate()
        .map(|(k, hub)| {
            let hub = hub.clone();
            actix_web::rt::spawn(async move {
                let mut ids = Vec::new();
                for i in (k..10_000).step_by(3) {
                    ids.push(hub.publish("feed", i.to_string()).await.unwrap());
                }
                ids
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for publisher in publishers {
        acknowledged.extend(publisher.await.unwrap());
    }
    acknowledged.sort_by_key(EventId::seq);
    let mut seen: Vec<Vec<(String, String)>> = Vec::new();
    for sub in &mut subs {
        let mut events = Vec::new();
        for _ in 0..10_000 {
            events.push(data(sub).await);
        }
        seen.push(events);
    }
    let ids: Vec<String> = acknowledged.iter().map(ToString::to_string).collect();
    for events in &seen {
        assert_eq!(events, &seen[0], "every instance, the same events and ids");
        let got: Vec<&String> = events.iter().map(|(_, id)| id).collect();
        assert_eq!(
            got,
            ids.iter().collect::<Vec<_>>(),
            "the ids publishers got, in order"
        );
    }
    // Each publisher's events in its own order.
    for k in 0..3 {
        let mine: Vec<usize> = seen[0]
            .iter()
            .map(|(d, _)| d.parse::<usize>().unwrap())
            .filter(|i| i % 3 == k)
            .collect();
        assert_eq!(mine, (k..10_000).step_by(3).collect::<Vec<_>>());
    }
}

/// `publish_blocking` from a plain thread (a blocking pool's, here) waits
/// for Redis on the runtime the hub was built on, and the events reach the
/// other instance in order with the ids it returned.
#[actix_web::test]
async fn publish_blocking_from_a_plain_thread_reaches_the_other_instance() {
    let redis = RedisServer::start(false)
        .await
        .expect("redis-server starts");
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut sub = live(&b, "plain").await;
    let publisher = a.clone();
    let ids = tokio::task::spawn_blocking(move || {
        (0..3)
            .map(|i| {
                publisher
                    .publish_blocking("plain", format!("from a thread {i}"))
                    .expect("published")
            })
            .collect::<Vec<EventId>>()
    });
    let ids = timeout(STEP, ids)
        .await
        .expect("in time")
        .expect("the thread");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            data(&mut sub).await,
            (format!("from a thread {i}"), id.to_string())
        );
    }
}

#[actix_web::test]
async fn resume_on_another_instance_gets_exactly_the_missed_events() {
    let redis = RedisServer::start(false).await.unwrap();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let mut on_a = live(&a, "room").await;
    for i in 1..=50 {
        a.publish("room", i.to_string()).await.unwrap();
    }
    let mut last = String::new();
    for i in 1..=20 {
        let (d, id) = data(&mut on_a).await;
        assert_eq!(d, i.to_string());
        last = id;
    }
    drop(on_a);
    for i in 51..=60 {
        b.publish("room", i.to_string()).await.unwrap();
    }
    // A publisher races with the resume, on the first instance.
    let racer = {
        let a = a.clone();
        actix_web::rt::spawn(async move {
            for i in 61..=300 {
                a.publish("room", i.to_string()).await.unwrap();
            }
        })
    };
    let mut on_b = b
        .subscribe(["room"])
        .after(LastEventId::new(&last))
        .start()
        .unwrap();
    for i in 21..=300 {
        let (d, _) = data(&mut on_b).await;
        assert_eq!(d, i.to_string(), "no gap, no duplicate");
    }
    racer.await.unwrap();
    let id = a.publish("room", "live").await.unwrap();
    assert_eq!(data(&mut on_b).await, ("live".to_owned(), id.to_string()));
}

#[actix_web::test]
async fn a_message_lost_by_pubsub_is_read_from_the_stream() {
    let redis = RedisServer::start(false).await.unwrap();
    let a = instance(&redis).await;
    let mut sub = live(&a, "t").await;
    a.publish("t", "first").await.unwrap();
    assert_eq!(data(&mut sub).await.0, "first");
    // What the publish script does, without the PUBLISH: a message pub/sub
    // lost.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let seq: u64 = redis::cmd("INCR")
        .arg("{sse}:seq")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg("{sse}:h:t")
        .arg(format!("{seq}-0"))
        .arg("b")
        .arg("data: lost\n")
        .query_async(&mut conn)
        .await
        .unwrap();
    let after = a.publish("t", "after").await.unwrap();
    assert_eq!(data(&mut sub).await.0, "lost");
    assert_eq!(
        data(&mut sub).await,
        ("after".to_owned(), after.to_string())
    );
    assert_eq!(after.seq(), seq + 1);
}

#[actix_web::test]
async fn a_killed_pubsub_connection_is_resubscribed_without_a_gap() {
    let redis = RedisServer::start(false).await.unwrap();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let mut sub = live(&b, "t").await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let killed: u64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(killed, 2, "each instance has one pub/sub connection");
    for i in 0..5 {
        a.publish("t", i.to_string()).await.unwrap();
    }
    for i in 0..5 {
        assert_eq!(data(&mut sub).await.0, i.to_string());
    }
}

/// Publishes until Redis takes it again; every failure is an error the
/// caller sees.
async fn publish_when_back(hub: &Hub, topic: &str, text: &str) -> EventId {
    let deadline = Instant::now() + STEP;
    loop {
        match hub.publish(topic, text).await {
            Ok(id) => return id,
            Err(err) => {
                assert!(Instant::now() < deadline, "Redis did not come back: {err}");
                sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[actix_web::test]
async fn redis_restarted_with_persistence_loses_nothing() {
    let mut redis = RedisServer::start(true).await.unwrap();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let mut sub = live(&b, "t").await;
    let mut ids = Vec::new();
    for i in 1..=10 {
        ids.push(a.publish("t", i.to_string()).await.unwrap());
    }
    for i in 1..=10 {
        assert_eq!(data(&mut sub).await.0, i.to_string());
    }
    redis.kill();
    let err = a.publish("t", "during").await.expect_err("Redis is down");
    assert!(err.to_string().contains("redis"), "{err}");
    redis.restart().await.unwrap();
    let id = publish_when_back(&a, "t", "11").await;
    assert_eq!(
        id.epoch(),
        ids[0].epoch(),
        "the same epoch: nothing was lost"
    );
    assert_eq!(data(&mut sub).await, ("11".to_owned(), id.to_string()));
    // A client that saw event 5 resumes on the other instance.
    let mut resumed = a
        .subscribe(["t"])
        .after(LastEventId::new(ids[4].to_string()))
        .start()
        .unwrap();
    for i in 6..=11 {
        assert_eq!(data(&mut resumed).await.0, i.to_string());
    }
}

#[actix_web::test]
async fn redis_restarted_empty_ends_streams_and_resumes_get_the_epoch_signal() {
    let mut redis = RedisServer::start(false).await.unwrap();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let mut sub = live(&b, "t").await;
    let mut last = String::new();
    for i in 1..=3 {
        a.publish("t", i.to_string()).await.unwrap();
        last = data(&mut sub).await.1;
    }
    redis.restart().await.unwrap();
    let id = publish_when_back(&a, "t", "new").await;
    assert_ne!(id.to_string().split('-').next(), last.split('-').next());
    // The subscriber's stream ends (its data is gone with Redis's)…
    loop {
        match next(&mut sub).await {
            None => break,
            Some(text) => assert!(!text.contains("data: new"), "{text}"),
        }
    }
    // …and its client, back with an id of the old epoch, is told.
    let mut resumed = b
        .subscribe(["t"])
        .after(LastEventId::new(&last))
        .start()
        .unwrap();
    let text = next(&mut resumed).await.unwrap();
    assert!(text.starts_with("event: sse-missed\n"), "{text}");
    assert!(text.contains(r#""reason":"epoch""#), "{text}");
}

#[actix_web::test]
async fn an_instance_that_stops_loses_nothing_it_acknowledged() {
    let redis = RedisServer::start(false).await.unwrap();
    let b = instance(&redis).await;
    let acknowledged = {
        let a = instance(&redis).await;
        let mut ids = Vec::new();
        for i in 1..=5 {
            ids.push(a.publish("t", i.to_string()).await.unwrap());
        }
        ids
        // `a` is gone here, with its connections and reader.
    };
    let mut sub = b.subscribe(["t"]).from_oldest().start().unwrap();
    for (i, id) in acknowledged.iter().enumerate() {
        assert_eq!(data(&mut sub).await, ((i + 1).to_string(), id.to_string()));
    }
}

#[actix_web::test]
async fn unreachable_redis_is_an_error_when_building() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let result = timeout(
        STEP,
        Hub::builder()
            .redis(format!("redis://127.0.0.1:{port}"))
            .timeout(Duration::from_millis(500))
            .build(),
    )
    .await
    .expect("fails in time");
    let err = result.expect_err("nothing listens there");
    assert!(err.to_string().starts_with("redis backplane:"), "{err}");
}

/// A topic that keeps all of its history (`usize::MAX`, as a task's
/// progress does) publishes, and a new instance replays all of it.
#[actix_web::test]
async fn a_topic_that_keeps_everything_publishes_and_replays() {
    let redis = RedisServer::start(false).await.unwrap();
    let keep_all = || {
        Hub::builder().topics(
            "task/",
            sse_runtime::hub::TopicOptions::new()
                .history(usize::MAX)
                .history_bytes(usize::MAX),
        )
    };
    let a = keep_all().redis(redis.url()).build().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(a.publish("task/1", i.to_string()).await.expect("published"));
    }
    let b = keep_all().redis(redis.url()).build().await.unwrap();
    let mut sub = b.subscribe(["task/1"]).from_oldest().start().unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(data(&mut sub).await, (i.to_string(), id.to_string()));
    }
}

/// A loopback TCP proxy whose existing connections can be frozen: they
/// stay open but nothing crosses them any more (a failover that leaves
/// connections half-alive). New connections work.
struct FreezingProxy {
    addr: std::net::SocketAddr,
    /// Connections numbered up to this are frozen.
    frozen: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Connections made so far.
    made: std::sync::Arc<std::sync::atomic::AtomicU64>,
    accept: tokio::task::JoinHandle<()>,
}

impl FreezingProxy {
    async fn start(to: String) -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::Arc;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicU64::new(0));
        let made = Arc::new(AtomicU64::new(0));
        let accept = {
            let frozen = frozen.clone();
            let made = made.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let number = made.fetch_add(1, Ordering::SeqCst) + 1;
                    let Ok(server) = tokio::net::TcpStream::connect(&to).await else {
                        continue;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    for (mut from, mut into) in [(cr, sw), (sr, cw)].map(|(r, w)| {
                        (
                            Box::new(r) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
                            Box::new(w) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
                        )
                    }) {
                        let frozen = frozen.clone();
                        tokio::spawn(async move {
                            use tokio::io::{AsyncReadExt, AsyncWriteExt};
                            let mut buf = vec![0u8; 16 * 1024];
                            while let Ok(n @ 1..) = from.read(&mut buf).await {
                                if frozen.load(Ordering::SeqCst) >= number {
                                    continue; // swallowed: the peer never hears of it
                                }
                                if into.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                            }
                        });
                    }
                }
            })
        };
        FreezingProxy {
            addr,
            frozen,
            made,
            accept,
        }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Freezes every connection made so far.
    fn freeze(&self) {
        use std::sync::atomic::Ordering;
        self.frozen
            .store(self.made.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

impl Drop for FreezingProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

#[actix_web::test]
async fn a_silently_dead_connection_is_noticed_by_the_probe() {
    let redis = RedisServer::start(false).await.unwrap();
    let proxy = FreezingProxy::start(redis.url().trim_start_matches("redis://").to_owned()).await;
    let direct = instance(&redis).await;
    let behind = Hub::builder()
        .history(100)
        .redis(proxy.url())
        .probe_every(Duration::from_millis(200))
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let mut sub = live(&behind, "t").await;
    direct.publish("t", "before").await.unwrap();
    assert_eq!(data(&mut sub).await.0, "before");
    // Existing connections go silent; new ones work.
    proxy.freeze();
    let frozen_at = Instant::now();
    for i in 0..3 {
        direct.publish("t", i.to_string()).await.unwrap();
    }
    for i in 0..3 {
        assert_eq!(data(&mut sub).await.0, i.to_string());
    }
    assert!(
        frozen_at.elapsed() < Duration::from_secs(5),
        "noticed within a bounded time: {:?}",
        frozen_at.elapsed()
    );
}

/// The routes of one server instance: a room's stream, resumable.
struct Rooms {
    hub: Hub,
}

#[controller("room")]
impl Rooms {
    #[sse("{room}")]
    fn room(
        &self,
        room: actix_web::web::Path<String>,
        last: LastEventId,
    ) -> Result<Subscription, sse_runtime::HubError> {
        self.hub
            .subscribe([format!("room/{room}")])
            .after(last)
            .start()
    }
}

async fn open(addr: std::net::SocketAddr, last: Option<&str>) -> sse_test_support::EventReader {
    let mut request = sse_test_support::RawRequest::get("/room/lobby");
    if let Some(last) = last {
        request = request.header("Last-Event-ID", last);
    }
    let response = request.send(addr).await.unwrap();
    assert_eq!(response.status(), 200);
    sse_test_support::EventReader::new(response)
}

async fn attached(hub: &Hub, count: usize) {
    let deadline = Instant::now() + STEP;
    while hub.subscribers("room/lobby") < count {
        assert!(Instant::now() < deadline, "the client never attached");
        sleep(Duration::from_millis(5)).await;
    }
}

#[actix_web::test]
async fn browsers_on_two_servers_share_a_room_and_resume_on_either() {
    let redis = RedisServer::start(false).await.unwrap();
    let a = instance(&redis).await;
    let b = instance(&redis).await;
    let server_a = {
        let hub = a.clone();
        sse_test_support::serve(move || actix_web::App::new().service(Rooms { hub: hub.clone() }))
    };
    let server_b = {
        let hub = b.clone();
        sse_test_support::serve(move || actix_web::App::new().service(Rooms { hub: hub.clone() }))
    };
    let mut on_b = open(server_b.addr(), None).await;
    attached(&b, 1).await;
    let mut ids = Vec::new();
    for i in 1..=5 {
        ids.push(
            a.publish("room/lobby", i.to_string())
                .await
                .unwrap()
                .to_string(),
        );
    }
    let events = on_b.take(3).await.unwrap();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e.data.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("1", ids[0].as_str()),
            ("2", ids[1].as_str()),
            ("3", ids[2].as_str())
        ]
    );
    drop(on_b); // the browser goes away after event 3…
    for i in 6..=8 {
        ids.push(
            b.publish("room/lobby", i.to_string())
                .await
                .unwrap()
                .to_string(),
        );
    }
    // …and comes back through the load balancer to the other server.
    let mut on_a = open(server_a.addr(), Some(&ids[2])).await;
    let events = on_a.take(5).await.unwrap();
    let got: Vec<(String, String)> = events.into_iter().map(|e| (e.data, e.id)).collect();
    let want: Vec<(String, String)> = (4..=8)
        .map(|i| (i.to_string(), ids[i - 1].clone()))
        .collect();
    assert_eq!(got, want, "exactly the missed events, with the same ids");
    drop(on_a);
    server_a.stop().await;
    server_b.stop().await;
}

/// A route that publishes its body, answering failures with `?`: what
/// `PublishError` documents.
struct Publisher {
    hub: Hub,
}

#[controller("pub")]
impl Publisher {
    #[post("{topic}")]
    async fn publish(
        &self,
        topic: actix_web::web::Path<String>,
        body: String,
    ) -> actix_web::Result<actix_web::HttpResponse> {
        let id = self.hub.publish(topic.as_str(), body).await?;
        Ok(actix_web::HttpResponse::Accepted().body(id.to_string()))
    }
}

/// Whether `text` shows anything of the failure's cause.
fn leaks(text: &str) -> bool {
    [
        "redis",
        "refused",
        "os error",
        "127.0.0.1",
        "backplane",
        "secret",
    ]
    .iter()
    .any(|word| text.to_ascii_lowercase().contains(word))
}

#[actix_web::test]
async fn a_publish_while_redis_is_down_is_a_503_with_retry_after_and_no_internal_text() {
    use actix_web::test;
    use sse_test_support::fetch::{client, send, text};

    let mut redis = RedisServer::start(false).await.unwrap();
    let hub = Hub::builder()
        .history(10)
        .redis(redis.url())
        .timeout(Duration::from_millis(500))
        .build()
        .await
        .unwrap();
    let server = {
        let hub = hub.clone();
        sse_test_support::serve(move || {
            actix_web::App::new().service(Publisher { hub: hub.clone() })
        })
    };
    let app =
        test::init_service(actix_web::App::new().service(Publisher { hub: hub.clone() })).await;
    let post = || {
        test::TestRequest::post()
            .uri("/pub/secret-room")
            .set_payload("hi")
            .to_request()
    };
    let url = server.url("/pub/secret-room");

    let response = send(client().post(&url).body("hi")).await;
    assert_eq!(response.status(), 202);
    let response = sse_test_support::call_service(&app, post()).await;
    assert_eq!(response.status(), 202);

    assert!(redis.pid().is_some());
    redis.kill(); // SIGKILL by its PID, as a crash

    // In-process, on this thread: the answer and what is logged.
    let (log, _guard) = sse_test_support::TraceLog::capture_thread();
    let response = sse_test_support::call_service(&app, post()).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"5"[..])
    );
    let body = sse_test_support::read_body(response).await;
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(body, "service unavailable, retry later\n");
    assert!(!leaks(&body), "{body:?}");
    let logged = log.line_with("hub publish failed");
    assert!(
        logged.contains("WARN") && logged.contains("redis backplane"),
        "{logged}"
    );

    // Over HTTP, from a real server.
    let response = timeout(STEP, send(client().post(&url).body("hi")))
        .await
        .expect("answered within the backplane's timeout");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"5"[..])
    );
    let body = text(response).await;
    assert!(!leaks(&body), "{body:?}");

    // Back up: publishes succeed again.
    redis.restart().await.unwrap();
    let deadline = Instant::now() + STEP;
    loop {
        let response = send(client().post(&url).body("hi")).await;
        if response.status() == 202 {
            break;
        }
        assert_eq!(response.status(), 503);
        assert!(Instant::now() < deadline, "publishes never recovered");
        sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[actix_web::test]
async fn an_instance_holds_copies_only_while_subscribed_and_within_its_bounds() {
    let redis = RedisServer::start(false).await.unwrap();
    let hub = Hub::builder()
        .history(10)
        .max_topics(4)
        .redis(redis.url())
        .build()
        .await
        .unwrap();
    // Publishes to topics nobody here reads make no copy.
    let mut last = None;
    for i in 0..200 {
        last = Some(hub.publish(format!("t{i}"), "x").await.unwrap());
    }
    let last = last.unwrap();
    let deadline = Instant::now() + STEP;
    while hub.last_id() != last {
        assert!(Instant::now() < deadline, "the reader never caught up");
        sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(hub.topic_count(), 0);
    // A client visiting topic after topic: each copy goes with its reader.
    for i in 0..100 {
        let mut sub = hub
            .subscribe([format!("t{i}")])
            .after(LastEventId::new(format!("{:x}-1", last.epoch())))
            .start()
            .unwrap();
        next(&mut sub).await.expect("the copy's history");
        assert_eq!(hub.topic_count(), 1, "visit {i}");
        drop(sub);
        let totals = hub.totals();
        assert_eq!((totals.topics, totals.bytes), (0, 0), "visit {i}");
    }
    // Four readers hold four copies: a fifth topic has no room here, and
    // its stream ends at once (its browser retries) instead of growing.
    let mut held = Vec::new();
    for i in 0..4 {
        held.push(live(&hub, &format!("t{i}")).await);
    }
    let mut refused = hub.subscribe(["t4"]).start().unwrap();
    // The resume comment first: a response leaves the end frame out, so
    // the browser retries rather than closing.
    assert_eq!(
        next(&mut refused).await.as_deref(),
        Some(": reconnect to resume\n\n")
    );
    assert_eq!(next(&mut refused).await, None);
    let totals = hub.totals();
    assert_eq!((totals.topics, totals.refused), (4, 1));
    drop(held);
    let mut sub = live(&hub, "t4").await;
    let id = hub.publish("t4", "now").await.unwrap();
    assert_eq!(data(&mut sub).await, ("now".to_owned(), id.to_string()));
}
