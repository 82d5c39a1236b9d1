//! Named styles instead of colours in widgets. Built-in themes are the
//! files in `themes/`, compiled in; a user theme file names only what it
//! changes, on top of a built-in (`base`, default dark). `NO_COLOR` keeps
//! bold, underline and reverse video but drops every colour: no state is
//! carried by colour alone anyway (symbols and words say it).

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::rollout::Level;

/// (name, file text), in the order `t` cycles through them.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    (
        "colour-blind",
        include_str!("../../themes/colour-blind.toml"),
    ),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    bold: Option<bool>,
    dim: Option<bool>,
    reversed: Option<bool>,
    underline: Option<bool>,
}

impl StyleSpec {
    /// `over`'s fields win where it names them.
    fn overlay(&self, over: &StyleSpec) -> StyleSpec {
        StyleSpec {
            fg: over.fg.clone().or_else(|| self.fg.clone()),
            bg: over.bg.clone().or_else(|| self.bg.clone()),
            bold: over.bold.or(self.bold),
            dim: over.dim.or(self.dim),
            reversed: over.reversed.or(self.reversed),
            underline: over.underline.or(self.underline),
        }
    }

    fn style(&self, name: &str, colour: bool) -> Result<Style, String> {
        let parse = |c: &Option<String>, which: &str| -> Result<Option<Color>, String> {
            match c {
                None => Ok(None),
                Some(text) => Color::from_str(text).map(Some).map_err(|_| {
                    format!(
                        "{name}.{which} = \"{text}\": not a colour; use a name (red, lightgreen, \
                         darkgray...), \"#rrggbb\" or an index 0-255"
                    )
                }),
            }
        };
        let mut style = Style::default();
        let (fg, bg) = (parse(&self.fg, "fg")?, parse(&self.bg, "bg")?);
        if colour {
            if let Some(fg) = fg {
                style = style.fg(fg);
            }
            if let Some(bg) = bg {
                style = style.bg(bg);
            }
        }
        for (on, m) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.reversed, Modifier::REVERSED),
            (self.underline, Modifier::UNDERLINED),
        ] {
            if on == Some(true) {
                style = style.add_modifier(m);
            }
        }
        Ok(style)
    }
}

macro_rules! theme_styles {
    ($($field:ident),* $(,)?) => {
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeFile {
            base: Option<String>,
            $($field: Option<StyleSpec>,)*
        }

        impl ThemeFile {
            fn overlay(&self, over: &ThemeFile) -> ThemeFile {
                ThemeFile {
                    base: None,
                    $($field: match (&self.$field, &over.$field) {
                        (Some(a), Some(b)) => Some(a.overlay(b)),
                        (a, b) => b.clone().or_else(|| a.clone()),
                    },)*
                }
            }
        }

        /// The resolved styles every widget draws with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            pub name: String,
            $(pub $field: Style,)*
        }

        impl Theme {
            fn resolve(name: &str, file: &ThemeFile, colour: bool) -> Result<Theme, String> {
                Ok(Theme {
                    name: name.to_string(),
                    $($field: file
                        .$field
                        .clone()
                        .unwrap_or_default()
                        .style(stringify!($field), colour)?,)*
                })
            }
        }
    };
}

theme_styles!(
    text,
    dim,
    title,
    border,
    key,
    ok,
    warning,
    critical,
    no_data,
    low_evidence,
    progress,
    alarm,
    selected,
);

fn built_in_file(name: &str) -> Option<ThemeFile> {
    let (_, text) = BUILT_IN.iter().find(|(n, _)| *n == name)?;
    Some(toml::from_str(text).expect("built-in themes parse"))
}

fn names() -> String {
    let names: Vec<_> = BUILT_IN.iter().map(|(n, _)| *n).collect();
    names.join(", ")
}

