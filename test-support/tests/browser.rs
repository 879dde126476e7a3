//! The Chromium launcher: a page it opens runs its script (which reports
//! back to the test's server), and the browser ends when dropped.

#![cfg(unix)]

use std::time::Duration;

use actix_web::{web, App, HttpResponse};
use sse_test_support::browser::Browser;
use sse_test_support::{serve, wait_until, Counter};

const PAGE: &str = "<!doctype html><script>fetch('/report', {method: 'POST'})</script>";

#[actix_web::test]
async fn an_opened_page_runs_and_the_browser_ends_on_drop() {
    let reports = Counter::default();
    let sink = reports.clone();
    let server = serve(move || {
        let sink = sink.clone();
        App::new()
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
                web::post().to(move || {
                    sink.bump();
                    async { HttpResponse::NoContent().finish() }
                }),
            )
    });
    let mut browser = Browser::launch().unwrap_or_else(|err| panic!("{err}"));
    assert!(browser.is_running());
    for _ in 0..2 {
        browser.open(&server.url("/page")).unwrap();
    }
    assert!(
        wait_until(Duration::from_secs(30), || reports.get() == 2).await,
        "{} of 2 reports; browser log:\n{}",
        reports.get(),
        browser.log()
    );
    let pid = browser.pid();
    drop(browser);
    // Ended and reaped by the drop: not even a zombie is left.
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "Chromium ({pid}) is still there"
    );
    server.stop().await;
}
