//! Reports: the readable table, the JSON document and the CSV rows of a run, and
//! the side-by-side comparison of several protocols on one trace.
//!
//! Field names are stable (documented in the README). CSV is long-form
//! `metric,value` with dotted metric names equal to the JSON paths
//! (`totals.misses`, `network.messages.GetS`, `primitives.3a`, …), so a script can
//! use either.

use serde_json::{Map, Value, json};

use super::{CoreStats, Stats};
use crate::model::{MsgKind, Primitive};

/// Host-side facts of a run.
#[derive(Clone, Debug, Default)]
pub struct HostInfo {
    pub seconds: f64,
    pub records: u64,
}

fn core_json(c: &CoreStats) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("loads", c.loads),
        ("stores", c.stores),
        ("atomics", c.atomics),
        ("hits", c.hits),
        ("misses", c.misses),
        ("read_misses", c.read_misses),
        ("write_misses", c.write_misses),
        ("upgrades", c.upgrades),
        ("compute_cycles", c.compute_cycles),
        ("stall_cycles", c.stall_cycles),
    ] {
        m.insert(k.into(), json!(v));
    }
    m.insert("miss_classes".into(), serde_json::to_value(&c.miss_classes).expect("plain counters"));
    m
}

/// The JSON document of one run.
pub fn json(protocol: &str, stats: &Stats, host: &HostInfo) -> Value {
    let cores: Vec<Value> = stats
        .cores
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut m = Map::new();
            m.insert("core".into(), json!(i));
            m.extend(core_json(c));
            Value::Object(m)
        })
        .collect();
    let mut totals = core_json(&stats.totals());
    totals.insert("writebacks".into(), json!(stats.writebacks));
    totals.insert("dirty_at_end".into(), json!(stats.dirty_at_end));
    let messages: Map<String, Value> =
        MsgKind::ALL.iter().map(|k| (k.name().to_string(), json!(stats.messages(*k)))).collect();
    let primitives: Map<String, Value> =
        Primitive::ALL.iter().map(|p| (p.tag().to_string(), json!(stats.primitive(*p)))).collect();
    let histogram: Map<String, Value> =
        stats.sharers_per_invalidation.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    json!({
        "protocol": protocol,
        "cycles": stats.cycles,
        "cores": cores,
        "totals": totals,
        "memory": {"reads": stats.mem_reads, "writes": stats.mem_writes},
        "invalidations": stats.invalidations,
        "sharers_per_invalidation": histogram,
        "silent_drops": stats.silent_drops,
        "directory": {
            "organisation": stats.organisation,
            "sharer_bits_per_line": stats.sharer_bits_per_line,
            "stale_invalidations": stats.stale_invalidations,
            "recalls": stats.recalls,
            "recall_invalidations": stats.recall_invalidations,
            "pointer_evictions": stats.pointer_evictions,
        },
        "network": {
            "messages": messages,
            "bytes": {"data": stats.data_bytes, "control": stats.control_bytes},
            "queueing_cycles": stats.network_queueing_cycles,
        },
        "primitives": primitives,
        "transitions": transitions(stats),
        "host": {
            "seconds": host.seconds,
            "records": host.records,
            "records_per_second": if host.seconds > 0.0 { host.records as f64 / host.seconds } else { 0.0 },
        },
    })
}

/// Transitions taken (stalls included), per controller kind, as
/// `"STATE / EVENT": n`, non-zero counts only.
fn transitions(stats: &Stats) -> Value {
    use crate::protocol::dir_table::{DirEvent, DirState};
    use crate::protocol::l1_table::{L1Event, L1State};
    let mut l1 = Map::new();
    for s in L1State::ALL {
        for e in L1Event::ALL {
            let n = stats.l1_transition_count(s, e);
            if n > 0 {
                l1.insert(format!("{} / {}", s.name(), e.name()), json!(n));
            }
        }
    }
    let mut dir = Map::new();
    for s in DirState::ALL {
        for e in DirEvent::ALL {
            let n = stats.dir_transition_count(s, e);
            if n > 0 {
                dir.insert(format!("{} / {}", s.name(), e.name()), json!(n));
            }
        }
    }
    json!({"l1": l1, "directory": dir})
}

