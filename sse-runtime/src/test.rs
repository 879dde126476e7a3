//! In-process test helpers: call an actix-web service and read its event
//! stream as parsed [`ReceivedEvent`]s, without a network socket.
//!
//! Cargo feature `testing` (which turns on `parser`), usually for tests
//! only:
//!
//! ```toml
//! [dev-dependencies]
//! sse-runtime = { version = "0.1", features = ["testing"] }
//! ```
//!
//! Build the app with [`actix_web::test::init_service`], then either
//!
//! * use the one-shot helpers [`events`] (the first `n` events) and
//!   [`all_events`] (every event until the stream ends), or
//! * [`call`] the service to get an [`SseResponse`] and read it step by step:
//!   [`status`](SseResponse::status), [`headers`](SseResponse::headers),
//!   [`next_event`](SseResponse::next_event), [`take`](SseResponse::take),
//!   [`collect_all`](SseResponse::collect_all),
//!   [`collect_for`](SseResponse::collect_for) and the exact
//!   [`raw_bytes`](SseResponse::raw_bytes) received.
//!
//! Nothing here can hang a test: every wait is bounded by a timeout
//! ([`DEFAULT_TIMEOUT`] unless configured) and ends with
//! [`TestError::Timeout`], which lists the events received so far. Infinite
//! streams can therefore be sampled with [`take`](SseResponse::take) or
//! [`collect_for`](SseResponse::collect_for); dropping the [`SseResponse`]
//! (or calling [`disconnect`](SseResponse::disconnect)) drops the response
//! body, exactly like a client disconnecting.
//!
//! The helpers use tokio timers, so they must run inside the actix/tokio
//! runtime, e.g. in an `#[actix_web::test]` function.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use actix_web::{test, web, App, HttpResponse};
//! use bytes::Bytes;
//! use futures_util::stream;
//! use sse_runtime::test::{call, events};
//!
//! async fn ticks() -> HttpResponse {
//!     // An infinite stream: `0`, `1`, `2`, ...
//!     let body = stream::unfold(0u64, |n| async move {
//!         let frame = format!("id: {n}\nevent: tick\ndata: {{\"n\": {n}}}\n\n");
//!         Some((Ok::<_, Infallible>(Bytes::from(frame)), n + 1))
//!     });
//!     HttpResponse::Ok().content_type("text/event-stream").streaming(body)
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! let app = test::init_service(App::new().route("/ticks", web::get().to(ticks))).await;
//!
//! // One-shot: the first three events, within one second.
//! let req = test::TestRequest::get().uri("/ticks").to_request();
//! let first = events(&app, req, 3, Duration::from_secs(1)).await.unwrap();
//! assert_eq!(first[2].id, "2");
//!
//! // Step by step.
//! let req = test::TestRequest::get().uri("/ticks").to_request();
//! let mut res = call(&app, req).await.unwrap().expect_event_stream().unwrap();
//! assert_eq!(res.status(), 200);
//! let tick = res.next_event().await.unwrap().expect("stream ended");
//! assert_eq!(tick.event, "tick");
//! #[derive(serde::Deserialize)]
//! struct Tick { n: u64 }
//! assert_eq!(tick.json::<Tick>().unwrap().n, 0);
//! assert_eq!(res.take(2).await.unwrap().len(), 2);
//! assert_eq!(res.last_event_id(), "2");
//! assert!(res.raw_bytes().starts_with(b"id: 0\nevent: tick\n"));
//! res.disconnect(); // drops the infinite body stream
//! # });
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{self, AsHeaderName, HeaderMap};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use futures_util::future::poll_fn;
use tokio::time::{timeout_at, Instant};

use crate::parse::{EventStreamParser, ParseError, ReceivedEvent};

