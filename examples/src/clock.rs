//! ISO-8601 timestamps, as Dart's `DateTime.toIso8601String()` writes them
//! for UTC times, without a date-time dependency.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serializer;

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds). Times before
/// 1970 are clamped to the epoch.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use sse_examples::clock::iso8601;
///
/// assert_eq!(iso8601(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
/// let new_year = UNIX_EPOCH + Duration::from_millis(1_704_067_200_123);
/// assert_eq!(iso8601(new_year), "2024-01-01T00:00:00.123Z");
/// ```
pub fn iso8601(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since_epoch.as_secs();
    let (days, in_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        since_epoch.subsec_millis()
    )
}

/// The current time, formatted by [`iso8601`].
pub fn now() -> String {
    iso8601(SystemTime::now())
}

/// `#[serde(serialize_with = "clock::serialize")]` for a `SystemTime`
/// field: the twin of a Dart `toJson` calling `toIso8601String()`.
pub fn serialize<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&iso8601(*time))
}

/// Proleptic Gregorian (year, month, day) of the `days`-th day after
/// 1970-01-01, counting in 400-year eras of 146 097 days that start on
/// March 1st (so the leap day is the last day of an era's year).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Days since 0000-03-01.
    let days = days + 719_468;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months counted from March: 0 = March, ..., 11 = February.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> String {
        iso8601(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn known_dates() {
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(86_399), "1970-01-01T23:59:59.000Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00.000Z");
        assert_eq!(at(951_868_800), "2000-03-01T00:00:00.000Z");
        assert_eq!(at(1_709_164_800), "2024-02-29T00:00:00.000Z");
        assert_eq!(at(1_735_689_599), "2024-12-31T23:59:59.000Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        // 1970..2400: the day after each day is either the next day of the
        // month or the first of the next month.
        let mut previous = civil_from_days(0);
        for days in 1..157_000 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let next_in_month = (y, m, d) == (py, pm, pd + 1);
            let next_month = d == 1 && ((y, m) == (py, pm + 1) || (y, m, pm) == (py + 1, 1, 12));
            assert!(
                next_in_month || next_month,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            previous = (y, m, d);
        }
    }
}
