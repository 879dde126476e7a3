use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller("events")]
impl Events {
    #[sse("generic")]
    fn generic<T: Default>(&self) -> impl Stream<Item = u32> {
        let _ = T::default();
        stream::iter([1])
    }

    #[sse("by_value")]
    fn by_value(self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse("by_mut")]
    fn by_mut(&mut self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
    let _ = Events.generic::<u8>();
    let _ = Events.by_mut();
    let _ = Events.by_value();
}
