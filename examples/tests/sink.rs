//! Over real HTTP: the `aim_server_sse` samples in the sink style (`/aim/sink/..`)
//! send exactly what their stream-style twins send and stop their timers
//! and subscriptions when the client leaves; the `/secure` routes refuse
//! without the token (401, nothing streamed) and stream with it.
//!
//! One second of the examples lasts 10 ms; every wait is bounded.

mod demo;

use demo::{Demo, FAST};
use std::net::SocketAddr;

use sse_examples::secure::DEMO_TOKEN;
use sse_examples::services::Stats;
use sse_examples::Config;
use sse_test_support::{lossy, wait_until, RawRequest, RawResponse, STEP};

fn start() -> Demo {
    demo::start(Config {
        pace: FAST,
        upstream_fails_after: None,
        background: false,
    })
}

impl Demo {
    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    async fn get(&self, path: &str) -> RawResponse {
        RawRequest::get(path)
            .send(self.addr())
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"))
    }

    async fn open(&self, path: &str) -> RawResponse {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(
            response.header("content-type"),
            Some("text/event-stream"),
            "GET {path}"
        );
        response
    }

    async fn body(&self, path: &str) -> String {
        let mut response = self.open(path).await;
        lossy(&response.body_to_end(STEP).await.expect("the whole body"))
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&Stats) -> bool) {
        assert!(
            wait_until(STEP, || done(&self.examples.stats())).await,
            "timed out waiting for {what}: {:?}",
            self.examples.stats()
        );
    }
}

async fn read_until(response: &mut RawResponse, needle: &str) -> String {
    let bytes = response
        .read_until(needle.as_bytes(), STEP)
        .await
        .unwrap_or_else(|err| panic!("waiting for {needle:?}: {err}"));
    lossy(&bytes)
}

#[actix_web::test]
async fn quick_start_sends_what_the_stream_style_sends() {
    let demo = start();
    let mut expected: String = (0..10).map(|i| format!("data: Event {i}\n\n")).collect();
    expected.push_str("id: sse-end\n\n");
    assert_eq!(demo.body("/aim/sink/quick-start").await, expected);
    assert_eq!(demo.body("/aim/quick-start").await, expected);
    demo.server.stop().await;
}

#[actix_web::test]
async fn counter_timer_is_cancelled_when_the_client_leaves() {
    let demo = start();
    let mut counter = demo.open("/aim/sink/counter").await;
    let received = read_until(&mut counter, "data: {\"count\":3}\n\n").await;
    assert_eq!(
        received,
        "data: {\"count\":1}\n\ndata: {\"count\":2}\n\ndata: {\"count\":3}\n\n"
    );
    assert_eq!(demo.examples.stats().counters_running, 1);
    drop(counter);
    demo.wait_for("the counter's timer to stop", |s| s.counters_running == 0)
        .await;
    demo.server.stop().await;
}

#[actix_web::test]
async fn feed_forwards_updates_sends_its_keep_alive_and_unsubscribes() {
    let demo = start();
    let mut feed = demo.open("/aim/sink/feed").await;
    demo.wait_for("a feed subscriber", |s| s.feed_subscribers == 1)
        .await;
    let service = &demo.examples.services().feed;
    let start = demo.examples.services().hub.last_id();
    let (_, post) = service.publish("post", "ada", "hello").await.unwrap();
    let (_, like) = service
        .publish("like", "grace", "liked a post by ada")
        .await
        .unwrap();
    // What the stream-style `/aim/feed` sends: the hub's events, as is.
    let expected = format!(
        "id: {start}\n\n\
         event: post\ndata: {{\"id\":\"1\",\"type\":\"post\",\"author\":\"ada\",\"text\":\"hello\"}}\nid: {post}\n\n\
         event: like\ndata: {{\"id\":\"2\",\"type\":\"like\",\"author\":\"grace\",\"text\":\"liked a post by ada\"}}\nid: {like}\n\n"
    );
    // Thirty paced seconds later, the sample's own keep-alive timer.
    assert_eq!(
        read_until(&mut feed, ": keep-alive\n\n").await,
        expected + ": keep-alive\n\n"
    );
    drop(feed);
    demo.wait_for("the feed subscription to end", |s| s.feed_subscribers == 0)
        .await;
    demo.server.stop().await;
}

#[actix_web::test]
async fn secure_routes_refuse_without_the_token_and_stream_with_it() {
    let demo = start();
    for route in ["/secure/feed", "/secure/sink-feed"] {
        for query in ["", "?token=wrong", "?token="] {
            let path = format!("{route}{query}");
            let mut refused = demo.get(&path).await;
            assert_eq!(refused.status(), 401, "GET {path}");
            assert_ne!(refused.header("content-type"), Some("text/event-stream"));
            let body = refused.body_to_end(STEP).await.expect("the refusal");
            assert_eq!(
                lossy(&body),
                "a valid `token` query parameter is required",
                "GET {path}"
            );
        }

        let mut events = demo
            .open(&format!("{route}?token={DEMO_TOKEN}"))
            .await
            .into_events();
        let received = events.take(2).await.expect("two events");
        assert_eq!(received[0].event, "welcome");
        assert_eq!(received[0].data, "authenticated");
        assert_eq!(received[1].event, "tick");
        assert!(received[1].data.ends_with('Z'), "{:?}", received[1].data);
    }
    demo.server.stop().await;
}
