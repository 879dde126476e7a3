//! Runnable examples for `sse-runtime`: a Rust twin of every sample of
//! Revali's `@SSE` guide, of the `aim_server_sse` package's guide (also in
//! its own sink style) and of the Spry tutorial's rooms, an authentication
//! path, and the demo server that serves them all.
//!
//! Run the demo with `cargo run -p sse-examples --release` and open
//! <http://127.0.0.1:8080/>, or paste one of the `curl -N` lines it prints.
//!
//! | Module | Controller | Mounted at | Samples |
//! |---|---|---|---|
//! | [`revali`] | [`revali::EventController`] | `/events` | every sample of Revali's `@SSE` guide |
//! | [`aim`] | [`aim::AimController`] | `/aim` | quick start, basic, multiple, JSON, named, ids, keep-alive, comments (`aim_server_sse`) |
//! | [`live`] | [`live::LiveController`] | `/aim` | live counter, progress, live feed (`aim_server_sse`) |
//! | [`chat`] | [`chat::ChatController`] | `/aim` | chat notifications per user (`aim_server_sse`) |
//! | [`aim_sink`] | [`aim_sink::AimSinkController`] | `/aim/sink` | quick start, live counter, live feed in the `aim_server_sse` package's sink style |
//! | [`rooms`] | [`rooms::RoomsController`] | `/` | the Spry tutorial's rooms (`/chat/{room}`, `/broadcast`), task progress (`/progress/{task}`), a resumable ticker (`/ticker`), several topics in one stream (`/hub`) on the [`sse_runtime::Hub`] |
//! | [`secure`] | [`secure::SecureController`] | `/secure` | `401` before streaming without `?token=let-me-in` |
//! | [`page`] | – | `/`, `/favicon.ico`, `/stats` | the dashboard (one card per scenario, its state and newest events); counters of open things |
//!
//! The fake back ends (`eventService`, `resourceService`, ...) are in
//! [`services`]. Every sleep goes through a [`Pace`], so tests run the same
//! code at a hundred times the speed.
//!
//! # Mounting the examples
//!
//! ```no_run
//! use actix_web::{App, HttpServer};
//! use sse_examples::{Config, Examples};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     // Shared by every worker: create it once, outside the app factory.
//!     let examples = Examples::new(Config::demo());
//!     HttpServer::new(move || {
//!         let examples = examples.clone();
//!         App::new().configure(move |cfg| examples.configure(cfg))
//!     })
//!     .bind(("127.0.0.1", 8080))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! [`Examples::serve`] does the same with the demo's server settings.
//!
//! # Several instances
//!
//! [`Examples::with_hub`] takes a hub built beforehand, e.g. one shared
//! through Redis ([`rooms::redis_hub`], the demo's `--redis URL`): then
//! several servers act as one for everything published on the hub (chat
//! rooms, broadcasts, the ticker, live updates, the feed). `/stats`, the
//! room members, a task's end and the per-user notifications stay per
//! instance (see [`rooms`]).

pub mod aim;
pub mod aim_sink;
pub mod chat;
pub mod clock;
pub mod edge;
pub mod live;
mod pace;
pub mod page;
pub mod revali;
pub mod rooms;
pub mod secure;
pub mod services;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{dev::Server, web, HttpResponse};
use sse_runtime::Hub;
use tokio::task::JoinHandle;

pub use pace::Pace;
use services::{Services, Stats};

/// How the examples behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How long a second lasts.
    pub pace: Pace,
    /// After how many events each upstream connection of the event service
    /// fails (`None`: never), so that the error-handling samples have
    /// something to handle.
    pub upstream_fails_after: Option<u32>,
    /// Whether background tasks publish live updates and ticks (every second) and
    /// feed items (every two seconds). Without them those services only
    /// carry what is published through their API.
    pub background: bool,
}

