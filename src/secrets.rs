//! Every secret the cockpit holds, and the one function that scrubs them
//! out of text that came from outside (a server's error body, a hook's
//! output, a Prometheus warning) before it is shown, journalled or
//! published. Built once from the config at start; `redact` is applied
//! where edge messages enter the run loop and where actions and metric
//! sources put outside text into words.

use percent_encoding::{percent_decode_str, utf8_percent_encode};

use crate::config::Config;
use crate::config::model::Hook;
use crate::placeholder::COMPONENT;

pub const REDACTED: &str = "[redacted]";

/// Shorter values are not searched for: a 3-character secret would turn
/// every line into confetti and hide what went wrong. `check` and the
/// README ask for real tokens, which are far longer.
const MIN_LEN: usize = 4;

/// Query parameter names whose values are credentials
/// (`?access_token=`, `?sig=`, `?api_key=`...), matched as substrings.
const SECRET_PARAMS: [&str; 7] = [
    "token",
    "key",
    "secret",
    "pass",
    "auth",
    "sig",
    "credential",
];

/// The resolved secret values, longest first (so a URL is replaced whole
/// before a part of it), each with the encoded forms a server may echo.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

/// Never prints a value, so a `{:?}` in a log or a panic cannot leak one.
impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

impl Secrets {
    /// Every secret the config points at, read from the environment now:
    /// Prometheus and Alertmanager auth and `env:` headers, hook `env:` URLs and headers,
    /// and credentials or secret query values inside any configured URL.
    /// A variable that is not set is skipped: whatever needs it refuses to
    /// start or to run, and says so.
    pub fn from_config(config: &Config) -> Secrets {
        let mut s = Secrets::default();
        for p in config.endpoints() {
            s.add_url(p.url);
            if let Some(token) = p.token_env.and_then(env) {
                s.add(&token);
            }
            if let Some(pair) = p.basic_auth_env.and_then(env) {
                s.add_basic_auth(&pair);
            }
            for value in p.headers.values() {
                if let Some(v) = value.strip_prefix("env:").and_then(env) {
                    s.add(&v);
                }
            }
        }
        if let Some(scrape) = &config.scrape {
            for url in scrape.canary.iter().chain(&scrape.baseline) {
                s.add_url(url);
            }
        }
        for url in config.metrics.iter().filter_map(|m| m.probe.as_ref()) {
            s.add_url(url);
        }
        let h = &config.hooks;
        let global = [
            &h.enter,
            &h.undo,
            &h.on_pause,
            &h.on_resume,
            &h.on_promote,
            &h.on_rollback,
            &h.on_breach,
            &h.on_event,
        ];
        let mut hooks: Vec<&Hook> = global.iter().flat_map(|hs| &hs.0).collect();
        for stage in &config.stages {
            hooks.extend(&stage.enter.0);
            hooks.extend(&stage.undo.0);
            hooks.extend(stage.smoke.iter().chain(&stage.verify));
            if let Some(url) = stage.gate.as_ref().and_then(|g| g.url.as_ref()) {
                s.add_url(url);
            }
        }
        for hook in hooks {
            s.add_hook(hook);
        }
        s
    }

    /// One hook's secrets: its `env:` URL (whole and in parts), `env:`
    /// header values and routing key, and credentials inside a plain URL.
    pub fn of_hook(hook: &Hook) -> Secrets {
        let mut s = Secrets::default();
        s.add_hook(hook);
        s
    }

    fn add_hook(&mut self, hook: &Hook) {
        match hook.http.as_deref().map(|u| (u, u.strip_prefix("env:"))) {
            Some((_, Some(var))) => {
                if let Some(url) = env(var) {
                    self.add(&url);
                    self.add_url(&url);
                    if let Ok(u) = reqwest::Url::parse(&url) {
                        // A server echoing its own path ("no route /hooks/T0/B0/xyz").
                        self.add(u.path());
                    }
                }
            }
            Some((url, None)) => self.add_url(url),
            None => {}
        }
        for value in hook.headers.values().chain(&hook.routing_key) {
            if let Some(v) = value.strip_prefix("env:").and_then(env) {
                self.add(&v);
            }
        }
    }

