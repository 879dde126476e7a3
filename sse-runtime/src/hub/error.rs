//! What can go wrong when subscribing ([`HubError`]) or publishing
//! ([`PublishError`]).

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::event::EventError;

/// Why a subscription could not start.
///
/// As the error of an `#[sse]` route (`Result<Subscription, HubError>`) it
/// answers [`HubError::Closed`] with `204 No Content`, the status that
/// tells `EventSource` to stop reconnecting; the others are server bugs
/// (`500`).
#[derive(Debug)]
#[non_exhaustive]
pub enum HubError {
    /// Every topic asked for is closed and nothing in it is left for this
    /// client.
    Closed {
        /// One of the closed topics.
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
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // A 204 has no body (and `EventSource` would not read one).
            HubError::Closed { .. } => HttpResponse::NoContent().finish(),
            _ => HttpResponse::InternalServerError().body(self.to_string()),
        }
    }
}

/// Why a publish failed. Nothing was published.
#[derive(Debug)]
#[non_exhaustive]
pub enum PublishError {
    /// The topic is closed.
    Closed {
        /// The topic.
        topic: String,
    },
    /// The item could not be encoded as an event.
    Event(EventError),
    /// The backplane did not take the event (Redis unreachable, restarting,
    /// or too slow to answer): it was not published, retry later.
    #[cfg(feature = "redis")]
    Backplane(crate::backplane::BackplaneError),
}

impl fmt::Display for PublishError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::Closed { topic } => {
                write!(f, "can't publish to hub topic `{topic}`: it is closed")
            }
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
            PublishError::Closed { .. } => None,
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
            PublishError::Event(_) => StatusCode::INTERNAL_SERVER_ERROR,
            #[cfg(feature = "redis")]
            PublishError::Backplane(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

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
        assert_eq!(
            HubError::NoTopics.status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let err = PublishError::Closed { topic: "t".into() };
        assert_eq!(err.status_code(), StatusCode::GONE);
    }
}
