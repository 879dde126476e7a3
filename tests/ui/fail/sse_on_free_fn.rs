use futures_util::stream::{self, Stream};
use sse_runtime::sse;

#[sse("updates")]
fn updates() -> impl Stream<Item = u32> {
    stream::iter([1])
}

fn main() {
    let _ = updates();
}
