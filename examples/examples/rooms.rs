//! Chat rooms on the hub: a POST publishes into a room, a GET streams the
//! room, and a client that reconnects with `Last-Event-ID` gets exactly
//! what it missed (from the room's history), then the live events.
//!
//! ```text
//! cargo run -p sse-examples --example rooms        # PORT=8081 to move it
//! curl -N 'http://127.0.0.1:8080/rooms/lobby?user=ada'
//! curl -H 'content-type: application/json' -d '{"from":"bob","text":"hi"}' http://127.0.0.1:8080/rooms/lobby
//! curl -N -H 'Last-Event-ID: <an id printed above>' http://127.0.0.1:8080/rooms/lobby
//! curl http://127.0.0.1:8080/rooms/lobby/count
//! ```
//!
//! Plain handlers returning `Sse::from_subscription`; an `#[sse]` method
//! may return the `Result<Subscription, HubError>` itself. With `?user=`
//! the room gets `user-joined` / `user-left` events (presence). `PORT=0`
//! picks a free port; the first line printed is `listening on http://ADDR`.

use actix_web::{error, web, App, HttpResponse, HttpServer};
use serde::{Deserialize, Serialize};
use sse_runtime::{event_name, Event, Hub, HubError, LastEventId, Sse, SseServerExt};

#[derive(Deserialize, Serialize)]
struct Message {
    from: String,
    text: String,
}

#[derive(Deserialize)]
struct Who {
    user: Option<String>,
}

/// `GET /rooms/{room}`: the events after `Last-Event-ID` (header, or the
/// `lastEventId` query parameter of polyfills), then live. `HubError` is
/// an HTTP answer (`204` for a closed topic, `503` for a full hub).
async fn listen(
    hub: web::Data<Hub>,
    room: web::Path<String>,
    who: web::Query<Who>,
    last: LastEventId,
) -> Result<Sse, HubError> {
    let mut subscribe = hub.subscribe([format!("room/{room}")]).after(last);
    if let Some(user) = &who.user {
        subscribe = subscribe.announce(user);
    }
    Ok(Sse::from_subscription(subscribe.start()?))
}

/// `POST /rooms/{room}`: publishes a `message` event, answers its id.
async fn say(
    hub: web::Data<Hub>,
    room: web::Path<String>,
    message: web::Json<Message>,
) -> actix_web::Result<HttpResponse> {
    let event = Event::named(event_name!("message"))
        .json(&*message)
        .map_err(error::ErrorInternalServerError)?;
    // `?`: a refused publish answers `410` (closed topic) or `503` (full).
    let id = hub.publish(format!("room/{room}"), event).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "id": id.to_string() })))
}

/// `GET /rooms/{room}/count`: how many clients listen now.
async fn count(hub: web::Data<Hub>, room: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok().json(hub.subscribers(format!("room/{room}")))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    // Each room keeps its last 100 events (for five minutes) to resume from.
    let hub = web::Data::new(Hub::builder().history(100).build());
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(hub.clone())
            .route("/rooms/{room}", web::get().to(listen))
            .route("/rooms/{room}", web::post().to(say))
            .route("/rooms/{room}/count", web::get().to(count))
    })
    .sse_defaults()
    .bind(("127.0.0.1", port))?;
    let addr = server.addrs()[0];
    println!("listening on http://{addr}");
    println!("try: curl -N 'http://{addr}/rooms/lobby?user=ada'");
    println!(
        "     curl -H 'content-type: application/json' -d '{{\"from\":\"bob\",\"text\":\"hi\"}}' http://{addr}/rooms/lobby"
    );
    println!("     curl -N -H 'Last-Event-ID: <an id seen above>' http://{addr}/rooms/lobby");
    sse_runtime::serve(server.run()).await
}
