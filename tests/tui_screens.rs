//! The cockpit screen on ratatui's TestBackend: whole screens as insta
//! snapshots at 120x40 and 80x24 with a fixed clock, the colour of every
//! state asserted on the buffer, and the key map feeding footer and help.
//! Each state is built by driving the pure engine with fixed timestamps.

use std::path::Path;

use cockpit::config;
use cockpit::rollout::{At, Command, Group, Input, Reading, Rollout, Sample};
use cockpit::tui::keys::Action;
use cockpit::tui::theme::Theme;
use cockpit::tui::{Following, Mode, Screen, utc_time};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

thread_local! {
    /// `[ui] keys` for the worlds built on this thread; empty: the defaults.
    static KEYS: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Tuesday 2026-11-24 10:30:00 UTC: inside seed 003's best window.
const T0: At = 1_795_516_200_000;
const SEC: At = 1000;
const MIN: At = 60 * SEC;

const CONFIG: &str = r#"
[rollout]
name = "checkout 2.0"
service = "checkout"
old_version = "1.9"
new_version = "2.0"

[[stage]]
name = "canary"
weight = 5
irreversible = true

[[stage]]
name = "quarter"
weight = 25
irreversible = true

[[stage]]
name = "half"
weight = 50
irreversible = true

[[stage]]
name = "all"
weight = 100
irreversible = true

[scrape]
canary = ["http://127.0.0.1:9100/metrics"]
baseline = ["http://127.0.0.1:9101/metrics"]
"#;

/// Canary values for error rate (%), p95 (ms), success rate (%); None is no data.
#[derive(Clone, Copy)]
struct Health {
    error: Option<f64>,
    p95: f64,
    success: f64,
}

const HEALTHY: Health = Health {
    error: Some(0.05),
    p95: 180.0,
    success: 99.95,
};

/// These screens show the threshold judge's states (point values held for
/// `for`); the evidence judge's words are tested in tests/engine.rs.
fn thresholds(mut cfg: cockpit::config::Config) -> cockpit::config::Config {
    cfg.policy.judge = cockpit::config::model::Judge::Thresholds;
    cfg
}

struct World {
    r: Rollout,
    screen: Screen,
    /// A second screen following this rollout as `cockpit watch` does:
    /// it sees only copies of the rollout, never the effects.
    follower: Option<Screen>,
    now: At,
    /// The stable version's error rate (%).
    baseline_error: f64,
}

impl World {
    /// The dark theme, in colour or not whatever `NO_COLOR` says here, so
    /// the snapshots and the `t` key do not depend on the environment.
    fn new(extra: &str, colour: bool) -> World {
        let keys = KEYS.with(|k| k.borrow().clone());
        let text = format!("{CONFIG}\n{extra}\n{keys}");
        let cfg = thresholds(
            config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0])),
        );
        let theme = Theme::load("dark", colour).unwrap();
        let mut screen = Screen::new(&cfg, theme, "alice@ops-1", true)
            .unwrap()
            .with_clock(utc_time);
        screen.colour = colour;
        World {
            r: Rollout::new(cfg, T0),
            screen,
            follower: None,
            now: T0,
            baseline_error: 0.05,
        }
    }

    /// Started in the best window with the checklist ticked by keys.
    fn started() -> World {
        World::new("", true).start()
    }

    fn start(mut self) -> World {
        let w = &mut self;
        for item in 1..=6 {
            w.press(char::from_digit(item, 10).unwrap());
        }
        w.send(Input::Start {
            local: utc_time(T0),
            operator: "alice@ops-1".into(),
        });
        self
    }

    /// Started with the checklist and window skipped, as drills do.
    fn start_drill(&mut self) {
        self.send(Input::Command {
            actor: cockpit::rollout::Actor::Operator("alice@ops-1".into()),
            command: Command::SkipChecks {
                reason: "drill".into(),
            },
        });
        self.send(Input::Start {
            local: utc_time(self.now),
            operator: "alice@ops-1".into(),
        });
    }

    fn send(&mut self, input: Input) {
        self.screen.saw(self.now);
        for effect in self.r.update(self.now, input) {
            self.screen.effect(&effect);
        }
        self.screen.observe(&self.r, self.now);
        if let Some(f) = self.follower.as_mut() {
            let r = &self.r;
            // Through JSON as the live feed carries them: what it leaves
            // out (a reading's raw answer) the follower never sees.
            let tracks = serde_json::to_value(&r.tracks).expect("tracks as JSON");
            let tracks = serde_json::from_value(tracks).expect("tracks from JSON");
            let copy = Rollout::follow(r.config.clone(), r.state.clone(), tracks);
            f.saw(self.now);
            f.observe(&copy, self.now);
        }
    }

    /// From now on a follower watches too.
    fn with_follower(mut self) -> World {
        let theme = Theme::load("dark", true).unwrap();
        let mut f = Screen::new(&self.r.config, theme, "alice@ops-1", true)
            .unwrap()
            .with_clock(utc_time);
        f.colour = true;
        f.following = Some(Following::default());
        self.follower = Some(f);
        self
    }

    /// Draws what the follower sees from here on.
    fn seen_by_the_follower(mut self) -> World {
        self.screen = self.follower.take().expect("a follower");
        self
    }

    fn press_key(&mut self, key: KeyEvent) {
        let (inputs, _) = self.screen.key(&self.r, key, self.now);
        for input in inputs {
            self.send(input);
        }
    }

    /// Presses the key bound to `action` now (builders use this, so the
    /// snapshot set can be built under any key map).
    fn act(&mut self, action: Action) {
        let key = self.screen.keys.keys(action)[0];
        let mods = if key.ctrl {
            KeyModifiers::CONTROL
        } else {
            KeyModifiers::NONE
        };
        self.press_key(KeyEvent::new(key.code, mods));
    }

    fn press(&mut self, c: char) {
        self.press_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }

    /// One sample a second of every metric, canary and baseline; the
    /// canary gets the share of requests its stage set (none once rolled back).
    fn run(&mut self, dur: At, h: Health) {
        let end = self.now + dur;
        while self.now < end && !self.r.is_finished() {
            self.now += SEC;
            let weight = self
                .r
                .set_share()
                .or(self.r.config.stages[self.r.state.stage].weight)
                .unwrap_or(0.0);
            self.poll(h, weight);
        }
    }

    /// One poll with the canary getting `share` percent of the requests.
    fn poll(&mut self, h: Health, share: f64) {
        {
            let base_requests = if share > 0.0 {
                1200.0 * (100.0 - share) / share
            } else {
                24000.0
            };
            let quiet = |r: Reading| {
                if share > 0.0 {
                    r
                } else {
                    Reading::quiet("no requests between the last two scrapes")
                }
            };
            let canary = [
                h.error.map_or_else(
                    || Reading::no_data("query returned no series"),
                    |v| Reading::value(v, Some(1200.0)),
                ),
                Reading::value(h.p95, Some(1200.0)),
                Reading::value(h.success, Some(1200.0)),
            ];
            let baseline = [self.baseline_error, 170.0, 99.96];
            let mut poll = Vec::new();
            for (metric, reading) in canary.into_iter().enumerate() {
                poll.push(Sample {
                    metric,
                    group: Group::Canary,
                    reading: quiet(reading),
                });
                poll.push(Sample {
                    metric,
                    group: Group::Baseline,
                    reading: Reading::value(baseline[metric], Some(base_requests)),
                });
            }
            self.send(Input::Poll(poll));
        }
    }

    /// One poll of one metric now, canary then baseline: (value,
    /// requests, the source's answer it was read from).
    fn answered(&mut self, metric: usize, said: [(f64, f64, String); 2]) {
        let [canary, baseline] = said.map(|(v, n, raw)| Reading::value(v, Some(n)).with_raw(&raw));
        self.send(Input::Poll(vec![
            Sample {
                metric,
                group: Group::Canary,
                reading: canary,
            },
            Sample {
                metric,
                group: Group::Baseline,
                reading: baseline,
            },
        ]));
    }

    fn draw(&self, width: u16, height: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
        t.draw(|f| cockpit::tui::draw(f, &self.screen, &self.r, self.now))
            .unwrap();
        t
    }

    fn line(&self) -> String {
        self.screen.decision_text(&self.r, self.now)
    }
}

