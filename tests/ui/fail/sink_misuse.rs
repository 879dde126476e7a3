use futures_util::stream::{self, Stream};
use sse_runtime::{controller, sse, EventSink};

struct Events;

#[controller("events")]
impl Events {
    #[sse("twice")]
    async fn twice(&self, first: EventSink, second: EventSink) {
        let _ = first.send(1).await;
        let _ = second.send(2).await;
    }

    #[sse("both")]
    async fn both(&self, sink: EventSink) -> impl Stream<Item = u32> {
        let _ = sink.send(1).await;
        stream::iter([2])
    }

    #[sse("value")]
    async fn value(&self, sink: EventSink) -> Result<u32, actix_web::Error> {
        sink.send(1).await?;
        Ok(2)
    }

    #[sse("borrowed")]
    async fn borrowed(&self, sink: &EventSink) {
        let _ = sink.send(1).await;
    }

    #[get("plain")]
    async fn plain(&self, sink: EventSink) -> &'static str {
        let _ = sink.send(1).await;
        "plain"
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
