//! [`EventSink`]: events pushed into a connection instead of returned as a
//! stream. `run` drives a method that takes one.

pub(crate) mod run;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::sync::mpsc::{self, error::TrySendError, Permit};

use crate::cleanup::CleanUp;
use crate::event::{EncodedEvent, Event, EventError};
use crate::item::IntoEvent;

/// The sending half of an SSE connection: take one in an `#[sse]` method
/// and send events through it, from the method itself or from tasks and
/// timers it spawns.
///
/// ```no_run
/// use std::time::Duration;
/// use serde_json::json;
/// use sse_runtime::{controller, sse, EventSink};
///
/// pub struct Counter;
///
/// #[controller("")]
/// impl Counter {
///     /// `GET /counter`: `{"count":1}`, `{"count":2}`, … every second.
///     #[sse("counter")]
///     async fn counter(&self, sink: EventSink) {
///         let mut count = 0;
///         loop {
///             tokio::time::sleep(Duration::from_secs(1)).await;
///             count += 1;
///             if sink.send(json!({ "count": count })).await.is_err() {
///                 break; // the client has gone
///             }
///         }
///     }
/// }
/// ```
///
/// **How long the connection lives.** While the method runs, or any clone
/// of its sink is alive: a method may return at once after handing clones
/// to spawned tasks, and the stream ends when the last of them is dropped.
/// When the client leaves, every send fails with [`SendError::Closed`],
/// [`closed`](Self::closed) completes and the [`CleanUp`] callbacks run, so
/// producers learn to stop.
///
/// **Bounded.** At most [`CAPACITY`](Self::CAPACITY) events wait for the
/// connection; then [`send`](Self::send) waits for room (a slow client
/// slows its producers down instead of growing memory) and
/// [`try_send`](Self::try_send) fails with [`SendError::Full`] at once.
///
/// **What can be sent.** Anything a returned stream can yield
/// ([`IntoEvent`]: `Serialize` values, [`Event`], [`EncodedEvent`]), and
/// comments. Items are encoded by the sender, so an item that can't be
/// encoded is an error for that send alone; the stream goes on.
///
/// **Refusing.** A method returning `Result<(), E>` (with `E:
/// actix_web::ResponseError`) refuses the request with an ordinary HTTP
/// error by returning `Err` before it sends anything; the response waits
/// until the method sends its first event or returns. Once an event has
/// been sent the response has begun: a later `Err` ends the stream with a
/// final `event: error` carrying its message, as an `Err` item does.
/// A method without a `Result` starts the response at once. A `Result`
/// method whose first event may be long in coming should send a comment
/// ([`comment`](Self::comment)) once it has decided to accept, so that the
/// client sees the response begin.
#[derive(Clone)]
pub struct EventSink {
    events: mpsc::Sender<EncodedEvent>,
    cleanup: CleanUp,
}

/// The receiving half of a connection's [`EventSink`], merged into the
/// response by the runtime (`sink/run.rs`).
pub struct SinkEvents(pub(crate) mpsc::Receiver<EncodedEvent>);

/// A connected [`EventSink`] and the events it sends; `cleanup` is the
/// connection's.
pub(crate) fn channel(cleanup: &CleanUp) -> (EventSink, SinkEvents) {
    channel_with_capacity(cleanup, EventSink::CAPACITY)
}

/// [`channel`] with room for `capacity` waiting events (at least one).
pub(crate) fn channel_with_capacity(cleanup: &CleanUp, capacity: usize) -> (EventSink, SinkEvents) {
    let (events, received) = mpsc::channel(capacity);
    let sink = EventSink {
        events,
        cleanup: cleanup.clone(),
    };
    (sink, SinkEvents(received))
}

impl EventSink {
    /// How many events may wait for the connection before a send waits
    /// (or, for [`try_send`](Self::try_send), fails). Events waiting
    /// together go out in one write.
    pub const CAPACITY: usize = 32;

