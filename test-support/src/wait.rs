//! Bounded waiting: a test that waits for something fails with a message
//! saying where it waited, instead of hanging until the harness kills it.

use std::future::Future;
use std::panic::Location;
use std::time::Duration;

use tokio::time::{sleep, timeout, Instant};

/// The bound on one network step (connect, a response head, a whole finite
/// body) when nothing slower is expected.
///
/// Generous on purpose: it only decides how long a broken test takes to
/// fail, never whether a working one passes.
pub const STEP: Duration = Duration::from_secs(5);

/// Awaits `future` for at most `limit`; on timeout, panics with the limit and
/// the place of the call.
///
/// Needs a tokio runtime with timers (any actix `System` has one).
///
/// ```
/// use std::time::Duration;
/// use sse_test_support::within;
///
/// # actix_web::rt::System::new().block_on(async {
/// let answer = within(Duration::from_secs(1), async { 42 }).await;
/// assert_eq!(answer, 42);
/// # });
/// ```
///
/// ```should_panic
/// # use std::time::Duration;
/// # use sse_test_support::within;
/// # actix_web::rt::System::new().block_on(async {
/// // panics: "timed out after 10ms (the wait at src/…:…)"
/// within(Duration::from_millis(10), std::future::pending::<()>()).await;
/// # });
/// ```
#[track_caller]
pub fn within<F: Future>(limit: Duration, future: F) -> impl Future<Output = F::Output> {
    // Captured here: inside the returned future the caller is unknown.
    let caller = Location::caller();
    async move {
        match timeout(limit, future).await {
            Ok(output) => output,
            Err(_) => panic!("timed out after {limit:?} (the wait at {caller})"),
        }
    }
}

/// Checks `condition` every 2 ms until it holds or `limit` has passed;
/// returns whether it held. Pair it with an assertion that says what was
/// expected:
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use sse_test_support::wait_until;
///
/// # actix_web::rt::System::new().block_on(async {
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = done.clone();
/// actix_web::rt::spawn(async move { flag.store(true, Ordering::SeqCst) });
/// assert!(
///     wait_until(Duration::from_secs(1), || done.load(Ordering::SeqCst)).await,
///     "the task did not run within 1 s"
/// );
/// # });
/// ```
pub async fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(Duration::from_millis(2)).await;
    }
}

/// Asks `ask` every 10 ms until its answer equals `expected`; panics with
/// `what`, the last answer and the place of the call if `limit` passes
/// first. For state a test can only read by asking again (an HTTP
/// endpoint, another process).
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
/// use sse_test_support::wait_for_answer;
///
/// # actix_web::rt::System::new().block_on(async {
/// let asked = Cell::new(0);
/// wait_for_answer(Duration::from_secs(1), "the third answer", &3, || {
///     asked.set(asked.get() + 1);
///     let answer = asked.get();
///     async move { answer }
/// })
/// .await;
/// # });
/// ```
#[track_caller]
pub fn wait_for_answer<'a, T, F, Fut>(
    limit: Duration,
    what: &'a str,
    expected: &'a T,
    mut ask: F,
) -> impl Future<Output = ()> + 'a
where
    T: PartialEq + std::fmt::Debug,
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = T>,
{
    let caller = Location::caller();
    async move {
        let deadline = Instant::now() + limit;
        loop {
            let answer = ask().await;
            if answer == *expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {answer:?} after {limit:?}, expected {expected:?} (the wait at {caller})"
            );
            sleep(Duration::from_millis(10)).await;
        }
    }
}
