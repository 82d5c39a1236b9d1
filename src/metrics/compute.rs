//! Pure arithmetic on scrapes of the same target: counter increases the
//! way PromQL's `rate` sees them, and `histogram_quantile`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::exposition::{FamilyType, MetricSnapshot, Sample};
use super::matcher::Matchers;

/// Values by series identity (already a hash): a scrape's counters, or
/// what each series grew over a window.
pub type SeriesValues = HashMap<u64, f64, BuildHasherDefault<SeriesHasher>>;

/// Series ids are hashes already: hashing them again would be wasted work.
#[derive(Default)]
pub struct SeriesHasher(u64);

impl Hasher for SeriesHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | *b as u64;
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// How much a counter grew since the last scrape. A drop is a reset: the
/// counter restarted from zero, so all of its current value is new. A
/// series not seen before adds nothing yet, as a series with a single
/// sample in its window adds nothing to `rate`.
pub fn increase(previous: &SeriesValues, sample: &Sample) -> f64 {
    match previous.get(&sample.series) {
        None => 0.0,
        Some(&before) if sample.value < before => sample.value,
        Some(&before) => sample.value - before,
    }
}

/// Counter increases of one family, summed: all requests and the errors.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Requests {
    pub total: f64,
    pub errors: f64,
}

impl std::ops::AddAssign for Requests {
    fn add_assign(&mut self, other: Requests) {
        self.total += other.total;
        self.errors += other.errors;
    }
}

/// A counter family may be written `F` (text format) or `F_total`
/// (OpenMetrics); both are the same counter.
pub fn is_counter_sample(family: &str, name: &str) -> bool {
    name == family || name.strip_prefix(family) == Some("_total")
}

/// `grown` holds each series' increase over the window (see `window`).
pub fn requests(
    grown: &SeriesValues,
    current: &MetricSnapshot,
    family: &str,
    labels: &Matchers,
    errors: &Matchers,
) -> Requests {
    let mut sum = Requests::default();
    for s in current.samples.iter() {
        if !is_counter_sample(family, s.name) || !labels.matches(s) {
            continue;
        }
        let grew = grown.get(&s.series).copied().unwrap_or(0.0);
        sum.total += grew;
        if !errors.is_empty() && errors.matches(s) {
            sum.errors += grew;
        }
    }
    sum
}

/// Sum of the matching series' current values (a gauge read as is).
pub fn current_sum(current: &MetricSnapshot, family: &str, labels: &Matchers) -> f64 {
    current
        .samples
        .iter()
        .filter(|s| is_counter_sample(family, s.name) && labels.matches(s))
        .map(|s| s.value)
        .sum()
}

/// Whether the page declares the family a counter (an untyped family whose
/// samples end in `_total` is one too, by convention).
pub fn is_counter(current: &MetricSnapshot, family: &str) -> bool {
    let base = family.strip_suffix("_total").unwrap_or(family);
    match current.types.get(family).or(current.types.get(base)) {
        Some(t) => *t == FamilyType::Counter,
        None => family.ends_with("_total"),
    }
}

