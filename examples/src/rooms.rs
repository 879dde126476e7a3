//! The Spry tutorial's rooms and the demo's other hub topics, all on one
//! [`Hub`]: chat rooms with join/leave and presence, a broadcast to every
//! room, task progress that finishes, a resumable ticker, and one stream
//! carrying several topics.
//!
//! | Route | What |
//! |---|---|
//! | `GET /chat/{room}?user=NAME` | the room's `message`, `user-joined` and `user-left` events, resumable |
//! | `POST /chat/{room}` | `{"from","text"}` → a `message`; `202 {"id": "<event id>"}` |
//! | `GET /chat/{room}/members` | the users in the room now (JSON list) |
//! | `POST /broadcast` | `{"text"}` → a `message` in every room |
//! | `GET /progress/{task}` | the task's `progress` events from the start; `204` once finished and seen |
//! | `POST /progress/{task}` | starts the task (`202`), `409` if it exists |
//! | `GET /ticker` | a `tick` event (`{"n": ..}`) every second, resumable |
//! | `GET /hub?topics=a,b,c` | several public topics in one stream; an unknown one is `400` |
//!
//! On a hub shared through Redis ([`redis_hub`], the demo's `--redis`),
//! rooms, broadcasts, progress events and the ticker reach every instance
//! and resume on any of them, while these stay per instance: the members
//! of `/chat/{room}/members` (each instance counts its own listeners,
//! `user-joined`/`user-left` still reach everyone), and a task's end and its
//! `409`: the hub closes a topic on this instance only, so follow a task on
//! the instance that started it, while it runs. Elsewhere its stream does
//! not end, and once it has ended, that instance answers a latecomer with
//! an empty stream (in memory: the whole progress, then the end). The task
//! closes its topic only once this instance has delivered its last event,
//! so that its own followers see the end.
//!
//! Try it:
//!
//! ```text
//! curl -N 'http://127.0.0.1:8080/chat/lobby?user=ada'
//! curl -H 'content-type: application/json' -d '{"from":"bob","text":"hi"}' http://127.0.0.1:8080/chat/lobby
//! curl -N -H 'Last-Event-ID: <an id seen above>' http://127.0.0.1:8080/chat/lobby
//! ```

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::{error, web, HttpResponse};
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sse_runtime::backplane::BackplaneError;
use sse_runtime::hub::{HubBuilder, PublishError, TopicOptions};
use sse_runtime::{
    controller, event_name, sse, EncodedEvent, Event, EventId, EventName, Hub, LastEventId,
    Subscription,
};

use crate::pace::Pace;

/// The topic every chat stream reads next to its room's: `POST /broadcast`
/// publishes there.
pub const BROADCAST: &str = "broadcast";

/// The ticker's topic.
pub const TICKER: &str = "ticker";

/// The topics `GET /hub` accepts besides `chat/*` and `progress/*`.
pub const PUBLIC_TOPICS: &[&str] = &[BROADCAST, TICKER, "feed", "live"];

/// At most this many topics in one `GET /hub`.
pub const MAX_TOPICS: usize = 8;

/// Steps of a task's progress (0 %, 10 %, …, 100 %).
const STEPS: u32 = 10;

/// The hub the demo publishes on, in this process: [`demo_hub_builder`]
/// built.
pub fn demo_hub() -> Hub {
    demo_hub_builder().build()
}

/// The demo's hub shared through Redis at `url` (the demo's `--redis`):
/// the same per-topic options as [`demo_hub`], so that several demo
/// processes on one Redis act as one hub (see the module docs for what
/// stays per instance). Needs a tokio runtime that keeps running, e.g.
/// the one of `#[actix_web::main]`.
///
/// # Errors
/// If the URL is invalid or Redis can't be reached.
pub async fn redis_hub(url: &str) -> Result<Hub, BackplaneError> {
    demo_hub_builder().redis(url).build().await
}

/// The demo hub's settings: chat rooms and the feed keep their last 100
/// events for the hub's default five minutes, a task's progress all of it
/// however old (its topic is closed when the task ends, and the hub
/// forgets closed topics after ten minutes), the ticker its last minute, a
/// user's notifications five minutes' worth, the live updates none. The
/// hub's bounds are the defaults: a client visiting room after room holds
/// at most 65 536 topics and 64 MiB of events, the longest-idle rooms
/// making room for new ones.
pub fn demo_hub_builder() -> HubBuilder {
    Hub::builder()
        .history(100)
        .topics(crate::services::LIVE_TOPIC, TopicOptions::new().history(0))
        .topics(
            "user/",
            TopicOptions::new().history_age(Duration::from_secs(300)),
        )
        .topics(
            "progress/",
            TopicOptions::new()
                .history(usize::MAX)
                .history_bytes(usize::MAX)
                .no_history_age(),
        )
        .topics(TICKER, TopicOptions::new().history(60))
}

