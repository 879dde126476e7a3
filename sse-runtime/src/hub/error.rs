//! What can go wrong when subscribing ([`HubError`]) or publishing
//! ([`PublishError`]), and what each is answered when a route returns it.
//!
//! Both are actix-web `ResponseError`s, so `?` in a handler that returns
//! `actix_web::Result` answers with the status the hub documents:
//!
//! | error | status |
//! |---|---|
//! | `HubError::Closed` | `204 No Content` (`EventSource` stops reconnecting) |
//! | `HubError::Full`, `PublishError::Full` | `503 Service Unavailable`, `Retry-After` |
//! | `PublishError::Backplane` | `503 Service Unavailable`, `Retry-After` |
//! | `PublishError::Closed` | `410 Gone` |
//! | `HubError::NoTopics`, `HubError::Event`, `PublishError::Event` | `500 Internal Server Error` |
//!
//! The body is a fixed, generic line. The error's own text names topics,
//! Redis addresses and OS errors: that is for the server's log, where it
//! goes through `tracing` when the answer is made, never for the client.

use std::fmt;

use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::event::EventError;

/// The `Retry-After` of a `503`, in seconds: long enough for subscribers
/// to leave or history to age out (a full hub), or for the backplane's
/// connection to come back (its reconnect backoff tops out at 2 s).
const RETRY_AFTER_SECS: u32 = 5;

/// The body of a `503`.
const UNAVAILABLE: &str = "service unavailable, retry later\n";

/// The body of a `410`.
const GONE: &str = "gone\n";

/// The body of a `500`.
const INTERNAL: &str = "internal server error\n";

/// A generic plain-text answer.
fn answer(status: StatusCode, body: &'static str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header(ContentType::plaintext());
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
    }
    response.body(body)
}

/// Why a subscription could not start.
///
/// As the error of an `#[sse]` route (`Result<Subscription, HubError>`, or
/// `?` in one returning `actix_web::Result`) it answers
/// [`HubError::Closed`] with `204 No Content`, the status that tells
/// `EventSource` to stop reconnecting; [`HubError::Full`] with `503
/// Service Unavailable` and a `Retry-After`; the others are server bugs
/// (`500`). Bodies are generic; the details are logged.
#[derive(Debug)]
#[non_exhaustive]
pub enum HubError {
    /// Every topic asked for is closed and nothing in it is left for this
    /// client.
    Closed {
        /// One of the closed topics.
        topic: String,
    },
    /// A topic asked for is new, and the hub holds as many topics as it
    /// may, none of them idle (see the hub module docs, "Bounds").
    Full {
        /// The topic that could not be made.
        topic: String,
    },
    /// The subscription named no topic.
    NoTopics,
    /// The value given to [`Subscribe::announce`](super::Subscribe::announce)
    /// could not be encoded.
    Event(EventError),
}

impl fmt::Display for HubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HubError::Closed { topic } => write!(f, "hub topic `{topic}` is closed"),
            HubError::Full { topic } => write!(
                f,
                "hub full: no room for the new topic `{topic}` (see HubBuilder::max_topics)"
            ),
            HubError::NoTopics => f.write_str("a hub subscription needs at least one topic"),
            HubError::Event(err) => write!(f, "presence event could not be encoded: {err}"),
        }
    }
}

impl std::error::Error for HubError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HubError::Event(err) => Some(err),
            _ => None,
        }
    }
}

impl ResponseError for HubError {
    fn status_code(&self) -> StatusCode {
        match self {
            HubError::Closed { .. } => StatusCode::NO_CONTENT,
            HubError::Full { .. } => StatusCode::SERVICE_UNAVAILABLE,
            HubError::NoTopics | HubError::Event(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // A 204 has no body (and `EventSource` would not read one).
            HubError::Closed { .. } => HttpResponse::NoContent().finish(),
            HubError::Full { .. } => {
                // The hub logs the refusals themselves, at most one line
                // every ten seconds: this one is per request.
                tracing::debug!(error = %self, "hub subscription refused");
                answer(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            HubError::NoTopics | HubError::Event(_) => {
                tracing::error!(error = %self, "hub subscription failed");
                answer(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
            }
        }
    }
}

/// Why a publish failed. Nothing was published.
///
/// As the error of a handler (`?` in one returning `actix_web::Result`)
/// it answers [`PublishError::Closed`] with `410 Gone`,
/// [`PublishError::Full`] and `PublishError::Backplane` with `503 Service
/// Unavailable` and a `Retry-After` (the publish may succeed later), and
/// [`PublishError::Event`] with `500`. Bodies are generic; the details
/// are logged.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic is closed.
    Closed {
        /// The topic.
        topic: String,
    },
    /// The topic is new and keeps history, and the hub holds as many
    /// topics as it may, none of them idle (see the hub module docs,
    /// "Bounds").
    Full {
        /// The topic.
        topic: String,
    },
    /// The item could not be encoded as an event.
    Event(EventError),
    /// The backplane did not take the event (Redis unreachable, restarting,
    /// or too slow to answer): it was not published, retry later.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    Backplane(crate::backplane::BackplaneError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Closed { topic } => {
                write!(f, "can't publish to hub topic `{topic}`: it is closed")
            }
            PublishError::Full { topic } => write!(
                f,
                "can't publish to hub topic `{topic}`: hub full, no room for a new topic \
                 (see HubBuilder::max_topics)"
            ),
            PublishError::Event(err) => write!(f, "can't publish: {err}"),
            #[cfg(feature = "redis")]
            PublishError::Backplane(err) => write!(f, "can't publish: {err}"),
        }
    }
}

