//! [`TraceLog`]: where a test's `tracing` fmt subscriber writes, so that
//! the test can read the log lines back.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything a `tracing_subscriber::fmt` subscriber wrote, shared by its
/// clones: hand one clone to the subscriber (`.with_writer(move ||
/// log.clone())`) and read through another.
///
/// ```
/// use std::io::Write;
/// use sse_test_support::TraceLog;
///
/// let log = TraceLog::default();
/// let mut writer = log.clone();
/// writer.write_all(b"INFO one\nWARN two\n").unwrap();
/// assert_eq!(log.line_with("WARN"), "WARN two");
/// assert!(log.text().starts_with("INFO one"));
/// ```
#[derive(Clone, Default)]
pub struct TraceLog(Arc<Mutex<Vec<u8>>>);

impl TraceLog {
    /// Captures what this thread logs (`DEBUG` and above, no colours)
    /// until the guard is dropped. An actix test runtime runs the service
    /// on the test's own thread, so in-process tests see its log lines; a
    /// server on worker threads needs a global subscriber instead.
    ///
    /// ```
    /// use sse_test_support::TraceLog;
    ///
    /// let (log, _guard) = TraceLog::capture_thread();
    /// tracing::warn!(route = "/chat/{room}", "full");
    /// assert!(log.line_with("full").contains("WARN"));
    /// ```
    pub fn capture_thread() -> (TraceLog, tracing::subscriber::DefaultGuard) {
        let log = TraceLog::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        (log, tracing::subscriber::set_default(subscriber))
    }

    /// Captures what every thread of the process logs from now on (`DEBUG`
    /// and above, no colours, each line naming its thread): for servers,
    /// whose workers are threads of their own.
    ///
    /// A process has one global subscriber, set once: call this at most
    /// once per test binary, and keep the tests that read it from running
    /// side by side (one test in the binary, say), since every thread's
    /// lines land in the one log.
    ///
    /// # Panics
    /// If a global subscriber is already set.
    pub fn capture_process() -> TraceLog {
        let log = TraceLog::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_thread_names(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("capture_process: a global subscriber is already set");
        log
    }

    /// Every line that contains `needle`, in order.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }

    /// All that was written so far (lossy UTF-8: a test should not fail
    /// on the encoding of a line it does not look at).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    /// The first line that contains `needle`.
    ///
    /// # Panics
    /// If there is none; the message shows the whole log.
    pub fn line_with(&self, needle: &str) -> String {
        let text = self.text();
        text.lines()
            .find(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no log line with {needle:?} in:\n{text}"))
            .to_owned()
    }
}

impl Write for TraceLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
