//! The PARSEC course traces in `../shared/traces`, read through the prefix form
//! and the threaded streams. Per-core loads, stores and compute cycles are checked
//! against a deliberately naive count made here (gzip + `lines()` +
//! `split_whitespace`), and the totals against the figures published in
//! `../shared/traces/README.md`.
//!
//! The traces are not part of the repository (a fresh clone has no `../shared`),
//! so every test here is `#[ignore]`d: `cargo test` counts them as ignored, with
//! the reason, never as passed. `cargo test --release -- --ignored` runs them and
//! fails, naming the directory, when the traces are missing; `.ci/run` does so
//! whenever `../shared/traces` exists. Use `--release`: blackscholes (20 M lines)
//! takes about 2 s there and ~20 s through unoptimised flate2.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use cohsim::trace::{self, Format, StreamSummary, TraceSpec};

/// The PARSEC traces' directory. The tests that call this are ignored unless
/// asked for, so a missing directory is a failure, never a silent pass.
fn parsec() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/traces/parsec");
    assert!(
        dir.is_dir(),
        "{} not found: this test needs the PARSEC traces of ../shared/traces; \
         run the ignored tests only where they exist",
        dir.display()
    );
    dir
}

/// (loads, stores, compute cycles) of one `.data.gz`, counted the slow,
/// obvious way.
fn naive_count(path: &PathBuf) -> (u64, u64, u64) {
    let gz = flate2::read::MultiGzDecoder::new(File::open(path).unwrap());
    let (mut loads, mut stores, mut cycles) = (0, 0, 0);
    for line in BufReader::new(gz).lines() {
        let line = line.unwrap();
        let mut fields = line.split_whitespace();
        let (label, value) = (fields.next().unwrap(), fields.next().unwrap());
        let value = u64::from_str_radix(value.trim_start_matches("0x"), 16).unwrap();
        match label {
            "0" => loads += 1,
            "1" => stores += 1,
            "2" => cycles += value,
            other => panic!("unexpected label {other}"),
        }
    }
    (loads, stores, cycles)
}

/// Streams every core (round-robin, as a simulator would) and returns the
/// stream summaries.
fn stream_all(prefix: PathBuf) -> Vec<StreamSummary> {
    let set = trace::open(&TraceSpec::new([prefix])).unwrap();
    assert_eq!(set.format(), Format::Cs4223);
    assert_eq!(set.cores(), 4);
    let mut streams = set.into_streams();
    let mut live = streams.len();
    while live > 0 {
        live = 0;
        for s in &mut streams {
            for _ in 0..1000 {
                if s.next().unwrap().is_none() {
                    break;
                }
            }
            live += usize::from(s.next().unwrap().is_some());
        }
    }
    streams.iter().map(|s| s.summary()).collect()
}

/// Checks the stream summaries against the naive count of each file and
/// against the published totals `(loads, stores, per-core cycles)`.
fn check(name: &str, published: (u64, u64, [u64; 4])) {
    let prefix = parsec().join(name).join(name);
    let sums = stream_all(prefix.clone());
    let files = trace::open(&TraceSpec::new([prefix])).unwrap().files().to_vec();
    let (mut loads, mut stores) = (0, 0);
    for (core, (sum, file)) in sums.iter().zip(&files).enumerate() {
        let (l, s, c) = naive_count(file);
        assert_eq!((sum.loads, sum.stores, sum.compute_cycles), (l, s, c), "{name} core {core}");
        assert_eq!(sum.atomics, 0);
        assert!(sum.compute_only <= 1, "only a trailing compute run becomes its own record");
        assert_eq!(sum.records, l + s + sum.compute_only);
        assert_eq!(c, published.2[core], "{name} core {core} vs README");
        loads += l;
        stores += s;
    }
    assert_eq!((loads, stores), (published.0, published.1), "{name} vs README");
}

#[test]
#[ignore = "needs ../shared/traces (run with --release -- --ignored)"]
fn bodytrack_short_counts() {
    check("bodytrack_short", (263_295, 134_323, [1_081_918, 650_956, 277_509, 662_901]));
}

#[test]
#[ignore = "needs ../shared/traces (run with --release -- --ignored)"]
fn bodytrack_short_survives_bin_conversion() {
    let prefix = parsec().join("bodytrack_short/bodytrack_short");
    let text = trace::read_all(&TraceSpec::new([&prefix])).unwrap();
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bodytrack_short.bin");
    let set = trace::open(&TraceSpec::new([&prefix])).unwrap();
    trace::write_streams(Format::Bin, &out, set.into_streams()).unwrap();
    let text_bytes: u64 = 4_000_000; // the text is 7.6 MB; bin should be far smaller
    assert!(std::fs::metadata(&out).unwrap().len() < text_bytes);
    assert_eq!(trace::read_all(&TraceSpec::new([&out])).unwrap(), text);
    let _ = std::fs::remove_file(out);
}

#[test]
#[ignore = "needs ../shared/traces (run with --release -- --ignored)"]
fn blackscholes_counts() {
    check("blackscholes", (5_962_110, 4_037_891, [10_430_314, 10_383_276, 10_430_338, 10_394_904]));
}

/// Hand-run throughput check (not a timed test): how fast `CoreStream::next`
/// delivers, all cores pulled round-robin on this thread as the simulator
/// does. `COHSIM_TRACE` names the trace (default: the blackscholes prefix);
/// `COHSIM_BIN_OUT`, if set, first converts it to a bin file there. `.ci/run`
/// skips it (`--skip by_hand`): it measures, it does not check.
///
/// ```text
/// cargo test --release --test trace_parsec -- --ignored --nocapture throughput
/// ```
#[test]
#[ignore = "hand-run throughput measurement"]
fn throughput_by_hand() {
    let trace = match std::env::var_os("COHSIM_TRACE") {
        Some(t) => PathBuf::from(t),
        None => parsec().join("blackscholes/blackscholes"),
    };
    if let Some(out) = std::env::var_os("COHSIM_BIN_OUT") {
        let t = std::time::Instant::now();
        let set = trace::open(&TraceSpec::new([&trace])).unwrap();
        let sum = trace::write_streams(Format::Bin, out.as_ref(), set.into_streams()).unwrap();
        eprintln!("converted {} records to bin in {:.2?}", sum.records, t.elapsed());
    }
    let t = std::time::Instant::now();
    let set = trace::open(&TraceSpec::new([&trace])).unwrap();
    let format = set.format();
    let mut streams = set.into_streams();
    let (mut records, mut live) = (0u64, streams.len());
    while live > 0 {
        live = 0;
        for s in &mut streams {
            for _ in 0..1000 {
                match s.next().unwrap() {
                    Some(_) => records += 1,
                    None => break,
                }
            }
            if s.next().unwrap().is_some() {
                records += 1;
                live += 1;
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "{} ({format}): {records} records in {secs:.3} s = {:.1} M records/s",
        trace.display(),
        records as f64 / secs / 1e6
    );
}
