//! The demo's dashboard in headless Chromium: the demo binary on
//! 127.0.0.1:0, the dashboard open in two tabs of one browser (so they
//! share its six connections per origin), and the pages' reports read by
//! this test.
//!
//! Checked: every card of both tabs receives its events; the ticker resumes
//! after a forced reconnect without a gap, replaying what it missed; the
//! 401 card shows the refusal; the rooms of both tabs see both users and
//! both messages; no script error or console error/warning in either tab.
//! A screenshot of the first tab is written to
//! `target/tmp/dashboard.png`; with `SSE_UPDATE_SCREENSHOT=1` also to
//! `docs/dashboard.png` (the README's picture).
//!
//! The pages report by POSTing JSON to a server of this test (the
//! dashboard's `?report=URL`), so no DevTools client is needed for that;
//! the screenshot uses the browser's DevTools pipe. Needs Chromium: without
//! it the test fails and says how to install it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse};
use serde_json::Value;
use sse_test_support::browser::Browser;
use sse_test_support::{serve, ChildGuard, STEP};

/// The guides' cards, played in turn by one tab and mirrored to the other.
const GUIDE_CARDS: &[&str] = &[
    "updates",
    "limited",
    "live",
    "connection-errors",
    "graceful",
    "status",
    "counter",
    "progress",
    "feed",
    "notifications",
    "secure",
];
/// The hub's cards.
const HUB_CARDS: &[&str] = &["room", "hub", "ticker"];
const TABS: [(&str, &str); 2] = [("A", "alice"), ("B", "bob")];
const WINDOW: (u32, u32) = (1440, 1180);

/// Reports received from the pages, in order.
#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<Value>>>);

