//! The wire stays valid whatever fails, over real sockets: a serializer that
//! panics half-way, a stream that panics before its first event, an encoding
//! error whose text must not reach the client, and a user's own error item.

mod harden_util;

use std::time::Duration;

use actix_web::App;
use futures_util::stream::{self, Stream, StreamExt};
use harden_util::{events, start, Client};
use serde::ser::{Error as _, SerializeStruct, Serializer};
use serde::Serialize;
use sse_runtime::parse::ReceivedEvent;
use sse_runtime::{controller, sse, SseSettings};

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
    fn user_error(&self) -> impl Stream<Item = Result<u32, String>> {
        stream::iter([Ok(1), Err("quota exceeded".to_owned()), Ok(2)])
    }

    /// Panics in the method, before there is a stream: may stay a 500.
    #[sse("method-panic")]
    fn method_panic(&self) -> impl Stream<Item = u32> {
        panic!("the method panics on purpose");
        #[allow(unreachable_code)]
        stream::empty()
    }
}

/// A whole response of `path`, after the connection ended.
async fn fetch(path: &str) -> Client {
    let server = start(Some(SseSettings::default()), || App::new().service(Failing));
    let mut client = Client::get(server.addr, path).await;
    client.read_to_end(Duration::from_secs(5)).await;
    server.handle.stop(false).await;
    client
}

fn data(event: &ReceivedEvent) -> (&str, &str) {
    (&event.event, &event.data)
}

/// An event stream that ended properly, whose events are `expected`.
fn assert_stream(client: &Client, expected: &[(&str, &str)]) {
    let head = client.head();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    let (body, ended) = client.body();
    assert!(ended, "the stream must end cleanly: {:?}", client.text());
    let events = events(&body);
    let got: Vec<_> = events.iter().map(data).collect();
    assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&body));
    // Nothing left over: the body is exactly whole events.
    assert!(
        body.ends_with(b"\n\n"),
        "{:?}",
        String::from_utf8_lossy(&body)
    );
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
async fn a_users_own_error_item_keeps_its_text() {
    let client = fetch("/user-error").await;
    assert_stream(&client, &[("message", "1"), ("error", "quota exceeded")]);
}

#[actix_web::test]
async fn a_panic_in_the_method_itself_is_a_500() {
    let server = start(Some(SseSettings::default()), || App::new().service(Failing));
    // An ordinary error response: the connection stays open (keep-alive).
    let client = Client::open(server.addr, "/method-panic", "the SSE route panicked").await;
    assert!(
        client.head().starts_with("HTTP/1.1 500"),
        "{}",
        client.text()
    );
    server.handle.stop(false).await;
}
