//! Feeds arbitrary bytes to the event-stream parser, whole and in chunks.
//!
//! Input layout: the first byte chooses the split point (scaled to the rest
//! of the input), the second one a small size limit (or the default limit
//! when it is 0); the rest is the stream. Asserts that nothing panics and
//! that chunked feeding (split in two, and one byte at a time) gives exactly
//! the same events, error, last event id and retry as feeding everything at
//! once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_runtime::parse::{EventStreamParser, ParseError, ReceivedEvent};

#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<ReceivedEvent>,
    error: Option<ParseError>,
    last_event_id: String,
    retry: Option<std::time::Duration>,
    discarded: bool,
}

fn run<'a>(max: Option<usize>, chunks: impl IntoIterator<Item = &'a [u8]>) -> Outcome {
    let mut parser = match max {
        Some(max) => EventStreamParser::with_max_event_size(max),
        None => EventStreamParser::new(),
    };
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(err) = parser.feed_into(chunk, &mut events) {
            // Feeding after an error must keep failing, not panic.
            assert_eq!(parser.feed(chunk).unwrap_err(), err);
            error = Some(err);
            break;
        }
    }
    for event in &events {
        assert!(!event.event.is_empty());
        if let Some(max) = max {
            assert!(event.data.len() < max);
        }
    }
    let last_event_id = parser.last_event_id().to_owned();
    let retry = parser.retry();
    let discarded = parser.finish();
    // The parser is reusable after finish().
    assert_eq!(parser.feed(b"\n"), Ok(Vec::new()));
    Outcome {
        events,
        error,
        last_event_id,
        retry,
        discarded,
    }
}

fuzz_target!(|input: &[u8]| {
    let [split, limit, stream @ ..] = input else {
        return;
    };
    let max = (*limit != 0).then_some(usize::from(*limit));
    let at = usize::from(*split) * stream.len() / 255;
    let (a, b) = stream.split_at(at.min(stream.len()));

    let whole = run(max, [stream]);
    let halves = run(max, [a, b]);
    assert_eq!(whole, halves, "split at {at}");
    let bytes = run(max, stream.chunks(1));
    assert_eq!(whole, bytes, "byte by byte");
});