    /// Sends `item` as one event, waiting while [`CAPACITY`](Self::CAPACITY)
    /// events are already waiting.
    ///
    /// `item` is encoded at once; it is queued when the returned future is
    /// awaited (dropped unawaited, nothing is sent).
    ///
    /// # Errors
    /// [`SendError::Closed`] once the connection has ended (stop producing);
    /// [`SendError::Event`] if `item` could not be encoded (nothing was
    /// sent, the stream goes on).
    pub fn send(&self, item: impl IntoEvent) -> Sending<'_> {
        Sending {
            sink: self,
            event: Some(encode(item)),
            waiting: None,
        }
    }

    /// Sends `item` if there is room, without waiting: for producers that
    /// must not block (timers, callbacks) and may drop an event instead.
    ///
    /// # Errors
    /// [`SendError::Full`] when [`CAPACITY`](Self::CAPACITY) events are
    /// waiting (nothing was sent, `item` was not encoded);
    /// [`SendError::Closed`] and [`SendError::Event`] as for
    /// [`send`](Self::send).
    pub fn try_send(&self, item: impl IntoEvent) -> Result<(), SendError> {
        let permit = self.events.try_reserve().map_err(|err| match err {
            TrySendError::Full(()) => SendError::Full,
            TrySendError::Closed(()) => SendError::Closed,
        })?;
        permit.send(encode(item)?);
        Ok(())
    }

    /// Sends a comment (`: text`), which clients ignore: for debugging, or
    /// a heartbeat of your own (the route's `keep_alive` option already
    /// sends one after a silence).
    ///
    /// # Errors
    /// [`SendError::Closed`] once the connection has ended.
    pub fn comment(&self, text: impl AsRef<str>) -> Sending<'_> {
        self.send(Event::default().comment(text))
    }

    /// Completes when the connection has ended, for a producer waiting on
    /// something else (a `tokio::select!` next to a timer or subscription).
    pub async fn closed(&self) {
        self.events.closed().await;
    }

    /// Whether the connection has ended: every send now fails.
    pub fn is_closed(&self) -> bool {
        self.events.is_closed()
    }

    /// Runs `callback` once when the connection ends (at once if it has):
    /// the connection's [`CleanUp::add`], at hand where the sink is.
    pub fn on_close(&self, callback: impl FnOnce() + Send + 'static) {
        self.cleanup.add(callback);
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("closed", &self.is_closed())
            .field("waiting", &(Self::CAPACITY - self.events.capacity()))
            .finish()
    }
}

/// The future of [`EventSink::send`].
///
/// A named type rather than an `async fn`'s: its type does not depend on
/// the item's, so an item that is not an event is one compile error (at the
/// item), not three (at the item, the call and the `.await`).
#[must_use = "nothing is sent until the future is awaited"]
pub struct Sending<'a> {
    sink: &'a EventSink,
    /// `None` once the outcome has been returned.
    event: Option<Result<EncodedEvent, SendError>>,
    /// Waiting for room; boxed because tokio's `reserve` future has no
    /// name, and made only when there is no room at once.
    waiting: Option<Pin<Box<Reserve<'a>>>>,
}

type Reserve<'a> =
    dyn Future<Output = Result<Permit<'a, EncodedEvent>, mpsc::error::SendError<()>>> + Send + 'a;

impl Future for Sending<'_> {
    type Output = Result<(), SendError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let event = match this.event.take() {
            Some(Ok(event)) => event,
            Some(Err(err)) => return Poll::Ready(Err(err)),
            // Polled again after it completed.
            None => return Poll::Ready(Err(SendError::Closed)),
        };
        let sink = this.sink;
        let waiting = match this.waiting.as_mut() {
            Some(waiting) => waiting,
            None => match sink.events.try_reserve() {
                Ok(permit) => {
                    permit.send(event);
                    return Poll::Ready(Ok(()));
                }
                Err(TrySendError::Closed(())) => return Poll::Ready(Err(SendError::Closed)),
                Err(TrySendError::Full(())) => this.waiting.insert(Box::pin(sink.events.reserve())),
            },
        };
        match waiting.as_mut().poll(cx) {
            Poll::Ready(reserved) => {
                this.waiting = None;
                let permit = reserved.map_err(|_| SendError::Closed)?;
                permit.send(event);
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                this.event = Some(Ok(event));
                Poll::Pending
            }
        }
    }
}

impl fmt::Debug for Sending<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sending")
            .field("waiting_for_room", &self.waiting.is_some())
            .finish()
    }
}

/// Room for a typical small event, so that encoding one allocates once
/// instead of growing the buffer a few bytes at a time.
const EVENT_CAPACITY: usize = 64;

fn encode(item: impl IntoEvent) -> Result<EncodedEvent, SendError> {
    let mut buf = BytesMut::with_capacity(EVENT_CAPACITY);
    item.encode_into(&mut buf)?;
    Ok(EncodedEvent::from_framed(buf.freeze()))
}

/// Why an [`EventSink`] did not send an event.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The connection has ended (the client left, the server is stopping,
    /// the route failed): nothing more can be sent, stop producing.
    Closed,
    /// [`EventSink::try_send`] only: [`EventSink::CAPACITY`] events are
    /// already waiting for a slow connection.
    Full,
    /// The item could not be encoded (see [`EventError`]); the connection
    /// is fine and later sends go on.
    Event(EventError),
}