/// The timeout used by [`call`] and by a new [`SseResponse`]: 5 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Calls `app` with `req` and wraps the response in an [`SseResponse`].
///
/// Waiting for the response is bounded by [`DEFAULT_TIMEOUT`], which is also
/// the [`timeout`](SseResponse::timeout) of the returned response. The
/// response is returned whatever its status and content type; see
/// [`SseResponse::expect_event_stream`] to check them.
///
/// ```
/// use actix_web::{test, web, App, HttpResponse};
/// use sse_runtime::test::call;
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(
///     App::new().route("/", web::get().to(|| async { HttpResponse::NotFound().finish() })),
/// )
/// .await;
/// let res = call(&app, test::TestRequest::get().uri("/").to_request()).await.unwrap();
/// assert_eq!(res.status(), 404);
/// assert!(res.expect_event_stream().is_err());
/// # });
/// ```
pub async fn call<S, R, B, E>(app: &S, req: R) -> Result<SseResponse, TestError>
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: Into<actix_web::Error>,
    B: MessageBody + 'static,
{
    call_with_timeout(app, req, DEFAULT_TIMEOUT).await
}

/// Like [`call`], with `timeout` for the response and as the returned
/// response's [`timeout`](SseResponse::timeout).
pub async fn call_with_timeout<S, R, B, E>(
    app: &S,
    req: R,
    timeout: Duration,
) -> Result<SseResponse, TestError>
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: Into<actix_web::Error>,
    B: MessageBody + 'static,
{
    let deadline = Instant::now() + timeout;
    call_until(app, req, deadline, timeout)
        .await
        .map(|res| res.with_timeout(timeout))
}

async fn call_until<S, R, B, E>(
    app: &S,
    req: R,
    deadline: Instant,
    timeout: Duration,
) -> Result<SseResponse, TestError>
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: Into<actix_web::Error>,
    B: MessageBody + 'static,
{
    match timeout_at(deadline, app.call(req)).await {
        Ok(Ok(res)) => Ok(SseResponse::new(res)),
        Ok(Err(err)) => Err(TestError::Service(err.into())),
        Err(_elapsed) => Err(TestError::Timeout {
            waiting_for: "the response".to_owned(),
            timeout,
            received: Vec::new(),
        }),
    }
}

/// Calls `app` and returns its first `n` events; the whole exchange
/// (response and events) must complete within `timeout`.
///
/// Fails with [`TestError::UnexpectedStatus`] / [`TestError::NotEventStream`]
/// unless the response is a successful `text/event-stream`, with
/// [`TestError::StreamEnded`] if the stream ends early and with
/// [`TestError::Timeout`] if the events do not arrive in time. The response
/// body is dropped (the client "disconnects") once the events are read.
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use actix_web::{test, web, App, HttpResponse};
/// use bytes::Bytes;
/// use futures_util::stream;
/// use sse_runtime::test::{events, TestError};
///
/// async fn two() -> HttpResponse {
///     let frames = ["data: a\n\n", "data: b\n\n"].map(|f| Ok::<_, Infallible>(Bytes::from(f)));
///     HttpResponse::Ok().content_type("text/event-stream").streaming(stream::iter(frames))
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().route("/", web::get().to(two))).await;
/// let got = events(&app, test::TestRequest::get().to_request(), 2, Duration::from_secs(1))
///     .await
///     .unwrap();
/// assert_eq!(got[1].data, "b");
///
/// let err = events(&app, test::TestRequest::get().to_request(), 3, Duration::from_secs(1))
///     .await
///     .unwrap_err();
/// assert!(matches!(err, TestError::StreamEnded { expected: 3, .. }));
/// # });
/// ```
pub async fn events<S, R, B, E>(
    app: &S,
    req: R,
    n: usize,
    timeout: Duration,
) -> Result<Vec<ReceivedEvent>, TestError>
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: Into<actix_web::Error>,
    B: MessageBody + 'static,
{
    let deadline = Instant::now() + timeout;
    let mut res = call_until(app, req, deadline, timeout)
        .await?
        .expect_event_stream()?;
    res.take_until(n, deadline, timeout).await
}