impl Config {
    /// The demo: real time, the upstream fails after five events,
    /// background publishers on.
    pub fn demo() -> Self {
        Config {
            pace: Pace::REAL,
            upstream_fails_after: Some(5),
            background: true,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::demo()
    }
}

/// Every example controller with the services they share.
///
/// Create it once per server, outside the `HttpServer` app factory, and
/// call [`configure`](Self::configure) in the factory: all workers then
/// share the same services (a notification posted to one worker reaches a
/// subscriber on another).
#[derive(Debug, Clone)]
pub struct Examples {
    config: Config,
    services: Services,
    _background: Arc<Background>,
}

/// The background publishers; stopped when the last [`Examples`] clone is
/// dropped.
#[derive(Debug)]
struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl Examples {
    /// New services on an in-memory hub ([`rooms::demo_hub`]) and, if
    /// `config.background`, their publishers.
    ///
    /// # Panics
    /// With `config.background`, if called outside a tokio runtime (the
    /// publishers are spawned on the current one, e.g. the one of
    /// `#[actix_web::main]`).
    pub fn new(config: Config) -> Self {
        Self::with_hub(config, rooms::demo_hub())
    }

    /// New services on `hub` and, if `config.background`, their
    /// publishers: how the demo runs on a hub shared through Redis, built
    /// first (that is async, and can fail) with [`rooms::redis_hub`].
    ///
    /// ```no_run
    /// use sse_examples::{rooms, Config, Examples};
    ///
    /// #[actix_web::main]
    /// async fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let hub = rooms::redis_hub("redis://127.0.0.1:6379").await?;
    ///     let examples = Examples::with_hub(Config::demo(), hub);
    ///     let (server, addr) = examples.serve(("127.0.0.1", 8080), 2)?;
    ///     println!("listening on {addr}");
    ///     server.await?;
    ///     Ok(())
    /// }
    /// ```
    ///
    /// With a shared hub, every instance runs its own background
    /// publishers, so the ticker, the live updates and the feed carry
    /// every instance's items.
    ///
    /// # Panics
    /// As [`new`](Self::new).
    pub fn with_hub(config: Config, hub: Hub) -> Self {
        let services = Services::with_hub(config.pace, config.upstream_fails_after, hub);
        let mut tasks = Vec::new();
        if config.background {
            tasks.push(tokio::spawn(services.live.tick(config.pace)));
            tasks.push(tokio::spawn(services.feed.tick(config.pace)));
            tasks.push(tokio::spawn(rooms::tick(services.hub.clone(), config.pace)));
        }
        Examples {
            config,
            services,
            _background: Arc::new(Background(tasks)),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The shared services, e.g. to publish into them from a test.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// What is currently open (also served at `GET /stats`).
    pub fn stats(&self) -> Stats {
        self.services.stats()
    }

    /// Registers every example controller, the page at `/` and `/stats`.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let pace = self.config.pace;
        let services = &self.services;
        cfg.service(revali::EventController {
            pace,
            event_service: services.events.clone(),
            resource_service: services.resources.clone(),
            live_update_service: services.live.clone(),
        })
        .service(aim::AimController { pace })
        .service(live::LiveController {
            pace,
            feed_service: services.feed.clone(),
            counters: services.counters.clone(),
        })
        .service(chat::ChatController {
            notification_service: services.notifications.clone(),
        })
        .service(aim_sink::AimSinkController {
            pace,
            feed_service: services.feed.clone(),
            counters: services.counters.clone(),
        })
        .service(secure::SecureController { pace })
        .service(rooms::RoomsController {
            hub: services.hub.clone(),
            members: services.members.clone(),
            pace,
        })
        .configure(page::configure);
        let services = services.clone();
        cfg.route(
            "/stats",
            web::get().to(move || {
                let stats = services.stats();
                async move { HttpResponse::Ok().json(stats) }
            }),
        );
    }

    /// Binds an `HttpServer` serving the examples to `addr` with `workers`
    /// worker threads and returns it (not yet awaited) with the address it
    /// listens on: with port 0, the port the OS picked.
    ///
    /// The server is set up with `.sse_defaults()`: it notices a client's
    /// disconnect at once, even on an idle stream (an HTTP/1.1 client that
    /// closes its side is gone), closes a stream whose client stopped
    /// reading, and gives open streams one second to end when stopping.
    /// Must be called inside an actix system (e.g. in
    /// `#[actix_web::main]` or `#[actix_web::test]`). It serves plain
    /// HTTP/1.1 with the demo's CORS policy and caps
    /// ([`edge::Edge::default`]); [`edge::serve`] takes other settings.
    pub fn serve(
        &self,
        addr: impl ToSocketAddrs,
        workers: usize,
    ) -> io::Result<(Server, SocketAddr)> {
        edge::serve(self, addr, workers, edge::Edge::default())
    }
}

/// Which guide a route comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// Revali's `@SSE` guide.
    Revali,
    /// The `aim_server_sse` package's guide.
    Aim,
    /// Not from a guide: authentication before streaming ([`secure`]).
    Readme,
    /// The hub: the Spry tutorial's rooms, a resumable ticker, several
    /// topics in one stream ([`rooms`]).
    Hub,
}

/// One route of the demo, for listings and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// A concrete path (path parameters filled in).
    pub path: &'static str,
    /// The guide the sample comes from.
    pub seed: Seed,
    /// The guide's sample.
    pub sample: &'static str,
    /// Whether the stream ends by itself (at the demo's pace and failure
    /// settings, the graceful-degradation stream never does).
    pub finite: bool,
}

