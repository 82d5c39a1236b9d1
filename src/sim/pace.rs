//! Human pace: when a drill on screen runs in real seconds and when its
//! quiet waits may be compressed by `--speed`. Pure: fed the journal's
//! events as the session makes them, asked at a simulated time.
//!
//! A person is scored on how fast they see and decide, so every window in
//! which the screen asks something of them runs at real pace: a countdown,
//! a critical breach whose `for` they race, the first minute after a metric
//! leaves OK, a pending breach until its `for` would hold (the engine's
//! `BreachPending` says when), the first minute of a stage whose wait is
//! over (the operator may advance), a pause or hold they asked for, and a
//! decision's y/N question while it is open on screen. Only what the screen shows moves the pace,
//! never the simulator's hidden fault, so a blind drill's pace gives
//! nothing away.

use std::collections::BTreeSet;

use crate::duration::Span;
use crate::rollout::{At, Event, Level, Move};

/// How long after a metric first leaves OK the drill stays at real pace:
/// the trainee's first look.
pub const FIRST_LOOK_MS: u64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    /// One simulated second per real second.
    Human,
    /// The drill's `--speed`.
    Compressed,
}

#[derive(Debug, Clone, Default)]
pub struct Pace {
    /// Simulated ms a stage observes before it can be advanced.
    wait_ms: u64,
    countdown: bool,
    critical: BTreeSet<String>,
    /// Until when a pending breach's `for` runs: the race against it.
    pending_until: Option<At>,
    alarmed: BTreeSet<String>,
    first_look_until: Option<At>,
    /// When the observed stage's wait is over (the operator may advance).
    ready_at: Option<At>,
    /// The operator paused or held: they are thinking.
    thinking: bool,
    /// A decision's y/N question is open on screen.
    asked: bool,
    /// A rollback was decided, or the rollout ended: nothing left to decide.
    decided: bool,
}

impl Pace {
    pub fn new(stage_wait: Span) -> Pace {
        Pace {
            wait_ms: stage_wait.as_millis(),
            ..Pace::default()
        }
    }

    pub fn see(&mut self, at: At, event: &Event) {
        match event {
            Event::CountdownStarted { .. } => self.countdown = true,
            Event::CountdownCleared { .. } => self.countdown = false,
            Event::MetricChanged { metric, to, .. } => self.metric(at, metric, *to),
            Event::BreachPending { holds_at, .. } => {
                self.pending_until = self.pending_until.max(Some(*holds_at))
            }
            Event::StageObserving { .. } => self.ready_at = Some(at + self.wait_ms),
            Event::StageEntering { .. } | Event::StageLeft { .. } => self.ready_at = None,
            Event::Decision { action, .. } => self.decision(*action),
            Event::Finished { .. } => self.decided = true,
            _ => {}
        }
    }

    /// A question about a decision opened (true) or answered (false).
    pub fn deciding(&mut self, open: bool) {
        self.asked = open;
    }

    fn metric(&mut self, at: At, metric: &str, to: Level) {
        if to == Level::Critical {
            self.critical.insert(metric.to_string());
        } else {
            self.critical.remove(metric);
        }
        if to >= Level::Warning {
            if self.alarmed.is_empty() {
                self.first_look_until = Some(at + FIRST_LOOK_MS);
            }
            self.alarmed.insert(metric.to_string());
        } else {
            self.alarmed.remove(metric);
        }
    }

    fn decision(&mut self, action: Move) {
        match action {
            Move::Pause | Move::Hold => self.thinking = true,
            Move::Resume | Move::Release => self.thinking = false,
            Move::Rollback | Move::Promote => {
                self.decided = true;
                self.countdown = false;
            }
            _ => {}
        }
    }

