//! The demo's dashboard (`GET /`), its assets and the favicon.
//!
//! Plain HTML, CSS and JavaScript compiled into the binary: no build step,
//! no CDN, it works offline. One card per scenario, each showing its
//! connection state and its newest events; the browser's own `EventSource`
//! reads every stream. How the page stays within a browser's six HTTP/1.1
//! connections per origin, with several tabs open, is explained at the top
//! of `page/app.js`. `examples/tests/dashboard.rs` drives it in headless
//! Chromium.
//!
//! | Route | What |
//! |---|---|
//! | `GET /` | the dashboard |
//! | `GET /dashboard/app.js`, `GET /dashboard/style.css` | its script and style |
//! | `GET /favicon.ico` | the icon (SVG) |

use actix_web::http::header::{ContentType, CACHE_CONTROL};
use actix_web::{web, HttpResponse};

/// The dashboard's HTML.
pub const INDEX_HTML: &str = include_str!("page/index.html");
/// Its script: the cards, the streams, the turn-taking between tabs.
pub const APP_JS: &str = include_str!("page/app.js");
/// Its style sheet.
pub const STYLE_CSS: &str = include_str!("page/style.css");
/// The icon, served as `/favicon.ico` (browsers read SVG there too).
pub const FAVICON_SVG: &str = include_str!("page/favicon.svg");

/// Registers `/`, the dashboard's assets and `/favicon.ico`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/dashboard/app.js", web::get().to(app_js))
        .route("/dashboard/style.css", web::get().to(style_css))
        .route("/favicon.ico", web::get().to(favicon));
}

/// `GET /`: the dashboard.
pub async fn index() -> HttpResponse {
    asset(ContentType::html().to_string(), INDEX_HTML)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8".to_owned(), APP_JS)
}

async fn style_css() -> HttpResponse {
    asset("text/css; charset=utf-8".to_owned(), STYLE_CSS)
}

async fn favicon() -> HttpResponse {
    asset("image/svg+xml".to_owned(), FAVICON_SVG)
}

fn asset(content_type: String, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // The assets are part of the binary: a rebuilt demo must not be
        // shown with yesterday's script.
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body)
}
