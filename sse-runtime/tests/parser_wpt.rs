//! The intent of the web-platform-tests `eventsource/format-*` cases, run
//! against [`EventStreamParser`] with every way of chunking the input: whole,
//! split in two at every byte boundary, split in three at every pair of
//! boundaries (short inputs), and one byte at a time. Every chunking must give
//! the same result.

use std::time::Duration;

use sse_runtime::parse::{EventStreamParser, ParseError, ReceivedEvent, DEFAULT_MAX_EVENT_SIZE};

/// Everything observable after parsing a complete stream.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<ReceivedEvent>,
    error: Option<ParseError>,
    last_event_id: String,
    retry: Option<Duration>,
    discarded: bool,
}

fn run(chunks: &[&[u8]], max: usize) -> Outcome {
    let mut parser = EventStreamParser::with_max_event_size(max);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(err) = parser.feed_into(chunk, &mut events) {
            error = Some(err);
            break;
        }
    }
    let last_event_id = parser.last_event_id().to_owned();
    let retry = parser.retry();
    let discarded = error.is_none() && parser.finish();
    Outcome {
        events,
        error,
        last_event_id,
        retry,
        discarded,
    }
}

/// Parses `input` with every chunking and asserts they all agree; returns the
/// common outcome.
fn parse_all_ways_with(input: &[u8], max: usize) -> Outcome {
    let whole = run(&[input], max);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(&[a, b], max), whole, "split at {i} of {input:?}");
    }
    if input.len() <= 80 {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let chunks = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(run(&chunks, max), whole, "split at {i}, {j} of {input:?}");
            }
        }
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes, max), whole, "byte by byte: {input:?}");
    // Interleaved empty chunks change nothing either.
    let with_empty: Vec<&[u8]> = input.chunks(1).flat_map(|c| [c, &[][..]]).collect();
    assert_eq!(run(&with_empty, max), whole, "with empty chunks: {input:?}");
    whole
}

fn parse_all_ways(input: &[u8]) -> Outcome {
    let outcome = parse_all_ways_with(input, DEFAULT_MAX_EVENT_SIZE);
    assert_eq!(outcome.error, None);
    outcome
}

fn data(outcome: &Outcome) -> Vec<&str> {
    outcome.events.iter().map(|e| e.data.as_str()).collect()
}

fn ids(outcome: &Outcome) -> Vec<&str> {
    outcome.events.iter().map(|e| e.id.as_str()).collect()
}

fn types(outcome: &Outcome) -> Vec<&str> {
    outcome.events.iter().map(|e| e.event.as_str()).collect()
}

// format-bom

#[test]
fn bom_is_stripped_once() {
    let out = parse_all_ways("\u{FEFF}data: 1\n\n\u{FEFF}data: 2\n\ndata: 3\n\n".as_bytes());
    // The second BOM is not at the start of the stream: "\u{FEFF}data" is an
    // unknown field, so event 2 has no data and is not dispatched.
    assert_eq!(data(&out), ["1", "3"]);
}

// format-bom-2

#[test]
fn double_bom_makes_the_first_field_unknown() {
    let out = parse_all_ways("\u{FEFF}\u{FEFF}data: 1\n\ndata: 2\n\ndata: 3\n\n".as_bytes());
    assert_eq!(data(&out), ["2", "3"]);
}

#[test]
fn bom_before_a_comment_and_a_blank_line() {
    let out = parse_all_ways("\u{FEFF}: hi\n\u{FEFF}\ndata: x\n\n".as_bytes());
    // Line 2 is "\u{FEFF}" alone: a field named U+FEFF, ignored.
    assert_eq!(data(&out), ["x"]);
    let out = parse_all_ways("\u{FEFF}\ndata: y\n\n".as_bytes());
    assert_eq!(data(&out), ["y"]);
}

// format-comments

#[test]
fn comments_everywhere() {
    let long = "x".repeat(2048);
    let input =
        format!("data:1\r:\0\n:\r\ndata:2\n:{long}\rdata:3\n:data:fail\r:{long}\ndata:4\n\n");
    let out = parse_all_ways(input.as_bytes());
    assert_eq!(data(&out), ["1\n2\n3\n4"]);
}

#[test]
fn comment_only_stream() {
    let out = parse_all_ways(b": a\n:b\r\n:\r\n\n:\n\n");
    assert!(out.events.is_empty());
    assert!(!out.discarded);
}

// format-data-before-final-empty-line

