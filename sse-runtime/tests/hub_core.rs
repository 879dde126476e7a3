//! The hub in-process: fan-out, ids, resume (also while publishers race
//! with it), history bounds, lagging, memory with stalled subscribers,
//! closing, presence and freeing of topics. The HTTP side is in
//! `tests/tests/hub_http.rs`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use sse_runtime::hub::{Hub, HubError, Overflow, PublishError, TopicOptions};
use sse_runtime::{EncodedEvent, Event, EventId, LastEventId, Subscription};
use tokio::time::timeout;

const STEP: Duration = Duration::from_secs(10);

/// The next event; panics if none comes within [`STEP`] or the stream ends.
async fn next(sub: &mut Subscription) -> EncodedEvent {
    match timeout(STEP, sub.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("subscription ended"),
        Err(_) => panic!("no event within {STEP:?}"),
    }
}

/// Whether the stream ends within [`STEP`], with no event before.
/// Whether `sub` ends now: at once, or, when it must be resumed (it
/// lagged, or its topic was reset), after the resume comment that tells a
/// response to leave the end frame out.
async fn ends(sub: &mut Subscription) -> bool {
    match timeout(STEP, sub.next()).await {
        Ok(None) => true,
        Ok(Some(event)) if is_resume(&event) => matches!(timeout(STEP, sub.next()).await, Ok(None)),
        _ => false,
    }
}

/// The last item of a stream that should be resumed.
fn is_resume(event: &EncodedEvent) -> bool {
    text(event) == ": reconnect to resume\n\n"
}

/// The next event if one is ready now.
fn ready(sub: &mut Subscription) -> Option<Option<EncodedEvent>> {
    sub.next().now_or_never()
}

fn text(event: &EncodedEvent) -> &str {
    std::str::from_utf8(event.as_ref()).expect("UTF-8 event")
}

/// The value of the event's last `name:` line.
fn field<'a>(event: &'a EncodedEvent, name: &str) -> Option<&'a str> {
    let prefix = format!("{name}: ");
    text(event)
        .lines()
        .filter_map(|line| line.strip_prefix(prefix.as_str()))
        .next_back()
}

fn id(event: &EncodedEvent) -> EventId {
    field(event, "id")
        .unwrap_or_else(|| panic!("no id in {:?}", text(event)))
        .parse()
        .expect("hub id")
}

fn data(event: &EncodedEvent) -> &str {
    field(event, "data").unwrap_or_default()
}

fn missed(event: &EncodedEvent) -> serde_json::Value {
    assert_eq!(
        field(event, "event"),
        Some("sse-missed"),
        "{:?}",
        text(event)
    );
    serde_json::from_str(data(event)).expect("JSON data")
}

fn last(id: EventId) -> LastEventId {
    LastEventId::new(id.to_string())
}

/// Starts a fresh subscription and consumes its position marker.
async fn live(hub: &Hub, topics: &[&str]) -> Subscription {
    let mut sub = hub
        .subscribe(topics.iter().copied())
        .start()
        .expect("subscribe");
    let marker = next(&mut sub).await;
    assert_eq!(text(&marker), format!("id: {}\n\n", hub.last_id()));
    sub
}

/// Usable from any actix worker, tokio task or thread.
const _: () = {
    const fn shareable<T: Send + Sync + Clone + 'static>() {}
    const fn sendable<T: Send + Sync + 'static>() {}
    shareable::<Hub>();
    sendable::<Subscription>();
    sendable::<sse_runtime::hub::Subscribe>();
};

#[tokio::test]
async fn one_publish_is_one_buffer_shared_by_every_subscriber() {
    let hub = Hub::new();
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(live(&hub, &["news"]).await);
    }
    let published = hub.publish("news", "hello").now_or_never();
    let id = published.expect("ready on first poll").expect("published");
    assert_eq!(id.seq(), 1);
    let mut events = Vec::new();
    for sub in &mut subs {
        events.push(next(sub).await);
    }
    assert_eq!(text(&events[0]), format!("data: hello\nid: {id}\n\n"));
    for event in &events {
        assert_eq!(event.as_bytes().as_ptr(), events[0].as_bytes().as_ptr());
    }
}

#[tokio::test]
async fn the_hub_id_wins_over_the_items_id() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["t"]).await;
    let event = Event::default().id("mine").unwrap().data("x");
    let hub_id = hub.publish("t", event).await.unwrap();
    let got = next(&mut sub).await;
    assert_eq!(text(&got), format!("id: mine\ndata: x\nid: {hub_id}\n\n"));
    assert_eq!(id(&got), hub_id);
}

