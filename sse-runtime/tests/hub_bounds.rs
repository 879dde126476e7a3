//! A million unique topic names visited by one client leave the hub within
//! its default bounds: in its own test binary, so that the process's
//! memory is this test's alone.
//!
//! Each visit is what the demo's `GET /chat/{room}?user=..` does, then the
//! client leaving at once: a subscription that announces its user (a
//! `user-joined` and a `user-left` in the room's history) and is dropped.
//! The HTTP side of the same run, smaller, is in `tests/tests/hub_http.rs`.

use std::time::Instant;

use futures_util::{FutureExt, StreamExt};
use sse_runtime::hub::{Hub, DEFAULT_MAX_TOPICS, DEFAULT_MAX_TOTAL_BYTES};
use sse_runtime::{EncodedEvent, EventId, LastEventId};
use sse_test_support::rss_kib;

const ROOMS: usize = 1_000_000;

fn text(event: &EncodedEvent) -> &str {
    std::str::from_utf8(event.as_ref()).unwrap()
}

/// What a client resuming on `topic` after `after` is sent first.
fn first_after(hub: &Hub, topic: &str, after: EventId) -> String {
    let mut sub = hub
        .subscribe([topic])
        .after(LastEventId::new(after.to_string()))
        .start()
        .unwrap();
    let first = sub
        .next()
        .now_or_never()
        .flatten()
        .expect("an event at once");
    let more = sub.next().now_or_never().flatten();
    assert!(more.is_none(), "{:?}", more.as_ref().map(text));
    text(&first).to_owned()
}

#[test]
fn a_million_visited_rooms_stay_within_the_default_bounds() {
    // The demo's rooms: the last 100 events each, every other setting the
    // default (5-minute age: nothing ages out during this run; the bounds
    // alone hold the hub).
    let hub = Hub::builder().history(100).build();
    let started = Instant::now();
    let rss_start = rss_kib();
    let mut rss_full = 0;
    let mut first = None;
    let mut remembered = None;
    for i in 0..ROOMS {
        let room = format!("chat/r{i}x");
        let sub = hub
            .subscribe([room.as_str()])
            .announce(format!("u{i}"))
            .start()
            .unwrap();
        let joined = hub.last_id();
        drop(sub);
        if i == 0 {
            first = Some((room.clone(), joined));
        }
        // Freed early, but among the freed topics the hub still remembers.
        if i == ROOMS - 100_000 {
            remembered = Some((room, joined, hub.last_id()));
        }
        if i + 1 == DEFAULT_MAX_TOPICS {
            rss_full = rss_kib();
        }
        if i % 10_000 == 0 {
            let totals = hub.totals();
            assert!(totals.topics <= DEFAULT_MAX_TOPICS, "{i}: {totals:?}");
            assert!(totals.bytes <= DEFAULT_MAX_TOTAL_BYTES, "{i}: {totals:?}");
        }
    }
    let rss_end = rss_kib();
    let totals = hub.totals();
    println!(
        "{ROOMS} rooms in {:.1?}: {totals:?}; RSS {rss_start} KiB at the start, \
         {rss_full} KiB once {DEFAULT_MAX_TOPICS} topics were held, {rss_end} KiB at the end \
         ({:.0} bytes per held topic)",
        started.elapsed(),
        (rss_full.saturating_sub(rss_start) * 1024) as f64 / DEFAULT_MAX_TOPICS as f64,
    );
    assert_eq!(totals.topics, DEFAULT_MAX_TOPICS);
    assert!(totals.bytes <= DEFAULT_MAX_TOTAL_BYTES);
    assert_eq!(totals.evicted, (ROOMS - DEFAULT_MAX_TOPICS) as u64);
    assert_eq!(totals.refused, 0, "idle topics always make room");
    assert!(totals.remembered <= 65_536);
    // Nothing grows with the number of names seen: unbounded, the 934 464
    // rooms past the bound would have added some 850 MiB. What does grow
    // past it is bounded by the topic count and happens once: the freed
    // topics' tombstones fill up (65 536 of them, ~2 MiB), and the hash
    // tables of topics and tombstones double once under the churn of
    // removals and inserts (~5 MiB).
    assert!(
        rss_end < rss_full + 16 * 1024,
        "RSS grew from {rss_full} KiB to {rss_end} KiB past the bounds"
    );

    // Resume stays right about evicted rooms: a client that saw only its
    // own `user-joined` missed the `user-left`...
    let (room, joined) = first.unwrap();
    let notice = first_after(&hub, &room, joined);
    assert!(notice.contains("event: sse-missed"), "{notice}");
    assert!(notice.contains(r#""reason":"too-old""#), "{notice}");
    let (room, joined, left) = remembered.unwrap();
    let notice = first_after(&hub, &room, joined);
    assert!(notice.contains("event: sse-missed"), "{notice}");
    // ...and one that saw everything of a remembered room missed nothing.
    let marker = first_after(&hub, &room, left);
    assert!(!marker.contains("sse-missed"), "{marker}");
    assert!(marker.starts_with("id: "), "{marker}");
}
