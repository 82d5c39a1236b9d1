//! The hook lines of the pre-flight: every `exec` program looked up, every
//! http hook's and gate's host TCP-connected. Nothing is sent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Item, Kind, Status};
use crate::config::Config;
use crate::config::check::written_hooks;
use crate::config::model::Hook;
use crate::secrets::Secrets;

/// How long a host may take to accept a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Every distinct `exec` hook program, found on PATH (or at its path).
pub(super) fn programs(config: &Config) -> Vec<Item> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (_, hook) in written_hooks(config) {
        let Some(argv) = &hook.exec else { continue };
        let program = if hook.shell {
            "sh".to_string()
        } else {
            match argv.first() {
                Some(p) => p.clone(),
                None => continue,
            }
        };
        if !seen.insert(program.clone()) {
            continue;
        }
        let (status, found) = match find_program(&program, hook.cwd.as_deref()) {
            Ok(path) => (Status::Ok, format!("{program} -> {}", path.display())),
            Err(why) => (Status::Failed(why), program.clone()),
        };
        out.push(Item {
            kind: Kind::Program,
            name: hook.label(),
            group: None,
            target: found,
            value: None,
            requests: None,
            status,
            blocks_start: true,
        });
    }
    out
}

/// Where `program` is: a path (relative to the hook's `cwd`) or a name on
/// PATH; Err with why not.
fn find_program(program: &str, cwd: Option<&Path>) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = cwd.unwrap_or(Path::new(".")).join(program);
        return if runnable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(format!("{} is not an executable file", path.display()))
        } else {
            Err(format!("{} does not exist", path.display()))
        };
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|p| runnable(p))
        .ok_or_else(|| format!("program `{program}` not found on PATH"))
}

/// Every distinct host an http hook or a gate will talk to, TCP-connected.
pub(super) async fn hosts(config: &Config, secrets: &Secrets) -> Vec<Item> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for (_, hook) in written_hooks(config) {
        if let Some(url) = hook_url(hook) {
            wanted.push((format!("hook {}", hook.label()), url));
        }
    }
    for s in &config.stages {
        if let Some(url) = s.gate.as_ref().and_then(|g| g.url.clone()) {
            wanted.push((format!("gate of {}", s.name), url));
        }
    }
    let mut seen = BTreeSet::new();
    let mut checks = Vec::new();
    for (name, url) in wanted {
        let address = match host_port(&url) {
            Ok(a) => a,
            Err(why) => {
                checks.push((name, secrets.redact(&url), Err(why)));
                continue;
            }
        };
        if seen.insert(address.clone()) {
            checks.push((name, secrets.redact(&address), Ok(address)));
        }
    }
    let connects = checks.into_iter().map(|(name, shown, address)| async move {
        let status = match address {
            Ok(a) => match connect(&a).await {
                Ok(()) => Status::Ok,
                Err(why) => Status::Failed(why),
            },
            Err(why) => Status::Failed(why),
        };
        Item {
            kind: Kind::Host,
            name,
            group: None,
            target: shown,
            value: None,
            requests: None,
            status,
            blocks_start: false,
        }
    });
    futures::future::join_all(connects)
        .await
        .into_iter()
        .map(|mut i| {
            if let Status::Failed(why) = &i.status {
                i.status = Status::Failed(secrets.redact(why));
            }
            i
        })
        .collect()
}

/// The URL an http hook sends to, read from the environment when written
/// `env:NAME` (an unset one is refused by the plan already).
fn hook_url(hook: &Hook) -> Option<String> {
    let url = hook.http.as_ref()?;
    match url.strip_prefix("env:") {
        Some(var) => std::env::var(var).ok(),
        None => Some(url.clone()),
    }
}

fn host_port(url: &str) -> Result<String, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    Ok(if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    })
}

/// Resolves and TCP-connects; sends nothing.
async fn connect(address: &str) -> Result<(), String> {
    let attempt = async {
        let addrs: Vec<_> = tokio::net::lookup_host(address)
            .await
            .map_err(|e| format!("cannot resolve {address}: {e}"))?
            .collect();
        let mut last = format!("{address} resolves to no address");
        for a in addrs {
            match tokio::net::TcpStream::connect(a).await {
                Ok(_) => return Ok(()),
                Err(e) => last = format!("cannot connect to {a}: {e}"),
            }
        }
        Err(last)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "no TCP connection to {address} within {}s",
            CONNECT_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_named() {
        let e = find_program("surely-not-a-program-here", None).unwrap_err();
        assert_eq!(e, "program `surely-not-a-program-here` not found on PATH");
        assert!(find_program("sh", None).is_ok());
    }
}
