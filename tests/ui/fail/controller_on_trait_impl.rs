use sse_runtime::controller;

struct Events;

#[controller("events")]
impl Default for Events {
    fn default() -> Self {
        Events
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events::default());
}
