//! `cohsim sweep merge DIR`: every cell's record gathered into one table,
//! `DIR/results.csv` and `DIR/results.json`, one row per cell of the manifest.
//!
//! Columns: `cell`, one per axis (its value as the grid wrote it), `status`
//! (`ok`, `failed` or `missing`), `error`, then the metrics: every number,
//! string or boolean of the cell's JSON under its dotted path (`totals.misses`,
//! `cores.0.hits`), in the order of the first cell that has it. The grid's
//! `metrics` keeps only the paths under the prefixes it names, in its order;
//! without it, everything but `transitions` (one column per table row) is
//! kept. The files are always complete: a cell that is missing or failed is a
//! row that says so, and both are listed by name on stderr.

use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value, json};

use super::files::{self, CellRecord, Manifest};

pub struct Merged {
    pub rows: usize,
    pub missing: Vec<String>,
    pub failed: Vec<String>,
}

/// Flattens `v` into `(dotted path, leaf)` pairs, in document order.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| flatten(&join(k), x, out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| flatten(&join(&i.to_string()), x, out)),
        leaf => out.push((prefix.to_string(), leaf.clone())),
    }
}

fn under(path: &str, prefix: &str) -> bool {
    path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.'))
}

fn metrics_of(record: &CellRecord, wanted: Option<&[String]>) -> Vec<(String, Value)> {
    let mut all = Vec::new();
    if let Some(r) = &record.result {
        flatten("", r, &mut all);
    }
    match wanted {
        None => all.into_iter().filter(|(p, _)| !under(p, "transitions")).collect(),
        Some(prefixes) => {
            prefixes.iter().flat_map(|m| all.iter().filter(|(p, _)| under(p, m)).cloned().collect::<Vec<_>>()).collect()
        }
    }
}

fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Merges the records in `out` and writes the two files.
pub fn merge(out: &Path) -> Result<Merged> {
    let manifest: Manifest = files::read_manifest(out)?;
    let mut rows = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let (mut missing, mut failed) = (Vec::new(), Vec::new());
    for c in &manifest.cells {
        let record = files::read_cell(out, c.cell)?;
        let (status, error, metrics) = match &record {
            None => {
                missing.push(format!("cell {} ({})", c.cell, c.name));
                ("missing".to_string(), String::new(), Vec::new())
            }
            Some(r) => {
                if !r.ok() {
                    failed.push(format!("cell {} ({}): {}", c.cell, c.name, r.error.as_deref().unwrap_or("")));
                }
                (r.status.clone(), r.error.clone().unwrap_or_default(), metrics_of(r, manifest.metrics.as_deref()))
            }
        };
        for (p, _) in &metrics {
            if seen.insert(p.clone()) {
                columns.push(p.clone());
            }
        }
        rows.push((c, status, error, metrics));
    }

    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["cell".to_string()];
    header.extend(manifest.axes.iter().cloned());
    header.extend(["status".to_string(), "error".to_string()]);
    header.extend(columns.iter().cloned());
    csv.write_record(&header)?;
    let mut json_rows = Vec::new();
    for (c, status, error, metrics) in &rows {
        let lookup: Map<String, Value> = metrics.iter().cloned().collect();
        let mut rec = vec![c.cell.to_string()];
        rec.extend(c.axes.iter().map(|(_, v)| v.clone()));
        rec.extend([status.clone(), error.replace('\n', " | ")]);
        rec.extend(columns.iter().map(|k| lookup.get(k).map(cell_text).unwrap_or_default()));
        csv.write_record(&rec)?;
        let axes: Map<String, Value> = c.axes.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        json_rows.push(json!({
            "cell": c.cell,
            "name": c.name,
            "axes": axes,
            "status": status,
            "error": if error.is_empty() { Value::Null } else { Value::String(error.clone()) },
            "metrics": lookup,
        }));
    }
    let csv_bytes = csv.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
    let doc = json!({
        "command": manifest.command,
        "axes": manifest.axes,
        "columns": columns,
        "complete": missing.is_empty(),
        "missing": missing,
        "failed": failed,
        "cells": json_rows,
    });
    files::write_whole(&out.join("results.csv"), &csv_bytes)?;
    files::write_whole(&out.join("results.json"), serde_json::to_string_pretty(&doc)?.as_bytes())?;
    Ok(Merged { rows: rows.len(), missing, failed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_names_every_leaf_by_its_path() {
        let v = json!({"a": 1, "b": {"c": [10, {"d": "x"}]}, "e": null});
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a", "b.c.0", "b.c.1.d", "e"]);
    }

    #[test]
    fn a_prefix_selects_whole_path_segments_only() {
        assert!(under("totals.misses", "totals"));
        assert!(under("totals", "totals"));
        assert!(!under("totals_x", "totals"));
        assert!(!under("cycles", "totals"));
    }
}
