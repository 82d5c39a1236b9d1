//! The key map: one table of actions and their keys, defaults in code,
//! `[ui] keys` overriding only what it names. The footer and the help
//! screen are both generated from it, so they cannot go stale.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything the operator can ask for with a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Start,
    ForceStart,
    OverrideWindow,
    Advance,
    ForceAdvance,
    Pause,
    Rollback,
    Hold,
    Cancel,
    OpenGate,
    Retry,
    Skip,
    Note,
    Theme,
    Help,
    Quit,
    ScrollUp,
    ScrollDown,
    Follow,
}

/// (action, config name, default keys, what it does) in help order.
const TABLE: &[(Action, &str, &str, &str)] = &[
    (
        Action::Start,
        "start",
        "s",
        "start the rollout (after the checklist)",
    ),
    (
        Action::ForceStart,
        "force_start",
        "F",
        "start although the pre-flight failed, with a typed reason",
    ),
    (
        Action::OverrideWindow,
        "override_window",
        "o",
        "start outside the deploy window, with a typed reason",
    ),
    (
        Action::Advance,
        "advance",
        "a",
        "advance to the next stage (or promote) when green",
    ),
    (
        Action::ForceAdvance,
        "force_advance",
        "A",
        "advance past a stage that is not green, with a typed reason",
    ),
    (
        Action::Pause,
        "pause",
        "p,space",
        "pause or resume the observation clock",
    ),
    (
        Action::Rollback,
        "rollback",
        "r",
        "roll back (asks y/N; at once during a countdown)",
    ),
    (
        Action::Hold,
        "hold",
        "h",
        "hold or release the auto-rollback countdown",
    ),
    (
        Action::Cancel,
        "cancel",
        "c",
        "cancel the auto-rollback for this breach",
    ),
    (Action::OpenGate, "open_gate", "g", "open a manual gate"),
    (Action::Retry, "retry", "R", "run a failed hook again"),
    (
        Action::Skip,
        "skip",
        "S",
        "skip a failed hook, with a typed reason",
    ),
    (
        Action::Note,
        "note",
        "n",
        "write a note into the incident log",
    ),
    (Action::Theme, "theme", "t", "next colour theme"),
    (Action::Help, "help", "?", "show or hide this help"),
    (
        Action::Quit,
        "quit",
        "q",
        "quit (never rolls back or promotes; the journal resumes)",
    ),
    (
        Action::ScrollUp,
        "scroll_up",
        "up,k,pgup",
        "scroll the log back",
    ),
    (
        Action::ScrollDown,
        "scroll_down",
        "down,j,pgdown",
        "scroll the log forward",
    ),
    (
        Action::Follow,
        "follow",
        "G,end",
        "follow the newest log lines",
    ),
];

/// The key for a step the engine offers (`Rollout::next`): one key for
/// both halves of a toggle, one for advancing and promoting.
impl From<crate::rollout::Move> for Action {
    fn from(step: crate::rollout::Move) -> Action {
        use crate::rollout::Move as Step;
        match step {
            Step::Start => Action::Start,
            Step::Advance | Step::Promote => Action::Advance,
            Step::ForceAdvance => Action::ForceAdvance,
            Step::Pause | Step::Resume => Action::Pause,
            Step::Rollback => Action::Rollback,
            Step::Hold | Step::Release => Action::Hold,
            Step::Cancel => Action::Cancel,
            Step::Retry => Action::Retry,
            Step::Skip => Action::Skip,
            Step::OverrideWindow => Action::OverrideWindow,
            Step::OpenGate => Action::OpenGate,
        }
    }
}

impl Action {
    pub fn all() -> impl Iterator<Item = Action> {
        TABLE.iter().map(|row| row.0)
    }

    fn row(self) -> &'static (Action, &'static str, &'static str, &'static str) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .expect("every action has a row in TABLE")
    }

    /// The name used in `[ui] keys`.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    pub fn describe(self) -> &'static str {
        self.row().3
    }

    /// The short word for the footer.
    pub fn short(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::ForceStart => "force start",
            Action::OverrideWindow => "override window",
            Action::Advance => "advance",
            Action::ForceAdvance => "force",
            Action::Pause => "pause",
            Action::Rollback => "roll back",
            Action::Hold => "hold",
            Action::Cancel => "cancel",
            Action::OpenGate => "open gate",
            Action::Retry => "retry",
            Action::Skip => "skip",
            Action::Note => "note",
            Action::Theme => "theme",
            Action::Help => "help",
            Action::Quit => "quit",
            Action::ScrollUp | Action::ScrollDown => "scroll",
            Action::Follow => "follow",
        }
    }
}

