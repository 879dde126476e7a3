//! Headless Chromium for tests that need a real browser (`EventSource`,
//! CORS, cookies, reconnects): [`Browser::launch`] starts it in a fresh
//! profile, [`Browser::open`] loads a page in a new tab, and dropping the
//! `Browser` ends it (its whole process group, found by the id of the
//! process this started), also when the test fails.
//!
//! Pages report back to the test by `fetch`ing a route of the test's own
//! server, so no DevTools protocol client is needed: tabs are opened
//! through the DevTools HTTP endpoint (`PUT /json/new?<url>`) and the test
//! waits, bounded, for the reports it expects.
//!
//! Chromium is required, never skipped: without it `launch` fails with a
//! message that says how to install it ([`INSTALL`]), or set `CHROMIUM` to
//! its path.
//!
//! ```no_run
//! use sse_test_support::browser::Browser;
//!
//! # actix_web::rt::System::new().block_on(async {
//! let browser = Browser::launch().unwrap_or_else(|err| panic!("{err}"));
//! browser.open("http://127.0.0.1:8080/page").await.unwrap();
//! // ... wait for the page's reports ...
//! drop(browser); // the browser and its helpers end here
//! # });
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::raw::RawRequest;
use crate::text::lossy;
use crate::wait::STEP;

/// The Debian command that installs the browser these tests drive.
pub const INSTALL: &str = "apt-get update && apt-get install -y chromium";

/// How long Chromium may take to start listening for DevTools: generous,
/// as a loaded CI machine starts it slowly; it only bounds a failure.
const START_LIMIT: Duration = Duration::from_secs(30);

/// Flags for a headless run as root in a container, with no traffic of
/// the browser's own (updates, sync, field trials, QUIC probes), and the
/// DevTools endpoint on a port the OS chooses, on loopback only.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
];

/// A running headless Chromium; dropping it ends the browser.
#[derive(Debug)]
pub struct Browser {
    process: Process,
    devtools: SocketAddr,
}

impl Browser {
    /// Starts Chromium (`$CHROMIUM`, else `chromium` or `chromium-browser`
    /// on the `PATH`) on a blank page in a new, empty profile, and waits
    /// until it accepts [`open`](Self::open). Blocks the calling thread
    /// for that start (a second or two).
    ///
    /// # Errors
    /// A message saying how to install Chromium when there is none, or
    /// why it did not start (its log included).
    pub fn launch() -> Result<Browser, String> {
        let binary = chromium()?;
        let profile = fresh_profile()?;
        let log = std::fs::File::create(profile.join("chromium.log"))
            .map_err(|err| format!("cannot create the browser's log file: {err}"))?;
        let data = profile.join("data");
        let child = Command::new(&binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", data.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group (id = its pid), so that its helper
            // processes end with it.
            .process_group(0)
            .spawn()
            .map_err(|err| {
                let _ = std::fs::remove_dir_all(&profile);
                format!(
                    "cannot start {} ({err}); install Chromium with `{INSTALL}`",
                    binary.display()
                )
            })?;
        // From here on, dropping `browser` ends the process on every path.
        let mut browser = Browser {
            process: Process { child, profile },
            devtools: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        };
        let port = browser.wait_for_devtools(&data)?;
        browser.devtools.set_port(port);
        Ok(browser)
    }

    /// Loads `url` in a new tab.
    ///
    /// # Errors
    /// When the DevTools endpoint does not answer, or refuses.
    pub async fn open(&self, url: &str) -> Result<(), String> {
        let failed = |what: String| format!("cannot open {url} in Chromium: {what}");
        let mut response = RawRequest::new("PUT", &format!("/json/new?{url}"))
            .send(self.devtools)
            .await
            .map_err(|err| failed(err.to_string()))?;
        let body = response
            .body_to_end(STEP)
            .await
            .map_err(|err| failed(err.to_string()))?;
        if response.status() != 200 {
            return Err(failed(format!(
                "DevTools answered {}: {}",
                response.status(),
                lossy(&body)
            )));
        }
        Ok(())
    }

    /// The process id of the browser.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What the browser wrote to stderr so far, for failure messages.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Whether the browser process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The DevTools port, once Chromium has written it to its profile.
    fn wait_for_devtools(&mut self, data: &Path) -> Result<u16, String> {
        let file = data.join("DevToolsActivePort");
        let deadline = Instant::now() + START_LIMIT;
        loop {
            // First line: the port; second: the browser target's path.
            let port = std::fs::read_to_string(&file)
                .ok()
                .and_then(|text| text.lines().next()?.trim().parse::<u16>().ok());
            if let Some(port) = port.filter(|&port| port != 0) {
                return Ok(port);
            }
            if !self.is_running() {
                return Err(format!(
                    "Chromium exited at start; its log:\n{}",
                    self.log()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "Chromium did not open its DevTools port within {START_LIMIT:?}; its log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A Chromium process leading its own process group, with its own profile
/// directory (which holds its log): what both launchers here start.
/// Dropping it ends the whole group and removes the profile.
#[derive(Debug)]
pub(crate) struct Process {
    pub(crate) child: Child,
    pub(crate) profile: PathBuf,
}

impl Process {
    /// The process id of the browser (also its process group's id).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the browser wrote to stderr so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.profile.join("chromium.log")).unwrap_or_default()
    }

    /// Whether the browser process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn signal_group(&self, signal: &str) {
        // `kill -SIG -- -PGID`: the group this browser leads, nothing else.
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Process {
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

/// The Chromium binary: `$CHROMIUM`, else `chromium` or `chromium-browser`
/// on the `PATH`.
///
/// # Errors
/// A message saying how to install it when there is none.
pub fn chromium() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!(
                "headless Chromium is needed for the browser tests and was not found; \
                 install it with `{INSTALL}` (or set CHROMIUM=/path/to/chromium)"
            )
        })
}

/// A new, empty directory for one browser's profile and log.
pub(crate) fn fresh_profile() -> Result<PathBuf, String> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let profile = std::env::temp_dir().join(format!(
        "sse-browser-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    // A directory left by an earlier process with the same id would hand
    // over its stale DevTools port.
    let _ = std::fs::remove_dir_all(&profile);
    std::fs::create_dir_all(&profile)
        .map_err(|err| format!("cannot create a browser profile directory: {err}"))?;
    Ok(profile)
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
