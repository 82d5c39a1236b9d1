//! The real terminal: enter and restore it, read keys, pace redraws.
//!
//! Every way out restores the terminal: a normal return (the guard's
//! Drop), a signal (the runtime turns SIGTERM/SIGHUP into `Msg::Stop`), a
//! panic on the loop's thread (ratatui's hook, then unwinding) and a panic
//! in any other task (the hook restores, marks the screen dead so nothing
//! draws on the restored terminal, and stops the session).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEvent};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc::UnboundedSender;

use tokio::task::JoinHandle;

use super::screen::{Following, Screen};
use crate::error::Error;
use crate::feed::{Follower, follow_now, wall_ms};
use crate::rollout::{At, Effect, Input, Rollout};
use crate::run::handover::Grant;
use crate::run::{Control, Ended, Msg, Session, View};

/// About ten frames a second at most: enough to feel immediate, cheap over SSH.
const MIN_FRAME: Duration = Duration::from_millis(100);

static PANICKED: AtomicBool = AtomicBool::new(false);
/// The screen owns the terminal (alternate screen, raw mode).
static ON_SCREEN: AtomicBool = AtomicBool::new(false);
static PANIC_TX: Mutex<Option<UnboundedSender<Msg>>> = Mutex::new(None);

/// How following ended, for `cockpit watch`.
#[derive(Debug)]
pub enum Watched {
    /// The follower left (`q`, a signal).
    Left,
    /// The driver granted this follower the wheel: it drives from here.
    TookOver(Grant),
}

/// Runs the session on the screen until quit, a signal, a hand-over or a
/// fatal error. A failure comes back to be told after the terminal is
/// given back, so it is not drawn over by the alternate screen.
pub async fn run(session: Session, screen: Screen, first: Vec<Input>) -> Result<Ended, Error> {
    let journal = session
        .journal
        .as_ref()
        .map(|j| j.path().display().to_string());
    let (mut view, reader) = Tui::enter(screen, session.sender())?;
    panic_for_tests();
    let ended = session.run(&mut view, first).await;
    let ended = view.leave(reader, ended);
    if let Some(path) = journal {
        crate::say::tell(format!("cockpit: journal {path}"));
    }
    ended
}

/// Follows another engineer's rollout from its live feed, read-only, until
/// `q`, a signal, the terminal goes away, or the driver grants it the
/// wheel. Like `run`, a failure comes back to be told by `main`, after the
/// terminal is given back.
pub async fn watch(mut follower: Follower, screen: Screen) -> Result<Watched, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    crate::run::spawn_signals(tx.clone());
    let (me, _) = crate::clock::operator();
    let mut presence = follower.presence(&me);
    let mut taking = super::wheel::Taking::new(&follower.live.journal, &me);
    let (mut view, reader) = Tui::enter(screen, tx)?;
    // Four looks a second: the driver writes at most that often.
    let mut look = tokio::time::interval(Duration::from_millis(250));
    look.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let ended = loop {
        let now = view.follow(&mut follower);
        tokio::select! {
            _ = look.tick() => {
                follower.poll();
                if let Some(p) = presence.as_mut() {
                    p.refresh();
                }
                if let Some(grant) = taking.look(&mut view.screen) {
                    break Ok(Watched::TookOver(grant));
                }
            }
            msg = rx.recv() => match msg {
                Some(Msg::Key(key)) => {
                    let (inputs, control) = view.screen.key(&follower.rollout, key, now);
                    taking.key(&mut view.screen, inputs, &control);
                    if control == Control::Quit {
                        break Ok(Watched::Left);
                    }
                }
                Some(Msg::Stop(why)) => {
                    // The driver's "the journal can resume..." is not a follower's business.
                    view.stopped = why.split(';').next().map(str::to_string);
                    break Ok(Watched::Left);
                }
                Some(_) => {}
                // The view holds a sender, so this is a fault, not a way out.
                None => break Err(Error::failed("the screen stopped hearing keys and signals")),
            },
        }
        let now = view.follow(&mut follower);
        view.render(&follower.rollout, now);
    };
    let ended = view.leave(reader, ended);
    crate::say::tell(format!(
        "cockpit: watched {}",
        follower.live.journal.display()
    ));
    ended
}

