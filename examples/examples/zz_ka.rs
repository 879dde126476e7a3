use actix_web::{App, HttpServer};
use sse_examples::{Config, Examples};
#[actix_web::main]
async fn main() {
    let ex = Examples::new(Config::demo());
    let half: bool = std::env::args().nth(1).unwrap() == "1";
    let e = ex.clone();
    let s = HttpServer::new(move || { let e = e.clone(); App::new().configure(move |c| e.configure(c)) })
        .workers(1).h1_allow_half_closed(half).bind("127.0.0.1:0").unwrap();
    println!("{}", s.addrs()[0]);
    s.run().await.unwrap();
}
