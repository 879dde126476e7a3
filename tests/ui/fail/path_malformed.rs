use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller("events/{")]
impl Events {
    #[sse("{id")]
    fn unclosed(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("a//b")]
    fn empty_segment(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("id}")]
    fn unopened(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("{}")]
    fn unnamed(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("{id}/x/{id}")]
    fn twice(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
