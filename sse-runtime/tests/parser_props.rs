//! Property tests for the event-stream parser:
//!
//! * round trip: whatever an [`Event`] builder accepts, the parser reads back
//!   as exactly that one event (or none, for an event without data), however
//!   the bytes are chunked;
//! * several events concatenated and split at random chunk boundaries;
//! * differential: on arbitrary bytes the streaming parser agrees with a
//!   naive, line-by-line transcription of the WHATWG algorithm.
//!
//! The number of cases per property defaults to [`DEFAULT_CASES`]; set
//! `PROPTEST_CASES` to change it (CI uses `PROPTEST_CASES=100000`).

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::sample::Index;
use sse_runtime::parse::{EventStreamParser, ReceivedEvent};
use sse_runtime::{Event, Field};

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 10_000;

fn config() -> ProptestConfig {
    // `ProptestConfig::default()` already reads PROPTEST_CASES; only replace
    // proptest's own default (256) when the variable is absent.
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = DEFAULT_CASES;
    }
    config
}

// ---------------------------------------------------------------------------
// Generators, biased towards what matters to the wire format.
//
// Values are decoded from vectors of plain integers rather than composed from
// `prop_oneof!`/regex strategies: it generates an order of magnitude faster
// in unoptimised test builds (100 000 cases must stay cheap) and still
// shrinks well, since code 0 always decodes to the simplest choice.

/// Text pieces, CR/LF/NUL/BOM/space/colon/field names overrepresented.
const TEXT_PIECES: &[&str] = &[
    "a", "\n", "\r", "\r\n", "\n", "\r", "\r\n", "\n\r", "\0", "\u{FEFF}", " ", " ", ":", ":",
    "data", "data:", "id: ", "event", "retry:", "\u{FFFD}", "é", "😀", "12", "x y", "\t",
];

/// Decodes one piece of text; codes past the table are arbitrary chars.
fn text_piece(code: u32, out: &mut String) {
    let pieces = TEXT_PIECES.len() as u32;
    let slot = code % (pieces + 4);
    if slot < pieces {
        out.push_str(TEXT_PIECES[slot as usize]);
    } else {
        // Any scalar value, mostly from the BMP.
        let range = if slot == pieces { 0x11_0000 } else { 0x1_0000 };
        out.push(char::from_u32((code >> 6) % range).unwrap_or('\u{D7FF}'));
    }
}

fn decode_text(codes: &[u32]) -> String {
    let mut text = String::new();
    for &code in codes {
        text_piece(code, &mut text);
    }
    text
}

fn codes(max_len: usize) -> impl Strategy<Value = Vec<u32>> {
    prop::collection::vec(any::<u32>(), 0..max_len)
}

/// One call on the [`Event`] builder.
#[derive(Debug, Clone)]
enum Op {
    Data(String),
    Event(String),
    Id(String),
    Retry(Duration),
    Comment(String),
}

/// Decodes an [`Op`]: `kind` picks the call (data 4/10, event 2/10, id 2/10,
/// retry and comment 1/10 each) and a variant, `codes` its argument.
fn decode_op(kind: u8, codes: &[u32]) -> Op {
    let variant = kind / 10;
    // Single-line fields: a third of them keep forbidden characters (the
    // builder must reject those), the rest have them removed.
    let field_text = || {
        let text = decode_text(codes);
        if variant.is_multiple_of(3) {
            text
        } else {
            text.replace(['\r', '\n', '\0'], "")
        }
    };
    match kind % 10 {
        0..=3 => Op::Data(decode_text(codes)),
        4 | 5 => Op::Event(field_text()),
        6 | 7 => Op::Id(field_text()),
        8 => {
            let word = |i: usize| u64::from(codes.get(i).copied().unwrap_or(0));
            let wide = word(0) << 32 | word(1);
            Op::Retry(match variant % 5 {
                0 => Duration::from_millis(word(0) % 100_000),
                1 => Duration::from_millis(wide),
                2 => Duration::from_nanos(wide),
                3 => Duration::new(
                    wide.rotate_left(17) | word(2),
                    (word(3) % 1_000_000_000) as u32,
                ),
                _ => Duration::MAX,
            })
        }
        _ => Op::Comment(decode_text(codes)),
    }
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec((any::<u8>(), codes(10)), 0..6).prop_map(|ops| {
        ops.iter()
            .map(|(kind, codes)| decode_op(*kind, codes))
            .collect()
    })
}

