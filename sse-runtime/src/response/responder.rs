//! [`Sse`]: the SSE response as an actix [`Responder`], built from a
//! stream, a hub subscription or a channel, with a builder method for each
//! option. `#[sse]` routes expand into it.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use actix_web::body::EitherBody;
use actix_web::http::header::{HeaderName, HeaderValue, TryIntoHeaderPair};
use actix_web::{HttpRequest, HttpResponse, Responder};
use bytes::BytesMut;
use futures_core::Stream;
use tracing::Span;

use super::driver::{Driver, Panicked, Shared, Sink, Start};
use super::{shed_stream, sse_response, RouteConfig, SseBody};
use crate::cleanup::{self, CleanUp, CleanupGuard};
use crate::connection::{Connection, Place};
use crate::edge::{self, Admission, Pending};
use crate::encode;
use crate::event::EventName;
use crate::hub::Subscription;
use crate::item::encoders::{PlainItems, ResultItems};
use crate::item::{IntoEvent, ItemError};
use crate::resume::LastEventId;
use crate::sink::{self, EventSink};

/// An SSE response: return it from any actix-web handler.
///
/// ```
/// use actix_web::{web, App, Responder};
/// use futures_util::stream;
/// use sse_runtime::Sse;
///
/// async fn updates() -> impl Responder {
///     Sse::from_stream(stream::iter(["Hello, world!", "This is a real-time update"]))
/// }
///
/// let app = App::new().route("/events/updates", web::get().to(updates));
/// # let _ = app;
/// ```
///
/// It is what an `#[sse]` route expands into, so everything said of those
/// routes holds here: items are anything [`IntoEvent`] (`T: Serialize`,
/// [`Event`](crate::Event), [`EncodedEvent`](crate::EncodedEvent),
/// [`Json`](crate::Json), [`Text`](crate::Text)); events ready together go
/// out in one write; a panic in the stream ends it with an error event; the
/// connection's clean-up runs exactly once; and the hardening of
/// [`SseServerExt`](crate::SseServerExt) (write timeout, send-buffer cap,
/// stop deadline), the admission, tracing and metrics of
/// [`SseEdge`](crate::SseEdge) and the server stop of [`serve`](crate::serve)
/// apply alike. The response reads what it needs from the request when
/// actix makes it; nothing has to be extracted for it.
///
/// # How a stream ends
///
/// * **It runs out.** The last frame is `id: sse-end` and a blank line:
///   no event for the page, but the browser's `EventSource` keeps it as its
///   last event id, reconnects with `Last-Event-ID: sse-end`, and is
///   answered `204 No Content`, on which it closes for good. So a finished
///   stream stays finished instead of being replayed every few seconds.
///   [`reconnect_on_end`](Self::reconnect_on_end) turns this off for
///   streams that should start over. The id `sse-end` is reserved.
/// * **An item is an `Err`** (of a stream given to
///   [`from_try_stream`](Self::from_try_stream)): a final event named
///   `error` ([`error_event`](Self::error_event)) whose data is a generic
///   text, the error's own text going to the log, unless it is
///   [`Shown`](crate::Shown) (see [`ItemError`]). The browser reconnects.
///   This is a named event, not `EventSource.onerror`: listen with
///   `source.addEventListener("error", e => ..)` and read `e.data`.
/// * **An item cannot be encoded, or the stream panics:** the same error
///   event with the generic text; the detail is logged.
/// * **The client leaves, a timeout elapses, or the server stops:** the
///   body ends (with a `retry:` hint on a stop) and the browser reconnects.
///
/// # Requests answered before streaming
///
/// With the end frame on, a request whose last event id is `sse-end` is
/// answered `204` and the stream is dropped unpolled; under an
/// [`SseEdge`](crate::SseEdge) a request over a cap is shed. An `#[sse]`
/// route decides both before its method runs; a handler returning `Sse`
/// has run by then, so a handler with side effects (a presence join, say)
/// may check [`LastEventId`] against [`Sse::END_ID`] itself.
///
/// # HTTP/2
///
/// A client that cancels one stream of a shared HTTP/2 connection is
/// noticed on an idle stream by watching the request's receive half.
/// `#[sse]` routes always have it; for a handler returning `Sse`,
/// [`SseEdge`](crate::SseEdge) keeps it for `GET` requests. Without either,
/// the cancel is noticed at the stream's next write (a keep-alive at the
/// latest).
#[must_use = "an Sse does nothing unless returned from a handler"]
pub struct Sse {
    /// The route's state, shared with the driver's [`Sink`].
    shared: Rc<RefCell<Shared>>,
    /// `None` once the stream has ended (or, for a shed request, never had
    /// one).
    driver: Option<Driver>,
    /// What the checks before streaming decided; `None` until they ran
    /// (`#[sse]` routes run them in `__decide`, the rest in `respond_to`).
    decided: Option<Decision>,
    config: RouteConfig,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Callbacks of [`on_close`](Self::on_close), and of a channel's sink.
    cleanup: Option<CleanUp>,
}

