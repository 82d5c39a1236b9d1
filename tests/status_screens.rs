//! The list of live rollouts (`cockpit status --watch`, a bare `cockpit
//! watch` with several live) on ratatui's TestBackend, as insta snapshots
//! at 120x40 and 80x24; its keys; and a follower's banner while its SSH
//! link is down.

use std::path::Path;

use cockpit::feed::glance::{Glance, Row};
use cockpit::feed::ssh::LinkDown;
use cockpit::rollout::{Input, Level, Rollout};
use cockpit::tui::keys::KeyMap;
use cockpit::tui::list::{self, List, Pick};
use cockpit::tui::theme::Theme;
use cockpit::tui::{Following, Screen, utc_time};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// Tuesday 2026-11-24 10:30:00 UTC.
const T0: u64 = 1_795_516_200_000;

fn row(rollout: &str, stage: &str, weight: f64, driver: &str, gone: bool) -> Row {
    Row {
        rollout: rollout.into(),
        strategy: "canary".into(),
        stage: stage.into(),
        weight_set: Some(weight),
        weight_seen: Some(weight - 0.4),
        phase: "observing".into(),
        worst: Some(("error rate".into(), Level::Warning, Some(0.42), "%".into())),
        driver: driver.into(),
        watchers: vec!["bob@laptop".into()],
        running_ms: 754_000,
        driver_gone: gone,
        ended: None,
    }
}

/// Two rollouts; the second one's driver stopped writing mid-stage.
fn two() -> List {
    let mut list = List::new("here");
    list.take(Glance::Rows(vec![
        row("checkout 2.0", "quarter", 25.0, "alice@ops-1", false),
        row("search 7.1", "canary", 5.0, "carol@ops-2", true),
    ]));
    list
}

fn draw(list: &List, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::load("dark", true).unwrap();
    t.draw(|f| list::draw(f, list, &theme, &KeyMap::default()))
        .unwrap();
    t
}

