//! Cross-origin `EventSource` in headless Chromium against the CORS recipe
//! (`actix-cors`): without credentials, with `withCredentials` (the cookie
//! arrives; the exact origin and `Access-Control-Allow-Credentials: true`
//! come back), a reconnect carrying `Last-Event-ID`, and an origin the
//! policy does not name (the browser refuses, for good).
//!
//! Two servers on 127.0.0.1: the page's (`A`, which also sets a cookie and
//! takes the page's reports) and the streams' (`B`, behind CORS for
//! exactly A's origin). Needs Chromium: see `sse_test_support::browser`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_cors::Cors;
use actix_web::dev::Service;
use actix_web::{web, App, HttpRequest, HttpResponse};
use futures_util::stream::{self, Stream, StreamExt};
use serde_json::Value;
use sse_runtime::{controller, sse, Event, SseEdge};
use sse_test_support::browser::Browser;
use sse_test_support::ServerOptions;

/// Requests that reached server B (preflights included), as
/// `METHOD path origin=.. last-event-id=..`.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Streams;

fn header(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[controller("b")]
impl Streams {
    /// One event: the cookie the request carried.
    #[sse("who")]
    fn who(&self, req: HttpRequest) -> impl Stream<Item = String> {
        let cookie = header(&req, "cookie").unwrap_or_else(|| "no cookie".to_owned());
        stream::once(async move { cookie }).chain(stream::pending())
    }

    /// First visit: event `7`, a short `retry:`, then the end (so the
    /// browser reconnects). Reconnect: what `Last-Event-ID` said.
    #[sse("resume", reconnect_on_end = true)]
    fn resume(&self, req: HttpRequest) -> impl Stream<Item = Event> {
        match header(&req, "last-event-id") {
            Some(id) => {
                let event = Event::default().data(format!("resumed after {id}"));
                stream::once(async move { event })
                    .chain(stream::pending())
                    .left_stream()
            }
            None => {
                let event = Event::default()
                    .id("7")
                    .expect("a valid id")
                    .retry(Duration::from_millis(100))
                    .data("first");
                stream::once(async move { event }).right_stream()
            }
        }
    }
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8"><title>cross-origin EventSource</title>
<script>
const sse = new URLSearchParams(location.search).get('sse');
const report = (o) => fetch('/report', {method: 'POST', body: JSON.stringify(o)});
function once(name, url, init) {
  const es = new EventSource(url, init);
  es.onmessage = (e) => { report({case: name, data: e.data}); es.close(); };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) report({case: name, error: 'closed'});
  };
}
once('plain', sse + '/b/who');
once('credentials', sse + '/b/who', {withCredentials: true});
const r = new EventSource(sse + '/b/resume', {withCredentials: true});
let seen = 0;
r.onmessage = (e) => {
  seen += 1;
  report({case: 'resume', data: e.data, lastEventId: e.lastEventId});
  if (seen === 2) r.close();
};
r.onerror = () => {
  if (r.readyState === EventSource.CLOSED) report({case: 'resume', error: 'closed'});
};
</script>
<iframe src="REFUSED"></iframe>
"#;