#[tokio::test]
async fn several_topics_arrive_in_id_order() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["b", "a", "b"]).await;
    assert_eq!(sub.topics().collect::<Vec<_>>(), ["a", "b"]);
    let mut ids = Vec::new();
    for topic in ["a", "b", "other", "b", "a"] {
        ids.push((topic, hub.publish(topic, topic).await.unwrap()));
    }
    for (topic, want) in ids.into_iter().filter(|(t, _)| *t != "other") {
        let got = next(&mut sub).await;
        assert_eq!((data(&got), id(&got)), (topic, want));
    }
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn resume_replays_exactly_what_followed_the_id() {
    let hub = Hub::builder().history(100).build();
    let ids: Vec<EventId> = futures_util::future::join_all((0..10).map(|i| {
        let hub = hub.clone();
        async move { hub.publish("t", i.to_string()).await.unwrap() }
    }))
    .await;
    let mut sub = hub.subscribe(["t"]).after(last(ids[3])).start().unwrap();
    for (i, want) in ids.iter().enumerate().skip(4) {
        let got = next(&mut sub).await;
        assert_eq!((data(&got), id(&got)), (i.to_string().as_str(), *want));
    }
    assert!(ready(&mut sub).is_none(), "no marker after a replay");
    let live_id = hub.publish("t", "live").await.unwrap();
    assert_eq!(id(&next(&mut sub).await), live_id);

    // Resuming at the newest id: nothing to replay, no notice.
    let mut sub = hub.subscribe(["t"]).after(last(live_id)).start().unwrap();
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn unresumable_ids_get_the_missed_event_then_live() {
    let hub = Hub::builder().history(3).build();
    let first = hub.publish("t", "1").await.unwrap();
    for i in 2..=5 {
        hub.publish("t", i.to_string()).await.unwrap();
    }
    let other_epoch = Hub::new().last_id();
    let cases = [
        (last(first), "too-old"),
        (last(other_epoch), "epoch"),
        (LastEventId::new("42"), "unknown-id"),
        (
            LastEventId::new(format!("{:x}-999", first.epoch())),
            "unknown-id",
        ),
    ];
    for (last, reason) in cases {
        let head = hub.last_id();
        let mut sub = hub.subscribe(["t"]).after(last.clone()).start().unwrap();
        let notice = next(&mut sub).await;
        let json = missed(&notice);
        assert_eq!(json["reason"], reason, "{last:?}");
        assert_eq!(json["topics"], serde_json::json!(["t"]));
        // Every cursor is at the live edge: the notice carries the head id,
        // so a reconnect right now resumes cleanly.
        assert_eq!(id(&notice), head);
        assert!(ready(&mut sub).is_none());
        let next_id = hub.publish("t", "new").await.unwrap();
        assert_eq!(id(&next(&mut sub).await), next_id);
    }

    // Still in history: a plain replay.
    let head = hub.last_id();
    let mut sub = hub.subscribe(["t"]).after(last(head)).start().unwrap();
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn a_partial_reset_replays_the_other_topics_and_carries_no_id() {
    let hub = Hub::builder()
        .history(100)
        .topics("short", TopicOptions::new().history(1))
        .build();
    let start = hub.publish("long", "l1").await.unwrap();
    hub.publish("short", "s1").await.unwrap();
    hub.publish("short", "s2").await.unwrap();
    hub.publish("long", "l2").await.unwrap();
    let mut sub = hub
        .subscribe(["long", "short"])
        .after(last(start))
        .start()
        .unwrap();
    let notice = next(&mut sub).await;
    assert_eq!(missed(&notice)["topics"], serde_json::json!(["short"]));
    assert_eq!(field(&notice, "id"), None);
    assert_eq!(data(&next(&mut sub).await), "l2");
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn from_oldest_replays_the_history() {
    let hub = Hub::builder().history(2).build();
    for i in 1..=3 {
        hub.publish("p", i.to_string()).await.unwrap();
    }
    let mut sub = hub.subscribe(["p"]).from_oldest().start().unwrap();
    assert_eq!(data(&next(&mut sub).await), "2");
    assert_eq!(data(&next(&mut sub).await), "3");
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn history_is_bounded_by_count_and_bytes() {
    let hub = Hub::builder()
        .history(5)
        .topics("b/", TopicOptions::new().history(100).history_bytes(100))
        .build();
    for i in 0..20 {
        hub.publish("a", i.to_string()).await.unwrap();
        hub.publish("b/x", "x".repeat(40)).await.unwrap();
    }
    let a = hub.stats("a").unwrap();
    assert_eq!(a.events, 5);
    let b = hub.stats("b/x").unwrap();
    // `data: ` + 40 + `\nid: ` + id + `\n\n` is over 50 bytes: one fits.
    assert_eq!(b.events, 1);
    assert!(b.bytes <= 100);
    assert_eq!(hub.subscribers("a"), 0);
}

#[tokio::test(start_paused = true)]
async fn history_is_bounded_by_age() {
    let hub = Hub::builder()
        .history(100)
        .history_age(Duration::from_secs(60))
        .build();
    let first = hub.publish("t", "first").await.unwrap();
    let second = hub.publish("t", "second").await.unwrap();
    tokio::time::advance(Duration::from_secs(30)).await;
    let third = hub.publish("t", "third").await.unwrap();
    assert_eq!(hub.stats("t").unwrap().events, 3);

    tokio::time::advance(Duration::from_secs(31)).await;
    // Any hub call applies age limits to idle topics, once a second.
    hub.publish("elsewhere", "x").await.unwrap();
    assert_eq!(hub.stats("t").unwrap().events, 1);
    // `second` is gone: a client that saw only `first` missed it...
    let mut sub = hub.subscribe(["t"]).after(last(first)).start().unwrap();
    assert_eq!(missed(&next(&mut sub).await)["reason"], "too-old");
    drop(sub);
    // ...one that saw `second` misses nothing.
    let mut sub = hub.subscribe(["t"]).after(last(second)).start().unwrap();
    assert_eq!(id(&next(&mut sub).await), third);
    drop(sub);

    tokio::time::advance(Duration::from_secs(31)).await;
    hub.publish("elsewhere", "x").await.unwrap();
    assert!(hub.stats("t").is_none(), "an emptied topic is freed");
    // Freed, but not forgotten: `third` was missed after `second`...
    let mut sub = hub.subscribe(["t"]).after(last(second)).start().unwrap();
    assert_eq!(missed(&next(&mut sub).await)["reason"], "too-old");
    // ...and nothing after `third`: only the position marker.
    let mut sub = hub.subscribe(["t"]).after(last(third)).start().unwrap();
    assert_eq!(field(&next(&mut sub).await, "data"), None);
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn a_skipping_laggard_is_told_how_many_it_missed() {
    let hub = Hub::builder().queue(8).build();
    let mut slow = live(&hub, &["ticker"]).await;
    let mut fast = live(&hub, &["ticker"]).await;
    for i in 0..20 {
        hub.publish("ticker", i.to_string()).await.unwrap();
        assert_eq!(data(&next(&mut fast).await), i.to_string());
    }
    assert_eq!(hub.stats("ticker").unwrap().events, 8, "the queue window");
    let notice = next(&mut slow).await;
    let json = missed(&notice);
    assert_eq!(json["reason"], "lagged");
    assert_eq!(json["missed"], 20);
    assert_eq!(field(&notice, "id"), None);
    assert!(ready(&mut slow).is_none(), "jumped to the live edge");
    hub.publish("ticker", "20").await.unwrap();
    assert_eq!(data(&next(&mut slow).await), "20");
}

#[tokio::test]
async fn the_policy_is_set_per_topic() {
    // History, but a ticker prefers skipping to reconnecting.
    let hub = Hub::builder()
        .history(100)
        .queue(4)
        .topics("ticker/", TopicOptions::new().overflow(Overflow::Skip))
        .build();
    let mut ticker = live(&hub, &["ticker/eur"]).await;
    let mut feed = live(&hub, &["feed"]).await;
    for i in 0..10 {
        hub.publish("ticker/eur", i.to_string()).await.unwrap();
        hub.publish("feed", i.to_string()).await.unwrap();
    }
    assert_eq!(missed(&next(&mut ticker).await)["missed"], 10);
    assert!(
        ends(&mut feed).await,
        "the default with history: disconnect"
    );
}

#[tokio::test]
async fn a_disconnected_laggard_resumes_from_history_without_loss() {
    let hub = Hub::builder().history(1_000).queue(8).build();
    let mut slow = live(&hub, &["feed"]).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(hub.publish("feed", i.to_string()).await.unwrap());
    }
    let seen = id(&next(&mut slow).await);
    assert_eq!(seen, ids[0]);
    for i in 3..30 {
        ids.push(hub.publish("feed", i.to_string()).await.unwrap());
    }
    // Its stream ends (it took 1 of 30; the rest is beyond its queue).
    let mut after_lag = Vec::new();
    while let Some(event) = timeout(STEP, slow.next()).await.unwrap() {
        after_lag.push(event);
    }
    let resume = after_lag.pop().expect("the resume comment comes last");
    assert!(is_resume(&resume), "{:?}", text(&resume));
    assert!(after_lag.len() < 30);
    let seen = after_lag.last().map_or(seen, id);
    drop(slow);
    let mut resumed = hub.subscribe(["feed"]).after(last(seen)).start().unwrap();
    let mut got = Vec::new();
    while let Some(Some(event)) = ready(&mut resumed) {
        got.push(id(&event));
    }
    let want: Vec<EventId> = ids
        .iter()
        .copied()
        .filter(|i| i.seq() > seen.seq())
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_thousand_stalled_subscribers_keep_memory_bounded() {
    let hub = Hub::builder().queue(256).queue_bytes(1 << 20).build();
    let stalled: Vec<Subscription> = (0..1_000)
        .map(|_| hub.subscribe(["firehose"]).start().unwrap())
        .collect();
    let mut reader = live(&hub, &["firehose"]).await;
    let payload = "x".repeat(100);
    for round in 0..500 {
        for _ in 0..200 {
            hub.publish("firehose", payload.as_str()).await.unwrap();
        }
        // The reader keeps up; the 1 000 others never read.
        for _ in 0..200 {
            assert_eq!(data(&next(&mut reader).await), payload);
        }
        let stats = hub.stats("firehose").unwrap();
        assert_eq!(stats.events, 256.min(200 * (round + 1)), "round {round}");
        assert!(stats.bytes <= 256 * 160);
        assert_eq!(stats.subscribers, 1_001);
    }
    drop(stalled);
    assert_eq!(hub.subscribers("firehose"), 1);
}

#[tokio::test]
async fn resume_races_with_publishers_without_gap_or_duplicate() {
    const EVENTS: u64 = 100_000;
    let hub = Hub::builder()
        .history(usize::MAX)
        .history_bytes(usize::MAX)
        .queue(64)
        .topics("noise", TopicOptions::new().history(0))
        .build();
    let stop = Arc::new(AtomicBool::new(false));
    // Two publishers: one on the subscribed topics, one elsewhere (so the
    // subscribed ids have holes, as in real use).
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            let mut mine = Vec::new();
            for i in 0..EVENTS {
                let topic = if i % 2 == 0 { "a" } else { "b" };
                mine.push(hub.publish_blocking(topic, i.to_string()).unwrap().seq());
            }
            mine
        })
    };
    let noise = {
        let hub = hub.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                hub.publish_blocking("noise", "n").unwrap();
            }
        })
    };
    let mut got: Vec<u64> = Vec::new();
    let mut last_id = LastEventId::NONE;
    let mut reconnects = 0;
    while got.len() < EVENTS as usize {
        reconnects += 1;
        // The first connection may come after the first publishes: it
        // starts from the oldest event, later ones from their last id.
        let mut sub = hub
            .subscribe(["a", "b"])
            .from_oldest()
            .after(last_id.clone())
            .start()
            .unwrap();
        // Take a varying number of events, then "disconnect".
        for _ in 0..(reconnects * 37 % 500 + 1) {
            if got.len() == EVENTS as usize {
                break;
            }
            let Ok(Some(event)) = timeout(STEP, sub.next()).await else {
                break;
            };
            if let Some(i) = field(&event, "id") {
                last_id = LastEventId::new(i);
            }
            if field(&event, "data").is_some() {
                got.push(id(&event).seq());
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let published = publisher.join().unwrap();
    noise.join().unwrap();
    assert!(reconnects > 300, "{reconnects} reconnects");
    assert_eq!(got, published, "every event once, in order");
}

#[tokio::test]
async fn publishes_from_many_threads_at_once() {
    const THREADS: usize = 8;
    const EACH: usize = 5_000;
    let hub = Hub::builder()
        .queue(THREADS * EACH)
        .queue_bytes(usize::MAX)
        .build();
    let mut sub = live(&hub, &["shared"]).await;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let hub = hub.clone();
            std::thread::spawn(move || {
                (0..EACH)
                    .map(|i| hub.publish_blocking("shared", format!("{t}:{i}")).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all_ids = HashSet::new();
    for thread in threads {
        for id in thread.join().unwrap() {
            assert!(all_ids.insert(id), "ids are unique");
        }
    }
    let mut next_of = [0usize; THREADS];
    let mut prev = 0;
    for _ in 0..THREADS * EACH {
        let event = next(&mut sub).await;
        let seq = id(&event).seq();
        assert!(seq > prev, "ids grow in delivery order");
        prev = seq;
        let (t, i) = data(&event).split_once(':').unwrap();
        let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next_of[t], "each thread's order is kept");
        next_of[t] += 1;
    }
    assert_eq!(all_ids.len(), THREADS * EACH);
    assert_eq!(hub.last_id().seq(), (THREADS * EACH) as u64);
}

#[tokio::test]
async fn a_waiting_subscriber_is_woken_from_another_thread() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["t"]).await;
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            hub.publish_blocking("t", "hi").unwrap()
        })
    };
    let event = next(&mut sub).await;
    assert_eq!(id(&event), publisher.join().unwrap());
}

