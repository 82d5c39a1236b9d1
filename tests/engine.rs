//! Whole rollouts through the pure engine, hours of simulated time each.

use std::path::Path;

use chrono::NaiveDateTime;
use cockpit::config;
use cockpit::config::model::Judge;
use cockpit::rollout::window::WindowStatus;
use cockpit::rollout::{
    Actor, At, Command, Effect, Event, Group, Input, Level, Move, Outcome, Phase, Purpose, Reading,
    Rollout, Said, Sample,
};
use cockpit::tui::next::{decision, said};

const T0: At = 1_790_000_000_000;
const SEC: At = 1000;
const MIN: At = 60 * SEC;

const BASE: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[hooks]
enter = { exec = ["set-weight", "{weight}"] }
undo = { exec = ["set-weight", "{previous_weight}"] }

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

/// A tuesday morning: inside seed 003's best window.
fn tuesday() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-24 10:30", "%Y-%m-%d %H:%M").unwrap()
}

fn friday_evening() -> NaiveDateTime {
    NaiveDateTime::parse_from_str("2026-11-27 17:00", "%Y-%m-%d %H:%M").unwrap()
}

fn alice() -> Actor {
    Actor::Operator("alice".into())
}

/// A simulated clock driving the engine, completing hooks unless told not to.
struct Drive {
    r: Rollout,
    now: At,
    effects: Vec<Effect>,
    auto_hooks: bool,
    pending: Vec<u64>,
    /// The stable version's error rate.
    baseline_err: f64,
    /// The canary's share of requests (percent) the polls show; None keeps
    /// 1000 canary and 20000 baseline requests.
    seen: Option<f64>,
}

impl Drive {
    fn new(extra: &str) -> Drive {
        let text = format!("{BASE}\n{extra}");
        let mut cfg =
            config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0]));
        // These tests drive the threshold judge (`for`, countdowns) with
        // point values; the evidence judge has its own tests below.
        if !extra.contains("judge") {
            cfg.policy.judge = Judge::Thresholds;
        }
        Drive {
            r: Rollout::new(cfg, T0),
            now: T0,
            effects: vec![],
            auto_hooks: true,
            pending: vec![],
            baseline_err: 0.05,
            seen: None,
        }
    }

    fn started(extra: &str) -> Drive {
        let mut d = Drive::new(extra);
        d.send(Input::Start {
            local: tuesday(),
            operator: "alice".into(),
        });
        d.cmd(Command::SkipChecks {
            reason: "test".into(),
        });
        d
    }

    fn send(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(i) = queue.pop() {
            let out = self.r.update(self.now, i);
            for e in &out {
                if let Effect::RunHook { id, .. } = e {
                    if self.auto_hooks {
                        queue.push(Input::HookDone {
                            id: *id,
                            ok: true,
                            summary: "exit 0".into(),
                        });
                    } else {
                        self.pending.push(*id);
                    }
                }
            }
            self.effects.extend(out);
        }
    }

    fn cmd(&mut self, command: Command) {
        self.send(Input::Command {
            actor: alice(),
            command,
        });
    }

    /// Feeds every metric a sample each second for `dur`, from `canary(t)`
    /// for the error rate and healthy values for the rest.
    fn run(&mut self, dur: At, error_rate: impl Fn(&Drive) -> Option<f64>) {
        let end = self.now + dur;
        while self.now < end && !self.r.is_finished() {
            self.now += SEC;
            let err = error_rate(self);
            let mut poll = Vec::new();
            for (i, m) in self.r.config.metrics.clone().iter().enumerate() {
                let healthy = match m.name.as_str() {
                    "error_rate" => err,
                    "latency_p95" => Some(180.0),
                    _ => Some(99.95),
                };
                let base_requests = match self.seen {
                    Some(p) if p > 0.0 => 1000.0 * (100.0 - p) / p,
                    Some(_) => 1000.0,
                    None => 20000.0,
                };
                let reading = match (healthy, self.seen) {
                    (_, Some(p)) if p <= 0.0 => Reading::quiet("no requests"),
                    (None, _) => Reading::no_data("query returned no series"),
                    (Some(v), _) => Reading::value(v, Some(1000.0)),
                };
                let base = if m.name == "error_rate" {
                    self.baseline_err
                } else {
                    healthy.unwrap_or(0.0)
                };
                poll.push(Sample {
                    metric: i,
                    group: Group::Canary,
                    reading,
                });
                poll.push(Sample {
                    metric: i,
                    group: Group::Baseline,
                    reading: Reading::value(base, Some(base_requests)),
                });
            }
            self.send(Input::Poll(poll));
        }
    }

    fn events(&self) -> Vec<&Event> {
        self.effects
            .iter()
            .filter_map(|e| {
                if let Effect::Journal { event, .. } = e {
                    Some(event)
                } else {
                    None
                }
            })
            .collect()
    }

    fn decisions(&self) -> Vec<(Move, Actor, String)> {
        self.events()
            .into_iter()
            .filter_map(|e| {
                if let Event::Decision {
                    action, by, reason, ..
                } = e
                {
                    Some((*action, by.clone(), reason.clone()))
                } else {
                    None
                }
            })
            .collect()
    }

    /// (purpose, argv) of every hook run, in order.
    fn hooks(&self) -> Vec<(Purpose, String)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::RunHook {
                    hook,
                    vars,
                    purpose,
                    ..
                } => {
                    let argv = hook.exec.clone().unwrap_or_default().join(" ");
                    let filled = vars
                        .iter()
                        .fold(argv, |a, (k, v)| a.replace(&format!("{{{k}}}"), v));
                    Some((*purpose, filled))
                }
                _ => None,
            })
            .collect()
    }

    fn stage(&self) -> usize {
        self.r.state.stage
    }
}

