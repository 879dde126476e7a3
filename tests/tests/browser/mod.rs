//! Headless Chromium for tests: [`Browser::open`] loads pages in a fresh
//! profile, and dropping the `Browser` ends it (its whole process group,
//! by the id of the process this started), also when the test fails.
//!
//! Pages report back to the test by `fetch`ing a route of the test's own
//! server, so no DevTools client is needed: the test waits, bounded, for
//! the reports it expects.
//!
//! Chromium is required, never skipped: without it the test fails and says
//! how to install it (`apt-get update && apt-get install -y chromium`), or
//! set `CHROMIUM` to its path.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Debian command that installs the browser these tests drive.
pub const INSTALL: &str = "apt-get update && apt-get install -y chromium";

/// Flags for a headless run as root in a container, with no traffic of
/// the browser's own (updates, sync, field trials, QUIC probes).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// A running headless Chromium.
pub struct Browser {
    child: Child,
    profile: PathBuf,
}

/// The Chromium binary: `$CHROMIUM`, else `chromium` or
/// `chromium-browser` on the `PATH`. Panics, saying how to install it,
/// when there is none.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is needed for the browser tests and was not found; \
         install it with `{INSTALL}` (or set CHROMIUM=/path/to/chromium)"
    );
}

impl Browser {
    /// Starts Chromium on `urls` (one tab each) in a new, empty profile.
    pub fn open(urls: &[&str]) -> Browser {
        static N: AtomicUsize = AtomicUsize::new(0);
        let profile = std::env::temp_dir().join(format!(
            "sse-browser-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&profile).expect("a profile directory");
        let log = std::fs::File::create(profile.join("chromium.log")).expect("a log file");
        let child = Command::new(chromium())
            .args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                profile.join("data").display()
            ))
            .args(urls)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group (id = its pid), so that its helper
            // processes can be ended with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start Chromium ({err}); install it with `{INSTALL}`")
            });
        Browser { child, profile }
    }

    /// The process id of the browser.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the browser wrote to stderr so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.profile.join("chromium.log")).unwrap_or_default()
    }

    /// Whether the browser process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn signal_group(&self, signal: &str) {
        // `kill -SIG -PGID`: the group this browser leads, nothing else.
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.signal_group("TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Whatever is left of the group (helpers outliving the browser).
        self.signal_group("KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        remove_profile(&self.profile);
    }
}

fn remove_profile(profile: &Path) {
    // Helpers may still be writing for a moment after the browser ends.
    for _ in 0..10 {
        if std::fs::remove_dir_all(profile).is_ok() || !profile.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
