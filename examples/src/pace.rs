//! [`Pace`]: how long "one second" lasts in the examples.

use std::time::Duration;

/// The examples' clock speed.
///
/// Every sleep and interval in the examples is written with the guides'
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

    /// A timer that ticks every `period` at this pace, first after one
    /// period: the examples' twin of Dart's `Timer.periodic(period, ..)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// use sse_examples::Pace;
    ///
    /// let fast = Pace::new(Duration::from_millis(1));
    /// let mut timer = fast.periodic(Duration::from_secs(2));
    /// timer.tick().await; // after 2 ms
    /// # }
    /// ```
    pub fn periodic(&self, period: Duration) -> tokio::time::Interval {
        // tokio refuses a zero period, which a zero pace would make.
        let period = self.of(period).max(Duration::from_millis(1));
        tokio::time::interval_at(tokio::time::Instant::now() + period, period)
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::REAL
    }
}
