use sse_runtime::{controller, sse, EventSink};

struct Events;

#[derive(Debug)]
struct Denied;

struct Status {
    status: &'static str,
}

#[controller("events")]
impl Events {
    #[sse("guarded")]
    async fn guarded(&self, sink: EventSink) -> Result<(), Denied> {
        let _ = sink.send("hello").await;
        Err(Denied)
    }

    #[sse("status")]
    async fn status(&self, sink: EventSink) {
        let _ = sink.send(Status { status: "running" }).await;
    }

    #[sse("now")]
    fn now(sink: EventSink) {
        let _ = sink.try_send(Status { status: "now" });
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
