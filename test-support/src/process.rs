//! Child processes that a test starts and must stop, also when it fails.

use std::io;
use std::ops::{Deref, DerefMut};
use std::process::{Child, Command, ExitStatus};
use std::time::Duration;

use tokio::time::{sleep, Instant};

/// A child process that is killed (by its PID) and reaped when dropped,
/// unless it has exited already: a failing assertion cannot leave it
/// running. Derefs to [`Child`] for its pipes and id.
///
/// ```
/// use std::process::Command;
/// use std::time::Duration;
/// use sse_test_support::ChildGuard;
///
/// # actix_web::rt::System::new().block_on(async {
/// let mut child = ChildGuard::spawn(Command::new("sleep").arg("10")).unwrap();
/// // Still running after 10 ms: `None`.
/// assert!(child.wait_within(Duration::from_millis(10)).await.unwrap().is_none());
/// drop(child); // killed and reaped here
/// # });
/// ```
#[derive(Debug)]
pub struct ChildGuard(Child);

impl ChildGuard {
    /// Starts `command`.
    ///
    /// # Errors
    /// As [`Command::spawn`].
    pub fn spawn(command: &mut Command) -> io::Result<Self> {
        command.spawn().map(ChildGuard)
    }

    /// Waits at most `limit` for the process to exit, without blocking the
    /// runtime; `Ok(None)` if it is still running.
    ///
    /// # Errors
    /// As [`Child::try_wait`].
    pub async fn wait_within(&mut self, limit: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Deref for ChildGuard {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.0
    }
}

impl DerefMut for ChildGuard {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        // Reaped either way: no zombie outlives the test.
        let _ = self.0.wait();
    }
}
