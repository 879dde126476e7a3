//! The examples in-process, through `sse_runtime::test`: no socket, the
//! response body is read (and dropped, to disconnect) directly.

use std::time::Duration;

use actix_web::{test, App};
use sse_examples::services::Stats;
use sse_examples::{Config, Examples, Pace};
use sse_runtime::test::{all_events, call, events};
use sse_test_support::{wait_until, STEP};

const FAST: Pace = Pace::new(Duration::from_millis(10));
const WAIT: Duration = STEP;

fn examples() -> Examples {
    Examples::new(Config {
        pace: FAST,
        upstream_fails_after: Some(3),
        background: false,
    })
}

fn get(path: &str) -> test::TestRequest {
    test::TestRequest::get().uri(path)
}

async fn wait_for(examples: &Examples, what: &str, done: impl Fn(&Stats) -> bool) {
    assert!(
        wait_until(WAIT, || done(&examples.stats())).await,
        "timed out waiting for {what}: {:?}",
        examples.stats()
    );
}

#[actix_web::test]
async fn updates_in_process() {
    let examples = examples();
    let app = test::init_service(App::new().configure(|cfg| examples.configure(cfg))).await;
    let got = all_events(&app, get("/events/updates").to_request(), WAIT)
        .await
        .unwrap();
    let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["Hello, world!", "This is a real-time update"]);
    assert!(got.iter().all(|e| e.event == "message" && e.id.is_empty()));
}

#[actix_web::test]
async fn named_events_and_progress_in_process() {
    let examples = examples();
    let app = test::init_service(App::new().configure(|cfg| examples.configure(cfg))).await;

    let named = all_events(&app, get("/aim/named").to_request(), WAIT)
        .await
        .unwrap();
    let types: Vec<_> = named.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(types, ["notification", "update"]);

    let progress = all_events(&app, get("/aim/progress").to_request(), WAIT)
        .await
        .unwrap();
    assert_eq!(progress.len(), 12);
    #[derive(serde::Deserialize)]
    struct Progress {
        percentage: u32,
        message: String,
    }
    for (i, event) in progress[..11].iter().enumerate() {
        let p: Progress = event.json().unwrap();
        assert_eq!(event.event, "progress");
        assert_eq!(p.percentage, 10 * i as u32);
        assert_eq!(p.message, format!("Processing... {}%", 10 * i));
    }
    assert_eq!(progress[11].event, "complete");
    assert_eq!(progress[11].data, r#"{"message":"Done!"}"#);
}

#[actix_web::test]
async fn ids_in_process() {
    let examples = examples();
    let app = test::init_service(App::new().configure(|cfg| examples.configure(cfg))).await;
    let mut res = call(&app, get("/aim/ids").to_request())
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    let first = res.take(3).await.unwrap();
    assert_eq!(first[0].id, "1");
    assert_eq!(first[2].data, "Event 3");
    assert_eq!(res.last_event_id(), "3");
    assert!(!res.is_ended());
    res.disconnect();
}

#[actix_web::test]
async fn cleanup_runs_when_the_body_is_dropped() {
    let examples = examples();
    let app = test::init_service(App::new().configure(|cfg| examples.configure(cfg))).await;

    let counts = events(&app, get("/aim/counter").to_request(), 2, WAIT)
        .await
        .unwrap();
    assert_eq!(counts[1].data, r#"{"count":2}"#);
    // `events` dropped the body: the counter's timer stops.
    wait_for(&examples, "the counter to stop", |s| {
        s.counters_running == 0
    })
    .await;

    let mut res = call(&app, get("/events/events").to_request())
        .await
        .unwrap();
    assert_eq!(res.next_event().await.unwrap().unwrap().data, "Event 1");
    assert_eq!(examples.stats().resources_in_use, 1);
    res.disconnect();
    wait_for(&examples, "the resource to be disposed", Stats::is_idle).await;
    assert_eq!(examples.stats().resources_disposed, 1);
}

#[actix_web::test]
async fn chat_in_process() {
    let examples = examples();
    let app = test::init_service(App::new().configure(|cfg| examples.configure(cfg))).await;
    let mut alice = call(&app, get("/aim/notifications/alice").to_request())
        .await
        .unwrap();
    assert_eq!(examples.stats().notification_subscribers, 1);

    let post = test::TestRequest::post()
        .uri("/aim/notifications/alice")
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"from":"bob","message":"Hi Alice!"}"#)
        .to_request();
    let response = test::call_service(&app, post).await;
    assert_eq!(response.status(), 202);
    assert_eq!(test::read_body(response).await, r#"{"delivered":1}"#);

    let event = alice.next_event().await.unwrap().unwrap();
    assert_eq!(event.event, "notification");
    let notification: serde_json::Value = event.json().unwrap();
    assert_eq!(notification["message"], "Hi Alice!");
    alice.disconnect();
    wait_for(&examples, "alice to unsubscribe", Stats::is_idle).await;
}
