//! Route methods named like the trait methods in scope where the routes are
//! registered and served (`HttpServiceFactory::register`, `Clone::clone`,
//! `Default::default`, `Service::call`, `Future::poll`, ..): the generated
//! code must still call the user's methods.
#![deny(warnings)]

use actix_web::{test, App, HttpResponse};
use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

#[derive(Clone, Default)]
pub struct Events {
    name: &'static str,
}

#[controller("")]
impl Events {
    #[sse("register")]
    fn register(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["register", self.name])
    }

    #[sse("new")]
    fn new() -> impl Stream<Item = &'static str> {
        stream::iter(["new"])
    }

    #[sse("call")]
    async fn call(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["call"])
    }

    #[sse("respond")]
    fn respond(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["respond"])
    }

    #[sse("into_service")]
    fn into_service(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["into_service"])
    }

    #[sse("from_request")]
    fn from_request() -> impl Stream<Item = &'static str> {
        stream::iter(["from_request"])
    }

    #[sse("clone")]
    fn clone(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["clone"])
    }

    #[sse("default")]
    fn default() -> impl Stream<Item = &'static str> {
        stream::iter(["default"])
    }

    #[sse("poll")]
    fn poll(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["poll"])
    }

    #[sse("stream")]
    fn stream(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["stream"])
    }

    #[sse("into")]
    fn into(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["into"])
    }

    #[sse("to")]
    fn to(&self) -> impl Stream<Item = &'static str> {
        stream::iter(["to"])
    }

    #[get("route")]
    async fn route(&self) -> HttpResponse {
        HttpResponse::Ok().body("route")
    }

    #[get("service")]
    async fn service() -> HttpResponse {
        HttpResponse::Ok().body("service")
    }

    #[get("new_service")]
    async fn new_service(&self) -> HttpResponse {
        HttpResponse::Ok().body("new_service")
    }

    #[post("register")]
    async fn register_post(&self) -> HttpResponse {
        HttpResponse::Ok().body("registered")
    }
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        let events = Events { name: "events" };
        let app = test::init_service(App::new().service(Clone::clone(&events))).await;
        for (uri, expected) in [
            ("/register", "data: register\n\ndata: events\n\n"),
            ("/new", "data: new\n\n"),
            ("/call", "data: call\n\n"),
            ("/respond", "data: respond\n\n"),
            ("/into_service", "data: into_service\n\n"),
            ("/from_request", "data: from_request\n\n"),
            ("/clone", "data: clone\n\n"),
            ("/default", "data: default\n\n"),
            ("/poll", "data: poll\n\n"),
            ("/stream", "data: stream\n\n"),
            ("/into", "data: into\n\n"),
            ("/to", "data: to\n\n"),
            ("/route", "route"),
            ("/service", "service"),
            ("/new_service", "new_service"),
        ] {
            let req = test::TestRequest::get().uri(uri).to_request();
            let body = test::call_and_read_body(&app, req).await;
            // A stream that ran out ends with the end frame.
            let expected = if expected.ends_with("\n\n") {
                format!("{expected}id: sse-end\n\n")
            } else {
                expected.to_owned()
            };
            assert_eq!(body, expected.as_bytes(), "{uri}");
        }
        let req = test::TestRequest::post().uri("/register").to_request();
        let body = test::call_and_read_body(&app, req).await;
        assert_eq!(body, "registered".as_bytes());
        // The derived trait methods are still there, by their trait's path.
        let _ = <Events as Default>::default();
    });
}