/// A publish wakes one idle subscriber per thread, which relays the wake
/// to the rest (see the module docs, "Waking"): every subscriber on every
/// worker thread gets every event, while publishes come from plain threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_idle_subscriber_is_woken_through_the_relay() {
    // Far more subscribers than publishes: leaders alone would not reach
    // them all.
    const SUBSCRIBERS: usize = 1_000;
    const EVENTS: usize = 50;
    let hub = Hub::new();
    let mut tasks = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut sub = live(&hub, &["relay"]).await;
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::with_capacity(EVENTS);
            // No timeout per event: its timer would wake the task and
            // hide a lost wake-up.
            while seqs.len() < EVENTS {
                let event = sub.next().await.expect("the topic stays open");
                seqs.push(id(&event).seq());
            }
            seqs
        }));
    }
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            for i in 0..EVENTS {
                hub.publish_blocking("relay", i.to_string()).unwrap();
                // Let the subscribers go idle, so that most publishes find
                // them waiting.
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    publisher.join().unwrap();
    let want: Vec<u64> = (1..=EVENTS as u64).collect();
    for task in tasks {
        let seqs = timeout(STEP, task).await.expect("every subscriber woken");
        assert_eq!(seqs.unwrap(), want);
    }
}

/// A woken subscription that its owner never polls again (held in a
/// `select!` whose other branch won) delays the others of its thread by
/// one publish at most; one that is dropped delays them not at all.
#[tokio::test]
async fn a_leader_that_does_not_run_does_not_stall_the_others() {
    let hub = Hub::new();
    let got = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let mut sub = live(&hub, &["lead"]).await;
        let got = got.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..2 {
                let event = next(&mut sub).await;
                got.lock().unwrap().push(data(&event).to_owned());
            }
        }));
    }
    // Both tasks run until they wait for the topic.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // The last to register leads; it is never polled again.
    let mut stuck = live(&hub, &["lead"]).await;
    assert!(ready(&mut stuck).is_none());
    hub.publish("lead", "1").await.unwrap();
    hub.publish("lead", "2").await.unwrap();
    for task in tasks {
        timeout(STEP, task).await.expect("woken").unwrap();
    }
    let mut got = got.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, ["1", "1", "2", "2"]);

    // A leader dropped before it runs passes the relay on.
    let mut subs: Vec<Subscription> = Vec::new();
    for _ in 0..3 {
        let mut sub = live(&hub, &["drop"]).await;
        assert!(ready(&mut sub).is_none());
        subs.push(sub);
    }
    let woken: Vec<_> = subs
        .iter_mut()
        .map(|sub| {
            let (waker, count) = futures_test_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(sub.poll_next_unpin(&mut cx).is_pending());
            count
        })
        .collect();
    hub.publish("drop", "x").await.unwrap();
    let woken_now: Vec<usize> = woken.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(woken_now, [0, 0, 1], "one leader woken by the publish");
    drop(subs.pop());
    let woken_now: Vec<usize> = woken.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(woken_now[..2], [1, 1], "the dropped leader woke the rest");
    for sub in &mut subs {
        assert_eq!(data(&next(sub).await), "x");
    }
}

