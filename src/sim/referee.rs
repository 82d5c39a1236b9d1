//! The drill's referee: watches the session's journal events as they are
//! made (the effects stream, like any view) and says when the drill is over
//! and what it scored. Pure: the drill's runtime feeds it and acts on its
//! calls; nothing is read back from the journal file.

use super::Scenario;
use super::pace::Pace;
use super::score;
use crate::rollout::{At, DrillScore, Event, Move};

/// What the referee says at a moment of the drill.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// The drill goes on.
    Play,
    /// The rollout reached its outcome: journal the score.
    Outcome(Box<DrillScore>),
    /// The scenario's time is up with no outcome: journal the score and
    /// stop the drill, held.
    TimeUp(Box<DrillScore>, String),
}

pub struct Referee {
    scenario: Scenario,
    /// A blind drill's neutral name, revealed with the score.
    blind: Option<String>,
    events: Vec<(At, Event)>,
    started: Option<At>,
    finished: bool,
    /// The score, once the session journalled it.
    scored: bool,
    pub pace: Pace,
}

impl Referee {
    pub fn new(scenario: Scenario, blind: Option<String>) -> Referee {
        Referee {
            pace: Pace::new(scenario.rollout.wait),
            scenario,
            blind,
            events: Vec::new(),
            started: None,
            finished: false,
            scored: false,
        }
    }

    /// One journal event, as the session made it.
    pub fn see(&mut self, at: At, event: &Event) {
        match event {
            Event::Started { .. } => self.started = self.started.or(Some(at)),
            Event::Finished { .. } => self.finished = true,
            Event::DrillScore(_) => self.scored = true,
            _ => {}
        }
        self.pace.see(at, event);
        self.events.push((at, event.clone()));
    }

    /// Whether the drill is over at `now`, and with what score. A rollback
    /// decided before time was up ends with its outcome once verified
    /// (bounded): the call was made in time.
    pub fn call(&self, now: At) -> Call {
        let Some(started) = self.started else {
            return Call::Play;
        };
        if self.scored {
            return Call::Play;
        }
        if self.finished {
            return Call::Outcome(Box::new(self.score(now)));
        }
        let end = started + self.scenario.duration.as_millis();
        let rolling_back = self.events.iter().any(|(at, e)| {
            *at < end && matches!(e, Event::Decision { action, .. } if *action == Move::Rollback)
        });
        let grace = self.scenario.policy.rollback_verify_within.as_millis() + 60_000;
        let over = now >= end && !(rolling_back && now < end + grace);
        if !over {
            return Call::Play;
        }
        let s = self.score(now);
        let why = format!(
            "drill time is up ({}): {} at {}",
            self.scenario.duration,
            s.outcome.replace('_', " "),
            s.stage
        );
        Call::TimeUp(Box::new(s), why)
    }

    /// The score a session that ended unscored (quit, a signal, an outcome
    /// headless) still owes its journal; none once it was journalled.
    pub fn owed(&self, now: At) -> Option<DrillScore> {
        (!self.scored).then(|| self.score(now))
    }

    fn score(&self, now: At) -> DrillScore {
        let mut s = score::score(&self.scenario, &self.events, now);
        s.blind = self.blind.clone();
        s
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::rollout::Outcome;
    use crate::rollout::window::WindowStatus;

    const T0: At = 1_700_000_000_000;
    const MIN: u64 = 60_000;

    /// A drill's start, as the journal says it; the score's tests use it too.
    pub(in crate::sim) fn started() -> Event {
        Event::Started {
            rollout: "drill".into(),
            service: "checkout".into(),
            environment: "production".into(),
            old_version: "1".into(),
            new_version: "2".into(),
            strategy: "canary".into(),
            stages: ["5%", "25%", "50%", "100%"].map(String::from).to_vec(),
            operator: "ana".into(),
            window: WindowStatus::Skipped("drill".into()),
        }
    }

    #[test]
    fn a_drill_nobody_drives_is_over_at_its_duration_held_and_scored_once() {
        let scenario = Scenario::load("healthy").unwrap();
        let duration = scenario.duration.as_millis();
        let mut r = Referee::new(scenario, None);
        assert_eq!(r.call(T0), Call::Play, "not started");
        r.see(T0, &started());
        assert_eq!(r.call(T0 + MIN), Call::Play);
        let Call::TimeUp(s, why) = r.call(T0 + duration) else {
            panic!("time is up");
        };
        assert_eq!(s.outcome, "held");
        assert!(why.starts_with("drill time is up"), "{why}");
        r.see(T0 + duration, &Event::DrillScore(s));
        assert_eq!(r.call(T0 + duration + MIN), Call::Play, "scored once");
        assert_eq!(r.owed(T0 + duration + MIN), None);
    }

    #[test]
    fn an_outcome_is_scored_and_a_quit_before_it_still_owes_a_score() {
        let mut r = Referee::new(
            Scenario::load("error-burst").unwrap(),
            Some("blind #1".into()),
        );
        r.see(T0, &started());
        let owed = r.owed(T0 + MIN).expect("a quit owes the score");
        assert_eq!(owed.blind.as_deref(), Some("blind #1"));
        r.see(
            T0 + 4 * MIN,
            &Event::Finished {
                outcome: Outcome::RolledBack,
            },
        );
        let Call::Outcome(s) = r.call(T0 + 4 * MIN) else {
            panic!("the outcome ends the drill");
        };
        assert_eq!(s.outcome, "rolled_back");
    }
}
