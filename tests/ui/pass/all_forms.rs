//! Every accepted form of a controller and its routes, in one controller,
//! plus a run through actix's test service to check they are all mounted.
#![deny(warnings)]

use std::future::{ready, Ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{test, web, App, FromRequest, HttpRequest, HttpResponse};
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use sse_runtime::{controller, sse, CleanUp, EncodedEvent, Event, EventError};

pub struct Events {
    greeting: String,
}

#[derive(serde::Serialize)]
pub struct Status {
    status: &'static str,
}

#[derive(serde::Deserialize)]
pub struct Filter {
    topic: String,
}

pub struct Counter(u32);

/// A custom extractor.
pub struct UserAgent(String);

impl FromRequest for UserAgent {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let agent = req
            .headers()
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("unknown");
        ready(Ok(UserAgent(agent.to_owned())))
    }
}

#[derive(Debug)]
pub struct Denied;

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("denied")
    }
}

impl actix_web::ResponseError for Denied {}

#[controller("/events/")]
impl Events {
    /// Plain fn, `&self`, a stream borrowing the controller.
    #[sse("hello")]
    fn hello(&self) -> impl Stream<Item = &str> + '_ {
        stream::iter([self.greeting.as_str(), "bye"])
    }

    /// async fn without receiver, serialisable items.
    #[sse("status")]
    async fn status() -> impl Stream<Item = Status> {
        stream::iter([Status { status: "running" }])
    }

    /// Extractors, with `CleanUp` first.
    #[sse("path/{id}")]
    fn path(
        cleanup: CleanUp,
        id: web::Path<u32>,
        filter: web::Query<Filter>,
    ) -> impl Stream<Item = String> {
        cleanup.add(|| ());
        stream::iter([format!("{}:{}", id.into_inner(), filter.topic)])
    }

    /// `CleanUp` in the middle, `web::Data`, `HttpRequest`.
    #[sse("data")]
    async fn data(
        &self,
        counter: web::Data<Counter>,
        cleanup: CleanUp,
        req: HttpRequest,
    ) -> impl Stream<Item = u32> {
        cleanup.add(|| ());
        let _ = req.path();
        stream::iter([counter.0])
    }

    /// A custom extractor, `CleanUp` last, fully qualified.
    #[sse("agent")]
    fn agent(&self, agent: UserAgent, cleanup: sse_runtime::CleanUp) -> impl Stream<Item = String> {
        cleanup.add(|| ());
        stream::iter([agent.0])
    }

    /// `Result<impl Stream, E>`: refuse before streaming.
    #[sse("guarded/{ok}", keep_alive = false, retry = "3s")]
    async fn guarded(&self, ok: web::Path<bool>) -> Result<impl Stream<Item = &str>, Denied> {
        if ok.into_inner() {
            Ok(stream::iter([self.greeting.as_str()]))
        } else {
            Err(Denied)
        }
    }

    /// actix's own `Result` alias.
    #[sse("actix_result", keep_alive = "1m30s")]
    fn actix_result() -> actix_web::Result<impl Stream<Item = u32>> {
        Ok(stream::iter([1, 2]))
    }

    /// Items that are `Result`s: `Err` ends the stream with an error event.
    #[sse("results")]
    fn results() -> impl Stream<Item = Result<Event, EventError>> {
        stream::iter(0..2).map(|i| {
            Event::default()
                .event("tick")
                .map(|e| e.data(i.to_string()))
        })
    }

    /// `Event` items.
    #[sse("event")]
    fn event() -> impl Stream<Item = Event> {
        stream::iter([Event::default().data("x")])
    }

    /// `EncodedEvent` items.
    #[sse("encoded")]
    fn encoded(&self) -> impl Stream<Item = EncodedEvent> {
        let shared = Event::default().data(&self.greeting).encode();
        stream::iter([shared.clone(), shared])
    }

    /// Named stream types.
    #[sse("boxed")]
    fn boxed(&self) -> BoxStream<'static, u32> {
        stream::iter([1]).boxed()
    }

    #[sse("pinned")]
    fn pinned(&self) -> Pin<Box<dyn Stream<Item = String> + '_>> {
        Box::pin(stream::iter([self.greeting.clone()]))
    }

    /// The attribute by its full path.
    #[sse_runtime::sse("qualified")]
    fn qualified() -> impl Stream<Item = char> {
        stream::iter(['q'])
    }

    /// Ordinary routes.
    #[get("plain")]
    async fn plain(&self) -> String {
        self.greeting.clone()
    }

    #[post("plain")]
    async fn publish(body: String) -> HttpResponse {
        HttpResponse::Ok().body(body)
    }

    #[put("plain")]
    async fn replace() -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[patch("plain")]
    async fn amend() -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    #[delete("plain")]
    async fn remove() -> HttpResponse {
        HttpResponse::NoContent().finish()
    }

    /// Not a route: an ordinary method, callable as usual.
    fn greeting(&self) -> &str {
        &self.greeting
    }
}

