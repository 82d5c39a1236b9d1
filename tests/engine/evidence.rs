//! The evidence judge and one poll as one input: what a reading is judged
//! against, and when there is too little of it to judge.

use super::*;

/// Canary and baseline of one poll are judged together: a canary that rose
/// with its baseline is never compared with the previous poll's baseline.
#[test]
fn one_poll_is_judged_as_a_whole() {
    let mut d = Drive::started("");
    let poll = |canary: f64, baseline: f64| {
        Input::Poll(
            (0..3)
                .flat_map(|metric| {
                    let (c, b) = match metric {
                        0 => (canary, baseline),
                        1 => (180.0, 170.0),
                        _ => (99.95, 99.95),
                    };
                    [
                        Sample {
                            metric,
                            group: Group::Canary,
                            reading: Reading::value(c, Some(5000.0)),
                        },
                        Sample {
                            metric,
                            group: Group::Baseline,
                            reading: Reading::value(b, Some(50000.0)),
                        },
                    ]
                })
                .collect(),
        )
    };
    d.now += SEC;
    d.send(poll(0.06, 0.05));
    let before = d.events().len();
    // Both rise together, still 1.25x: nothing changed.
    d.now += SEC;
    d.send(poll(0.15, 0.12));
    d.now += SEC;
    d.send(poll(0.06, 0.05));
    let changes: Vec<_> = d.events()[before..]
        .iter()
        .filter(|e| matches!(e, Event::MetricChanged { .. }))
        .map(|e| format!("{e:?}"))
        .collect();
    assert_eq!(changes, Vec::<String>::new());
    assert_eq!(d.r.tracks[0].verdict.level, Level::Ok);
}

/// Every blind metric's own reason reaches the journal when it first
/// appears or changes; a reason that only counts up is journalled once.
#[test]
fn every_no_data_reason_is_journalled_when_it_changes() {
    let mut d = Drive::started("");
    let blind = |d: &mut Drive, p95: &str, success: &str| {
        d.now += SEC;
        d.send(Input::Poll(vec![
            Sample {
                metric: 1,
                group: Group::Canary,
                reading: Reading::no_data(p95),
            },
            Sample {
                metric: 2,
                group: Group::Canary,
                reading: Reading::no_data(success),
            },
        ]));
    };
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "timeout after 5s",
    );
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "timeout after 6s",
    );
    blind(
        &mut d,
        "HTTP 400: unclosed left parenthesis",
        "connection refused",
    );
    let reasons: Vec<String> = d
        .events()
        .iter()
        .filter_map(|e| match e {
            Event::MetricChanged { metric, reason, .. } if metric != "error_rate" => {
                Some(reason.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        [
            "p95: no data (HTTP 400: unclosed left parenthesis)",
            "success rate: no data (timeout after 5s)",
            "success rate: no data (connection refused)",
        ]
    );
}

/// Traffic for the evidence judge: every 5 s, `rps` requests split by the
/// stage's weight, each failing with its version's probability (a seeded
/// generator, so a run is repeatable).
struct Traffic {
    rps: f64,
    seed: u64,
}

impl Traffic {
    fn draw(&mut self, n: u64, p: f64) -> u64 {
        (0..n)
            .filter(|_| {
                self.seed = self
                    .seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.seed >> 11) as f64 / (1u64 << 53) as f64) < p
            })
            .count() as u64
    }

    /// Runs `dur` with the canary failing at `canary` (a fraction) and the
    /// stable version at `stable`.
    fn run(&mut self, d: &mut Drive, dur: At, canary: f64, stable: f64) {
        let end = d.now + dur;
        while d.now < end && !d.r.is_finished() {
            d.now += 5 * SEC;
            let weight = d.r.config.stages[d.r.state.stage].weight.unwrap_or(100.0) / 100.0;
            let n_c = (self.rps * 5.0 * weight).round() as u64;
            let n_b = (self.rps * 5.0).round() as u64 - n_c;
            let (b_c, b_b) = (self.draw(n_c, canary), self.draw(n_b, stable));
            let rate = |b: u64, n: u64| Reading::value(100.0 * b as f64 / n as f64, Some(n as f64));
            let success = |b: u64, n: u64| {
                Reading::value(100.0 - 100.0 * b as f64 / n as f64, Some(n as f64))
            };
            let mut poll = vec![
                Sample {
                    metric: 0,
                    group: Group::Canary,
                    reading: rate(b_c, n_c),
                },
                Sample {
                    metric: 1,
                    group: Group::Canary,
                    reading: Reading::value(180.0, Some(n_c as f64)),
                },
                Sample {
                    metric: 2,
                    group: Group::Canary,
                    reading: success(b_c, n_c),
                },
            ];
            if n_b > 0 {
                poll.push(Sample {
                    metric: 0,
                    group: Group::Baseline,
                    reading: rate(b_b, n_b),
                });
                poll.push(Sample {
                    metric: 2,
                    group: Group::Baseline,
                    reading: success(b_b, n_b),
                });
            }
            d.send(Input::Poll(poll));
        }
    }
}

fn evidence(extra: &str) -> Drive {
    Drive::started(&format!("[policy]\njudge = \"evidence\"\n{extra}"))
}

#[test]
fn evidence_promotes_a_healthy_canary_without_a_false_alarm() {
    for seed in 1..=5 {
        let mut d = evidence("auto_advance = true\non_critical = \"rollback\"");
        let mut t = Traffic { rps: 400.0, seed };
        t.run(&mut d, 3 * 60 * MIN, 0.0005, 0.0005);
        assert_eq!(
            d.r.state.outcome,
            Some(Outcome::Promoted),
            "seed {seed}: {:?}",
            d.decisions()
        );
    }
}

#[test]
fn evidence_rolls_back_two_percent_errors_within_30s() {
    let mut d = evidence("on_critical = \"rollback\"");
    let mut t = Traffic {
        rps: 400.0,
        seed: 7,
    };
    t.run(&mut d, 10 * MIN, 0.0005, 0.0005);
    assert_eq!(d.r.state.rollback, None);
    let fault = d.now;
    t.run(&mut d, 2 * MIN, 0.02, 0.0005);
    let rollback = d.r.state.rollback.clone().expect("rolled back");
    assert!(
        rollback.at - fault <= 30 * SEC,
        "after {}s: {}",
        (rollback.at - fault) / SEC,
        rollback.reason
    );
    assert!(
        rollback.reason.contains("99% confidence"),
        "{}",
        rollback.reason
    );
}

#[test]
fn evidence_holds_a_canary_it_cannot_judge_yet() {
    // At 5% of 4 req/s a stage sees one request a second: no error for
    // minutes proves little, so the stage clock waits for evidence.
    let mut d = evidence("auto_advance = true");
    let mut t = Traffic { rps: 4.0, seed: 3 };
    t.run(&mut d, 15 * MIN, 0.0005, 0.0005);
    assert_eq!(d.stage(), 0);
    let line = decision(&d.r, d.now, None, &|_| String::new());
    assert!(line.contains("not enough evidence yet"), "{line}");
}