fn healthy() -> World {
    let mut w = World::started();
    w.run(16 * MIN, HEALTHY);
    w
}

fn warning() -> World {
    let mut w = World::started();
    w.run(5 * MIN, HEALTHY);
    w.run(
        46 * SEC,
        Health {
            p95: 412.0,
            ..HEALTHY
        },
    );
    w
}

fn countdown() -> World {
    breach(World::started())
}

/// Five healthy minutes, then the error rate past critical long enough
/// for the auto-rollback countdown.
fn breach(mut w: World) -> World {
    w.run(5 * MIN, HEALTHY);
    w.run(
        70 * SEC,
        Health {
            error: Some(0.8),
            ..HEALTHY
        },
    );
    w
}

/// The countdown, with a follower watching from the start.
fn countdown_watched() -> World {
    breach(World::new("", true).with_follower().start())
}

/// p95 past its warning line, opened from the table with the keys, its
/// last readings carrying the scraped pages' histogram lines.
fn detail() -> World {
    let mut w = warning();
    let page = |p95_bucket: u32| {
        let mut page = String::from("# TYPE http_request_duration_seconds histogram\n");
        for (le, n) in [
            ("0.1", 400),
            ("0.25", 900),
            ("0.5", p95_bucket),
            ("+Inf", 1200),
        ] {
            page.push_str(&format!(
                "http_request_duration_seconds_bucket{{le=\"{le}\"}} {n}\n"
            ));
        }
        page.push_str("http_request_duration_seconds_sum 250.5\nhttp_request_duration_seconds_count 1200\nprocess_open_fds 12\n");
        cockpit::metrics::raw::exposition(&page, "http_request_duration_seconds")
    };
    w.answered(
        1,
        [(412.0, 1200.0, page(1100)), (170.0, 22800.0, page(1190))],
    );
    w.act(Action::SelectDown);
    w.act(Action::Open);
    w
}

/// The error rate read from Prometheus (its default template, which wins
/// over `[scrape]`), opened with Prometheus' answers to the queries as sent.
fn detail_prometheus() -> World {
    let mut w = World::new("[prometheus]\nurl = \"http://127.0.0.1:9090\"", true).start();
    w.run(5 * MIN, HEALTHY);
    let answer = |value: &str| {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1795516500,"{value}"]}}]}}}}"#
        );
        cockpit::metrics::raw::prometheus(body.as_bytes()).expect("an API answer")
    };
    w.answered(
        0,
        [
            (0.05, 1200.0, answer("0.05")),
            (0.05, 22800.0, answer("0.05")),
        ],
    );
    w.act(Action::Open);
    w
}

/// A follower who joined at the start opens the error rate during the
/// countdown: the same view, built from the feed's copies alone.
fn detail_follower() -> World {
    let mut w = countdown_watched().seen_by_the_follower();
    w.act(Action::Open);
    w
}

fn no_data() -> World {
    let mut w = World::started();
    w.run(
        2 * MIN,
        Health {
            error: None,
            ..HEALTHY
        },
    );
    w
}

fn rolled_back() -> World {
    let mut w = countdown();
    w.act(Action::Rollback);
    // The stable version carries the traffic again: the error rate drops.
    w.run(10 * SEC, HEALTHY);
    w
}

fn promoted() -> World {
    let mut w = World::started();
    for _ in 0..4 {
        w.run(16 * MIN, HEALTHY);
        w.act(Action::Advance);
    }
    w
}

/// At 25%, whose hook said OK but left the canary at 0.4% of requests.
fn traffic_stuck() -> World {
    let mut w = healthy();
    w.act(Action::Advance);
    for _ in 0..150 {
        w.now += SEC;
        w.poll(HEALTHY, 0.4);
    }
    w
}

/// "not ready" was said at 6 minutes; the stage became ready since.
fn feedback_outlived() -> World {
    let mut w = World::started();
    w.run(6 * MIN, HEALTHY);
    w.act(Action::Advance);
    w.run(10 * MIN, HEALTHY);
    w
}

/// A countdown answered with `key`, then `dur` more of `h`.
fn countdown_then(action: Action, dur: At, h: Health) -> World {
    let mut w = countdown();
    w.act(action);
    w.run(dur, h);
    w
}

