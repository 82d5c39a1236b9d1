//! The evidence judge's tests: seeded simulations of how soon it sees a
//! change and how often it is fooled.

use super::*;

const ERRORS: Lines = Lines {
    warning: 0.002,
    critical: 0.005,
    immediate: Some(0.05),
    ratio: Some(2.0),
};

fn tally(bad: f64, total: f64) -> Tally {
    Tally { bad, total }
}

/// A canary turning to 2% errors is critical within ten polls.
fn critical_within_ten_polls_of_two_percent(mut e: Evidence) {
    let mut polls = 0;
    while !matches!(e.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Past(1.., _)) {
        e.observe(
            &ERRORS,
            tally(2.0, 100.0).into(),
            Some(tally(1.0, 2000.0).into()),
        );
        polls += 1;
        assert!(polls < 10, "not shown after {polls} polls");
    }
}

fn run(polls: usize, canary: Tally, baseline: Tally) -> Evidence {
    let mut e = Evidence::default();
    for _ in 0..polls {
        e.observe(&ERRORS, canary.into(), Some(baseline.into()));
    }
    e
}

#[test]
fn zero_requests_show_nothing() {
    let e = run(100, tally(0.0, 0.0), tally(0.0, 0.0));
    assert_eq!(e.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Unsure);
}

#[test]
fn zero_errors_show_inside_once_there_are_enough_requests() {
    // About ln(10)/0.005 ~ 460 requests show "under 0.5%" at 90% with
    // no error; within 2x stable (under the 0.05% floor here) needs the
    // ln(10)/0.0005 ~ 4,600 in which a canary on the floor would have
    // shown an error but one time in ten.
    let few = run(40, tally(0.0, 100.0), tally(0.0, 2000.0));
    assert_eq!(few.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Unsure);
    let many = run(50, tally(0.0, 100.0), tally(0.0, 2000.0));
    assert_eq!(many.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Inside);
}

#[test]
fn one_error_in_580_is_not_a_breach() {
    let mut e = run(5, tally(0.0, 100.0), tally(0.0, 2000.0));
    e.observe(
        &ERRORS,
        tally(1.0, 100.0).into(),
        Some(tally(0.0, 2000.0).into()),
    );
    e.observe(
        &ERRORS,
        tally(0.0, 100.0).into(),
        Some(tally(1.0, 2000.0).into()),
    );
    assert!(!matches!(
        e.shown(&ERRORS, 0.01, 0.0005, 50.0),
        Shown::Past(..) | Shown::Worse(..)
    ));
}

#[test]
fn two_percent_errors_are_critical_within_a_few_polls() {
    critical_within_ten_polls_of_two_percent(run(60, tally(0.0, 100.0), tally(1.0, 2000.0)));
}

#[test]
fn a_canary_worse_than_twice_stable_is_shown_with_enough_errors() {
    // 0.16% vs 0.02%: under the warning line, 8x stable.
    let e = run(200, tally(1.6, 1000.0), tally(0.4, 2000.0));
    assert!(
        matches!(e.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Worse(..)),
        "{:?}",
        e.shown(&ERRORS, 0.01, 0.0005, 50.0)
    );
    // The same canary as stable: shown within the ratio.
    let same = run(200, tally(0.2, 1000.0), tally(0.4, 2000.0));
    assert_eq!(same.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Inside);
}

#[test]
fn baseline_with_zero_errors_does_not_make_one_canary_error_a_breach() {
    let mut e = run(30, tally(0.0, 100.0), tally(0.0, 2000.0));
    e.observe(
        &ERRORS,
        tally(1.0, 100.0).into(),
        Some(tally(0.0, 2000.0).into()),
    );
    assert!(!matches!(
        e.shown(&ERRORS, 0.01, 0.0005, 50.0),
        Shown::Worse(..) | Shown::Past(..)
    ));
}

#[test]
fn a_fault_late_in_a_long_healthy_stage_is_not_diluted() {
    critical_within_ten_polls_of_two_percent(run(720, tally(0.05, 100.0), tally(1.0, 2000.0)));
}

#[test]
fn a_twice_as_bad_canary_shows_about_when_the_estimate_says() {
    // 20 req/s at 5% of 400 with polls 5 s apart; the canary answers
    // twice the critical line's 0.5%. Seeded runs, errors counted.
    let lines = Lines {
        immediate: None,
        ratio: None,
        ..ERRORS
    };
    let expected = requests_to_show_twice(lines.critical, 0.01);
    let mut rng = crate::sim::rng::Rng::new(14);
    let runs = 200;
    let mut requests = 0.0;
    for _ in 0..runs {
        let mut e = Evidence::default();
        let mut polls = 0.0;
        while !matches!(e.shown(&lines, 0.01, 0.0, 0.0), Shown::Past(1.., _)) {
            let bad = rng.poisson(100.0 * 2.0 * lines.critical);
            e.observe(&lines, tally(bad, 100.0).into(), None);
            polls += 1.0;
            assert!(polls < 10_000.0);
        }
        requests += polls * 100.0;
    }
    let mean = requests / runs as f64;
    assert!(
        mean > expected / 2.0 && mean < expected * 2.0,
        "estimate {expected:.0} requests, simulated {mean:.0}"
    );
}

/// steady-4x at 5% of 400 req/s: 100 canary requests a poll at 0.08%,
/// 1,900 stable ones at 0.02%; allowed is the 0.05% floor, 1.6x under
/// the canary.
const STEADY_4X: (f64, f64) = (0.0008, 0.0002);

