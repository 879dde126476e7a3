//! The end of a finished stream, in headless Chromium's `EventSource`.
//!
//! * A stream that runs out ends with `id: sse-end`; the browser reconnects
//!   with `Last-Event-ID: sse-end`, is answered `204`, and its
//!   `EventSource` is CLOSED for good: each message arrives once, and the
//!   route's method runs once.
//! * With `reconnect_on_end` there is no end frame: the browser reconnects
//!   and receives the stream again, until the page closes it.
//!
//! Every route exists twice, as an `#[sse]` method (under `/c`) and as a
//! plain handler returning `Sse` (under `/p`), each in a tab of its own.
//! Pages report to the test by `fetch`ing `/report`; a middleware logs
//! every request with the status it got. The streams ask for a 200 ms
//! `retry:` so that the browser's reconnect comes quickly. Needs Chromium:
//! see `sse_test_support::browser`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Service;
use actix_web::{web, App, HttpResponse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::Value;
use sse_runtime::{controller, sse, Sse};
use sse_test_support::browser::Browser;
use sse_test_support::{Log, ServerOptions, TestServer};

/// The reconnect delay the streams ask for.
const RETRY: Duration = Duration::from_millis(200);

/// How long a test waits for the pages' reports before it fails. Only
/// bounds a failure: a passing run takes a second or two after launch.
const LIMIT: Duration = Duration::from_secs(15);

/// How long to keep watching after the expected end, for a reconnect that
/// should not happen: five times the retry delay.
const SETTLE: Duration = Duration::from_millis(1000);

/// What the routes and the middleware record.
#[derive(Clone, Default)]
struct Probes {
    /// One entry per run of a route method or handler: its path.
    runs: Log,
    /// One entry per item a stream produced: `path item`.
    items: Log,
    /// Every request the server answered.
    requests: Requests,
}

/// One answered request.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    /// The `Last-Event-ID` header, if any.
    last_event_id: Option<String>,
    status: u16,
    /// When the request arrived.
    at: Instant,
}

#[derive(Clone, Default)]
struct Requests(Arc<Mutex<Vec<Seen>>>);

impl Requests {
    fn to(&self, path: &str) -> Vec<Seen> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .filter(|seen| seen.path == path)
            .cloned()
            .collect()
    }
}

impl Probes {
    /// The stream every route sends: two messages, then it runs out. The
    /// run is counted when the method is called; each item when it is
    /// polled, so a stream built but never polled (the `204`) counts none.
    fn two(&self, path: &'static str) -> impl Stream<Item = &'static str> + use<> {
        self.runs.push(path);
        let items = self.items.clone();
        stream::iter(["one", "two"]).inspect(move |item| items.push(format!("{path} {item}")))
    }

    fn runs_of(&self, path: &str) -> usize {
        self.runs.entries().iter().filter(|p| *p == path).count()
    }

    fn items_of(&self, path: &str) -> Vec<String> {
        let prefix = format!("{path} ");
        self.items
            .entries()
            .iter()
            .filter_map(|entry| entry.strip_prefix(&prefix).map(str::to_owned))
            .collect()
    }
}

struct Routes {
    probes: Probes,
}

#[controller("c")]
impl Routes {
    #[sse("finite", retry = "200ms")]
    fn finite(&self) -> impl Stream<Item = &'static str> {
        self.probes.two("/c/finite")
    }

    #[sse("again", retry = "200ms", reconnect_on_end = true)]
    fn again(&self) -> impl Stream<Item = &'static str> {
        self.probes.two("/c/again")
    }
}

/// The same routes as plain handlers.
fn plain(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/p/finite",
        web::get().to(|probes: web::Data<Probes>| async move {
            Sse::from_stream(probes.two("/p/finite")).retry(RETRY)
        }),
    )
    .route(
        "/p/again",
        web::get().to(|probes: web::Data<Probes>| async move {
            Sse::from_stream(probes.two("/p/again"))
                .retry(RETRY)
                .reconnect_on_end()
        }),
    );
}

