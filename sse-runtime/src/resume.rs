//! Resuming a stream: the hub's event ids ([`EventId`]) and the
//! [`LastEventId`] extractor that reads the id a reconnecting client sends.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::{ready, Ready};
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

use actix_web::dev::Payload;
use actix_web::http::header::HeaderName;
use actix_web::{FromRequest, HttpRequest};

/// The header a reconnecting `EventSource` sends.
const HEADER: HeaderName = HeaderName::from_static("last-event-id");

/// The id the [`Hub`](crate::hub::Hub) gives an event: an *epoch*, random
/// per hub start, and a *sequence number* that grows by one with every
/// publish on the hub, whatever the topic.
///
/// On the wire it reads `<epoch in hex>-<sequence in decimal>`, e.g.
/// `3f9a0c21-1042`. Ids of one epoch are ordered by their sequence number;
/// an id from another epoch (a hub started since) is recognised as such.
///
/// ```
/// use sse_runtime::EventId;
///
/// let id: EventId = "3f9a0c21-1042".parse().unwrap();
/// assert_eq!((id.epoch(), id.seq()), (0x3f9a_0c21, 1042));
/// assert_eq!(id.to_string(), "3f9a0c21-1042");
/// assert!("1042".parse::<EventId>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId {
    epoch: u64,
    seq: u64,
}

impl EventId {
    pub(crate) fn new(epoch: u64, seq: u64) -> Self {
        EventId { epoch, seq }
    }

    /// The epoch: which start of the hub assigned this id.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The hub-wide sequence number (the first publish gets 1).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{}", self.epoch, self.seq)
    }
}

/// The text was not an id assigned by a hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseEventIdError;

impl fmt::Display for ParseEventIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a hub event id (expected `<hex epoch>-<decimal sequence>`)")
    }
}

impl std::error::Error for ParseEventIdError {}

impl FromStr for EventId {
    type Err = ParseEventIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (epoch, seq) = text.split_once('-').ok_or(ParseEventIdError)?;
        // `from_str_radix` accepts a leading `+`; an id never has one, and
        // accepting it would make two spellings of one id.
        let digits = |s: &str, radix: u32| {
            !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_digit(radix))
        };
        if !digits(epoch, 16) || !digits(seq, 10) {
            return Err(ParseEventIdError);
        }
        Ok(EventId {
            epoch: u64::from_str_radix(epoch, 16).map_err(|_| ParseEventIdError)?,
            seq: seq.parse().map_err(|_| ParseEventIdError)?,
        })
    }
}

/// A fresh epoch: 32 random bits, never zero.
///
/// Only needs to differ between two starts of a hub, not to be secret, so
/// std's randomly keyed hasher (seeded from the OS once per process and
/// advanced per use) mixed with the clock is enough.
pub(crate) fn new_epoch() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    (hasher.finish() & 0xffff_ffff).max(1)
}

/// The id of the last event a reconnecting client saw: an actix-web
/// extractor.
///
/// Read from the `Last-Event-ID` header that `EventSource` sends when it
/// reconnects, or else from a `lastEventId` query parameter (what
/// EventSource polyfills send). Never fails: a value longer than
/// [`MAX_LEN`](Self::MAX_LEN) bytes, one that is not UTF-8 or holds
/// control characters (or U+FFFD, the mark of undecodable bytes), or a
/// malformed query string counts as *absent*, with a `tracing` debug event
/// saying why. An empty value is absent too (it is how the SSE format
/// spells "no id").
///
/// Whether the value is one of the hub's ids is decided by
/// [`Subscribe::after`](crate::hub::Subscribe::after): an unknown id is
/// answered with the hub's `sse-missed` event, not an HTTP error.
///
/// ```no_run
/// use sse_runtime::{controller, sse, Hub, HubError, LastEventId, Subscription};
///
/// pub struct Feed { hub: Hub }
///
/// #[controller("feed")]
/// impl Feed {
///     #[sse("")]
///     fn feed(&self, last: LastEventId) -> Result<Subscription, HubError> {
///         self.hub.subscribe(["feed"]).after(last).start()
///     }
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LastEventId(Option<String>);

impl LastEventId {
    /// No id: the client starts afresh.
    pub const NONE: LastEventId = LastEventId(None);

    /// Longest id accepted, in bytes. The hub's own ids are under 40
    /// bytes; anything much longer is not one of ours and not worth
    /// keeping for every reconnect.
    pub const MAX_LEN: usize = 256;

    /// An id from elsewhere (a cookie, a message), checked like the
    /// header: too long, empty or holding control characters → absent.
    ///
    /// ```
    /// # use sse_runtime::LastEventId;
    /// assert_eq!(LastEventId::new("3f-7").as_str(), Some("3f-7"));
    /// assert!(LastEventId::new("").as_str().is_none());
    /// assert!(LastEventId::new("a\nb").as_str().is_none());
    /// ```
    pub fn new(id: impl AsRef<str>) -> Self {
        LastEventId(checked(id.as_ref(), "argument").map(str::to_owned))
    }

