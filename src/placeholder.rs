//! `{weight}`-style placeholders, filled in one pass: a value is inserted
//! as it is and never read again, so a stage named `{reason}` or `$(rm)`
//! stays exactly that text inside the one argument it lands in.

use std::ops::Range;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Placeholder values by name: `weight` -> `25`.
pub type Vars = std::collections::BTreeMap<String, String>;

/// Replaces every `{name}` whose name is in `vars`; anything else is kept.
pub fn fill(text: &str, vars: &Vars) -> String {
    fill_with(text, vars, |v| v.to_string())
}

/// As `fill`, percent-encoding each value so it stays one URL component.
pub fn fill_url(text: &str, vars: &Vars) -> String {
    fill_with(text, vars, percent_encode)
}

/// As `fill`, each value escaped to sit inside a JSON string: quotes,
/// backslashes and control characters as JSON escapes, and `<`, `>`, `&`
/// as `\u003c`-style escapes so a body pasted into HTML cannot end a
/// `<script>`. The template writes the quotes: `"text": "{reason}"`.
pub fn fill_json(text: &str, vars: &Vars) -> String {
    fill_with(text, vars, json_escape)
}

fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_string()).to_string();
    html_safe(&quoted[1..quoted.len() - 1])
}

/// JSON text with `<`, `>`, `&` and the JavaScript line separators as
/// `\u` escapes: the same JSON, but inert inside an HTML page. They occur
/// only inside strings, so the whole serialized document can go through.
pub fn html_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

fn fill_with(text: &str, vars: &Vars, encode: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, name) in scan(text) {
        if let Some(value) = vars.get(name) {
            out.push_str(&text[copied..at.start]);
            out.push_str(&encode(value));
            copied = at.end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Every `{name}` in `text`, where a name is letters, digits and `_`: the
/// byte range of the whole `{name}` and the name. `{{weight}}` holds
/// `{weight}`; a brace around anything else (`{"a":1}`) is plain text. The
/// config's check and every fill read text through this one scanner, so
/// what `check` accepts is what a run fills.
pub fn scan(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(open) = text[from..].find('{').map(|i| from + i) {
            let inside = &text[open + 1..];
            let name_len = inside
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(inside.len());
            if name_len > 0 && inside[name_len..].starts_with('}') {
                from = open + name_len + 2;
                return Some((open..from, &inside[..name_len]));
            }
            from = open + 1;
        }
        None
    })
}

/// The names of the placeholders in `text`, in order.
pub fn names(text: &str) -> impl Iterator<Item = &str> {
    scan(text).map(|(_, name)| name)
}

/// What stays as it is in one URL component: RFC 3986's unreserved
/// characters. Everything else is written `%XX`.
pub const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn percent_encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// The same values as environment variables: `COCKPIT_WEIGHT=25`.
pub fn env_vars(vars: &Vars) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (format!("COCKPIT_{}", k.to_uppercase()), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("stage", "{reason}"),
            ("reason", "; rm -rf x"),
            ("weight", "25"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn values_are_inserted_once_and_never_expanded_again() {
        assert_eq!(fill("--stage={stage}", &vars()), "--stage={reason}");
        assert_eq!(fill("{weight}%{weight}", &vars()), "25%25");
    }

    #[test]
    fn unknown_names_and_stray_braces_are_left_alone() {
        assert_eq!(fill("{nope} {weight", &vars()), "{nope} {weight");
        assert_eq!(fill("{{weight}}", &vars()), "{25}");
        assert_eq!(fill("json: {\"a\":1}", &vars()), "json: {\"a\":1}");
    }

    #[test]
    fn url_values_cannot_leave_their_component() {
        assert_eq!(
            fill_url("https://h/flags/{reason}?w={weight}", &vars()),
            "https://h/flags/%3B%20rm%20-rf%20x?w=25"
        );
    }

    #[test]
    fn json_values_stay_inside_their_string() {
        let mut v = vars();
        v.insert("reason".into(), "say \"hi\"\n</script>".into());
        let body = fill_json(r#"{"text": "{reason}"}"#, &v);
        assert_eq!(body, r#"{"text": "say \"hi\"\n\u003c/script\u003e"}"#);
        let back: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(back["text"], "say \"hi\"\n</script>");
    }

    #[test]
    fn the_scanner_finds_names_only() {
        let found: Vec<_> = names("{a} {{b}} {\"c\":1} {d e} {} {f_1}{g").collect();
        assert_eq!(found, ["a", "b", "f_1"]);
        assert_eq!(scan("x{weight}").next(), Some((1..9, "weight")));
    }

    #[test]
    fn env_names_are_prefixed_and_upper_case() {
        assert!(env_vars(&vars()).contains(&("COCKPIT_WEIGHT".into(), "25".into())));
    }
}
