//! Breaches: countdowns held, released, cancelled and expired, flapping
//! that must not roll back, no data that holds, rollbacks and their
//! verification.

use super::*;

#[test]
fn breach_at_25_percent_counts_down_then_rolls_back_in_reverse() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(2 * 60 * MIN, |d| {
        Some(if d.stage() >= 1 { 0.9 } else { 0.05 })
    });
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBack));
    let hooks = d.hooks();
    let undo: Vec<_> = hooks
        .iter()
        .filter(|(p, _)| *p == Purpose::Undo)
        .map(|(_, a)| a.as_str())
        .collect();
    assert_eq!(
        undo,
        ["set-weight 5", "set-weight 0"],
        "stage 25% undone first, then 5%"
    );
    let (action, by, reason) = d.decisions().last().cloned().unwrap();
    assert_eq!((action, by), (Move::Rollback, Actor::Policy));
    assert!(
        reason.starts_with("error rate 0.9% > 0.5% critical, held 1m of 1m"),
        "{reason}"
    );
    assert!(reason.ends_with("countdown expired"), "{reason}");
    // Breach at 15m; 'for' 1m; countdown 30s.
    let rb = d.r.state.rollback.as_ref().unwrap().at - T0;
    assert!(
        (16 * MIN + 30 * SEC..=16 * MIN + 33 * SEC).contains(&rb),
        "rolled back at {}s",
        rb / SEC
    );
    let line = decision(&d.r, d.now, None, &|_| "14:02:11".into());
    assert!(
        line.starts_with("Rolled back at 14:02:11: error rate 0.9% > 0.5% critical"),
        "{line}"
    );
}

#[test]
fn one_bad_sample_changes_the_colour_not_the_decision() {
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"");
    d.run(3 * MIN, healthy);
    d.run(SEC, |_| Some(0.9));
    assert_eq!(d.r.tracks[0].verdict.level, Level::Critical);
    d.run(10 * MIN, healthy);
    assert!(d.r.state.rollback.is_none());
    assert_eq!(d.r.tracks[0].verdict.level, Level::Ok);
}

#[test]
fn flapping_near_the_line_never_rolls_back() {
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"\nauto_advance = true");
    // 40s just over critical, 40s just under, for two hours.
    d.run(2 * 60 * MIN, |d| {
        Some(if ((d.now - T0) / (40 * SEC)).is_multiple_of(2) {
            0.55
        } else {
            0.45
        })
    });
    assert!(d.r.state.rollback.is_none(), "{:?}", d.decisions());
    assert_eq!(d.stage(), 0, "a stage that keeps warning never advances");
    let changes = d
        .events()
        .iter()
        .filter(|e| matches!(e, Event::MetricChanged { .. }))
        .count();
    assert!(changes > 100, "every flip is journalled ({changes})");
}

#[test]
fn no_data_holds_and_never_passes() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(2 * 60 * MIN, |_| None);
    assert_eq!((d.stage(), d.r.state.rollback.clone()), (0, None));
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert!(
        line.starts_with(
            "Holding: observed 0s of 15m; clock stopped: error rate: no data (query returned no series)"
        ),
        "{line}"
    );
}

#[test]
fn time_without_data_is_not_observed_time() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(20 * MIN, |_| None);
    assert_eq!(
        d.r.state.observed_ms, 0,
        "a blind stage has observed nothing"
    );
    d.run(MIN, healthy);
    assert_eq!(d.stage(), 0, "the first good reading does not end the wait");
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert_eq!(line, "Holding: observed 59s of 15m");
    // Data drops out mid-stage: the clock stops and says why.
    d.run(5 * MIN, |_| None);
    assert_eq!(d.r.state.observed_ms / SEC, 60);
    d.run(14 * MIN, healthy);
    assert_eq!(d.stage(), 0, "59s + 1s + 13m59s is not yet 15m");
    d.run(10 * SEC, healthy);
    assert_eq!(d.stage(), 1, "advances after 15m of judgeable data");
}