/// A room or task name from a URL: 1 to 64 ASCII letters, digits, `-`
/// and `_`, so that it is safe in a topic name, a log line and a page.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `GET /hub` may serve `topic`: one of [`PUBLIC_TOPICS`], or
/// `chat/<name>` or `progress/<name>` with a [valid name](valid_name).
/// Per-user topics are never public.
pub fn is_public(topic: &str) -> bool {
    if PUBLIC_TOPICS.contains(&topic) {
        return true;
    }
    match topic.split_once('/') {
        Some(("chat" | "progress", name)) => valid_name(name),
        _ => false,
    }
}

fn checked(name: &str, what: &str) -> actix_web::Result<()> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(error::ErrorBadRequest(format!(
            "a {what} name is 1 to 64 letters, digits, `-` or `_`"
        )))
    }
}

/// Who is in which room now: user → connections, per room. A user with
/// two tabs open is one member.
#[derive(Debug, Clone, Default)]
pub struct Members(Arc<Mutex<HashMap<String, BTreeMap<String, usize>>>>);

impl Members {
    /// The users in `room`, sorted.
    pub fn of(&self, room: &str) -> Vec<String> {
        self.lock()
            .get(room)
            .map(|users| users.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Counts `user` in `room` until the guard is dropped; the guard
    /// announces the arrival (`user-joined`, see [`InRoom`]) and the
    /// departure (`user-left`) in the room's topic.
    ///
    /// Not [`Subscribe::announce`](sse_runtime::hub::Subscribe::announce):
    /// that announces in every topic of the subscription, and a chat
    /// stream also reads [`BROADCAST`], where a join would reach every
    /// room.
    fn enter(&self, hub: &Hub, room: &str, user: &str) -> Membership {
        *self
            .lock()
            .entry(room.to_owned())
            .or_default()
            .entry(user.to_owned())
            .or_default() += 1;
        Membership {
            members: self.clone(),
            hub: hub.clone(),
            room: room.to_owned(),
            user: user.to_owned(),
            joined: false,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, BTreeMap<String, usize>>> {
        // The map stays consistent even if a holder panicked: every change
        // is one insert or remove.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection's place in [`Members`].
#[derive(Debug)]
struct Membership {
    members: Members,
    hub: Hub,
    room: String,
    user: String,
    /// Whether `user-joined` was published (then `user-left` is, too).
    joined: bool,
}

impl Membership {
    fn join(&mut self) {
        self.joined = true;
        self.announce(event_name!("user-joined"));
    }

    fn announce(&self, kind: EventName) {
        let topic = format!("chat/{}", self.room);
        // Never blocks: this also runs in `drop`, in async code.
        let published = Event::named(kind)
            .json(&json!({ "user": self.user }))
            .and_then(|event| self.hub.publish_detached(&topic, event));
        if let Err(err) = published {
            tracing::warn!(%err, topic, "presence event not encoded");
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        if self.joined {
            self.announce(event_name!("user-left"));
        }
        let mut rooms = self.members.lock();
        let Some(users) = rooms.get_mut(&self.room) else {
            return;
        };
        if let Some(count) = users.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                users.remove(&self.user);
            }
        }
        if users.is_empty() {
            rooms.remove(&self.room);
        }
    }
}

/// A chat subscription that keeps its user a member while it is open.
///
/// `user-joined` is published when the subscription yields its first
/// event (where the client starts, or the first replayed one): it is
/// attached to its topics by then, on a backplane too (where it attaches
/// only once polled), so the user always sees their own arrival. The
/// subscription is dropped before the membership, so a leaving user's
/// stream is gone before `user-left` is published.
pub struct InRoom {
    subscription: Subscription,
    membership: Option<Membership>,
}

impl Stream for InRoom {
    type Item = EncodedEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EncodedEvent>> {
        let this = &mut *self;
        let item = std::task::ready!(Pin::new(&mut this.subscription).poll_next(cx));
        if item.is_some()
            && let Some(membership) = &mut this.membership
            && !membership.joined
        {
            membership.join();
        }
        Poll::Ready(item)
    }
}

/// The query of `GET /chat/{room}`.
#[derive(Debug, Deserialize)]
pub struct Listener {
    /// Who listens; anonymous listeners are not members and not announced.
    pub user: Option<String>,
}

/// A chat message: the body of `POST /chat/{room}` and the data of a
/// `message` event.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ChatMessage {
    /// The sender.
    pub from: String,
    /// The text.
    pub text: String,
}

/// The body of `POST /broadcast`.
#[derive(Debug, Deserialize)]
pub struct Announcement {
    /// The text; the `message` events it makes come from `"server"`.
    pub text: String,
}

/// The query of `GET /hub`.
#[derive(Debug, Deserialize)]
pub struct Topics {
    /// Comma-separated topic names.
    pub topics: String,
}

/// Rooms, progress, ticker and the multi-topic stream.
#[derive(Debug, Clone)]
pub struct RoomsController {
    /// The demo's hub.
    pub hub: Hub,
    /// Who is in which room.
    pub members: Members,
    /// Clock speed of the tasks' steps.
    pub pace: Pace,
}

/// Publishes `event` and answers `202 {"id": ..}`; a failed publish
/// answers what [`PublishError`] documents (`503` with `Retry-After` while
/// the hub's Redis is down or the hub is full, `410` for a closed topic).
async fn published(hub: &Hub, topic: &str, event: Event) -> actix_web::Result<HttpResponse> {
    let id = hub.publish(topic, event).await?;
    Ok(HttpResponse::Accepted().json(json!({ "id": id.to_string() })))
}

fn message(message: &ChatMessage) -> actix_web::Result<Event> {
    Event::named(event_name!("message"))
        .json(message)
        .map_err(error::ErrorBadRequest)
}

#[controller("")]
impl RoomsController {
    /// A room's events, resumable: `message`, and `user-joined` /
    /// `user-left` (`{"user": ..}`) when a named listener comes and goes.
    /// Also carries `POST /broadcast`'s messages.
    #[sse("chat/{room}")]
    fn room(
        &self,
        room: web::Path<String>,
        listener: web::Query<Listener>,
        last: LastEventId,
    ) -> actix_web::Result<InRoom> {
        checked(&room, "room")?;
        let user = listener.into_inner().user;
        if let Some(user) = &user {
            checked(user, "user")?;
        }
        let subscription = self
            .hub
            .subscribe([format!("chat/{room}"), BROADCAST.to_owned()])
            .after(last)
            .start()?;
        let membership = user.map(|user| self.members.enter(&self.hub, &room, &user));
        Ok(InRoom {
            subscription,
            membership,
        })
    }

    /// Publishes a `message` to the room; answers `202 {"id": ..}`.
    #[post("chat/{room}")]
    async fn say(
        &self,
        room: web::Path<String>,
        body: web::Json<ChatMessage>,
    ) -> actix_web::Result<HttpResponse> {
        checked(&room, "room")?;
        let event = message(&body)?;
        published(&self.hub, &format!("chat/{room}"), event).await
    }

    /// The users listening to the room now, as a sorted JSON list.
    #[get("chat/{room}/members")]
    async fn members(&self, room: web::Path<String>) -> actix_web::Result<HttpResponse> {
        checked(&room, "room")?;
        Ok(HttpResponse::Ok().json(self.members.of(&room)))
    }

    /// A `message` from `"server"` in every room.
    #[post("broadcast")]
    async fn broadcast(&self, body: web::Json<Announcement>) -> actix_web::Result<HttpResponse> {
        let event = message(&ChatMessage {
            from: "server".to_owned(),
            text: body.into_inner().text,
        })?;
        published(&self.hub, BROADCAST, event).await
    }

    /// The task's progress from its first step, then live; the stream ends
    /// when the task completes, and a reconnect after that is `204`.
    #[sse("progress/{task}")]
    fn progress(
        &self,
        task: web::Path<String>,
        last: LastEventId,
    ) -> actix_web::Result<Subscription> {
        checked(&task, "task")?;
        Ok(self
            .hub
            .subscribe([format!("progress/{task}")])
            .after(last)
            .from_oldest()
            .start()?)
    }

    /// Starts the task: a `progress` event (`{"percentage": ..}`) per
    /// step, then `complete`, then its topic is closed. `409` if the task
    /// has been started before.
    #[post("progress/{task}")]
    async fn start_task(&self, task: web::Path<String>) -> actix_web::Result<HttpResponse> {
        checked(&task, "task")?;
        let topic = format!("progress/{task}");
        let first = Event::named(event_name!("progress"))
            .json(&json!({ "percentage": 0 }))
            .map_err(error::ErrorInternalServerError)?;
        // A task that ran (closed topic) or runs (0 % is in its history)
        // is not started twice.
        let running = self
            .hub
            .stats(&topic)
            .is_some_and(|s| s.events > 0 || s.closed);
        if running {
            return Ok(HttpResponse::Conflict().body("task already started"));
        }
        match self.hub.publish(&topic, first).await {
            Ok(_) => {}
            // Closed by a start that raced with this one, and finished.
            Err(PublishError::Closed { .. }) => {
                return Ok(HttpResponse::Conflict().body("task already started"));
            }
            Err(err) => return Err(err.into()),
        }
        tokio::spawn(run_task(self.hub.clone(), topic, self.pace));
        Ok(HttpResponse::Accepted().json(json!({ "task": task.into_inner() })))
    }

    /// A `tick` event every second, resumable from the last minute.
    #[sse("ticker")]
    fn ticker(&self, last: LastEventId) -> actix_web::Result<Subscription> {
        Ok(self.hub.subscribe([TICKER]).after(last).start()?)
    }

    /// Several public topics in one stream (a page then stays within the
    /// browser's six connections per origin), resumable: `?topics=a,b,c`.
    /// An unknown, private or malformed topic is `400`.
    #[sse("hub")]
    fn topics(
        &self,
        query: web::Query<Topics>,
        last: LastEventId,
    ) -> actix_web::Result<Subscription> {
        let topics: Vec<&str> = query.topics.split(',').collect();
        if topics.len() > MAX_TOPICS {
            return Err(error::ErrorBadRequest(format!(
                "at most {MAX_TOPICS} topics"
            )));
        }
        if let Some(bad) = topics.iter().find(|t| !is_public(t)) {
            // Debug form: the name comes from the URL.
            return Err(error::ErrorBadRequest(format!(
                "not a public topic: {bad:?}"
            )));
        }
        Ok(self.hub.subscribe(topics).after(last).start()?)
    }
}

/// The rest of a task: steps 10 % … 100 %, `complete`, close.
async fn run_task(hub: Hub, topic: String, pace: Pace) {
    for step in 1..=STEPS {
        pace.sleep(Duration::from_millis(300)).await;
        let percentage = step * 100 / STEPS;
        let event =
            Event::named(event_name!("progress")).json(&json!({ "percentage": percentage }));
        let sent = match event {
            Ok(event) => hub.publish(&topic, event).await.map(drop),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = sent {
            tracing::warn!(%err, topic, "progress step not published");
            break;
        }
    }
    let done = Event::named(event_name!("complete")).json(&json!({ "message": "Done!" }));
    if let Ok(done) = done
        && let Ok(id) = hub.publish(&topic, done).await
    {
        delivered_here(&hub, id).await;
    }
    hub.close(&topic);
}

/// How long [`delivered_here`] waits at most.
const DELIVERY_LIMIT: Duration = Duration::from_secs(5);

/// Waits until this instance has delivered `id` to its subscribers. At
/// once for the in-memory hub; with a backplane, a publish comes back
/// through it a little after `publish` returned, and a topic closed before
/// would lose its last events here. Gives up after [`DELIVERY_LIMIT`], or
/// if the backplane started over (another epoch).
async fn delivered_here(hub: &Hub, id: EventId) {
    let deadline = tokio::time::Instant::now() + DELIVERY_LIMIT;
    loop {
        let here = hub.last_id();
        if here.epoch() != id.epoch()
            || here.seq() >= id.seq()
            || tokio::time::Instant::now() >= deadline
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Publishes `tick` with `{"n": 1}`, `{"n": 2}`, … every (paced) second,
/// forever.
pub(crate) async fn tick(hub: Hub, pace: Pace) {
    let mut ticks = pace.periodic(Duration::from_secs(1));
    for n in 1u64.. {
        ticks.tick().await;
        match Event::named(event_name!("tick")).json(&json!({ "n": n })) {
            Ok(event) => {
                if let Err(err) = hub.publish(TICKER, event).await {
                    tracing::warn!(%err, "tick not published");
                }
            }
            Err(err) => tracing::warn!(%err, "tick not encoded"),
        }
    }
}