/// What the checks before streaming decide about a request.
enum Decision {
    /// The request resumed a finished stream: `204`.
    Ended,
    /// Shed by a cap: a stream that only says when to come back.
    Shed {
        retry: Duration,
        guard: CleanupGuard,
        conn: Connection,
    },
    /// Admitted: stream.
    Stream {
        guard: CleanupGuard,
        conn: Connection,
        pending: Option<Pending>,
    },
}

impl Sse {
    /// The id of a finished stream's last frame; see *How a stream ends*.
    pub const END_ID: &'static str = encode::END_ID;

    /// A response that streams `stream`'s items, each one event.
    ///
    /// For items that are `Result`s, use
    /// [`from_try_stream`](Self::from_try_stream): a `Result` of two
    /// `Serialize` types is itself `Serialize` and would be sent as JSON.
    pub fn from_stream<S>(stream: S) -> Sse
    where
        S: Stream + 'static,
        S::Item: IntoEvent,
    {
        Sse::driving(|sink| sink.stream(stream, PlainItems))
    }

    /// A response that streams the `Ok` items of `stream`; an `Err` ends it
    /// with an error event whose text is hidden unless the error is
    /// [`Shown`](crate::Shown) (see [`ItemError`]).
    ///
    /// ```
    /// use futures_util::stream;
    /// use sse_runtime::{Shown, Sse};
    ///
    /// async fn jobs() -> Sse {
    ///     Sse::from_try_stream(stream::iter([Ok(1), Err(Shown("job cancelled"))]))
    /// }
    /// # let _ = jobs;
    /// ```
    pub fn from_try_stream<S, T, E>(stream: S) -> Sse
    where
        S: Stream<Item = Result<T, E>> + 'static,
        T: IntoEvent,
        E: ItemError,
    {
        Sse::driving(|sink| sink.stream(stream, ResultItems))
    }

    /// A response that streams a hub [`Subscription`]: replay, then live
    /// events; it ends when the topic is closed.
    ///
    /// ```
    /// use actix_web::{web, Responder};
    /// use sse_runtime::{Hub, HubError, LastEventId, Sse};
    ///
    /// async fn feed(hub: web::Data<Hub>, last: LastEventId) -> Result<Sse, HubError> {
    ///     Ok(Sse::from_subscription(hub.subscribe(["feed"]).after(last).start()?))
    /// }
    /// # let _ = feed;
    /// ```
    pub fn from_subscription(subscription: Subscription) -> Sse {
        Sse::from_stream(subscription)
    }

