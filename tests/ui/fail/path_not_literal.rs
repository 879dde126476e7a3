use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse};

struct Events;

#[controller(events)]
impl Events {
    #[sse(42)]
    fn updates(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse]
    fn no_path(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse(keep_alive = "5s")]
    fn option_first(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }

    #[sse(events / live)]
    fn unquoted(&self) -> impl Stream<Item = u32> {
        stream::iter([1])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
    let _ = Events.updates();
    let _ = Events.no_path();
    let _ = Events.option_first();
    let _ = Events.unquoted();
}
