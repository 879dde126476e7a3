//! Human durations in route options: `"15s"`, `"500ms"`, `"1m30s"`, `"2h"`.

use std::fmt;
use std::time::Duration;

/// The units, with their length in milliseconds.
const UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Why a text is not a duration. Its message is a reason only, so that the
/// caller can say which option and text it is about.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Error {
    Empty,
    /// No number where one should start; holds the rest of the text.
    NoNumber(String),
    /// A number without a unit.
    NoUnit(u64),
    UnknownUnit(String),
    TooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const EXAMPLES: &str = "such as \"15s\", \"500ms\" or \"1m30s\"";
        match self {
            Error::Empty => write!(f, "write a number and a unit, {EXAMPLES}"),
            Error::NoNumber(rest) => write!(f, "expected a number at \"{rest}\", {EXAMPLES}"),
            Error::NoUnit(number) => write!(f, "`{number}` needs a unit, one of {}", units()),
            Error::UnknownUnit(unit) => {
                write!(f, "unknown unit `{unit}`, expected one of {}", units())
            }
            Error::TooLarge => f.write_str("too large"),
        }
    }
}

fn units() -> String {
    UNITS
        .iter()
        .map(|(unit, _)| *unit)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses a sequence of `<number><unit>` parts.
pub(crate) fn parse(text: &str) -> Result<Duration, Error> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(Error::Empty);
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(Error::NoNumber(rest.to_owned()));
        }
        let number: u64 = rest[..digits].parse().map_err(|_| Error::TooLarge)?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per = match UNITS.iter().find(|(name, _)| *name == unit) {
            Some((_, millis)) => *millis,
            None if unit.is_empty() => return Err(Error::NoUnit(number)),
            None => return Err(Error::UnknownUnit(unit.to_owned())),
        };
        let part = number.checked_mul(millis_per).ok_or(Error::TooLarge)?;
        total = total
            .checked_add(Duration::from_millis(part))
            .ok_or(Error::TooLarge)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!(parse("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse(" 0s "), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses() {
        assert_eq!(parse(""), Err(Error::Empty));
        assert_eq!(parse("soon"), Err(Error::NoNumber("soon".into())));
        assert_eq!(parse("1s and"), Err(Error::NoNumber(" and".into())));
        assert_eq!(parse("15"), Err(Error::NoUnit(15)));
        assert_eq!(parse("15x"), Err(Error::UnknownUnit("x".into())));
        assert_eq!(parse("99999999999999999999s"), Err(Error::TooLarge));
        assert_eq!(parse("9999999999999999d"), Err(Error::TooLarge));
    }

    #[test]
    fn reasons_name_the_fix_without_a_colon() {
        for error in [
            Error::Empty,
            Error::NoNumber("soon".into()),
            Error::NoUnit(15),
            Error::UnknownUnit("x".into()),
            Error::TooLarge,
        ] {
            let message = error.to_string();
            assert!(!message.contains(':'), "{message}");
        }
        assert_eq!(
            Error::NoUnit(15).to_string(),
            "`15` needs a unit, one of ms, s, m, h, d"
        );
    }
}
