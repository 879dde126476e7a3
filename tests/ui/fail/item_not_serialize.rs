use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use sse_runtime::{controller, sse};

struct Events;

struct Status {
    #[allow(dead_code)]
    code: u32,
}

#[derive(Debug)]
struct Opaque;

#[controller("events")]
impl Events {
    #[sse("status")]
    fn status(&self) -> impl Stream<Item = Status> {
        stream::iter([Status { code: 1 }])
    }

    #[sse("results")]
    fn results(&self) -> impl Stream<Item = Result<Status, std::io::Error>> {
        stream::iter([Ok(Status { code: 1 })])
    }

    #[sse("boxed")]
    fn boxed(&self) -> BoxStream<'static, Status> {
        stream::iter([Status { code: 1 }]).boxed()
    }

    /// Another crate's type: the note's fixes still apply.
    #[sse("instants")]
    fn instants(&self) -> impl Stream<Item = std::time::Instant> {
        stream::iter([std::time::Instant::now()])
    }

    #[sse("error_not_display")]
    fn error_not_display(&self) -> impl Stream<Item = Result<u32, Opaque>> {
        stream::iter([Err(Opaque)])
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
