use sse_runtime::{controller, sse};

struct Events;

#[controller("events")]
impl Events {
    #[sse("nothing")]
    fn nothing(&self) {}
}

fn main() {
    let _ = actix_web::App::new().service(Events);
    Events.nothing();
}
