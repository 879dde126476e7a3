//! The wire format of `#[sse]` routes: response headers and the exact bytes
//! of every kind of item (text, JSON, `Event`, `EncodedEvent`, `Result`,
//! unserialisable values) and of the `retry` option, checked over a real
//! loopback server with reqwest and in-process with `actix_web::test` and
//! `sse_runtime::test`.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use actix_web::{test, App};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use sse_runtime::{controller, sse, EncodedEvent, Event, EventError, Shown};

use sse_test_support::fetch::{body, get};
use sse_test_support::{call_service, lossy, read_body, serve, Counter, STEP};

struct Wire {
    greeting: String,
    /// Counts the items of `/wire/result` that were produced.
    produced: Counter,
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
    progress: u8,
}

#[derive(Serialize)]
struct Message {
    text: &'static str,
}

/// A plain `Display` error for `Result` items.
#[derive(Debug)]
struct Broken(&'static str);

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

fn status() -> Status {
    Status {
        status: "Running",
        progress: 42,
    }
}

#[controller("wire")]
impl Wire {
    #[sse("hello")]
    fn hello(&self) -> impl Stream<Item = &str> {
        stream::iter([self.greeting.as_str()])
    }

    #[sse("two")]
    fn two() -> impl Stream<Item = &'static str> {
        stream::iter(["Hello, world!", "This is a real-time update"])
    }

    #[sse("lines")]
    fn lines() -> impl Stream<Item = String> {
        stream::iter([
            "lf\nsplit".to_owned(),
            "cr\rsplit".to_owned(),
            "crlf\r\nsplit".to_owned(),
            "a\nb\rc\r\nd".to_owned(),
            "trailing\n".to_owned(),
        ])
    }

    #[sse("json")]
    fn json() -> impl Stream<Item = Status> {
        stream::iter([status()])
    }

    #[sse("json_values")]
    fn json_values() -> impl Stream<Item = serde_json::Value> {
        stream::iter([
            serde_json::json!({"nested": {"list": [1, 2, 3]}}),
            serde_json::json!(7),
            serde_json::json!([true, null, 1.5]),
            serde_json::json!({"text": "line one\nline two"}),
        ])
    }

    #[sse("json_text")]
    fn json_text() -> impl Stream<Item = Message> {
        stream::iter([Message {
            text: "line one\r\nline two",
        }])
    }

    #[sse("numbers")]
    fn numbers() -> impl Stream<Item = u64> {
        stream::iter([0, 1, 18_446_744_073_709_551_615])
    }

    #[sse("events")]
    fn events() -> impl Stream<Item = Event> {
        stream::iter([
            Event::default().data("plain"),
            Event::default()
                .event("update")
                .unwrap()
                .id("42")
                .unwrap()
                .data("two\nlines"),
            Event::default().retry(Duration::from_millis(1500)),
            Event::default().comment("just a comment"),
            Event::default()
                .event("status")
                .unwrap()
                .json(&status())
                .unwrap(),
            Event::default()
                .comment("c")
                .event("e")
                .unwrap()
                .id("7")
                .unwrap()
                .retry(Duration::from_secs(2))
                .data("d"),
        ])
    }

    #[sse("encoded")]
    fn encoded() -> impl Stream<Item = EncodedEvent> {
        let shared = Event::default()
            .event("tick")
            .unwrap()
            .data("shared")
            .encode();
        stream::iter([
            shared.clone(),
            shared,
            Event::default().id("9").unwrap().encode(),
        ])
    }

    #[sse("result")]
    fn result(&self) -> impl Stream<Item = Result<&'static str, Broken>> {
        let produced = self.produced.clone();
        stream::iter([
            Ok("one"),
            Ok("two"),
            Err(Broken("it broke")),
            Ok("never"),
            Err(Broken("never either")),
        ])
        .inspect(move |_| produced.bump())
    }

    /// A shown error's text is the client's: split like any text.
    #[sse("result_multiline")]
    fn result_multiline() -> impl Stream<Item = Result<String, Shown<Broken>>> {
        stream::iter([Err(Shown(Broken("first line\nsecond line\r\nthird")))])
    }

    #[sse("result_events")]
    fn result_events() -> impl Stream<Item = Result<Event, EventError>> {
        stream::iter(["fine", "bad\nname", "unreachable"])
            .map(|name| Event::default().event(name).map(|e| e.data("x")))
    }

    #[sse("unserialisable")]
    fn unserialisable() -> impl Stream<Item = HashMap<(u8, u8), u8>> {
        stream::iter([HashMap::new(), HashMap::from([((1, 2), 3)]), HashMap::new()])
    }

    #[sse("retry", retry = "3s")]
    fn retry() -> impl Stream<Item = &'static str> {
        stream::iter(["x"])
    }

    #[sse("retry_ms", retry = "1m30s", keep_alive = false)]
    fn retry_ms() -> impl Stream<Item = &'static str> {
        stream::iter(["y"])
    }
}

