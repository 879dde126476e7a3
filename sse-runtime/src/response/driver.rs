//! The driver: the whole route call (extractor values, the controller
//! `Arc`, the stream that may borrow it) as one `'static` future, and the
//! [`Sink`] through which it refuses the request or encodes its items into
//! the buffer it shares with the body.

use std::any::Any;
use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::connection::Place;
use crate::encode;
use crate::event::EventName;
use crate::item::encoders::{Flow, ItemEncoder};

/// Past this many buffered bytes the driver lets the body send them even if
/// the stream still has items ready, bounding memory and latency.
const HIGH_WATER: usize = 32 * 1024;

/// What a client is told when the server failed: the detail may hold
/// anything (a connection string, a password) and goes to the log instead.
const INTERNAL_ERROR: &str = "internal error";

/// The name of a stream's final error event unless the route names another.
pub(crate) const DEFAULT_ERROR_EVENT: EventName = EventName::checked("error");

/// What the driver decided before streaming.
pub(super) enum Start {
    Undecided,
    Streaming,
    Rejected(actix_web::Error),
}

/// The state the driver writes and the response reads: the decision, then
/// the encoded bytes not yet handed to actix.
pub(super) struct Shared {
    buf: BytesMut,
    /// An already encoded event that arrived while `buf` was empty: handed
    /// to actix as it is, without a copy (a hub's event is one buffer
    /// shared by every subscriber). Any later bytes move it into `buf`
    /// first (`settle`), so the order on the wire is kept.
    ready: Option<Bytes>,
    pub(super) start: Start,
    /// How much of `buf` is whole events: an item whose encoding fails or
    /// panics half-way is cut back to here, so the wire never carries half
    /// an event.
    whole: usize,
    /// Where the stream runs, for the log.
    pub(super) place: Place,
    /// Events encoded into `buf` since the body last took it.
    pub(super) events: u64,
    /// The stream ended with an error event (an `Err` item, a failed or
    /// panicking item).
    pub(super) failed: bool,
    /// The name of that error event.
    pub(super) error_event: EventName,
    /// Whether a stream that runs out ends with the end frame
    /// (`encode::end_frame`), so that the browser does not replay it.
    pub(super) end_frame: bool,
}

impl Shared {
    /// Undecided, with `buf` already holding the stream's first bytes.
    pub(super) fn new(buf: BytesMut, place: Place) -> Rc<RefCell<Shared>> {
        Rc::new(RefCell::new(Shared {
            whole: buf.len(),
            buf,
            ready: None,
            start: Start::Undecided,
            place,
            events: 0,
            failed: false,
            error_event: DEFAULT_ERROR_EVENT,
            end_frame: true,
        }))
    }

    /// The stream ran out: queues the end frame if the route wants one.
    /// Tells whether the end was a failure.
    pub(super) fn ran_out(&mut self) -> bool {
        if !self.failed && self.end_frame {
            encode::end_frame(self.buf());
            self.whole = self.buf.len();
        }
        self.failed
    }

    /// Everything buffered, to hand to actix (all of it whole events).
    pub(super) fn take_chunk(&mut self) -> Option<Bytes> {
        if let Some(ready) = self.ready.take() {
            debug_assert!(self.buf.is_empty(), "`settle` moves it into a busy buffer");
            return Some(ready);
        }
        self.whole = 0;
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }

    /// The buffer, for bytes that follow whatever is queued.
    pub(super) fn buf(&mut self) -> &mut BytesMut {
        self.settle();
        &mut self.buf
    }

    /// Moves a ready event into `buf`, ahead of what comes next.
    fn settle(&mut self) {
        if let Some(ready) = self.ready.take() {
            self.buf.extend_from_slice(&ready);
            self.whole = self.buf.len();
        }
    }

