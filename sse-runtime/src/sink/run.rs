//! How a method that takes an [`EventSink`](super::EventSink) is driven:
//! its future and the sink's receiving half become one stream of events,
//! which the driver streams like any route's stream. There is no second
//! response path: keep-alive, timers, shutdown, `CleanUp` and the panic
//! guard all apply unchanged.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use bytes::{Bytes, BytesMut};

use super::queue::{Reader, Received};
use super::SinkEvents;
use crate::item::encoders::{Flow, ItemEncoder};
use crate::response::Sink;

/// Streams what a method that cannot refuse sends: the response starts at
/// once.
pub(crate) async fn stream<F>(sink: Sink, method: F, events: SinkEvents)
where
    F: Future<Output = Result<(), actix_web::Error>>,
{
    sink.stream(SinkStream::new(method, events), SinkItems)
        .await;
}

/// Streams what a `Result` method sends, or refuses the request if it
/// returns `Err` before sending anything.
pub(crate) async fn stream_or_refuse<F>(sink: Sink, method: F, events: SinkEvents)
where
    F: Future<Output = Result<(), actix_web::Error>>,
{
    let mut stream = SinkStream::new(method, events);
    match poll_fn(|cx| stream.poll_start(cx)).await {
        Start::Refuse(error) => sink.reject(error),
        Start::Stream => sink.stream(stream, SinkItems).await,
    }
}

enum Start {
    Stream,
    Refuse(actix_web::Error),
}

/// How a [`SinkStream`]'s items reach the response: an event is copied as
/// it is (its sender encoded it), the method's `Err` is the final error
/// event with the generic text, as an `Err` item of a stream is.
///
/// `ResultItems` would do the same through `IntoEvent`; this is that path
/// without the layers, since it runs once per event.
struct SinkItems;

impl ItemEncoder<Result<Received, actix_web::Error>> for SinkItems {
    #[inline]
    fn encode(&self, item: Result<Received, actix_web::Error>, buf: &mut BytesMut) -> Flow {
        match item {
            Ok(event) => {
                buf.extend_from_slice(event.bytes());
                Flow::Continue
            }
            // Hidden, as an `Err` item's text is: the method's error is
            // for the log.
            Err(error) => Flow::ItemErr {
                public: None,
                detail: error.to_string(),
            },
        }
    }

    fn encoded(
        &self,
        item: Result<Received, actix_web::Error>,
    ) -> Result<Bytes, Result<Received, actix_web::Error>> {
        match &item {
            Ok(event) => event.shared().ok_or(item),
            Err(_) => Err(item),
        }
    }
}

/// The method's future and the events sent so far, as one stream. It ends
/// when the method is over and every sink is gone; a method's `Err` comes
/// last, after the events sent before it.
struct SinkStream<F> {
    /// `None` once it has returned (which drops the method's own sink).
    method: Option<Pin<Box<F>>>,
    events: Reader,
    /// Received while deciding how to start, yielded first.
    first: Option<Received>,
    failed: Option<actix_web::Error>,
}

impl<F> SinkStream<F>
where
    F: Future<Output = Result<(), actix_web::Error>>,
{
    fn new(method: F, events: SinkEvents) -> Self {
        SinkStream {
            method: Some(Box::pin(method)),
            events: events.into_reader(),
            first: None,
            failed: None,
        }
    }

    fn poll_method(&mut self, cx: &mut Context<'_>) {
        let Some(method) = self.method.as_mut() else {
            return;
        };
        if let Poll::Ready(outcome) = method.as_mut().poll(cx) {
            self.method = None;
            if let Err(error) = outcome {
                self.failed = Some(error);
                // Clones held by spawned tasks fail from now on, so their
                // producers stop; what was sent before still drains.
                self.events.close();
            }
        }
    }

    /// Whether the response starts: once something was sent (by the method
    /// or a clone of its sink), or the method returned `Ok`. An `Err`
    /// before that refuses the request.
    fn poll_start(&mut self, cx: &mut Context<'_>) -> Poll<Start> {
        self.poll_method(cx);
        if let Poll::Ready(Some(event)) = self.events.poll_next(cx) {
            self.first = Some(event);
            return Poll::Ready(Start::Stream);
        }
        if let Some(error) = self.failed.take() {
            return Poll::Ready(Start::Refuse(error));
        }
        if self.method.is_none() {
            return Poll::Ready(Start::Stream);
        }
        Poll::Pending
    }
}

