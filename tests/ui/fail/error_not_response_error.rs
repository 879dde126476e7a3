use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[derive(Debug)]
struct Denied;

#[controller("events")]
impl Events {
    #[sse("guarded")]
    fn guarded(&self) -> Result<impl Stream<Item = u32>, Denied> {
        Ok(stream::iter([1]))
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
