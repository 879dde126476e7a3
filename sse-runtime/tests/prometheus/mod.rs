//! Reading back what a Prometheus recorder renders, for the metrics tests.

use std::collections::HashMap;

/// The `name{labels} value` lines of a text exposition, by `name{labels}`;
/// comments, blank lines and unparsable values are left out.
pub fn samples(exposition: &str) -> HashMap<String, f64> {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}
