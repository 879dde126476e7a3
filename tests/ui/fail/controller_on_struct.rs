use sse_runtime::controller;

#[controller("events")]
struct Events;

#[controller("feed")]
enum Feed<T> {
    Items(Vec<T>),
}

fn main() {
    // No second error here: the misplaced attribute is the only one.
    let _ = actix_web::App::new()
        .service(Events)
        .service(Feed::Items(vec![1]));
}
