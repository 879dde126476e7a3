//! Headless Chromium for tests that need a real browser (`EventSource`,
//! CORS, cookies, reconnects, what a page looks like):
//! [`Browser::launch`] starts it in a fresh profile, [`Browser::open`]
//! loads a page in a new tab (tabs share the browser's connections per
//! origin), [`Browser::screenshot`] captures a tab as it is now, and
//! dropping the `Browser` ends it (its whole process group, found by the
//! id of the process this started), also when the test fails.
//!
//! It speaks the DevTools protocol over `--remote-debugging-pipe`:
//! NUL-separated JSON on the child's fds 3 and 4, with no port and no
//! client crate. Pages report back to the test by `fetch`ing a route of
//! the test's own server, and the test waits, bounded, for the reports it
//! expects.
//!
//! Chromium is required, never skipped: without it `launch` fails with a
//! message that says how to install it ([`INSTALL`]), or set `CHROMIUM` to
//! its path.
//!
//! ```no_run
//! use sse_test_support::browser::Browser;
//!
//! let mut browser = Browser::launch().unwrap_or_else(|err| panic!("{err}"));
//! browser.open("http://127.0.0.1:8080/page").unwrap();
//! // ... wait for the page's reports ...
//! drop(browser); // the browser and its helpers end here
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The Debian command that installs the browser these tests drive.
pub const INSTALL: &str = "apt-get update && apt-get install -y chromium";

/// How long Chromium may take to start answering: generous, as a loaded CI
/// machine starts it slowly; it only bounds a failure.
const START_LIMIT: Duration = Duration::from_secs(30);

/// How long one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// The window size of [`Browser::launch`].
const WINDOW: (u32, u32) = (1280, 800);

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
    // Every tab runs at full speed, not throttled as a background tab.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--remote-debugging-pipe",
];

/// A running headless Chromium, driven over its DevTools pipe; dropping it
/// ends the browser.
pub struct Browser {
    process: Process,
    commands: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("pid", &self.process.pid())
            .finish()
    }
}

impl Browser {
    /// Starts Chromium (`$CHROMIUM`, else `chromium` or `chromium-browser`
    /// on the `PATH`) on a blank page in a new, empty profile and a
    /// 1280×800 window, and waits until it answers. Blocks the calling
    /// thread for that start (a second or two).
    ///
    /// # Errors
    /// A message saying how to install Chromium when there is none, or
    /// why it did not start (its log included).
    pub fn launch() -> Result<Browser, String> {
        Self::launch_with_window(WINDOW)
    }

