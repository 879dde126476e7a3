//! [`Pace`]: how long "one second" lasts in the examples.

use std::time::Duration;

/// The examples' clock speed.
///
/// Every sleep and interval in the examples is written with the seeds'
/// real durations (`Duration::from_secs(1)`, `from_millis(500)`, ...) and
/// goes through [`Pace::of`], which scales it. The demo runs at
/// [`Pace::REAL`]; tests run the very same code a hundred times faster.
///
/// ```
/// use std::time::Duration;
/// use sse_examples::Pace;
///
/// let fast = Pace::new(Duration::from_millis(10)); // one second lasts 10 ms
/// assert_eq!(fast.of(Duration::from_secs(5)), Duration::from_millis(50));
/// assert_eq!(fast.of(Duration::from_millis(500)), Duration::from_millis(5));
/// assert_eq!(Pace::REAL.of(Duration::from_secs(5)), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    second: Duration,
}

impl Pace {
    /// Real time: one second lasts one second.
    pub const REAL: Pace = Pace {
        second: Duration::from_secs(1),
    };

    /// A pace at which one second lasts `second`.
    pub const fn new(second: Duration) -> Self {
        Pace { second }
    }

    /// How long one second lasts.
    pub fn second(&self) -> Duration {
        self.second
    }

    /// `duration` at this pace.
    pub fn of(&self, duration: Duration) -> Duration {
        self.second.mul_f64(duration.as_secs_f64())
    }

    /// Sleeps for `duration` at this pace: the examples' twin of Dart's
    /// `await Future.delayed(duration)`.
    pub async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(self.of(duration)).await;
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::REAL
    }
}
