use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse, CleanUp};

struct Events;

#[controller("events")]
impl Events {
    #[sse("twice")]
    fn twice(&self, first: CleanUp, second: CleanUp) -> impl Stream<Item = u32> {
        first.add(|| ());
        second.add(|| ());
        stream::iter([1])
    }

    #[get("plain")]
    async fn plain(&self, cleanup: CleanUp) -> &'static str {
        cleanup.add(|| ());
        "plain"
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