/// A subscription that left while waiting keeps its place in the waiting
/// list, empty: it must not be chosen to wake the others.
#[tokio::test]
async fn a_subscriber_that_left_does_not_lead() {
    let hub = Hub::new();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let mut sub = live(&hub, &["left"]).await;
        tasks.push(tokio::spawn(async move {
            // No timeout here: its timer would wake the task and hide a
            // lost wake-up.
            sub.next().await.map(|event| data(&event).to_owned())
        }));
    }
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    // Registered last, so it would lead; it leaves before the publish.
    let mut gone = live(&hub, &["left"]).await;
    assert!(ready(&mut gone).is_none());
    drop(gone);
    hub.publish("left", "x").await.unwrap();
    for task in tasks {
        let got = timeout(STEP, task).await.expect("woken").unwrap();
        assert_eq!(got.as_deref(), Some("x"));
    }
}

/// A subscription that found nothing registers, and its polls end without
/// a lock while nothing changed; a publish between a delivery and the
/// next poll is never missed.
#[tokio::test]
async fn the_poll_after_a_delivery_sees_what_came_in_between() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["between"]).await;
    let (waker, woken) = futures_test_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(sub.poll_next_unpin(&mut cx).is_pending());

    // The data of the event a poll returns, if it returns one.
    let polled =
        |sub: &mut Subscription, cx: &mut std::task::Context<'_>| match sub.poll_next_unpin(cx) {
            std::task::Poll::Ready(Some(event)) => Some(data(&event).to_owned()),
            _ => None,
        };
    hub.publish("between", "1").await.unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    assert_eq!(polled(&mut sub, &mut cx).as_deref(), Some("1"));
    // Not registered while it hands out events: this publish wakes nobody,
    // and the next poll reads it.
    hub.publish("between", "2").await.unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 1);
    assert_eq!(polled(&mut sub, &mut cx).as_deref(), Some("2"));
    // Registered now; polls without a change end at once...
    assert!(sub.poll_next_unpin(&mut cx).is_pending());
    assert!(sub.poll_next_unpin(&mut cx).is_pending());
    // ...and a change between two polls is read, not trusted away.
    hub.publish("between", "2b").await.unwrap();
    assert_eq!(woken.load(Ordering::SeqCst), 2);
    assert_eq!(polled(&mut sub, &mut cx).as_deref(), Some("2b"));
    assert!(sub.poll_next_unpin(&mut cx).is_pending());

    // Another waker (the subscription moved to another task) registers.
    let (other, other_woken) = futures_test_waker();
    let mut other_cx = std::task::Context::from_waker(&other);
    assert!(sub.poll_next_unpin(&mut other_cx).is_pending());
    hub.publish("between", "3").await.unwrap();
    assert_eq!(other_woken.load(Ordering::SeqCst), 1);
    assert_eq!(polled(&mut sub, &mut other_cx).as_deref(), Some("3"));

    // Closing is a change too.
    assert!(sub.poll_next_unpin(&mut other_cx).is_pending());
    hub.close("between");
    assert!(matches!(
        sub.poll_next_unpin(&mut other_cx),
        std::task::Poll::Ready(None)
    ));
}