/// The countdown cancelled with `c`; error rate and p95 stay critical.
fn countdown_cancelled() -> World {
    let h = Health {
        error: Some(0.8),
        p95: 640.0,
        ..HEALTHY
    };
    countdown_then(Action::Cancel, 40 * SEC, h)
}

fn countdown_held() -> World {
    let h = Health {
        error: Some(0.8),
        ..HEALTHY
    };
    countdown_then(Action::Hold, 5 * SEC, h)
}

/// Rolled back, but the stable version errors too (a shared dependency).
fn rolled_back_unrecovered() -> World {
    let mut w = countdown();
    w.baseline_error = 0.9;
    w.act(Action::Rollback);
    w.run(6 * MIN, HEALTHY);
    w
}

/// Friday evening, before the start: a no-deploy window.
fn outside_window() -> World {
    let mut w = World::new("", true);
    w.now = T0 + 3 * 24 * 60 * MIN + 7 * 60 * MIN;
    w.act(Action::Start);
    w
}

fn help() -> World {
    let mut w = healthy();
    w.act(Action::Help);
    w
}

fn paused() -> World {
    let mut w = healthy();
    w.act(Action::Pause);
    w
}

/// The enter hook of 25% failed.
fn failed_hook() -> World {
    let text = CONFIG.replace(
        "name = \"quarter\"\nweight = 25\nirreversible = true",
        "name = \"quarter\"\nweight = 25\nirreversible = true\nenter = { exec = [\"set-weight\", \"25\"] }",
    );
    let cfg = thresholds(
        config::parse(Path::new("t.toml"), &text).unwrap_or_else(|e| panic!("{}", e[0])),
    );
    let mut w = World::started();
    w.r = Rollout::new(cfg, w.now);
    w.start_drill();
    w.run(16 * MIN, HEALTHY);
    w.act(Action::Advance);
    let id = w.r.state.running.as_ref().expect("the enter hook runs").id;
    w.screen.line("error: weight service unreachable");
    w.send(Input::HookDone {
        id,
        ok: false,
        summary: "exit status 2".into(),
    });
    w
}

/// Not started: the pre-flight failed.
fn preflight_failed() -> World {
    let mut w = World::new("", true);
    w.screen.preflight = Some(failed_preflight());
    w
}

/// Where `text` starts on screen.
fn find(buf: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buf.area;
    for y in 0..area.height {
        let row: Vec<&str> = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
        for x in 0..area.width as usize {
            let mut s = String::new();
            for sym in &row[x..] {
                s.push_str(sym);
                if s.len() >= text.len() {
                    break;
                }
            }
            if s.starts_with(text) {
                return Some((x as u16, y));
            }
        }
    }
    None
}

fn fg_of(buf: &Buffer, text: &str) -> Color {
    let (x, y) = find(buf, text).unwrap_or_else(|| panic!("{text:?} not on screen:\n{buf:?}"));
    buf[(x, y)].fg
}

fn bg_of(buf: &Buffer, text: &str) -> Color {
    let (x, y) = find(buf, text).unwrap_or_else(|| panic!("{text:?} not on screen"));
    buf[(x, y)].bg
}

fn text_of(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

macro_rules! screens {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn at_120x40() {
                let w = super::$name();
                insta::assert_snapshot!(super::text_of(&w.draw(120, 40)));
            }

            #[test]
            fn at_80x24() {
                let w = super::$name();
                insta::assert_snapshot!(super::text_of(&w.draw(80, 24)));
            }
        }
    )*};
}

screens!(
    healthy,
    warning,
    countdown,
    no_data,
    rolled_back,
    promoted,
    traffic_stuck,
    feedback_outlived,
    countdown_cancelled,
    countdown_held,
    rolled_back_unrecovered,
    outside_window,
    help,
    detail,
    detail_prometheus,
    detail_follower
);

/// The header word, the decision line and the footer tell one story.
fn says(w: &World, word: &str, line: &str, footer: &str) {
    let screen = text_of(&w.draw(120, 40));
    let rows: Vec<&str> = screen.lines().collect();
    assert!(rows[1].trim_end().ends_with(word), "{screen}");
    let said = w.screen.decision_text(&w.r, w.now);
    assert!(said.starts_with(line), "{said}\n{screen}");
    let last = rows.last().unwrap();
    assert!(last.starts_with(footer), "{screen}");
}

#[test]
fn the_decision_area_never_contradicts_itself() {
    let w = feedback_outlived();
    says(&w, "OBSERVING", "Ready to advance to 25% (a)", "a advance");
    assert!(
        w.screen.flash.is_some(),
        "said, and kept until the next key"
    );
    let screen = text_of(&w.draw(120, 40));
    // Still in the log; gone from under the decision line.
    assert!(screen.contains("10:36:00 not ready"), "{screen}");
    assert!(!screen.contains("\n  not ready"), "{screen}");

    let w = countdown_cancelled();
    says(
        &w,
        "CRITICAL",
        "CRITICAL, auto-rollback cancelled for this breach: error rate 0.8% > 0.5% critical, \
         held 1m49s, past its 1m; 2 metrics critical",
        "A force",
    );

    let w = countdown_held();
    says(
        &w,
        "HELD",
        "AUTO-ROLLBACK HELD at 21s",
        "r roll back  h release",
    );

    let w = rolled_back();
    says(&w, "ROLLED BACK", "Rolled back at 10:36:10", "n note");
    assert!(w.line().ends_with(". Recovered"), "{}", w.line());
    let screen = text_of(&w.draw(120, 40));
    assert!(
        screen.contains("after the rollback: stable 1.9"),
        "{screen}"
    );
    assert!(screen.contains("error rate   0.05%    > 0.2%"), "{screen}");
    assert!(!screen.contains("0.8%    "), "no canary values: {screen}");

    let w = rolled_back_unrecovered();
    says(&w, "ROLLED BACK", "Rolled back at", "n note");
    let screen = text_of(&w.draw(120, 40));
    assert!(
        screen.contains("error rate   0.9%     > 0.2%   > 0.5%   24.0k  ✗ NOT RECOVERED"),
        "{screen}"
    );

    let w = outside_window();
    assert_eq!(w.r.state.started_at, None);
    says(&w, "WAITING", "Not started", "1-9 tick  o override window");
    assert_eq!(
        w.screen.decision_text(&w.r, w.now),
        "Not started: no-deploy window (Fri 12:00-24:00); o starts now with a typed reason, \
         or wait: the next window opens Mon 11:00 (in 2d17h30m)"
    );
    assert_eq!(
        w.screen.flash.as_deref(),
        Some("nothing started: outside the deploy window")
    );
}