    /// A secret value as sent, percent-encoded and form-encoded, and the
    /// credential alone when it is written `Bearer <token>`.
    pub fn add(&mut self, value: &str) {
        if let Some((scheme, rest)) = value.split_once(' ')
            && matches!(
                scheme.to_ascii_lowercase().as_str(),
                "bearer" | "basic" | "token" | "apikey"
            )
        {
            self.add(rest.trim());
        }
        for form in [
            value.to_string(),
            percent_encoded(value, false),
            percent_encoded(value, true),
        ] {
            if form.len() >= MIN_LEN && !self.values.contains(&form) {
                self.values.push(form);
            }
        }
        self.values
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// `user:password` for Basic auth: the pair, the password alone and the
    /// base64 the header carries.
    pub fn add_basic_auth(&mut self, pair: &str) {
        self.add(pair);
        if let Some((_, password)) = pair.split_once(':') {
            self.add(password);
        }
        self.add(&base64(pair.as_bytes()));
    }

    /// The password in `https://user:password@host/` and the values of
    /// query parameters named like credentials.
    pub fn add_url(&mut self, url: &str) {
        let Ok(u) = reqwest::Url::parse(url) else {
            return;
        };
        if let Some(password) = u.password() {
            self.add(password);
            self.add(&percent_decoded(password));
        }
        for (name, value) in u.query_pairs() {
            if secret_param(&name) {
                self.add(&value);
            }
        }
    }

    /// Adds every value of `other` (a hook's own secrets to the config's).
    pub fn extend(&mut self, other: &Secrets) {
        for v in &other.values {
            self.add(v);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret, in every form, replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        out
    }

    /// A reading's outside words (a NO DATA reason, a detail) redacted.
    pub fn reading(&self, mut reading: crate::rollout::Reading) -> crate::rollout::Reading {
        use crate::rollout::Reading;
        match &mut reading {
            Reading::NoData { reason, .. } => *reason = self.redact(reason),
            Reading::Value { detail, raw, .. } => {
                *detail = detail.as_deref().map(|d| self.redact(d));
                // Redacted whole, then shortened: a cut cannot split a secret.
                *raw = raw.text().map_or_else(Default::default, |r| {
                    crate::rollout::reading::Raw::bounded(&self.redact(r))
                });
            }
        }
        reading
    }

    /// Every string inside a JSON value redacted, keys included.
    pub fn json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.redact(&k), self.json(v)))
                    .collect(),
            ),
            other => other,
        }
    }
}

fn env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

/// The URL as shown to people: no credentials, no query string.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => url.split('?').next().unwrap_or(url).to_string(),
    }
}

/// A configured URL as a label shows it: the same text (placeholders and
/// all), less a `user:password@` and the values of credential-named query
/// parameters. Other query values stay: `?colour=green` is what tells an
/// `enter` hook from its `undo`.
pub fn url_for_labels(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => head.to_string(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if secret_param(name) => format!("{name}={REDACTED}"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{out}?{}", pairs.join("&"));
    }
    out
}

fn secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_PARAMS.iter().any(|p| name.contains(p))
}

/// RFC 3986 percent-encoding of everything but unreserved characters;
/// `form` writes a space as `+` the way HTML forms and many servers do
/// (`%` itself is encoded, so every `%20` left is a space).
fn percent_encoded(value: &str, form: bool) -> String {
    let encoded = utf8_percent_encode(value, COMPONENT).to_string();
    if form {
        encoded.replace("%20", "+")
    } else {
        encoded
    }
}

fn percent_decoded(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// Standard base64 (RFC 4648), as the Basic auth header carries it.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