impl Theme {
    /// A built-in theme by name, or a theme file by path.
    pub fn load(choice: &str, colour: bool) -> Result<Theme, String> {
        // "colour-blind-safe" and "color-blind" are how people also say it.
        let alias = match choice {
            "colour-blind-safe" | "color-blind" | "color-blind-safe" => "colour-blind",
            other => other,
        };
        if let Some(file) = built_in_file(alias) {
            return Theme::resolve(alias, &file, colour);
        }
        let path = Path::new(choice);
        if !choice.ends_with(".toml") && !path.exists() {
            return Err(format!(
                "theme \"{choice}\": no such built-in theme ({}) and no such file",
                names()
            ));
        }
        let text = crate::files::read_text(path)
            .map_err(|e| format!("theme file {}: cannot read it: {e}", path.display()))?;
        Theme::from_user_file(&path.display().to_string(), &text, colour)
    }

    /// A user theme: its `base` built-in with what the file names on top.
    pub fn from_user_file(path: &str, text: &str, colour: bool) -> Result<Theme, String> {
        let user: ThemeFile =
            toml::from_str(text).map_err(|e| format!("theme file {path}: {e}"))?;
        let base_name = user.base.clone().unwrap_or_else(|| "dark".into());
        let base = built_in_file(&base_name).ok_or_else(|| {
            format!(
                "theme file {path}: base = \"{base_name}\" is not a built-in theme ({})",
                names()
            )
        })?;
        Theme::resolve(path, &base.overlay(&user), colour)
            .map_err(|e| format!("theme file {path}: {e}"))
    }

    /// The built-in after this one, for the `t` key.
    pub fn next(&self, colour: bool) -> Theme {
        let at = BUILT_IN.iter().position(|(n, _)| *n == self.name);
        let next = at.map_or(0, |i| (i + 1) % BUILT_IN.len());
        Theme::load(BUILT_IN[next].0, colour).expect("built-in themes load")
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => self.ok,
            Level::Warning => self.warning,
            Level::Critical => self.critical,
            Level::NoData => self.no_data,
            Level::LowEvidence => self.low_evidence,
        }
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::load("dark", true).expect("the dark theme loads")
    }
}

/// `NO_COLOR` set to anything non-empty turns colour off (no-color.org).
pub fn colour_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The symbol that says a level without colour.
pub fn symbol(level: Level) -> &'static str {
    match level {
        Level::Ok => "✓",
        Level::Warning => "▲",
        Level::Critical => "✗",
        Level::NoData => "?",
        Level::LowEvidence => "…",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_loads_and_states_differ() {
        for (name, _) in BUILT_IN {
            let t = Theme::load(name, true).unwrap();
            let styles = [t.ok, t.warning, t.critical, t.no_data, t.low_evidence];
            for (i, a) in styles.iter().enumerate() {
                for b in &styles[i + 1..] {
                    assert_ne!(a, b, "{name}: two states share a style");
                }
            }
        }
    }

    #[test]
    fn a_user_file_overrides_only_what_it_names() {
        let t = Theme::from_user_file(
            "mine.toml",
            "base = \"light\"\nok = { fg = \"blue\" }",
            true,
        )
        .unwrap();
        let light = Theme::load("light", true).unwrap();
        assert_eq!(t.ok.fg, Some(Color::Blue));
        // Bold comes from the base: only fg was named.
        assert!(t.ok.add_modifier.contains(Modifier::BOLD));
        assert_eq!(t.critical, light.critical);
    }

    #[test]
    fn bad_theme_files_say_where_and_how() {
        let e = Theme::from_user_file("mine.toml", "ok = { fg = \"greenish\" }", true).unwrap_err();
        assert!(
            e.contains("mine.toml: ok.fg = \"greenish\": not a colour"),
            "{e}"
        );
        let e = Theme::from_user_file("mine.toml", "okk = { fg = \"green\" }", true).unwrap_err();
        assert!(e.contains("unknown field `okk`"), "{e}");
        let e = Theme::load("solarized", true).unwrap_err();
        assert!(e.contains("no such built-in theme (dark, light"), "{e}");
    }

    #[test]
    fn no_color_keeps_emphasis_but_drops_colour() {
        let t = Theme::load("dark", false).unwrap();
        assert_eq!(t.critical.fg, None);
        assert!(t.critical.add_modifier.contains(Modifier::BOLD));
    }
}
