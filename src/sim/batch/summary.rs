//! A batch's runs summed up per scenario, and the table the README quotes.

use super::Run;
use crate::config::model::Judge;

/// Every run of one scenario, summed up for the table.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub scenario: String,
    pub runs: usize,
    pub right: usize,
    /// Rolled back at any stage (caught before 100%, where a scenario
    /// expects a rollback; a false rollback where it expects a promotion).
    pub rolled_back: usize,
    pub false_rollbacks: usize,
    pub false_advances: usize,
    /// Promoted where the scenario expects a rollback or a hold.
    pub false_promotions: usize,
    pub blind_advances: usize,
    /// Detection times of the runs that decided, sorted.
    pub detections: Vec<u64>,
    /// From the start to the promotion, of the runs promoted where the
    /// scenario expects it, sorted: what judging costs a good release.
    pub promotions: Vec<u64>,
    pub low_evidence_ms: u64,
}

impl Summary {
    pub fn of(scenario: &str, runs: &[Run]) -> Summary {
        let mut detections: Vec<u64> = runs
            .iter()
            .filter(|r| r.score.expected_outcome != "promoted")
            .filter(|r| r.score.outcome == r.score.expected_outcome)
            .filter_map(Run::detection_ms)
            .collect();
        detections.sort_unstable();
        let mut promotions: Vec<u64> = runs
            .iter()
            .filter(|r| r.score.expected_outcome == "promoted" && r.score.outcome == "promoted")
            .map(|r| r.score.ended_ms)
            .collect();
        promotions.sort_unstable();
        Summary {
            scenario: scenario.into(),
            runs: runs.len(),
            right: runs.iter().filter(|r| r.score.right_call).count(),
            rolled_back: runs
                .iter()
                .filter(|r| r.score.outcome.starts_with("rolled_back"))
                .count(),
            false_rollbacks: runs.iter().filter(|r| r.false_rollback()).count(),
            false_advances: runs.iter().filter(|r| r.false_advance()).count(),
            false_promotions: runs
                .iter()
                .filter(|r| r.score.outcome == "promoted" && r.score.expected_outcome != "promoted")
                .count(),
            blind_advances: runs.iter().map(|r| r.blind_advances).sum(),
            detections,
            promotions,
            low_evidence_ms: runs.iter().map(|r| r.low_evidence_ms).sum(),
        }
    }

    /// The `p`-th percentile detection time (0-100), if any run decided.
    pub fn detection(&self, p: f64) -> Option<u64> {
        percentile(&self.detections, p)
    }

    /// The `p`-th percentile time to a rightful promotion.
    pub fn promotion(&self, p: f64) -> Option<u64> {
        percentile(&self.promotions, p)
    }
}

fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank).copied()
}

/// The table the README quotes: one row per scenario.
pub fn table(judge: Judge, rows: &[Summary]) -> String {
    let secs = |ms: Option<u64>| ms.map_or("-".into(), |ms| format!("{:.0}s", ms as f64 / 1000.0));
    let mut out = format!(
        "judge: {}\n| scenario | runs | right calls | rolled back | false rollbacks | false advances | false promotions | blind advances | detection p50 | detection p95 | promoted after p50 | promoted after p95 | low evidence (mean) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        match judge {
            Judge::Evidence => "evidence",
            Judge::Thresholds => "thresholds",
        }
    );
    for r in rows {
        let mean_low = r.low_evidence_ms / r.runs.max(1) as u64;
        out.push_str(&format!(
            "| {} | {} | {:.1}% | {:.1}% | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.runs,
            100.0 * r.right as f64 / r.runs.max(1) as f64,
            100.0 * r.rolled_back as f64 / r.runs.max(1) as f64,
            r.false_rollbacks,
            r.false_advances,
            r.false_promotions,
            r.blind_advances,
            secs(r.detection(50.0)),
            secs(r.detection(95.0)),
            secs(r.promotion(50.0)),
            secs(r.promotion(95.0)),
            secs(Some(mean_low)),
        ));
    }
    out
}