/// Calls `app` and returns every event until the stream ends; the whole
/// exchange must complete within `timeout`.
///
/// Fails like [`events`], and with [`TestError::Timeout`] if the stream does
/// not end in time (use [`events`] or [`SseResponse::collect_for`] for
/// infinite streams).
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use actix_web::{test, web, App, HttpResponse};
/// use bytes::Bytes;
/// use futures_util::stream;
/// use sse_runtime::test::all_events;
///
/// async fn finite() -> HttpResponse {
///     let body = stream::iter([Ok::<_, Infallible>(Bytes::from("data: 1\n\ndata: 2\n\n"))]);
///     HttpResponse::Ok().content_type("text/event-stream").streaming(body)
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().route("/", web::get().to(finite))).await;
/// let got = all_events(&app, test::TestRequest::get().to_request(), Duration::from_secs(1))
///     .await
///     .unwrap();
/// assert_eq!(got.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["1", "2"]);
/// # });
/// ```
pub async fn all_events<S, R, B, E>(
    app: &S,
    req: R,
    timeout: Duration,
) -> Result<Vec<ReceivedEvent>, TestError>
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: Into<actix_web::Error>,
    B: MessageBody + 'static,
{
    let deadline = Instant::now() + timeout;
    let mut res = call_until(app, req, deadline, timeout)
        .await?
        .expect_event_stream()?;
    res.collect_until(deadline, timeout).await
}

/// A response under test: status, headers and an incrementally read,
/// parsed event stream.
///
/// Created by [`call`] or from any response with [`SseResponse::new`]. Every
/// read waits at most [`timeout`](Self::timeout). The body is read only when
/// events are requested, so a test controls exactly how far the server's
/// stream is driven. Dropping the value drops the body stream.
///
/// See the [module documentation](self) for an example.
#[derive(Debug)]
pub struct SseResponse {
    status: StatusCode,
    headers: HeaderMap,
    /// `None` once the body ended (or failed).
    body: Option<BoxBody>,
    parser: EventStreamParser,
    pending: VecDeque<ReceivedEvent>,
    raw: Vec<u8>,
    timeout: Duration,
    discarded_tail: bool,
}

impl SseResponse {
    /// Wraps a response: a [`ServiceResponse`] (from calling a service) or an
    /// [`HttpResponse`] (e.g. from calling a handler function directly).
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use sse_runtime::test::SseResponse;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let res = HttpResponse::Ok().content_type("text/event-stream").body("data: hi\n\n");
    /// let mut res = SseResponse::new(res);
    /// assert_eq!(res.collect_all().await.unwrap()[0].data, "hi");
    /// # });
    /// ```
    pub fn new<B, T>(response: T) -> Self
    where
        T: Into<HttpResponse<B>>,
        B: MessageBody + 'static,
    {
        let response: HttpResponse<B> = response.into();
        let response = response.map_into_boxed_body();
        let status = response.status();
        let headers = response.headers().clone();
        Self {
            status,
            headers,
            body: Some(response.into_body()),
            parser: EventStreamParser::new(),
            pending: VecDeque::new(),
            raw: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            discarded_tail: false,
        }
    }

    /// Replaces the parser, e.g. with one that has a smaller
    /// [`max_event_size`](EventStreamParser::with_max_event_size). Call it
    /// before reading any event.
    pub fn with_parser(mut self, parser: EventStreamParser) -> Self {
        self.parser = parser;
        self
    }

    /// Sets the [`timeout`](Self::timeout) of subsequent reads.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the [`timeout`](Self::timeout) of subsequent reads.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// The bound on each read: [`next_event`](Self::next_event) waits at most
    /// this long for one event, [`take`](Self::take) and
    /// [`collect_all`](Self::collect_all) at most this long in total.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of the header `name`, if present and valid visible ASCII.
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use sse_runtime::test::SseResponse;
    ///
    /// let res = SseResponse::new(HttpResponse::Ok().insert_header(("x-accel-buffering", "no")).finish());
    /// assert_eq!(res.header("X-Accel-Buffering"), Some("no"));
    /// assert_eq!(res.header("cache-control"), None);
    /// ```
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// The `Content-Type` header, if present.
    pub fn content_type(&self) -> Option<&str> {
        self.header(header::CONTENT_TYPE)
    }