const fn route(
    method: &'static str,
    path: &'static str,
    seed: Seed,
    sample: &'static str,
    finite: bool,
) -> RouteInfo {
    RouteInfo {
        method,
        path,
        seed,
        sample,
        finite,
    }
}

/// Every example route, in the order of the guides.
pub const ROUTES: &[RouteInfo] = &[
    route(
        "GET",
        "/events/updates",
        Seed::Revali,
        "Creating an SSE Handler",
        true,
    ),
    route(
        "GET",
        "/events/limited",
        Seed::Revali,
        "Automatic Cleanup",
        true,
    ),
    route(
        "GET",
        "/events/events",
        Seed::Revali,
        "Manual Cleanup",
        true,
    ),
    route(
        "GET",
        "/events/live",
        Seed::Revali,
        "Infinite Streams",
        false,
    ),
    route(
        "GET",
        "/events/connection-errors",
        Seed::Revali,
        "Connection Errors",
        true,
    ),
    route(
        "GET",
        "/events/graceful",
        Seed::Revali,
        "Graceful Degradation",
        false,
    ),
    route(
        "GET",
        "/events/status",
        Seed::Revali,
        "Use Appropriate Data Types",
        true,
    ),
    route(
        "GET",
        "/events/proper-cleanup",
        Seed::Revali,
        "Handle Connection Cleanup",
        true,
    ),
    route(
        "GET",
        "/events/updates-100",
        Seed::Revali,
        "Avoid Memory Leaks (limited duration)",
        true,
    ),
    route(
        "GET",
        "/events/updates-forever",
        Seed::Revali,
        "Avoid Memory Leaks (infinite, the anti-pattern)",
        false,
    ),
    route("GET", "/aim/quick-start", Seed::Aim, "Quick Start", true),
    route("GET", "/aim/basic", Seed::Aim, "Basic Event", true),
    route("GET", "/aim/multiple", Seed::Aim, "Multiple Events", true),
    route("GET", "/aim/json", Seed::Aim, "JSON Events", true),
    route("GET", "/aim/named", Seed::Aim, "Named Events", true),
    route("GET", "/aim/ids", Seed::Aim, "Events with ID", false),
    route("GET", "/aim/keep-alive", Seed::Aim, "Keep-Alive", false),
    route("GET", "/aim/comments", Seed::Aim, "Comments", true),
    route("GET", "/aim/counter", Seed::Aim, "Live Counter", false),
    route("GET", "/aim/progress", Seed::Aim, "Progress Updates", true),
    route("GET", "/aim/feed", Seed::Aim, "Live Feed", false),
    route(
        "GET",
        "/aim/notifications/alice",
        Seed::Aim,
        "Chat Notifications (listen as alice)",
        false,
    ),
    route(
        "POST",
        "/aim/notifications/alice",
        Seed::Aim,
        "Chat Notifications (send to alice)",
        true,
    ),
    route(
        "GET",
        "/aim/sink/quick-start",
        Seed::Aim,
        "Quick Start (sink style)",
        true,
    ),
    route(
        "GET",
        "/aim/sink/counter",
        Seed::Aim,
        "Live Counter (sink style)",
        false,
    ),
    route(
        "GET",
        "/aim/sink/feed",
        Seed::Aim,
        "Live Feed (sink style)",
        false,
    ),
    route(
        "GET",
        "/secure/feed?token=let-me-in",
        Seed::Readme,
        "Authentication (401 without the token)",
        false,
    ),
    route(
        "GET",
        "/secure/sink-feed?token=let-me-in",
        Seed::Readme,
        "Authentication, sink style (401 without the token)",
        false,
    ),
    route(
        "GET",
        "/chat/lobby?user=ada",
        Seed::Hub,
        "Chat room (join as ada; resumable)",
        false,
    ),
    route("GET", "/ticker", Seed::Hub, "Resumable ticker", false),
    route(
        "GET",
        "/hub?topics=ticker,chat/lobby",
        Seed::Hub,
        "Several topics in one stream",
        false,
    ),
];

