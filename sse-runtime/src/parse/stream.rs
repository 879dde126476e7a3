//! [`Stream`] adapter: body chunks in, [`ReceivedEvent`]s out.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::stream::{FusedStream, Stream};

use super::{EventStreamParser, ParseError, ReceivedEvent};

/// Parses a stream of byte chunks (`Result<B, E>` with `B: AsRef<[u8]>`,
/// e.g. `bytes::Bytes`) into a stream of events.
///
/// Shorthand for [`EventStream::new`].
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use futures_util::{stream, StreamExt};
/// use sse_runtime::parse::parse_stream;
///
/// let body = stream::iter([
///     Ok::<_, Infallible>(Bytes::from_static(b"data: 1\n\nda")),
///     Ok(Bytes::from_static(b"ta: 2\n\n")),
/// ]);
/// let events: Vec<_> = actix_rt::System::new().block_on(parse_stream(body).collect());
/// let data: Vec<String> = events.into_iter().map(|ev| ev.unwrap().data).collect();
/// assert_eq!(data, ["1", "2"]);
/// ```
pub fn parse_stream<S>(chunks: S) -> EventStream<S> {
    EventStream::new(chunks)
}

/// Error item of an [`EventStream`].
#[derive(Debug)]
pub enum EventStreamError<E> {
    /// The underlying byte stream yielded an error. The [`EventStream`] passes
    /// it through and keeps polling the underlying stream if polled again.
    Transport(E),
    /// The parser rejected the stream (see [`ParseError`]). The
    /// [`EventStream`] ends after yielding this error.
    Parse(ParseError),
}

impl<E: fmt::Display> fmt::Display for EventStreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(err) => write!(f, "event stream transport error: {err}"),
            Self::Parse(err) => err.fmt(f),
        }
    }
}

impl<E> std::error::Error for EventStreamError<E>
where
    E: std::error::Error + 'static,
{
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(err) => Some(err),
            Self::Parse(err) => Some(err),
        }
    }
}

/// A [`Stream`] of [`ReceivedEvent`]s parsed from a stream of byte chunks.
///
/// Every event a chunk completes is yielded before the next chunk is polled.
/// When the byte stream ends, an unterminated trailing event is discarded (as
/// a browser does) and the event stream ends. The parser, and with it
/// [`last_event_id`](EventStreamParser::last_event_id) and
/// [`retry`](EventStreamParser::retry), stays accessible through
/// [`parser`](Self::parser).
///
/// The byte stream is boxed internally, so it need not be `Unpin`.
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use futures_util::{stream, StreamExt};
/// use sse_runtime::parse::EventStream;
///
/// let chunks = stream::iter([
///     Ok::<_, Infallible>(Bytes::from_static(b"id: 1\ndata: a")),
///     Ok(Bytes::from_static(b"bc\n\ndata: unterminated")),
/// ]);
/// let mut events = EventStream::new(chunks);
/// actix_rt::System::new().block_on(async {
///     let first = events.next().await.unwrap().unwrap();
///     assert_eq!((first.data.as_str(), first.id.as_str()), ("abc", "1"));
///     assert!(events.next().await.is_none());
/// });
/// assert_eq!(events.parser().last_event_id(), "1");
/// ```
pub struct EventStream<S> {
    inner: Option<Pin<Box<S>>>,
    parser: EventStreamParser,
    pending: VecDeque<ReceivedEvent>,
    error: Option<ParseError>,
}

impl<S> EventStream<S> {
    /// Wraps `chunks` with a default [`EventStreamParser`].
    pub fn new(chunks: S) -> Self {
        Self::with_parser(chunks, EventStreamParser::new())
    }

    /// Wraps `chunks` with the given parser, e.g. one with a custom
    /// [`max_event_size`](EventStreamParser::with_max_event_size) or one
    /// reused from a previous connection.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use futures_util::{stream, StreamExt};
    /// use sse_runtime::parse::{EventStream, EventStreamError, EventStreamParser};
    ///
    /// let rt = actix_rt::System::new();
    /// let chunks = stream::iter([Ok::<_, Infallible>(&b"data: 0123456789\n\n"[..])]);
    /// let mut events = EventStream::with_parser(chunks, EventStreamParser::with_max_event_size(4));
    /// let err = rt.block_on(events.next()).unwrap().unwrap_err();
    /// assert!(matches!(err, EventStreamError::Parse(_)));
    /// assert!(rt.block_on(events.next()).is_none());
    /// ```
    pub fn with_parser(chunks: S, parser: EventStreamParser) -> Self {
        Self {
            inner: Some(Box::pin(chunks)),
            parser,
            pending: VecDeque::new(),
            error: None,
        }
    }

    /// The parser, for [`last_event_id`](EventStreamParser::last_event_id)
    /// and [`retry`](EventStreamParser::retry).
    pub fn parser(&self) -> &EventStreamParser {
        &self.parser
    }

    /// Stops parsing and returns the parser, e.g. to reuse it for the next
    /// connection. The underlying byte stream is dropped; the parser is
    /// [finished](EventStreamParser::finish), and events that were parsed but
    /// not yet yielded are lost.
    pub fn into_parser(mut self) -> EventStreamParser {
        self.parser.finish();
        self.parser
    }
}

impl<S> fmt::Debug for EventStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("parser", &self.parser)
            .field("pending", &self.pending.len())
            .field("terminated", &self.inner.is_none())
            .finish_non_exhaustive()
    }
}

impl<S, B, E> Stream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    type Item = Result<ReceivedEvent, EventStreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if let Some(err) = this.error.take() {
                return Poll::Ready(Some(Err(EventStreamError::Parse(err))));
            }
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if let Err(err) = this.parser.feed_into(chunk.as_ref(), &mut this.pending) {
                        this.error = Some(err);
                        this.inner = None;
                        this.parser.finish();
                    }
                }
                Some(Err(err)) => return Poll::Ready(Some(Err(EventStreamError::Transport(err)))),
                None => {
                    this.inner = None;
                    this.parser.finish();
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let queued = self.pending.len() + usize::from(self.error.is_some());
        if self.inner.is_none() {
            (queued, Some(queued))
        } else {
            (queued, None)
        }
    }
}

impl<S, B, E> FusedStream for EventStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_none() && self.pending.is_empty() && self.error.is_none()
    }
}
