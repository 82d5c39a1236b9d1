//! Our exposition parser against the lines prometheus-parse 0.2.5 gets
//! wrong (DEVELOPMENT.md, dependency notes): each assertion is a line it drops or
//! mangles. `metrics_prometheus.rs` checks the same page against what a
//! real Prometheus stores.

use std::sync::LazyLock;

use cockpit::metrics::exposition::{FamilyType, MetricSnapshot, ParseError, Wanted, parse};

static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!("fixtures/metrics/tricky.prom").replace("TIMESTAMP", "1700000000000")
});

fn tricky() -> MetricSnapshot<'static> {
    parse(&PAGE, &Wanted::all()).expect("the tricky page is valid")
}

fn value(s: &MetricSnapshot, name: &str) -> f64 {
    s.samples
        .iter()
        .find(|x| x.name == name)
        .unwrap_or_else(|| panic!("{name} was dropped"))
        .value
}

#[test]
fn names_with_colons_and_empty_label_sets_are_kept() {
    let s = tricky();
    assert_eq!(value(&s, "app:requests:rate5m"), 12.5);
    assert_eq!(value(&s, "empty_labels"), 1.0);
    assert_eq!(s.types.get("app:requests:rate5m"), Some(&FamilyType::Gauge));
}

#[test]
fn label_values_keep_commas_equals_braces_and_are_unescaped() {
    let s = tricky();
    let t = s.samples.iter().find(|x| x.name == "tricky_total").unwrap();
    assert_eq!(t.value, 7.0);
    assert_eq!(t.label("path"), Some("/a,b=c"));
    assert_eq!(t.label("quote"), Some("say \"hi\""));
    assert_eq!(t.label("brace"), Some("x}y"));
    assert_eq!(t.label("back"), Some("c:\\dir"));
    assert_eq!(t.label("nl"), Some("line1\nline2"));
    assert_eq!(t.label("uni"), Some("größe"));
    assert_eq!(t.labels.len(), 6);
}

#[test]
fn timestamps_are_read_not_invented_and_special_values_parse() {
    let s = tricky();
    let ts = |name: &str| s.samples.iter().find(|x| x.name == name).unwrap().timestamp;
    assert_eq!(ts("with_ts"), Some(1_700_000_000_000));
    assert_eq!(ts("exp_value"), None);
    assert!(value(&s, "nan_gauge").is_nan());
    assert_eq!(value(&s, "pos_inf"), f64::INFINITY);
    assert_eq!(value(&s, "neg_inf"), f64::NEG_INFINITY);
    assert_eq!(value(&s, "exp_value"), 1500.0);
    assert_eq!(value(&s, "trailing_comma"), 2.0);
}

#[test]
fn a_blank_before_the_braces_and_none_after_them_are_read() {
    let s = tricky();
    let spaced = s.samples.iter().find(|x| x.name == "spaced_name").unwrap();
    assert_eq!((spaced.label("a"), spaced.value), (Some("b"), 3.0));
    let tight = s.samples.iter().find(|x| x.name == "tight").unwrap();
    assert_eq!((tight.label("a"), tight.value), (Some("b"), 7.0));
    // Without labels the blank before the value is still required.
    let err = parse("m7x 1\nm-1\n", &Wanted::all()).unwrap_err();
    assert_eq!(err.line, 2, "{err}");
}

#[test]
fn openmetrics_counters_keep_their_type_and_created_is_its_own_sample() {
    let s = tricky();
    assert_eq!(s.types.get("om_requests"), Some(&FamilyType::Counter));
    assert_eq!(value(&s, "om_requests_total"), 10.0);
    assert_eq!(value(&s, "om_requests_created"), 1.7e9);
    // Asking for the family by either name finds the counter.
    for family in ["om_requests", "om_requests_total"] {
        let only = parse(
            include_str!("fixtures/metrics/tricky.prom"),
            &Wanted::families([family]),
        )
        .unwrap();
        let names: Vec<&str> = only.samples.iter().map(|x| x.name).collect();
        assert_eq!(names, ["om_requests_total"], "family {family}");
        assert!(cockpit::metrics::compute::is_counter(&only, family));
    }
}

#[test]
fn only_wanted_families_are_kept() {
    let page = "a_total 1\nb_bucket{le=\"+Inf\"} 2\nb_count 2\nb_sum 0.5\nb_created 9\nab 3\n";
    let s = parse(page, &Wanted::families(["b"])).unwrap();
    let names: Vec<&str> = s.samples.iter().map(|x| x.name).collect();
    assert_eq!(names, ["b_bucket", "b_count", "b_sum"]);
}

#[test]
fn garbage_is_refused_with_the_line_even_in_unwanted_families() {
    let wanted = Wanted::families(["http_requests_total"]);
    let html = "<html><body>502 Bad Gateway</body></html>\n";
    let err: ParseError = parse(html, &wanted).unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("expected a metric name"), "{err}");
    // A wanted line cut off mid-label (a truncated body) is refused too.
    let cut = "ok 1\nhttp_requests_total{code=\"2";
    let err = parse(cut, &wanted).unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.to_string().contains("unterminated"), "{err}");
    // A value that is not a number.
    let err = parse("http_requests_total twelve\n", &wanted).unwrap_err();
    assert!(err.message.contains("\"twelve\" is not a number"), "{err}");
}

#[test]
fn a_series_is_the_same_whatever_the_label_order_and_differs_by_any_value() {
    use cockpit::metrics::exposition::series_id;
    let page = "m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 1\nm{a=\"2\",b=\"1\"} 1\nm{a=\"1\",b=\"3\"} 1\nn{a=\"1\",b=\"2\"} 1\n";
    let s = parse(page, &Wanted::all()).unwrap();
    // The second line is the first series again: a duplicate, not kept.
    assert_eq!(s.duplicates, ["m{b=\"2\",a=\"1\"}"]);
    let ids: Vec<u64> = s
        .samples
        .iter()
        .map(|x| series_id(x.name, &x.labels))
        .collect();
    assert_eq!(ids.len(), 4);
    assert_eq!(s.samples[0].series, ids[0]);
    for other in &ids[1..] {
        assert_ne!(ids[0], *other);
    }
}
