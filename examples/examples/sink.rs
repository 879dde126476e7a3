//! Sending events imperatively through an `EventSink` instead of returning
//! a stream: from a task spawned by a plain handler (`Sse::channel`), and
//! from an `#[sse]` method that takes the sink.
//!
//! ```text
//! cargo run -p sse-examples --example sink         # PORT=8081 to move it
//! curl -N http://127.0.0.1:8080/countdown          # 3, 2, 1, liftoff, then the end
//! curl -N http://127.0.0.1:8080/live/counter       # {"count":1}, {"count":2}, ... every second
//! ```
//!
//! A send waits while the client is slow (back-pressure) and fails once it
//! has left: that is the producer's signal to stop. `PORT=0` picks a free
//! port; the first line printed is `listening on http://ADDR`.

use std::time::Duration;

use actix_web::{web, App, HttpServer};
use serde_json::json;
use sse_runtime::{controller, sse, EventSink, Sse, SseServerExt};

/// `GET /countdown`: a plain handler hands the sink to a task and returns
/// the response at once. The stream ends when every clone of the sink is
/// dropped, here when the task is done.
async fn countdown() -> Sse {
    // Up to 16 events may wait for a slow client before `send` waits.
    let (sink, sse) = Sse::channel(16);
    actix_web::rt::spawn(async move {
        for n in (1..=3).rev() {
            if sink.send(n).await.is_err() {
                return; // the client left
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let _ = sink.send("liftoff").await;
    });
    sse
}

/// Sink-style routes.
pub struct Live;

#[controller("live")]
impl Live {
    /// `GET /live/counter`: the connection lives while the method runs.
    #[sse("counter")]
    async fn counter(&self, sink: EventSink) {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        for count in 1u64.. {
            every.tick().await; // the first tick is at once
            if sink.send(json!({ "count": count })).await.is_err() {
                break; // the client has gone
            }
        }
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(|| {
        App::new()
            .service(Live)
            .route("/countdown", web::get().to(countdown))
    })
    .sse_defaults()
    .bind(("127.0.0.1", port))?;
    let addr = server.addrs()[0];
    println!("listening on http://{addr}");
    println!("try: curl -N http://{addr}/countdown");
    println!("     curl -N http://{addr}/live/counter");
    sse_runtime::serve(server.run()).await
}