#[test]
fn traffic_that_did_not_move_is_said_loudly_beside_what_was_set() {
    let w = traffic_stuck();
    let t = w.draw(80, 24);
    let text = text_of(&t);
    assert!(text.contains("25% set · 0.4% seen"), "{text}");
    let loud = "■ TRAFFIC DID NOT MOVE: SET 25%, SEEN 0.4% FOR 2M30S; THE HOOK SAID OK";
    assert!(text.contains(loud), "{text}");
    let buf = t.backend().buffer();
    let alarm = Theme::load("dark", true).unwrap().alarm;
    assert_eq!(Some(fg_of(buf, "■ TRAFFIC DID NOT MOVE")), alarm.fg);
    assert_eq!(Some(bg_of(buf, "■ TRAFFIC DID NOT MOVE")), alarm.bg);
    assert_eq!(Some(fg_of(buf, "25% set · 0.4% seen")), alarm.fg);
}

#[test]
fn each_state_says_itself_in_words_and_colour() {
    let w = healthy();
    assert_eq!(w.line(), "Ready to advance to 25% (a)");
    let t = w.draw(120, 40);
    let buf = t.backend().buffer();
    assert_eq!(fg_of(buf, "✓ OK"), Color::Green);
    assert_eq!(fg_of(buf, "» Ready to advance"), Color::Green);

    let w = warning();
    assert_eq!(
        w.line(),
        "Holding: p95 412 ms > 300 ms warning, held 45s of 2m"
    );
    let buf = w.draw(120, 40).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "▲ WARN"), Color::Yellow);
    assert_eq!(fg_of(&buf, "» Holding: p95"), Color::Yellow);
    // The other metrics are still OK, in their own colour.
    assert_eq!(fg_of(&buf, "✓ OK"), Color::Green);

    let w = countdown();
    assert!(
        w.line()
            .starts_with("AUTO-ROLLBACK IN 21s: r roll back now"),
        "{}",
        w.line()
    );
    let buf = w.draw(120, 40).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "✗ CRIT"), Color::LightRed);
    assert_eq!(bg_of(&buf, "» AUTO-ROLLBACK IN"), Color::Red);
    assert_eq!(bg_of(&buf, "COUNTDOWN"), Color::Red);

    let w = no_data();
    let buf = w.draw(80, 24).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "? NO DATA"), Color::Magenta);
    assert!(
        w.line()
            .contains("error rate: no data (query returned no series)")
    );

    let w = rolled_back();
    assert!(
        w.line()
            .starts_with("Rolled back at 10:36:10: rolled back by the operator"),
        "{}",
        w.line()
    );
    let buf = w.draw(80, 24).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "» Rolled back at"), Color::LightRed);
    assert_eq!(fg_of(&buf, "ROLLED BACK"), Color::LightRed);

    let w = promoted();
    assert_eq!(w.line(), "Promoted: all stages done");
    let buf = w.draw(80, 24).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "» Promoted"), Color::Green);
    assert_eq!(fg_of(&buf, "✓ canary"), Color::Green);
}

#[test]
fn without_colour_states_keep_their_symbols_and_words() {
    let mut w = World::new("", false);
    w.start_drill();
    w.run(5 * MIN, HEALTHY);
    w.run(
        70 * SEC,
        Health {
            error: Some(0.8),
            p95: 412.0,
            ..HEALTHY
        },
    );
    let t = w.draw(120, 40);
    let buf = t.backend().buffer();
    for text in ["✗ CRIT", "▲ WARN", "✓ OK", "» AUTO-ROLLBACK IN"] {
        assert_eq!(fg_of(buf, text), Color::Reset, "{text} has a colour");
        assert_eq!(bg_of(buf, text), Color::Reset, "{text} has a colour");
    }
}

#[test]
fn the_sparkline_shows_the_thresholds_as_heights() {
    // 5 min healthy, 10s in the warning band, then critical.
    let mut w = World::started();
    w.run(5 * MIN, HEALTHY);
    w.run(
        10 * SEC,
        Health {
            error: Some(0.3),
            ..HEALTHY
        },
    );
    w.run(
        10 * SEC,
        Health {
            error: Some(0.8),
            ..HEALTHY
        },
    );
    let text = text_of(&w.draw(120, 40));
    let row = text.lines().find(|l| l.contains("error rate")).unwrap();
    // A breached row keeps the end of its trend before its reason.
    assert!(row.contains("▅▅▅██████████ 0.8% > 0.5% critical"), "{row}");
    let p95 = text.lines().find(|l| l.contains("p95")).unwrap();
    assert!(p95.contains("▂▂▂"), "{p95}");
    // At 80 columns the sparklines go first; the state stays.
    let narrow = text_of(&w.draw(80, 24));
    let row = narrow.lines().find(|l| l.contains("error rate")).unwrap();
    assert!(!row.contains('▁') && row.contains("✗ CRIT"), "{row}");
}

#[test]
fn footer_and_help_come_from_the_same_key_map() {
    let extra = "[ui]\nkeys = { rollback = \"x\", advance = \"ctrl-a\", help = \"f1\" }";
    let mut w = World::new(extra, true);
    w.start_drill();
    w.run(16 * MIN, HEALTHY);
    let footer = cockpit::tui::footer_line(&w.screen, &w.r, w.now).to_string();
    for action in w.screen.available(&w.r, w.now) {
        let hint = format!("{} {}", w.screen.keys.first(action), action.short());
        assert!(footer.contains(&hint), "footer {footer:?} lacks {hint:?}");
    }
    assert!(
        footer.contains("ctrl-a advance") && footer.contains("x roll back"),
        "{footer}"
    );
    assert!(!footer.contains("r roll back"), "{footer}");
    // Help lists every action with the same keys.
    w.press_key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    assert!(w.screen.help);
    let help = text_of(&w.draw(120, 40));
    for action in Action::all() {
        let row = format!(
            "{}  {}",
            w.screen.keys.all_labels(action),
            action.describe()
        );
        assert!(help.contains(&row), "help lacks {row:?}:\n{help}");
    }
    // The rebound key acts; the old one does nothing.
    w.press_key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    w.press('r');
    assert_eq!(w.screen.mode, Mode::Normal);
    w.press('x');
    assert_eq!(w.screen.mode, Mode::ConfirmRollback);
}

