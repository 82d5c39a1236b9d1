//! Hooks: what runs when a stage is entered or undone, and on events.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::duration::Span;

/// One action: a process (`exec`) or an HTTP request (`http`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    pub name: Option<String>,
    /// argv; placeholders such as `{weight}` are replaced inside arguments.
    pub exec: Option<Vec<String>>,
    /// Run `exec[0]` through `sh -c`. Placeholders are refused there; use
    /// the `COCKPIT_*` environment variables instead.
    #[serde(default)]
    pub shell: bool,
    pub cwd: Option<PathBuf>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub http: Option<String>,
    pub method: Option<String>,
    /// Values of the form `env:NAME` are read from the environment at run
    /// time and redacted wherever shown.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub timeout: Option<Span>,
    pub retries: Option<u32>,
    /// What an `http` hook's body looks like to the service receiving it.
    pub format: Option<HookFormat>,
    /// A body template with the hook placeholders (instead of `format`).
    pub body: Option<String>,
    /// PagerDuty's integration key, always `env:NAME`.
    pub routing_key: Option<String>,
}

/// The body an `http` hook sends: the cockpit's own JSON, or a message in
/// the shape a chat or paging service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HookFormat {
    #[default]
    Json,
    Slack,
    Teams,
    Pagerduty,
}

impl Hook {
    /// What the operator sees for this hook: its name or its command line.
    pub fn label(&self) -> String {
        self.label_filled(&crate::placeholder::Vars::new())
    }

    /// The label with the placeholders filled as a run fills them: what
    /// really ran (`set-weight 25`, not `set-weight {weight}`).
    pub fn label_filled(&self, vars: &crate::placeholder::Vars) -> String {
        use crate::placeholder::{fill, fill_url};
        if let Some(name) = &self.name {
            return fill(name, vars);
        }
        if let Some(argv) = &self.exec {
            let argv: Vec<String> = argv.iter().map(|a| fill(a, vars)).collect();
            return argv.join(" ");
        }
        if let Some(url) = &self.http {
            // Journalled and shown: no credentials written into the URL.
            let url = crate::secrets::url_for_labels(&fill_url(url, vars));
            return format!("{} {url}", self.method.as_deref().unwrap_or("POST"));
        }
        "(empty hook)".into()
    }

    /// A `body` template is JSON when the `Content-Type` header says so,
    /// or, without that header, when it starts like a JSON document: `[`,
    /// or `{` and then `"` or `}` (so `{rollout} failed` is text).
    pub fn body_is_json(&self) -> bool {
        let content_type = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.to_ascii_lowercase());
        match (content_type, &self.body) {
            (Some(ct), _) => ct.contains("json"),
            (None, Some(body)) => {
                let body = body.trim_start();
                body.starts_with('[')
                    || body
                        .strip_prefix('{')
                        .is_some_and(|rest| rest.trim_start().starts_with(['"', '}']))
            }
            (None, None) => false,
        }
    }
}

/// One hook or a list of them: `enter = { exec = [...] }` or `enter = [{...}, {...}]`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Hooks(pub Vec<Hook>);

impl<'de> Deserialize<'de> for Hooks {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = Hooks;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hook table or an array of hook tables")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Hooks, A::Error> {
                Vec::<Hook>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Hooks)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Hooks, A::Error> {
                Hook::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|h| Hooks(vec![h]))
            }
        }
        d.deserialize_any(OneOrMany)
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalHooks {
    /// Used by every stage that has no `enter` of its own.
    #[serde(default)]
    pub enter: Hooks,
    /// Used by every stage that has no `undo` of its own.
    #[serde(default)]
    pub undo: Hooks,
    #[serde(default)]
    pub on_pause: Hooks,
    #[serde(default)]
    pub on_resume: Hooks,
    #[serde(default)]
    pub on_promote: Hooks,
    #[serde(default)]
    pub on_rollback: Hooks,
    #[serde(default)]
    pub on_breach: Hooks,
    #[serde(default)]
    pub on_event: Hooks,
}

impl GlobalHooks {
    /// Every list with its key, in the order the docs give them.
    pub fn by_key(&self) -> [(&'static str, &Hooks); 8] {
        [
            ("enter", &self.enter),
            ("undo", &self.undo),
            ("on_pause", &self.on_pause),
            ("on_resume", &self.on_resume),
            ("on_promote", &self.on_promote),
            ("on_rollback", &self.on_rollback),
            ("on_breach", &self.on_breach),
            ("on_event", &self.on_event),
        ]
    }
}
