//! An SSE client in Rust: reads a URL's events through the crate's WHATWG
//! parser (`sse_runtime::parse`, feature `parser`) and reconnects the way a
//! browser's `EventSource` does: after the server's `retry:` delay (3 s
//! until it sends one), with `Last-Event-ID` set to the last id seen.
//!
//! ```text
//! cargo run -p sse-examples --example rooms                      # in one terminal
//! cargo run -p sse-examples --example client -- http://127.0.0.1:8080/rooms/lobby 5
//! ```
//!
//! Arguments: the URL (default `http://127.0.0.1:8080/events/updates`, the
//! `hello` example) and how many events to print before stopping (default:
//! until Ctrl-C). One line per event: `EVENT id="ID" data="DATA"`. Like
//! `EventSource`, it stops for good on `204 No Content` (how a server says
//! "finished", e.g. after a stream's `id: sse-end`) and on any other
//! status than `200`. It stands in for the guides' Dart clients
//! (`examples/src/revali.rs`), with parsed events instead of raw chunks.

use std::process::ExitCode;
use std::time::Duration;

use sse_runtime::parse::EventStreamParser;

/// What a browser waits before reconnecting until the server says otherwise.
const DEFAULT_RETRY: Duration = Duration::from_secs(3);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080/events/updates".to_owned());
    let limit = args.next().map(|n| n.parse::<usize>());
    let Ok(limit) = limit.transpose() else {
        eprintln!("usage: client [URL [NUMBER-OF-EVENTS]]");
        return ExitCode::from(2);
    };
    tokio::select! {
        result = read(&url, limit.unwrap_or(usize::MAX)) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("client: {message}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
    }
}

/// Prints `limit` events of `url`, reconnecting as often as it takes.
async fn read(url: &str, limit: usize) -> Result<(), String> {
    let client = reqwest::Client::new();
    // One parser for every connection: it keeps the last id and `retry`.
    let mut parser = EventStreamParser::new();
    let mut printed = 0;
    loop {
        let mut request = client.get(url).header("accept", "text/event-stream");
        if !parser.last_event_id().is_empty() {
            request = request.header("last-event-id", parser.last_event_id());
        }
        match request.send().await {
            Ok(response) if response.status() == 204 => {
                println!("(204: the server has nothing more)");
                return Ok(());
            }
            Ok(response) if response.status() != 200 || !is_event_stream(&response) => {
                let kind = response.headers().get("content-type");
                return Err(format!("{url} answered {} ({kind:?})", response.status()));
            }
            Ok(mut response) => loop {
                match response.chunk().await {
                    Ok(Some(chunk)) => {
                        let events = parser.feed(&chunk).map_err(|err| err.to_string())?;
                        for event in events {
                            println!("{} id={:?} data={:?}", event.event, event.id, event.data);
                            printed += 1;
                            if printed == limit {
                                return Ok(());
                            }
                        }
                    }
                    Ok(None) => break,
                    Err(err) => {
                        eprintln!("connection lost: {err}");
                        break;
                    }
                }
            },
            Err(err) => eprintln!("cannot connect: {err}"),
        }
        // An event cut off by the end of the connection is dropped.
        parser.finish();
        let wait = parser.retry().unwrap_or(DEFAULT_RETRY);
        eprintln!(
            "reconnecting in {wait:?} (Last-Event-ID: {:?})",
            parser.last_event_id()
        );
        tokio::time::sleep(wait).await;
    }
}

/// Whether the answer is an event stream (`EventSource` refuses others).
fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"))
}
