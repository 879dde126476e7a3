//! The demo's services, served by the demo's own `Examples::serve` on
//! 127.0.0.1:0: how every test file of the examples starts it.

use std::time::Duration;

use sse_examples::{Config, Examples, Pace};
use sse_test_support::TestServer;

/// One second of the examples lasts 10 ms.
pub const FAST: Pace = Pace::new(Duration::from_millis(10));

/// A running demo and the services behind it.
pub struct Demo {
    pub server: TestServer,
    pub examples: Examples,
}

/// Starts the demo with `config` on one worker.
pub fn start(config: Config) -> Demo {
    let examples = Examples::new(config);
    let (server, addr) = examples
        .serve(("127.0.0.1", 0), 1)
        .expect("bind 127.0.0.1:0");
    Demo {
        server: TestServer::adopt(server, addr),
        examples,
    }
}