#[test]
fn a_canary_over_the_allowed_rate_is_never_within_by_its_own_errors() {
    // With the errors it is expected to show, at every count from one
    // poll to six hours at 5%: the estimate is over the line, and so is
    // every bound.
    let (canary, stable) = STEADY_4X;
    let mut e = Evidence::default();
    for poll in 0..4_320 {
        e.observe(
            &ERRORS,
            tally(100.0 * canary, 100.0).into(),
            Some(tally(1900.0 * stable, 1900.0).into()),
        );
        assert!(
            !matches!(e.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Inside),
            "within after {poll} polls: {:?}",
            e.canary
        );
        assert!(!under_line(e.canary, 0.0005, 0.1));
    }
}

/// Polls until the canary shows Inside or a breach, or `polls` pass:
/// the poll it showed Inside at, if it did.
fn inside_at(rng: &mut crate::sim::rng::Rng, rates: (f64, f64), polls: usize) -> Option<usize> {
    let mut e = Evidence::default();
    for poll in 1..=polls {
        let canary = tally(rng.poisson(100.0 * rates.0), 100.0);
        let stable = tally(rng.poisson(1900.0 * rates.1), 1900.0);
        e.observe(&ERRORS, canary.into(), Some(stable.into()));
        match e.shown(&ERRORS, 0.01, 0.0005, 50.0) {
            Shown::Inside => return Some(poll),
            Shown::Unsure => {}
            _ => return None,
        }
    }
    None
}

#[test]
fn a_canary_over_the_line_seldom_passes_by_luck_and_a_healthy_one_does() {
    // Seeded runs, looked at every poll for an hour (720 polls). The
    // point estimate after ~3,000 requests passed the 4x canary about
    // half the time; the bound passes it in a few runs in a hundred.
    let mut rng = crate::sim::rng::Rng::new(4);
    let runs = 200;
    let lucky = (0..runs)
        .filter(|_| inside_at(&mut rng, STEADY_4X, 720).is_some())
        .count();
    assert!(lucky <= runs / 10, "{lucky} of {runs} passed");
    // A canary as good as stable (0.02%): within in 15 minutes (180
    // polls) in most runs, and never shown past a line.
    let healthy = (0..runs)
        .filter(|_| inside_at(&mut rng, (0.0002, 0.0002), 180).is_some())
        .count();
    assert!(healthy >= runs * 3 / 4, "only {healthy} of {runs}");
}

#[test]
fn the_bound_is_the_exact_poisson_tail() {
    // No error in 4,605 requests against 0.05%: e^-2.30 = 0.100.
    assert!(under_line(tally(0.0, 4700.0), 0.0005, 0.1));
    assert!(!under_line(tally(0.0, 4500.0), 0.0005, 0.1));
    // One error: P(X <= 1) at 3.89 expected is 0.100.
    assert!(under_line(tally(1.0, 7900.0), 0.0005, 0.1));
    assert!(!under_line(tally(1.0, 7700.0), 0.0005, 0.1));
    // Large counts do not underflow: 900 of 1,000,000 against 0.1%.
    assert!(under_line(tally(900.0, 1e6), 0.001, 0.1));
    assert!(!under_line(tally(990.0, 1e6), 0.001, 0.1));
    assert!(!under_line(tally(0.0, 0.0), 0.001, 0.1));
}

#[test]
fn alternatives_that_agree_add_up_but_one_alone_needs_the_full_bar() {
    let bar = (1.0 / 0.01f64).ln();
    let run = Run {
        canary: tally(5.0, 100.0),
        stable: Tally::default(),
    };
    let cusum = |log: Vec<f64>| Cusum {
        runs: vec![run; log.len()],
        log,
    };
    // Each short of ln(4 / alpha), the old per-alternative bar, but their
    // average past 1/alpha.
    let agreeing = cusum(vec![bar + 1.0, bar + 1.0, bar + 1.0, 0.0]);
    assert_eq!(agreeing.alarm(0.01), Some(run));
    // One alternative alone must carry the average: ln(4 / alpha).
    let alone = cusum(vec![bar + 1.0, 0.0, 0.0, 0.0]);
    assert_eq!(alone.alarm(0.01), None);
    assert!(
        cusum(vec![bar + 4f64.ln(), 0.0, 0.0, 0.0])
            .alarm(0.01)
            .is_some()
    );
}

#[test]
fn a_canary_on_the_critical_line_raises_a_false_alarm_no_sooner_than_1_in_alpha_polls() {
    // The e-detector's promise, looked at every poll: on the line, the
    // mean time to a (false) critical alarm is at least 1/alpha polls.
    let mut rng = crate::sim::rng::Rng::new(9);
    let (runs, cap) = (100, 2000);
    let mut polls_to_alarm = 0;
    for _ in 0..runs {
        let mut e = Evidence::default();
        let mut poll = 0;
        while poll < cap && !matches!(e.shown(&ERRORS, 0.01, 0.0005, 50.0), Shown::Past(1.., _)) {
            let canary = tally(rng.poisson(100.0 * ERRORS.critical), 100.0);
            e.observe(&ERRORS, canary.into(), None);
            poll += 1;
        }
        polls_to_alarm += poll;
    }
    let mean = polls_to_alarm as f64 / runs as f64;
    assert!(mean >= 100.0, "a false alarm every {mean} polls on average");
}
