use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::{stream, StreamExt};

use super::*;

fn ev(event: &str, data: &str, id: &str) -> ReceivedEvent {
    ReceivedEvent {
        event: event.to_owned(),
        data: data.to_owned(),
        id: id.to_owned(),
    }
}

/// Feeds `chunks` one after the other, then finishes the stream.
fn parse_chunks(chunks: &[&[u8]]) -> Vec<ReceivedEvent> {
    let mut parser = EventStreamParser::new();
    let mut out = Vec::new();
    for chunk in chunks {
        parser.feed_into(chunk, &mut out).unwrap();
    }
    parser.finish();
    out
}

#[test]
fn single_event() {
    assert_eq!(parse_chunks(&[b"data: x\n\n"]), [ev("message", "x", "")]);
}

#[test]
fn empty_input_and_empty_chunks() {
    assert!(parse_chunks(&[]).is_empty());
    assert!(parse_chunks(&[b"", b"", b""]).is_empty());
    assert_eq!(
        parse_chunks(&[b"", b"data: x", b"", b"\n", b"", b"\n", b""]),
        [ev("message", "x", "")]
    );
}

#[test]
fn cr_at_chunk_end_then_empty_chunk_then_lf() {
    // The pending "skip LF" must survive an empty chunk.
    let events = parse_chunks(&[b"data: a\r", b"", b"\n", b"data: b\n\n"]);
    assert_eq!(events, [ev("message", "a\nb", "")]);
}

#[test]
fn cr_at_chunk_end_then_cr() {
    // CR CR is two line endings: the second one dispatches.
    assert_eq!(
        parse_chunks(&[b"data: a\r", b"\r"]),
        [ev("message", "a", "")]
    );
}

#[test]
fn lf_after_cr_only_skipped_once() {
    // CR | LF LF: the first LF belongs to the CR, the second is a blank line.
    assert_eq!(
        parse_chunks(&[b"data: a\r", b"\n\n"]),
        [ev("message", "a", "")]
    );
    // CR | LF | LF: same.
    assert_eq!(
        parse_chunks(&[b"data: a\r", b"\n", b"\n"]),
        [ev("message", "a", "")]
    );
}

#[test]
fn bom_split_across_chunks() {
    let events = parse_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: 1\n\n"]);
    assert_eq!(events, [ev("message", "1", "")]);
}

#[test]
fn bom_only_before_first_line() {
    // A BOM at the start of the second line is part of the field name.
    assert!(parse_chunks(&[b"\n\xEF\xBB\xBFdata: 1\n\n"]).is_empty());
}

#[test]
fn truncated_bom_is_replacement_characters() {
    // EF BB is an incomplete sequence: one U+FFFD, then the rest of the line.
    // That makes the field name "\u{FFFD}data", which is ignored.
    assert!(parse_chunks(&[b"\xEF\xBBdata: 1\n\n"]).is_empty());
    assert_eq!(
        parse_chunks(&[b"data: \xEF\xBB\n\n"]),
        [ev("message", "\u{FFFD}", "")]
    );
}

#[test]
fn utf8_sequence_split_across_chunks() {
    let text = "data: ä€😀\n\n".as_bytes();
    for split in 0..=text.len() {
        let (a, b) = text.split_at(split);
        assert_eq!(parse_chunks(&[a, b]), [ev("message", "ä€😀", "")]);
    }
}

#[test]
fn incomplete_utf8_before_line_end_is_replaced() {
    // "€" is E2 82 AC; only the first two bytes arrive before the LF.
    assert_eq!(
        parse_chunks(&[b"data: \xE2\x82", b"\n\n"]),
        [ev("message", "\u{FFFD}", "")]
    );
}

#[test]
fn invalid_utf8_in_every_field() {
    let events = parse_chunks(&[b"event: a\xFFb\nid: \xC0\ndata: \xF0\x9F\x98\n\n"]);
    assert_eq!(events, [ev("a\u{FFFD}b", "\u{FFFD}", "\u{FFFD}")]);
}

