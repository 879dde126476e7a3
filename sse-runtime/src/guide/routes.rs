//! Routes: controllers, plain handlers, options, and how a stream ends.
//!
//! # What a route promises
//!
//! * **One response, one stream.** A route answers `200` with
//!   `Content-Type: text/event-stream`, `Cache-Control: no-cache`,
//!   `X-Accel-Buffering: no` (nginx) and `Content-Encoding: identity`, so
//!   actix's `Compress` middleware never holds events back. Events that
//!   are ready at the same moment go out together in one write; an event
//!   is never held waiting for the next one.
//! * **Refusing is an ordinary HTTP answer.** A route that returns `Err`
//!   before it streams (no token, no such task) answers with that error's
//!   status (`401`, `404`, ...) and streams nothing.
//! * **A finished stream stays finished.** When a stream runs out, its
//!   last frame is `id: sse-end` and a blank line: the page gets no event,
//!   but the browser's `EventSource` keeps `sse-end` as its last event id,
//!   reconnects with `Last-Event-ID: sse-end` and is answered
//!   `204 No Content`, on which it closes for good. Without this a browser
//!   replays a finite stream every ~3 s forever. An `#[sse]` route answers
//!   that `204` before its method runs. `reconnect_on_end = true` turns it
//!   off for a route that should start over. A stream cut by a timeout, a
//!   server stop, an error or a lagging hub subscriber has no end frame,
//!   so the browser reconnects as usual (see
//!   [how a stream ends](crate::Sse#how-a-stream-ends)).
//! * **The defaults live in one place.** `#[sse]` expands into the public
//!   responder [`Sse`](crate::Sse), one builder call per option, so a
//!   controller route and a plain handler behave the same in every
//!   respect (the workspace's tests run each behaviour against both).
//!
//! # Controllers
//!
//! `#[controller("prefix")]` goes on an inherent `impl` block. Each method
//! marked with a route attribute becomes an actix-web route under the
//! prefix, and `App::new().service(MyController { .. })` registers them
//! all; the controller value is shared by every request (held in an
//! `Arc`).
//!
//! | attribute | route |
//! | --- | --- |
//! | `#[sse("path", ..options)]` | `GET`, answered with an event stream |
//! | `#[get("path")]`, `#[post]`, `#[put]`, `#[patch]`, `#[delete]` | an ordinary route returning any `Responder` |
//!
//! So one controller can both publish (`POST`) and stream (`GET`). Paths
//! are joined with the prefix and slashes normalised (`"/events/"` +
//! `"/x/"` is `/events/x`; `#[controller("")]` mounts at the root),
//! placeholders work as in actix (`"progress/{task_id}"`), and a malformed
//! path or two routes with the same method and path are compile errors.
//!
//! A route method may be `fn` or `async fn`, take `&self` or no receiver,
//! and take any actix-web extractors (`web::Path`, `web::Query`,
//! `web::Json`, `web::Data`, `HttpRequest`, your own `FromRequest` types)
//! plus an injected [`CleanUp`](crate::CleanUp) or
//! [`EventSink`](crate::EventSink) (see [the sink](super::sink)), in any
//! order. A returned stream may borrow from `&self`: no `'static` bound, no
//! cloning of the controller.
//!
//! ```
//! use std::time::Duration;
//! use actix_web::{web, HttpResponse};
//! use futures_util::stream::{self, Stream, StreamExt};
//! use serde::Serialize;
//! use sse_runtime::{controller, sse, CleanUp};
//!
//! #[derive(Serialize)]
//! struct Progress { task: String, percent: u8 }
//!
//! pub struct Tasks { names: Vec<String> }
//!
//! #[controller("tasks")]
//! impl Tasks {
//!     /// `GET /tasks/names`: a stream borrowing from the controller.
//!     #[sse("names")]
//!     fn names(&self) -> impl Stream<Item = &str> {
//!         stream::iter(self.names.iter().map(String::as_str))
//!     }
//!
//!     /// `GET /tasks/progress/{task}`: JSON events, a retry hint, no keep-alive.
//!     #[sse("progress/{task}", retry = "3s", keep_alive = false)]
//!     async fn progress(&self, task: web::Path<String>, cleanup: CleanUp) -> impl Stream<Item = Progress> {
//!         cleanup.add(|| println!("progress stream closed"));
//!         let task = task.into_inner();
//!         stream::iter((0..=100).step_by(10)).then(move |percent| {
//!             let task = task.clone();
//!             async move {
//!                 tokio::time::sleep(Duration::from_millis(500)).await;
//!                 Progress { task, percent }
//!             }
//!         })
//!     }
//!
//!     /// `POST /tasks/names`: an ordinary route on the same controller.
//!     #[post("names")]
//!     async fn add(&self, name: String) -> HttpResponse {
//!         HttpResponse::Accepted().body(name)
//!     }
//! }
//! ```
//!
//! **Edition 2021.** In edition 2024 (`cargo new`'s since Rust 1.85),
//! `-> impl Stream<Item = T>` may capture `&self` by itself. In an
//! edition 2021 crate, write `-> impl Stream<Item = T> + '_` when the
//! stream borrows `&self` (or `+ use<'_>`, which rustc suggests): without
//! it rustc reports E0700, "hidden type for `impl Stream<..>` captures
//! lifetime that does not appear in bounds". The macros can't add a hint
//! to that error, since rustc raises it on your method itself, before any
//! generated code.
//!
//! ## Return shapes
//!
//! * `impl Stream<Item = T>`, or any named type implementing `Stream`,
//!   whose items are events (see [items](super::items)), e.g. a hub
//!   [`Subscription`](crate::Subscription).
//! * `Result<impl Stream<Item = T>, E>` with `E: actix_web::ResponseError`:
//!   an `Err` is an ordinary HTTP error response sent before any stream
//!   starts, the place for authentication. The demo's `/secure/feed`
//!   answers `401` without `?token=let-me-in`.
//! * Nothing, or `Result<(), E>`, when the method takes an
//!   [`EventSink`](crate::EventSink) (see [the sink](super::sink)).
//!
//! # Plain handlers: `Sse`
//!
//! Any actix-web handler (`web::get().to(..)`, `#[actix_web::get]`,
//! `web::resource`, `App::route`) can return an [`Sse`](crate::Sse):
//!
//! | built with | streams |
//! | --- | --- |
//! | [`Sse::from_stream(s)`](crate::Sse::from_stream) | any `Stream` whose items are events (`T: Serialize`, `Event`, `EncodedEvent`, `Json`, `Text`) |
//! | [`Sse::from_try_stream(s)`](crate::Sse::from_try_stream) | a `Stream` of `Result<T, E>`: an `Err` ends it with an error event (its text hidden unless [`Shown`](crate::Shown)) |
//! | [`Sse::from_subscription(sub)`](crate::Sse::from_subscription) | a hub [`Subscription`](crate::Subscription): replay, then live; it ends when the topic is closed |
//! | [`Sse::channel(capacity)`](crate::Sse::channel) | `(EventSink, Sse)`: send from a spawned task; the stream ends when every sink is dropped |
//!
//! [`CleanUp`](crate::CleanUp) is an ordinary extractor in a plain handler
//! (or use [`Sse::on_close`](crate::Sse::on_close)). One difference: an
//! `#[sse]` route decides the end-frame `204` and the caps of
//! [`SseEdge`](crate::SseEdge) before its method runs, while a handler
//! returning `Sse` has run by then; a handler with side effects may check
//! [`LastEventId`](crate::LastEventId) against
//! [`Sse::END_ID`](crate::Sse::END_ID) itself.
//!
//! # Route options
//!
//! | option | default | meaning |
//! | --- | --- | --- |
//! | `keep_alive = "15s"` / `keep_alive = false` | `"15s"` | a `: keep-alive` comment after that much silence, so proxies keep the connection and a vanished client is noticed |
//! | `retry = "3s"` | none | a `retry:` field first in the stream: how long a browser waits before reconnecting |
//! | `max_duration = "1h"` | none | the stream is closed after that long (clients reconnect) |
//! | `idle_timeout = "5m"` | none | the stream is closed after that long without an event (keep-alives don't count) |
//! | `write_timeout = "10s"` / `write_timeout = false` | the server's (30 s with `.sse_defaults()`) | the stream is closed when its client takes none of its bytes for that long (see [slow clients](super::slow_clients)) |
//! | `error_event = "failed"` | `"error"` | the name of the final event an `Err` item (or a failure) ends the stream with |
//! | `reconnect_on_end = true` | `false` | a stream that ran out gets no end frame, so the browser reconnects and replays it |
//!
//! Each option is an [`Sse`](crate::Sse) builder method of the same name
//! (`.keep_alive(d)` / `.no_keep_alive()`, `.retry(d)`,
//! `.max_duration(d)`, `.idle_timeout(d)`, `.write_timeout(d)` /
//! `.no_write_timeout()`, `.error_event(name)`, `.reconnect_on_end()`),
//! plus `.header(..)` and `.on_close(..)`. Durations are `ms`, `s`, `m`,
//! `h`, `d` and combinations (`"1m30s"`), checked at compile time; an
//! unknown option lists the known ones.
//!
//! # Compile-time errors
//!
//! Mistakes are compile errors at your own tokens, all reported in one
//! build, while the rest of the impl keeps compiling (IDEs stay useful):
//! `#[controller]` on something other than an inherent impl, a malformed
//! or non-literal path, duplicate routes, `#[sse]` outside a controller,
//! generic methods or `self` / `&mut self` receivers, a return type that
//! is not a stream, items that are neither `Serialize` nor an event, two
//! `CleanUp` parameters, `EventSink` misuse (two of them, with a returned
//! stream, by reference, outside `#[sse]`), an
//! [`event_name!`](crate::event_name) with a line break, unknown or
//! malformed options. Each is pinned by a trybuild case in the
//! repository's `tests/ui/`.
//!
//! # A renamed dependency
//!
//! The generated code names the runtime as `::sse_runtime`. If you depend
//! on it under another name, tell the macro:
//! `#[controller("events", crate = "my_sse")]`.
