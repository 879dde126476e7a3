use sse_runtime::{controller, sse};

struct Events;

#[derive(Debug)]
struct Denied;

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("denied")
    }
}

impl actix_web::ResponseError for Denied {}

#[controller("events")]
impl Events {
    #[sse("string")]
    fn string(&self) -> String {
        String::new()
    }

    #[sse("bytes")]
    async fn bytes() -> Vec<u8> {
        Vec::new()
    }

    #[sse("iterator")]
    fn iterator(&self) -> impl Iterator<Item = u32> {
        [1, 2].into_iter()
    }

    #[sse("result")]
    fn result(&self) -> Result<&'static str, Denied> {
        Ok("not a stream")
    }
}

fn main() {
    let _ = actix_web::App::new().service(Events);
}
