use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse, CleanUp};

struct Events {
    name: String,
}

#[controller("events")]
impl Events {
    #[sse("a//b", keep_alive = "soon")]
    fn broken(&mut self, _a: CleanUp, _b: CleanUp) -> impl Stream<Item = String> {
        stream::iter([self.name.clone()])
    }

    #[sse("fine")]
    fn fine(&self) -> impl Stream<Item = &str> {
        stream::iter([self.name.as_str()])
    }

    #[sse("fine")]
    fn again(&self) -> impl Stream<Item = &str> {
        stream::iter([self.name.as_str()])
    }
}

fn main() {
    let mut events = Events { name: "x".into() };
    let _ = events.broken(CleanUp::new(), CleanUp::new());
    let _ = events.fine();
    let _ = events.again();
    let _ = actix_web::App::new().service(events);
}
