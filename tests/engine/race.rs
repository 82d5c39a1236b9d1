//! What a drill (and any view) watches besides decisions: the race against
//! a breach's `for`, and the operator's first look at a metric.

use super::*;

/// Journal events with their simulated times.
fn timed(d: &Drive) -> Vec<(At, &Event)> {
    d.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Journal { at, event } => Some((*at, event)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_critical_breach_says_once_when_its_for_would_hold() {
    let mut d = Drive::started("");
    d.run(2 * MIN, healthy);
    let breach = d.now + SEC;
    d.run(2 * MIN, |_| Some(0.9));
    let pending: Vec<_> = timed(&d)
        .into_iter()
        .filter_map(|(at, e)| match e {
            Event::BreachPending {
                metric,
                since,
                holds_at,
            } => Some((at, metric.clone(), *since, *holds_at)),
            _ => None,
        })
        .collect();
    // Once for the whole breach, not every poll; the default `for` is 1m.
    assert_eq!(
        pending,
        [(breach, "error_rate".to_string(), breach, breach + MIN)]
    );
    // The policy acts no earlier than the finish line the event announced.
    let countdown = timed(&d)
        .into_iter()
        .find(|(_, e)| matches!(e, Event::CountdownStarted { .. }))
        .map(|(at, _)| at);
    assert_eq!(countdown, Some(breach + MIN));
}

#[test]
fn a_breach_that_clears_and_returns_is_a_new_race() {
    let mut d = Drive::started("");
    d.run(MIN, healthy);
    d.run(10 * SEC, |_| Some(0.9));
    d.run(10 * SEC, healthy);
    d.run(10 * SEC, |_| Some(0.9));
    let races = d
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::BreachPending { .. }))
        .count();
    assert_eq!(races, 2);
}

#[test]
fn the_first_look_at_a_metric_in_a_stage_is_journalled_once() {
    let mut d = Drive::started("");
    d.run(MIN, healthy);
    for _ in 0..3 {
        d.cmd(Command::Look {
            metric: "error_rate".into(),
        });
    }
    d.cmd(Command::Look {
        metric: "no_such_metric".into(),
    });
    let looks: Vec<_> = d
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Looked { by, metric, stage } => Some((by.clone(), metric.clone(), *stage)),
            _ => None,
        })
        .collect();
    assert_eq!(looks, [(alice(), "error_rate".to_string(), 0)]);
    let words = cockpit::rollout::words::words(
        d.events()
            .into_iter()
            .find(|e| matches!(e, Event::Looked { .. }))
            .unwrap(),
    );
    assert_eq!(
        words.map(|(_, w)| w).as_deref(),
        Some("alice opened error_rate")
    );
}

#[test]
fn a_question_open_on_screen_is_said_as_a_decision_in_progress_but_not_journalled() {
    let mut d = Drive::started("");
    d.run(MIN, healthy);
    let before = d.events().len();
    d.cmd(Command::Question { open: true });
    d.cmd(Command::Question { open: false });
    let deciding: Vec<_> = d
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Deciding(open) => Some(*open),
            _ => None,
        })
        .collect();
    assert_eq!(deciding, [true, false]);
    assert_eq!(d.events().len(), before, "the incident log stays quiet");
}
