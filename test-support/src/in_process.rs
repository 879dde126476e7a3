//! `actix_web::test` calls without a socket, bounded by [`STEP`] so that a
//! handler that never answers fails the test instead of hanging it.

use std::future::Future;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::web::Bytes;

use crate::wait::{within, STEP};

/// `actix_web::test::call_service`, waiting at most [`STEP`].
///
/// # Panics
/// After [`STEP`] (naming the caller's line), or if the service fails (as
/// `call_service` does).
///
/// ```
/// use actix_web::{test, web, App};
/// use sse_test_support::{call_service, read_body};
///
/// # actix_web::rt::System::new().block_on(async {
/// let app = test::init_service(App::new().route("/", web::get().to(|| async { "hi" }))).await;
/// let response = call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
/// assert_eq!(read_body(response).await, "hi");
/// # });
/// ```
// Not an `async fn`: `#[track_caller]` must see the caller, which only a
// plain function returning the future can.
#[track_caller]
pub fn call_service<'a, S, R, B, E>(
    app: &'a S,
    request: R,
) -> impl Future<Output = S::Response> + 'a
where
    S: Service<R, Response = ServiceResponse<B>, Error = E>,
    E: std::fmt::Debug + 'a,
    R: 'a,
    B: 'a,
{
    within(STEP, actix_web::test::call_service(app, request))
}

/// `actix_web::test::read_body`, waiting at most [`STEP`]: the whole body
/// of a finite response.
///
/// # Panics
/// After [`STEP`] (naming the caller's line), or if the body fails (as
/// `read_body` does).
#[track_caller]
pub fn read_body<B: MessageBody>(response: ServiceResponse<B>) -> impl Future<Output = Bytes> {
    within(STEP, actix_web::test::read_body(response))
}