    /// Queues one item: as it is if it is an encoded event and nothing else
    /// is buffered, else encoded into the buffer. An encoded event that is
    /// the resume frame turns the end frame off.
    fn push<I>(&mut self, item: I, encoder: &impl ItemEncoder<I>) -> Flow {
        self.events += 1;
        match encoder.encoded(item) {
            Ok(bytes) => {
                if encode::is_resume_frame(&bytes) {
                    self.end_frame = false;
                }
                if self.buf.is_empty() && self.ready.is_none() {
                    self.ready = Some(bytes);
                } else {
                    self.settle();
                    self.buf.extend_from_slice(&bytes);
                    self.whole = self.buf.len();
                }
                Flow::Continue
            }
            Err(item) => {
                self.settle();
                let flow = encoder.encode(item, &mut self.buf);
                if matches!(flow, Flow::Continue) {
                    self.whole = self.buf.len();
                }
                flow
            }
        }
    }

    fn buffered(&self) -> usize {
        self.buf.len() + self.ready.as_ref().map_or(0, Bytes::len)
    }

    /// Ends the stream on a failure of the server's own: drops whatever
    /// part of an event was written, logs `detail` with the route and the
    /// peer, and queues an error event with a generic text.
    pub(super) fn fail_internal(&mut self, what: &str, detail: &dyn Display) {
        tracing::error!(
            route = &*self.place.route,
            peer = ?self.place.peer,
            error = %detail,
            "{what}; ending the SSE stream",
        );
        self.end_with_error(&INTERNAL_ERROR);
    }

    fn end_with_error(&mut self, message: &dyn Display) {
        self.failed = true;
        self.settle();
        self.buf.truncate(self.whole);
        encode::error_event(&mut self.buf, self.error_event.as_str(), message);
        self.whole = self.buf.len();
    }

    /// Ends the stream on the user's own `Err` item: its text if the
    /// error type shows it, else the generic one with the detail logged.
    fn end_with_item_error(&mut self, public: Option<String>, detail: &str) {
        match public {
            Some(text) => self.end_with_error(&text),
            None => self.fail_internal("an SSE stream's item was an `Err`", &detail),
        }
    }
}

/// The driver's handle on the response: refuse it with an HTTP error, or
/// stream items into it.
pub struct Sink {
    shared: Rc<RefCell<Shared>>,
}

impl Sink {
    /// Refuses the request with an ordinary HTTP error: nothing is streamed.
    pub fn reject(self, error: impl Into<actix_web::Error>) {
        self.shared.borrow_mut().start = Start::Rejected(error.into());
    }