impl Reports {
    fn all(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

/// The demo binary, killed by its PID when dropped; its base URL.
fn start_demo() -> (ChildGuard, String) {
    let mut child = ChildGuard::spawn(
        Command::new(env!("CARGO_BIN_EXE_demo"))
            // Fast enough for a test, slow enough that a tick interval can
            // be told from a burst of replayed ticks on a loaded machine.
            .args(["--addr", "127.0.0.1:0", "--pace", "100ms"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .expect("start the demo");
    let stdout = child.stdout.take().unwrap();
    // A blocking read on a thread: a demo that prints nothing must not hang
    // the test.
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = first_tx.send(line);
    });
    let line = first_rx
        .recv_timeout(STEP)
        .expect("the demo prints its address");
    let base = line
        .trim()
        .strip_prefix("sse-examples demo listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, base)
}

fn reports_of<'a>(all: &'a [Value], tab: &str, card: &str) -> impl Iterator<Item = &'a Value> {
    all.iter()
        .filter(move |r| r["tab"] == tab && r["card"] == card)
}

/// What is still missing, as readable lines; empty once everything
/// expected has been reported.
fn missing(all: &[Value]) -> Vec<String> {
    let mut missing = Vec::new();
    let cards: Vec<&str> = GUIDE_CARDS.iter().chain(HUB_CARDS).copied().collect();
    for (tab, _) in TABS {
        for card in &cards {
            if !reports_of(all, tab, card).any(|r| r.get("event").is_some()) {
                missing.push(format!("tab {tab}: no event on card `{card}`"));
            }
        }
        if !reports_of(all, tab, "secure").any(|r| r["event"] == "401") {
            missing.push(format!("tab {tab}: the 401 card shows no refusal"));
        }
        {
            let members_seen = reports_of(all, tab, "room").any(|r| {
                let list = r["members"].as_array().cloned().unwrap_or_default();
                TABS.iter().all(|(_, user)| list.iter().any(|m| m == user))
            });
            if !members_seen {
                missing.push(format!(
                    "tab {tab}: the room's members never listed both users"
                ));
            }
            for (from, _) in TABS {
                let hello = format!("hello from tab {from}");
                if !reports_of(all, tab, "room")
                    .any(|r| r["data"].as_str().is_some_and(|d| d.contains(&hello)))
                {
                    missing.push(format!("tab {tab}: the room never showed {hello:?}"));
                }
            }
        }
    }
    if !all
        .iter()
        .any(|r| r["card"] == "ticker" && r.get("resumed").is_some())
    {
        missing.push("the ticker has not been reconnected yet".to_owned());
    }
    if !all.iter().any(|r| r["cycle"] == "done") {
        missing.push("the guides' cards have not all had a turn".to_owned());
    }
    missing
}

#[actix_web::test]
async fn dashboard_in_two_tabs_of_headless_chromium() {
    // Fails, saying how to install it, when Chromium is missing.
    if let Err(message) = sse_test_support::browser::chromium() {
        panic!("{message}");
    }

    let reports = Reports::default();
    let sink = reports.clone();
    let report_server = serve(move || {
        let sink = sink.clone();
        App::new().route(
            "/report",
            web::post().to(move |body: String| {
                let sink = sink.clone();
                async move {
                    match serde_json::from_str(&body) {
                        Ok(report) => sink.0.lock().unwrap().push(report),
                        Err(_) => sink.0.lock().unwrap().push(
                            serde_json::json!({ "error": format!("unreadable report {body:?}") }),
                        ),
                    }
                    HttpResponse::NoContent().finish()
                }
            }),
        )
    });
    let report_url = format!("http://{}/report", report_server.addr());

    let (demo, base) = start_demo();
    let members = reqwest::get(format!("{base}/chat/lobby/members"))
        .await
        .expect("the demo answers")
        .status();
    assert!(
        members.is_success(),
        "the demo serves the hub routes: {members}"
    );

    let urls: Vec<String> = TABS
        .iter()
        .map(|(tab, user)| format!("{base}/?tab={tab}&user={user}&report={report_url}"))
        .collect();
    let mut chromium = Browser::launch_with_window(WINDOW).unwrap_or_else(|err| panic!("{err}"));
    for url in &urls {
        chromium
            .open(url)
            .unwrap_or_else(|err| panic!("{err}\n{}", chromium.log()));
    }

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let all = reports.all();
        let errors: Vec<&Value> = all.iter().filter(|r| r.get("error").is_some()).collect();
        assert!(errors.is_empty(), "errors in the pages: {errors:#?}");
        let missing = missing(&all);
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline && chromium.is_running(),
            "still missing: {missing:#?}\nbrowser running: {}\nbrowser log:\n{}",
            chromium.is_running(),
            chromium.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let all = reports.all();
    {
        let resumed = &all
            .iter()
            .find(|r| r["card"] == "ticker" && r.get("resumed").is_some())
            .expect("checked above")["resumed"];
        let before = resumed["before"].as_array().expect("ticks before");
        let after = resumed["after"].as_array().expect("ticks after");
        let (last, next) = (
            before.last().and_then(Value::as_u64),
            after.first().and_then(Value::as_u64),
        );
        assert_eq!(
            next,
            last.map(|n| n + 1),
            "the ticker resumed with a gap: {resumed}"
        );
        assert!(
            resumed["replayed"].as_u64() > Some(0),
            "no tick was replayed after the reconnect: {resumed}"
        );
        let ns: Vec<u64> = after.iter().filter_map(Value::as_u64).collect();
        assert!(
            ns.windows(2).all(|w| w[1] == w[0] + 1),
            "ticks after the reconnect skip or repeat: {ns:?}"
        );
    }

    let png = chromium
        .screenshot(&urls[0])
        .unwrap_or_else(|err| panic!("screenshot: {err}\n{}", chromium.log()));
    drop(chromium);
    drop(demo);
    report_server.stop().await;

    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&shot, &png).expect("write the screenshot");
    eprintln!("screenshot: {}", shot.display());
    if std::env::var_os("SSE_UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png");
        std::fs::create_dir_all(docs.parent().unwrap()).expect("docs/");
        std::fs::write(&docs, &png).expect("write docs/dashboard.png");
        eprintln!("updated {}", docs.display());
    }
}