#[test]
fn field_names_are_case_sensitive_and_exact() {
    assert!(parse_chunks(&[b"Data: x\n\nDATA: x\n\ndata : x\n\n data: x\n\n"]).is_empty());
}

#[test]
fn colon_in_value_is_kept() {
    assert_eq!(
        parse_chunks(&[b"data: a: b:c\n\n"]),
        [ev("message", "a: b:c", "")]
    );
}

#[test]
fn only_one_space_removed_and_no_tabs() {
    assert_eq!(
        parse_chunks(&[b"data:  two\n\ndata:\tTab\n\n"]),
        [ev("message", " two", ""), ev("message", "\tTab", "")]
    );
}

#[test]
fn event_type_reset_after_dispatch_and_blank_line() {
    let events = parse_chunks(&[b"event: a\ndata: 1\n\ndata: 2\n\nevent: b\n\ndata: 3\n\n"]);
    assert_eq!(
        events,
        [
            ev("a", "1", ""),
            ev("message", "2", ""),
            ev("message", "3", "")
        ]
    );
}

#[test]
fn last_event_id_persists_and_resets() {
    let mut parser = EventStreamParser::new();
    let events = parser
        .feed(b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n")
        .unwrap();
    assert_eq!(
        events,
        [
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", ""),
            ev("message", "d", "2"),
        ]
    );
    assert_eq!(parser.last_event_id(), "2");
}

#[test]
fn id_with_nul_is_ignored() {
    let mut parser = EventStreamParser::new();
    let events = parser
        .feed(b"id: ok\ndata: 1\n\nid: b\0d\ndata: 2\n\n")
        .unwrap();
    assert_eq!(events[1].id, "ok");
    assert_eq!(parser.last_event_id(), "ok");
}

#[test]
fn id_is_committed_only_by_a_blank_line() {
    let mut parser = EventStreamParser::new();
    parser.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n").unwrap();
    assert_eq!(parser.last_event_id(), "1");
    assert!(parser.finish());
    assert_eq!(parser.last_event_id(), "1");
    // The uncommitted "2" is forgotten on the next connection.
    let events = parser.feed(b"data: c\n\n").unwrap();
    assert_eq!(events, [ev("message", "c", "1")]);
}

#[test]
fn retry_values() {
    let mut parser = EventStreamParser::new();
    let cases: &[(&[u8], Option<u64>)] = &[
        (b"retry: 10\n", Some(10)),
        (b"retry:20\n", Some(20)),
        (b"retry: 0\n", Some(0)),
        (b"retry: \n", Some(0)),
        (b"retry\n", Some(0)),
        (b"retry: -1\n", Some(0)),
        (b"retry: 1.5\n", Some(0)),
        (b"retry:  30\n", Some(0)),
        (b"retry: 30 \n", Some(0)),
        (b"retry: \xD9\xA1\n", Some(0)), // ARABIC-INDIC DIGIT ONE is not ASCII
        (b"retry: 007\n", Some(7)),
    ];
    for (line, expected) in cases {
        parser.feed(line).unwrap();
        assert_eq!(
            parser.retry(),
            expected.map(Duration::from_millis),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn retry_overflow_saturates() {
    let mut parser = EventStreamParser::new();
    parser
        .feed(b"retry: 99999999999999999999999999999999999999\n")
        .unwrap();
    assert_eq!(parser.retry(), Some(Duration::from_millis(u64::MAX)));
    parser.feed(b"retry: 18446744073709551615\n").unwrap();
    assert_eq!(parser.retry(), Some(Duration::from_millis(u64::MAX)));
    parser.feed(b"retry: 18446744073709551614\n").unwrap();
    assert_eq!(parser.retry(), Some(Duration::from_millis(u64::MAX - 1)));
}

#[test]
fn retry_survives_finish() {
    let mut parser = EventStreamParser::new();
    parser.feed(b"retry: 5\n").unwrap();
    assert!(!parser.finish());
    assert_eq!(parser.retry(), Some(Duration::from_millis(5)));
}

#[test]
fn finish_reports_discarded_input() {
    let mut parser = EventStreamParser::new();
    assert!(!parser.finish());
    parser.feed(b"data: x\n\n").unwrap();
    assert!(!parser.finish());
    parser.feed(b"event: only-a-type\n").unwrap();
    assert!(!parser.finish(), "no data pending: nothing would dispatch");
    parser.feed(b"data").unwrap();
    assert!(parser.finish());
    parser.feed(b"data\n").unwrap();
    assert!(parser.finish());
}

#[test]
fn finish_allows_a_bom_again() {
    let mut parser = EventStreamParser::new();
    parser.feed(b"\xEF\xBB\xBFdata: 1\n\n").unwrap();
    parser.finish();
    let events = parser.feed(b"\xEF\xBB\xBFdata: 2\n\n").unwrap();
    assert_eq!(events, [ev("message", "2", "")]);
}

#[test]
fn finish_forgets_pending_cr() {
    let mut parser = EventStreamParser::new();
    parser.feed(b"data: 1\n\r").unwrap();
    parser.finish();
    // A new stream starting with LF: that LF is a blank line of its own.
    let events = parser.feed(b"\ndata: 2\n\n").unwrap();
    assert_eq!(events, [ev("message", "2", "")]);
}

#[test]
fn max_event_size_partial_line() {
    let mut parser = EventStreamParser::with_max_event_size(10);
    parser.feed(b"data: 0123").unwrap(); // 10 bytes pending: at the limit, fine
    let err = parser.feed(b"4").unwrap_err();
    assert_eq!(err, ParseError::EventTooLarge { limit: 10 });
    // Failed: more input gives the same error and does not panic.
    assert_eq!(parser.feed(b"\n\ndata: x\n\n"), Err(err.clone()));
    assert_eq!(parser.feed(b""), Err(err));
    // finish() starts over.
    parser.finish();
    assert_eq!(parser.feed(b"data: x\n\n").unwrap().len(), 1);
}

#[test]
fn max_event_size_complete_line_in_one_chunk() {
    let mut parser = EventStreamParser::with_max_event_size(10);
    assert!(parser.feed(b"data: 0123\n\n").is_ok());
    assert!(parser.feed(b"data: 01234\n\n").is_err());
}

#[test]
fn max_event_size_counts_the_data_buffer() {
    // Each line is short, but the event keeps growing.
    let mut parser = EventStreamParser::with_max_event_size(32);
    let mut out = Vec::new();
    let mut result = Ok(());
    for _ in 0..10 {
        result = parser.feed_into(b"data: 0123456789\n", &mut out);
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(ParseError::EventTooLarge { limit: 32 }));
    assert!(out.is_empty());
}

#[test]
fn max_event_size_counts_comments() {
    let mut parser = EventStreamParser::with_max_event_size(100);
    let long_comment = [b':'; 101];
    assert!(parser.feed(&long_comment).is_err());
}

#[test]
fn max_event_size_releases_memory() {
    let mut parser = EventStreamParser::with_max_event_size(1000);
    parser.feed(&[b'x'; 900]).unwrap();
    parser.feed(&[b'x'; 900]).unwrap_err();
    assert_eq!(parser.line.capacity(), 0);
}

#[test]
fn max_event_size_replacement_expansion() {
    // Each invalid byte becomes 3 bytes of U+FFFD in the data buffer; the
    // data buffer check still keeps accepted events below the limit.
    let mut parser = EventStreamParser::with_max_event_size(20);
    let err = parser.feed(b"data:\xFF\xFF\xFF\xFF\xFF\xFF\xFF\n\n");
    assert!(err.is_err());
}

#[test]
fn events_before_the_error_are_delivered_with_feed_into() {
    let mut parser = EventStreamParser::with_max_event_size(16);
    let mut out = Vec::new();
    let result = parser.feed_into(b"data: 1\n\ndata: 2\n\n: 0123456789abcdef\n", &mut out);
    assert!(result.is_err());
    assert_eq!(out, [ev("message", "1", ""), ev("message", "2", "")]);
}

#[test]
fn zero_max_event_size_only_allows_blank_lines() {
    let mut parser = EventStreamParser::with_max_event_size(0);
    assert!(parser.feed(b"\n\r\n\r").is_ok());
    assert!(parser.feed(b"d").is_err());
}

#[test]
fn line_buffer_capacity_is_reused() {
    let mut parser = EventStreamParser::new();
    parser.feed(b"data: aaaaaaaaaaaaaaaa").unwrap();
    parser.feed(b"\n\n").unwrap();
    let capacity = parser.line.capacity();
    assert!(capacity >= 22);
    parser.feed(b"data: bbb").unwrap();
    assert_eq!(parser.line.capacity(), capacity);
}

#[test]
fn json_helper() {
    let events = parse_chunks(&[b"data: {\"a\":\ndata: [1, 2]}\n\ndata: nope\n\n"]);
    let value: serde_json::Value = events[0].json().unwrap();
    assert_eq!(value, serde_json::json!({"a": [1, 2]}));
    assert!(events[1].json::<serde_json::Value>().is_err());
}

#[test]
fn parse_error_display() {
    let err = ParseError::EventTooLarge { limit: 1024 };
    assert_eq!(
        err.to_string(),
        "event stream: event exceeds the maximum size of 1024 bytes"
    );
    let _: &dyn std::error::Error = &err;
}

fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    actix_rt::System::new().block_on(fut)
}

#[test]
fn stream_adapter_yields_events_then_ends() {
    let chunks = stream::iter([
        Ok::<_, Infallible>(Bytes::from_static(b"data: 1\n\ndata: 2\n\nda")),
        Ok(Bytes::from_static(b"ta: 3\r")),
        Ok(Bytes::from_static(b"\n\r\ndata: never")),
    ]);
    let mut events = parse_stream(chunks);
    let got: Vec<_> = block_on((&mut events).map(Result::unwrap).collect());
    assert_eq!(
        got,
        [
            ev("message", "1", ""),
            ev("message", "2", ""),
            ev("message", "3", "")
        ]
    );
    assert!(futures_core::stream::FusedStream::is_terminated(&events));
    assert_eq!(events.size_hint(), (0, Some(0)));
}

#[test]
fn stream_adapter_passes_transport_errors_through() {
    let chunks = stream::iter([
        Ok(&b"data: 1\n\n"[..]),
        Err("boom"),
        Ok(&b"data: 2\n\n"[..]),
    ]);
    let got: Vec<_> = block_on(parse_stream(chunks).collect());
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].as_ref().unwrap().data, "1");
    match &got[1] {
        Err(EventStreamError::Transport(err)) => assert_eq!(*err, "boom"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(got[2].as_ref().unwrap().data, "2");
}

#[test]
fn stream_adapter_parse_error_ends_stream_after_earlier_events() {
    let chunks = stream::iter([
        Ok::<_, Infallible>(&b"data: ok\n\ndata: 0123456789012345678901234567890\n\n"[..]),
        Ok(&b"data: unreachable\n\n"[..]),
    ]);
    let events = EventStream::with_parser(chunks, EventStreamParser::with_max_event_size(16));
    let got: Vec<_> = block_on(events.collect());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].as_ref().unwrap().data, "ok");
    let err = got[1].as_ref().unwrap_err();
    assert!(matches!(err, EventStreamError::Parse(_)));
    assert_eq!(
        err.to_string(),
        "event stream: event exceeds the maximum size of 16 bytes"
    );
}

#[test]
fn stream_adapter_keeps_parser_state() {
    let chunks = stream::iter([Ok::<_, Infallible>(
        &b"retry: 300\nid: 9\ndata: x\n\nid: 10\n"[..],
    )]);
    let mut events = parse_stream(chunks);
    block_on(async { while events.next().await.is_some() {} });
    assert_eq!(events.parser().last_event_id(), "9");
    assert_eq!(events.parser().retry(), Some(Duration::from_millis(300)));
    let parser = events.into_parser();
    assert_eq!(parser.last_event_id(), "9");
}
