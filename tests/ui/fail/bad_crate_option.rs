use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct A;

#[controller("a", crate = "not a path")]
impl A {
    #[sse("x")]
    fn x(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

struct B;

#[controller("b", crate = sse_runtime)]
impl B {}

struct C;

#[controller("c", krate = "sse_runtime")]
impl C {}

struct D;

#[controller("d", crate = "no_such_crate")]
impl D {}

fn main() {
    let _ = actix_web::App::new().service(A).service(B).service(C);
}