/// Gives the terminal back, once: after a panic both the hook and the
/// screen's Drop get here, and leaving the alternate screen a second time
/// moves the cursor back up (terminals restore the saved cursor), so the
/// lines after it would overwrite the panic message.
fn restore() {
    if ON_SCREEN.swap(false, Ordering::SeqCst) {
        leave_screen();
    }
}

/// Leaves the alternate screen and raw mode and shows the cursor; safe on
/// a terminal that is gone.
fn leave_screen() {
    ratatui::restore();
    let mut out = std::io::stdout();
    let _ = crossterm::execute!(out, crossterm::cursor::Show);
    let _ = out.flush();
}

/// tokio catches task panics, so without this the loop would carry on
/// drawing over a terminal the panic hook already restored.
fn stop_on_panic(tx: UnboundedSender<Msg>) {
    if let Ok(mut slot) = PANIC_TX.lock() {
        *slot = Some(tx);
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKED.store(true, Ordering::SeqCst);
        restore();
        previous(info);
        if let Ok(slot) = PANIC_TX.lock()
            && let Some(tx) = slot.as_ref()
        {
            let _ = tx.send(Msg::Stop(format!(
                "internal error, stopping: {info}; the journal can resume this rollout"
            )));
        }
    }));
}

/// Debug builds only: a task that panics once the file named by
/// `COCKPIT_TEST_PANIC_WHEN` exists, so the pseudo-terminal tests can prove
/// a dying task stops the screen. A file the test creates, not a timer: on
/// a loaded machine a timer can fire before the test has seen the screen.
fn panic_for_tests() {
    #[cfg(debug_assertions)]
    if let Some(trigger) = std::env::var_os("COCKPIT_TEST_PANIC_WHEN") {
        tokio::spawn(async move {
            while !std::path::Path::new(&trigger).exists() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("test panic in a background task (COCKPIT_TEST_PANIC_WHEN)");
        });
    }
}

fn spawn_keys(tx: UnboundedSender<Msg>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = EventStream::new();
        while let Some(event) = events.next().await {
            let msg = match event {
                Ok(TermEvent::Key(key)) => Msg::Key(key),
                Ok(TermEvent::Resize(..)) => Msg::Redraw,
                Ok(_) => continue,
                Err(e) => {
                    let _ = tx.send(Msg::Stop(format!(
                        "cannot read the terminal ({e}); the journal can resume this rollout"
                    )));
                    return;
                }
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
        let _ = tx.send(Msg::Stop(
            "the terminal closed; the journal can resume this rollout".into(),
        ));
    })
}

struct Tui {
    screen: Screen,
    terminal: Option<DefaultTerminal>,
    tx: UnboundedSender<Msg>,
    last_frame: Option<Instant>,
    /// A deferred redraw is already on its way.
    redraw_asked: Arc<AtomicBool>,
    stopped: Option<String>,
}

impl Drop for Tui {
    fn drop(&mut self) {
        if self.terminal.take().is_some() {
            restore();
        }
    }
}

impl Tui {
    /// Takes the terminal, or says why it cannot.
    fn enter(screen: Screen, tx: UnboundedSender<Msg>) -> Result<(Tui, JoinHandle<()>), Error> {
        let terminal = match ratatui::try_init() {
            Ok(t) => {
                ON_SCREEN.store(true, Ordering::SeqCst);
                t
            }
            Err(e) => {
                leave_screen();
                return Err(Error::failed(format!("cannot set up the terminal: {e}")));
            }
        };
        stop_on_panic(tx.clone());
        let reader = spawn_keys(tx.clone());
        let view = Tui {
            screen,
            terminal: Some(terminal),
            tx,
            last_frame: None,
            redraw_asked: Arc::new(AtomicBool::new(false)),
            stopped: None,
        };
        Ok((view, reader))
    }