#[test]
fn unterminated_final_event_is_discarded() {
    let out = parse_all_ways(b"retry:1000\ndata:test1\n\nid:test\ndata:test2");
    assert_eq!(data(&out), ["test1"]);
    assert_eq!(out.retry, Some(Duration::from_millis(1000)));
    // The id of the discarded event never became the last event ID.
    assert_eq!(out.last_event_id, "");
    assert!(out.discarded);

    // Even with the line terminated, without the blank line nothing dispatches.
    let out = parse_all_ways(b"data:test1\n\ndata:test2\n");
    assert_eq!(data(&out), ["test1"]);
    assert!(out.discarded);
}

// format-field-data

#[test]
fn data_field_forms() {
    let out = parse_all_ways(b"data:\n\ndata\ndata\n\ndata:test\n\n");
    // "data:" and "data" both append an empty line.
    assert_eq!(data(&out), ["", "\n", "test"]);
}

#[test]
fn multiple_data_lines_are_joined_with_lf() {
    let out = parse_all_ways(b"data: a\ndata: b\r\ndata: c\rdata:\ndata: d\n\n");
    assert_eq!(data(&out), ["a\nb\nc\n\nd"]);
}

// format-field-event

#[test]
fn event_field_sets_the_type_of_one_event() {
    let out = parse_all_ways(b"event:test\ndata:x\n\ndata:x\n\n");
    assert_eq!(types(&out), ["test", "message"]);
    // The last event field wins; types are case-sensitive and can be anything.
    let out = parse_all_ways("event: a\nevent: Übung ✓\ndata: y\n\n".as_bytes());
    assert_eq!(types(&out), ["Übung ✓"]);
}

// format-field-event-empty

#[test]
fn empty_event_type_means_message() {
    let out =
        parse_all_ways(b"event: \ndata:data\n\nevent\ndata:data\n\nevent:x\nevent:\ndata:d\n\n");
    assert_eq!(types(&out), ["message", "message", "message"]);
}

#[test]
fn event_type_without_data_is_forgotten() {
    let out = parse_all_ways(b"event: lost\n\ndata: x\n\n");
    assert_eq!(types(&out), ["message"]);
}

// format-field-id

#[test]
fn id_field_sets_last_event_id() {
    let out = parse_all_ways("id: …\ndata: hello\n\n".as_bytes());
    assert_eq!(ids(&out), ["…"]);
    assert_eq!(out.last_event_id, "…");
}

// format-field-id-2 / format-field-id-3

#[test]
fn id_persists() {
    let out = parse_all_ways(b"id: 1\ndata: a\n\ndata: b\n\n");
    assert_eq!(ids(&out), ["1", "1"]);
    assert_eq!(out.last_event_id, "1");
}