fn text_of(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    let width = buf.area.width as usize;
    let cells: Vec<&str> = buf.content.iter().map(|c| c.symbol()).collect();
    cells
        .chunks(width)
        .map(|l| l.concat().trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first cell of `needle` on screen.
fn cell_of<'a>(t: &'a Terminal<TestBackend>, needle: &str) -> &'a ratatui::buffer::Cell {
    let buf = t.backend().buffer();
    let width = buf.area.width as usize;
    let text = text_of(t);
    let (line_no, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{text}"));
    let col = line[..line.find(needle).unwrap()].chars().count();
    &buf.content[line_no * width + col]
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn two_live_rollouts_one_with_its_driver_gone() {
    let list = two();
    for (width, height) in [(120, 40), (80, 24)] {
        let t = draw(&list, width, height);
        let text = text_of(&t);
        assert!(text.contains("2 live rollouts here"), "{text}");
        assert!(text.contains("checkout 2.0"), "{text}");
        assert!(text.contains("search 7.1"), "{text}");
        assert!(text.contains("DRIVER GONE"), "{text}");
        assert!(text.contains("enter watch it"), "{text}");
        assert_eq!(cell_of(&t, "DRIVER GONE").bg, Color::Red, "alarm");
        assert_ne!(
            cell_of(&t, "alice@ops-1").bg,
            Color::Red,
            "only the gone driver is in alarm"
        );
        insta::assert_snapshot!(format!("list_at_{width}x{height}"), text);
    }
}

#[test]
fn arrows_move_enter_picks_q_quits_and_a_refresh_keeps_the_selection() {
    let keys = KeyMap::default();
    let mut list = two();
    assert_eq!(list.key(&keys, &key(KeyCode::Up)), Pick::Stay);
    assert_eq!(list.selected, 0, "the top stays the top");
    list.key(&keys, &key(KeyCode::Down));
    list.key(&keys, &key(KeyCode::Down));
    assert_eq!(list.selected, 1, "the bottom stays the bottom");
    // A third rollout starts and sorts first: the selection follows search.
    let mut rows = vec![row("billing 3.2", "canary", 5.0, "dan@ops-3", false)];
    rows.extend(two().rows);
    list.take(Glance::Rows(rows));
    assert_eq!(
        list.key(&keys, &key(KeyCode::Enter)),
        Pick::Watch("search 7.1".into())
    );
    assert_eq!(list.key(&keys, &key(KeyCode::Char('q'))), Pick::Quit);
}

fn down(attempt: u32, gave_up: bool) -> LinkDown {
    LinkDown {
        host: "bastion".into(),
        why: "Connection closed by 10.0.0.7 port 22".into(),
        attempt,
        retry_in_s: 4,
        gave_up,
    }
}

#[test]
fn the_list_says_when_its_link_is_down_and_forgets_it_when_back() {
    let mut list = two();
    list.take(Glance::Down(down(3, false)));
    let text = text_of(&draw(&list, 80, 24));
    assert!(
        text.contains("ssh: link to bastion down, reconnecting in 4 s (attempt 3 of 8)"),
        "{text}"
    );
    assert!(text.contains("search 7.1"), "the last rows stay: {text}");
    list.take(Glance::Rows(two().rows));
    assert!(!text_of(&draw(&list, 80, 24)).contains("ssh: link"));
}

/// A follower's screen of a started rollout.
fn follower() -> (Screen, Rollout) {
    let text = "[rollout]\nname = \"checkout 2.0\"\nservice = \"checkout\"\n\
                old_version = \"1.9\"\nnew_version = \"2.0\"\n\n\
                [[stage]]\nname = \"canary\"\nweight = 5\nirreversible = true\n\n\
                [scrape]\ncanary = [\"http://127.0.0.1:9100/metrics\"]\n\
                baseline = [\"http://127.0.0.1:9101/metrics\"]\n";
    let cfg =
        cockpit::config::parse(Path::new("t.toml"), text).unwrap_or_else(|e| panic!("{}", e[0]));
    let theme = Theme::load("dark", true).unwrap();
    let mut screen = Screen::new(&cfg, theme, "alice@ops-1", true)
        .unwrap()
        .with_clock(utc_time);
    screen.following = Some(Following::default());
    let mut r = Rollout::new(cfg, T0);
    r.update(
        T0,
        Input::Start {
            local: utc_time(T0),
            operator: "alice@ops-1".into(),
        },
    );
    (screen, r)
}

#[test]
fn a_followers_screen_says_where_the_eye_is_that_its_ssh_link_is_down() {
    let (mut screen, r) = follower();
    screen.link_down = Some(down(3, false));
    for (width, height) in [(120, 40), (80, 24)] {
        let mut t = Terminal::new(TestBackend::new(width, height)).unwrap();
        t.draw(|f| cockpit::tui::draw(f, &screen, &r, T0 + 5_000))
            .unwrap();
        let text = text_of(&t);
        assert!(
            text.contains("■ ssh: link to bastion down, reconnecting in 4 s (attempt 3 of 8)"),
            "{text}"
        );
        assert_eq!(cell_of(&t, "■ ssh: link").bg, Color::Red, "alarm");
        insta::assert_snapshot!(format!("link_down_at_{width}x{height}"), text);
    }
    screen.link_down = Some(down(8, true));
    let mut t = Terminal::new(TestBackend::new(120, 40)).unwrap();
    t.draw(|f| cockpit::tui::draw(f, &screen, &r, T0 + 5_000))
        .unwrap();
    assert!(text_of(&t).contains("ssh: gave up on bastion after 8 attempts"));
    screen.link_down = None;
    t.draw(|f| cockpit::tui::draw(f, &screen, &r, T0 + 5_000))
        .unwrap();
    assert!(!text_of(&t).contains("ssh:"), "cleared when it is back");
}
