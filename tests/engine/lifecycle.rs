//! A rollout from the start to promotion: the window, the checklist,
//! advancing, pausing, hooks that fail, resuming from a checkpoint.

use super::*;

#[test]
fn healthy_canary_is_promoted_stage_by_stage() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(3 * 60 * MIN, healthy);
    assert_eq!(d.r.state.outcome, Some(Outcome::Promoted));
    let enters: Vec<_> = d.hooks().into_iter().map(|(_, argv)| argv).collect();
    assert_eq!(
        enters,
        [
            "set-weight 5",
            "set-weight 25",
            "set-weight 50",
            "set-weight 100"
        ]
    );
    // Four 15-minute stages, each advanced by policy only once green and served.
    let elapsed = d.now - T0;
    assert!(
        (60 * MIN..62 * MIN).contains(&elapsed),
        "took {}s",
        elapsed / SEC
    );
    assert!(d.decisions().iter().all(|(_, by, _)| *by == Actor::Policy));
}

#[test]
fn without_auto_advance_a_green_stage_waits_for_the_operator() {
    let mut d = Drive::started("");
    d.run(30 * MIN, healthy);
    assert_eq!(d.stage(), 0);
    assert_eq!(
        decision(&d.r, d.now, None, &|_| String::new()),
        "Ready to advance to 25%"
    );
    assert_eq!(
        d.r.next(d.now),
        [Move::Advance, Move::Pause, Move::Rollback]
    );
    d.cmd(Command::Advance);
    assert_eq!(d.stage(), 1);
    assert_eq!(d.r.state.phase, Phase::Observing);
}

#[test]
fn advancing_before_the_wait_is_refused_with_the_reason() {
    let mut d = Drive::started("");
    d.run(5 * MIN, healthy);
    d.cmd(Command::Advance);
    assert_eq!(d.stage(), 0);
    let said: Vec<_> = d
        .effects
        .iter()
        .filter_map(|e| {
            if let Effect::Say(s) = e {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    // The first second had no reading yet: it is not observed time.
    let why = "observed 4m59s of 15m".to_string();
    assert_eq!(said, [&Said::NotReady { why }]);
    assert_eq!(
        self::said(said[0], None),
        "not ready: observed 4m59s of 15m (forcing it takes a reason)"
    );
}

#[test]
fn forced_advance_records_the_typed_reason() {
    let mut d = Drive::started("");
    d.run(3 * MIN, |_| Some(0.3));
    d.cmd(Command::ForceAdvance {
        reason: "warning is a known dashboard bug".into(),
    });
    assert_eq!(d.stage(), 1);
    let (action, by, reason) = d.decisions().last().cloned().unwrap();
    assert_eq!((action, by), (Move::ForceAdvance, alice()));
    assert!(
        reason.starts_with(
            "warning is a known dashboard bug (was not green: error rate 0.3% > 0.2% warning"
        ),
        "{reason}"
    );
}

#[test]
fn pause_stops_the_observation_clock() {
    let mut d = Drive::started("");
    d.run(5 * MIN, healthy);
    d.cmd(Command::Pause);
    d.run(30 * MIN, healthy);
    // Less the first second, before any reading: see time_without_data_...
    assert_eq!(d.r.state.observed_ms / SEC, 5 * 60 - 1);
    d.cmd(Command::Resume);
    d.run(10 * MIN, healthy);
    assert_eq!(d.r.state.observed_ms / SEC, 15 * 60 - 1);
}

#[test]
fn deploy_window_closed_at_start_needs_a_typed_reason() {
    let mut d = Drive::new("");
    d.send(Input::Start {
        local: friday_evening(),
        operator: "alice".into(),
    });
    for i in 0..6 {
        d.cmd(Command::TickChecklist { item: i });
    }
    assert_eq!(d.r.state.phase, Phase::Waiting);
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert_eq!(
        line,
        "Waiting: no-deploy window (Fri 12:00-24:00): starting needs a typed reason"
    );
    d.cmd(Command::OverrideWindow {
        reason: "payment outage fix".into(),
    });
    assert_eq!(d.r.state.phase, Phase::Observing);
    assert!(
        d.decisions()
            .iter()
            .any(|(a, _, r)| *a == Move::OverrideWindow && r == "payment outage fix")
    );
}

#[test]
fn checks_skipped_before_the_start_begin_stage_one_without_a_blocked_line() {
    let mut d = Drive::new("[checklist]\nitems = [\"tests green\"]");
    d.cmd(Command::SkipChecks {
        reason: "drill".into(),
    });
    assert!(d.events().is_empty(), "nothing journalled before the start");
    d.send(Input::Start {
        local: friday_evening(),
        operator: "alice".into(),
    });
    assert_eq!(d.r.state.phase, Phase::Observing);
    let events = d.events();
    assert!(
        matches!(events[0], Event::Started { window: WindowStatus::Skipped(why), .. } if why == "drill"),
        "{events:?}"
    );
    assert!(
        matches!(events[1], Event::Note { text, .. } if text.contains("skipped: drill")),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Blocked { .. })),
        "{events:?}"
    );
}

#[test]
fn the_checklist_must_be_ticked_before_stage_one() {
    let mut d = Drive::new("[checklist]\nitems = [\"tests green\", \"on-call assigned\"]");
    d.send(Input::Start {
        local: tuesday(),
        operator: "alice".into(),
    });
    d.cmd(Command::TickChecklist { item: 0 });
    assert_eq!(d.r.state.phase, Phase::Waiting);
    assert_eq!(
        d.r.blocker().unwrap(),
        "pre-deploy checklist: 1 of 2 ticked"
    );
    d.cmd(Command::TickChecklist { item: 1 });
    assert_eq!(d.r.state.phase, Phase::Observing);
}

#[test]
fn a_failed_hook_stops_until_retried_or_skipped() {
    let mut d = Drive::started("");
    d.run(20 * MIN, healthy);
    d.auto_hooks = false;
    d.cmd(Command::Advance);
    let id = d.pending.pop().unwrap();
    d.send(Input::HookDone {
        id,
        ok: false,
        summary: "exit 1".into(),
    });
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert_eq!(
        line,
        "FAILED: `set-weight 25` failed: exit 1: retry, skip with reason, roll back"
    );
    assert_eq!(d.r.next(d.now), [Move::Retry, Move::Skip, Move::Rollback]);
    d.cmd(Command::Retry);
    let id = d.pending.pop().expect("re-run");
    d.send(Input::HookDone {
        id,
        ok: false,
        summary: "exit 1".into(),
    });
    d.cmd(Command::Skip {
        reason: "weight set by hand".into(),
    });
    assert_eq!(d.r.state.phase, Phase::Observing);
    assert_eq!(d.stage(), 1);
}

#[test]
fn every_hook_is_journalled_before_it_runs() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(20 * MIN, healthy);
    for (i, e) in d.effects.iter().enumerate() {
        if let Effect::RunHook { id, .. } = e {
            let before = &d.effects[..i];
            assert!(before.iter().any(|b| matches!(b, Effect::Journal { event: Event::HookStarted { id: j, .. }, .. } if j == id)));
            assert!(
                matches!(before.last(), Some(Effect::Checkpoint(_))),
                "checkpoint right before acting"
            );
        }
    }
}

