use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller("events")]
impl Events {
    #[sse("a", keep_alive = "soon")]
    fn a(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("b", retyr = "3s")]
    fn b(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("c", keep_alive = true)]
    fn c(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("d", keep_alive = "0s")]
    fn d(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("e", retry = "3s", retry = "5s")]
    fn e(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("f", retry = 3)]
    fn f(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("g", "h")]
    fn g(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("j", error_event = "bad\nname")]
    fn j(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("k", error_event = failed)]
    fn k(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("l", reconnect_on_end = "yes")]
    fn l(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[get("i", keep_alive = "15s")]
    async fn i(&self) -> &'static str {
        "i"
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
