//! Rust twin of the Revali guide's *Dart Client* (seed 000) and of the
//! `aim_server_sse` guide's Dart client (seed 001): GET an SSE route and
//! print every chunk of the body as it arrives.
//!
//! ```text
//! cargo run -p sse-examples --release                           # in one terminal
//! cargo run -p sse-examples --example client                    # in another
//! cargo run -p sse-examples --example client -- http://127.0.0.1:8080/aim/ids
//! ```
//!
//! The chunks are printed raw, like the guide's `utf8.decoder` loop; a
//! chunk may hold several events or part of one. To get parsed events
//! (`event`, `id`, `data`), feed the chunks to
//! `sse_runtime::parse::EventStreamParser` (feature `parser`).

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://localhost:8080/events/updates".to_owned());

    let result = async {
        let mut response = reqwest::get(&url).await?;
        if response.status() == 200 {
            while let Some(chunk) = response.chunk().await? {
                println!("Received: {}", String::from_utf8_lossy(&chunk));
            }
        } else {
            println!("Status: {}", response.status());
        }
        Ok::<(), reqwest::Error>(())
    }
    .await;

    if let Err(e) = result {
        println!("Error: {e}");
    }
    // `http.close()`: the client is dropped here.
}