/// Opens an `EventSource` on `src` and reports, numbered in order (the
/// reports' fetches may overtake each other): the `readyState` at the
/// start and whenever it changes (checked at every event and every 10 ms),
/// each event, and each message. With `close_after=N` the page closes the
/// source itself after N messages; without, it never calls `close()`.
const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>end of stream</title>
<script>
const params = new URLSearchParams(location.search);
const src = params.get('src');
const closeAfter = Number(params.get('close_after') || 0);
const t0 = performance.now();
let seq = 0;
const report = (o) => {
  o.src = src;
  o.seq = seq++;
  o.t = Math.round(performance.now() - t0);
  fetch('/report', {method: 'POST', body: JSON.stringify(o)});
};
const es = new EventSource(src);
let state = es.readyState;
report({kind: 'state', readyState: state});
const watch = () => {
  if (es.readyState !== state) {
    state = es.readyState;
    report({kind: 'state', readyState: state});
  }
};
setInterval(watch, 10);
let messages = 0;
es.onopen = () => { watch(); report({kind: 'open'}); };
es.onerror = () => { watch(); report({kind: 'error', readyState: es.readyState}); };
es.onmessage = (e) => {
  watch();
  messages += 1;
  report({kind: 'message', data: e.data, lastEventId: e.lastEventId});
  if (closeAfter && messages >= closeAfter) {
    es.close();
    watch();
    report({kind: 'closed by page'});
  }
};
</script>
"#;

/// The server, what it saw and what the pages said.
struct Harness {
    server: TestServer,
    probes: Probes,
    reports: Arc<Mutex<Vec<Value>>>,
}

