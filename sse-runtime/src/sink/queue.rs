//! The channel between a connection's [`EventSink`](super::EventSink)s and
//! its response: one bounded queue of encoded events under one lock, which
//! the response takes whole.
//!
//! Why not tokio's `mpsc` (what this replaced): each item cost a semaphore
//! permit taken and given back under the semaphore's lock, a list push, a
//! wake-up, an allocation of its own, and a call of the receiver. Here a
//! sender encodes into a buffer its thread reuses and copies the event into
//! one buffer shared by the queued events; the receiver swaps that buffer
//! for its own empty one in one lock and gives the room of the whole batch
//! back in one call once it has handed the batch on; the response is woken
//! only when it waits on an empty queue.

use std::cell::Cell;
use std::mem;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::{AcquireError, Notify, Semaphore, SemaphorePermit, TryAcquireError};

use crate::event::EventError;
use crate::item::IntoEvent;

/// Events up to this many bytes are copied into the queue's buffer; larger
/// ones are queued in the buffer they were encoded into, without a copy.
const SMALL: usize = 4 * 1024;

/// What an encoding buffer starts with, so that a small event does not
/// grow it a few bytes at a time.
const BUFFER: usize = 256;

/// A waiting reader gives back a buffer larger than this (its own, and the
/// queue's), so that a burst of large events does not keep its memory for
/// the rest of an idle connection's life.
const IDLE_KEEP: usize = 4 * 1024;

/// In [`Batch::lens`]: the event is the next of [`Batch::shared`].
const SHARED: u32 = u32::MAX;