#[test]
fn keys_drive_the_engine_through_prompts() {
    let mut w = healthy();
    // Roll back asks first; anything but y keeps the stage.
    w.press('r');
    w.press('n');
    assert!(w.r.state.rollback.is_none());
    assert_eq!(
        w.screen.flash.as_deref(),
        Some("roll back: not confirmed, nothing done")
    );
    // A note is typed, enter saves it.
    w.press('n');
    for c in "db looks fine".chars() {
        w.press(c);
    }
    let typed = text_of(&w.draw(80, 24));
    assert!(typed.contains("> db looks fine█"), "{typed}");
    w.press_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    let after = text_of(&w.draw(80, 24));
    assert!(
        after.contains("note by alice@ops-1: db looks fine"),
        "{after}"
    );
    // Pause and resume by the same key.
    w.press(' ');
    assert!(w.r.state.paused);
    assert_eq!(w.line(), "Paused: observation clock stopped (p resumes)");
    w.press('p');
    assert!(!w.r.state.paused);
    // Advance.
    w.press('a');
    assert_eq!(w.r.state.stage, 1);
    // Force-advance needs a typed reason.
    w.run(MIN, HEALTHY);
    w.press('A');
    w.press_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(w.r.state.stage, 1, "an empty reason must not force");
    for c in "load test passed".chars() {
        w.press(c);
    }
    w.press_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(w.r.state.stage, 2);
}

#[test]
fn during_a_countdown_r_rolls_back_at_once_and_h_holds() {
    let mut w = countdown();
    w.press('h');
    assert!(w.r.state.countdown.as_ref().unwrap().held.is_some());
    assert!(
        w.line().starts_with("AUTO-ROLLBACK HELD at 21s: h release"),
        "{}",
        w.line()
    );
    w.press('r');
    assert!(
        w.r.state.rollback.is_some(),
        "no confirmation during a countdown"
    );
}

#[test]
fn quitting_a_live_rollout_asks_and_never_acts() {
    let mut w = healthy();
    let (inputs, control) = w.screen.key(
        &w.r,
        KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
        w.now,
    );
    assert!(inputs.is_empty());
    assert_eq!(control, cockpit::run::Control::Continue);
    assert_eq!(w.screen.mode, Mode::ConfirmQuit);
    let (inputs, control) = w.screen.key(
        &w.r,
        KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE),
        w.now,
    );
    assert!(inputs.is_empty(), "quitting sends nothing to the engine");
    assert_eq!(control, cockpit::run::Control::Quit);
}

#[test]
fn the_waiting_panel_ticks_the_checklist_and_takes_a_window_reason() {
    let mut w = World::new("", true);
    // Friday evening: a no-deploy window.
    w.now = T0 + 3 * 24 * 60 * MIN + 7 * 60 * MIN;
    w.press('2');
    let screen = text_of(&w.draw(80, 24));
    assert!(screen.contains(" 2 [x] Code review done"), "{screen}");
    assert!(screen.contains(" 1 [ ] All tests green"), "{screen}");
    for said in [
        "Deploy window: no-deploy window (Fri 12:00-24:00)",
        "Next window: Mon 11:00 (in 2d17h30m)",
        "o starts the rollout now, with a typed reason",
    ] {
        assert!(screen.contains(said), "{said:?}:\n{screen}");
    }
    // `s` starts nothing outside the window, and says so.
    w.press('s');
    assert_eq!(w.r.state.started_at, None);
    w.press('o');
    for c in "hotfix for INC-42".chars() {
        w.press(c);
    }
    w.press_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        w.r.state.window_override.as_deref(),
        Some("hotfix for INC-42")
    );
    // The typed reason starts the rollout.
    assert!(w.r.state.started_at.is_some());
    assert!(
        w.line()
            .starts_with("Waiting: pre-deploy checklist: 1 of 6 ticked"),
        "{}",
        w.line()
    );
    for item in [1, 3, 4, 5, 6] {
        w.press(char::from_digit(item, 10).unwrap());
    }
    assert_eq!(w.r.state.phase, cockpit::rollout::Phase::Observing);
}

#[test]
fn a_drill_in_a_no_deploy_window_says_the_window_was_skipped() {
    let mut w = World::new("", true);
    // Friday evening: a no-deploy window, which a drill does not wait for.
    w.now = T0 + 3 * 24 * 60 * MIN + 7 * 60 * MIN;
    w.start_drill();
    assert_eq!(w.r.state.phase, cockpit::rollout::Phase::Observing);
    let t = w.draw(80, 24);
    let screen = text_of(&t);
    assert!(screen.contains("window: skipped (drill)"), "{screen}");
    assert!(!screen.contains("no-deploy window"), "{screen}");
    let warning = Theme::load("dark", true).unwrap().warning.fg;
    assert_ne!(
        Some(fg_of(t.backend().buffer(), "window: skipped")),
        warning,
        "a skipped window is not a warning"
    );
}

#[test]
fn a_failed_hook_shows_its_command_and_output_and_offers_retry_and_skip() {
    let mut w = failed_hook();
    let screen = text_of(&w.draw(80, 24));
    assert!(
        screen.contains("`set-weight 25` failed: exit status 2"),
        "{screen}"
    );
    assert!(
        screen.contains("| error: weight service unreachable"),
        "{screen}"
    );
    assert!(
        screen.contains("R retry  S skip with a typed reason  r roll back"),
        "{screen}"
    );
    w.press('S');
    for c in "weight set by hand".chars() {
        w.press(c);
    }
    w.press_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(w.r.state.failed.is_none());
    assert_eq!(w.r.state.phase, cockpit::rollout::Phase::Observing);
}

/// Values from real sources carry decimals the table has no room for:
/// they are rounded to fit, never cut mid-unit ("150.89 m").
#[test]
fn values_round_to_fit_the_table_instead_of_being_cut() {
    let mut w = World::started();
    w.run(
        10 * SEC,
        Health {
            p95: 150.893,
            ..HEALTHY
        },
    );
    let text = text_of(&w.draw(120, 40));
    let row = text.lines().find(|l| l.contains("p95")).unwrap();
    assert!(row.contains("150.9 ms"), "{row}");
    assert!(!row.contains("150.89"), "{row}");
}

