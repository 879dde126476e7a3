//! Headless Chromium driven over its DevTools pipe (feature `devtools`):
//! [`Browser::open`] loads a page in a fresh profile,
//! [`open_tab`](Browser::open_tab) adds tabs that share the browser's
//! connections, [`Browser::screenshot`] captures a tab as it is now, and
//! dropping the `Browser` ends it (its whole process group, by the id of
//! the process this started), also when the test fails.
//!
//! [`crate::browser`] drives Chromium over its DevTools HTTP endpoint, which
//! opens tabs but cannot take a screenshot without a WebSocket client. This
//! one speaks the protocol over `--remote-debugging-pipe`: NUL-separated
//! JSON on the child's fds 3 and 4, with no port and no client crate.
//!
//! Chromium is required, never skipped: without it [`Browser::open`] panics
//! and says how to install it ([`INSTALL`]), or set `CHROMIUM` to its path.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

pub use crate::browser::INSTALL;
use crate::browser::{fresh_profile, Process};

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

/// How long one DevTools command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// A running headless Chromium, driven over its DevTools pipe.
pub struct Browser {
    process: Process,
    commands: ChildStdin,
    replies: Receiver<Value>,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium on `url` in a new, empty profile and a
    /// `width`×`height` window; [`open_tab`](Self::open_tab) adds tabs
    /// (headless Chromium takes one URL on its command line).
    ///
    /// # Panics
    /// When Chromium is missing or does not start.
    pub fn open(url: &str, (width, height): (u32, u32)) -> Browser {
        let profile = fresh_profile().unwrap_or_else(|message| panic!("{message}"));
        let log = std::fs::File::create(profile.join("chromium.log")).expect("a log file");
        // The pipe protocol reads fd 3 and writes fd 4: the shell moves
        // this process's pipes there (no `unsafe` pre-exec hook needed).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(crate::browser::chromium().unwrap_or_else(|message| panic!("{message}")))
            .args(FLAGS)
            .arg(format!("--window-size={width},{height}"))
            .arg(format!(
                "--user-data-dir={}",
                profile.join("data").display()
            ))
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group (id = its pid), so that its helper
            // processes can be ended with it.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start Chromium ({err}); install it with `{INSTALL}`")
            });
        let commands = child.stdin.take().expect("a piped stdin");
        let replies = read_replies(child.stdout.take().expect("a piped stdout"));
        Browser {
            process: Process { child, profile },
            commands,
            replies,
            next_id: 0,
        }
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

    /// Opens another tab on `url`, in the same browser (so the tabs share
    /// its connections per origin).
    ///
    /// # Errors
    /// When the browser does not answer in time.
    pub fn open_tab(&mut self, url: &str) -> Result<(), String> {
        self.call(None, "Target.createTarget", json!({ "url": url }))
            .map(drop)
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