#[test]
fn resume_from_a_checkpoint_with_a_running_hook_asks_the_operator() {
    let mut d = Drive::started("");
    d.run(20 * MIN, healthy);
    d.auto_hooks = false;
    d.cmd(Command::Advance);
    let state = d
        .effects
        .iter()
        .rev()
        .find_map(|e| {
            if let Effect::Checkpoint(s) = e {
                Some((**s).clone())
            } else {
                None
            }
        })
        .unwrap();
    let json = serde_json::to_string(&state).unwrap();
    let restored = serde_json::from_str(&json).unwrap();
    let r = Rollout::resume(d.r.config.clone(), restored, d.now + MIN);
    let f = r.state.failed.as_ref().expect("unknown outcome");
    assert!(
        f.summary
            .starts_with("outcome unknown: the cockpit stopped while `set-weight 25` ran")
    );
    assert_eq!((r.state.stage, r.state.phase.clone()), (1, Phase::Entering));
}

#[test]
fn hooks_are_journalled_as_they_ran_and_undo_hooks_name_their_stage() {
    let mut d = Drive::started("[policy]\nauto_advance = true");
    d.run(2 * 60 * MIN, |d| {
        Some(if d.stage() >= 1 { 0.9 } else { 0.05 })
    });
    let started: Vec<(String, String)> = d
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::HookStarted {
                label,
                purpose,
                stage_name,
                ..
            } => Some((purpose.hook_of(stage_name), label.clone())),
            _ => None,
        })
        .collect();
    let expected = [
        ("enter hook of 5%", "set-weight 5"),
        ("enter hook of 25%", "set-weight 25"),
        ("undo hook of 25%", "set-weight 5"),
        ("undo hook of 5%", "set-weight 0"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(started, expected);
}