#[test]
fn any_terminal_size_draws_without_a_panic() {
    let mut states = vec![healthy(), countdown(), help(), promoted()];
    let mut typing = healthy();
    typing.press('n');
    states.push(typing);
    states.push(World::new("", true));
    for w in &states {
        for (width, height) in [(1, 1), (10, 3), (20, 5), (40, 12), (79, 23), (200, 60)] {
            let screen = text_of(&w.draw(width, height));
            assert_eq!(screen.lines().count(), height as usize);
        }
    }
}

#[test]
fn t_cycles_the_built_in_themes() {
    let mut w = healthy();
    w.press('t');
    assert_eq!(w.screen.theme.name, "light");
    let buf = w.draw(120, 40).backend().buffer().clone();
    assert_eq!(fg_of(&buf, "✓ OK"), Color::Rgb(0, 0x64, 0));
    for _ in 0..3 {
        w.press('t');
    }
    assert_eq!(w.screen.theme.name, "dark");
}

fn cockpit_run(dir: &Path, config_extra: &str, args: &[&str]) -> (Option<i32>, String) {
    let cfg = dir.join("cockpit.toml");
    let text = format!("{CONFIG}\n[journal]\ndir = \"journal\"\n{config_extra}");
    std::fs::write(&cfg, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .current_dir(dir)
        .args(["run", "--config"])
        .arg(&cfg)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_theme_or_key_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = cockpit_run(dir.path(), "", &["--theme", "solarized"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "theme \"solarized\": no such built-in theme (dark, light, high-contrast, colour-blind)"
        ),
        "{err}"
    );
    let (code, err) = cockpit_run(dir.path(), "[ui]\ntheme = \"mine.toml\"", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cockpit.toml:35:1: `ui.theme`: theme file mine.toml: cannot read it"),
        "{err}"
    );
    let (code, err) = cockpit_run(dir.path(), "[ui]\nkeys = { rollback = \"R\" }", &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "cockpit.toml:35:10: `ui.keys.rollback`: \"R\" is bound to both rollback and retry"
        ),
        "{err}"
    );
    assert!(!dir.path().join("journal").exists(), "nothing may start");
}

/// `cockpit watch`: the driver's screen, read-only, for the second engineer.
#[test]
fn a_follower_sees_the_drivers_screen_and_can_steer_nothing() {
    let mut w = countdown();
    let driver = text_of(&w.draw(120, 40));
    w.screen.following = Some(Following::default());
    let follower = text_of(&w.draw(120, 40));
    assert!(
        follower.contains("WATCHING · driver alice@ops-1 (SSH)"),
        "{follower}"
    );
    // Everything between the header and the footer is the driver's.
    let (d, f): (Vec<&str>, Vec<&str>) = (driver.lines().collect(), follower.lines().collect());
    assert_eq!(d[1..39], f[1..39]);
    assert_eq!(f[39].trim_end(), "read-only  ? help  q quit");

    let before = w.r.state.clone();
    // `n` (a note the follower leaves) and `T` (taking the wheel when
    // offered) are asked of the driver, never fed to the engine: below.
    for c in ['a', 'A', 'p', ' ', 'r', 'h', 'c', '1', 'y'] {
        let (inputs, control) = w.screen.key(
            &w.r,
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            w.now,
        );
        assert!(inputs.is_empty(), "{c:?} steered: {inputs:?}");
        assert_eq!(control, cockpit::run::Control::Continue);
        assert_eq!(w.screen.mode, Mode::Normal, "{c:?} opened a prompt");
        // The keys that would steer say why they did not.
        if !c.is_ascii_digit() && c != 'y' {
            let flash = w.screen.flash.clone().unwrap_or_default();
            assert!(
                flash.contains("read-only") && flash.contains("alice@ops-1 drives"),
                "{c:?}: {flash}"
            );
            let screen = text_of(&w.draw(120, 40));
            assert!(screen.contains(&flash), "{c:?} not said:\n{screen}");
        }
    }
    assert_eq!(w.r.state, before);
    let key = |w: &mut World, c: char| {
        let press = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        w.screen.key(&w.r, press, w.now)
    };
    assert_eq!(key(&mut w, 'T').1, cockpit::run::Control::Take);
    key(&mut w, 'n');
    assert!(
        matches!(w.screen.mode, Mode::Typing { .. }),
        "n asks for a note"
    );
    key(&mut w, 'x');
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let (note, _) = w.screen.key(&w.r, enter, w.now);
    assert_eq!(note.len(), 1, "the note, for the driver to journal");
    assert_eq!(w.r.state, before);

    // Everyone sees who follows, the driver too.
    w.screen.watchers = vec!["bob@ops-2".into()];
    let text = text_of(&w.draw(120, 40));
    assert!(
        text.contains("driver alice@ops-1 (SSH) · bob@ops-2 watching"),
        "{text}"
    );
    w.screen.watchers.push("carol@ops-3".into());
    assert!(text_of(&w.draw(120, 40)).contains("(SSH) · 2 watching"));

    // Help and theme are the follower's own; leaving asks nothing.
    w.press('?');
    assert!(w.screen.help);
    w.press('?');
    let (_, control) = w.screen.key(
        &w.r,
        KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
        w.now,
    );
    assert_eq!(control, cockpit::run::Control::Quit);
}

#[test]
fn a_follower_is_told_loudly_when_the_driver_goes_silent_or_leaves() {
    let mut w = healthy();
    w.screen.following = Some(Following {
        silent_ms: Some(12_400),
        ended: None,
    });
    for (width, height) in [(120, 40), (80, 24)] {
        let t = w.draw(width, height);
        let text = text_of(&t);
        assert!(text.contains("NO WORD FROM THE DRIVER FOR 12s"), "{text}");
        assert!(
            text.contains("Ready to advance"),
            "the decision stays: {text}"
        );
        assert_eq!(bg_of(t.backend().buffer(), "■ NO WORD"), Color::Red);
    }
    w.screen.following = Some(Following {
        silent_ms: None,
        ended: Some("the driver quit; the rollout waits where it was".into()),
    });
    let text = text_of(&w.draw(80, 24));
    assert!(text.contains("■ the driver quit"), "{text}");
    assert!(!text.contains("NO WORD"), "{text}");
}