fn wire() -> Wire {
    Wire {
        greeting: "Hello, world!".to_owned(),
        produced: Counter::default(),
    }
}

/// A route's whole body over a real server.
async fn fetch(path: &str) -> String {
    let server = serve(|| App::new().service(wire()));
    let response = get(&server.url(path)).await;
    assert_eq!(response.status(), 200, "{path}");
    let text = lossy(&body(response).await);
    server.stop().await;
    text
}

#[actix_web::test]
async fn sse_response_headers_over_loopback() {
    let server = serve(|| App::new().service(wire()));
    let response = get(&server.url("/wire/hello")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let headers = response.headers().clone();
    let header = |name: &str| {
        let values: Vec<_> = headers.get_all(name).iter().collect();
        assert_eq!(values.len(), 1, "exactly one {name} header: {headers:?}");
        values[0].to_str().unwrap().to_owned()
    };
    assert_eq!(header("content-type"), "text/event-stream");
    assert_eq!(header("cache-control"), "no-cache");
    assert_eq!(header("x-accel-buffering"), "no");
    assert_eq!(header("content-encoding"), "identity");
    assert_eq!(header("transfer-encoding"), "chunked");
    assert!(headers.get("content-length").is_none(), "{headers:?}");
    assert_eq!(
        body(response).await,
        b"data: Hello, world!\n\nid: sse-end\n\n"
    );
    server.stop().await;
}

#[actix_web::test]
async fn sse_response_headers_in_process() {
    let app = test::init_service(App::new().service(wire())).await;
    let request = test::TestRequest::get().uri("/wire/hello").to_request();
    let response = call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers.get("content-type").unwrap(), "text/event-stream");
    assert_eq!(headers.get("cache-control").unwrap(), "no-cache");
    assert_eq!(headers.get("x-accel-buffering").unwrap(), "no");
    assert_eq!(headers.get("content-encoding").unwrap(), "identity");
    let bytes = read_body(response).await;
    assert_eq!(&bytes[..], b"data: Hello, world!\n\nid: sse-end\n\n");
}

#[actix_web::test]
async fn string_items_are_data_lines() {
    assert_eq!(
        fetch("/wire/hello").await,
        "data: Hello, world!\n\nid: sse-end\n\n"
    );
    assert_eq!(
        fetch("/wire/two").await,
        "data: Hello, world!\n\ndata: This is a real-time update\n\nid: sse-end\n\n"
    );
}

#[actix_web::test]
async fn multi_line_strings_split_on_cr_lf_and_crlf() {
    assert_eq!(
        fetch("/wire/lines").await,
        concat!(
            "data: lf\ndata: split\n\n",
            "data: cr\ndata: split\n\n",
            "data: crlf\ndata: split\n\n",
            "data: a\ndata: b\ndata: c\ndata: d\n\n",
            "data: trailing\ndata:\n\nid: sse-end\n\n",
        )
    );
}

#[actix_web::test]
async fn serialize_values_are_one_line_compact_json() {
    assert_eq!(
        fetch("/wire/json").await,
        "data: {\"status\":\"Running\",\"progress\":42}\n\nid: sse-end\n\n"
    );
    assert_eq!(
        fetch("/wire/json_values").await,
        concat!(
            "data: {\"nested\":{\"list\":[1,2,3]}}\n\n",
            "data: 7\n\n",
            "data: [true,null,1.5]\n\n",
            "data: {\"text\":\"line one\\nline two\"}\n\nid: sse-end\n\n",
        )
    );
    assert_eq!(
        fetch("/wire/json_text").await,
        "data: {\"text\":\"line one\\r\\nline two\"}\n\nid: sse-end\n\n"
    );
    assert_eq!(
        fetch("/wire/numbers").await,
        "data: 0\n\ndata: 1\n\ndata: 18446744073709551615\n\nid: sse-end\n\n"
    );
}

#[actix_web::test]
async fn event_items_byte_for_byte() {
    assert_eq!(
        fetch("/wire/events").await,
        concat!(
            "data: plain\n\n",
            "event: update\nid: 42\ndata: two\ndata: lines\n\n",
            "retry: 1500\n\n",
            ": just a comment\n\n",
            "event: status\ndata: {\"status\":\"Running\",\"progress\":42}\n\n",
            ": c\nevent: e\nid: 7\nretry: 2000\ndata: d\n\nid: sse-end\n\n",
        )
    );
}

#[actix_web::test]
async fn encoded_event_items_byte_for_byte() {
    assert_eq!(
        fetch("/wire/encoded").await,
        "event: tick\ndata: shared\n\nevent: tick\ndata: shared\n\nid: 9\n\nid: sse-end\n\n"
    );
}