/// How a key is written, for the fix of one that is not.
const KEY_SYNTAX: &str = "write one character (\"a\", \"A\", \"?\"), a name (space, enter, tab, \
    esc, up, down, left, right, pgup, pgdown, home, end, comma, f1-f12), or ctrl- before either; \
    several separated by commas";

/// One key as written in config: `a`, `A`, `space`, `ctrl-a`, `pgup`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let t = text.trim();
        let (ctrl, rest) = match t.strip_prefix("ctrl-").or_else(|| t.strip_prefix("ctrl+")) {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let named = [
            ("space", KeyCode::Char(' ')),
            ("enter", KeyCode::Enter),
            ("tab", KeyCode::Tab),
            ("esc", KeyCode::Esc),
            ("backspace", KeyCode::Backspace),
            ("up", KeyCode::Up),
            ("down", KeyCode::Down),
            ("left", KeyCode::Left),
            ("right", KeyCode::Right),
            ("pgup", KeyCode::PageUp),
            ("pgdown", KeyCode::PageDown),
            ("home", KeyCode::Home),
            ("end", KeyCode::End),
            ("comma", KeyCode::Char(',')),
        ];
        let code = if let Some((_, code)) = named.iter().find(|(n, _)| n.eq_ignore_ascii_case(rest))
        {
            *code
        } else if let Some(n) = rest
            .strip_prefix(['f', 'F'])
            .and_then(|n| n.parse::<u8>().ok())
            .filter(|n| (1..=12).contains(n))
        {
            KeyCode::F(n)
        } else {
            let mut chars = rest.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if !c.is_control() => KeyCode::Char(c),
                _ => return Err(format!("unknown key \"{text}\"")),
            }
        };
        if let (true, KeyCode::Char(c)) = (ctrl, code) {
            return Ok(Key {
                code: KeyCode::Char(c.to_ascii_lowercase()),
                ctrl,
            });
        }
        Ok(Key { code, ctrl })
    }

    pub fn matches(&self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let code = match event.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        ctrl == self.ctrl && code == self.code
    }

    /// How the footer and help write it.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Backspace => "backspace".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::F(n) => format!("f{n}"),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.ctrl {
            format!("ctrl-{base}")
        } else {
            base
        }
    }
}

/// Action -> keys, in help order.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: Vec<(Action, Vec<Key>)>,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap {
            bindings: TABLE
                .iter()
                .map(|(a, _, keys, _)| (*a, parse_list(keys).expect("default keys parse")))
                .collect(),
        }
    }
}

fn parse_list(text: &str) -> Result<Vec<Key>, String> {
    let keys: Vec<Key> = text
        .split(',')
        .filter(|k| !k.trim().is_empty())
        .map(Key::parse)
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err(format!("no key in \"{text}\""));
    }
    Ok(keys)
}

/// One problem in `[ui] keys`: the action named there (the key of the
/// table), what is wrong and the fix.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyProblem {
    pub action: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[ui] keys.{}: {}; {}",
            self.action, self.message, self.fix
        )
    }
}

impl KeyMap {
    /// The defaults with `[ui] keys` applied; the first problem, with its
    /// key and a fix.
    pub fn with_overrides(overrides: &BTreeMap<String, String>) -> Result<KeyMap, String> {
        KeyMap::build(overrides).map_err(|problems| problems[0].to_string())
    }