/// A pre-flight whose baseline query Prometheus refused.
fn failed_preflight() -> cockpit::preflight::Preflight {
    use cockpit::preflight::{Item, Kind, Preflight, Status};
    let item = |group, status: Status, blocks_start| Item {
        kind: Kind::Metric,
        name: "error rate".into(),
        group: Some(group),
        target: "sum(rate(errors[1m])".into(),
        value: None,
        requests: None,
        status,
        blocks_start,
    };
    let refused = "HTTP 400 from http://prom:9090/api/v1/query: bad_data: parse error: \
                   unclosed left parenthesis";
    Preflight {
        items: vec![
            item(Group::Baseline, Status::Failed(refused.into()), true),
            item(
                Group::Canary,
                Status::Expected("query returned no series".into()),
                false,
            ),
        ],
    }
}

#[test]
fn a_failed_preflight_leads_the_start_panel_and_a_rebound_key_forces_the_start() {
    let mut w = World::new("[ui]\nkeys = { force_start = \"X\" }", true);
    w.screen.preflight = Some(failed_preflight());
    let screen = text_of(&w.draw(80, 24));
    let at = |text: &str| {
        screen
            .find(text)
            .unwrap_or_else(|| panic!("no {text:?} in\n{screen}"))
    };
    assert!(at("Pre-flight: 1 of 2 checks failed") < at("Pre-deploy checklist"));
    at("✗ error rate (baseline): sum(rate(errors[1m])");
    at("bad_data: parse error:");
    at("unclosed left parenthesis");
    at("» Not started: the pre-flight failed; s refuses until it passes, X starts");
    at("X force start");
    // The rebound key asks for the reason; enter hands the start over with it.
    w.press('X');
    assert_eq!(
        w.screen.mode,
        cockpit::tui::Mode::Typing {
            ask: cockpit::tui::Ask::ForceStart,
            text: String::new()
        }
    );
    for c in "judged by hand".chars() {
        w.press(c);
    }
    let (inputs, _) = w.screen.key(
        &w.r,
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
        w.now,
    );
    assert!(
        matches!(inputs.as_slice(), [Input::Start { .. }]),
        "{inputs:?}"
    );
    assert_eq!(w.screen.forced.as_deref(), Some("judged by hand"));
    // A pre-flight that passed has nothing to force, and shows each
    // metric's reading on a line.
    let mut ok = World::new("", true);
    let mut passed = failed_preflight();
    passed.items[0].status = cockpit::preflight::Status::Ok;
    passed.items[0].value = Some("0.05%".into());
    passed.items[0].requests = Some(1200.0);
    ok.screen.preflight = Some(passed);
    let screen = text_of(&ok.draw(80, 24));
    assert!(!screen.contains("force start"), "{screen}");
    assert!(
        screen.contains("Pre-flight: 2 checks passed (a canary reading empty before traffic"),
        "{screen}"
    );
    assert!(
        screen.contains(" ✓ error rate: baseline 0.05% (1,200 req), canary empty (no traffic yet)"),
        "{screen}"
    );
}

/// A state of the snapshot set.
type Build = fn() -> World;

/// Every action on a key no default uses.
const ELSEWHERE: &str = "[ui]\nkeys = { start = \"f2\", force_start = \"f3\", \
    override_window = \"f4\", advance = \"f5\", force_advance = \"f6\", pause = \"f7\", \
    rollback = \"f8\", hold = \"f9\", cancel = \"f10\", open_gate = \"f11\", retry = \"f12\", \
    skip = \"ctrl-s\", note = \"ctrl-n\", theme = \"ctrl-t\", help = \"f1\", quit = \"ctrl-q\", \
    scroll_up = \"ctrl-u\", scroll_down = \"ctrl-d\", page_up = \"ctrl-b\", \
    page_down = \"ctrl-v\", follow = \"ctrl-f\", select_up = \"ctrl-p\", \
    select_down = \"ctrl-w\", open = \"ctrl-o\", back = \"ctrl-x\" }";

/// With every key rebound, no screen of the snapshot set names a default
/// key: the decision line, the flash, the panels and the footer all say
/// the keys bound now.
#[test]
fn with_every_key_rebound_no_screen_names_a_default_key() {
    KEYS.with(|k| *k.borrow_mut() = ELSEWHERE.into());
    let defaults = cockpit::tui::keys::KeyMap::default();
    // "(a)", "r roll back", "h release", "p resumes", "A forces", ...
    let mut stale: Vec<String> = vec![];
    for action in Action::all() {
        for key in defaults.keys(action) {
            let k = key.label();
            stale.push(format!("({k})"));
            stale.push(format!(" {k} {}", action.short()));
            for verb in [
                "retry",
                "skip",
                "roll back",
                "release",
                "hold",
                "cancel",
                "resumes",
                "starts",
                "forces",
                "refuses",
            ] {
                stale.push(format!(" {k} {verb}"));
            }
        }
    }
    let states: &[(&str, Build)] = &[
        ("healthy", healthy),
        ("warning", warning),
        ("countdown", countdown),
        ("held", countdown_held),
        ("cancelled", countdown_cancelled),
        ("no data", no_data),
        ("failed hook", failed_hook),
        ("paused", paused),
        ("ready", feedback_outlived),
        ("rolled back", rolled_back),
        ("promoted", promoted),
        ("outside the window", outside_window),
        ("pre-flight failed", preflight_failed),
        ("help", help),
        ("detail", detail),
    ];
    for (name, build) in states {
        let w = build();
        assert_eq!(w.screen.keys.first(Action::Rollback), "f8", "{name}");
        for (width, height) in [(120, 40), (80, 24)] {
            // A leading space so a key at the start of a row is caught too.
            let screen = format!(" {}", text_of(&w.draw(width, height)).replace('\n', "\n "));
            let decision = format!(" {}", w.screen.decision_text(&w.r, w.now));
            for text in [&screen, &decision] {
                if let Some(s) = stale.iter().find(|s| text.contains(s.as_str())) {
                    panic!("{name} at {width}x{height} says {s:?}:\n{text}");
                }
            }
        }
    }
    // The lines that name a key name the key bound now.
    let said = |build: Build| {
        let w = build();
        w.screen.decision_text(&w.r, w.now)
    };
    assert!(said(feedback_outlived).ends_with("(f5)"));
    assert!(said(countdown).contains("f8 roll back now, f9 hold, f10 cancel"));
    assert!(said(countdown_held).contains("f9 release, f8 roll back now, f10 cancel"));
    assert!(said(paused).ends_with("(f7 resumes)"));
    assert!(said(failed_hook).ends_with("f12 retry, ctrl-s skip with reason, f8 roll back"));
    assert!(said(outside_window).contains("f4 starts now with a typed reason"));
    // Refused: the feedback names the rebound force key.
    let mut w = World::started();
    w.run(6 * MIN, HEALTHY);
    w.act(Action::Advance);
    let flash = w.screen.flash.clone().unwrap_or_default();
    assert!(flash.ends_with("(f6 forces with a reason)"), "{flash}");
}

