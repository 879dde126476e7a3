//! `crate = ".."`: the runtime under another name, or re-exported.
#![deny(warnings)]

extern crate sse_runtime as my_sse;

use futures_util::stream::{self, Stream};

pub struct Renamed;

#[my_sse::controller("renamed", crate = "my_sse")]
impl Renamed {
    #[my_sse::sse("x")]
    fn x() -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

mod nested {
    use futures_util::stream::{self, Stream};
    use my_sse::{controller, sse};

    pub struct Absolute;

    #[controller("absolute", crate = "::my_sse")]
    impl Absolute {
        #[sse("x")]
        fn x() -> impl Stream<Item = u32> {
            stream::iter([2])
        }
    }
}

/// A re-export, as a framework built on top of sse-runtime would have.
pub mod framework {
    pub use sse_runtime as sse;
}

mod reexported {
    use futures_util::stream::{self, Stream};

    pub struct ViaReexport;

    #[crate::framework::sse::controller("reexported", crate = "crate::framework::sse")]
    impl ViaReexport {
        #[crate::framework::sse::sse("x")]
        fn x() -> impl Stream<Item = u32> {
            stream::iter([3])
        }
    }
}

fn main() {
    use actix_web::{test, App};
    actix_web::rt::System::new().block_on(async {
        let app = test::init_service(
            App::new()
                .service(Renamed)
                .service(nested::Absolute)
                .service(reexported::ViaReexport),
        )
        .await;
        for (uri, expected) in [
            ("/renamed/x", "data: 1\n\n"),
            ("/absolute/x", "data: 2\n\n"),
            ("/reexported/x", "data: 3\n\n"),
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
    });
}