// ---------------------------------------------------------------------------
// The model of what a built event means to a client.

/// Stream-wide client state that outlives single events.
#[derive(Debug, Default, Clone, PartialEq)]
struct Client {
    last_event_id: String,
    retry: Option<Duration>,
}

/// Builds an [`Event`] from `ops`, checking every builder error, and returns
/// its encoding plus the event a client must dispatch for it (if any).
/// `client` is updated the way the event's fields update a client.
fn build(ops: &[Op], client: &mut Client) -> (Bytes, Option<ReceivedEvent>) {
    let mut event = Event::default();
    let mut data: Option<String> = None;
    let mut event_type = String::new();
    for op in ops {
        match op {
            Op::Data(text) => {
                event = event.data(text);
                let text = normalize_newlines(text);
                data = Some(match data.take() {
                    None => text,
                    Some(previous) => previous + "\n" + &text,
                });
            }
            Op::Event(name) => match event.clone().event(name) {
                Ok(built) => {
                    assert!(!name.contains(['\r', '\n']), "accepted event {name:?}");
                    event = built;
                    event_type.clone_from(name);
                }
                Err(err) => {
                    assert!(
                        name.contains(['\r', '\n']),
                        "rejected event {name:?}: {err}"
                    );
                    assert_eq!(err.field(), Some(Field::Event));
                }
            },
            Op::Id(id) => match event.clone().id(id) {
                Ok(built) => {
                    assert!(!id.contains(['\r', '\n', '\0']), "accepted id {id:?}");
                    event = built;
                    client.last_event_id.clone_from(id);
                }
                Err(err) => {
                    assert!(id.contains(['\r', '\n', '\0']), "rejected id {id:?}: {err}");
                    assert_eq!(err.field(), Some(Field::Id));
                }
            },
            Op::Retry(after) => {
                event = event.retry(*after);
                let millis = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                client.retry = Some(Duration::from_millis(millis));
            }
            Op::Comment(text) => event = event.comment(text),
        }
    }
    let bytes: Bytes = event.encode().into();
    let expected = data.map(|data| ReceivedEvent {
        event: if event_type.is_empty() {
            "message".to_owned()
        } else {
            event_type
        },
        data,
        id: client.last_event_id.clone(),
    });
    (bytes, expected)
}

/// Every CRLF, CR and LF becomes LF.
fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Feeds `input` cut at the given points (in any order, duplicates allowed).
fn feed_chunked(
    parser: &mut EventStreamParser,
    input: &[u8],
    cuts: &[Index],
) -> Vec<ReceivedEvent> {
    let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(input.len() + 1)).collect();
    points.sort_unstable();
    let mut events = Vec::new();
    let mut start = 0;
    for point in points.into_iter().chain([input.len()]) {
        parser
            .feed_into(&input[start..point], &mut events)
            .expect("within the size limit");
        start = point;
    }
    events
}

proptest! {
    #![proptest_config(config())]

    /// One built event reads back as exactly itself.
    #[test]
    fn round_trip_one_event(ops in ops(), cuts in prop::collection::vec(any::<Index>(), 0..4)) {
        let mut client = Client::default();
        let (bytes, expected) = build(&ops, &mut client);

        let mut parser = EventStreamParser::new();
        let events = feed_chunked(&mut parser, &bytes, &cuts);
        prop_assert_eq!(events, expected.into_iter().collect::<Vec<_>>(), "wire: {:?}", bytes);
        prop_assert_eq!(parser.last_event_id(), client.last_event_id.as_str());
        prop_assert_eq!(parser.retry(), client.retry);
        prop_assert!(!parser.finish(), "the frame must be complete: {:?}", bytes);
    }

    /// A sequence of events, concatenated and delivered in random chunks.
    #[test]
    fn round_trip_many_events(
        events in prop::collection::vec(ops(), 1..8),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let mut client = Client::default();
        let mut wire = Vec::new();
        let mut expected = Vec::new();
        for ops in &events {
            let (bytes, event) = build(ops, &mut client);
            wire.extend_from_slice(&bytes);
            expected.extend(event);
        }

        let mut parser = EventStreamParser::new();
        let got = feed_chunked(&mut parser, &wire, &cuts);
        prop_assert_eq!(got, expected);
        prop_assert_eq!(parser.last_event_id(), client.last_event_id.as_str());
        prop_assert_eq!(parser.retry(), client.retry);
        prop_assert!(!parser.finish());
    }

    /// On arbitrary bytes, the streaming parser (with arbitrary chunking)
    /// agrees with the literal WHATWG algorithm.
    #[test]
    fn matches_reference_on_arbitrary_bytes(
        input in byte_soup(),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let expected = reference(&input);
        let mut parser = EventStreamParser::new();
        let events = feed_chunked(&mut parser, &input, &cuts);
        prop_assert_eq!(&events, &expected.events, "input: {:?}", Bytes::from(input.clone()));
        prop_assert_eq!(parser.last_event_id(), expected.last_event_id.as_str());
        prop_assert_eq!(parser.retry(), expected.retry);
    }
}

