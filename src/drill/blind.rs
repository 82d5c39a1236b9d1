//! Blind drills: the scenario is picked at random (seeded, so a game day can
//! be repeated) and shown under a neutral name until the score reveals it.

use crate::sim::Scenario;
use crate::sim::rng::Rng;

/// A blind drill: the neutral name shown until the end, and the note that
/// names the scenario in the journal.
#[derive(Debug, Clone)]
pub struct Blind {
    pub label: String,
    pub note: String,
}

/// Picks one of `pool` (already loaded, so a typo in `--from` is found
/// before the drill) with `seed`; `names` is the list as given, for the note.
pub fn pick(mut pool: Vec<Scenario>, names: &[String], seed: u64) -> (Scenario, Blind) {
    let mut rng = Rng::new(seed);
    let picked = (rng.next_u64() % pool.len() as u64) as usize;
    let number = 100 + rng.next_u64() % 900;
    let label = format!("blind drill #{number}");
    let note = format!(
        "{label} is scenario {} (seed {seed}, picked from {})",
        pool[picked].name,
        names.join(",")
    );
    (pool.swap_remove(picked), Blind { label, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_picks_the_same_scenario_and_the_note_names_it() {
        let names: Vec<String> = ["error-burst", "healthy", "latency-creep"]
            .map(String::from)
            .to_vec();
        let load = || names.iter().map(|n| Scenario::load(n).unwrap()).collect();
        let (a, blind) = pick(load(), &names, 7);
        let (b, again) = pick(load(), &names, 7);
        assert_eq!(
            (a.name.as_str(), &blind.label),
            (b.name.as_str(), &again.label)
        );
        assert!(blind.label.starts_with("blind drill #"), "{}", blind.label);
        assert!(!blind.label.contains(&a.name));
        assert!(
            blind
                .note
                .contains(&format!("is scenario {} (seed 7", a.name))
        );
    }
}