    /// The defaults with `[ui] keys` applied, or every problem in it.
    pub fn build(overrides: &BTreeMap<String, String>) -> Result<KeyMap, Vec<KeyProblem>> {
        let mut map = KeyMap::default();
        let mut problems = Vec::new();
        let mut named = Vec::new();
        for (name, keys) in overrides {
            let problem = |message: String, fix: String| KeyProblem {
                action: name.clone(),
                message,
                fix,
            };
            let Some(action) = Action::all().find(|a| a.name() == name) else {
                let names: Vec<_> = Action::all().map(Action::name).collect();
                let hint = crate::config::error::did_you_mean(name, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                problems.push(problem(
                    "no such action".into(),
                    format!("{hint}the actions are {}", names.join(", ")),
                ));
                continue;
            };
            match parse_list(keys) {
                Ok(keys) => {
                    if let Some(slot) = map.bindings.iter_mut().find(|(a, _)| *a == action) {
                        slot.1 = keys;
                    }
                    named.push(action);
                }
                Err(e) => problems.push(problem(e, KEY_SYNTAX.into())),
            }
        }
        problems.extend(map.clashes(&named));
        if problems.is_empty() {
            Ok(map)
        } else {
            Err(problems)
        }
    }

    /// Reserved keys and keys bound twice, each said at the action the
    /// config rebound (`named`).
    fn clashes(&self, named: &[Action]) -> Vec<KeyProblem> {
        let mut out = Vec::new();
        for (i, (a, keys)) in self.bindings.iter().enumerate() {
            if let Some(k) = keys.iter().find(|k| is_reserved(k)) {
                out.push(KeyProblem {
                    action: a.name().into(),
                    message: format!(
                        "\"{}\" is reserved (1-9 tick the checklist; enter, esc and backspace \
                         answer prompts)",
                        k.label()
                    ),
                    fix: "pick another key".into(),
                });
            }
            for (b, other) in &self.bindings[i + 1..] {
                let Some(k) = keys.iter().find(|k| other.contains(k)) else {
                    continue;
                };
                // Said where the config wrote it; the other one keeps its default.
                let (written, kept) = if named.contains(b) { (b, a) } else { (a, b) };
                out.push(KeyProblem {
                    action: written.name().into(),
                    message: format!(
                        "\"{}\" is bound to both {} and {}",
                        k.label(),
                        a.name(),
                        b.name()
                    ),
                    fix: format!(
                        "give {} another key, or rebind {} too (e.g. {} = \"...\")",
                        written.name(),
                        kept.name(),
                        kept.name()
                    ),
                });
            }
        }
        out
    }

    pub fn action(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|(_, keys)| keys.iter().any(|k| k.matches(event)))
            .map(|(a, _)| *a)
    }

    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .iter()
            .find(|(a, _)| *a == action)
            .map_or(&[], |(_, k)| k.as_slice())
    }

    /// The first key, as the footer shows it.
    pub fn first(&self, action: Action) -> String {
        self.keys(action)
            .first()
            .map_or_else(String::new, Key::label)
    }

    /// All keys of an action, as help shows them: "p/space".
    pub fn all_labels(&self, action: Action) -> String {
        let labels: Vec<_> = self.keys(action).iter().map(Key::label).collect();
        labels.join("/")
    }

    /// Help: every action with its keys and what it does.
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .map(|(a, _)| (self.all_labels(*a), a.describe()))
            .collect()
    }
}

fn is_reserved(k: &Key) -> bool {
    matches!(
        k.code,
        KeyCode::Char('1'..='9') | KeyCode::Enter | KeyCode::Esc | KeyCode::Backspace
    ) && !k.ctrl
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn defaults_and_overrides() {
        let map = KeyMap::default();
        assert_eq!(map.action(&press('a')), Some(Action::Advance));
        assert_eq!(map.action(&press(' ')), Some(Action::Pause));
        let over = BTreeMap::from([
            ("rollback".to_string(), "x".to_string()),
            ("advance".to_string(), "ctrl-a".to_string()),
        ]);
        let map = KeyMap::with_overrides(&over).unwrap();
        assert_eq!(map.action(&press('x')), Some(Action::Rollback));
        assert_eq!(map.action(&press('r')), None);
        let ctrl_a = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL);
        assert_eq!(map.action(&ctrl_a), Some(Action::Advance));
        // Only what is named changes.
        assert_eq!(map.action(&press('p')), Some(Action::Pause));
    }

    #[test]
    fn bad_overrides_say_what_and_how_to_fix() {
        let clash = BTreeMap::from([("rollback".to_string(), "R".to_string())]);
        let e = KeyMap::with_overrides(&clash).unwrap_err();
        assert!(
            e.contains("\"R\" is bound to both rollback and retry"),
            "{e}"
        );
        let unknown = BTreeMap::from([("rollbak".to_string(), "x".to_string())]);
        let e = KeyMap::with_overrides(&unknown).unwrap_err();
        assert!(e.starts_with("[ui] keys.rollbak: no such action"), "{e}");
        let bad = BTreeMap::from([("note".to_string(), "shift-n".to_string())]);
        let e = KeyMap::with_overrides(&bad).unwrap_err();
        assert!(e.contains("unknown key \"shift-n\""), "{e}");
        let digit = BTreeMap::from([("note".to_string(), "3".to_string())]);
        assert!(
            KeyMap::with_overrides(&digit)
                .unwrap_err()
                .contains("reserved")
        );
    }
}
