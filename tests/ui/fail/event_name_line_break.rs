use sse_runtime::{event_name, Event};

fn main() {
    let ok = Event::named(event_name!("tick"));
    let forged = Event::named(event_name!("tick\ndata: forged"));
    drop((ok, forged));
}
