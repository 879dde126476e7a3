//! The wire stays valid whatever fails, over real sockets: a serializer that
//! panics half-way, a stream that panics before its first event, an encoding
//! error whose text must not reach the client, and a user's own error item.

use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use serde::ser::{Error as _, SerializeStruct, Serializer};
use serde::Serialize;
use sse_runtime::parse::ReceivedEvent;
use sse_runtime::{controller, sse, Shown};
use sse_test_support::{
    lossy, parse_events, RawRequest, RawResponse, ServerOptions, TestServer, STEP,
};

/// Serializes `{"seq":n,"ok":true}`, except that `n == 2` panics after the
/// first field and `n == 3` fails with a secret-bearing error.
struct Seq(u32);

impl Serialize for Seq {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Seq", 2)?;
        s.serialize_field("seq", &self.0)?;
        match self.0 {
            2 => panic!("the serializer panics on purpose"),
            3 => return Err(S::Error::custom("cannot reach postgres://app:hunter2@db")),
            _ => {}
        }
        s.serialize_field("ok", &true)?;
        s.end()
    }
}

struct Failing;

#[controller("")]
impl Failing {
    /// Items ready at once: encoded before the response is even sent.
    #[sse("panic-now")]
    fn panic_now(&self) -> impl Stream<Item = Seq> {
        stream::iter([Seq(1), Seq(2), Seq(4)])
    }

    /// The same, once the stream is under way.
    #[sse("panic-later")]
    fn panic_later(&self) -> impl Stream<Item = Seq> {
        stream::iter([Seq(1), Seq(2), Seq(4)]).then(|seq| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            seq
        })
    }

    /// The stream itself panics before its second item.
    #[sse("early-panic")]
    fn early_panic(&self) -> impl Stream<Item = u32> {
        stream::iter([1, 2]).map(|i| {
            if i == 2 {
                panic!("the stream panics on purpose")
            }
            i
        })
    }

    /// The stream panics before its first item.
    #[sse("first-panic")]
    fn first_panic(&self) -> impl Stream<Item = u32> {
        stream::iter([1]).map(|_: u32| -> u32 { panic!("the stream panics on purpose") })
    }

    #[sse("secret")]
    fn secret(&self) -> impl Stream<Item = Seq> {
        stream::iter([Seq(1), Seq(3), Seq(4)])
    }

    #[sse("user-error")]
    fn user_error(&self) -> impl Stream<Item = Result<u32, Shown<String>>> {
        stream::iter([Ok(1), Err(Shown("quota exceeded".to_owned())), Ok(2)])
    }

    /// The same error, not marked to be shown.
    #[sse("hidden-error")]
    fn hidden_error(&self) -> impl Stream<Item = Result<u32, String>> {
        stream::iter([Ok(1), Err("db at 10.0.0.7 refused".to_owned()), Ok(2)])
    }

    /// Panics in the method, before there is a stream: may stay a 500.
    #[sse("method-panic")]
    fn method_panic(&self) -> impl Stream<Item = u32> {
        panic!("the method panics on purpose");
        #[allow(unreachable_code)]
        stream::empty()
    }
}

fn start() -> TestServer {
    ServerOptions::new()
        .sse_defaults()
        .serve(|| App::new().service(Failing))
}

/// A whole response of `path`: its head, its body, and whether the body
/// ended properly (not cut off by the connection's end).
struct Fetched {
    response: RawResponse,
    body: Vec<u8>,
    ended: bool,
}

impl Fetched {
    fn text(&self) -> String {
        lossy(&self.body)
    }
}

async fn fetch(path: &str) -> Fetched {
    let server = start();
    let mut response = RawRequest::get(path).send(server.addr()).await.unwrap();
    let (body, ended) = response
        .body_until_closed(Duration::from_secs(5))
        .await
        .unwrap();
    server.stop().await;
    Fetched {
        response,
        body,
        ended,
    }
}

fn data(event: &ReceivedEvent) -> (&str, &str) {
    (&event.event, &event.data)
}

/// An event stream that ended properly, whose events are `expected`.
fn assert_stream(client: &Fetched, expected: &[(&str, &str)]) {
    let head = client.response.headers();
    assert_eq!(client.response.status(), 200, "{head:?}");
    assert!(
        client
            .response
            .header("content-type")
            .is_some_and(|value| value.starts_with("text/event-stream")),
        "{head:?}"
    );
    let body = &client.body;
    assert!(
        client.ended,
        "the stream must end cleanly: {:?}",
        client.text()
    );
    let events = parse_events(body).unwrap();
    let got: Vec<_> = events.iter().map(data).collect();
    assert_eq!(got, expected, "{:?}", lossy(body));
    // Nothing left over: the body is exactly whole events.
    assert!(body.ends_with(b"\n\n"), "{:?}", lossy(body));
}

const INTERNAL: (&str, &str) = ("error", "internal error");

#[actix_web::test]
async fn a_serializer_panic_cuts_back_to_the_last_whole_event() {
    for path in ["/panic-now", "/panic-later"] {
        let client = fetch(path).await;
        assert_stream(&client, &[("message", r#"{"seq":1,"ok":true}"#), INTERNAL]);
        assert!(
            !client.text().contains(r#""seq":2"#),
            "{path}: {}",
            client.text()
        );
    }
}

#[actix_web::test]
async fn a_stream_that_panics_early_still_answers_with_an_event_stream() {
    let client = fetch("/early-panic").await;
    assert_stream(&client, &[("message", "1"), INTERNAL]);
    let client = fetch("/first-panic").await;
    assert_stream(&client, &[INTERNAL]);
}

#[actix_web::test]
async fn encoding_errors_send_a_generic_message() {
    let client = fetch("/secret").await;
    assert_stream(&client, &[("message", r#"{"seq":1,"ok":true}"#), INTERNAL]);
    assert!(!client.text().contains("hunter2"), "{}", client.text());
}

#[actix_web::test]
async fn a_users_shown_error_item_keeps_its_text() {
    let client = fetch("/user-error").await;
    assert_stream(&client, &[("message", "1"), ("error", "quota exceeded")]);
}

#[actix_web::test]
async fn a_users_error_item_is_hidden_by_default() {
    let client = fetch("/hidden-error").await;
    assert_stream(&client, &[("message", "1"), ("error", "internal error")]);
}

#[actix_web::test]
async fn a_panic_in_the_method_itself_is_a_500() {
    let server = start();
    // An ordinary error response: the connection stays open (keep-alive).
    let mut response = RawRequest::get("/method-panic")
        .send(server.addr())
        .await
        .unwrap();
    let body = response
        .read_until(b"the SSE route panicked", STEP)
        .await
        .unwrap();
    assert_eq!(response.status(), 500, "{:?}", lossy(&body));
    server.stop().await;
}