fn healthy(_: &Drive) -> Option<f64> {
    Some(0.05)
}

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

/// Canary and baseline of one poll are judged together: a canary that rose
/// with its baseline is never compared with the previous poll's baseline.
#[test]
fn one_poll_is_judged_as_a_whole() {
    let mut d = Drive::started("");
    let poll = |canary: f64, baseline: f64| {
        Input::Poll(
            (0..3)
                .flat_map(|metric| {
                    let (c, b) = match metric {
                        0 => (canary, baseline),
                        1 => (180.0, 170.0),
                        _ => (99.95, 99.95),
                    };
                    [
                        Sample {
                            metric,
                            group: Group::Canary,
                            reading: Reading::value(c, Some(5000.0)),
                        },
                        Sample {
                            metric,
                            group: Group::Baseline,
                            reading: Reading::value(b, Some(50000.0)),
                        },
                    ]
                })
                .collect(),
        )
    };
    d.now += SEC;
    d.send(poll(0.06, 0.05));
    let before = d.events().len();
    // Both rise together, still 1.25x: nothing changed.
    d.now += SEC;
    d.send(poll(0.15, 0.12));
    d.now += SEC;
    d.send(poll(0.06, 0.05));
    let changes: Vec<_> = d.events()[before..]
        .iter()
        .filter(|e| matches!(e, Event::MetricChanged { .. }))
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(changes, Vec::<String>::new());
    assert_eq!(d.r.tracks[0].verdict.level, Level::Ok);
}

/// Every blind metric's own reason reaches the journal when it first
/// appears or changes; a reason that only counts up is journalled once.
#[test]
fn every_no_data_reason_is_journalled_when_it_changes() {
    let mut d = Drive::started("");
    let blind = |d: &mut Drive, p95: &str, success: &str| {
        d.now += SEC;
        d.send(Input::Poll(vec![
            Sample {
                metric: 1,
                group: Group::Canary,
                reading: Reading::no_data(p95),
            },
            Sample {
                metric: 2,
                group: Group::Canary,
                reading: Reading::no_data(success),
            },
        ]));
    };
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "timeout after 5s",
    );
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "timeout after 6s",
    );
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "connection refused",
    );
    let reasons: Vec<String> = d
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::MetricChanged { metric, reason, .. } if metric != "error_rate" => {
                Some(reason.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "p95: no data (HTTP 400: unclosed left parenthesis)",
            "success rate: no data (timeout after 5s)",
            "success rate: no data (connection refused)",
        ]
    );
}

// ----- the evidence judge -------------------------------------------------

