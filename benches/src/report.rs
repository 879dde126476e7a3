//! Medians and plain-text tables (Markdown-compatible, so a run can be
//! pasted into `BENCHMARKS.md` as is).

/// The median of `values` (the mean of the middle two for an even count).
///
/// # Panics
/// If `values` is empty or holds a NaN.
pub fn median(values: &[f64]) -> f64 {
    assert!(!values.is_empty(), "median of no values");
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).expect("NaN in measurements"));
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// The value at rank `p` (0 to 1) of `sorted`, an ascending list: the
/// nearest rank to `p × (len − 1)`; `None` if it is empty.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * p).round() as usize).copied()
}

/// The smallest of `values` (`NaN` if empty).
pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::min)
}

/// The largest of `values` (`NaN` if empty).
pub fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NAN, f64::max)
}

/// `1234567.8` → `"1,234,568"`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A table printed with aligned columns, as a Markdown pipe table.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    left: usize,
}

impl Table {
    /// A table with these column titles.
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            left: 1,
        }
    }

    /// Left-aligns the first `count` columns (default 1) instead of only
    /// the first.
    #[must_use]
    pub fn left_aligned(mut self, count: usize) -> Self {
        self.left = count;
        self
    }

    /// Adds a row (missing cells are left empty).
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// The table as text, one line per row; text columns are left aligned,
    /// the others (figures) right aligned.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                if i < self.left {
                    out.push_str(&format!(" {cell:<width$} |"));
                } else {
                    out.push_str(&format!(" {cell:>width$} |"));
                }
            }
            out.push('\n');
            out
        };
        let mut out = line(&self.header);
        out.push('|');
        for (i, width) in widths.iter().enumerate() {
            let dashes = "-".repeat(*width);
            if i < self.left {
                out.push_str(&format!(" {dashes} |"));
            } else {
                out.push_str(&format!(" {}: |", &dashes[1..]));
            }
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let sorted: Vec<u32> = (1..=101).collect();
        assert_eq!(percentile(&sorted, 0.5), Some(51));
        assert_eq!(percentile(&sorted, 0.99), Some(100));
        assert_eq!(percentile(&sorted, 1.0), Some(101));
        assert_eq!(percentile::<u32>(&[], 0.5), None);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }

    #[test]
    fn renders_aligned() {
        let mut table = Table::new(["name", "n"]);
        table.row(["a", "10"]);
        assert_eq!(
            table.render(),
            "| name |  n |\n| ---- | -: |\n| a    | 10 |\n"
        );
    }
}