    /// Whether the content type's essence is `text/event-stream` (parameters
    /// such as `; charset=utf-8` allowed, case-insensitive).
    ///
    /// ```
    /// use actix_web::HttpResponse;
    /// use sse_runtime::test::SseResponse;
    ///
    /// let res = HttpResponse::Ok().content_type("Text/Event-Stream; charset=utf-8").finish();
    /// assert!(SseResponse::new(res).is_event_stream());
    /// assert!(!SseResponse::new(HttpResponse::Ok().body("x")).is_event_stream());
    /// ```
    pub fn is_event_stream(&self) -> bool {
        self.content_type().is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or_default();
            essence.trim().eq_ignore_ascii_case("text/event-stream")
        })
    }

    /// Returns `self` if the status is successful (2xx) and the response
    /// [is an event stream](Self::is_event_stream), else
    /// [`TestError::UnexpectedStatus`] or [`TestError::NotEventStream`].
    pub fn expect_event_stream(self) -> Result<Self, TestError> {
        if !self.status.is_success() {
            Err(TestError::UnexpectedStatus {
                status: self.status,
            })
        } else if !self.is_event_stream() {
            Err(TestError::NotEventStream {
                content_type: self.content_type().map(str::to_owned),
            })
        } else {
            Ok(self)
        }
    }

    /// The next event, `Ok(None)` once the stream has ended.
    ///
    /// Waits at most [`timeout`](Self::timeout), then fails with
    /// [`TestError::Timeout`]. Cancel-safe: no received byte is lost if the
    /// returned future is dropped.
    pub async fn next_event(&mut self) -> Result<Option<ReceivedEvent>, TestError> {
        self.next_event_within(self.timeout).await
    }

    /// Like [`next_event`](Self::next_event), waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use actix_web::HttpResponse;
    /// use futures_util::stream;
    /// use sse_runtime::test::{SseResponse, TestError};
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// // A stream that never sends anything.
    /// let body = stream::pending::<Result<bytes::Bytes, std::convert::Infallible>>();
    /// let mut res = SseResponse::new(HttpResponse::Ok().streaming(body));
    /// let err = res.next_event_within(Duration::from_millis(20)).await.unwrap_err();
    /// assert!(matches!(err, TestError::Timeout { .. }));
    /// # });
    /// ```
    pub async fn next_event_within(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<ReceivedEvent>, TestError> {
        match timeout_at(Instant::now() + timeout, self.read_event()).await {
            Ok(result) => result,
            Err(_elapsed) => Err(TestError::Timeout {
                waiting_for: "the next event".to_owned(),
                timeout,
                received: Vec::new(),
            }),
        }
    }

    /// Exactly the next `n` events, all within [`timeout`](Self::timeout).
    ///
    /// Fails with [`TestError::StreamEnded`] if the stream ends first and with
    /// [`TestError::Timeout`] if they do not arrive in time; both errors carry
    /// the events received so far.
    pub async fn take(&mut self, n: usize) -> Result<Vec<ReceivedEvent>, TestError> {
        let deadline = Instant::now() + self.timeout;
        self.take_until(n, deadline, self.timeout).await
    }

    /// Every remaining event until the stream ends, within
    /// [`timeout`](Self::timeout) (else [`TestError::Timeout`]).
    pub async fn collect_all(&mut self) -> Result<Vec<ReceivedEvent>, TestError> {
        let deadline = Instant::now() + self.timeout;
        self.collect_until(deadline, self.timeout).await
    }

    /// Every event that arrives within `duration` (sampling an infinite
    /// stream); returns earlier if the stream ends. A timeout is not an
    /// error here.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    /// use actix_web::HttpResponse;
    /// use bytes::Bytes;
    /// use futures_util::stream;
    /// use sse_runtime::test::SseResponse;
    ///
    /// # actix_web::rt::System::new().block_on(async {
    /// let body = stream::unfold((), |()| async {
    ///     actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    ///     Some((Ok::<_, Infallible>(Bytes::from("data: tick\n\n")), ()))
    /// });
    /// let mut res = SseResponse::new(HttpResponse::Ok().streaming(body));
    /// let sampled = res.collect_for(Duration::from_millis(100)).await.unwrap();
    /// assert!(!sampled.is_empty() && sampled.len() <= 10);
    /// assert!(!res.is_ended());
    /// # });
    /// ```
    pub async fn collect_for(
        &mut self,
        duration: Duration,
    ) -> Result<Vec<ReceivedEvent>, TestError> {
        let mut received = Vec::new();
        let outcome = timeout_at(Instant::now() + duration, async {
            while let Some(event) = self.read_event().await? {
                received.push(event);
            }
            Ok::<(), TestError>(())
        })
        .await;
        match outcome {
            Ok(Err(err)) => Err(err),
            Ok(Ok(())) | Err(_) => Ok(received),
        }
    }

    /// Whether the stream has ended and every event has been read
    /// ([`next_event`](Self::next_event) would return `Ok(None)` at once).
    pub fn is_ended(&self) -> bool {
        self.body.is_none() && self.pending.is_empty()
    }

    /// Whether the body ended with an unterminated event or line (bytes not
    /// followed by a blank line), which a client discards. Useful to assert
    /// that a server terminates every frame.
    pub fn discarded_tail(&self) -> bool {
        self.discarded_tail
    }

    /// The stream's last event ID so far (see
    /// [`EventStreamParser::last_event_id`]).
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id()
    }

    /// The reconnection time sent by the server so far, if any (see
    /// [`EventStreamParser::retry`]).
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// Every body byte received so far, exactly as sent: for asserting the
    /// wire format, comments and keep-alives (which produce no events).
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Forgets the bytes returned by [`raw_bytes`](Self::raw_bytes), e.g. to
    /// bound memory when reading a very long stream.
    pub fn clear_raw_bytes(&mut self) {
        self.raw = Vec::new();
    }

    /// Drops the response body: the server sees the client disconnect.
    /// Equivalent to dropping `self`.
    pub fn disconnect(self) {
        drop(self);
    }

    async fn take_until(
        &mut self,
        n: usize,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Vec<ReceivedEvent>, TestError> {
        let mut received = Vec::with_capacity(n.min(1024));
        let outcome = timeout_at(deadline, async {
            while received.len() < n {
                match self.read_event().await? {
                    Some(event) => received.push(event),
                    None => return Ok(false),
                }
            }
            Ok::<bool, TestError>(true)
        })
        .await;
        match outcome {
            Ok(Ok(true)) => Ok(received),
            Ok(Ok(false)) => Err(TestError::StreamEnded {
                expected: n,
                received,
            }),
            Ok(Err(err)) => Err(err),
            Err(_elapsed) => Err(TestError::Timeout {
                waiting_for: format!("event {} of {n}", received.len() + 1),
                timeout,
                received,
            }),
        }
    }

    async fn collect_until(
        &mut self,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Vec<ReceivedEvent>, TestError> {
        let mut received = Vec::new();
        let outcome = timeout_at(deadline, async {
            while let Some(event) = self.read_event().await? {
                received.push(event);
            }
            Ok::<(), TestError>(())
        })
        .await;
        match outcome {
            Ok(Ok(())) => Ok(received),
            Ok(Err(err)) => Err(err),
            Err(_elapsed) => Err(TestError::Timeout {
                waiting_for: "the end of the stream".to_owned(),
                timeout,
                received,
            }),
        }
    }

    /// The next event without a time bound; `None` at the end of the body.
    async fn read_event(&mut self) -> Result<Option<ReceivedEvent>, TestError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            let Some(body) = self.body.as_mut() else {
                return Ok(None);
            };
            let chunk = poll_fn(|cx| Pin::new(&mut *body).poll_next(cx)).await;
            match chunk {
                Some(Ok(bytes)) => {
                    self.raw.extend_from_slice(&bytes);
                    if let Err(err) = self.parser.feed_into(&bytes, &mut self.pending) {
                        self.end_body();
                        return Err(TestError::Parse(err));
                    }
                }
                Some(Err(err)) => {
                    self.end_body();
                    return Err(TestError::Body(err));
                }
                None => self.end_body(),
            }
        }
    }

    fn end_body(&mut self) {
        self.body = None;
        self.discarded_tail = self.parser.finish();
    }
}