    /// Gives the terminal back and says why the screen stopped, if it had to.
    /// A panic outranks how the session ended: its message is already on
    /// stderr, only its code is left.
    fn leave<T>(mut self, reader: JoinHandle<()>, ended: Result<T, Error>) -> Result<T, Error> {
        reader.abort();
        let stopped = self.stopped.take();
        drop(self);
        if let Some(why) = stopped {
            crate::say::tell(format!("cockpit: {why}"));
        }
        if PANICKED.load(Ordering::SeqCst) {
            Err(Error::shown(crate::error::Kind::Failed))
        } else {
            ended
        }
    }

    /// Brings a follower's screen up to the driver's feed: new log lines,
    /// whether the driver went quiet; returns the time to draw at.
    fn follow(&mut self, follower: &mut Follower) -> At {
        for line in follower.new_lines() {
            self.screen.logged(line.at, line.level.level(), &line.text);
        }
        let (now, silent_ms) = follow_now(&follower.live, wall_ms());
        self.screen.operator = follower.live.driver.clone();
        self.screen.ssh = follower.live.ssh;
        self.screen.watchers.clone_from(&follower.live.watchers);
        self.screen.link_down = follower.link_down();
        self.screen.following = Some(Following {
            silent_ms,
            ended: follower.live.ended.clone(),
        });
        now
    }

    /// Draws now, or asks for a redraw once the frame budget allows.
    fn paced_draw(&mut self, r: &Rollout, now: At) {
        if let Some(last) = self.last_frame {
            let since = last.elapsed();
            if since < MIN_FRAME {
                if !self.redraw_asked.swap(true, Ordering::SeqCst) {
                    let (tx, asked) = (self.tx.clone(), self.redraw_asked.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(MIN_FRAME - since).await;
                        asked.store(false, Ordering::SeqCst);
                        let _ = tx.send(Msg::Redraw);
                    });
                }
                return;
            }
        }
        self.last_frame = Some(Instant::now());
        let screen = &self.screen;
        if let Some(t) = self.terminal.as_mut() {
            // A failed write means the terminal is gone; SIGHUP stops us.
            let _ = t.draw(|f| super::draw(f, screen, r, now));
        }
    }
}

impl View for Tui {
    fn effect(&mut self, _: &Rollout, effect: &Effect) {
        self.screen.effect(effect);
    }

    fn line(&mut self, text: &str) {
        self.screen.line(text);
    }

    fn stopped(&mut self, why: &str) {
        self.stopped = Some(why.to_string());
    }

    fn busy(&self) -> bool {
        self.screen.mode != super::screen::Mode::Normal
    }

    fn refused(&mut self, why: &str) {
        self.screen.refused(why);
    }

    fn forced_start(&mut self) -> Option<String> {
        self.screen.forced.take()
    }

    fn history(&mut self, effect: &Effect) {
        self.screen.effect(effect);
    }

    fn watchers(&mut self, who: &[String]) {
        if self.screen.watchers != who {
            self.screen.watchers = who.to_vec();
        }
    }

    fn key(&mut self, rollout: &Rollout, key: KeyEvent, now: At) -> (Vec<Input>, Control) {
        self.screen.key(rollout, key, now)
    }

    fn render(&mut self, rollout: &Rollout, now: At) {
        self.screen.saw(now);
        self.screen.observe(rollout, now);
        if PANICKED.load(Ordering::SeqCst) {
            return;
        }
        // The terminal only writes the cells that changed, so a clock tick
        // costs a few bytes, not a repaint.
        self.paced_draw(rollout, now);
    }

    fn stuck(&mut self, _: &Rollout) -> Option<i32> {
        None
    }

    fn exits_on_outcome(&self) -> bool {
        // The operator reads the outcome, then quits with q.
        false
    }
}