#[test]
fn a_source_that_goes_silent_is_no_data_not_its_last_good_value() {
    let mut d = Drive::started("");
    d.run(MIN, healthy);
    d.now += 5 * MIN;
    d.send(Input::Tick);
    assert_eq!(d.r.tracks[0].verdict.level, Level::NoData);
    assert!(
        d.r.tracks[0].verdict.reason.contains("no sample for 5m"),
        "{}",
        d.r.tracks[0].verdict.reason
    );
}

#[test]
fn no_data_policy_can_roll_back_after_a_while() {
    let mut d =
        Drive::started("[policy]\non_no_data = \"rollback\"\nno_data_rollback_after = \"5m\"");
    d.run(MIN, healthy);
    d.run(10 * MIN, |_| None);
    let rb = d.r.state.rollback.as_ref().expect("rolled back");
    assert_eq!(rb.by, Actor::Policy);
    assert_eq!((rb.at - T0) / SEC, 6 * 60 + 1);
}

#[test]
fn low_evidence_blocks_advancing() {
    let mut d = Drive::started("");
    d.run(20 * MIN, healthy);
    let mut low = Drive::started("");
    low.run(20 * MIN, healthy);
    low.send(Input::sample(
        1,
        Group::Canary,
        Reading::value(100.0, Some(3.0)),
    ));
    assert_eq!(low.r.tracks[1].verdict.level, Level::LowEvidence);
    low.cmd(Command::Advance);
    assert_eq!(low.stage(), 0);
    d.cmd(Command::Advance);
    assert_eq!(d.stage(), 1);
}

#[test]
fn countdown_held_released_and_expired() {
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    d.run(MIN + 2 * SEC, |_| Some(0.9)); // sustained after 'for' (1m): countdown starts
    assert!(d.r.state.countdown.is_some());
    d.run(10 * SEC, |_| Some(0.9));
    d.cmd(Command::Hold);
    d.run(10 * MIN, |_| Some(0.9));
    assert!(d.r.state.rollback.is_none(), "held countdown must not fire");
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert!(line.starts_with("AUTO-ROLLBACK HELD at 19s"), "{line}");
    assert_eq!(
        d.r.next(d.now),
        [Move::Rollback, Move::Release, Move::Cancel]
    );
    d.cmd(Command::Release);
    d.run(15 * SEC, |_| Some(0.9));
    assert!(d.r.state.rollback.is_none());
    d.run(10 * SEC, |_| Some(0.9));
    assert_eq!(d.r.state.rollback.as_ref().unwrap().by, Actor::Policy);
    let actions: Vec<_> = d.decisions().into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(actions, [Move::Hold, Move::Release, Move::Rollback]);
}

#[test]
fn countdown_cancelled_stays_cancelled_until_the_breach_ends() {
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    d.run(MIN + 5 * SEC, |_| Some(0.9));
    d.cmd(Command::Cancel);
    d.run(30 * MIN, |_| Some(0.9));
    assert!(d.r.state.rollback.is_none());
    d.run(MIN, healthy);
    d.run(2 * MIN, |_| Some(0.9));
    assert!(
        d.r.state.rollback.is_some(),
        "a new breach starts a new countdown"
    );
}

#[test]
fn the_countdown_line_says_what_keys_do() {
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    d.run(MIN + 3 * SEC, |_| Some(0.9));
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert!(
        line.starts_with("AUTO-ROLLBACK IN 28s: roll back now, hold, cancel"),
        "{line}"
    );
}

#[test]
fn past_five_percent_errors_rolls_back_at_once() {
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    d.run(SEC, |_| Some(6.0));
    let rb = d.r.state.rollback.as_ref().expect("immediate rollback");
    assert!(
        rb.reason.contains("past the immediate line"),
        "{}",
        rb.reason
    );
}