    /// The speed the drill runs at `now`.
    pub fn at(&self, now: At) -> Speed {
        if self.decided {
            return Speed::Compressed;
        }
        let deciding = self.countdown
            || !self.critical.is_empty()
            || self.thinking
            || self.asked
            || self.pending_until.is_some_and(|until| now < until)
            || self.first_look_until.is_some_and(|until| now < until)
            || self
                .ready_at
                .is_some_and(|ready| now >= ready && now < ready + FIRST_LOOK_MS);
        if deciding {
            Speed::Human
        } else {
            Speed::Compressed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    fn changed(metric: &str, to: Level) -> Event {
        Event::MetricChanged {
            metric: metric.into(),
            from: Level::Ok,
            to,
            reason: String::new(),
            canary: None,
            baseline: None,
        }
    }

    fn observing(stage: usize) -> Event {
        Event::StageObserving {
            stage,
            name: "5%".into(),
        }
    }

    fn decision(action: Move) -> Event {
        Event::Decision {
            action,
            by: crate::rollout::Actor::Policy,
            reason: String::new(),
            stage: 1,
            metrics: vec![],
            traffic: None,
        }
    }

    #[test]
    fn a_quiet_stage_is_compressed_until_its_wait_is_over() {
        let mut p = Pace::new(Span::mins(3));
        p.see(10 * S, &observing(0));
        assert_eq!(p.at(100 * S), Speed::Compressed);
        // The wait is over: the operator may advance, in real seconds,
        // for a minute; an operator who never does waits compressed.
        assert_eq!(p.at(190 * S), Speed::Human);
        assert_eq!(p.at(190 * S + FIRST_LOOK_MS), Speed::Compressed);
        p.see(
            200 * S,
            &Event::StageEntering {
                stage: 1,
                name: "25%".into(),
                exposure: String::new(),
            },
        );
        assert_eq!(p.at(201 * S), Speed::Compressed);
    }

    #[test]
    fn a_breach_and_its_countdown_run_at_human_pace_until_the_rollback() {
        let mut p = Pace::new(Span::mins(3));
        p.see(10 * S, &observing(1));
        p.see(20 * S, &changed("error_rate", Level::Critical));
        // Critical long after the first look: the `for` is being raced.
        assert_eq!(p.at(150 * S), Speed::Human);
        p.see(
            80 * S,
            &Event::CountdownStarted {
                seconds: 30,
                reason: String::new(),
            },
        );
        p.see(81 * S, &changed("error_rate", Level::Warning));
        assert_eq!(p.at(150 * S), Speed::Human, "the countdown still runs");
        p.see(110 * S, &decision(Move::Rollback));
        assert_eq!(p.at(111 * S), Speed::Compressed, "nothing left to decide");
    }

    #[test]
    fn a_warning_gets_a_first_look_in_real_time_then_compresses() {
        let mut p = Pace::new(Span::mins(3));
        p.see(0, &observing(0));
        p.see(30 * S, &changed("latency_p95", Level::Warning));
        assert_eq!(p.at(60 * S), Speed::Human);
        assert_eq!(p.at(30 * S + FIRST_LOOK_MS), Speed::Compressed);
        // A pause is the operator thinking: real pace until they resume.
        p.see(95 * S, &decision(Move::Pause));
        assert_eq!(p.at(100 * S), Speed::Human);
        p.see(130 * S, &decision(Move::Resume));
        assert_eq!(p.at(131 * S), Speed::Compressed);
    }

    #[test]
    fn a_pending_breach_runs_at_human_pace_until_its_for_would_hold() {
        let mut p = Pace::new(Span::mins(3));
        p.see(0, &observing(1));
        // Long past the first look, a breach starts its `for`.
        p.see(
            200 * S,
            &Event::BreachPending {
                metric: "error_rate".into(),
                since: 200 * S,
                holds_at: 290 * S,
            },
        );
        assert_eq!(p.at(260 * S), Speed::Human, "the trainee races the for");
        assert_eq!(p.at(289 * S), Speed::Human);
        assert_eq!(p.at(290 * S), Speed::Compressed, "the race is over");
    }

    #[test]
    fn an_open_question_is_a_decision_in_progress() {
        let mut p = Pace::new(Span::mins(3));
        p.see(0, &observing(0));
        assert_eq!(p.at(30 * S), Speed::Compressed);
        p.deciding(true);
        assert_eq!(p.at(31 * S), Speed::Human, "roll back? y/N is on screen");
        p.deciding(false);
        assert_eq!(p.at(32 * S), Speed::Compressed);
    }
}