    /// An [`EventSink`] and the response that streams what it sends,
    /// for the imperative style: hand the sink to a task and return the
    /// response. The stream ends once every clone of the sink is dropped.
    /// `capacity` events may wait for the connection before a send waits
    /// (clamped to 1 ..= 2^20).
    ///
    /// ```
    /// use actix_web::Responder;
    /// use sse_runtime::Sse;
    ///
    /// async fn countdown() -> impl Responder {
    ///     let (sink, sse) = Sse::channel(16);
    ///     actix_web::rt::spawn(async move {
    ///         for n in (1..=3).rev() {
    ///             if sink.send(n).await.is_err() {
    ///                 return; // the client left
    ///             }
    ///         }
    ///         let _ = sink.send("liftoff").await;
    ///     });
    ///     sse
    /// }
    /// # let _ = countdown;
    /// ```
    pub fn channel(capacity: usize) -> (EventSink, Sse) {
        let cleanup = CleanUp::new();
        // At least one; at most what a bounded queue of a connection can
        // sensibly hold (and below the semaphore's own limit).
        let capacity = capacity.clamp(1, 1 << 20);
        let (sink, events) = sink::channel_with_capacity(&cleanup, capacity);
        let mut sse = Sse::driving(move |out| sink::run::stream(out, async { Ok(()) }, events));
        sse.cleanup = Some(cleanup);
        (sink, sse)
    }

