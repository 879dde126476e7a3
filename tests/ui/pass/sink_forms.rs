//! Every accepted form of a method that sends through an `EventSink`, plus
//! a run through actix's test service to check each one streams (or
//! refuses).
#![deny(warnings)]

use std::time::Duration;

use actix_web::{test, web, App};
use sse_runtime::{controller, sse, CleanUp, Event, EventSink};

pub struct Events {
    greeting: String,
}

#[derive(Debug)]
pub struct Denied;

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("denied")
    }
}

impl actix_web::ResponseError for Denied {
    fn status_code(&self) -> actix_web::http::StatusCode {
        actix_web::http::StatusCode::UNAUTHORIZED
    }
}

impl From<sse_runtime::SendError> for Denied {
    fn from(_: sse_runtime::SendError) -> Self {
        Denied
    }
}

#[controller("sink")]
impl Events {
    /// async fn, `&self`, no return type: sends what it borrows.
    #[sse("hello")]
    async fn hello(&self, sink: EventSink) {
        let _ = sink.send(self.greeting.as_str()).await;
    }

    /// Plain fn, explicit `()`, the sink cloned into a spawned task.
    #[sse("spawned", keep_alive = false)]
    fn spawned(sink: EventSink) -> () {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let _ = sink.send(Event::default().data("from a task")).await;
        });
    }

    /// A full path to the type, with `CleanUp` and extractors around it.
    #[sse("path/{id}")]
    async fn path(
        cleanup: CleanUp,
        id: web::Path<u32>,
        sink: sse_runtime::EventSink,
    ) {
        cleanup.add(|| ());
        let _ = sink.comment("hi").await;
        let _ = sink.send(id.into_inner()).await;
    }

    /// `Result<(), E>`: `?` on a send, an `Err` before any event refuses.
    #[sse("guarded/{ok}")]
    async fn guarded(&self, ok: web::Path<bool>, sink: EventSink) -> Result<(), Denied> {
        if !ok.into_inner() {
            return Err(Denied);
        }
        sink.send("welcome").await?;
        Ok(())
    }

    /// `actix_web::Result<()>`: the alias with the error left out.
    #[sse("alias")]
    async fn alias(sink: EventSink) -> actix_web::Result<()> {
        sink.send("via alias").await?;
        Ok(())
    }
}

#[actix_web::main]
async fn main() {
    let app = test::init_service(App::new().service(Events {
        greeting: "hello".to_owned(),
    }))
    .await;
    for (path, first) in [
        ("/sink/hello", "hello"),
        ("/sink/spawned", "from a task"),
        ("/sink/path/7", "7"),
        ("/sink/guarded/true", "welcome"),
        ("/sink/alias", "via alias"),
    ] {
        let req = test::TestRequest::get().uri(path).to_request();
        let mut response = sse_runtime::test::call(&app, req).await.unwrap();
        let events = response.collect_all().await.unwrap();
        assert_eq!(events[0].data, first, "{path}");
    }
    let req = test::TestRequest::get().uri("/sink/guarded/false").to_request();
    let response = test::call_service(&app, req).await;
    assert_eq!(response.status(), 401);
}
