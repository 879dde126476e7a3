use futures_util::stream::{self, Stream};
use sse_runtime::sse;

struct Events;

impl Events {
    #[sse("updates")]
    fn updates(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

fn main() {
    let _ = Events.updates();
}
