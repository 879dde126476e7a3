//! Rust twin of the *Chat Notifications* sample of the `aim_server_sse`
//! package's guide, mounted at `/aim`.
//!
//! | Route | Sample in the guide |
//! |---|---|
//! | `GET /aim/notifications/{user}` | Complete Examples › Chat Notifications |
//! | `POST /aim/notifications/{user}` | (added) publishes a notification to `{user}` |
//!
//! The guide takes the user id from an auth middleware
//! (`c.variables.userId`); here it is the last path segment. Try it:
//!
//! ```text
//! curl -N http://127.0.0.1:8080/aim/notifications/alice
//! curl -X POST -H 'content-type: application/json' \
//!      -d '{"from":"bob","message":"Hi Alice!"}' http://127.0.0.1:8080/aim/notifications/alice
//! ```

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use sse_runtime::{controller, sse, CleanUp, HubError, LastEventId};

use crate::services::{NotificationService, UserStream};

/// Per-user notifications and the route that sends them.
#[derive(Debug, Clone)]
pub struct ChatController {
    /// `notificationService`.
    pub notification_service: NotificationService,
}

/// The body of `POST /aim/notifications/{user}`.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNotification {
    /// The sender's name.
    pub from: String,
    /// The text.
    pub message: String,
}

#[controller("aim")]
impl ChatController {
    /// `aim_server_sse`, *Chat Notifications*: every notification for `{user}` as
    /// a `notification` event with the notification's JSON
    /// (`{"id":1,"from":"bob","message":"Hi Alice!","timestamp":"…"}`),
    /// until the client disconnects.
    ///
    /// The guide's `sink.onClose = () { subscription.cancel(); }` is the
    /// drop of the returned stream, which unsubscribes (and removes the
    /// user from the count once their last connection is gone). Resumable:
    /// notifications sent while the client reconnects are replayed. A hub
    /// at its bounds answers `503` (see [`HubError`]).
    #[sse("notifications/{user}")]
    fn notifications(
        &self,
        user: web::Path<String>,
        clean_up: CleanUp,
        last: LastEventId,
    ) -> Result<UserStream, HubError> {
        // Subscribe to user-specific notifications
        let subscription = self.notification_service.stream_for_user(&user, last)?;
        let user = user.into_inner();
        // `?` logs the Debug form, which escapes control characters: the id
        // comes from the URL, and a raw `%0A` in it must not forge a log line.
        clean_up.add(move || tracing::info!(?user, "notification client disconnected"));

        Ok(subscription)
    }

    /// Added to make the chat sample usable: sends a notification to every
    /// connection of `{user}`. Answers `202 Accepted` with
    /// `{"delivered": n}`, the number of connections reached; a failed
    /// publish answers what `PublishError` documents (`503` with
    /// `Retry-After` while the hub's Redis is down).
    #[post("notifications/{user}")]
    async fn notify(
        &self,
        user: web::Path<String>,
        body: web::Json<NewNotification>,
    ) -> actix_web::Result<HttpResponse> {
        let delivered = self
            .notification_service
            .notify(&user, &body.from, &body.message)
            .await?;
        Ok(HttpResponse::Accepted().json(json!({ "delivered": delivered })))
    }
}
