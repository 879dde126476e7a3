//! The quick start: one route served two ways, by a controller and by a
//! plain actix-web handler returning [`Sse`]. Both send the same two
//! events, then end the stream.
//!
//! ```text
//! cargo run -p sse-examples --example hello        # PORT=8081 to move it
//! curl -N http://127.0.0.1:8080/events/updates
//! curl -N http://127.0.0.1:8080/plain/updates
//! ```
//!
//! `PORT=0` picks a free port; the first line printed is
//! `listening on http://ADDR`.

use std::time::Duration;

use actix_web::{web, App, HttpServer};
use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse, CleanUp, Sse, SseServerExt};

/// The events of both routes.
fn updates() -> impl Stream<Item = &'static str> {
    stream::iter(["Hello, world!", "This is a real-time update"])
}

/// As a controller: `GET /events/updates`.
pub struct EventController;

#[controller("events")]
impl EventController {
    #[sse("updates", retry = "2s")]
    fn updates(&self, cleanup: CleanUp) -> impl Stream<Item = &'static str> {
        cleanup.add(|| println!("a client of /events/updates left"));
        updates()
    }
}

/// As a plain handler: `GET /plain/updates`, the same options as builder
/// calls.
async fn plain_updates(cleanup: CleanUp) -> Sse {
    cleanup.add(|| println!("a client of /plain/updates left"));
    Sse::from_stream(updates()).retry(Duration::from_secs(2))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(|| {
        App::new()
            .service(EventController)
            .route("/plain/updates", web::get().to(plain_updates))
    })
    .sse_defaults() // before `bind`: write timeout, send-buffer cap, stop deadline
    .bind(("127.0.0.1", port))?;
    let addr = server.addrs()[0];
    println!("listening on http://{addr}");
    println!("try: curl -N http://{addr}/events/updates");
    println!("     curl -N http://{addr}/plain/updates");
    // On Ctrl-C or SIGTERM, open streams end first, then the server stops.
    sse_runtime::serve(server.run()).await
}
