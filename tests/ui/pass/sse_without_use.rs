//! Inside a controller every route attribute works by its bare name, with or
//! without a `use` of it; an existing `use sse_runtime::sse` still counts as
//! used (no warning), wherever the controller is.
#![deny(warnings)]

use actix_web::{test, App, HttpResponse};

/// No `use` at all: the controller by its full path, `#[sse]` and `#[post]`
/// by their bare names.
mod no_use {
    use futures_util::stream::{self, Stream};

    pub struct Live;

    #[sse_runtime::controller("no_use")]
    impl Live {
        #[sse("live")]
        fn live(&self) -> impl Stream<Item = &'static str> {
            stream::iter(["live"])
        }

        #[post("live")]
        async fn publish(body: String) -> actix_web::HttpResponse {
            actix_web::HttpResponse::Ok().body(body)
        }
    }
}

/// `use ..::sse` at module level, the controller inside a function.
mod use_outside_fn {
    use futures_util::stream::{self, Stream};
    use sse_runtime::{controller, sse};

    pub fn service() -> impl actix_web::dev::HttpServiceFactory {
        pub struct Inner;

        #[controller("inner")]
        impl Inner {
            #[sse("x")]
            fn x() -> impl Stream<Item = &'static str> {
                stream::iter(["inner"])
            }
        }

        Inner
    }
}

/// A glob import of the runtime.
mod glob {
    use futures_util::stream::{self, Stream};
    use sse_runtime::*;

    pub struct Globbed;

    #[controller("glob")]
    impl Globbed {
        #[sse("x")]
        fn x() -> impl Stream<Item = Event> {
            stream::iter([Event::default().data("glob")])
        }
    }
}

/// Two controllers in one module, one of them with the import.
mod two {
    use futures_util::stream::{self, Stream};
    use sse_runtime::sse;

    pub struct First;
    pub struct Second;

    #[sse_runtime::controller("first")]
    impl First {
        #[sse("x")]
        fn x() -> impl Stream<Item = &'static str> {
            stream::iter(["first"])
        }
    }

    #[sse_runtime::controller("second")]
    impl Second {
        #[sse("x")]
        fn x() -> impl Stream<Item = &'static str> {
            stream::iter(["second"])
        }
    }
}

fn main() {
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .service(no_use::Live)
                .service(use_outside_fn::service())
                .service(glob::Globbed)
                .service(two::First)
                .service(two::Second),
        )
        .await;
        for (uri, expected) in [
            ("/no_use/live", "data: live\n\n"),
            ("/inner/x", "data: inner\n\n"),
            ("/glob/x", "data: glob\n\n"),
            ("/first/x", "data: first\n\n"),
            ("/second/x", "data: second\n\n"),
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
        let req = test::TestRequest::post()
            .uri("/no_use/live")
            .set_payload("posted")
            .to_request();
        let body = test::call_and_read_body(&app, req).await;
        assert_eq!(body, "posted".as_bytes());
        let _ = HttpResponse::Ok();
    });
}
