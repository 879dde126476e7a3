use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller("events")]
impl Events {
    #[sse("limit")]
    const LIMIT: u32 = 3;

    #[sse("live")]
    fn live(&self) -> impl Stream<Item = u32> {
        stream::iter([Self::LIMIT])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
