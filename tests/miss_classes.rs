//! Miss classes a user can trust: coherence misses found whatever state the copy
//! was in when another core's write took it, and, with one core, the 3C classes
//! of Hill's model (Dinero IV's) at every associativity up to fully associative.
//! Expected numbers come from an independent model written here, or by hand.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("miss_classes");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `cohsim run --json` on a CSV body; the parsed report.
fn run_json(name: &str, body: &str, args: &[&str]) -> serde_json::Value {
    let path = tmp(name);
    std::fs::write(&path, format!("core,op,addr,size,gap,value,expected\n{body}")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_cohsim"))
        .arg("run")
        .arg("--json")
        .arg("--check")
        .args(args)
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn class(v: &serde_json::Value, core: usize, name: &str) -> u64 {
    v["cores"][core]["miss_classes"][name].as_u64().unwrap()
}

#[test]
fn a_fill_invalidated_on_its_way_is_a_true_sharing_miss() {
    // Core 0 loads 0x1000 while core 1's store to it is in flight, then loads it
    // again. Whatever the timing (the Inv overtaking core 0's fill, `IS_D` ->
    // `IS_D_I`; the store just after the fill; the store long after), core 0's
    // second miss re-reads the very word core 1 wrote: true sharing, never
    // conflict (a 32 KiB cache holds one line easily) nor false sharing.
    for protocol in ["msi", "mesi", "moesi"] {
        for store_gap in [0, 2, 5, 20, 50, 900] {
            for reload_gap in [0, 1000] {
                let body = format!("0,R,0x1000,8,0,,\n1,W,0x1000,8,{store_gap},,\n0,R,0x1000,8,{reload_gap},,\n");
                let v = run_json("race.csv", &body, &["--protocol", protocol]);
                if v["cores"][0]["misses"].as_u64() == Some(1) {
                    // The reload hit before the store took the line: nothing to classify.
                    assert!(store_gap >= 50 && reload_gap == 0, "{protocol} {store_gap} {reload_gap}");
                    continue;
                }
                let what = format!("{protocol}, store after {store_gap}, reload after {reload_gap}");
                assert_eq!(class(&v, 0, "compulsory"), 1, "{what}");
                assert_eq!(class(&v, 0, "true_sharing"), 1, "{what}");
                assert_eq!(class(&v, 0, "conflict") + class(&v, 0, "false_sharing"), 0, "{what}");
            }
        }
    }
}

#[test]
fn a_shared_counter_makes_coherence_misses_not_conflict_misses() {
    // Four cores each do 1,000 load-then-store of one word (a shared counter),
    // with private work between on 8 words of a private line. The working set is
    // five lines in a 32 KiB cache: every miss after the first reference to a
    // line is a coherence miss, so capacity and conflict must be zero.
    let mut body = String::new();
    for _ in 0..1000 {
        for c in 0..4u64 {
            body += &format!("{c},R,0x1000,8,0,,\n{c},W,0x1000,8,0,,\n");
            for w in 0..8u64 {
                body += &format!("{c},R,{:#x},8,3,,\n", 0x10_0000 * (c + 1) + 8 * w);
            }
        }
    }
    for protocol in ["msi", "mesi", "moesi"] {
        let v = run_json("counter.csv", &body, &["--protocol", protocol, "--l1", "32KiB:8:64"]);
        let t = &v["totals"]["miss_classes"];
        assert_eq!(t["capacity"].as_u64(), Some(0), "{protocol}");
        assert_eq!(t["conflict"].as_u64(), Some(0), "{protocol}");
        // Each core refers first to the counter line and its private line.
        assert_eq!(t["compulsory"].as_u64(), Some(8), "{protocol}");
        let sharing = t["true_sharing"].as_u64().unwrap() + t["false_sharing"].as_u64().unwrap();
        assert_eq!(sharing + 8, v["totals"]["misses"].as_u64().unwrap(), "{protocol}");
        assert!(sharing > 2000, "{protocol}: {sharing} coherence misses");
    }
}

/// Hill's 3C model, written independently of cohsim: a set-associative LRU
/// cache, a fully associative LRU cache of the same capacity, and the set of
/// lines seen. Each set and the fully associative cache are lists in recency
/// order (most recent first).
struct ThreeC {
    sets: Vec<Vec<u64>>,
    ways: usize,
    fully: Vec<u64>,
    capacity: usize,
    seen: HashSet<u64>,
    /// compulsory, capacity, conflict, hits
    counts: [u64; 4],
}

impl ThreeC {
    fn new(lines: usize, ways: usize) -> Self {
        ThreeC {
            sets: vec![Vec::new(); lines / ways],
            ways,
            fully: Vec::new(),
            capacity: lines,
            seen: HashSet::new(),
            counts: [0; 4],
        }
    }

    fn touch(list: &mut Vec<u64>, line: u64, capacity: usize) -> bool {
        let hit = match list.iter().position(|&l| l == line) {
            Some(i) => {
                list.remove(i);
                true
            }
            None => {
                list.truncate(capacity - 1);
                false
            }
        };
        list.insert(0, line);
        hit
    }

    fn access(&mut self, line: u64) {
        let nsets = self.sets.len();
        let hit = Self::touch(&mut self.sets[line as usize % nsets], line, self.ways);
        let fa_hit = Self::touch(&mut self.fully, line, self.capacity);
        let first = self.seen.insert(line);
        let i = if hit {
            3
        } else if first {
            0
        } else if !fa_hit {
            1
        } else {
            2
        };
        self.counts[i] += 1;
    }
}

#[test]
fn one_core_three_c_classes_match_an_independent_model_at_every_associativity() {
    // 20,000 accesses over 400 lines with a mix of reuse distances, so every
    // class occurs; an 8 KiB cache of 64-byte lines holds 128 of them.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut lines = Vec::new();
    let mut body = String::new();
    for i in 0..20_000u64 {
        let r = next();
        let line = match r % 4 {
            0 => r / 4 % 400,              // anywhere
            1 => (i / 8) % 150,            // a sweep a little larger than the cache
            _ => 1000 + (r / 4 % 24) * 16, // a few lines, 16 apart: they collide in small sets
        };
        let op = if r >> 60 == 0 { "W" } else { "R" };
        lines.push(line);
        body += &format!("0,{op},{:#x},8,1,,\n", line * 64 + 8 * (r >> 20 & 7));
    }
    for ways in ["1", "2", "4", "8", "64", "full"] {
        let v = run_json(
            "one_core.csv",
            &body,
            &["--protocol", "mesi", "--cores", "1", "--l1", &format!("8KiB:{ways}:64")],
        );
        let mut model = ThreeC::new(128, if ways == "full" { 128 } else { ways.parse().unwrap() });
        for &l in &lines {
            model.access(l);
        }
        let [compulsory, capacity, conflict, hits] = model.counts;
        let core = &v["cores"][0];
        assert_eq!(core["hits"].as_u64(), Some(hits), "{ways} ways: hits");
        assert_eq!(core["misses"].as_u64(), Some(compulsory + capacity + conflict), "{ways} ways: misses");
        assert_eq!(class(&v, 0, "compulsory"), compulsory, "{ways} ways");
        assert_eq!(class(&v, 0, "capacity"), capacity, "{ways} ways");
        assert_eq!(class(&v, 0, "conflict"), conflict, "{ways} ways");
        if ways == "full" {
            assert_eq!(conflict, 0, "a fully associative cache has no conflict misses");
        } else if ways == "1" {
            assert!(conflict > 0 && capacity > 0, "the trace exercises every class");
        }
    }
}