    /// Starts `route` on a fresh shared state (the driver is polled only
    /// by the body).
    fn driving<F, Fut>(route: F) -> Sse
    where
        F: FnOnce(Sink) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let mut sse = Sse::__route();
        sse.driver = Some(Driver::start(route, &sse.shared));
        sse
    }

    /// Sends a comment after `every` without an event, so that proxies and
    /// the client see the connection alive and a vanished client is noticed
    /// at the write. Default: 15 s.
    pub fn keep_alive(mut self, every: Duration) -> Sse {
        self.config.keep_alive = Some(every).filter(|d| !d.is_zero());
        self
    }

    /// Sends no keep-alive comments.
    pub fn no_keep_alive(mut self) -> Sse {
        self.config.keep_alive = None;
        self
    }

    /// Opens the stream with `retry: <ms>`, the browser's delay before it
    /// reconnects (also sent again when the server stops). Default: none,
    /// the browser's own (about 3 s).
    pub fn retry(mut self, after: Duration) -> Sse {
        self.config.retry = Some(after);
        self
    }

    /// Ends the stream after `limit`, so that the browser reconnects (to
    /// spread long-lived streams across instances, or renew credentials).
    /// Default: none.
    pub fn max_duration(mut self, limit: Duration) -> Sse {
        self.config.max_duration = Some(limit).filter(|d| !d.is_zero());
        self
    }

    /// Ends the stream after `limit` without an event (keep-alives do not
    /// count). Default: none.
    pub fn idle_timeout(mut self, limit: Duration) -> Sse {
        self.config.idle_timeout = Some(limit).filter(|d| !d.is_zero());
        self
    }

    /// Drops the connection when the client takes no bytes for `limit`,
    /// instead of the server's [`SseSettings::write_timeout`](crate::SseSettings).
    pub fn write_timeout(mut self, limit: Duration) -> Sse {
        self.config.write_timeout = Some(Some(limit).filter(|d| !d.is_zero()));
        self
    }

    /// Lets a client that stops reading hold its connection (no write
    /// timeout for this stream).
    pub fn no_write_timeout(mut self) -> Sse {
        self.config.write_timeout = Some(None);
        self
    }

    /// Names the final event an error ends the stream with. Default:
    /// `error`. Not to be confused with `EventSource.onerror`, which fires
    /// on connection errors: this is an event the page listens for by name.
    ///
    /// ```
    /// use sse_runtime::{event_name, Sse};
    /// # let sse = Sse::from_stream(futures_util::stream::iter([1]));
    /// let sse = sse.error_event(event_name!("failed"));
    /// # let _ = sse;
    /// ```
    pub fn error_event(mut self, name: EventName) -> Sse {
        self.config.error_event = name;
        self
    }

    /// Lets a stream that ran out be replayed: no end frame, so the
    /// browser reconnects (after its retry delay) and the handler runs
    /// again, as with a plain `EventSource` server. Default: a finished
    /// stream stays finished (see *How a stream ends*).
    pub fn reconnect_on_end(mut self) -> Sse {
        self.config.end_frame = false;
        self
    }

    /// Adds a response header (after the SSE headers, so it may replace
    /// them). An invalid header is logged and left out.
    ///
    /// ```
    /// # use sse_runtime::Sse;
    /// # let sse = Sse::from_stream(futures_util::stream::iter([1]));
    /// let sse = sse.header(("x-stream-version", "2"));
    /// # let _ = sse;
    /// ```
    pub fn header(mut self, header: impl TryIntoHeaderPair) -> Sse {
        match header.try_into_pair() {
            Ok(pair) => self.headers.push(pair),
            Err(err) => {
                let err: actix_web::error::HttpError = err.into();
                tracing::error!(error = %err, "an invalid header for an SSE response; left out");
            }
        }
        self
    }

    /// Runs `callback` once when the connection ends, however it ends
    /// (like [`CleanUp::add`]; a `CleanUp` taken as a handler argument is
    /// the same connection's).
    pub fn on_close(mut self, callback: impl FnOnce() + Send + 'static) -> Sse {
        self.cleanup.get_or_insert_with(CleanUp::new).add(callback);
        self
    }

    /// The `#[sse]` path: a response with the route's options and no
    /// stream yet; [`__decide`](Self::__decide) runs the method.
    #[doc(hidden)]
    pub fn __route() -> Sse {
        Sse {
            shared: Shared::new(BytesMut::new(), Place::unknown()),
            driver: None,
            decided: None,
            config: RouteConfig::DEFAULT,
            headers: Vec::new(),
            cleanup: None,
        }
    }

    /// Runs an `#[sse]` method: answers a finished stream's reconnect and
    /// asks the edge first, then calls `route` with a [`Sink`] and waits
    /// until it refuses the request or starts streaming.
    ///
    /// A panic among the first items (polled here, before the response is
    /// sent) becomes the stream's error event, so a browser reconnects
    /// instead of giving up on a 500; only a panic in the method itself,
    /// before there is a stream, is a 500.
    #[doc(hidden)]
    pub async fn __decide<F, Fut>(
        mut self,
        req: &HttpRequest,
        cleanup: CleanUp,
        route: F,
    ) -> Result<Sse, actix_web::Error>
    where
        F: FnOnce(Sink) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        // Owns the cleanup from here on: a refusal, a panic, or actix
        // dropping this future all run it.
        let decision = self.check(req, CleanupGuard(cleanup))?;
        let Decision::Stream { pending, .. } = &decision else {
            self.decided = Some(decision);
            return Ok(self);
        };
        let span = pending.as_ref().map(|p| p.span().clone());
        let shared = self.shared.clone();
        let mut driver = Driver::start(route, &shared);
        let finished = std::future::poll_fn(|cx| {
            let _entered = span.as_ref().map(Span::enter);
            let finished = match driver.poll(cx) {
                Poll::Ready(Ok(())) => true,
                Poll::Ready(Err(Panicked(message))) => {
                    let mut shared = shared.borrow_mut();
                    if !matches!(shared.start, Start::Streaming) {
                        tracing::error!(
                            route = &*shared.place.route,
                            peer = ?shared.place.peer,
                            panic = %message,
                            "an SSE route method panicked before returning a stream",
                        );
                        return Poll::Ready(Err(actix_web::error::ErrorInternalServerError(
                            "the SSE route panicked",
                        )));
                    }
                    shared.fail_internal("an SSE stream panicked", &message);
                    true
                }
                Poll::Pending => false,
            };
            let undecided = matches!(shared.borrow().start, Start::Undecided);
            if finished || !undecided {
                Poll::Ready(Ok(finished))
            } else {
                Poll::Pending
            }
        })
        .await?;
        let start = std::mem::replace(&mut shared.borrow_mut().start, Start::Streaming);
        if let Start::Rejected(error) = start {
            return Err(error);
        }
        self.driver = (!finished).then_some(driver);
        self.decided = Some(decision);
        Ok(self)
    }

    /// The checks before streaming, in order: a finished stream's
    /// reconnect, then the edge's admission; an admitted request gets its
    /// connection and the shared state its options. `guard` owns the
    /// connection's clean-up, which runs when a decision without a stream
    /// is dropped.
    fn check(&self, req: &HttpRequest, guard: CleanupGuard) -> Result<Decision, actix_web::Error> {
        if self.resumes_finished(req) {
            return Ok(Decision::Ended);
        }
        let pending = match edge::admit() {
            Admission::Unobserved => None,
            Admission::Open(pending) => Some(pending),
            Admission::Reconnect(retry) => {
                let conn = Connection::of(req);
                return Ok(Decision::Shed { retry, guard, conn });
            }
            Admission::Refuse(error) => return Err(error.into()),
        };
        let conn = Connection::of(req);
        self.prepare(&conn);
        Ok(Decision::Stream {
            guard,
            conn,
            pending,
        })
    }

    /// Whether `req` is the reconnect of a stream that ended with the end
    /// frame (only asked of routes that send it).
    fn resumes_finished(&self, req: &HttpRequest) -> bool {
        self.config.end_frame && LastEventId::from_request(req).as_str() == Some(Self::END_ID)
    }

    /// Gives the shared state what the request and the options tell:
    /// where it runs, its first bytes, its error event and its end.
    fn prepare(&self, conn: &Connection) {
        let mut shared = self.shared.borrow_mut();
        shared.place = conn.place.clone();
        shared.error_event = self.config.error_event;
        shared.end_frame = self.config.end_frame;
        if let Some(retry) = self.config.retry {
            encode::retry_hint(shared.buf(), retry);
        }
    }

    /// The response for a request that passed (or skipped) the checks.
    fn stream_response(
        self,
        guard: CleanupGuard,
        conn: Connection,
        pending: Option<Pending>,
    ) -> HttpResponse<SseBody> {
        let watch = pending.map(Pending::open);
        let Sse {
            shared,
            driver,
            config,
            headers,
            cleanup,
            ..
        } = self;
        if let Some(own) = cleanup {
            guard.0.add(move || own.run());
        }
        let mut response = sse_response(SseBody::new(shared, driver, &config, guard, conn, watch));
        for (name, value) in headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl Responder for Sse {
    type Body = EitherBody<SseBody>;

    fn respond_to(mut self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        let decision = match self.decided.take() {
            Some(decision) => decision,
            None => {
                // A `CleanUp` the handler took is this connection's.
                let guard =
                    cleanup::taken_by_handler(req).unwrap_or_else(|| CleanupGuard(CleanUp::new()));
                match self.check(req, guard) {
                    Ok(decision) => decision,
                    Err(error) => return HttpResponse::from_error(error).map_into_right_body(),
                }
            }
        };
        match decision {
            Decision::Ended => HttpResponse::NoContent().finish().map_into_right_body(),
            Decision::Shed { retry, guard, conn } => {
                shed_stream(retry, guard, conn).map_into_left_body()
            }
            Decision::Stream {
                guard,
                conn,
                pending,
            } => self
                .stream_response(guard, conn, pending)
                .map_into_left_body(),
        }
    }
}

impl fmt::Debug for Sse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sse")
            .field("config", &self.config)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl<S> From<S> for Sse
where
    S: Stream + 'static,
    S::Item: IntoEvent,
{
    fn from(stream: S) -> Sse {
        Sse::from_stream(stream)
    }
}
