//! The canary's share of requests read back: a hook that moved nothing,
//! small weights, rollbacks verified by the share.

use super::*;

fn traffic_events(d: &Drive) -> Vec<Event> {
    d.events()
        .into_iter()
        .filter(|e| matches!(e, Event::TrafficOff { .. } | Event::TrafficBack { .. }))
        .cloned()
        .collect()
}

/// Observes stage 1 (5%) with the traffic it should get, then advances to
/// 25% by hand.
fn at_25_percent(extra: &str) -> Drive {
    let mut d = Drive::started(extra);
    d.seen = Some(5.0);
    d.run(15 * MIN + 2 * SEC, healthy);
    d.cmd(Command::Advance);
    assert_eq!(d.stage(), 1);
    d
}

#[test]
fn a_hook_that_moved_nothing_is_caught_after_the_grace() {
    let mut d = at_25_percent("");
    d.seen = Some(0.4);
    d.run(59 * SEC, healthy);
    assert_eq!(traffic_events(&d), [], "nothing within the 1m grace");
    assert!(!d.r.traffic_stuck());
    d.run(2 * SEC, healthy);
    let off = traffic_events(&d);
    assert_eq!(off.len(), 1, "{off:?}");
    let Event::TrafficOff {
        stage,
        set,
        seen,
        held_ms,
        hook_skipped,
    } = off[0].clone()
    else {
        panic!("{off:?}")
    };
    assert_eq!((stage, set, seen, hook_skipped), (1, 25.0, 0.4, false));
    assert_eq!(held_ms, MIN);
    assert_eq!(
        cockpit::rollout::traffic::did_not_move(set, seen, 2 * MIN, hook_skipped),
        "traffic did not move: set 25%, seen 0.4% for 2m; the hook said OK"
    );
    assert!(d.r.traffic_stuck());
    // Said once, not every poll.
    d.run(5 * MIN, healthy);
    assert_eq!(traffic_events(&d).len(), 1);
    // The weight arrives: said too, and the warning is gone.
    d.seen = Some(24.0);
    d.run(SEC, healthy);
    assert!(matches!(
        traffic_events(&d).last(),
        Some(Event::TrafficBack {
            set: 25.0,
            seen: 24.0,
            ..
        })
    ));
    assert!(!d.r.traffic_stuck());
}

#[test]
fn a_share_that_moved_is_not_a_warning_and_decisions_carry_it() {
    let mut d = at_25_percent("");
    d.seen = Some(21.0);
    d.run(20 * MIN, healthy);
    assert_eq!(traffic_events(&d), []);
    let t = d.r.traffic(d.now);
    assert_eq!((t.set, t.seen), (Some(25.0), Some(21.0)));
    d.cmd(Command::Advance);
    let traffic = d.events().into_iter().rev().find_map(|e| match e {
        Event::Decision { traffic, .. } => *traffic,
        _ => None,
    });
    let t = traffic.expect("the decision carries the traffic");
    assert_eq!((t.set, t.seen), (Some(25.0), Some(21.0)));
}

#[test]
fn small_weights_are_off_below_half_and_the_margin_is_configurable() {
    use cockpit::rollout::traffic::is_off;
    assert!(is_off(5.0, 2.0, 5.0), "under half of 5%");
    assert!(!is_off(5.0, 3.0, 5.0));
    assert!(is_off(25.0, 19.0, 5.0));
    assert!(!is_off(25.0, 21.0, 5.0));
    assert!(is_off(0.0, 5.5, 5.0), "after a rollback");
    let mut d = Drive::started("[policy]\ntraffic_margin = 10\ntraffic_grace = \"30s\"");
    d.seen = Some(2.0);
    d.run(40 * SEC, healthy);
    assert!(
        matches!(traffic_events(&d)[..], [Event::TrafficOff { set: 5.0, .. }]),
        "5% set, 2% seen, 30s grace: {:?}",
        traffic_events(&d)
    );
    let mut d = at_25_percent("[policy]\ntraffic_margin = 10");
    d.seen = Some(17.0);
    d.run(5 * MIN, healthy);
    assert_eq!(traffic_events(&d), [], "8 points off, margin 10");
}

#[test]
fn stages_without_a_weight_show_the_share_but_set_nothing() {
    let mut d = Drive::started(
        r#"
[[stage]]
name = "two"
instances = 2
wait = "5m"
[[stage]]
name = "all"
instances = 10
wait = "5m"
"#,
    );
    d.seen = Some(1.0);
    d.run(10 * MIN, healthy);
    let t = d.r.traffic(d.now);
    assert_eq!((t.set, t.seen), (None, Some(1.0)));
    assert_eq!(traffic_events(&d), []);
}

#[test]
fn a_rollback_is_verified_only_once_the_share_drops() {
    // The undo hooks say OK, but the canary keeps its traffic.
    let mut d = at_25_percent("[policy]\non_critical = \"rollback\"");
    d.seen = Some(25.0);
    d.run(2 * MIN, healthy);
    d.cmd(Command::Rollback {
        reason: "test".into(),
    });
    assert!(matches!(d.r.state.phase, Phase::Verifying { .. }));
    d.run(6 * MIN, healthy);
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBackUnrecovered));
    let reason = d
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::RollbackVerified { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(
        reason.ends_with("the canary still gets 25% of requests"),
        "{reason}"
    );
    // The same rollback, with the traffic really gone.
    let mut d = at_25_percent("[policy]\non_critical = \"rollback\"");
    d.seen = Some(25.0);
    d.run(2 * MIN, healthy);
    d.cmd(Command::Rollback {
        reason: "test".into(),
    });
    d.seen = Some(0.0);
    d.run(10 * SEC, healthy);
    assert_eq!(d.r.state.outcome, Some(Outcome::RolledBack));
    let t = d.r.traffic(d.now);
    assert_eq!((t.set, t.seen), (Some(0.0), Some(0.0)));
}

#[test]
fn a_rollback_journals_the_time_the_stage_really_observed() {
    let mut d = at_25_percent("[journal]\nsnapshot_every = \"1m\"");
    d.seen = Some(25.0);
    d.run(MIN + 23 * SEC, healthy);
    d.cmd(Command::Rollback {
        reason: "test".into(),
    });
    let left: Vec<u64> = d
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StageLeft {
                stage: 1,
                observed_ms,
                ..
            } => Some(*observed_ms),
            _ => None,
        })
        .collect();
    // The first second after entering had no reading yet: not observed.
    assert_eq!(left, [MIN + 22 * SEC]);
}
