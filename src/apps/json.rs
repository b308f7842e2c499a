//! The pieces of the JSON envelope every app's report shares: a run's
//! coherence messages by type and by primitive tag, and counts of software
//! messages by name.

use serde_json::{Map, Value, json};

use crate::model::{MsgKind, Primitive};
use crate::stats::Stats;

/// A run's coherence messages by type and by primitive tag (the counts that
/// are not zero): `coherence.by_type` and `primitives.hardware`.
pub fn hardware_counts(s: &Stats) -> (Map<String, Value>, Map<String, Value>) {
    let by_type = MsgKind::ALL
        .iter()
        .zip(s.msg_count.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| (k.name().to_string(), json!(n)))
        .collect();
    let hardware = Primitive::ALL
        .iter()
        .zip(s.primitives.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(p, n)| (p.tag().to_string(), json!(n)))
        .collect();
    (by_type, hardware)
}

/// Counts by name, as a JSON object (serde_json keeps its keys sorted).
pub fn tally<'a>(names: impl Iterator<Item = &'a str>) -> Map<String, Value> {
    let mut counts: Vec<(&str, u64)> = Vec::new();
    for name in names {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.into_iter().map(|(n, c)| (n.to_string(), json!(c))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_count_each_name() {
        let t = tally(["b", "a", "b"].into_iter());
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"a":1,"b":2}"#);
    }
}
