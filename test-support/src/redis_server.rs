//! A real `redis-server` for a test: its own free loopback port and
//! directory, killed by its PID when dropped (also when the test fails).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::{sleep, Instant};

use crate::ChildGuard;

/// How long a `redis-server` may take to answer `PING` after starting.
const START_LIMIT: Duration = Duration::from_secs(10);

/// A `redis-server` on `127.0.0.1:<free port>` with a fresh directory.
///
/// ```no_run
/// use sse_test_support::RedisServer;
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut redis = RedisServer::start(false).await.unwrap();
/// let url = redis.url(); // redis://127.0.0.1:<port>
/// redis.kill();          // SIGKILL, as a crash
/// redis.restart().await.unwrap(); // same port; empty unless persistent
/// # drop(url);
/// # });
/// ```
#[derive(Debug)]
pub struct RedisServer {
    child: Option<ChildGuard>,
    port: u16,
    dir: PathBuf,
    persistent: bool,
}

impl RedisServer {
    /// Starts one and waits until it answers `PING`. `persistent`: an
    /// append-only file synced on every write, so a restart keeps every
    /// acknowledged write; otherwise nothing is saved.
    ///
    /// # Errors
    /// If `redis-server` can't be started or does not answer in time.
    pub async fn start(persistent: bool) -> io::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sse-redis-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            persistent,
        };
        server.launch().await?;
        Ok(server)
    }

    async fn launch(&mut self) -> io::Result<()> {
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", ""])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if self.persistent {
            command.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            command.args(["--appendonly", "no"]);
        }
        let mut child = ChildGuard::spawn(&mut command)?;
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if ping(self.port) {
                self.child = Some(child);
                return Ok(());
            }
            if child.wait_within(Duration::ZERO).await?.is_some() || Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not start"));
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kills it (SIGKILL, by its PID) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory.
    ///
    /// # Errors
    /// As [`start`](Self::start).
    pub async fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.launch().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a Redis answers `PING` on `port` (blocking, short timeouts).
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