/// A waker counting its wakes.
fn futures_test_waker() -> (std::task::Waker, Arc<std::sync::atomic::AtomicUsize>) {
    struct Count(Arc<std::sync::atomic::AtomicUsize>);
    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    (
        std::task::Waker::from(Arc::new(Count(count.clone()))),
        count,
    )
}

#[tokio::test]
async fn topics_are_freed_when_nobody_listens_and_nothing_is_kept() {
    let hub = Hub::new();
    let subs: Vec<Subscription> = (0..100)
        .map(|i| {
            hub.subscribe([format!("t{i}"), "common".into()])
                .start()
                .unwrap()
        })
        .collect();
    assert_eq!(hub.topic_count(), 101);
    hub.publish("common", "x").await.unwrap();
    drop(subs);
    assert_eq!(hub.topic_count(), 0);
    hub.publish("nobody", "x").await.unwrap();
    assert_eq!(
        hub.topic_count(),
        0,
        "a publish without listeners or history creates nothing"
    );

    let kept = Hub::builder().history(1).build();
    kept.publish("h", "x").await.unwrap();
    assert_eq!(kept.topic_count(), 1);
}

#[tokio::test]
async fn a_freed_topic_remembers_that_events_were_missed() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["t"]).await;
    let seen = hub.publish("t", "1").await.unwrap();
    assert_eq!(id(&next(&mut sub).await), seen);
    drop(sub);
    assert_eq!(hub.topic_count(), 0);
    // Nobody listens and there is no history: this one goes nowhere...
    hub.publish("t", "2").await.unwrap();
    // ...and a client resuming after `seen` is told so.
    let mut sub = hub.subscribe(["t"]).after(last(seen)).start().unwrap();
    assert_eq!(missed(&next(&mut sub).await)["reason"], "too-old");
    // Whereas nothing published meanwhile means nothing missed.
    let seen = hub.last_id();
    drop(sub);
    let mut sub = hub.subscribe(["t"]).after(last(seen)).start().unwrap();
    assert!(ready(&mut sub).is_none());
}

