//! Property: whatever the items of a stream do (serialise, fail, panic half
//! way through a value; arrive at once or one by one), the response body
//! read back by the project's parser holds only whole events: every item
//! before the first failure, then exactly one `error` event, then the end.
//!
//! Cases default to 256 per property; `PROPTEST_CASES` overrides.

use std::sync::Once;
use std::time::Duration;

use actix_web::{test as actix_test, App};
use futures_util::stream::{self, Stream, StreamExt};
use proptest::prelude::*;
use serde::ser::{Error as _, SerializeMap, Serializer};
use serde::Serialize;
use sse_runtime::parse::EventStreamParser;
use sse_runtime::{controller, sse};

/// What one item does when serialised.
#[derive(Debug, Clone)]
enum Item {
    /// A map of `fields` entries (text values, so JSON escaping is
    /// exercised).
    Fine(Vec<String>),
    /// Writes `at` entries, then fails with a message the client must not
    /// see.
    Fails { fields: Vec<String>, at: usize },
    /// Writes `at` entries, then panics.
    Panics { fields: Vec<String>, at: usize },
    /// Plain text (the `data:` line path, not JSON).
    Text(String),
}

const PANIC_MESSAGE: &str = "an item panics on purpose";

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (fields, stop) = match self {
            Item::Text(text) => return serializer.serialize_str(text),
            Item::Fine(fields) => (fields, None),
            Item::Fails { fields, at } | Item::Panics { fields, at } => (fields, Some(*at)),
        };
        let mut map = serializer.serialize_map(Some(fields.len()))?;
        for (i, value) in fields.iter().enumerate() {
            if stop == Some(i) {
                break;
            }
            map.serialize_entry(&format!("k{i}"), value)?;
        }
        match self {
            Item::Fails { .. } => Err(S::Error::custom("secret: postgres://u:p@db")),
            Item::Panics { .. } => panic!("{PANIC_MESSAGE}"),
            _ => map.end(),
        }
    }
}

impl Item {
    fn fails(&self) -> bool {
        matches!(self, Item::Fails { .. } | Item::Panics { .. })
    }

    /// The event data a client reads for a fine item.
    fn expected_data(&self) -> String {
        match self {
            Item::Text(text) => text.replace("\r\n", "\n").replace('\r', "\n"),
            Item::Fine(fields) => {
                let mut map = serde_json::Map::new();
                for (i, value) in fields.iter().enumerate() {
                    map.insert(format!("k{i}"), value.clone().into());
                }
                serde_json::Value::Object(map).to_string()
            }
            _ => unreachable!("only fine items are read back"),
        }
    }
}

struct Items {
    items: Vec<Item>,
    /// Whether items arrive one by one (a pending poll before each) or are
    /// all ready at once (encoded before the response is even sent).
    paced: bool,
}

#[controller("")]
impl Items {
    #[sse("items", keep_alive = false)]
    fn items(&self) -> impl Stream<Item = Item> {
        let paced = self.paced;
        stream::iter(self.items.clone()).then(move |item| async move {
            if paced {
                tokio::task::yield_now().await;
            }
            item
        })
    }
}

fn item() -> impl Strategy<Value = Item> {
    let text = "[a-z\"\\\\\n\r é]{0,8}";
    let fields = prop::collection::vec(text, 0..4);
    prop_oneof![
        6 => fields.clone().prop_map(Item::Fine),
        2 => text.prop_map(Item::Text),
        1 => (fields.clone(), 0..4usize).prop_map(|(fields, at)| Item::Fails { fields, at }),
        1 => (fields, 0..4usize).prop_map(|(fields, at)| Item::Panics { fields, at }),
    ]
}

/// Silences the deliberate panics, keeps every other panic message.
fn quiet_deliberate_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let deliberate = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m == PANIC_MESSAGE);
            if !deliberate {
                default(info);
            }
        }));
    });
}

fn body_of(items: Vec<Item>, paced: bool) -> Vec<u8> {
    actix_rt::System::new().block_on(async move {
        let app = actix_test::init_service(App::new().service(Items { items, paced })).await;
        let request = actix_test::TestRequest::get().uri("/items").to_request();
        let response = actix_test::call_service(&app, request).await;
        assert_eq!(response.status(), 200);
        let body = tokio::time::timeout(
            Duration::from_secs(10),
            actix_web::body::to_bytes(response.into_body()),
        )
        .await
        .expect("the stream ends")
        .expect("body");
        body.to_vec()
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn only_whole_events_then_one_error_event(
        items in prop::collection::vec(item(), 0..8),
        paced in any::<bool>(),
    ) {
        quiet_deliberate_panics();
        let body = body_of(items.clone(), paced);
        let mut parser = EventStreamParser::new();
        let events = parser.feed(&body).expect("parsable");
        prop_assert!(!parser.finish(), "a partial event was left: {:?}", String::from_utf8_lossy(&body));

        let failure = items.iter().position(Item::fails);
        let fine = &items[..failure.unwrap_or(items.len())];
        // An item whose text is empty still dispatches (empty data).
        let expected: Vec<(String, String)> = fine
            .iter()
            .map(|item| ("message".to_owned(), item.expected_data()))
            .chain(failure.map(|_| ("error".to_owned(), "internal error".to_owned())))
            .collect();
        let got: Vec<(String, String)> = events.into_iter().map(|e| (e.event, e.data)).collect();
        prop_assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(&body));
        prop_assert!(!String::from_utf8_lossy(&body).contains("postgres"));
    }
}