#[actix_web::test]
async fn result_err_item_is_a_final_error_event() {
    let produced = Counter::default();
    let counter = produced.clone();
    let server = serve(move || {
        App::new().service(Wire {
            greeting: String::new(),
            produced: counter.clone(),
        })
    });
    let response = get(&server.url("/wire/result")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        lossy(&body(response).await),
        "data: one\n\ndata: two\n\nevent: error\ndata: internal error\n\n"
    );
    // The stream is not polled past the error.
    assert_eq!(produced.get(), 3, "items produced, counting the error");
    server.stop().await;

    // The same in-process.
    let controller = wire();
    let produced = controller.produced.clone();
    let app = test::init_service(App::new().service(controller)).await;
    let request = test::TestRequest::get().uri("/wire/result").to_request();
    let response = call_service(&app, request).await;
    let bytes = read_body(response).await;
    assert_eq!(
        lossy(&bytes),
        "data: one\n\ndata: two\n\nevent: error\ndata: internal error\n\n"
    );
    assert_eq!(produced.get(), 3, "items produced, counting the error");
}

#[actix_web::test]
async fn multi_line_error_display_is_split() {
    assert_eq!(
        fetch("/wire/result_multiline").await,
        "event: error\ndata: first line\ndata: second line\ndata: third\n\n"
    );
}

#[actix_web::test]
async fn result_of_event_items() {
    // The `EventError`'s text goes to the log, not to the client.
    assert_eq!(
        fetch("/wire/result_events").await,
        "event: fine\ndata: x\n\nevent: error\ndata: internal error\n\n"
    );
}

#[actix_web::test]
async fn unserialisable_item_is_an_error_event_and_ends_the_stream() {
    let text = fetch("/wire/unserialisable").await;
    let rest = text
        .strip_prefix("data: {}\n\nevent: error\ndata: ")
        .unwrap_or_else(|| panic!("unexpected body {text:?}"));
    // Exactly one more event, and nothing after it.
    let message = rest
        .strip_suffix("\n\n")
        .unwrap_or_else(|| panic!("error event not terminated: {text:?}"));
    assert!(!message.is_empty());
    assert!(
        !message.contains("\n\n"),
        "more than one event after the error: {text:?}"
    );
    assert!(
        !message.contains("data: {}"),
        "items after the error were sent: {text:?}"
    );
}

#[actix_web::test]
async fn retry_option_starts_the_stream() {
    assert_eq!(
        fetch("/wire/retry").await,
        "retry: 3000\n\ndata: x\n\nid: sse-end\n\n"
    );
    assert_eq!(
        fetch("/wire/retry_ms").await,
        "retry: 90000\n\ndata: y\n\nid: sse-end\n\n"
    );
    assert_eq!(
        fetch("/wire/hello").await,
        "data: Hello, world!\n\nid: sse-end\n\n",
        "no retry field without the option"
    );
}

#[actix_web::test]
async fn in_process_helper_parses_every_item_kind() {
    use sse_runtime::test::{all_events, call};

    let app = test::init_service(App::new().service(wire())).await;
    let get = |uri: &str| test::TestRequest::get().uri(uri).to_request();

    let events = all_events(&app, get("/wire/two"), STEP).await.unwrap();
    let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["Hello, world!", "This is a real-time update"]);
    assert!(events.iter().all(|e| e.event == "message"));

    let events = all_events(&app, get("/wire/lines"), STEP).await.unwrap();
    let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(
        data,
        [
            "lf\nsplit",
            "cr\nsplit",
            "crlf\nsplit",
            "a\nb\nc\nd",
            "trailing\n"
        ]
    );

    let events = all_events(&app, get("/wire/json"), STEP).await.unwrap();
    let value: serde_json::Value = events[0].json().unwrap();
    assert_eq!(
        value,
        serde_json::json!({"status": "Running", "progress": 42})
    );

    let events = all_events(&app, get("/wire/events"), STEP).await.unwrap();
    // The retry-only and comment-only events dispatch nothing.
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.event.as_str(), e.data.as_str(), e.id.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("message", "plain", ""),
            ("update", "two\nlines", "42"),
            ("status", "{\"status\":\"Running\",\"progress\":42}", "42"),
            ("e", "d", "7"),
        ]
    );

    let mut response = call(&app, get("/wire/retry"))
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    assert_eq!(response.header("cache-control"), Some("no-cache"));
    assert_eq!(response.header("x-accel-buffering"), Some("no"));
    assert_eq!(response.header("content-encoding"), Some("identity"));
    let events = response.collect_all().await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(response.retry(), Some(Duration::from_secs(3)));
    assert_eq!(
        response.raw_bytes(),
        b"retry: 3000\n\ndata: x\n\nid: sse-end\n\n"
    );

    let events = all_events(&app, get("/wire/result"), STEP).await.unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| (e.event.as_str(), e.data.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("message", "one"),
            ("message", "two"),
            ("error", "internal error")
        ]
    );

    let events = all_events(&app, get("/wire/unserialisable"), STEP)
        .await
        .unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].data, "{}");
    assert_eq!(events[1].event, "error");
}