#[tokio::test]
async fn closing_delivers_the_rest_then_ends_and_refuses_newcomers() {
    let hub = Hub::builder().history(10).build();
    let mut sub = live(&hub, &["task"]).await;
    let first = hub.publish("task", "50%").await.unwrap();
    let done = hub.publish("task", "done").await.unwrap();
    assert!(hub.close("task"));
    assert!(!hub.close("task"));
    assert_eq!(id(&next(&mut sub).await), first);
    assert_eq!(id(&next(&mut sub).await), done);
    assert!(ends(&mut sub).await);
    drop(sub);
    assert_eq!(hub.subscribers("task"), 0);

    assert!(matches!(
        hub.publish("task", "late").await,
        Err(PublishError::Closed { topic }) if topic == "task"
    ));
    assert!(matches!(
        hub.subscribe(["task"]).start(),
        Err(HubError::Closed { topic }) if topic == "task"
    ));
    assert!(matches!(
        hub.subscribe(["task"]).after(last(done)).start(),
        Err(HubError::Closed { .. })
    ));
    // A client that missed the end gets it, then the stream ends.
    let mut late = hub.subscribe(["task"]).after(last(first)).start().unwrap();
    assert_eq!(id(&next(&mut late).await), done);
    assert!(ends(&mut late).await);
    // Closing a topic nobody knew is remembered too.
    assert!(hub.close("never-used"));
    assert!(hub.subscribe(["never-used"]).start().is_err());
}

#[tokio::test]
async fn a_subscription_to_several_topics_ends_when_all_are_closed() {
    let hub = Hub::new();
    let mut sub = live(&hub, &["a", "b"]).await;
    hub.close("a");
    hub.publish("b", "still here").await.unwrap();
    assert_eq!(data(&next(&mut sub).await), "still here");
    assert_eq!(sub.topics().collect::<Vec<_>>(), ["b"]);
    let mut other = live(&hub, &["a", "b"]).await;
    assert_eq!(other.topics().collect::<Vec<_>>(), ["b"]);
    hub.close("b");
    assert!(ends(&mut sub).await);
    assert!(ends(&mut other).await);
}

#[tokio::test(start_paused = true)]
async fn closed_topics_are_remembered_for_a_bounded_time_and_number() {
    let hub = Hub::builder()
        .remember_closed(2, Duration::from_secs(60))
        .build();
    for t in ["a", "b", "c"] {
        hub.close(t);
    }
    assert!(
        hub.subscribe(["a"]).start().is_ok(),
        "only two are remembered"
    );
    assert!(hub.subscribe(["b"]).start().is_err());
    tokio::time::advance(Duration::from_secs(61)).await;
    assert!(
        hub.subscribe(["b"]).start().is_ok(),
        "forgotten after a minute"
    );
}