impl<F> Stream for SinkStream<F>
where
    F: Future<Output = Result<(), actix_web::Error>>,
{
    type Item = Result<Received, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        // What is queued first, and the method only once it is all taken:
        // it then refills the whole queue without waiting, instead of
        // waiting for room at every send (a costlier path: an allocation
        // and tokio's queue of waiting senders).
        if let Poll::Ready(Some(event)) = this.events.try_next() {
            return Poll::Ready(Some(Ok(event)));
        }
        this.poll_method(cx);
        match this.events.poll_next(cx) {
            Poll::Ready(Some(event)) => Poll::Ready(Some(Ok(event))),
            // Every sink is gone, but a method that dropped its own may
            // still be running: the connection lives until it returns.
            Poll::Ready(None) if this.method.is_some() => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(this.failed.take().map(Err)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::cleanup::CleanUp;
    use crate::sink::channel;

    fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
        Pin::new(stream).poll_next(&mut Context::from_waker(Waker::noop()))
    }

    fn data(item: Poll<Option<Result<Received, actix_web::Error>>>) -> String {
        match item {
            Poll::Ready(Some(Ok(event))) => {
                String::from_utf8(event.to_encoded().as_ref().to_vec()).unwrap()
            }
            other => panic!(
                "expected an event, got {:?}",
                other.map(|o| o.map(|r| r.err()))
            ),
        }
    }

    #[test]
    fn lives_while_the_method_runs_or_a_clone_lives() {
        let (sink, events) = channel(&CleanUp::new());
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let kept = sink.clone();
        let mut stream = SinkStream::new(
            async move {
                sink.try_send("from the method").unwrap();
                drop(sink);
                let _ = wait.await;
                Ok(())
            },
            events,
        );
        assert_eq!(data(poll(&mut stream)), "data: from the method\n\n");
        // The method dropped its sink but still runs; a clone lives too.
        assert!(poll(&mut stream).is_pending());
        release.send(()).unwrap();
        assert!(poll(&mut stream).is_pending(), "the clone still lives");
        kept.try_send("from the clone").unwrap();
        drop(kept);
        assert_eq!(data(poll(&mut stream)), "data: from the clone\n\n");
        assert!(matches!(poll(&mut stream), Poll::Ready(None)));
    }

    #[test]
    fn an_err_comes_after_what_was_sent_and_closes_the_clones() {
        let (sink, events) = channel(&CleanUp::new());
        let clone = sink.clone();
        let mut stream = SinkStream::new(
            async move {
                sink.try_send("before")?;
                Err(actix_web::error::ErrorBadGateway("upstream gone"))
            },
            events,
        );
        assert_eq!(data(poll(&mut stream)), "data: before\n\n");
        assert!(clone.is_closed());
        match poll(&mut stream) {
            Poll::Ready(Some(Err(error))) => assert_eq!(error.to_string(), "upstream gone"),
            _ => panic!("expected the method's error"),
        }
        assert!(matches!(poll(&mut stream), Poll::Ready(None)));
    }

    #[test]
    fn start_waits_for_the_first_event_or_the_return() {
        let (sink, events) = channel(&CleanUp::new());
        let (go, wait) = tokio::sync::oneshot::channel::<bool>();
        let mut stream = SinkStream::new(
            async move {
                if wait.await.unwrap_or(false) {
                    sink.try_send("ok")?;
                    Ok(())
                } else {
                    Err(actix_web::error::ErrorUnauthorized("no token"))
                }
            },
            events,
        );
        let mut cx = Context::from_waker(Waker::noop());
        assert!(stream.poll_start(&mut cx).is_pending());
        go.send(true).unwrap();
        assert!(matches!(
            stream.poll_start(&mut cx),
            Poll::Ready(Start::Stream)
        ));
        assert_eq!(data(poll(&mut stream)), "data: ok\n\n");
        assert!(matches!(poll(&mut stream), Poll::Ready(None)));
    }

    #[test]
    fn an_err_before_any_event_refuses() {
        let (sink, events) = channel(&CleanUp::new());
        let clone = sink.clone();
        let mut stream = SinkStream::new(
            async move {
                drop(sink);
                Err(actix_web::error::ErrorUnauthorized("no token"))
            },
            events,
        );
        let mut cx = Context::from_waker(Waker::noop());
        match stream.poll_start(&mut cx) {
            Poll::Ready(Start::Refuse(error)) => assert_eq!(error.to_string(), "no token"),
            _ => panic!("expected a refusal"),
        }
        assert!(clone.is_closed());
        assert!(clone.try_send("late").is_err());
    }
}