/// Flatten a JSON document into `(dotted.path, value)` rows.
pub fn flatten(v: &Value) -> Vec<(String, Value)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out)
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{prefix}.{i}"), x, out)
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// CSV of one run: `metric,value` rows.
pub fn csv(doc: &Value) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(["metric", "value"]).expect("in memory");
    for (k, v) in flatten(doc) {
        w.write_record([k, plain(&v)]).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8")
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The readable report of one run.
pub fn table(protocol: &str, stats: &Stats, host: &HostInfo) -> String {
    let mut s = format!("cohsim run: {} cores, {}\n\n", stats.cores.len(), protocol.to_uppercase());
    s += &format!(
        "{:>6} {:>12} {:>12} {:>10} {:>12} {:>10} {:>10} {:>10} {:>14} {:>14}\n",
        "core", "loads", "stores", "atomics", "hits", "misses", "upgrades", "miss %", "compute cyc", "stall cyc"
    );
    let mut row = |name: String, c: &CoreStats| {
        let accesses = c.loads + c.stores + c.atomics;
        let rate = if accesses > 0 { 100.0 * c.misses as f64 / accesses as f64 } else { 0.0 };
        s += &format!(
            "{:>6} {:>12} {:>12} {:>10} {:>12} {:>10} {:>10} {:>9.3}% {:>14} {:>14}\n",
            name,
            thousands(c.loads),
            thousands(c.stores),
            thousands(c.atomics),
            thousands(c.hits),
            thousands(c.misses),
            thousands(c.upgrades),
            rate,
            thousands(c.compute_cycles),
            thousands(c.stall_cycles)
        );
    };
    for (i, c) in stats.cores.iter().enumerate() {
        row(i.to_string(), c);
    }
    let t = stats.totals();
    row("total".into(), &t);
    let mc = &t.miss_classes;
    s += &format!(
        "\nmiss classes: compulsory {}, capacity {}, conflict {}, true sharing {}, false sharing {}\n",
        thousands(mc.compulsory),
        thousands(mc.capacity),
        thousands(mc.conflict),
        thousands(mc.true_sharing),
        thousands(mc.false_sharing)
    );
    s += &format!(
        "cycles {}   memory reads {}   memory writes {}   write-backs {}   dirty at end {}   invalidations {}\n",
        thousands(stats.cycles),
        thousands(stats.mem_reads),
        thousands(stats.mem_writes),
        thousands(stats.writebacks),
        thousands(stats.dirty_at_end),
        thousands(stats.invalidations)
    );
    if stats.organisation != "full" {
        s += &format!(
            "directory {}: {} sharer bits per line   stale invalidations {}   recalls {} ({} invalidations)   \
             pointer evictions {}\n",
            stats.organisation,
            stats.sharer_bits_per_line,
            thousands(stats.stale_invalidations),
            thousands(stats.recalls),
            thousands(stats.recall_invalidations),
            thousands(stats.pointer_evictions)
        );
    }
    s += &format!(
        "traffic: {} data bytes, {} control bytes, {} messages\n\nmessages by type:\n",
        thousands(stats.data_bytes),
        thousands(stats.control_bytes),
        thousands(stats.total_messages())
    );
    for k in MsgKind::ALL {
        let n = stats.messages(k);
        if n > 0 {
            s += &format!("  {:<10} {:>14}  ({} network)\n", k.name(), thousands(n), k.vnet().name());
        }
    }
    s += "\nprimitives (messages carrying each tag; silent drops under 7a):\n";
    for p in Primitive::ALL {
        let n = stats.primitive(p);
        if n > 0 {
            s += &format!("  {} {:<24} {:>14}\n", p.tag(), p.name(), thousands(n));
        }
    }
    if host.seconds > 0.0 {
        s += &format!(
            "\nhost: {:.3} s, {} records, {:.1} M records/s\n",
            host.seconds,
            thousands(host.records),
            host.records as f64 / host.seconds / 1e6
        );
    }
    s
}

/// The rows `compare` leads with, most important first; other numeric rows follow.
pub const COMPARE_FIRST: [&str; 7] = [
    "cycles",
    "memory.writes",
    "memory.reads",
    "network.bytes.data",
    "network.bytes.control",
    "invalidations",
    "totals.misses",
];

/// Rows of a comparison: metric, one value per run, and the difference of each
/// later run against the first (absolute and relative).
pub fn compare_rows(docs: &[Value]) -> Vec<(String, Vec<f64>)> {
    let flat: Vec<Vec<(String, Value)>> = docs.iter().map(flatten).collect();
    let get = |i: usize, k: &str| flat[i].iter().find(|(m, _)| m == k).and_then(|(_, v)| v.as_f64());
    let mut keys: Vec<String> = COMPARE_FIRST.iter().map(|s| s.to_string()).collect();
    for (k, v) in &flat[0] {
        if v.is_number() && !keys.contains(k) && !k.starts_with("host.") && !k.starts_with("cores.") {
            keys.push(k.clone());
        }
    }
    keys.into_iter()
        .filter_map(|k| {
            let vals: Option<Vec<f64>> = (0..docs.len()).map(|i| get(i, &k)).collect();
            vals.map(|v| (k, v))
        })
        .collect()
}

/// The readable comparison table.
pub fn compare_table(names: &[String], docs: &[Value]) -> String {
    let rows = compare_rows(docs);
    let mut s = format!("{:<34}", "metric");
    for n in names {
        s += &format!(" {:>16}", n.to_uppercase());
    }
    for n in &names[1..] {
        s += &format!(" {:>16} {:>9}", format!("{} - {}", n, names[0]), "rel");
    }
    s += "\n";
    for (k, vals) in rows {
        if vals.iter().all(|v| *v == 0.0) && !COMPARE_FIRST.contains(&k.as_str()) {
            continue;
        }
        s += &format!("{k:<34}");
        for v in &vals {
            s += &format!(" {:>16}", thousands(*v as u64));
        }
        for v in &vals[1..] {
            let d = v - vals[0];
            let rel = if vals[0] != 0.0 { format!("{:+.2}%", 100.0 * d / vals[0]) } else { "—".into() };
            s += &format!(" {:>16} {:>9}", format!("{:+}", d as i64), rel);
        }
        s += "\n";
    }
    s
}

/// CSV of a comparison: `metric,<p1>,<p2>,…,<p2>-<p1>,rel_<p2>,…`.
pub fn compare_csv(names: &[String], docs: &[Value]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let mut header = vec!["metric".to_string()];
    header.extend(names.iter().cloned());
    for n in &names[1..] {
        header.push(format!("{}-{}", n, names[0]));
        header.push(format!("rel_{n}"));
    }
    w.write_record(&header).expect("in memory");
    for (k, vals) in compare_rows(docs) {
        let mut rec = vec![k];
        rec.extend(vals.iter().map(|v| (*v as u64).to_string()));
        for v in &vals[1..] {
            rec.push(((v - vals[0]) as i64).to_string());
            rec.push(if vals[0] != 0.0 { format!("{:.6}", (v - vals[0]) / vals[0]) } else { String::new() });
        }
        w.write_record(&rec).expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("utf-8")
}