thread_local! {
    /// An encoding buffer to reuse: a sender takes it, encodes an event
    /// into it, and puts it back once the event has been copied into the
    /// queue, so that sending a small event allocates nothing.
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// One whole event, encoded by its sender and not yet queued.
pub(super) enum Encoded {
    /// A small event, in a buffer that goes back to its thread once the
    /// event has been copied into the queue.
    Small(BytesMut),
    /// A large event, or one that was already encoded: queued as it is.
    Shared(Bytes),
}

/// Encodes `item` as one whole event; on error nothing is kept.
pub(super) fn encode(item: impl IntoEvent) -> Result<Encoded, EventError> {
    let item = match item.into_encoded() {
        Ok(bytes) => return Ok(Encoded::Shared(bytes)),
        Err(item) => item,
    };
    // Without a spare (another send is under way on this thread, or the
    // thread is ending), a new buffer.
    let mut buf = SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    // Empty unless an item panicked half-way through it.
    buf.clear();
    if buf.capacity() < BUFFER {
        buf.reserve(BUFFER);
    }
    match item.encode_into(&mut buf) {
        Ok(()) if buf.len() <= SMALL => Ok(Encoded::Small(buf)),
        Ok(()) => Ok(Encoded::Shared(buf.freeze())),
        Err(err) => {
            recycle(buf);
            Err(err)
        }
    }
}

/// Keeps `buf` for the next event encoded on this thread, unless it grew
/// large (one large event should not pin its memory for good).
fn recycle(buf: BytesMut) {
    if buf.capacity() <= SMALL {
        // Only fails while the thread ends; the buffer is then dropped.
        let _ = SPARE.try_with(|spare| spare.set(Some(buf)));
    }
}

/// What senders and the receiver share.
pub(super) struct Channel {
    queue: Mutex<Queue>,
    /// Room, one permit per event that may still be queued: a sender takes
    /// one before it queues (and forgets it), the receiver gives a batch's
    /// back once it has handed the batch on. Closed when the connection
    /// ends, which fails every send, waiting or later.
    room: Semaphore,
    /// Wakes [`EventSink::closed`](super::EventSink::closed).
    ended: Notify,
    capacity: usize,
}

/// The queued events, in order.
struct Queue {
    events: Batch,
    /// The receiver, while it waits on an empty queue.
    waiting: Option<Waker>,
    /// Live senders: the queue ends when the last is gone.
    senders: usize,
    closed: bool,
}

/// Events in order: the small ones back to back in one buffer, the large
/// ones as they were encoded.
#[derive(Default)]
pub(crate) struct Batch {
    bytes: BytesMut,
    /// Each event's length in `bytes`, or [`SHARED`].
    lens: Vec<u32>,
    shared: Vec<Bytes>,
}

impl Batch {
    fn clear(&mut self) {
        self.bytes.clear();
        self.lens.clear();
        self.shared.clear();
    }
}

impl Channel {
    /// A channel with room for `capacity` events and one sender.
    ///
    /// # Panics
    /// If `capacity` is 0, or more than [`Semaphore::MAX_PERMITS`].
    pub(super) fn new(capacity: usize) -> Arc<Channel> {
        assert!(
            capacity > 0,
            "an EventSink needs room for at least one event"
        );
        Arc::new(Channel {
            queue: Mutex::new(Queue {
                events: Batch::default(),
                waiting: None,
                senders: 1,
                closed: false,
            }),
            room: Semaphore::new(capacity),
            ended: Notify::new(),
            capacity,
        })
    }

    /// Room for one event, if there is some now.
    pub(super) fn try_room(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.room.try_acquire()
    }

    /// Room for one event, once there is some.
    pub(super) async fn room(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.room.acquire().await
    }

    /// Queues `event` in the room `permit` holds.
    ///
    /// # Errors
    /// `Err(())` if the channel was closed after the room was taken.
    pub(super) fn push(&self, permit: SemaphorePermit<'_>, event: Encoded) -> Result<(), ()> {
        let mut queue = self.queue.lock();
        if queue.closed {
            return Err(());
        }
        // Given back by the receiver once it has handed the event on.
        permit.forget();
        let events = &mut queue.events;
        let spare = match event {
            Encoded::Small(buf) => {
                events.bytes.extend_from_slice(&buf);
                events
                    .lens
                    .push(u32::try_from(buf.len()).expect("SMALL fits in a u32"));
                Some(buf)
            }
            Encoded::Shared(bytes) => {
                events.lens.push(SHARED);
                events.shared.push(bytes);
                None
            }
        };
        let waiting = queue.waiting.take();
        drop(queue);
        if let Some(receiver) = waiting {
            receiver.wake();
        }
        if let Some(buf) = spare {
            recycle(buf);
        }
        Ok(())
    }

    pub(super) fn is_closed(&self) -> bool {
        self.room.is_closed()
    }

    /// Completes once the channel is closed.
    pub(super) async fn closed(&self) {
        let mut ended = pin!(self.ended.notified());
        // Registered before the check, so that a close in between is seen.
        ended.as_mut().enable();
        if !self.is_closed() {
            ended.await;
        }
    }

    /// How many events are queued or held by the receiver.
    pub(super) fn waiting(&self) -> usize {
        self.capacity.saturating_sub(self.room.available_permits())
    }

    /// Fails every send from now on; what is queued still drains.
    fn close(&self) {
        self.queue.lock().closed = true;
        self.room.close();
        self.ended.notify_waiters();
    }

    pub(super) fn add_sender(&self) {
        self.queue.lock().senders += 1;
    }

    pub(super) fn drop_sender(&self) {
        let mut queue = self.queue.lock();
        queue.senders -= 1;
        let waiting = if queue.senders == 0 {
            queue.waiting.take()
        } else {
            None
        };
        drop(queue);
        if let Some(receiver) = waiting {
            receiver.wake();
        }
    }
}

/// The receiving half: takes the queue whole.
pub(super) struct Receiver {
    channel: Arc<Channel>,
}

impl Receiver {
    pub(super) fn new(channel: Arc<Channel>) -> Receiver {
        Receiver { channel }
    }

    /// Moves every queued event into `batch` (emptied first): `Ready(true)`
    /// if there were some, `Ready(false)` once the queue is empty and every
    /// sender is gone, or it was closed.
    ///
    /// Their room stays taken until [`release`](Self::release), so that a
    /// stalled reader holds at most the capacity, queued and taken
    /// together.
    ///
    /// Without `cx`, an empty queue is `Pending` with no wake-up to come.
    fn poll_take(&mut self, cx: Option<&mut Context<'_>>, batch: &mut Batch) -> Poll<bool> {
        batch.clear();
        let mut queue = self.channel.queue.lock();
        if queue.events.lens.is_empty() {
            if queue.senders == 0 || queue.closed {
                return Poll::Ready(false);
            }
            if let Some(cx) = cx {
                match &mut queue.waiting {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    waiting => *waiting = Some(cx.waker().clone()),
                }
                for idle in [&mut queue.events.bytes, &mut batch.bytes] {
                    if idle.capacity() > IDLE_KEEP {
                        *idle = BytesMut::new();
                    }
                }
            }
            return Poll::Pending;
        }
        // Both keep their allocations: the queue's becomes the batch, and
        // the batch's (empty) the queue's.
        mem::swap(&mut queue.events, batch);
        Poll::Ready(true)
    }

    /// Gives back the room of `events` taken and handed on.
    fn release(&self, events: usize) {
        self.channel.room.add_permits(events);
    }

    /// Fails every send from now on; what is queued still drains.
    pub(super) fn close(&self) {
        self.channel.close();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.channel.close();
        // Queued events go now, not with the last sender.
        self.channel.queue.lock().events = Batch::default();
    }
}

/// The receiving end as the response reads it: a batch taken from the
/// queue, handed on one event at a time.
///
/// Not `Send`: an event handed on shares the batch through an `Rc` (it is
/// copied into the response's buffer at once; an `Arc` would cost two
/// atomic operations per event for nothing).
pub(crate) struct Reader {
    receiver: Receiver,
    batch: Rc<Batch>,
    /// How many events of `batch` were handed on.
    next: usize,
    /// Where the next small event starts in `batch.bytes`.
    at: usize,
    /// Which of `batch.shared` is next.
    shared: usize,
}

impl Reader {
    pub(super) fn new(receiver: Receiver) -> Reader {
        Reader {
            receiver,
            batch: Rc::default(),
            next: 0,
            at: 0,
            shared: 0,
        }
    }

    /// The next event; `None` once the queue is empty and every sender is
    /// gone, or it was closed.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Received>> {
        self.next(Some(cx))
    }

    /// [`poll_next`](Self::poll_next), but `Pending` on an empty queue
    /// leaves no waker behind: for a caller that looks again before it
    /// waits (a sender's wake-up would be for nothing).
    pub(crate) fn try_next(&mut self) -> Poll<Option<Received>> {
        self.next(None)
    }

    #[inline]
    fn next(&mut self, cx: Option<&mut Context<'_>>) -> Poll<Option<Received>> {
        let Some(&len) = self.batch.lens.get(self.next) else {
            return self.take(cx);
        };
        self.next += 1;
        let at = if len == SHARED {
            self.shared += 1;
            self.shared - 1
        } else {
            self.at += len as usize;
            self.at - len as usize
        };
        if self.next == self.batch.lens.len() {
            // The whole batch is handed on: its room is free again.
            self.receiver.release(self.next);
        }
        Poll::Ready(Some(Received {
            batch: self.batch.clone(),
            at,
            len,
        }))
    }

    /// Takes the next batch from the queue, and the first event of it.
    #[cold]
    fn take(&mut self, cx: Option<&mut Context<'_>>) -> Poll<Option<Received>> {
        // An event handed on is copied before the next is asked for, so the
        // batch is ours again; if one were kept, a new batch.
        if Rc::get_mut(&mut self.batch).is_none() {
            self.batch = Rc::default();
        }
        let batch = Rc::get_mut(&mut self.batch).expect("just made unique");
        // `poll_take` empties the batch, taken or not.
        self.next = 0;
        self.at = 0;
        self.shared = 0;
        match self.receiver.poll_take(cx, batch) {
            Poll::Ready(true) => self.next(None),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Fails every send from now on; what is queued still drains.
    pub(crate) fn close(&self) {
        self.receiver.close();
    }
}

/// One event from a [`Reader`], for the response to copy (or, if it was
/// queued as it is, to send as it is): where it is in the batch.
pub(crate) struct Received {
    batch: Rc<Batch>,
    /// Where it starts in `batch.bytes`, or which of `batch.shared` it is.
    at: usize,
    /// Its length, or [`SHARED`].
    len: u32,
}

impl Received {
    /// The event's bytes.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        if self.len == SHARED {
            &self.batch.shared[self.at]
        } else {
            &self.batch.bytes[self.at..self.at + self.len as usize]
        }
    }

    /// The event's own buffer if it was queued as it is (an encoded event,
    /// or a large one), to send without a copy.
    pub(crate) fn shared(&self) -> Option<Bytes> {
        (self.len == SHARED).then(|| self.batch.shared[self.at].clone())
    }

    /// The event as an [`EncodedEvent`](crate::event::EncodedEvent) of its
    /// own (a copy of a small one).
    #[cfg(test)]
    pub(crate) fn to_encoded(&self) -> crate::event::EncodedEvent {
        crate::event::EncodedEvent(
            self.shared()
                .unwrap_or_else(|| Bytes::copy_from_slice(self.bytes())),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn channel(capacity: usize) -> (Arc<Channel>, Reader) {
        let channel = Channel::new(capacity);
        let reader = Reader::new(Receiver::new(channel.clone()));
        (channel, reader)
    }

    fn send(channel: &Channel, item: &str) {
        let room = channel.try_room().expect("room");
        channel.push(room, encode(item).unwrap()).unwrap();
    }

    #[test]
    fn small_events_share_one_buffer_and_large_ones_keep_their_own() {
        let (channel, mut reader) = channel(8);
        let large = "x".repeat(SMALL);
        send(&channel, "a");
        send(&channel, &large);
        send(&channel, "b");
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(Some(a)) = reader.poll_next(&mut cx) else {
            panic!("an event")
        };
        assert_eq!(a.bytes(), b"data: a\n\n");
        assert!(a.shared().is_none(), "small: copied into the batch");
        drop(a);
        let Poll::Ready(Some(large)) = reader.poll_next(&mut cx) else {
            panic!("an event")
        };
        assert_eq!(large.bytes().len(), SMALL + "data: \n\n".len());
        assert!(large.shared().is_some(), "large: queued as it was encoded");
        drop(large);
        let Poll::Ready(Some(b)) = reader.poll_next(&mut cx) else {
            panic!("an event")
        };
        assert_eq!(b.bytes(), b"data: b\n\n");
        assert_eq!(reader.batch.bytes.len(), 2 * "data: a\n\n".len());
    }

    #[test]
    fn an_idle_reader_gives_back_the_buffers_of_a_burst() {
        let (channel, mut reader) = channel(8);
        let big = "y".repeat(SMALL / 2);
        for _ in 0..4 {
            send(&channel, &big);
        }
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..4 {
            assert!(matches!(reader.poll_next(&mut cx), Poll::Ready(Some(_))));
        }
        assert!(reader.batch.bytes.capacity() > IDLE_KEEP);
        // Looking without waiting keeps them (the method is about to refill).
        assert!(reader.try_next().is_pending());
        assert!(reader.batch.bytes.capacity() > IDLE_KEEP);
        assert!(reader.poll_next(&mut cx).is_pending());
        assert!(reader.batch.bytes.capacity() <= IDLE_KEEP);
        assert!(channel.queue.lock().events.bytes.capacity() <= IDLE_KEEP);
        // And work on with new ones.
        send(&channel, "again");
        let Poll::Ready(Some(again)) = reader.poll_next(&mut cx) else {
            panic!("an event")
        };
        assert_eq!(again.bytes(), b"data: again\n\n");
    }
}
