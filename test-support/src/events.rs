//! An event stream read over a real connection, parsed by `sse_runtime`'s
//! WHATWG parser: what a browser's `EventSource` would dispatch.
//!
//! The method names follow `sse_runtime::test::SseResponse` (the in-process
//! reader), so a test reads the same either way.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use sse_runtime::parse::{EventStreamParser, ReceivedEvent};

use crate::raw::RawResponse;
use crate::text::lossy;
use crate::wait::STEP;

/// Reads a [`RawResponse`] event by event. Every wait is bounded by a
/// timeout ([`STEP`] unless [`with_timeout`](Self::with_timeout) says
/// otherwise); dropping the reader closes the connection.
///
/// ```
/// use actix_web::{web, App, HttpResponse};
/// use sse_test_support::{serve, RawRequest};
///
/// # actix_web::rt::System::new().block_on(async {
/// let server = serve(|| {
///     App::new().route(
///         "/",
///         web::get().to(|| async {
///             HttpResponse::Ok()
///                 .content_type("text/event-stream")
///                 .body("id: 1\ndata: a\n\nevent: b\ndata: c\n\n")
///         }),
///     )
/// });
/// let response = RawRequest::get("/").send(server.addr()).await.unwrap();
/// let mut events = response.into_events();
/// let all = events.collect_all().await.unwrap();
/// assert_eq!(all[1].event, "b");
/// assert_eq!(all[1].data, "c");
/// assert_eq!(events.last_event_id(), "1");
/// server.stop().await;
/// # });
/// ```
#[derive(Debug)]
pub struct EventReader {
    response: RawResponse,
    parser: EventStreamParser,
    pending: VecDeque<ReceivedEvent>,
    raw: Vec<u8>,
    timeout: Duration,
    ended: bool,
}

impl EventReader {
    /// Reads `response`'s body as an event stream.
    pub fn new(response: RawResponse) -> Self {
        EventReader {
            response,
            parser: EventStreamParser::new(),
            pending: VecDeque::new(),
            raw: Vec::new(),
            timeout: STEP,
            ended: false,
        }
    }

    /// Bounds each wait by `timeout` instead of [`STEP`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The next event; `Ok(None)` once the stream has ended. Cancel-safe.
    ///
    /// # Errors
    /// A connection or framing error, an event larger than the parser's
    /// limit ([`io::ErrorKind::InvalidData`]), or no event within the
    /// timeout ([`io::ErrorKind::TimedOut`], with the bytes received so far).
    pub async fn next_event(&mut self) -> io::Result<Option<ReceivedEvent>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            let chunk = tokio::time::timeout(self.timeout, self.response.next_chunk())
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "no event within {:?}; the stream so far: {:?}",
                            self.timeout,
                            lossy(&self.raw)
                        ),
                    )
                })??;
            let Some(chunk) = chunk else {
                // An event not ended by a blank line is dropped, as the
                // standard says.
                self.parser.finish();
                self.ended = true;
                continue;
            };
            self.raw.extend_from_slice(&chunk);
            let events = self
                .parser
                .feed(&chunk)
                .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))?;
            self.pending.extend(events);
        }
    }

    /// The next event, for a test that expects one: panics, saying why, on
    /// an error (a timeout shows the bytes so far) or if the stream ends.
    #[track_caller]
    pub fn expect_event(&mut self) -> impl std::future::Future<Output = ReceivedEvent> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            match self.next_event().await {
                Ok(Some(event)) => event,
                Ok(None) => panic!("the stream ended (the wait at {caller})"),
                Err(err) => panic!("no event: {err} (the wait at {caller})"),
            }
        }
    }

    /// The next `n` events.
    ///
    /// # Errors
    /// As [`next_event`](Self::next_event), and
    /// [`io::ErrorKind::UnexpectedEof`] if the stream ends before `n`.
    pub async fn take(&mut self, n: usize) -> io::Result<Vec<ReceivedEvent>> {
        let mut events = Vec::with_capacity(n);
        while events.len() < n {
            match self.next_event().await? {
                Some(event) => events.push(event),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the stream ended after {} of {n} events: {events:?}",
                            events.len()
                        ),
                    ))
                }
            }
        }
        Ok(events)
    }

    /// Every event until the stream ends.
    ///
    /// # Errors
    /// As [`next_event`](Self::next_event).
    pub async fn collect_all(&mut self) -> io::Result<Vec<ReceivedEvent>> {
        let mut events = Vec::new();
        while let Some(event) = self.next_event().await? {
            events.push(event);
        }
        Ok(events)
    }

    /// The events parsed already and not handed out yet, without waiting:
    /// what a browser would have dispatched before the connection dropped.
    pub fn take_received(&mut self) -> Vec<ReceivedEvent> {
        self.pending.drain(..).collect()
    }

    /// Whether the stream has ended and every event was handed out.
    pub fn is_ended(&self) -> bool {
        self.ended && self.pending.is_empty()
    }

    /// The body bytes received so far, exactly as sent.
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The stream's last event ID (`""` before any).
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The last `retry` hint received.
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The response: status, headers, times.
    pub fn response(&self) -> &RawResponse {
        &self.response
    }

    /// The response, to read on without the parser or to leave
    /// ([`RawResponse::reset`], [`RawResponse::half_close`]).
    pub fn into_response(self) -> RawResponse {
        self.response
    }
}

/// The complete events in `body` (an event stream's bytes, e.g. a body
/// read with [`RawResponse::body_until_closed`]), parsed by
/// `sse_runtime`'s parser; an event not ended by a blank line is left out,
/// as a browser leaves it out.
///
/// ```
/// let events = sse_test_support::parse_events(b"data: a\n\ndata: b\n\ndata: cut").unwrap();
/// assert_eq!(events.len(), 2);
/// assert_eq!(events[1].data, "b");
/// ```
///
/// # Errors
/// [`io::ErrorKind::InvalidData`] for an event larger than the parser's
/// limit.
pub fn parse_events(body: &[u8]) -> io::Result<Vec<ReceivedEvent>> {
    EventStreamParser::new()
        .feed(body)
        .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err.to_string()))
}