#[test]
fn operator_rollback_during_an_advance_waits_for_the_hook_then_undoes_it() {
    let mut d = Drive::started("");
    d.run(20 * MIN, healthy);
    d.auto_hooks = false;
    d.cmd(Command::Advance);
    assert_eq!(d.r.state.phase, Phase::Entering);
    d.cmd(Command::Rollback {
        reason: "wrong build".into(),
    });
    d.cmd(Command::Rollback {
        reason: "pressed twice".into(),
    });
    assert!(
        d.r.state.rollback.is_none(),
        "deferred until the running hook ends"
    );
    d.auto_hooks = true;
    let id = d.pending.pop().unwrap();
    d.send(Input::HookDone {
        id,
        ok: true,
        summary: "exit 0".into(),
    });
    let undo: Vec<_> = d
        .hooks()
        .into_iter()
        .filter(|(p, _)| *p == Purpose::Undo)
        .map(|(_, a)| a)
        .collect();
    assert_eq!(
        undo,
        ["set-weight 5", "set-weight 0"],
        "the half-entered 25% stage is undone too, once"
    );
    let rollbacks = d
        .decisions()
        .iter()
        .filter(|(a, _, _)| *a == Move::Rollback)
        .count();
    assert_eq!(rollbacks, 1);
}

#[test]
fn a_breach_during_rollback_starts_nothing_new() {
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"");
    d.run(2 * MIN, healthy);
    d.auto_hooks = false;
    d.run(2 * MIN, |_| Some(0.9));
    assert_eq!(d.r.state.phase, Phase::RollingBack);
    d.run(5 * MIN, |_| Some(0.9));
    d.cmd(Command::Rollback {
        reason: "again".into(),
    });
    assert_eq!(d.pending.len(), 1, "one undo hook running, nothing else");
}

#[test]
fn a_rollback_that_does_not_recover_says_so() {
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"");
    d.run(2 * MIN, healthy);
    // The fault is in a shared dependency: stable errors too.
    d.baseline_err = 0.9;
    d.run(MIN + SEC, |_| Some(0.9));
    assert!(
        matches!(d.r.state.phase, Phase::Verifying { .. }),
        "{:?}",
        d.r.state.phase
    );
    d.run(4 * MIN, |_| None);
    assert!(
        matches!(d.r.state.phase, Phase::Verifying { .. }),
        "still watching within 5m"
    );
    d.run(2 * MIN, |_| None);
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBackUnrecovered));
    let line = decision(&d.r, d.now, None, &|_| "t".into());
    assert!(
        line.ends_with("ROLLBACK DID NOT RECOVER THE METRICS"),
        "{line}"
    );
}

#[test]
fn pause_does_not_stop_a_policy_rollback_unless_configured() {
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"");
    d.run(MIN, healthy);
    d.cmd(Command::Pause);
    d.run(2 * MIN, |_| Some(0.9));
    assert!(d.r.state.rollback.is_some());
    let mut d = Drive::started("[policy]\non_critical = \"rollback\"\npause_stops_rollback = true");
    d.run(MIN, healthy);
    d.cmd(Command::Pause);
    d.run(2 * MIN, |_| Some(0.9));
    assert!(d.r.state.rollback.is_none());
}

#[test]
fn now_says_held_then_critical_after_a_cancel() {
    use cockpit::rollout::Now;
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    d.run(MIN + 5 * SEC, |_| Some(0.9));
    assert!(matches!(d.r.now(d.now), Now::Countdown { .. }));
    d.cmd(Command::Hold);
    assert!(matches!(d.r.now(d.now), Now::Held { .. }));
    d.cmd(Command::Cancel);
    d.run(30 * SEC, |_| Some(0.9));
    match d.r.now(d.now) {
        Now::Critical {
            reason,
            critical: 1,
            cancelled: true,
        } => assert!(reason.ends_with("held 1m34s, past its 1m"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(
        decision(&d.r, d.now, None, &|_| String::new())
            .starts_with("CRITICAL, auto-rollback cancelled for this breach: error rate 0.9%"),
    );
    d.run(10 * SEC, healthy);
    assert!(matches!(d.r.now(d.now), Now::Holding { .. }));
}
