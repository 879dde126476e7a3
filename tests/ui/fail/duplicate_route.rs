use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller("/events/")]
impl Events {
    #[sse("a")]
    fn first(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("/a/")]
    fn second(&self) -> impl Stream<Item = u32> {
        stream::iter([2])
    }

    #[get("a")]
    async fn third(&self) -> &'static str {
        "third"
    }

    // Not a duplicate: another method.
    #[post("a")]
    async fn publish(&self) -> &'static str {
        "ok"
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