#[test]
fn id_changes_and_persists() {
    let out = parse_all_ways(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\ndata: c\n\n");
    assert_eq!(ids(&out), ["1", "2", "2"]);
    assert_eq!(out.last_event_id, "2");
}

#[test]
fn id_resets_with_empty_value() {
    let out = parse_all_ways(b"id: 1\ndata: a\n\nid:\ndata: b\n\ndata: c\n\n");
    assert_eq!(ids(&out), ["1", "", ""]);
    assert_eq!(out.last_event_id, "");
}

#[test]
fn id_resets_without_colon() {
    let out = parse_all_ways(b"id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\n");
    assert_eq!(ids(&out), ["1", "", ""]);
}

#[test]
fn id_on_a_blank_event_still_counts() {
    // An id followed by a blank line without data updates the last event ID.
    let out = parse_all_ways(b"id: 1\n\ndata: a\n\n");
    assert_eq!(ids(&out), ["1"]);
}

#[test]
fn id_keeps_spaces_after_the_first() {
    let out = parse_all_ways(b"id:  x \ndata: a\n\n");
    assert_eq!(ids(&out), [" x "]);
}

// format-field-id-null

#[test]
fn id_with_nul_is_ignored() {
    let out =
        parse_all_ways(b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid: \0\ndata: c\n\nid:\0x\n\n");
    assert_eq!(ids(&out), ["1", "1", "1"]);
    assert_eq!(out.last_event_id, "1");
}

#[test]
fn id_with_nul_does_not_reset() {
    let out = parse_all_ways(b"id: 1\nid: \0\ndata: a\n\n");
    assert_eq!(ids(&out), ["1"]);
}

// format-field-retry

#[test]
fn retry_field() {
    let out = parse_all_ways(b"retry:3000\ndata:x\n\n");
    assert_eq!(out.retry, Some(Duration::from_millis(3000)));
    let out = parse_all_ways(b"retry: 3000\n");
    assert_eq!(out.retry, Some(Duration::from_millis(3000)));
    // Applies immediately, without a blank line, and the last one wins.
    let out = parse_all_ways(b"retry: 1\nretry: 0");
    assert_eq!(out.retry, Some(Duration::from_millis(1)));
    let out = parse_all_ways(b"retry: 1\nretry: 0\r");
    assert_eq!(out.retry, Some(Duration::from_millis(0)));
}

// format-field-retry-bogus

#[test]
fn bogus_retry_is_ignored() {
    for bogus in [
        "1000x", "x1000", "  1000", "1000 ", "10.0", "-10", "+10", "1e3", "0x10", "١٠",
    ] {
        let input = format!("retry:3000\nretry:{bogus}\ndata:x\n\n");
        let out = parse_all_ways(input.as_bytes());
        assert_eq!(out.retry, Some(Duration::from_millis(3000)), "{bogus:?}");
        assert_eq!(data(&out), ["x"]);
    }
}

#[test]
fn huge_retry_saturates() {
    let out = parse_all_ways(b"retry: 123456789012345678901234567890\n");
    assert_eq!(out.retry, Some(Duration::from_millis(u64::MAX)));
}

// format-field-retry-empty

#[test]
fn empty_retry_is_ignored() {
    let out = parse_all_ways(b"retry\ndata:test\n\nretry:\nretry: \n");
    assert_eq!(out.retry, None);
    assert_eq!(data(&out), ["test"]);
}

// format-field-unknown

#[test]
fn unknown_fields_are_ignored() {
    let out = parse_all_ways(
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
    );
    assert_eq!(data(&out), ["test\n\ntest"]);
}

#[test]
fn field_names_are_exact() {
    let out = parse_all_ways(b"DATA: a\nData: b\ndata : c\ndat: d\ndataa: e\n data: f\n\n");
    assert!(out.events.is_empty());
}

// format-leading-space

#[test]
fn only_one_leading_space_is_removed() {
    let out = parse_all_ways(b"data:\x20\x20test\n\ndata:test\n\ndata: \ttest\n\ndata:\x20\n\n");
    assert_eq!(data(&out), ["\x20test", "test", "\ttest", ""]);
}

#[test]
fn trailing_spaces_are_kept() {
    let out = parse_all_ways(b"data: a  \n\n");
    assert_eq!(data(&out), ["a  "]);
}

// format-newlines

#[test]
fn mixed_line_endings() {
    let out = parse_all_ways(b"data:test\r\ndata\ndata:test\r\n\r");
    assert_eq!(data(&out), ["test\n\ntest"]);
}

#[test]
fn every_line_ending_pair() {
    let endings: [&[u8]; 3] = [b"\r", b"\n", b"\r\n"];
    for first in endings {
        for second in endings {
            for third in endings {
                if second == b"\r" && third.starts_with(b"\n") {
                    continue; // CR + LF would be a single line ending
                }
                let mut input = b"data: a".to_vec();
                input.extend_from_slice(first);
                input.extend_from_slice(b"data: b");
                input.extend_from_slice(second);
                input.extend_from_slice(third);
                let out = parse_all_ways(&input);
                assert_eq!(data(&out), ["a\nb"], "{input:?}");
            }
        }
    }
}

#[test]
fn lf_cr_is_two_line_endings() {
    // "\n\r" is LF then CR: a blank line, not one line ending.
    let out = parse_all_ways(b"data: a\n\rdata: b\r\r");
    assert_eq!(data(&out), ["a", "b"]);
}

#[test]
fn cr_cr_lf() {
    // CR, then CRLF: a line ending and a blank line.
    let out = parse_all_ways(b"data: a\r\r\ndata: b\r\n\r\n");
    assert_eq!(data(&out), ["a", "b"]);
}

// format-null-character

#[test]
fn nul_in_data_is_kept() {
    let out = parse_all_ways(b"data:\0\n\n\n\n");
    assert_eq!(data(&out), ["\0"]);
    let out = parse_all_ways(b"data: a\0b\0\n\n");
    assert_eq!(data(&out), ["a\0b\0"]);
}

#[test]
fn nul_in_event_type_is_kept() {
    let out = parse_all_ways(b"event: a\0\ndata: x\n\n");
    assert_eq!(types(&out), ["a\0"]);
}

// format-utf-8

#[test]
fn utf8_is_decoded() {
    let out = parse_all_ways(b"data:ok\xE2\x80\xA6\n\n");
    assert_eq!(data(&out), ["ok…"]);
    let out = parse_all_ways("data: 日本語 ✓ 😀 é\n\n".as_bytes());
    assert_eq!(data(&out), ["日本語 ✓ 😀 é"]);
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    let cases: &[(&[u8], &str)] = &[
        (b"\xFF", "\u{FFFD}"),
        (b"a\x80b", "a\u{FFFD}b"),
        // Truncated sequences (before the line end): one U+FFFD each.
        (b"\xC3", "\u{FFFD}"),
        (b"\xE2\x82", "\u{FFFD}"),
        (b"\xF0\x9F\x98", "\u{FFFD}"),
        (b"\xE2\x82x", "\u{FFFD}x"),
        // Overlong, surrogate and out-of-range encodings: one U+FFFD per byte.
        (b"\xC0\xAF", "\u{FFFD}\u{FFFD}"),
        (b"\xED\xA0\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\xF4\x90\x80\x80", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}"),
        (b"\xF5", "\u{FFFD}"),
        // A valid character right after an invalid byte survives.
        (b"\xE2\xC3\xA9", "\u{FFFD}é"),
    ];
    for (bytes, expected) in cases {
        let mut input = b"data: ".to_vec();
        input.extend_from_slice(bytes);
        input.extend_from_slice(b"\n\n");
        let out = parse_all_ways(&input);
        assert_eq!(data(&out), [*expected], "{bytes:?}");
    }
}

#[test]
fn line_ending_inside_a_multibyte_sequence() {
    // E2 | CR | 82 AC: the CR ends the line, leaving a truncated sequence on
    // either side; the second line's field name is invalid, so it is ignored.
    let out = parse_all_ways(b"data: \xE2\r\x82\xAC\n\n");
    assert_eq!(data(&out), ["\u{FFFD}"]);
}

#[test]
fn invalid_utf8_in_field_names_is_not_a_known_field() {
    let out = parse_all_ways(b"d\xFFata: x\ndata\xC3: y\n\n");
    assert!(out.events.is_empty());
}

// The parser's resource limit (not part of the WPT suite).

#[test]
fn never_ending_line_is_an_error() {
    let mut input = b"data: ok\n\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 200));
    let out = parse_all_ways_with(&input, 64);
    assert_eq!(out.error, Some(ParseError::EventTooLarge { limit: 64 }));
    assert_eq!(data(&out), ["ok"]);
}

#[test]
fn never_ending_event_is_an_error() {
    let input = b"data: 0123456789\n".repeat(10);
    let out = parse_all_ways_with(&input, 64);
    assert_eq!(out.error, Some(ParseError::EventTooLarge { limit: 64 }));
    assert!(out.events.is_empty());
}

#[test]
fn limit_is_independent_of_chunking_at_the_boundary() {
    // Lines and events right at the limit pass, one byte more fails, however
    // the input is split (parse_all_ways_with compares every split).
    for max in 8..24 {
        for len in 0..24usize {
            let mut input = b"data:".to_vec();
            input.extend(std::iter::repeat_n(b'y', len));
            input.extend_from_slice(b"\r\ndata:z\n\n");
            let out = parse_all_ways_with(&input, max);
            // Line 1 is 5 + len bytes; then the data buffer holds len + 1
            // bytes while line 2 (6 bytes) is checked: len + 7 is the peak.
            let fits = len + 7 <= max;
            assert_eq!(out.error.is_none(), fits, "max {max}, len {len}");
            if fits {
                assert_eq!(out.events.len(), 1);
            }
        }
    }
}

#[test]
fn default_limit_is_one_mebibyte() {
    assert_eq!(DEFAULT_MAX_EVENT_SIZE, 1 << 20);
    let mut parser = EventStreamParser::new();
    let mut line = b"data:".to_vec();
    line.resize(DEFAULT_MAX_EVENT_SIZE, b'a');
    assert!(parser.feed(&line).is_ok());
    assert_eq!(
        parser.feed(b"a"),
        Err(ParseError::EventTooLarge {
            limit: DEFAULT_MAX_EVENT_SIZE
        })
    );
    // Feeding more after the error does not panic and keeps failing.
    assert!(parser.feed(&[b'b'; 4096]).is_err());
    assert!(parser.feed(b"\n\ndata: x\n\n").is_err());
    // A new stream works again.
    assert!(parser.finish());
    assert_eq!(parser.feed(b"data: x\n\n").unwrap().len(), 1);
}
