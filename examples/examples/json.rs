//! A typed JSON stream: a `#[derive(Serialize)]` struct goes out as one
//! compact JSON `data:` line per event, and named events (`event: ..`) let
//! a page listen for each kind separately.
//!
//! ```text
//! cargo run -p sse-examples --example json         # PORT=8081 to move it
//! curl -N http://127.0.0.1:8080/tasks/progress     # data: {"task":"build","percent":0}
//! curl -N http://127.0.0.1:8080/tasks/named        # event: progress / event: done
//! curl -N http://127.0.0.1:8080/tasks/names        # data: "build"
//! ```
//!
//! In a browser: `source.addEventListener("progress", e => show(JSON.parse(e.data)))`.
//! Which items are text and which JSON is decided by value: a struct is
//! JSON, a `String` is plain text; wrap a value in `sse_runtime::Json` to
//! send it as JSON whatever its shape (`/tasks/names`).
//! `PORT=0` picks a free port; the first line printed is
//! `listening on http://ADDR`.

use std::time::Duration;

use actix_web::{App, HttpServer};
use futures_util::stream::{self, Stream, StreamExt};
use serde::Serialize;
use sse_runtime::{controller, event_name, sse, Event, Json, SseServerExt};

#[derive(Serialize)]
struct Progress {
    task: &'static str,
    percent: u8,
}

/// `0, 25, .. 100` percent, one step every 300 ms (the first at once).
fn steps() -> impl Stream<Item = Progress> {
    stream::iter((0..=100).step_by(25)).then(|percent| async move {
        if percent > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Progress {
            task: "build",
            percent,
        }
    })
}

/// A task's progress, three ways.
pub struct Tasks;

#[controller("tasks")]
impl Tasks {
    /// `GET /tasks/progress`: unnamed (`message`) events, JSON data.
    #[sse("progress")]
    fn progress(&self) -> impl Stream<Item = Progress> {
        steps()
    }

    /// `GET /tasks/named`: `progress` events, then one `done` event.
    /// `event_name!` checks a name at compile time: nothing to unwrap.
    #[sse("named", retry = "5s")]
    fn named(&self) -> impl Stream<Item = Event> {
        let progress = steps().map(|step| {
            Event::named(event_name!("progress"))
                .json(&step)
                .expect("a struct of plain fields always serializes")
        });
        let done = Event::named(event_name!("done")).data("build finished");
        progress.chain(stream::iter([done]))
    }

    /// `GET /tasks/names`: strings as JSON (`data: "build"`), for a page
    /// that calls `JSON.parse` on every event.
    #[sse("names")]
    fn names(&self) -> impl Stream<Item = Json<&'static str>> {
        stream::iter(["build", "test"]).map(Json)
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let server = HttpServer::new(|| App::new().service(Tasks))
        .sse_defaults()
        .bind(("127.0.0.1", port))?;
    let addr = server.addrs()[0];
    println!("listening on http://{addr}");
    println!("try: curl -N http://{addr}/tasks/progress");
    println!("     curl -N http://{addr}/tasks/named");
    println!("     curl -N http://{addr}/tasks/names");
    sse_runtime::serve(server.run()).await
}
