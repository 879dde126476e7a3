//! [`EventSink`]: events pushed into a connection instead of returned as a
//! stream. `run` drives a method that takes one.

pub(crate) mod queue;
pub(crate) mod run;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{AcquireError, SemaphorePermit, TryAcquireError};

use crate::cleanup::CleanUp;
use crate::event::{Event, EventError};
use crate::item::IntoEvent;
use queue::{Channel, Encoded, Reader, Receiver};

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
/// The response takes all the waiting events at once, and their room
/// comes back when it has copied the last of them into its buffer.
///
/// **What can be sent.** Anything a returned stream can yield
/// ([`IntoEvent`]: `Serialize` values, [`Event`], [`EncodedEvent`](crate::EncodedEvent)), and
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
pub struct EventSink {
    channel: Arc<Channel>,
    cleanup: CleanUp,
}

/// The receiving half of a connection's [`EventSink`], merged into the
/// response by the runtime (`sink/run.rs`).
pub struct SinkEvents(Receiver);

/// A connected [`EventSink`] with room for [`EventSink::CAPACITY`] events,
/// and the events it sends; `cleanup` is the connection's.
pub(crate) fn channel(cleanup: &CleanUp) -> (EventSink, SinkEvents) {
    channel_with_capacity(cleanup, EventSink::CAPACITY)
}

/// A connected [`EventSink`] with room for `capacity` events, and the
/// events it sends; `cleanup` is the connection's.
///
/// # Panics
/// If `capacity` is 0 (or beyond tokio's semaphore limit, `usize::MAX >>
/// 3`).
pub(crate) fn channel_with_capacity(cleanup: &CleanUp, capacity: usize) -> (EventSink, SinkEvents) {
    let channel = Channel::new(capacity);
    let events = SinkEvents(Receiver::new(channel.clone()));
    let sink = EventSink {
        channel,
        cleanup: cleanup.clone(),
    };
    (sink, events)
}

impl SinkEvents {
    /// Reads the events one at a time, on the response's thread.
    pub(crate) fn into_reader(self) -> Reader {
        Reader::new(self.0)
    }
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
            event: Some(queue::encode(item).map_err(SendError::Event)),
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
        let room = self.channel.try_room().map_err(|err| match err {
            TryAcquireError::NoPermits => SendError::Full,
            TryAcquireError::Closed => SendError::Closed,
        })?;
        // On an error the room is given back as `room` drops.
        let event = queue::encode(item)?;
        self.queue(room, event)
    }

    fn queue(&self, room: SemaphorePermit<'_>, event: Encoded) -> Result<(), SendError> {
        self.channel
            .push(room, event)
            .map_err(|()| SendError::Closed)
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
        self.channel.closed().await;
    }

    /// Whether the connection has ended: every send now fails.
    pub fn is_closed(&self) -> bool {
        self.channel.is_closed()
    }

    /// Runs `callback` once when the connection ends (at once if it has):
    /// the connection's [`CleanUp::add`], at hand where the sink is.
    pub fn on_close(&self, callback: impl FnOnce() + Send + 'static) {
        self.cleanup.add(callback);
    }
}

/// Counted, so that the response knows when the last sink is gone.
impl Clone for EventSink {
    fn clone(&self) -> Self {
        self.channel.add_sender();
        EventSink {
            channel: self.channel.clone(),
            cleanup: self.cleanup.clone(),
        }
    }
}

impl Drop for EventSink {
    fn drop(&mut self) {
        self.channel.drop_sender();
    }
}

impl fmt::Debug for EventSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSink")
            .field("closed", &self.is_closed())
            .field("waiting", &self.channel.waiting())
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
    event: Option<Result<Encoded, SendError>>,
    /// Waiting for room; boxed because the semaphore's future has no name,
    /// and made only when there is no room at once.
    waiting: Option<Pin<Box<Room<'a>>>>,
}

