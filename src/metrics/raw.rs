//! The excerpt of a source's answer a reading keeps for the detail view:
//! what Prometheus, a `/metrics` page or a probe said, in their own words,
//! shortened to a few lines. Pure; the sources call it on what they read,
//! and `crate::secrets` redacts it with the reading's other outside words.

use serde_json::Value;

/// Series of a Prometheus answer, or lines of a page, shown at most.
pub const SHOWN: usize = 5;

/// Prometheus' `data.result` for the query as sent: one line per series,
/// its labels then its value (`{code="500", pod="a"} 0.0123`), the first
/// `SHOWN` of them and how many more. None when the body is not an API
/// answer.
pub fn prometheus(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let data = &json["data"];
    let result = &data["result"];
    let lines = match data["resultType"].as_str()? {
        "scalar" | "string" => vec![format!("scalar {}", sample(result))],
        _ => {
            let series = result.as_array()?;
            if series.is_empty() {
                return Some("[] (no series)".into());
            }
            series.iter().map(one_series).collect()
        }
    };
    Some(first_of(&lines, "series"))
}

/// `{a="1", b="2"} 0.5`: one series of an instant vector.
fn one_series(s: &Value) -> String {
    let labels: Vec<String> = s["metric"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={:?}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    format!("{{{}}} {}", labels.join(", "), sample(&s["value"]))
}

/// The value of a `[time, "value"]` pair as Prometheus wrote it.
fn sample(pair: &Value) -> String {
    pair[1]
        .as_str()
        .map_or_else(|| pair.to_string(), str::to_string)
}

/// The exposition lines of `family` on a page (its `_total`, `_bucket`,
/// `_sum`, `_count` series too; comments left out), as the target wrote
/// them: the first `SHOWN` and how many more.
pub fn exposition(page: &str, family: &str) -> String {
    let lines: Vec<String> = page
        .lines()
        .filter(|l| of_family(l, family))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        return format!("no {family} lines on the page");
    }
    first_of(&lines, "line")
}

fn of_family(line: &str, family: &str) -> bool {
    let Some(rest) = line.strip_prefix(family) else {
        return false;
    };
    let rest = ["_total", "_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| rest.strip_prefix(s))
        .unwrap_or(rest);
    rest.starts_with(['{', ' ', '\t'])
}

/// A probe's answer: its status and the first line of its body.
pub fn probe(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    format!("HTTP {status} {}", first.trim())
        .trim_end()
        .to_string()
}

/// The first `SHOWN` lines, then "N more <what>(s)".
fn first_of(lines: &[String], what: &str) -> String {
    let mut out = lines
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > SHOWN {
        let more = lines.len() - SHOWN;
        let s = if more == 1 || what.ends_with('s') {
            ""
        } else {
            "s"
        };
        out.push_str(&format!("\n{more} more {what}{s}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::reading::{RAW_MAX, Raw};
    use crate::secrets::Secrets;

    fn vector(n: usize) -> String {
        let series: Vec<String> = (0..n)
            .map(|i| {
                format!(r#"{{"metric":{{"code":"5{i:02}","pod":"web-{i}"}},"value":[1795516200.1,"0.0{i}"]}}"#)
            })
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            series.join(",")
        )
    }

    #[test]
    fn a_prometheus_answer_shows_its_first_series_and_how_many_more() {
        let one = prometheus(vector(1).as_bytes()).unwrap();
        assert_eq!(one, r#"{code="500", pod="web-0"} 0.00"#);
        let many = prometheus(vector(8).as_bytes()).unwrap();
        let lines: Vec<&str> = many.lines().collect();
        assert_eq!(lines.len(), SHOWN + 1);
        assert_eq!(lines[4], r#"{code="504", pod="web-4"} 0.04"#);
        assert_eq!(lines[5], "3 more series");
        let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(prometheus(empty.as_bytes()).unwrap(), "[] (no series)");
        let scalar = r#"{"status":"success","data":{"resultType":"scalar","result":[1.5,"42"]}}"#;
        assert_eq!(prometheus(scalar.as_bytes()).unwrap(), "scalar 42");
        assert_eq!(prometheus(b"<html>bad gateway</html>"), None);
    }

    #[test]
    fn a_scrape_shows_the_family_lines_only() {
        let page = "# HELP http_requests_total All.\n\
            # TYPE http_requests_total counter\n\
            http_requests_total{code=\"200\"} 120\n\
            http_requests_total{code=\"500\"} 3\n\
            http_requests_total_other 9\n\
            process_cpu_seconds_total 4.5\n";
        assert_eq!(
            exposition(page, "http_requests"),
            "http_requests_total{code=\"200\"} 120\nhttp_requests_total{code=\"500\"} 3"
        );
        let buckets: String = (0..9)
            .map(|i| format!("lat_bucket{{le=\"{i}\"}} {i}\n"))
            .collect();
        let shown = exposition(&buckets, "lat");
        assert!(shown.ends_with("\n4 more lines"), "{shown}");
        let one_more = exposition(
            &buckets.lines().take(6).collect::<Vec<_>>().join("\n"),
            "lat",
        );
        assert!(one_more.ends_with("\n1 more line"), "{one_more}");
        assert_eq!(exposition(page, "lat"), "no lat lines on the page");
    }

    #[test]
    fn a_probe_shows_its_status_and_first_line() {
        assert_eq!(
            probe(503, b"\n{\"status\":\"down\"}\nmore"),
            "HTTP 503 {\"status\":\"down\"}"
        );
        assert_eq!(probe(200, b""), "HTTP 200");
    }

    #[test]
    fn the_excerpt_is_bounded_and_redacted() {
        let long = "x".repeat(RAW_MAX * 3) + "é";
        let kept = Raw::bounded(&format!("é{long}"));
        let text = kept.text().unwrap();
        assert!(text.len() <= RAW_MAX, "{} bytes", text.len());
        assert!(text.ends_with('…'));
        let mut secrets = Secrets::default();
        secrets.add("tok-12345");
        let said = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"auth":"tok-12345"},"value":[1,"1"]}]}}"#;
        let reading = crate::rollout::Reading::value(1.0, None)
            .with_raw(&prometheus(said.as_bytes()).unwrap());
        let shown = secrets.reading(reading);
        assert_eq!(shown.raw(), Some(r#"{auth="[redacted]"} 1"#));
        // Shortened after redaction, at the edge where readings enter.
        let long = crate::rollout::Reading::value(1.0, None).with_raw(&long);
        let shown = secrets.reading(long);
        assert!(shown.raw().unwrap().len() <= RAW_MAX);
    }
}