/// A generic controller.
pub struct Feed<T> {
    items: Vec<T>,
}

#[controller("feed")]
impl<T: serde::Serialize + Clone + 'static> Feed<T> {
    #[sse("")]
    fn all(&self) -> impl Stream<Item = T> + '_ {
        stream::iter(self.items.iter().cloned())
    }
}

/// A unit controller with no routes.
pub struct Nothing;

#[controller("")]
impl Nothing {}

/// A controller mounted at the root.
pub struct Root;

#[controller("")]
impl Root {
    #[sse("")]
    fn root() -> impl Stream<Item = &'static str> {
        stream::iter(["root"])
    }
}

fn main() {
    let events = Events {
        greeting: "hi".into(),
    };
    assert_eq!(events.greeting(), "hi");
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(Counter(7)))
                .service(events)
                .service(Feed { items: vec![1, 2] })
                .service(Nothing)
                .service(Root),
        )
        .await;
        for (uri, status, expected) in [
            ("/events/hello", 200, "data: hi\n\ndata: bye\n\n"),
            ("/events/status", 200, "data: {\"status\":\"running\"}\n\n"),
            ("/events/path/5?topic=t", 200, "data: 5:t\n\n"),
            ("/events/data", 200, "data: 7\n\n"),
            ("/events/agent", 200, "data: unknown\n\n"),
            ("/events/guarded/true", 200, "retry: 3000\n\ndata: hi\n\n"),
            ("/events/guarded/false", 500, "denied"),
            ("/events/actix_result", 200, "data: 1\n\ndata: 2\n\n"),
            (
                "/events/results",
                200,
                "event: tick\ndata: 0\n\nevent: tick\ndata: 1\n\n",
            ),
            ("/events/event", 200, "data: x\n\n"),
            ("/events/encoded", 200, "data: hi\n\ndata: hi\n\n"),
            ("/events/boxed", 200, "data: 1\n\n"),
            ("/events/pinned", 200, "data: hi\n\n"),
            ("/events/qualified", 200, "data: q\n\n"),
            ("/events/plain", 200, "hi"),
            ("/feed", 200, "data: 1\n\ndata: 2\n\n"),
            ("/", 200, "data: root\n\n"),
        ] {
            let req = test::TestRequest::get().uri(uri).to_request();
            let res = test::call_service(&app, req).await;
            assert_eq!(res.status().as_u16(), status, "{uri}");
            let body = test::read_body(res).await;
            // A stream that ran out ends with the end frame.
            let expected = if expected.ends_with("\n\n") {
                format!("{expected}id: sse-end\n\n")
            } else {
                expected.to_owned()
            };
            assert_eq!(body, expected.as_bytes(), "{uri}");
        }
        for method in [
            actix_web::http::Method::POST,
            actix_web::http::Method::PUT,
            actix_web::http::Method::PATCH,
            actix_web::http::Method::DELETE,
        ] {
            let req = test::TestRequest::default()
                .method(method.clone())
                .uri("/events/plain")
                .to_request();
            let res = test::call_service(&app, req).await;
            assert!(res.status().is_success(), "{method}");
        }
    });
}