type Room<'a> = dyn Future<Output = Result<SemaphorePermit<'a>, AcquireError>> + Send + 'a;

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
            None => match sink.channel.try_room() {
                Ok(room) => return Poll::Ready(sink.queue(room, event)),
                Err(TryAcquireError::Closed) => return Poll::Ready(Err(SendError::Closed)),
                Err(TryAcquireError::NoPermits) => {
                    this.waiting.insert(Box::pin(sink.channel.room()))
                }
            },
        };
        match waiting.as_mut().poll(cx) {
            Poll::Ready(room) => {
                this.waiting = None;
                let room = room.map_err(|_| SendError::Closed)?;
                Poll::Ready(sink.queue(room, event))
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

/// Why an [`EventSink`] did not send an event.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The connection has ended (the client left, the server is stopping,
    /// the route failed): nothing more can be sent, stop producing.
    Closed,
    /// [`EventSink::try_send`] only: the sink's queue is full (for the
    /// sink of an `#[sse]` method, [`EventSink::CAPACITY`] events are
    /// already waiting for a slow connection).
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
            SendError::Full => {
                f.write_str("the SSE connection is slow: its queue of events is full")
            }
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
    use crate::event::EncodedEvent;

    /// A sink and a reader of what it sends.
    fn reading((sink, events): (EventSink, SinkEvents)) -> (EventSink, Reader) {
        (sink, events.into_reader())
    }

    /// The next event, copied out.
    fn recv(events: &mut Reader, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        events
            .poll_next(cx)
            .map(|event| event.map(|event| event.to_encoded()))
    }

    /// The next event if one is queued, without waiting.
    fn try_recv(events: &mut Reader) -> Poll<Option<EncodedEvent>> {
        recv(events, &mut Context::from_waker(std::task::Waker::noop()))
    }

    /// Everything queued now.
    fn received(events: &mut Reader) -> Vec<String> {
        let mut out = Vec::new();
        while let Poll::Ready(Some(event)) = try_recv(events) {
            out.push(String::from_utf8(event.as_ref().to_vec()).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn items_comments_and_events_are_framed_by_the_sender() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
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
        let (sink, mut events) = reading(channel(&CleanUp::new()));
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
        let (sink, mut events) = reading(channel(&CleanUp::new()));
        for i in 0..EventSink::CAPACITY {
            sink.try_send(i).unwrap();
        }
        let mut waiting = sink.send("waited");
        assert!(poll_once(&mut waiting).await.is_pending());
        let mut abandoned = sink.send("abandoned");
        assert!(poll_once(&mut abandoned).await.is_pending());
        drop(abandoned);
        drop(sink.send("never awaited"));
        // The receiver takes the whole queue, and gives its room back once
        // it has handed on the last of it.
        assert_eq!(received(&mut events).len(), EventSink::CAPACITY);
        assert!(matches!(waiting.await, Ok(())));
        assert_eq!(received(&mut events), ["data: waited\n\n"]);
    }

    /// A `Serialize` item that counts how often it is encoded.
    struct Counted<'a>(&'a std::sync::atomic::AtomicUsize);

    impl serde::Serialize for Counted<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            serializer.serialize_u8(1)
        }
    }

    #[test]
    fn a_stalled_receiver_holds_at_most_the_capacity() {
        let (sink, mut events) = reading(channel_with_capacity(&CleanUp::new(), 3));
        let encoded = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..3 {
            sink.try_send(Counted(&encoded)).unwrap();
        }
        let before = encoded.load(std::sync::atomic::Ordering::Relaxed);
        assert!(matches!(
            sink.try_send(Counted(&encoded)),
            Err(SendError::Full)
        ));
        assert_eq!(
            encoded.into_inner(),
            before,
            "a refused item is not encoded"
        );
        // Taken from the queue but not all handed on: still no room.
        assert!(try_recv(&mut events).is_ready());
        assert!(matches!(sink.try_send("x"), Err(SendError::Full)));
        assert!(try_recv(&mut events).is_ready());
        assert!(matches!(sink.try_send("x"), Err(SendError::Full)));
        assert_eq!(
            format!("{sink:?}"),
            "EventSink { closed: false, waiting: 3 }"
        );
        // The last one handed on gives the room back, all of it.
        assert!(try_recv(&mut events).is_ready());
        for n in 0..3 {
            sink.try_send(n).unwrap();
        }
        assert!(matches!(sink.try_send("x"), Err(SendError::Full)));
        assert_eq!(
            received(&mut events),
            ["data: 0\n\n", "data: 1\n\n", "data: 2\n\n"]
        );
    }

    #[test]
    fn large_and_shared_events_keep_their_place() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
        let large = "x".repeat(10_000);
        let shared = Event::default().data("shared").encode();
        sink.try_send("small").unwrap();
        sink.try_send(large.as_str()).unwrap();
        sink.try_send(shared.clone()).unwrap();
        sink.try_send("small again").unwrap();
        let mut taken = Vec::new();
        while let Poll::Ready(Some(event)) = try_recv(&mut events) {
            taken.push(event);
        }
        assert_eq!(taken.len(), 4);
        assert_eq!(taken[0].as_ref(), b"data: small\n\n");
        assert_eq!(taken[1].as_ref(), format!("data: {large}\n\n").as_bytes());
        assert_eq!(
            taken[2].as_ref().as_ptr(),
            shared.as_ref().as_ptr(),
            "an encoded event is queued as it is, not copied"
        );
        assert_eq!(taken[3].as_ref(), b"data: small again\n\n");
    }

    /// A `Serialize` item that writes part of an event, then panics.
    struct HalfThenPanic;

    impl serde::Serialize for HalfThenPanic {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(None)?;
            map.serialize_entry("half", "written")?;
            panic!("an item panics while it is encoded");
        }
    }

    #[test]
    fn an_item_that_panicked_leaves_nothing_behind() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = sink.try_send(HalfThenPanic);
        }));
        assert!(panicked.is_err());
        sink.try_send("next").unwrap();
        assert_eq!(received(&mut events), ["data: next\n\n"]);
        // Its room was given back.
        for n in 1..EventSink::CAPACITY {
            sink.try_send(n).unwrap();
        }
    }

    #[test]
    fn senders_on_many_threads_keep_their_own_order() {
        const THREADS: usize = 4;
        const EACH: usize = 2_000;
        let (sink, mut events) = reading(channel_with_capacity(&CleanUp::new(), 8));
        let senders: Vec<_> = (0..THREADS)
            .map(|thread| {
                let sink = sink.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        for seq in 0..EACH {
                            sink.send(format!("{thread} {seq}")).await.unwrap();
                        }
                    });
                })
            })
            .collect();
        drop(sink);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut next = [0; THREADS];
        runtime.block_on(async {
            while let Some(event) = std::future::poll_fn(|cx| recv(&mut events, cx)).await {
                let text = std::str::from_utf8(event.as_ref()).unwrap();
                let (thread, seq) = text
                    .strip_prefix("data: ")
                    .and_then(|t| t.strip_suffix("\n\n"))
                    .and_then(|t| t.split_once(' '))
                    .unwrap();
                let thread: usize = thread.parse().unwrap();
                assert_eq!(seq.parse::<usize>().unwrap(), next[thread], "{text:?}");
                next[thread] += 1;
            }
        });
        assert_eq!(next, [EACH; THREADS]);
        for sender in senders {
            sender.join().unwrap();
        }
    }

    #[test]
    fn a_closed_receiver_drains_what_was_sent_then_ends() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
        sink.try_send("before").unwrap();
        events.close();
        assert!(sink.is_closed());
        assert!(matches!(sink.try_send("after"), Err(SendError::Closed)));
        assert_eq!(received(&mut events), ["data: before\n\n"]);
        assert!(
            matches!(try_recv(&mut events), Poll::Ready(None)),
            "ends though a sink lives"
        );
    }

    #[tokio::test]
    async fn the_receiver_wakes_on_a_send_and_when_the_last_sink_goes() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
        let clone = sink.clone();
        // The reader is the response's: on its thread, in a task of its own.
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async move {
                let receiver = tokio::task::spawn_local(async move {
                    let mut got = Vec::new();
                    while let Some(event) = std::future::poll_fn(|cx| recv(&mut events, cx)).await {
                        got.push(event);
                    }
                    got.len()
                });
                tokio::task::yield_now().await;
                sink.send("one").await.unwrap();
                tokio::task::yield_now().await;
                clone.send("two").await.unwrap();
                drop(sink);
                tokio::task::yield_now().await;
                drop(clone);
                assert_eq!(receiver.await.unwrap(), 2);
            })
            .await;
    }

    #[test]
    #[should_panic(expected = "at least one event")]
    fn a_capacity_of_zero_is_refused() {
        let _ = channel_with_capacity(&CleanUp::new(), 0);
    }

    #[tokio::test]
    async fn an_item_that_cannot_be_encoded_fails_alone() {
        let (sink, mut events) = reading(channel(&CleanUp::new()));
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
        let (sink, events) = channel(&CleanUp::new());
        sendable(&sink.send("x"));
        // The receiving half too, until the response reads it.
        sendable(&events);
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