// ---------------------------------------------------------------------------
// Differential testing against a naive transcription of the standard.

/// Byte pieces for [`byte_soup`], including invalid and partial UTF-8.
const BYTE_PIECES: &[&[u8]] = &[
    b"a",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b"\xEF\xBB\xBF",
    b"\0",
    b" ",
    b" ",
    b":",
    b":",
    b"data",
    b"data:",
    b"data: x\n\n",
    b"event",
    b"event: e\n",
    b"id",
    b"id:",
    b"\nid: ",
    b"retry",
    b"\nretry:",
    b"123",
    b"99999999999999999999999",
    b"\xE2\x82",
    b"\xAC",
    b"\xFF",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xF0\x9F\x98",
    b"x y",
    "é€😀".as_bytes(),
];

/// Bytes that look like an event stream, with plenty of edge cases; codes
/// past the table are single arbitrary bytes.
fn byte_soup() -> impl Strategy<Value = Vec<u8>> {
    codes(40).prop_map(|codes| {
        let mut bytes = Vec::new();
        for code in codes {
            let slot = (code % (BYTE_PIECES.len() as u32 + 3)) as usize;
            match BYTE_PIECES.get(slot) {
                Some(piece) => bytes.extend_from_slice(piece),
                None => bytes.push((code >> 8) as u8),
            }
        }
        bytes
    })
}

struct Reference {
    events: Vec<ReceivedEvent>,
    last_event_id: String,
    retry: Option<Duration>,
}

/// HTML § 9.2.6, step by step on the fully decoded stream.
fn reference(input: &[u8]) -> Reference {
    // "UTF-8 decode": one leading BOM is skipped, errors become U+FFFD.
    let decoded = String::from_utf8_lossy(input);
    let text = decoded.strip_prefix('\u{FEFF}').unwrap_or(&decoded);

    // Split into lines; a final line without an end-of-line is incomplete and
    // never processed.
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                lines.push(std::mem::take(&mut current));
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }

    let mut out = Reference {
        events: Vec::new(),
        last_event_id: String::new(),
        retry: None,
    };
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    for line in lines {
        if line.is_empty() {
            // Dispatch the event.
            out.last_event_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.events.push(ReceivedEvent {
                event: if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                },
                data: data.clone(),
                id: out.last_event_id.clone(),
            });
            data.clear();
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                let millis = value.parse::<u64>().unwrap_or(u64::MAX);
                out.retry = Some(Duration::from_millis(millis));
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------
// A few fixed cases for the model itself, so a bug in it cannot hide one in
// the parser.

#[test]
fn model_sanity() {
    let mut client = Client::default();
    let (bytes, event) = build(
        &[
            Op::Event("e".into()),
            Op::Data("a\r\nb\rc".into()),
            Op::Id("1".into()),
            Op::Retry(Duration::from_micros(1500)),
            Op::Comment("x\ny".into()),
            Op::Event("bad\n".into()),
            Op::Id("bad\0".into()),
        ],
        &mut client,
    );
    assert_eq!(
        event,
        Some(ReceivedEvent {
            event: "e".into(),
            data: "a\nb\nc".into(),
            id: "1".into()
        })
    );
    assert_eq!(client.retry, Some(Duration::from_millis(1)));
    let reference = reference(&bytes);
    assert_eq!(reference.events, [event.unwrap()]);
    assert_eq!(reference.retry, Some(Duration::from_millis(1)));
}

#[test]
fn reference_sanity() {
    let r = reference(
        b"\xEF\xBB\xBFdata: 1\r\n\r\n\xEF\xBB\xBFdata: 2\n\nid: 7\nretry: 5\ndata:\xFF\n\ndata: x",
    );
    let data: Vec<&str> = r.events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["1", "\u{FFFD}"]);
    assert_eq!(r.last_event_id, "7");
    assert_eq!(r.retry, Some(Duration::from_millis(5)));
}