#[tokio::test]
async fn presence_counts_and_announcements() {
    let hub = Hub::builder().history(100).build();
    let mut watcher = live(&hub, &["room"]).await;
    assert_eq!(hub.subscribers("room"), 1);
    let ann = hub.subscribe(["room"]).announce("ann").start().unwrap();
    let bob = hub
        .subscribe(["room"])
        .announce(serde_json::json!({"user": "bob"}))
        .start()
        .unwrap();
    assert_eq!(hub.subscribers("room"), 3);
    let joined = next(&mut watcher).await;
    assert_eq!(field(&joined, "event"), Some("user-joined"));
    assert_eq!(data(&joined), "ann");
    let joined = next(&mut watcher).await;
    assert_eq!(data(&joined), r#"{"user":"bob"}"#);
    drop(ann);
    let left = next(&mut watcher).await;
    assert_eq!(field(&left, "event"), Some("user-left"));
    assert_eq!(data(&left), "ann");
    assert_eq!(hub.subscribers("room"), 2);
    drop(bob);
    assert_eq!(data(&next(&mut watcher).await), r#"{"user":"bob"}"#);
    assert_eq!(hub.subscribers("room"), 1);

    // Announcements are events like others: resumable.
    let mut replay = hub
        .subscribe(["room"])
        .after(last(id(&joined)))
        .start()
        .unwrap();
    let kinds: Vec<String> = std::iter::from_fn(|| ready(&mut replay).flatten())
        .map(|e| field(&e, "event").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, ["user-left", "user-left"]);
}

#[tokio::test]
async fn bad_input_is_an_error_not_a_panic() {
    let hub = Hub::new();
    assert!(matches!(
        hub.subscribe(Vec::<String>::new()).start(),
        Err(HubError::NoTopics)
    ));
    let mut map = std::collections::HashMap::new();
    map.insert(vec![1u8], 1);
    assert!(matches!(
        hub.subscribe(["t"]).announce(&map).start(),
        Err(HubError::Event(_))
    ));
    assert!(matches!(
        hub.publish("t", &map).await,
        Err(PublishError::Event(_))
    ));
    assert_eq!(hub.last_id().seq(), 0, "failed publishes use no id");
    assert_eq!(hub.topic_count(), 0);
}

// ---------------------------------------------------------------------------
// Bounds (the million-topic run is in `hub_bounds.rs`, a binary of its own)
// ---------------------------------------------------------------------------

/// A subscriber's first event after resuming: `Some(reason)` for an
/// `sse-missed`, `None` for the position marker alone (or nothing, when
/// the id is the hub's last).
fn resumed(hub: &Hub, topic: &str, after: EventId) -> Option<String> {
    let mut sub = hub.subscribe([topic]).after(last(after)).start().unwrap();
    let first = ready(&mut sub)?.expect("the stream goes on");
    if field(&first, "event").is_some() {
        return Some(missed(&first)["reason"].as_str().unwrap().to_owned());
    }
    assert_eq!(data(&first), "", "a position marker: {:?}", text(&first));
    assert!(ready(&mut sub).is_none(), "nothing else");
    None
}

#[tokio::test]
async fn the_longest_idle_topic_makes_room_and_resumes_learn_what_they_missed() {
    let hub = Hub::builder().history(10).max_topics(3).build();
    let a1 = hub.publish("a", "1").await.unwrap();
    let b1 = hub.publish("b", "1").await.unwrap();
    let b2 = hub.publish("b", "2").await.unwrap();
    hub.publish("c", "1").await.unwrap();
    // `a` is published to again: `b` is now the longest idle.
    let a2 = hub.publish("a", "2").await.unwrap();
    hub.publish("d", "1").await.unwrap();
    let totals = hub.totals();
    assert_eq!((totals.topics, totals.evicted, totals.refused), (3, 1, 0));
    assert!(hub.stats("b").is_none(), "b made room for d");
    assert_eq!(hub.stats("a").unwrap().events, 2);
    // Whoever comes back to `b` learns exactly whether it missed anything.
    assert_eq!(resumed(&hub, "b", b1).as_deref(), Some("too-old"));
    assert_eq!(resumed(&hub, "b", b2), None);
    // Whereas a held topic replays.
    let mut sub = hub.subscribe(["a"]).after(last(a1)).start().unwrap();
    assert_eq!(id(&next(&mut sub).await), a2);
}

#[tokio::test]
async fn topics_with_subscribers_are_never_freed_and_new_ones_are_refused() {
    let hub = Hub::builder().history(10).max_topics(2).build();
    let mut a = live(&hub, &["a"]).await;
    let mut b = live(&hub, &["b"]).await;
    assert!(matches!(
        hub.subscribe(["c"]).start(),
        Err(HubError::Full { topic }) if topic == "c"
    ));
    assert!(matches!(
        hub.publish("c", "x").await,
        Err(PublishError::Full { topic }) if topic == "c"
    ));
    let before = hub.last_id();
    // A refused subscription to several topics gives back what it took.
    assert!(matches!(
        hub.subscribe(["a", "z"]).start(),
        Err(HubError::Full { .. })
    ));
    assert_eq!(hub.subscribers("a"), 1);
    assert_eq!(hub.last_id(), before, "refusals use no id");
    let totals = hub.totals();
    assert_eq!((totals.topics, totals.evicted, totals.refused), (2, 0, 3));
    // The held topics go on as before.
    let id = hub.publish("a", "still").await.unwrap();
    assert_eq!(self::id(&next(&mut a).await), id);
    // A topic that keeps no history needs no room to be published to.
    let ticker = Hub::builder()
        .max_topics(1)
        .topics("keep/", TopicOptions::new().history(5))
        .build();
    let _held = ticker.subscribe(["held"]).start().unwrap();
    ticker.publish("nobody-listens", "x").await.unwrap();
    assert!(ticker.publish("keep/x", "x").await.is_err());
    // Once `b`'s subscriber leaves, `b` (with history) can make room.
    hub.publish("b", "kept").await.unwrap();
    assert_eq!(data(&next(&mut b).await), "kept");
    drop(b);
    let _c = hub.subscribe(["c"]).start().unwrap();
    assert!(hub.stats("b").is_none());
    // Closing is the server's decision: it is never refused (closed topics
    // have a bound of their own).
    assert!(hub.close("new-and-closed"));
    assert!(matches!(
        hub.subscribe(["new-and-closed"]).start(),
        Err(HubError::Closed { .. })
    ));
    assert_eq!(hub.topic_count(), 3);
}

#[tokio::test]
async fn the_byte_bound_frees_idle_topics_and_spares_subscribed_ones() {
    let hub = Hub::builder().history(100).max_total_bytes(2_000).build();
    let payload = "x".repeat(100);
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(
            hub.publish(format!("t{i}"), payload.as_str())
                .await
                .unwrap(),
        );
        assert!(hub.totals().bytes <= 2_000, "after {i}");
    }
    let totals = hub.totals();
    assert!(totals.evicted >= 30, "{totals:?}");
    assert_eq!(totals.topics as u64 + totals.evicted, 50);
    assert_eq!(resumed(&hub, "t0", ids[0]), None, "its one event was seen");

    // A subscribed topic keeps what its own limits allow, past the bound:
    let mut reader = live(&hub, &["busy"]).await;
    for _ in 0..40 {
        hub.publish("busy", payload.as_str()).await.unwrap();
    }
    for _ in 0..40 {
        assert_eq!(data(&next(&mut reader).await), payload);
    }
    assert_eq!(hub.stats("busy").unwrap().events, 40);
    assert!(hub.totals().bytes > 2_000);
    assert_eq!(hub.totals().topics, 1, "every idle topic was freed");
    // new topics are not refused (that would not shrink `busy`), but
    // idle ones keep nothing until the hub is back within the bound.
    let _new = hub.subscribe(["new"]).start().unwrap();
    let gone = hub.publish("idle", payload.as_str()).await.unwrap();
    assert!(hub.stats("idle").is_none());
    let id = hub.publish("idle", payload.as_str()).await.unwrap();
    assert_eq!(resumed(&hub, "idle", gone).as_deref(), Some("too-old"));
    assert_eq!(resumed(&hub, "idle", id), None);
    // Once `busy` is idle too, it is the longest idle: it makes room.
    drop(reader);
    hub.publish("idle", payload.as_str()).await.unwrap();
    assert!(hub.stats("busy").is_none());
    assert_eq!(hub.stats("idle").unwrap().events, 1);
    assert_eq!(hub.totals().refused, 0);
}

#[tokio::test(start_paused = true)]
async fn history_ages_out_by_default_unless_opted_out() {
    let hub = Hub::builder()
        .history(100)
        .topics("task/", TopicOptions::new().no_history_age())
        .build();
    let room = hub.publish("room", "joined").await.unwrap();
    hub.publish("task/1", "50%").await.unwrap();
    tokio::time::advance(sse_runtime::hub::DEFAULT_HISTORY_AGE - Duration::from_secs(2)).await;
    hub.publish("elsewhere", "x").await.unwrap();
    assert_eq!(hub.stats("room").unwrap().events, 1);
    tokio::time::advance(Duration::from_secs(3)).await;
    hub.publish("elsewhere", "x").await.unwrap();
    assert!(hub.stats("room").is_none(), "aged out, then freed");
    assert_eq!(hub.stats("task/1").unwrap().events, 1, "kept");
    // The room's reader comes back after its event: nothing was missed,
    // only the position marker comes.
    let mut sub = hub.subscribe(["room"]).after(last(room)).start().unwrap();
    assert_eq!(field(&next(&mut sub).await, "event"), None);
    assert!(ready(&mut sub).is_none());
}
