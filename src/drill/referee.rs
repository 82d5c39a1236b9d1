//! The referee's task: watches the session's effects like any view, sets
//! the clock's pace, and sends the score (and, at time up, the stop) back
//! to the session as the drill's other edges do.

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::clock::Clock;
use crate::rollout::{Effect, Event};
use crate::run::Msg;
use crate::sim::Scenario;
use crate::sim::pace::Speed;
use crate::sim::referee::{Call, Referee};

/// How often the referee looks at the clock (real time): the pace and the
/// time-up are checked between effects too.
const LOOK_EVERY: Duration = Duration::from_millis(100);

pub struct Watch {
    referee: Referee,
    /// Headless, the session ends by itself on an outcome, so the outcome's
    /// score is written after it (once, by `settle`).
    headless: bool,
    /// `--speed` for the quiet waits, on screen; none: the clock never
    /// changes pace.
    speed: Option<f64>,
}

impl Watch {
    pub fn new(
        scenario: &Scenario,
        blind: Option<String>,
        headless: bool,
        speed: Option<f64>,
    ) -> Watch {
        Watch {
            referee: Referee::new(scenario.clone(), blind),
            headless,
            speed,
        }
    }

    /// Until the session ends (its effects channel closes); returns the
    /// referee, which knows whether a score is still owed.
    pub async fn run(
        mut self,
        mut effects: UnboundedReceiver<Effect>,
        clock: Clock,
        tx: UnboundedSender<Msg>,
    ) -> Referee {
        let mut look = tokio::time::interval(LOOK_EVERY);
        let mut called = false;
        loop {
            tokio::select! {
                effect = effects.recv() => match effect {
                    Some(Effect::Journal { at, event }) => self.referee.see(at, &event),
                    Some(Effect::Deciding(open)) => self.referee.pace.deciding(open),
                    Some(_) => continue,
                    None => return self.referee,
                },
                _ = look.tick() => {}
            }
            let now = clock.now();
            if let Some(speed) = self.speed {
                clock.set_speed(match self.referee.pace.at(now) {
                    Speed::Human => 1.0,
                    Speed::Compressed => speed,
                });
            }
            if !called {
                called = self.call(now, &tx);
            }
        }
    }

    /// Sends what the referee calls at `now`; true once the call is made.
    fn call(&self, now: crate::rollout::At, tx: &UnboundedSender<Msg>) -> bool {
        match self.referee.call(now) {
            Call::Play => false,
            Call::Outcome(_) if self.headless => true,
            Call::Outcome(score) => {
                let _ = tx.send(Msg::Journal(Event::DrillScore(score)));
                true
            }
            Call::TimeUp(score, why) => {
                let _ = tx.send(Msg::Journal(Event::DrillScore(score)));
                let _ = tx.send(Msg::Stop(why));
                true
            }
        }
    }
}
