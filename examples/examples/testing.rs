//! How to test your own routes in-process with `sse_runtime::test`
//! (feature `testing`, usually a dev-dependency): call the app without a
//! socket and get parsed events, with a timeout on every wait, so even an
//! infinite stream can be sampled.
//!
//! ```text
//! cargo run -p sse-examples --example testing      # runs the checks, prints them
//! cargo test -p sse-examples --example testing     # the same as #[actix_web::test]s
//! ```
//!
//! In your crate, put the `check_*` bodies into `#[actix_web::test]`
//! functions (as in `mod tests` below) and build the app with the same
//! `routes` as the server.

use std::time::Duration;

use actix_web::test::{init_service, TestRequest};
use actix_web::{error, web, App, HttpRequest};
use futures_util::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sse_runtime::test::{all_events, call, events};
use sse_runtime::{controller, event_name, sse, Event, EventError, LastEventId};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Tick {
    n: u64,
}

/// Event `n`: `event: tick`, `id: n`, `data: {"n":n}`.
fn tick(n: u64) -> Result<Event, EventError> {
    Event::named(event_name!("tick"))
        .id(n.to_string())?
        .json(&Tick { n })
}

/// The routes under test.
pub struct Api;

#[controller("")]
impl Api {
    /// `GET /hello`: two events, then the end.
    #[sse("hello")]
    fn hello(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["Hello", "world"])
    }

    /// `GET /ticks`: `tick` events forever, resumable with `Last-Event-ID`.
    #[sse("ticks", retry = "1s")]
    fn ticks(&self, last: LastEventId) -> impl Stream<Item = Result<Event, EventError>> {
        let after = last.as_str().and_then(|id| id.parse().ok()).unwrap_or(0);
        stream::iter(after + 1..).then(|n| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            tick(n)
        })
    }

    /// `GET /private`: `401` without `Authorization: Bearer let-me-in`.
    #[sse("private")]
    fn private(&self, req: HttpRequest) -> actix_web::Result<impl Stream<Item = &'static str>> {
        match req.headers().get("authorization") {
            Some(token) if token == "Bearer let-me-in" => Ok(stream::iter(["secret"])),
            _ => Err(error::ErrorUnauthorized("no valid token")),
        }
    }
}

/// The app's routes: the server and the tests register the same.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(Api);
}

const WITHIN: Duration = Duration::from_secs(2);

async fn check_finite_stream() {
    let app = init_service(App::new().configure(routes)).await;
    let req = TestRequest::get().uri("/hello").to_request();
    // Every event until the stream ends, which must happen within 2 s.
    let got = all_events(&app, req, WITHIN).await.unwrap();
    let data: Vec<_> = got.iter().map(|event| event.data.as_str()).collect();
    assert_eq!(data, ["Hello", "world"]);
}

async fn check_infinite_stream_and_resume() {
    let app = init_service(App::new().configure(routes)).await;
    let req = TestRequest::get().uri("/ticks").to_request();
    let mut res = call(&app, req)
        .await
        .unwrap()
        .expect_event_stream()
        .unwrap();
    let first = res.take(3).await.unwrap(); // then stop reading
    assert_eq!(first[0].event, "tick");
    assert_eq!(first[2].json::<Tick>().unwrap(), Tick { n: 3 });
    assert_eq!(res.last_event_id(), "3");
    assert_eq!(res.retry(), Some(Duration::from_secs(1)));
    res.disconnect(); // drops the body: the client left

    // A reconnecting browser sends the last id it saw.
    let req = TestRequest::get()
        .uri("/ticks")
        .insert_header(("Last-Event-ID", "3"))
        .to_request();
    let next = events(&app, req, 2, WITHIN).await.unwrap();
    assert_eq!([next[0].id.as_str(), next[1].id.as_str()], ["4", "5"]);
}

async fn check_refusal() {
    let app = init_service(App::new().configure(routes)).await;
    let req = TestRequest::get().uri("/private").to_request();
    let res = call(&app, req).await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.expect_event_stream().is_err(), "no event stream");
}

#[actix_web::main]
async fn main() {
    // A failed check panics, so the example exits with a non-zero status.
    check_finite_stream().await;
    println!("ok: /hello sends \"Hello\" and \"world\", then ends");
    check_infinite_stream_and_resume().await;
    println!("ok: /ticks sampled (3 events, retry 1s) and resumed after Last-Event-ID 3");
    check_refusal().await;
    println!("ok: /private answers 401 without a token");
    println!("all checks passed");
}

#[cfg(test)]
mod tests {
    #[actix_web::test]
    async fn finite_stream() {
        super::check_finite_stream().await;
    }

    #[actix_web::test]
    async fn infinite_stream_and_resume() {
        super::check_infinite_stream_and_resume().await;
    }

    #[actix_web::test]
    async fn refusal() {
        super::check_refusal().await;
    }
}