impl RouteInfo {
    /// A ready-to-paste `curl` command for this route on `base`
    /// (`http://127.0.0.1:8080`).
    ///
    /// ```
    /// let updates = &sse_examples::ROUTES[0];
    /// assert_eq!(updates.curl("http://127.0.0.1:8080"), "curl -N http://127.0.0.1:8080/events/updates");
    /// ```
    ///
    /// A URL with a query is quoted, so that shells leave its `?` alone:
    ///
    /// ```
    /// let secure = sse_examples::ROUTES.iter().find(|r| r.path.starts_with("/secure/feed")).unwrap();
    /// assert_eq!(
    ///     secure.curl("http://127.0.0.1:8080"),
    ///     "curl -N 'http://127.0.0.1:8080/secure/feed?token=let-me-in'"
    /// );
    /// ```
    pub fn curl(&self, base: &str) -> String {
        match self.method {
            "GET" if self.path.contains('?') => format!("curl -N '{base}{}'", self.path),
            "GET" => format!("curl -N {base}{}", self.path),
            method => format!(
                "curl -X {method} -H 'content-type: application/json' -d '{{\"from\":\"bob\",\"message\":\"Hi Alice!\"}}' {base}{}",
                self.path
            ),
        }
    }
}

/// The start-up listing of the demo for a server at `base`
/// (`http://127.0.0.1:8080`): the page, then every route with its `curl`
/// line.
pub fn listing(base: &str) -> String {
    let mut out = format!(
        "sse-examples demo listening on {base}\n\n  dashboard:    {base}/   (every scenario, live, in the browser)\n  open things:  {base}/stats\n"
    );
    for (seed, title) in [
        (Seed::Revali, "Revali's @SSE guide"),
        (Seed::Aim, "aim_server_sse package"),
        (Seed::Readme, "Authentication: 401 before streaming"),
        (Seed::Hub, "Hub: the Spry tutorial's rooms and a ticker (POST /chat, /broadcast, /progress: see examples/src/rooms.rs)"),
    ] {
        out.push_str(&format!("\n{title}:\n"));
        for route in ROUTES.iter().filter(|r| r.seed == seed) {
            out.push_str(&format!("  {:<48} {}\n", route.sample, route.curl(base)));
        }
    }
    out
}

/// Parses a duration such as `1s`, `250ms`, `0.5s` or `2m`.
///
/// ```
/// use std::time::Duration;
/// use sse_examples::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("0.5s"), Ok(Duration::from_millis(500)));
/// assert!(parse_duration("fast").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like `1s` or `250ms`"))?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "s" | "" => number,
        "m" | "min" => number * 60.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use ms, s or m"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}