const REFUSED: &str = r#"<!doctype html>
<meta charset="utf-8"><title>an origin the policy does not name</title>
<script>
const sse = new URLSearchParams(location.search).get('sse');
const es = new EventSource(sse + '/b/who');
es.onmessage = (e) => fetch('/report', {method: 'POST', body: JSON.stringify({case: 'refused', data: e.data})});
es.onerror = () => fetch('/report', {method: 'POST', body: JSON.stringify(
  {case: 'refused', error: es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'})});
</script>
"#;

#[actix_web::test]
async fn cross_origin_event_source_in_chromium() {
    // Fails, saying how to install it, when Chromium is missing.
    let mut chromium = Browser::launch().unwrap_or_else(|err| panic!("{err}"));

    let reports: Arc<Mutex<Vec<Value>>> = Arc::default();
    // The page, once the addresses it names are known.
    let page: Arc<Mutex<String>> = Arc::default();
    let sink = reports.clone();
    let body = page.clone();
    let pages = ServerOptions::new().sse_defaults().serve(move || {
        let sink = sink.clone();
        let body = body.clone();
        App::new()
            .route(
                "/page",
                web::get().to(move || {
                    let page = body.lock().unwrap().clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .insert_header((
                                "set-cookie",
                                "edge_session=s3cret; Path=/; SameSite=Lax",
                            ))
                            .body(page)
                    }
                }),
            )
            .route(
                "/refused",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(REFUSED)
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
    });
    let page_origin = format!("http://127.0.0.1:{}", pages.addr().port());

    let seen = Seen::default();
    let log = seen.clone();
    let allowed = page_origin.clone();
    let streams = ServerOptions::new().sse_defaults().serve(move || {
        let log = log.clone();
        // The README's recipe, for the page's exact origin.
        let cors = Cors::default()
            .allowed_origin(&allowed)
            .allowed_methods(["GET"])
            .allowed_header("last-event-id")
            .supports_credentials()
            .max_age(3600);
        App::new()
            .wrap(SseEdge::new())
            .wrap(cors)
            // Outermost: sees preflights, which CORS answers itself.
            .wrap_fn(move |req, srv| {
                let h = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-")
                        .to_owned()
                };
                log.0.lock().unwrap().push(format!(
                    "{} {} origin={} last-event-id={}",
                    req.method(),
                    req.path(),
                    h("origin"),
                    h("last-event-id"),
                ));
                srv.call(req)
            })
            .service(Streams)
    });
    let sse_origin = format!("http://127.0.0.1:{}", streams.addr().port());
    let refused = format!(
        "http://localhost:{}/refused?sse={sse_origin}",
        pages.addr().port()
    );
    *page.lock().unwrap() = PAGE.replace("REFUSED", &refused);

    chromium
        .open(&format!("{page_origin}/page?sse={sse_origin}"))
        .unwrap_or_else(|err| panic!("{err}"));
    let want = ["plain", "credentials", "refused"];
    let deadline = Instant::now() + Duration::from_secs(30);
    let done = |all: &[Value]| {
        want.iter()
            .all(|case| all.iter().any(|r| r["case"] == *case))
            && all.iter().filter(|r| r["case"] == "resume").count() >= 2
    };
    while !done(&reports.lock().unwrap()) {
        assert!(
            Instant::now() < deadline,
            "reports so far: {:?}\nserver B saw: {:#?}\nbrowser running: {}\nbrowser log:\n{}",
            reports.lock().unwrap(),
            seen.all(),
            chromium.is_running(),
            chromium.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(chromium);

    let reports = reports.lock().unwrap().clone();
    let case =
        |name: &str| -> Vec<&Value> { reports.iter().filter(|r| r["case"] == name).collect() };
    assert_eq!(case("plain")[0]["data"], "no cookie", "{reports:?}");
    assert_eq!(
        case("credentials")[0]["data"],
        "edge_session=s3cret",
        "{reports:?}"
    );
    let resume = case("resume");
    assert_eq!(resume[0]["data"], "first", "{reports:?}");
    assert_eq!(resume[0]["lastEventId"], "7", "{reports:?}");
    assert_eq!(resume[1]["data"], "resumed after 7", "{reports:?}");
    assert_eq!(case("refused")[0]["error"], "closed", "{reports:?}");

    let seen = seen.all();
    assert!(
        seen.iter().any(|s| s.starts_with("GET /b/resume")
            && s.ends_with("last-event-id=7")
            && s.contains(&format!("origin={page_origin}"))),
        "the reconnect carried Last-Event-ID cross-origin: {seen:#?}"
    );
    let preflights: Vec<&String> = seen.iter().filter(|s| s.starts_with("OPTIONS")).collect();
    eprintln!("server B saw: {seen:#?}");
    eprintln!(
        "preflight before the Last-Event-ID reconnect: {}",
        if preflights.is_empty() { "none" } else { "yes" }
    );

    pages.stop().await;
    streams.stop().await;
}