impl Harness {
    fn start() -> Harness {
        let probes = Probes::default();
        let reports: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (app_probes, sink) = (probes.clone(), reports.clone());
        let server = ServerOptions::new().sse_defaults().serve(move || {
            let probes = app_probes.clone();
            let sink = sink.clone();
            let requests = probes.requests.clone();
            App::new()
                .app_data(web::Data::new(probes.clone()))
                // Outermost: sees every request, the `204`s included, with
                // the status it was answered.
                .wrap_fn(move |req, srv| {
                    let path = req.path().to_owned();
                    let last_event_id = req
                        .headers()
                        .get("last-event-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let at = Instant::now();
                    let requests = requests.clone();
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        requests.0.lock().unwrap().push(Seen {
                            path,
                            last_event_id,
                            status: response.status().as_u16(),
                            at,
                        });
                        Ok(response)
                    }
                })
                .route(
                    "/page",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(PAGE)
                    }),
                )
                .route(
                    "/report",
                    web::post().to(move |body: String| {
                        let sink = sink.clone();
                        async move {
                            if let Ok(report) = serde_json::from_str(&body) {
                                sink.lock().unwrap().push(report);
                            }
                            HttpResponse::NoContent().finish()
                        }
                    }),
                )
                .service(Routes {
                    probes: probes.clone(),
                })
                .configure(plain)
        });
        Harness {
            server,
            probes,
            reports,
        }
    }

    fn page(&self, src: &str, close_after: Option<usize>) -> String {
        let close = close_after.map_or(String::new(), |n| format!("&close_after={n}"));
        self.server.url(&format!("/page?src={src}{close}"))
    }

    /// The reports of the page for `src`, in the order the page made them.
    fn reports(&self, src: &str) -> Vec<Value> {
        let mut reports: Vec<Value> = self
            .reports
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r["src"] == src)
            .cloned()
            .collect();
        reports.sort_by_key(|r| r["seq"].as_u64());
        reports
    }

    /// Waits, bounded, until `done` holds for the reports of every `src`.
    async fn wait_for(
        &self,
        browser: &mut Browser,
        srcs: &[&str],
        what: &str,
        done: impl Fn(&[Value]) -> bool,
    ) {
        let deadline = Instant::now() + LIMIT;
        while !srcs.iter().all(|src| done(&self.reports(src))) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\nreports: {:#?}\nrequests: {:#?}\n\
                 browser running: {}\nbrowser log:\n{}",
                self.reports.lock().unwrap(),
                self.probes.requests.0.lock().unwrap(),
                browser.is_running(),
                browser.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The messages a page received, in order.
fn messages(reports: &[Value]) -> Vec<String> {
    reports
        .iter()
        .filter(|r| r["kind"] == "message")
        .map(|r| r["data"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `readyState`s a page went through, each change once.
fn states(reports: &[Value]) -> Vec<u64> {
    let mut states: Vec<u64> = reports
        .iter()
        .filter(|r| r["kind"] == "state")
        .filter_map(|r| r["readyState"].as_u64())
        .collect();
    states.dedup();
    states
}

fn is_closed(reports: &[Value]) -> bool {
    states(reports).last() == Some(&2)
}

/// A line per report, for the test's output.
fn timeline(reports: &[Value]) -> String {
    reports
        .iter()
        .map(|r| {
            let detail = match r["kind"].as_str() {
                Some("message") => format!("data={}", r["data"]),
                Some("state" | "error") => format!("readyState={}", r["readyState"]),
                _ => String::new(),
            };
            format!(
                "  {:>5} ms {} {detail}\n",
                r["t"],
                r["kind"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_finished_stream_is_received_once_and_the_event_source_closes() {
    // Fails, saying how to install it, when Chromium is missing.
    let mut chromium = Browser::launch().unwrap_or_else(|err| panic!("{err}"));
    let harness = Harness::start();
    let srcs = ["/c/finite", "/p/finite"];
    for src in srcs {
        chromium
            .open(&harness.page(src, None))
            .unwrap_or_else(|err| panic!("{err}"));
    }
    harness
        .wait_for(&mut chromium, &srcs, "CLOSED without close()", is_closed)
        .await;
    // A reconnect that should not come would come within a few retries.
    tokio::time::sleep(SETTLE).await;
    drop(chromium);

    let probes = &harness.probes;
    for src in srcs {
        let reports = harness.reports(src);
        let requests = probes.requests.to(src);
        let context = format!(
            "{src}\npage:\n{}requests: {requests:#?}",
            timeline(&reports)
        );
        assert_eq!(messages(&reports), ["one", "two"], "each once: {context}");
        // Created CONNECTING, OPEN, CONNECTING again when the stream ended,
        // CLOSED on the 204, and nothing after that.
        assert_eq!(states(&reports), [0, 1, 0, 2], "{context}");
        assert!(
            reports.iter().all(|r| r["kind"] != "closed by page"),
            "{context}"
        );
        assert_eq!(
            reports.iter().filter(|r| r["kind"] == "open").count(),
            1,
            "{context}"
        );

        // One streaming request, then the reconnect carrying the end
        // frame's id, answered 204.
        let answered: Vec<(Option<&str>, u16)> = requests
            .iter()
            .map(|r| (r.last_event_id.as_deref(), r.status))
            .collect();
        assert_eq!(
            answered,
            [(None, 200), (Some(Sse::END_ID), 204)],
            "{context}"
        );
        // The stream was polled for the first request only.
        assert_eq!(probes.items_of(src), ["one", "two"], "{context}");
        eprintln!(
            "{src}: the browser's reconnect came {:?} after the first request (retry: {RETRY:?})\n{}",
            requests[1].at - requests[0].at,
            timeline(&reports)
        );
    }
    // The method of an `#[sse]` route is not called for the 204: the
    // runtime answers before it. A plain handler has run by the time its
    // `Sse` sees the request, so it counts the 204 too; its stream is
    // dropped unpolled (above).
    assert_eq!(probes.runs_of("/c/finite"), 1);
    assert_eq!(probes.runs_of("/p/finite"), 2);

    harness.server.stop().await;
}

#[actix_web::test]
async fn with_reconnect_on_end_the_browser_receives_the_stream_again() {
    let mut chromium = Browser::launch().unwrap_or_else(|err| panic!("{err}"));
    let harness = Harness::start();
    let srcs = ["/c/again", "/p/again"];
    // The stream twice: four messages, then the page closes the source.
    for src in srcs {
        chromium
            .open(&harness.page(src, Some(4)))
            .unwrap_or_else(|err| panic!("{err}"));
    }
    harness
        .wait_for(&mut chromium, &srcs, "the stream twice", |reports| {
            reports.iter().any(|r| r["kind"] == "closed by page")
        })
        .await;
    // Closed by the page: no further reconnect.
    tokio::time::sleep(SETTLE).await;
    drop(chromium);

    let probes = &harness.probes;
    for src in srcs {
        let reports = harness.reports(src);
        let requests = probes.requests.to(src);
        let context = format!(
            "{src}\npage:\n{}requests: {requests:#?}",
            timeline(&reports)
        );
        assert_eq!(
            messages(&reports),
            ["one", "two", "one", "two"],
            "{context}"
        );
        // CONNECTING, OPEN, CONNECTING when the first stream ended, OPEN
        // again, CLOSED by the page.
        assert_eq!(states(&reports), [0, 1, 0, 1, 2], "{context}");
        // No end frame, so no id to send back and no 204: two ordinary
        // requests, each streamed.
        let answered: Vec<(Option<&str>, u16)> = requests
            .iter()
            .map(|r| (r.last_event_id.as_deref(), r.status))
            .collect();
        assert_eq!(answered, [(None, 200), (None, 200)], "{context}");
        assert_eq!(probes.runs_of(src), 2, "{context}");
        assert_eq!(
            probes.items_of(src),
            ["one", "two", "one", "two"],
            "{context}"
        );
        eprintln!(
            "{src}: the browser's reconnect came {:?} after the first request (retry: {RETRY:?})\n{}",
            requests[1].at - requests[0].at,
            timeline(&reports)
        );
    }

    harness.server.stop().await;
}
