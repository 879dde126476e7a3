//! Authentication before streaming (the `Result` return shape of
//! `sse_runtime::guide::routes`), mounted at `/secure`: a route that
//! refuses the request before streaming, with an ordinary `401`, unless the
//! `token` query parameter is the demo token ([`DEMO_TOKEN`]). Browsers'
//! `EventSource` cannot send headers, hence a query parameter.
//!
//! | Route | Shape |
//! |---|---|
//! | `GET /secure/feed?token=let-me-in` | `Result<impl Stream<Item = Event>, Unauthorized>` |
//! | `GET /secure/sink-feed?token=let-me-in` | an [`EventSink`] and `Result<(), Unauthorized>` |
//!
//! Without the token (or with another one) both answer `401 Unauthorized`
//! with a plain-text reason and stream nothing; an `EventSource` then
//! stops reconnecting. With it: a `welcome` event, then a `tick` event
//! with the time every second.
//!
//! ```text
//! curl -i http://127.0.0.1:8080/secure/feed             # 401
//! curl -N 'http://127.0.0.1:8080/secure/feed?token=let-me-in'
//! ```

use std::fmt;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, ResponseError};
use async_stream::stream;
use futures_util::stream::Stream;
use serde::Deserialize;
use sse_runtime::{controller, event_name, sse, Event, EventSink, SendError};

use crate::clock;
use crate::pace::Pace;

/// The token the demo accepts. A real service would check a session or a
/// signed token here.
pub const DEMO_TOKEN: &str = "let-me-in";

/// The query of the `/secure` routes: `?token=…`, optional so that a
/// missing token is a `401` too, rather than actix's `400` for a query it
/// cannot parse.
#[derive(Debug, Clone, Deserialize)]
pub struct Credentials {
    /// The bearer token.
    pub token: Option<String>,
}

/// The refusal: `401 Unauthorized`, its `Display` as the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unauthorized;

impl fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a valid `token` query parameter is required")
    }
}

impl ResponseError for Unauthorized {
    fn status_code(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }
}

/// A failed send ends the sink route; before its first event that is a
/// refusal like any other.
impl From<SendError> for Unauthorized {
    fn from(_: SendError) -> Self {
        Unauthorized
    }
}

/// The authenticated feeds.
#[derive(Debug, Clone)]
pub struct SecureController {
    /// Clock speed of the ticks.
    pub pace: Pace,
}

#[controller("secure")]
impl SecureController {
    /// `GET /secure/feed?token=…`: an `Err` here is an HTTP error response,
    /// sent before any stream starts.
    #[sse("feed")]
    async fn feed(
        &self,
        credentials: web::Query<Credentials>,
    ) -> Result<impl Stream<Item = Event>, Unauthorized> {
        authenticate(&credentials).await?;
        let pace = self.pace;
        Ok(stream! {
            yield welcome();
            loop {
                pace.sleep(Duration::from_secs(1)).await;
                yield tick();
            }
        })
    }

    /// `GET /secure/sink-feed?token=…`: the same in the sink style. An `Err`
    /// before the first event is the HTTP error; the response waits for
    /// the first event (or the return) to know which.
    #[sse("sink-feed")]
    async fn sink_feed(
        &self,
        credentials: web::Query<Credentials>,
        sink: EventSink,
    ) -> Result<(), Unauthorized> {
        authenticate(&credentials).await?;
        sink.send(welcome()).await?;
        loop {
            self.pace.sleep(Duration::from_secs(1)).await;
            sink.send(tick()).await?;
        }
    }
}

/// Where a real service would look the token up (hence `async`).
async fn authenticate(credentials: &Credentials) -> Result<(), Unauthorized> {
    match credentials.token.as_deref() {
        Some(DEMO_TOKEN) => Ok(()),
        _ => Err(Unauthorized),
    }
}

fn welcome() -> Event {
    Event::named(event_name!("welcome")).data("authenticated")
}

fn tick() -> Event {
    Event::named(event_name!("tick")).data(clock::now())
}