    /// The id, if the client sent a usable one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether the client sent a usable id.
    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// Reads the header, else the query parameter.
    pub fn from_request(req: &HttpRequest) -> Self {
        if let Some(value) = req.headers().get(HEADER) {
            match std::str::from_utf8(value.as_bytes()) {
                Ok(text) => {
                    if let Some(id) = checked(text, "header") {
                        return LastEventId(Some(id.to_owned()));
                    }
                }
                Err(_) => {
                    tracing::debug!("`Last-Event-ID` header is not UTF-8; ignored");
                }
            }
        }
        LastEventId(from_query(req.query_string()))
    }
}

impl From<Option<String>> for LastEventId {
    fn from(id: Option<String>) -> Self {
        id.map(LastEventId::new).unwrap_or_default()
    }
}

impl FromRequest for LastEventId {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(LastEventId::from_request(req)))
    }
}

fn from_query(query: &str) -> Option<String> {
    if !query.contains("lastEventId") {
        return None;
    }
    #[derive(serde::Deserialize)]
    struct Query {
        #[serde(rename = "lastEventId")]
        last_event_id: Option<String>,
    }
    match actix_web::web::Query::<Query>::from_query(query) {
        Ok(query) => query
            .into_inner()
            .last_event_id
            .and_then(|id| checked(&id, "query parameter").map(str::to_owned)),
        Err(err) => {
            tracing::debug!(error = %err, "query string with `lastEventId` is malformed; ignored");
            None
        }
    }
}

/// `text` if it can be a last event id, else `None` (logged).
fn checked<'a>(text: &'a str, source: &str) -> Option<&'a str> {
    if text.is_empty() {
        None
    } else if text.len() > LastEventId::MAX_LEN {
        tracing::debug!(
            source,
            len = text.len(),
            max = LastEventId::MAX_LEN,
            "last event id too long; ignored"
        );
        None
    } else if text
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        // U+FFFD: what the query decoder makes of bytes that are not UTF-8.
        tracing::debug!(source, "last event id is not clean text; ignored");
        None
    } else {
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn extract(req: TestRequest) -> Option<String> {
        LastEventId::from_request(&req.to_http_request()).0
    }

    #[test]
    fn ids_round_trip() {
        let id = EventId::new(0xdead_beef, 7);
        assert_eq!(id.to_string(), "deadbeef-7");
        assert_eq!("deadbeef-7".parse::<EventId>(), Ok(id));
        let max = EventId::new(u64::MAX, u64::MAX);
        assert_eq!(max.to_string().parse::<EventId>(), Ok(max));
    }

    #[test]
    fn foreign_ids_do_not_parse() {
        for bad in [
            "",
            "7",
            "-7",
            "a-",
            "x-1",
            "a-b",
            "a-+1",
            "+a-1",
            "a-1-2",
            "a- 1",
            "a-1 ",
            "1ffffffffffffffff-1",
            "a-99999999999999999999",
        ] {
            assert!(bad.parse::<EventId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn epochs_are_nonzero_and_differ() {
        let a = new_epoch();
        let b = new_epoch();
        assert!(a != 0 && a <= u64::from(u32::MAX));
        assert_ne!(a, b);
    }

    #[test]
    fn header_wins_over_query() {
        let req =
            TestRequest::with_uri("/s?lastEventId=q-1").insert_header(("Last-Event-ID", "h-1"));
        assert_eq!(extract(req).as_deref(), Some("h-1"));
        let req = TestRequest::with_uri("/s?user=x&lastEventId=a-2%2B");
        assert_eq!(extract(req).as_deref(), Some("a-2+"));
        assert_eq!(extract(TestRequest::with_uri("/s?user=x")), None);
    }

    #[test]
    fn garbage_counts_as_absent() {
        let long = "1".repeat(LastEventId::MAX_LEN + 1);
        let req = TestRequest::default().insert_header(("Last-Event-ID", long.as_str()));
        assert_eq!(extract(req), None);
        let fits = "1".repeat(LastEventId::MAX_LEN);
        let req = TestRequest::default().insert_header(("Last-Event-ID", fits.as_str()));
        assert_eq!(extract(req), Some(fits));
        let req = TestRequest::default().insert_header((
            "Last-Event-ID",
            actix_web::http::header::HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        ));
        assert_eq!(extract(req), None);
        let req = TestRequest::default().insert_header(("Last-Event-ID", ""));
        assert_eq!(extract(req), None);
        // A garbage header falls back to the query parameter.
        let req = TestRequest::with_uri("/s?lastEventId=a-3").insert_header(("Last-Event-ID", ""));
        assert_eq!(extract(req).as_deref(), Some("a-3"));
        for query in [
            "/s?lastEventId=%FF",
            "/s?lastEventId=a%0Ab",
            "/s?lastEventId=1&lastEventId=2",
        ] {
            assert_eq!(extract(TestRequest::with_uri(query)), None, "{query}");
        }
    }

    #[test]
    fn utf8_ids_are_kept() {
        let req = TestRequest::default().insert_header((
            "Last-Event-ID",
            actix_web::http::header::HeaderValue::from_bytes("é-1".as_bytes()).unwrap(),
        ));
        assert_eq!(extract(req).as_deref(), Some("é-1"));
    }
}
