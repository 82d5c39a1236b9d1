use super::*;

const INF: f64 = f64::INFINITY;

#[test]
fn a_line_on_a_bound_counts_exactly_and_between_bounds_counts_the_bucket_as_slower() {
    let h = [(100.0, 460.0), (250.0, 470.0), (350.0, 500.0), (INF, 500.0)];
    let on = slower(&h, 250.0).unwrap();
    assert_eq!(
        (on.tally.bad, on.tally.total, on.between),
        (30.0, 500.0, None)
    );
    let off = slower(&h, 300.0).unwrap();
    assert_eq!(off.tally.bad, 30.0);
    assert_eq!(off.between, Some((250.0, 350.0)));
    // Under the first bound: everything up to it counts as slower.
    assert_eq!(slower(&h, 50.0).unwrap().tally.bad, 500.0);
    // Past the last finite bound: the +Inf bucket brackets it.
    assert_eq!(slower(&h, 400.0).unwrap().between, Some((350.0, INF)));
    assert_eq!(slower(&[(100.0, 1.0)], 50.0), None);
}

#[test]
fn a_histogram_goes_through_json_with_its_inf_bound() {
    let r = Reading::value(120.0, Some(500.0)).with_histogram(vec![(100.0, 460.0), (INF, 500.0)]);
    let text = serde_json::to_string(&r).unwrap();
    assert!(text.contains(r#"[100.0,460.0],["+Inf",500.0]"#), "{text}");
    assert_eq!(serde_json::from_str::<Reading>(&text).unwrap(), r);
}
