//! Human durations in route options: `"15s"`, `"500ms"`, `"1m30s"`, `"2h"`.

use std::time::Duration;

/// Parses a sequence of `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("expected a duration such as \"15s\", \"500ms\", \"1m30s\"".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "invalid duration \"{text}\": expected a number at \"{rest}\" (e.g. \"15s\", \"500ms\", \"1m30s\")"
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration \"{text}\": number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let millis_per = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => {
                return Err(format!(
                    "invalid duration \"{text}\": `{number}` needs a unit, one of ms, s, m, h, d"
                ))
            }
            unit => {
                return Err(format!(
                    "invalid duration \"{text}\": unknown unit `{unit}`, expected one of ms, s, m, h, d"
                ))
            }
        };
        rest = &rest[unit_len..];
        let part = number
            .checked_mul(millis_per)
            .ok_or_else(|| format!("invalid duration \"{text}\": too large"))?;
        total = total
            .checked_add(Duration::from_millis(part))
            .ok_or_else(|| format!("invalid duration \"{text}\": too large"))?;
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
        assert!(parse("soon").is_err());
        assert!(parse("15").is_err());
        assert!(parse("15x").is_err());
        assert!(parse("").is_err());
    }
}
