//! Items: what each stream item becomes on the wire, and what a client
//! sees when something fails.
//!
//! # Policies
//!
//! * **One item, one event, framed exactly.** Data and comments take any
//!   text and are split into lines exactly as a browser will read them
//!   back; the two fields that could forge a second event if they held a
//!   line break (`event` and `id`) are checked, and refused with an
//!   [`EventError`](crate::EventError), never a panic (SSE injection).
//! * **Text or JSON is decided by the value** (the probe rule, below),
//!   unless the item's type says so: [`Json`](crate::Json) is always JSON,
//!   [`Text`](crate::Text) always text.
//! * **Nothing internal reaches the client by default.** An `Err` item
//!   ends the stream with a final `event: error` whose data is
//!   `internal error`; the error's own text goes to the log. Only
//!   [`Shown`](crate::Shown) sends it to the client.
//! * **The wire stays valid whatever fails**: a client reads only whole
//!   events, then the one error event, then the end of the stream.
//!
//! # Item types
//!
//! | item type | on the wire |
//! | --- | --- |
//! | `&str`, `String`, `char`, `Arc<str>`, `Rc<str>`, `Box<str>`, `Cow<str>` (any `Serialize` that is a string) | plain text: `data: Hello, world!`; multi-line text becomes several `data:` lines |
//! | any other `T: Serialize` | compact JSON: `data: {"status":"Running"}` |
//! | [`Event`](crate::Event) | full control: event name, id, retry, comments, data or JSON |
//! | [`EncodedEvent`](crate::EncodedEvent) | an event encoded once and shared (fan-out) |
//! | [`Json(value)`](crate::Json), [`Text(value)`](crate::Text) | JSON, or the `Display` text, whatever the value's shape |
//! | `Result<T, E>` with `E: Display` | `Ok` as above; `Err` sends a final `event: error` with `data: internal error`, the error's own text going to the log, then the stream ends |
//! | `Result<T, Shown<E>>` | the same, but the error's `Display` text is the event's data |
//!
//! Everything here is an [`IntoEvent`](crate::IntoEvent). An item type
//! that is none of these is a compile error naming the fixes (derive
//! `Serialize` on your type, enable another crate's `serde` feature or
//! wrap its type in one of yours, or map into `Event`).
//!
//! # Strings or JSON: the probe rule
//!
//! Whether a `T: Serialize` item is text is decided by its value: whatever
//! serializes as a string (or a char, or one inside a newtype or `Some`)
//! is text, anything else JSON. So `Some("x")` is `data: x` but `None` is
//! `data: null`, and a `UserId(String)` newtype goes out unquoted. Where
//! the page calls `JSON.parse` on every event, send
//! [`Json(value)`](crate::Json); [`Text(value)`](crate::Text) sends any
//! `Display` as text, `Serialize` or not.
//!
//! # What clients see when something fails
//!
//! An `Err` item sends `event: error` with `data: internal error`, and its
//! `Display` text (a `sqlx::Error`, an `anyhow` chain, a DSN) is logged
//! through `tracing` at `error` level with the route and the peer address.
//! To show an error's text to the client, make the item's error
//! [`Shown<E>`](crate::Shown) (`.map_err(Shown)`): that is the only way
//! in, so showing is always decided where the error is made (see
//! [`ItemError`](crate::ItemError)). A failure of the server's own (an
//! item whose `Serialize` fails, a panic in the stream or in a serializer)
//! is treated the same. Whatever part of an event was written before the
//! failure is cut back, so the client never reads half an event.
//!
//! Once the route method has returned its stream, the answer is an event
//! stream, even if the stream panics before its first item (a browser then
//! reconnects instead of giving up on a `500`); only a panic in the method
//! itself, before it returns, is a `500`.
//!
//! The error event is named `error` unless the route says otherwise
//! (`error_event = "failed"`, or `.error_event(event_name!("failed"))` on
//! an [`Sse`](crate::Sse)). It is not
//! `EventSource.onerror`: in a browser,
//! `eventSource.addEventListener("error", ..)` receives it as a
//! `MessageEvent` (with `data`), while a connection failure arrives there
//! as a plain `Event`: test `e instanceof MessageEvent` (or
//! `e.data !== undefined`) to tell them apart.
//!
//! # Events
//!
//! [`Event`](crate::Event) sets every field. `event` and `id` are the only
//! fallible ones:
//!
//! ```
//! use sse_runtime::{Event, EventError};
//!
//! fn notification(kind: &str, id: u64, text: &str) -> Result<Event, EventError> {
//!     Ok(Event::default()
//!         .event(kind)?             // refused if it holds CR or LF
//!         .id(id.to_string())?      // refused if it holds CR, LF or NUL
//!         .data(text))              // any text; split on CR, LF and CRLF
//! }
//! # assert!(notification("a\nb", 1, "x").is_err());
//! ```
//!
//! A name written in the code is checked when the program is compiled
//! instead, with [`event_name!`](crate::event_name), so there is nothing
//! to unwrap and a `.map` closure keeps plain `Event` items:
//!
//! ```
//! use futures_util::stream::{self, Stream, StreamExt};
//! use sse_runtime::{event_name, Event};
//!
//! fn ticks() -> impl Stream<Item = Event> {
//!     stream::iter(1..=3).map(|n| Event::named(event_name!("tick")).data(n.to_string()))
//! }
//! # let _ = ticks();
//! ```
//!
//! [`EncodedEvent`](crate::EncodedEvent) is an event encoded once, for
//! sending the same bytes to many clients; the [hub](crate::hub) does this
//! for every publish.
