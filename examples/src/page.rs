//! The demo's browser page (`GET /`) and its `GET /stats` endpoint.
//!
//! The page opens an `EventSource` on several routes and writes every event
//! it receives into the DOM as one list item,
//! `route | type | id=lastEventId | data`, so that a headless browser's
//! `--dump-dom` shows what arrived (see `examples/browser-check.sh`).

use actix_web::http::header::ContentType;
use actix_web::HttpResponse;

/// `GET /`: the page.
pub async fn index() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(PAGE)
}

/// The page's HTML. With the query parameter `max-events=N`, each
/// never-ending stream is closed after `N` events, a chat notification is
/// posted to the page's own `/aim/notifications/browser` stream, and the
/// title becomes `done` once every stream is closed.
pub const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sse-runtime demo</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; max-width: 70em; }
  #log li { font-family: ui-monospace, monospace; white-space: pre-wrap; }
  #log li.status { color: #777; }
  code { background: #eee; padding: 0 .2em; }
</style>
</head>
<body>
<h1>sse-runtime demo</h1>
<p>This page opens an <code>EventSource</code> on the routes below and lists
every event as it arrives: <code>route | event type | id=lastEventId | data</code>.
Routes that end are closed instead of being reconnected. Every route, with a
<code>curl -N</code> line, is printed by the demo at start-up;
<a href="/stats">/stats</a> shows what is open on the server.</p>
<form id="notify">Send a chat notification to user <code>browser</code>:
  <input name="message" value="Hello from the page" size="30">
  <button>Send</button> <span id="notify-result"></span>
</form>
<ol id="log"></ol>
<script>
"use strict";
const log = document.getElementById("log");
function line(text, status) {
  const item = document.createElement("li");
  item.textContent = text;
  if (status) item.className = "status";
  log.appendChild(item);
}

// [route, event types to listen to, does the stream end by itself?]
// Finite routes first: a browser opens at most 6 connections per host over
// HTTP/1.1, and the routes that never end hold theirs.
const routes = [
  ["/events/updates", ["message"], true],
  ["/events/status", ["message"], true],
  ["/aim/named", ["notification", "update"], true],
  ["/aim/progress", ["progress", "complete"], true],
  ["/aim/ids", ["message"], false],
  ["/aim/counter", ["message"], false],
  ["/aim/feed", ["post", "like", "comment"], false],
  ["/aim/notifications/browser", ["notification"], false],
];

// `?max-events=N` (check mode): close each never-ending stream after N
// events; post one chat notification to ourselves once that stream is open,
// and close it when the notification arrives. With every stream closed, the
// title becomes `done` (used by `browser-check.sh`: a headless browser's
// virtual time only runs once no request is pending).
const maxEvents = Number(new URLSearchParams(location.search).get("max-events")) || Infinity;
let stillOpen = routes.length;

for (const [route, types, finite] of routes) {
  const source = new EventSource(route);
  let received = 0;
  let closed = false;
  const finish = (why) => {
    if (closed) return;
    closed = true;
    source.close();
    line(`${route} | closed: ${why}`, true);
    if (--stillOpen === 0) {
      line("all streams closed", true);
      document.title = "done";
    }
  };
  for (const type of types) {
    source.addEventListener(type, (e) => {
      line(`${route} | ${e.type} | id=${e.lastEventId} | ${e.data}`);
      received += 1;
      // The notification stream only gets the one we post in check mode.
      const enough = route.startsWith("/aim/notifications/") ? 1 : maxEvents;
      if (!finite && maxEvents !== Infinity && received >= enough) {
        finish(`${received} event(s) received`);
      }
    });
  }
  source.addEventListener("error", (e) => {
    if (e instanceof MessageEvent) {
      // An `event: error` sent by the server (a failed stream item).
      line(`${route} | error | id=${e.lastEventId} | ${e.data}`);
    } else if (finite) {
      finish("the stream ended");
    } else {
      line(`${route} | connection lost, reconnecting`, true);
    }
  });
  if (route.startsWith("/aim/notifications/") && maxEvents !== Infinity) {
    source.addEventListener("open", () => notify("automatic check"), { once: true });
  }
}

async function notify(message) {
  const response = await fetch("/aim/notifications/browser", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ from: "the page", message }),
  });
  const result = await response.json();
  document.getElementById("notify-result").textContent =
    `delivered to ${result.delivered} connection(s)`;
}

document.getElementById("notify").addEventListener("submit", (e) => {
  e.preventDefault();
  notify(new FormData(e.target).get("message"));
});
</script>
</body>
</html>
"#;