/// Why a test helper could not deliver the expected events.
///
/// `Display` gives a one-line summary; `Debug` includes the events received
/// before the failure.
#[non_exhaustive]
pub enum TestError {
    /// The service call itself failed.
    Service(actix_web::Error),
    /// Nothing (more) arrived in time.
    Timeout {
        /// What was awaited, e.g. `"event 3 of 5"`.
        waiting_for: String,
        /// The timeout that expired.
        timeout: Duration,
        /// Events received before the timeout expired.
        received: Vec<ReceivedEvent>,
    },
    /// The stream ended before the expected number of events arrived.
    StreamEnded {
        /// How many events were expected.
        expected: usize,
        /// The events received before the end.
        received: Vec<ReceivedEvent>,
    },
    /// The response body yielded an error.
    Body(Box<dyn std::error::Error>),
    /// The body is not a valid event stream for the parser (an event exceeded
    /// the [`max_event_size`](EventStreamParser::max_event_size)).
    Parse(ParseError),
    /// The response status is not 2xx.
    UnexpectedStatus {
        /// The status received.
        status: StatusCode,
    },
    /// The response content type is not `text/event-stream`.
    NotEventStream {
        /// The `Content-Type` received, if any.
        content_type: Option<String>,
    },
}

impl fmt::Debug for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(err) => f.debug_tuple("Service").field(err).finish(),
            Self::Timeout {
                waiting_for,
                timeout,
                received,
            } => f
                .debug_struct("Timeout")
                .field("waiting_for", waiting_for)
                .field("timeout", timeout)
                .field("received", received)
                .finish(),
            Self::StreamEnded { expected, received } => f
                .debug_struct("StreamEnded")
                .field("expected", expected)
                .field("received", received)
                .finish(),
            Self::Body(err) => f.debug_tuple("Body").field(err).finish(),
            Self::Parse(err) => f.debug_tuple("Parse").field(err).finish(),
            Self::UnexpectedStatus { status } => f
                .debug_struct("UnexpectedStatus")
                .field("status", status)
                .finish(),
            Self::NotEventStream { content_type } => f
                .debug_struct("NotEventStream")
                .field("content_type", content_type)
                .finish(),
        }
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Service(err) => write!(f, "service call failed: {err}"),
            Self::Timeout {
                waiting_for,
                timeout,
                received,
            } => write!(
                f,
                "timed out after {timeout:?} waiting for {waiting_for} ({} event(s) received)",
                received.len()
            ),
            Self::StreamEnded { expected, received } => write!(
                f,
                "event stream ended after {} of {expected} expected event(s)",
                received.len()
            ),
            Self::Body(err) => write!(f, "response body error: {err}"),
            Self::Parse(err) => err.fmt(f),
            Self::UnexpectedStatus { status } => {
                write!(
                    f,
                    "expected a 2xx event stream response, got status {status}"
                )
            }
            Self::NotEventStream {
                content_type: Some(content_type),
            } => write!(
                f,
                "expected content type text/event-stream, got {content_type:?}"
            ),
            Self::NotEventStream { content_type: None } => {
                write!(f, "expected content type text/event-stream, got none")
            }
        }
    }
}

impl std::error::Error for TestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Service(err) => Some(err),
            Self::Body(err) => Some(err.as_ref()),
            Self::Parse(err) => Some(err),
            _ => None,
        }
    }
}

impl From<ParseError> for TestError {
    fn from(err: ParseError) -> Self {
        Self::Parse(err)
    }
}

#[cfg(test)]
mod tests;
