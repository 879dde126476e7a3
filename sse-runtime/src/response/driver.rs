//! The driver: the whole route call (extractor values, the controller
//! `Arc`, the stream that may borrow it) as one `'static` future, and the
//! [`Sink`] through which it refuses the request or encodes its items into
//! the buffer it shares with the body.

use std::cell::RefCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_core::Stream;
use futures_util::StreamExt;

use crate::item::encoders::{Flow, ItemEncoder};

/// Past this many buffered bytes the driver lets the body send them even if
/// the stream still has items ready, bounding memory and latency.
const HIGH_WATER: usize = 32 * 1024;

/// What the driver decided before streaming.
pub(super) enum Start {
    Undecided,
    Streaming,
    Rejected(actix_web::Error),
}

/// The state the driver writes and the response reads: the decision, then
/// the encoded bytes not yet handed to actix.
pub(super) struct Shared {
    pub(super) buf: BytesMut,
    pub(super) start: Start,
}

impl Shared {
    /// Undecided, with `buf` already holding the stream's first bytes.
    pub(super) fn new(buf: BytesMut) -> Rc<RefCell<Shared>> {
        Rc::new(RefCell::new(Shared {
            buf,
            start: Start::Undecided,
        }))
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
    pub async fn stream<S, K>(self, stream: S, encoder: K)
    where
        S: Stream,
        K: ItemEncoder<S::Item>,
    {
        self.shared.borrow_mut().start = Start::Streaming;
        let mut stream = pin!(stream);
        while let Some(item) = stream.next().await {
            let full = {
                let mut shared = self.shared.borrow_mut();
                if encoder.encode(item, &mut shared.buf) == Flow::End {
                    return;
                }
                shared.buf.len() >= HIGH_WATER
            };
            if full {
                YieldToBody(false).await;
            }
        }
    }
}

/// Returns `Pending` once without arranging a wake-up. Sound only because
/// the body, seeing the driver pending with bytes buffered, returns them and
/// so is polled again by actix.
struct YieldToBody(bool);

impl Future for YieldToBody {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

/// The driver panicked.
pub(super) struct Panicked;

/// The running route call, polled first by `respond` (until it decides)
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
            Err(_) => {
                tracing::error!("an SSE stream panicked; ending it");
                Poll::Ready(Err(Panicked))
            }
        }
    }
}