fn press_code(w: &mut World, code: KeyCode) {
    w.press_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// Arrow keys move the table's selection, enter opens the metric, esc
/// returns to the table; with a detail open the arrows open the next one.
#[test]
fn arrows_select_a_metric_enter_opens_it_and_esc_returns() {
    let mut w = warning();
    let table = text_of(&w.draw(120, 40));
    assert!(table.contains("TREND"), "{table}");
    press_code(&mut w, KeyCode::Down);
    press_code(&mut w, KeyCode::Down);
    press_code(&mut w, KeyCode::Down);
    assert_eq!(
        w.screen.selected, 2,
        "the selection stops at the last metric"
    );
    press_code(&mut w, KeyCode::Up);
    assert_eq!(w.screen.selected, 1);
    press_code(&mut w, KeyCode::Enter);
    let open = text_of(&w.draw(120, 40));
    assert!(open.contains(" p95 (2 of 3) in canary "), "{open}");
    // The scrape family and labels for a scraped metric, both groups.
    assert!(open.contains("canary asks: scrape"), "{open}");
    assert!(
        open.contains("from http://127.0.0.1:9100/metrics"),
        "{open}"
    );
    assert!(open.contains("baseline asks: scrape"), "{open}");
    assert!(
        open.contains("canary said: 412 ms on 1,200 requests at 10:35:46"),
        "{open}"
    );
    assert!(
        open.contains("rule: warn > 300 ms, crit > 500 ms, for "),
        "{open}"
    );
    // The verdict history of the stage, and the chart with its lines.
    assert!(open.contains("verdicts in this stage:"), "{open}");
    assert!(open.contains("WARN"), "{open}");
    assert!(open.contains("since canary began"), "{open}");
    // Nothing steered: no flash; each metric opened is a look the log
    // names once (a drill scores it as detection).
    assert!(w.screen.flash.is_none());
    press_code(&mut w, KeyCode::Up);
    assert!(text_of(&w.draw(120, 40)).contains(" error rate (1 of 3) in canary "));
    press_code(&mut w, KeyCode::Down);
    press_code(&mut w, KeyCode::Esc);
    assert_eq!(w.screen.open, None);
    let back = text_of(&w.draw(120, 40));
    assert!(back.contains("TREND"), "{back}");
    assert_eq!(
        back.matches("alice@ops-1 opened latency_p95").count(),
        1,
        "{back}"
    );
    assert_eq!(
        back.matches("alice@ops-1 opened error_rate").count(),
        1,
        "{back}"
    );
    assert_eq!(w.r.state.stage, warning().r.state.stage);
}

/// Rebound, the same steps take the new keys, and the old ones do nothing.
#[test]
fn select_open_and_back_are_rebound_like_every_key() {
    KEYS.with(|k| {
        *k.borrow_mut() = "[ui]\nkeys = { select_down = \"J\", open = \"O\", back = \"x\" }".into()
    });
    let mut w = warning();
    KEYS.with(|k| k.borrow_mut().clear());
    press_code(&mut w, KeyCode::Enter);
    assert_eq!(w.screen.open, None, "enter is no longer open");
    w.press('J');
    w.press('O');
    assert_eq!(w.screen.open, Some(1));
    let help = {
        w.act(Action::Help);
        text_of(&w.draw(120, 40))
    };
    assert!(help.contains("O  open the selected metric"), "{help}");
    w.act(Action::Help);
    press_code(&mut w, KeyCode::Esc);
    assert_eq!(w.screen.open, Some(1), "esc is no longer back");
    w.press('x');
    assert_eq!(w.screen.open, None);
}

/// Each row not OK says its own reason, shortened to fit; the detail
/// view has it whole.
#[test]
fn each_row_not_ok_says_its_own_reason() {
    let w = countdown();
    let wide = text_of(&w.draw(120, 40));
    let row = wide.lines().find(|l| l.contains("│error rate")).unwrap();
    assert!(row.contains("0.8% > 0.5% critical"), "{row}");
    let narrow = text_of(&w.draw(80, 24));
    assert!(narrow.contains("└ 0.8% > 0.5% critical"), "{narrow}");
    let mut w = countdown();
    w.act(Action::Open);
    let open = text_of(&w.draw(80, 24));
    assert!(open.contains(&w.r.tracks[0].verdict.reason), "{open}");
}

/// A follower opens a metric with the same keys and sees what the driver
/// sees there, built from the copies it was sent.
#[test]
fn a_follower_opens_a_metric_as_the_driver_does() {
    let mut w = countdown_watched();
    w.act(Action::Open);
    let driver = text_of(&w.draw(120, 40));
    let mut f = w.seen_by_the_follower();
    f.act(Action::Open);
    assert!(f.screen.flash.is_none(), "{:?}", f.screen.flash);
    let follower = text_of(&f.draw(120, 40));
    // The header says who watches; the words are the same, but for the
    // source's raw answers, which the live feed does not carry.
    let note = "answer at 10:36:10: on the driver's screen only";
    let d: Vec<&str> = driver.lines().collect();
    let fl: Vec<&str> = follower.lines().filter(|l| !l.contains(note)).collect();
    assert_eq!(
        follower.matches(note).count(),
        2,
        "canary and baseline:\n{follower}"
    );
    assert_eq!(
        d[2..10],
        fl[2..10],
        "driver:\n{driver}\nfollower:\n{follower}"
    );
}