    /// Streams `stream` into the response until it ends or an item ends it.
    pub fn stream<S, K>(self, stream: S, encoder: K) -> Streaming<S, K>
    where
        S: Stream,
        K: ItemEncoder<S::Item>,
    {
        Streaming {
            sink: self,
            stream,
            encoder,
            state: State::Starting,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Sink::stream`].
    ///
    /// Written by hand rather than as an `async fn`: an `async fn` keeps its
    /// arguments in its state and the pinned stream again beside them, and
    /// this future lives as long as the connection (with 10 000 idle
    /// subscribers, every byte of it is 10 KB).
    #[must_use = "a future does nothing unless polled"]
    pub struct Streaming<S, K> {
        sink: Sink,
        #[pin]
        stream: S,
        encoder: K,
        state: State,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not polled yet: the first poll decides to stream.
    Starting,
    Streaming,
    Done,
}

impl<S, K> Future for Streaming<S, K>
where
    S: Stream,
    K: ItemEncoder<S::Item>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        match *this.state {
            State::Done => return Poll::Ready(()),
            State::Starting => this.sink.shared.borrow_mut().start = Start::Streaming,
            State::Streaming => {}
        }
        *this.state = State::Streaming;
        loop {
            let item = match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    *this.state = State::Done;
                    return Poll::Ready(());
                }
                Poll::Ready(Some(item)) => item,
            };
            let mut shared = this.sink.shared.borrow_mut();
            match shared.push(item, &*this.encoder) {
                Flow::Continue => {}
                Flow::Failed(err) => {
                    *this.state = State::Done;
                    shared.fail_internal("an SSE item could not be encoded", &err);
                    return Poll::Ready(());
                }
                Flow::ItemErr { public, detail } => {
                    *this.state = State::Done;
                    shared.end_with_item_error(public, &detail);
                    return Poll::Ready(());
                }
            }
            if shared.buffered() >= HIGH_WATER {
                // `Pending` without a wake-up, for the body to send a full
                // buffer: sound only because the body, seeing the driver
                // pending with bytes buffered, returns them and so is
                // polled again by actix.
                return Poll::Pending;
            }
        }
    }
}

/// The driver panicked, with this message.
pub(super) struct Panicked(pub(super) String);

impl Panicked {
    fn new(payload: &(dyn Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Panicked(message)
    }
}

/// The running route call, polled first by `Sse::__decide` (until it decides, for an `#[sse]` method)
/// and then by the body (for as long as it streams).
pub(super) struct Driver(Pin<Box<dyn Future<Output = ()>>>);

impl Driver {
    /// Calls `route` with a [`Sink`] on `shared`.
    pub(super) fn start<F, Fut>(route: F, shared: &Rc<RefCell<Shared>>) -> Driver
    where
        F: FnOnce(Sink) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        Driver(Box::pin(route(Sink {
            shared: shared.clone(),
        })))
    }

    /// Polls the route, turning a panic in the user's code into an error so
    /// that one bad stream ends alone instead of taking its worker thread
    /// (and every connection on it) down.
    pub(super) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Panicked>> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(Panicked::new(&*payload))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::encoders::{PlainItems, ResultItems};
    use crate::{EncodedEvent, Event};

    fn shared() -> Rc<RefCell<Shared>> {
        Shared::new(
            BytesMut::new(),
            Place {
                route: Rc::from("/t"),
                peer: None,
            },
        )
    }

    #[test]
    fn an_encoded_event_alone_goes_out_without_a_copy() {
        let shared = shared();
        let event = Event::default().data("shared").encode();
        let mut shared = shared.borrow_mut();
        assert!(matches!(
            shared.push(event.clone(), &PlainItems),
            Flow::Continue
        ));
        let chunk = shared.take_chunk().expect("a chunk");
        assert_eq!(chunk.as_ptr(), event.as_ref().as_ptr(), "the same buffer");
        assert!(shared.take_chunk().is_none());
        // Through a `Result` item too.
        let ok: Result<EncodedEvent, String> = Ok(event.clone());
        assert!(matches!(shared.push(ok, &ResultItems), Flow::Continue));
        assert_eq!(
            shared.take_chunk().unwrap().as_ptr(),
            event.as_ref().as_ptr()
        );
    }

    #[test]
    fn what_follows_a_ready_event_keeps_the_order() {
        let shared = shared();
        let mut shared = shared.borrow_mut();
        let first = Event::default().data("1").encode();
        let _ = shared.push(first, &PlainItems);
        let _ = shared.push("2", &PlainItems);
        let _ = shared.push(Event::default().data("3").encode(), &PlainItems);
        assert_eq!(shared.events, 3);
        assert_eq!(shared.buffered(), 3 * "data: 1\n\n".len());
        let chunk = shared.take_chunk().unwrap();
        assert_eq!(&chunk[..], b"data: 1\n\ndata: 2\n\ndata: 3\n\n");
    }

    #[test]
    fn an_error_after_a_ready_event_keeps_the_event() {
        let shared = shared();
        let mut shared = shared.borrow_mut();
        let _ = shared.push(Event::default().data("1").encode(), &PlainItems);
        shared.end_with_error(&"gone");
        let chunk = shared.take_chunk().unwrap();
        assert!(chunk.starts_with(b"data: 1\n\nevent: error\n"), "{chunk:?}");
        // Bytes queued after it, e.g. the shutdown frame, follow it.
        let _ = shared.push(Event::default().data("2").encode(), &PlainItems);
        shared.buf().extend_from_slice(b"retry: 1000\n\n");
        assert_eq!(
            &shared.take_chunk().unwrap()[..],
            b"data: 2\n\nretry: 1000\n\n"
        );
    }
}
