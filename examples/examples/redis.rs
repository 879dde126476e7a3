//! The `rooms` example on a hub shared through Redis: run it twice on two
//! ports, listen on one, post to the other, and resume on either with
//! `Last-Event-ID`. Only the hub's construction differs from `rooms`.
//!
//! ```text
//! redis-server &                                   # or REDIS_URL=redis://host:6379
//! PORT=8080 cargo run -p sse-examples --example redis
//! PORT=8081 cargo run -p sse-examples --example redis
//! curl -N http://127.0.0.1:8081/rooms/lobby
//! curl -H 'content-type: application/json' -d '{"from":"ada","text":"hi"}' http://127.0.0.1:8080/rooms/lobby
//! curl -N -H 'Last-Event-ID: <an id seen on 8081>' http://127.0.0.1:8080/rooms/lobby
//! ```
//!
//! Needs sse-runtime's feature `redis`. If Redis can't be reached at
//! start, the example says so and exits with status 1; while Redis is down
//! later, a POST answers `503` with `Retry-After` and listeners stay
//! connected, catching up once it is back. `PORT=0` picks a free port; the
//! first line printed is `listening on http://ADDR`.

use std::process::ExitCode;

use actix_web::{error, web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use sse_runtime::{event_name, Event, Hub, HubError, LastEventId, Sse, SseServerExt};

#[derive(Deserialize, Serialize)]
struct Message {
    from: String,
    text: String,
}

/// `GET /rooms/{room}`: what the client missed on any instance, then live.
async fn listen(
    hub: web::Data<Hub>,
    room: web::Path<String>,
    last: LastEventId,
) -> Result<Sse, HubError> {
    let subscription = hub
        .subscribe([format!("room/{room}")])
        .after(last)
        .start()?;
    Ok(Sse::from_subscription(subscription))
}

/// `POST /rooms/{room}`: the answered id means Redis has the event.
async fn say(
    hub: web::Data<Hub>,
    room: web::Path<String>,
    message: web::Json<Message>,
) -> actix_web::Result<HttpResponse> {
    let event = Event::named(event_name!("message"))
        .json(&*message)
        .map_err(error::ErrorInternalServerError)?;
    // `?`: Redis down answers `503` with `Retry-After`, the cause logged.
    let id = hub.publish(format!("room/{room}"), event).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "id": id.to_string() })))
}

#[actix_web::main]
async fn main() -> std::io::Result<ExitCode> {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let hub = match Hub::builder().history(100).redis(&url).build().await {
        Ok(hub) => web::Data::new(hub),
        Err(err) => {
            // Not the URL itself: it may hold a password.
            eprintln!("cannot use the Redis of REDIS_URL: {err}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(hub.clone())
            .route("/rooms/{room}", web::get().to(listen))
            .route("/rooms/{room}", web::post().to(say))
    })
    .sse_defaults()
    .bind(("127.0.0.1", port))?;
    let addr = server.addrs()[0];
    println!("listening on http://{addr}");
    println!("try: curl -N http://{addr}/rooms/lobby");
    println!(
        "     curl -H 'content-type: application/json' -d '{{\"from\":\"ada\",\"text\":\"hi\"}}' http://{addr}/rooms/lobby"
    );
    sse_runtime::serve(server.run()).await?;
    Ok(ExitCode::SUCCESS)
}
