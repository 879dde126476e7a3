//! Noticing that an HTTP/2 client cancelled a stream (`RST_STREAM`) or that
//! its connection is gone, while the stream has nothing to send.
//!
//! actix-web's HTTP/2 dispatcher holds the stream's send half and looks at
//! it only to write: it never asks whether the peer reset the stream, so
//! an idle stream would learn of the cancellation only at its next write
//! (the next keep-alive comment). The request's receive half, which the
//! route may keep, does know: once the peer resets the stream (or the
//! connection ends), reading it fails. It does not wake anyone, though: the
//! request's body had already ended, and a finished body registers no
//! waiter. So the stream looks, on a short timer, without writing a byte.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::dev::Payload;
use futures_core::Stream;
use tokio::time::{sleep, Instant, Sleep};

/// The check for one HTTP/2 stream.
pub(crate) struct H2Cancel {
    payload: Payload,
    every: Duration,
    tick: Pin<Box<Sleep>>,
}

impl H2Cancel {
    pub(crate) fn new(payload: Payload, every: Duration) -> Self {
        H2Cancel {
            payload,
            every,
            tick: Box::pin(sleep(every)),
        }
    }

    /// Whether the stream was cancelled; arranges the next look otherwise.
    pub(crate) fn poll_cancelled(&mut self, cx: &mut Context<'_>) -> bool {
        if self.tick.as_mut().poll(cx).is_pending() {
            return false;
        }
        loop {
            match Pin::new(&mut self.payload).poll_next(cx) {
                Poll::Ready(Some(Err(_))) => return true,
                // A request body nobody asked for: discarded.
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        self.tick.as_mut().reset(Instant::now() + self.every);
        // Registers the wake-up of the next look.
        let _ = self.tick.as_mut().poll(cx);
        false
    }
}