impl SendError {
    /// Whether the connection has ended, so that sending again is useless.
    pub fn is_closed(&self) -> bool {
        matches!(self, SendError::Closed)
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the SSE connection has ended"),
            SendError::Full => write!(
                f,
                "the SSE connection is slow: {} events are already waiting",
                EventSink::CAPACITY
            ),
            SendError::Event(err) => err.fmt(f),
        }
    }
}

/// So that `?` on an [`Event`] builder works in a function returning
/// `Result<_, SendError>`.
impl From<EventError> for SendError {
    fn from(err: EventError) -> Self {
        SendError::Event(err)
    }
}

/// A `500 Internal Server Error`, so that `sink.send(..).await?` works in a
/// method returning `Result<(), actix_web::Error>`. Only a failure before
/// the first event becomes that response; later, the stream has begun (and
/// after [`SendError::Closed`], already ended).
impl actix_web::ResponseError for SendError {}

impl std::error::Error for SendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SendError::Event(err) => Some(err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(events: &mut SinkEvents) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(event) = events.0.try_recv() {
            out.push(String::from_utf8(event.as_ref().to_vec()).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn items_comments_and_events_are_framed_by_the_sender() {
        let (sink, mut events) = channel(&CleanUp::new());
        sink.send("a\nb").await.unwrap();
        sink.send(serde_json::json!({"n": 1})).await.unwrap();
        sink.comment("hi").await.unwrap();
        sink.try_send(Event::default().data("e")).unwrap();
        assert_eq!(
            received(&mut events),
            [
                "data: a\ndata: b\n\n",
                "data: {\"n\":1}\n\n",
                ": hi\n\n",
                "data: e\n\n"
            ]
        );
    }

    #[test]
    fn try_send_is_bounded_and_does_not_encode_what_it_refuses() {
        let (sink, mut events) = channel(&CleanUp::new());
        for i in 0..EventSink::CAPACITY {
            sink.try_send(i).unwrap();
        }
        assert!(matches!(
            sink.try_send("one too many"),
            Err(SendError::Full)
        ));
        assert_eq!(received(&mut events).len(), EventSink::CAPACITY);
        sink.try_send("room again").unwrap();
    }

    /// Polls `future` once.
    async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
        std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
    }

    #[tokio::test]
    async fn send_waits_for_room_and_sends_nothing_unless_awaited() {
        let (sink, mut events) = channel(&CleanUp::new());
        for i in 0..EventSink::CAPACITY {
            sink.try_send(i).unwrap();
        }
        let mut waiting = sink.send("waited");
        assert!(poll_once(&mut waiting).await.is_pending());
        let mut abandoned = sink.send("abandoned");
        assert!(poll_once(&mut abandoned).await.is_pending());
        drop(abandoned);
        drop(sink.send("never awaited"));
        events.0.recv().await.unwrap();
        assert!(matches!(waiting.await, Ok(())));
        let rest = received(&mut events);
        assert_eq!(rest.len(), EventSink::CAPACITY);
        assert_eq!(rest.last().unwrap(), "data: waited\n\n");
    }

    #[tokio::test]
    async fn an_item_that_cannot_be_encoded_fails_alone() {
        let (sink, mut events) = channel(&CleanUp::new());
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        let err = sink.send(map).await.unwrap_err();
        assert!(
            matches!(err, SendError::Event(EventError::Json(_))),
            "{err}"
        );
        assert!(!err.is_closed());
        sink.send("next").await.unwrap();
        assert_eq!(received(&mut events), ["data: next\n\n"]);
    }

    #[tokio::test]
    async fn sends_fail_and_closed_completes_once_the_receiver_is_gone() {
        let cleanup = CleanUp::new();
        let (sink, events) = channel(&cleanup);
        let clone = sink.clone();
        let waiter = tokio::spawn(async move { clone.closed().await });
        drop(events);
        waiter.await.unwrap();
        assert!(sink.is_closed());
        assert!(sink.send("late").await.unwrap_err().is_closed());
        assert!(matches!(sink.try_send("late"), Err(SendError::Closed)));
        assert_eq!(
            SendError::Closed.to_string(),
            "the SSE connection has ended"
        );
    }

    #[test]
    fn sink_and_send_future_cross_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        fn sendable<T: Send>(_: &T) {}
        shareable::<EventSink>();
        let (sink, _events) = channel(&CleanUp::new());
        sendable(&sink.send("x"));
    }

    #[test]
    fn on_close_is_the_connections_cleanup() {
        let cleanup = CleanUp::new();
        let (sink, _events) = channel(&cleanup);
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        sink.on_close(move || flag.store(true, std::sync::atomic::Ordering::SeqCst));
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        cleanup.run();
        assert!(ran.load(std::sync::atomic::Ordering::SeqCst));
    }
}
