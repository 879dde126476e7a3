use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

// Each path is fine alone; joined, `{id}` appears twice.
#[controller("users/{id}")]
impl Events {
    #[sse("{id}")]
    fn user(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