impl std::error::Error for PublishError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PublishError::Event(err) => Some(err),
            PublishError::Closed { .. } | PublishError::Full { .. } => None,
            #[cfg(feature = "redis")]
            PublishError::Backplane(err) => Some(err),
        }
    }
}

impl From<EventError> for PublishError {
    fn from(err: EventError) -> Self {
        PublishError::Event(err)
    }
}

impl ResponseError for PublishError {
    fn status_code(&self) -> StatusCode {
        match self {
            PublishError::Closed { .. } => StatusCode::GONE,
            PublishError::Full { .. } => StatusCode::SERVICE_UNAVAILABLE,
            PublishError::Event(_) => StatusCode::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "redis")]
            PublishError::Backplane(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PublishError::Closed { .. } => {
                tracing::debug!(error = %self, "hub publish refused");
                answer(StatusCode::GONE, GONE)
            }
            PublishError::Full { .. } => {
                tracing::debug!(error = %self, "hub publish refused");
                answer(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            PublishError::Event(_) => {
                tracing::error!(error = %self, "hub publish failed");
                answer(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
            }
            #[cfg(feature = "redis")]
            PublishError::Backplane(_) => {
                tracing::warn!(error = %self, "hub publish failed");
                answer(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    /// Status, `Retry-After` and body of `err`'s answer.
    fn answered(err: &dyn ResponseError) -> (StatusCode, Option<String>, String) {
        let response = err.error_response();
        assert_eq!(response.status(), err.status_code());
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().try_into_bytes().unwrap();
        (
            err.status_code(),
            retry,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[test]
    fn closed_is_an_empty_204() {
        let err = HubError::Closed { topic: "t".into() };
        let response = err.error_response();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            response.into_body().size(),
            actix_web::body::BodySize::Sized(0)
        );
        assert_eq!(err.to_string(), "hub topic `t` is closed");
    }

    #[test]
    fn answers_carry_the_status_and_no_internal_text() {
        let secret = "secret-topic";
        let event_error = || crate::Event::default().event("a\nb").unwrap_err();
        let cases: Vec<(Box<dyn ResponseError>, u16, bool)> = vec![
            (
                Box::new(HubError::Full {
                    topic: secret.into(),
                }),
                503,
                true,
            ),
            (Box::new(HubError::NoTopics), 500, false),
            (Box::new(HubError::Event(event_error())), 500, false),
            (
                Box::new(PublishError::Closed {
                    topic: secret.into(),
                }),
                410,
                false,
            ),
            (
                Box::new(PublishError::Full {
                    topic: secret.into(),
                }),
                503,
                true,
            ),
            (Box::new(PublishError::Event(event_error())), 500, false),
        ];
        for (err, status, retry) in cases {
            let (got, retry_after, body) = answered(&*err);
            assert_eq!(got.as_u16(), status, "{err}");
            assert_eq!(retry_after.is_some(), retry, "{err}");
            if retry {
                assert_eq!(retry_after.as_deref(), Some("5"));
            }
            assert!(!body.contains(secret), "{body:?}");
            assert!(!body.contains("hub"), "{body:?}");
            assert!(!err.to_string().is_empty());
        }
    }

    #[cfg(feature = "redis")]
    #[test]
    fn a_backplane_outage_is_a_503_without_its_cause() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = PublishError::Backplane(crate::backplane::BackplaneError(io.into()));
        assert!(err.to_string().contains("redis backplane"), "{err}");
        let (status, retry, body) = answered(&err);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry.as_deref(), Some("5"));
        assert_eq!(body, UNAVAILABLE);
    }
}