    /// [`launch`](Self::launch) with a `width`×`height` window, for
    /// screenshots.
    ///
    /// # Errors
    /// As [`launch`](Self::launch).
    pub fn launch_with_window((width, height): (u32, u32)) -> Result<Browser, String> {
        let binary = chromium()?;
        let profile = fresh_profile()?;
        let log = std::fs::File::create(profile.join("chromium.log"))
            .map_err(|err| format!("cannot create the browser's log file: {err}"))?;
        // The pipe protocol reads fd 3 and writes fd 4: the shell moves
        // this process's pipes there (no `unsafe` pre-exec hook needed).
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(&binary)
            .args(FLAGS)
            .arg(format!("--window-size={width},{height}"))
            .arg(format!(
                "--user-data-dir={}",
                profile.join("data").display()
            ))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group (id = its pid), so that its helper
            // processes end with it.
            .process_group(0)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                remove_profile(&profile);
                return Err(format!(
                    "cannot start {} ({err}); install Chromium with `{INSTALL}`",
                    binary.display()
                ));
            }
        };
        let commands = child.stdin.take().expect("a piped stdin");
        let replies = read_replies(child.stdout.take().expect("a piped stdout"));
        // From here on, dropping `browser` ends the process on every path.
        let mut browser = Browser {
            process: Process { child, profile },
            commands,
            replies,
            next_id: 0,
        };
        browser.wait_until_answering()?;
        Ok(browser)
    }

    /// Loads `url` in a new tab of this browser.
    ///
    /// # Errors
    /// When the browser does not answer in time, or refuses.
    pub fn open(&mut self, url: &str) -> Result<(), String> {
        self.call(None, "Target.createTarget", json!({ "url": url }))
            .map(drop)
            .map_err(|err| format!("cannot open {url} in Chromium: {err}"))
    }

    /// The process id of the browser (also its process group's id).
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

    /// A PNG of the first tab whose URL starts with `url_prefix`, as it is
    /// now.
    ///
    /// # Errors
    /// When no such tab exists, or the browser does not answer in time.
    pub fn screenshot(&mut self, url_prefix: &str) -> Result<Vec<u8>, String> {
        let targets = self.call(None, "Target.getTargets", json!({}))?;
        let target = targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| {
                t["type"] == "page"
                    && t["url"]
                        .as_str()
                        .is_some_and(|url| url.starts_with(url_prefix))
            })
            .ok_or_else(|| format!("no tab at {url_prefix}: {targets}"))?;
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target["targetId"], "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("no session id")?
            .to_owned();
        // A background tab does not run its animations: bring it to the
        // front and give it a moment to draw.
        self.call(
            None,
            "Target.activateTarget",
            json!({ "targetId": target["targetId"] }),
        )?;
        std::thread::sleep(Duration::from_millis(1500));
        // The whole page, not only the window.
        let metrics = self.call(Some(&session), "Page.getLayoutMetrics", json!({}))?;
        let size = &metrics["cssContentSize"];
        let shot = self.call(
            Some(&session),
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1 },
            }),
        )?;
        let data = shot["data"].as_str().ok_or("no screenshot data")?;
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|err| format!("screenshot is not base64: {err}"))
    }

    /// One DevTools command; its `result`, or its error as text.
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = message.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .and_then(|()| self.commands.flush())
            .map_err(|err| format!("{method}: cannot write to the browser: {err}"))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(reply) if reply["id"] == id => {
                    return match reply.get("error") {
                        Some(error) => Err(format!("{method}: {error}")),
                        None => Ok(reply["result"].clone()),
                    };
                }
                // Events and other replies: not asked for.
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(format!("{method}: no answer")),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{method}: the browser closed its pipe"));
                }
            }
        }
    }

    /// Waits until the browser answers a command: it has started.
    fn wait_until_answering(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            match self.call(None, "Browser.getVersion", json!({})) {
                Ok(_) => return Ok(()),
                Err(err) if !self.is_running() || Instant::now() >= deadline => {
                    return Err(format!(
                        "Chromium did not start ({err}); its log:\n{}",
                        self.log()
                    ));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

/// Reads the browser's NUL-separated JSON messages on a thread of its own;
/// the thread ends when the browser closes its end.
fn read_replies(stdout: std::process::ChildStdout) -> Receiver<Value> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut message = Vec::new();
        while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
            if message.last() == Some(&0) {
                message.pop();
            }
            if let Ok(value) = serde_json::from_slice::<Value>(&message)
                && sender.send(value).is_err()
            {
                return;
            }
            message.clear();
        }
    });
    receiver
}

/// A Chromium process leading its own process group, with its own profile
/// directory (which holds its log).
/// Dropping it ends the whole group and removes the profile.
#[derive(Debug)]
struct Process {
    child: Child,
    profile: PathBuf,
}

impl Process {
    /// The process id of the browser (also its process group's id).
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the browser wrote to stderr so far, for failure messages.
    fn log(&self) -> String {
        std::fs::read_to_string(self.profile.join("chromium.log")).unwrap_or_default()
    }

    /// Whether the browser process is still running.
    fn is_running(&mut self) -> bool {
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
fn fresh_profile() -> Result<PathBuf, String> {
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
