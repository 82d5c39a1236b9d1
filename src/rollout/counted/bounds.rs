use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::rollout::reading::Histogram;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Le {
    Bound(f64),
    Word(String),
}

pub fn serialize<S: Serializer>(h: &Option<Histogram>, s: S) -> Result<S::Ok, S::Error> {
    let written = h.as_ref().map(|h| {
        let le = |b: f64| match b.is_finite() {
            true => Le::Bound(b),
            false => Le::Word("+Inf".into()),
        };
        h.iter().map(|(b, n)| (le(*b), *n)).collect::<Vec<_>>()
    });
    written.serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Histogram>, D::Error> {
    let read: Option<Vec<(Le, f64)>> = Option::deserialize(d)?;
    let bound = |le: Le| match le {
        Le::Bound(b) => b,
        Le::Word(_) => f64::INFINITY,
    };
    Ok(read.map(|h| h.into_iter().map(|(le, n)| (bound(le), n)).collect()))
}