/// A non-finite value as PromQL writes it.
pub fn promql_number(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

/// A counter or histogram bucket on the page that is NaN or infinite, in
/// words: no increase can be read from it, and one kept in a window would
/// spoil every increase after it.
pub fn non_finite_counter(page: &MetricSnapshot) -> Option<String> {
    let counts = |name: &str| {
        name.ends_with("_total")
            || name.ends_with("_bucket")
            || page.types.get(name) == Some(&FamilyType::Counter)
    };
    page.samples
        .iter()
        .find(|s| !s.value.is_finite() && counts(s.name))
        .map(|s| format!("{s} is {}", promql_number(s.value)))
}

/// Bucket increases by upper bound (`le`), summed over the matching
/// series: `sum by (le) (increase(F_bucket[...]))`.
pub type Buckets = Vec<(f64, f64)>;

pub fn bucket_increases(
    grown: &SeriesValues,
    current: &MetricSnapshot,
    family: &str,
    labels: &Matchers,
    into: &mut Buckets,
) {
    let bucket_name = format!("{family}_bucket");
    for s in current.samples.iter() {
        if s.name != bucket_name || !labels.matches(s) {
            continue;
        }
        let Some(le) = s.label("le").and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let grew = grown.get(&s.series).copied().unwrap_or(0.0);
        match into.iter_mut().find(|(bound, _)| *bound == le) {
            Some((_, count)) => *count += grew,
            None => into.push((le, grew)),
        }
    }
}

/// Buckets in order of their bounds, each count raised to the running
/// maximum: a dip (a bucket series read a moment apart from the others)
/// cannot make fewer requests fast under a higher bound.
pub fn cumulative(mut buckets: Buckets) -> Buckets {
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut highest = 0.0_f64;
    for bucket in buckets.iter_mut() {
        highest = highest.max(bucket.1);
        bucket.1 = highest;
    }
    buckets
}

/// `histogram_quantile(q, buckets)` with PromQL's edge cases: NaN without
/// a `+Inf` bucket, with fewer than two buckets or no observations; a rank
/// in the `+Inf` bucket answers the highest finite bound; non-monotonic
/// counts are raised to the running maximum; linear interpolation inside
/// the bucket, from 0 for the first one.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let sorted = cumulative(buckets.to_vec());
    if sorted.len() < 2 || sorted.last().map(|b| b.0) != Some(f64::INFINITY) {
        return f64::NAN;
    }
    let observations = sorted[sorted.len() - 1].1;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let last = sorted.len() - 1;
    let b = sorted[..last]
        .iter()
        .position(|(_, count)| *count >= rank)
        .unwrap_or(last);
    if b == last {
        return sorted[last - 1].0;
    }
    if b == 0 && sorted[0].0 <= 0.0 {
        return sorted[0].0;
    }
    let (start, mut count) = (if b == 0 { 0.0 } else { sorted[b - 1].0 }, sorted[b].1);
    if b > 0 {
        count -= sorted[b - 1].1;
        rank -= sorted[b - 1].1;
    }
    start + (sorted[b].0 - start) * (rank / count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<(f64, f64)> {
        pairs.to_vec()
    }

    #[test]
    fn interpolates_inside_the_bucket() {
        let h = b(&[
            (0.1, 50.0),
            (0.5, 90.0),
            (1.0, 100.0),
            (f64::INFINITY, 100.0),
        ]);
        // rank 95 lies halfway through (0.5, 1.0].
        assert!((histogram_quantile(0.95, &h) - 0.75).abs() < 1e-12);
        // rank 25 lies halfway through the first bucket, counted from 0.
        assert!((histogram_quantile(0.25, &h) - 0.05).abs() < 1e-12);
    }

    #[test]
    fn edge_cases_follow_promql() {
        let inf = f64::INFINITY;
        // Rank in the +Inf bucket: the highest finite bound.
        assert_eq!(
            histogram_quantile(0.99, &b(&[(0.1, 1.0), (inf, 10.0)])),
            0.1
        );
        // No +Inf bucket, one bucket, no observations: NaN.
        assert!(histogram_quantile(0.5, &b(&[(0.1, 1.0), (0.2, 2.0)])).is_nan());
        assert!(histogram_quantile(0.5, &b(&[(inf, 2.0)])).is_nan());
        assert!(histogram_quantile(0.5, &b(&[(0.1, 0.0), (inf, 0.0)])).is_nan());
        // Out-of-range quantiles.
        assert_eq!(
            histogram_quantile(-0.1, &b(&[(0.1, 1.0), (inf, 1.0)])),
            f64::NEG_INFINITY
        );
        assert_eq!(histogram_quantile(1.1, &b(&[(0.1, 1.0), (inf, 1.0)])), inf);
        // Unordered input is sorted; a dip is raised to the running max.
        let h = b(&[(inf, 100.0), (1.0, 80.0), (0.5, 100.0), (0.1, 50.0)]);
        // rank 90: 40 of the 50 observations in (0.1, 0.5].
        assert!((histogram_quantile(0.9, &h) - 0.42).abs() < 1e-12);
    }

    #[test]
    fn counter_reset_counts_the_new_value_and_new_series_nothing() {
        let s = |v: f64| Sample::new("c_total", vec![], v, None);
        let mut prev = SeriesValues::default();
        assert_eq!(increase(&prev, &s(10.0)), 0.0);
        prev.insert(s(10.0).series, 10.0);
        assert_eq!(increase(&prev, &s(15.0)), 5.0);
        assert_eq!(increase(&prev, &s(3.0)), 3.0);
    }
}