/// Traffic for the evidence judge: every 5 s, `rps` requests split by the
/// stage's weight, each failing with its version's probability (a seeded
/// generator, so a run is repeatable).
struct Traffic {
    rps: f64,
    seed: u64,
}

impl Traffic {
    fn draw(&mut self, n: u64, p: f64) -> u64 {
        (0..n)
            .filter(|_| {
                self.seed = self
                    .seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.seed >> 11) as f64 / (1u64 << 53) as f64) < p
            })
            .count() as u64
    }

    /// Runs `dur` with the canary failing at `canary` (a fraction) and the
    /// stable version at `stable`.
    fn run(&mut self, d: &mut Drive, dur: At, canary: f64, stable: f64) {
        let end = d.now + dur;
        while d.now < end && !d.r.is_finished() {
            d.now += 5 * SEC;
            let weight = d.r.config.stages[d.r.state.stage].weight.unwrap_or(100.0) / 100.0;
            let n_c = (self.rps * 5.0 * weight).round() as u64;
            let n_b = (self.rps * 5.0).round() as u64 - n_c;
            let (b_c, b_b) = (self.draw(n_c, canary), self.draw(n_b, stable));
            let rate = |b: u64, n: u64| Reading::value(100.0 * b as f64 / n as f64, Some(n as f64));
            let success = |b: u64, n: u64| {
                Reading::value(100.0 - 100.0 * b as f64 / n as f64, Some(n as f64))
            };
            let mut poll = vec![
                Sample {
                    metric: 0,
                    group: Group::Canary,
                    reading: rate(b_c, n_c),
                },
                Sample {
                    metric: 1,
                    group: Group::Canary,
                    reading: Reading::value(180.0, Some(n_c as f64)),
                },
                Sample {
                    metric: 2,
                    group: Group::Canary,
                    reading: success(b_c, n_c),
                },
            ];
            if n_b > 0 {
                poll.push(Sample {
                    metric: 0,
                    group: Group::Baseline,
                    reading: rate(b_b, n_b),
                });
                poll.push(Sample {
                    metric: 2,
                    group: Group::Baseline,
                    reading: success(b_b, n_b),
                });
            }
            d.send(Input::Poll(poll));
        }
    }
}

fn evidence(extra: &str) -> Drive {
    Drive::started(&format!("[policy]\njudge = \"evidence\"\n{extra}"))
}

#[test]
fn evidence_promotes_a_healthy_canary_without_a_false_alarm() {
    for seed in 1..=5 {
        let mut d = evidence("auto_advance = true\non_critical = \"rollback\"");
        let mut t = Traffic { rps: 400.0, seed };
        t.run(&mut d, 3 * 60 * MIN, 0.0005, 0.0005);
        assert_eq!(
            d.r.state.outcome,
            Some(Outcome::Promoted),
            "seed {seed}: {:?}",
            d.decisions()
        );
    }
}

#[test]
fn evidence_rolls_back_two_percent_errors_within_30s() {
    let mut d = evidence("on_critical = \"rollback\"");
    let mut t = Traffic {
        rps: 400.0,
        seed: 7,
    };
    t.run(&mut d, 10 * MIN, 0.0005, 0.0005);
    assert_eq!(d.r.state.rollback, None);
    let fault = d.now;
    t.run(&mut d, 2 * MIN, 0.02, 0.0005);
    let rollback = d.r.state.rollback.clone().expect("rolled back");
    assert!(
        rollback.at - fault <= 30 * SEC,
        "after {}s: {}",
        (rollback.at - fault) / SEC,
        rollback.reason
    );
    assert!(
        rollback.reason.contains("99% confidence"),
        "{}",
        rollback.reason
    );
}

#[test]
fn evidence_holds_a_canary_it_cannot_judge_yet() {
    // At 5% of 4 req/s a stage sees one request a second: no error for
    // minutes proves little, so the stage clock waits for evidence.
    let mut d = evidence("auto_advance = true");
    let mut t = Traffic { rps: 4.0, seed: 3 };
    t.run(&mut d, 15 * MIN, 0.0005, 0.0005);
    assert_eq!(d.stage(), 0);
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert!(line.contains("not enough evidence yet"), "{line}");
}

// ----- traffic read back ------------------------------------------------------

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
