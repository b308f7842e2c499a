//! Trace formats end to end: every format round-trips through its writer,
//! compressed inputs decode like plain ones, auto-detection picks the right
//! format, malformed input yields errors naming file, line and expectation,
//! and no input bytes make a parser panic. The sample traces in `traces/`
//! are pinned to the generator.
//!
//! Set `COHSIM_BLESS=1` to rewrite `traces/*.csv` from the generator.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use cohsim::reuse::ReuseTracker;
use cohsim::trace::{
    self, Format, Pattern, Record, StreamSummary, TraceError, TraceOp, TraceSpec, WriteOptions, generate,
};
use proptest::prelude::*;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace_formats").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec(path: &Path, format: Format) -> TraceSpec {
    TraceSpec::new([path]).with_format(format)
}

fn read(path: &Path, format: Format) -> Result<Vec<Vec<Record>>, TraceError> {
    trace::read_all(&spec(path, format))
}

/// Reads through the threaded streams, cores interleaved unevenly.
fn read_streams(path: &Path, format: Format) -> Result<Vec<Vec<Record>>, TraceError> {
    let mut streams = trace::open(&spec(path, format))?.into_streams();
    let mut out = vec![Vec::new(); streams.len()];
    let mut live = streams.len();
    while live > 0 {
        live = 0;
        for (core, s) in streams.iter_mut().enumerate().rev() {
            for _ in 0..(core + 1) * 7 {
                match s.next()? {
                    Some(r) => out[core].push(r),
                    None => break,
                }
            }
            live += usize::from(s.next()?.map(|r| out[core].push(r)).is_some());
        }
    }
    for (core, s) in streams.iter().enumerate() {
        assert_eq!(s.summary(), StreamSummary::of(&out[core]), "core {core} summary");
    }
    Ok(out)
}

fn rd(addr: u64, size: u32, gap: u64) -> Record {
    Record::access(TraceOp::Read, addr, size, gap)
}

fn wr(addr: u64, size: u32, gap: u64) -> Record {
    Record::access(TraceOp::Write, addr, size, gap)
}

/// Everything the native formats can hold.
fn rich() -> Vec<Vec<Record>> {
    let swap = Record { value: Some(7), ..Record::access(TraceOp::Swap, 0x2000, 8, 0) };
    let cas = Record { value: Some(u64::MAX), ..Record::access(TraceOp::Cas { expected: 3 }, 0x2000, 8, 1) };
    let fadd = Record { value: Some(1), ..Record::access(TraceOp::FetchAdd, 0x2008, 4, 0) };
    let store = Record { value: Some(42), ..wr(0x1000, 8, 5) };
    vec![
        vec![rd(0x1000, 8, 0), store, swap, Record::compute(12)],
        // The top byte of the address space, compute cycles adding up to the
        // most a core may have (2^52), and a whole line read at once.
        vec![cas, fadd, rd(u64::MAX, 1, (1 << 52) - 1), rd(0x40, 64, 0)],
        vec![Record::compute(3), wr(0x1000, 2, 0)],
    ]
}

/// What cs4223 can hold: reads and writes of its one size (`cs4223::SIZE`, a
/// byte), gaps, a compute tail.
fn course() -> Vec<Vec<Record>> {
    let size = cohsim::trace::cs4223::SIZE;
    vec![
        vec![rd(0x817ae8, size, 0), wr(0x817af8, size, 0x1b), rd(0, size, 1), Record::compute(0x2a)],
        vec![wr(0x7fd63058, size, 3)],
    ]
}

#[test]
fn csv_and_bin_round_trip_every_field() {
    let dir = scratch("rich");
    for (format, name) in [(Format::Csv, "t.csv"), (Format::Bin, "t.bin")] {
        let path = dir.join(name);
        let sum = trace::write(format, &path, &rich()).unwrap();
        assert_eq!(sum.records, 10);
        assert_eq!(sum.lossy, trace::Lossy::default());
        assert_eq!(read(&path, format).unwrap(), rich(), "{format}");
        assert_eq!(read(&path, Format::Auto).unwrap(), rich(), "{format}");
        assert_eq!(read_streams(&path, Format::Auto).unwrap(), rich(), "{format}");
        let set = trace::open(&spec(&path, Format::Auto)).unwrap();
        assert_eq!((set.format(), set.cores(), set.records()), (format, 3, Some(10)));
    }
}

#[test]
fn text_formats_round_trip_what_they_can_hold() {
    let dir = scratch("text");
    let prefix = dir.join("course");
    let sum = trace::write(Format::Cs4223, &prefix, &course()).unwrap();
    assert_eq!(sum.files, vec![dir.join("course_0.data"), dir.join("course_1.data")]);
    assert_eq!(fs::read_to_string(&sum.files[0]).unwrap(), "0 0x817ae8\n2 0x1b\n1 0x817af8\n2 0x1\n0 0x0\n2 0x2a\n");
    assert_eq!(read(&prefix, Format::Auto).unwrap(), course());
    assert_eq!(read_streams(&prefix, Format::Cs4223).unwrap(), course());

    let size = cohsim::trace::din::SIZE;
    let din = vec![vec![rd(0x10, size, 0), wr(0xfff0, size, 0)], vec![rd(0, size, 0)]];
    trace::write(Format::Din, &dir.join("d"), &din).unwrap();
    assert_eq!(read(&dir.join("d"), Format::Auto).unwrap(), din);

    let lackey = vec![vec![rd(0x1000, 8, 0), wr(0x1038, 8, 0), rd(0x7ff000398, 1, 0)]];
    trace::write(Format::Lackey, &dir.join("l"), &lackey).unwrap();
    assert_eq!(read(&dir.join("l"), Format::Auto).unwrap(), lackey);
}

#[test]
fn lossy_writes_are_counted_and_atomics_refused() {
    let dir = scratch("lossy");
    let recs = vec![vec![rd(0x10, 8, 5), Record::compute(3)]];
    let sum = trace::write(Format::Din, &dir.join("d"), &recs).unwrap();
    assert_eq!((sum.lossy.gaps, sum.lossy.sizes, sum.lossy.compute_only), (2, 1, 1));
    let e = trace::write(Format::Cs4223, &dir.join("c"), &rich()).unwrap_err();
    assert!(matches!(e, TraceError::Unrepresentable { core: 0, index: 2, .. }), "{e}");
    // Nothing half-written is left behind.
    let left: Vec<_> = fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_and_zstd_decode_like_plain_whatever_the_name() {
    let dir = scratch("compressed");
    trace::write(Format::Cs4223, &dir.join("p"), &course()).unwrap();
    trace::write(Format::Bin, &dir.join("t.bin"), &rich()).unwrap();
    trace::write(Format::Csv, &dir.join("t.csv.zst"), &rich()).unwrap();
    trace::write(Format::Lackey, &dir.join("l.gz"), &[vec![rd(0x40, 4, 0)]]).unwrap();
    for core in 0..2 {
        let plain = fs::read(dir.join(format!("p_{core}.data"))).unwrap();
        fs::write(dir.join(format!("g_{core}.data.gz")), gzip(&plain)).unwrap();
        // A zstd file named like plain text: the magic decides, not the name.
        fs::write(dir.join(format!("z_{core}.data")), zstd::encode_all(&plain[..], 1).unwrap()).unwrap();
    }
    for p in ["g", "z"] {
        assert_eq!(read(&dir.join(p), Format::Auto).unwrap(), course(), "{p}");
        assert_eq!(read_streams(&dir.join(p), Format::Auto).unwrap(), course(), "{p}");
    }
    let bin = fs::read(dir.join("t.bin")).unwrap();
    fs::write(dir.join("t.bin.gz"), gzip(&bin)).unwrap();
    fs::write(dir.join("t.bin.zst"), zstd::encode_all(&bin[..], 1).unwrap()).unwrap();
    for p in ["t.bin.gz", "t.bin.zst", "t.csv.zst"] {
        assert_eq!(read(&dir.join(p), Format::Auto).unwrap(), rich(), "{p}");
        assert_eq!(read_streams(&dir.join(p), Format::Auto).unwrap(), rich(), "{p}");
    }
    assert_eq!(read(&dir.join("l"), Format::Auto).unwrap(), vec![vec![rd(0x40, 4, 0)]]);
    assert!(dir.join("l_0.lackey.gz").is_file());
}

#[test]
fn auto_detection() {
    let dir = scratch("detect");
    let cases: [(&str, &str, Option<Format>); 8] = [
        ("a.data", "0 0x10\n2 0x3\n1 0x20\n", Some(Format::Cs4223)),
        ("b.trace", "2 400100\n0 7fff0010\n1 20\n", Some(Format::Din)),
        ("c.din", "0 0x10\n", Some(Format::Din)),
        ("d.txt", "==7== Lackey\nI  0400,3\n L 1000,8\n", Some(Format::Lackey)),
        ("e.txt", "I  04000800,3\n S 7ff000398,8\n", Some(Format::Lackey)),
        ("f.txt", "core,op,addr\n0,R,0x10\n", Some(Format::Csv)),
        ("g", "# cores: 1\ncore , op , addr\n0,W,16\n", Some(Format::Csv)),
        ("h.data", "hello world\n", None),
    ];
    for (name, text, want) in cases {
        fs::write(dir.join(name), text).unwrap();
        let got = trace::open(&spec(&dir.join(name), Format::Auto));
        match want {
            Some(want) => assert_eq!(got.unwrap().format(), want, "{name}"),
            None => {
                let e = got.unwrap_err().to_string();
                assert!(e.contains("cannot detect") && e.contains("--format"), "{e}");
                assert!(e.contains("hello world"), "{e}");
            }
        }
    }
    let e = trace::open(&TraceSpec::new([dir.join("a.data"), dir.join("b.trace")])).unwrap_err();
    assert!(matches!(e, TraceError::MixedFormats { .. }), "{e}");
}

#[test]
fn instruction_fetches_are_skipped_and_counted() {
    let dir = scratch("fetches");
    fs::write(dir.join("f.din"), "2 400100\n0 10\n2 400104\n2 400108\n").unwrap();
    fs::write(dir.join("f.lackey"), "==1== x\nI  0400,3\n M 1000,8\nI  0403,2\n").unwrap();
    for (name, fetches, records) in [("f.din", 3, 1), ("f.lackey", 2, 2)] {
        let mut s = trace::open(&spec(&dir.join(name), Format::Auto)).unwrap().into_streams().remove(0);
        while s.next().unwrap().is_some() {}
        let sum = s.summary();
        assert_eq!((sum.ifetches_skipped, sum.records), (fetches, records), "{name}");
    }
}

/// Writes `text` as a one-core trace and returns the error reading it gives,
/// both synchronously and through a stream (they must agree).
fn error_of(dir: &Path, name: &str, text: &str, format: Format) -> String {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    error_reading(&path, format)
}

fn error_reading(path: &Path, format: Format) -> String {
    let sync = read(path, format).unwrap_err().to_string();
    let streamed = trace::open(&spec(path, format)).and_then(|set| {
        for mut s in set.into_streams() {
            while s.next()?.is_some() {}
        }
        Ok(())
    });
    assert_eq!(streamed.unwrap_err().to_string(), sync);
    sync
}

#[test]
fn malformed_text_names_file_line_and_expectation() {
    let dir = scratch("malformed");
    let d = dir.display();
    let e = error_of(&dir, "c_0.data", "0 0x1\n2 0x5\n7 0x12\n", Format::Auto);
    assert_eq!(
        e,
        format!(
            "{d}/c_0.data:3: expected \"<label> <hex value>\" with label 0 (load), 1 (store) \
             or 2 (compute cycles), found \"7 0x12\""
        )
    );
    let e = error_of(&dir, "x.din", "0 10\n1 xyz\n", Format::Auto);
    assert!(e.starts_with(&format!("{d}/x.din:2: expected \"<label> <hex address>\"")), "{e}");
    assert!(e.ends_with("found \"1 xyz\""), "{e}");
    let e = error_of(&dir, "l.txt", "I  0400,3\n L 1000,8\n L 1000,x\n", Format::Auto);
    assert!(e.starts_with(&format!("{d}/l.txt:3: expected a Lackey line")), "{e}");
    let e = error_of(&dir, "t.csv", "core,op,addr\n0,R,0x10\n1,R,0xzz\n", Format::Auto);
    assert!(e.starts_with(&format!("{d}/t.csv:3: expected addr")), "{e}");
    assert!(e.ends_with("found \"0xzz\""), "{e}");
}

#[test]
fn broken_inputs_each_have_their_own_error() {
    let dir = scratch("broken");
    let missing = read(&dir.join("nope.data"), Format::Cs4223).unwrap_err();
    assert!(matches!(missing, TraceError::NoTraceFiles { .. }), "{missing}");
    let e = trace::read_all(&TraceSpec::new([dir.join("a.data"), dir.join("b.data")])).unwrap_err();
    assert!(matches!(e, TraceError::Open { .. }), "{e}");

    fs::write(dir.join("empty.data"), "").unwrap();
    let e = read(&dir.join("empty.data"), Format::Auto).unwrap_err();
    assert!(matches!(e, TraceError::Empty { .. }), "{e}");
    fs::write(dir.join("blank.data"), "\n\n").unwrap();
    let e = read(&dir.join("blank.data"), Format::Cs4223).unwrap_err();
    assert!(matches!(e, TraceError::Empty { .. }), "{e}");

    // Truncated compressed streams: an error, never a silently short trace.
    let text: String = (0..20_000).map(|i| format!("0 {:#x}\n", i * 4)).collect();
    let gz = gzip(text.as_bytes());
    fs::write(dir.join("cut.data.gz"), &gz[..gz.len() / 2]).unwrap();
    let e = error_reading(&dir.join("cut.data.gz"), Format::Auto);
    assert!(e.contains("corrupt or truncated gzip stream"), "{e}");
    let zs = zstd::encode_all(text.as_bytes(), 1).unwrap();
    fs::write(dir.join("cut.data.zst"), &zs[..zs.len() - 3]).unwrap();
    let e = read(&dir.join("cut.data.zst"), Format::Auto).unwrap_err();
    assert!(matches!(e, TraceError::Decompress { .. }), "{e}");
    let mut bad = gz.clone();
    bad[gz.len() / 2] ^= 0xff;
    fs::write(dir.join("flip.data.gz"), bad).unwrap();
    assert!(read(&dir.join("flip.data.gz"), Format::Auto).is_err());
}

#[test]
fn broken_bin_files() {
    let dir = scratch("bin");
    let path = dir.join("t.bin");
    trace::write(Format::Bin, &path, &rich()).unwrap();
    let bytes = fs::read(&path).unwrap();
    let try_bytes = |b: &[u8]| {
        fs::write(dir.join("x.bin"), b).unwrap();
        read(&dir.join("x.bin"), Format::Bin)
    };
    let e = try_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    let e = try_bytes(&bytes[..20]).unwrap_err();
    assert!(e.to_string().contains("byte 20: truncated"), "{e}");
    let mut long = bytes.clone();
    long.push(0);
    assert!(try_bytes(&long).unwrap_err().to_string().contains("trailing"));
    let mut magic = bytes.clone();
    magic[1] = b'X';
    assert!(try_bytes(&magic).unwrap_err().to_string().contains("bad magic"));
    let mut version = bytes.clone();
    version[8] = 9;
    assert!(try_bytes(&version).unwrap_err().to_string().contains("version 9"));
    // Unknown flags, a line size without distances, and one above 64 KiB.
    for flags in [0x0002u16, 0x0500, 0x1101] {
        let mut f = bytes.clone();
        f[10..12].copy_from_slice(&flags.to_le_bytes());
        let e = try_bytes(&f).unwrap_err().to_string();
        assert!(e.contains("byte 10") && e.contains("flags"), "{e}");
    }
    // A truncated compressed bin is caught by the streams too.
    fs::write(dir.join("z.bin"), zstd::encode_all(&bytes[..bytes.len() - 2], 1).unwrap()).unwrap();
    assert!(read_streams(&dir.join("z.bin"), Format::Auto).is_err());
}

#[test]
fn csv_written_core_after_core_still_streams_in_any_order() {
    let dir = scratch("demux");
    let path = dir.join("blocks.csv");
    let mut text = String::from("core,op,addr,gap\n");
    for core in 0..3 {
        for i in 0..20_000u64 {
            text += &format!("{core},R,{},{}\n", i * 8, i % 3);
        }
    }
    fs::write(&path, text).unwrap();
    let mut streams = trace::open(&spec(&path, Format::Auto)).unwrap().into_streams();
    for core in [2, 0, 1] {
        let mut n = 0;
        while let Some(r) = streams[core].next().unwrap() {
            assert_eq!(r.addr, n * 8);
            n += 1;
        }
        assert_eq!(n, 20_000);
        assert_eq!(streams[core].summary().compute_cycles, 19_999);
    }
}

const SAMPLES: [(&str, Pattern, usize, usize, u64); 4] = [
    ("producer_consumer.csv", Pattern::ProducerConsumer, 4, 1000, 1),
    ("migratory.csv", Pattern::Migratory, 4, 1000, 2),
    ("false_sharing.csv", Pattern::FalseSharing, 4, 1000, 3),
    ("read_mostly_shared.csv", Pattern::ReadMostlyShared, 4, 1000, 4),
];

#[test]
fn sample_traces_match_the_generator() {
    let traces = Path::new(env!("CARGO_MANIFEST_DIR")).join("traces");
    let dir = scratch("samples");
    let bless = std::env::var_os("COHSIM_BLESS").is_some();
    for (name, pattern, cores, ops, seed) in SAMPLES {
        let recs = generate(pattern, cores, ops, seed, 64);
        let fresh = dir.join(name);
        trace::write(Format::Csv, &fresh, &recs).unwrap();
        if bless {
            fs::copy(&fresh, traces.join(name)).unwrap();
        }
        let want = fs::read(&fresh).unwrap();
        let have = fs::read(traces.join(name)).unwrap_or_default();
        assert!(have == want, "traces/{name} differs from the generator; COHSIM_BLESS=1 rewrites it");
        assert_eq!(read(&traces.join(name), Format::Auto).unwrap(), recs);
    }
}

fn arb_record() -> impl Strategy<Value = Record> {
    let op = prop_oneof![
        Just(None),
        Just(Some(TraceOp::Read)),
        Just(Some(TraceOp::Write)),
        Just(Some(TraceOp::Swap)),
        Just(Some(TraceOp::FetchAdd)),
        any::<u64>().prop_map(|expected| Some(TraceOp::Cas { expected })),
    ];
    // Any record a replay accepts: an access of 1 to 64 bytes within one
    // 64-byte line (a reader splits one that spans lines, see `access_sizes`),
    // and compute gaps that add up, over 60 records, to less than 2^52.
    let size = prop_oneof![Just(4u32), Just(8), 1..=64u32];
    let gap = prop_oneof![0u64..8, 0..1u64 << 45];
    (op, any::<u64>(), size, gap, proptest::option::of(any::<u64>())).prop_map(|(op, addr, size, gap, value)| {
        let (addr, size) = match op {
            Some(_) => ((addr & !63) + (addr & 63).min(64 - u64::from(size)), size),
            None => (addr, size - 1),
        };
        Record { op, addr, size, gap, value, reuse: Default::default() }
    })
}

/// Junk that sometimes looks like the start of something real.
fn arb_input() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(Vec::new()),
        Just(b"0 0x".to_vec()),
        Just(b"core,op,addr\n".to_vec()),
        Just(b"\xC5COHTR\r\n\x01\x00\x00\x00\x01\x00\x00\x00".to_vec()),
        Just(b"\xC5COHTR\r\n\x01\x00\x01\x05\x01\x00\x00\x00".to_vec()),
        Just(vec![0x1f, 0x8b, 8, 0]),
        Just(vec![0x28, 0xb5, 0x2f, 0xfd]),
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(
            prop_oneof![
                Just(b'0'),
                Just(b'1'),
                Just(b'2'),
                Just(b' '),
                Just(b'x'),
                Just(b'\n'),
                Just(b','),
                Just(b'L'),
                Just(b'I'),
                Just(b'f')
            ],
            0..300
        ),
    ];
    (prefix, body).prop_map(|(mut p, b)| {
        p.extend(b);
        p
    })
}

/// 48 cases per property (CI time); `PROPTEST_CASES=N` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in arb_input()) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace_formats");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("junk-{:?}.in", std::thread::current().id()));
        fs::write(&path, &bytes).unwrap();
        for format in Format::ALL {
            // Ok or a TraceError; a panic fails the test.
            let _ = read(&path, format);
            let _ = read_streams(&path, format);
        }
    }

    #[test]
    fn bin_and_csv_round_trip_arbitrary_records(
        cores in proptest::collection::vec(proptest::collection::vec(arb_record(), 0..40), 1..5)
    ) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace_formats");
        fs::create_dir_all(&dir).unwrap();
        let id = format!("{:?}", std::thread::current().id());
        let total: usize = cores.iter().map(Vec::len).sum();
        let bin = dir.join(format!("rt-{id}.bin"));
        trace::write(Format::Bin, &bin, &cores).unwrap();
        let csv = dir.join(format!("rt-{id}.csv"));
        trace::write(Format::Csv, &csv, &cores).unwrap();
        if total == 0 {
            let empty = |r| matches!(r, Err(TraceError::Empty { .. }));
            prop_assert!(empty(read(&bin, Format::Auto)), "empty bin accepted");
            prop_assert!(empty(read(&csv, Format::Auto)), "empty csv accepted");
        } else {
            prop_assert_eq!(&read(&bin, Format::Auto).unwrap(), &cores);
            prop_assert_eq!(&read_streams(&bin, Format::Auto).unwrap(), &cores);
            // A csv knows cores only from its rows: trailing silent cores vanish.
            let mut trimmed = cores.clone();
            while trimmed.last().is_some_and(Vec::is_empty) {
                trimmed.pop();
            }
            prop_assert_eq!(&read(&csv, Format::Auto).unwrap(), &trimmed);
            prop_assert_eq!(&read_streams(&csv, Format::Auto).unwrap(), &trimmed);
        }
    }

    #[test]
    fn damaged_bin_files_fail_cleanly(
        cores in proptest::collection::vec(proptest::collection::vec(arb_record(), 1..60), 1..4),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        distances in any::<bool>(),
    ) {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace_formats");
        fs::create_dir_all(&dir).unwrap();
        let id = format!("{:?}", std::thread::current().id());
        let path = dir.join(format!("dmg-{id}.bin"));
        let opts = WriteOptions { distance_line: distances.then_some(64) };
        trace::write_with(Format::Bin, &path, &cores, opts).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let mut cut_bytes = bytes.clone();
        cut_bytes.truncate(cut.index(bytes.len()));
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x | 1;
        }
        for damaged in [bytes, cut_bytes] {
            fs::write(&path, &damaged).unwrap();
            // Ok (a flip that still decodes) or an error; never a panic or hang.
            let _ = read(&path, Format::Bin);
            let _ = read_streams(&path, Format::Bin);
            let classified = trace::open(&spec(&path, Format::Bin).with_line_size(64)).map(|s| s.with_reuse(4));
            if let Ok(set) = classified {
                for mut s in set.into_streams() {
                    while let Ok(Some(_)) = s.next() {}
                }
            }
        }
    }

    /// A bin file's reuse distances give each access the reuse the decoder
    /// threads would otherwise work out with a fully associative LRU cache, for
    /// any capacity; with another line size the replay works it out itself.
    #[test]
    fn bin_reuse_distances_agree_with_the_lru_tracker(
        cores in proptest::collection::vec(
            proptest::collection::vec((0..3u8, 0..24u64, 0..8u64), 1..300), 1..4),
        written_shift in 3..7u32,
        read_other in any::<bool>(),
        capacity in 1..12usize,
    ) {
        use cohsim::trace::record::push_split;
        let split = |cores: &[Vec<Record>], line: u32| -> Vec<Vec<Record>> {
            cores
                .iter()
                .map(|c| {
                    let mut out = Vec::new();
                    for &r in c {
                        push_split(&mut out, r, u64::from(line)).unwrap();
                    }
                    out
                })
                .collect()
        };
        // A few lines, at a few offsets: short and long reuse at every line size.
        let cores: Vec<Vec<Record>> = cores
            .iter()
            .map(|c| {
                c.iter()
                    .map(|&(op, line, off)| match op {
                        0 => Record::compute(line),
                        1 => rd(line * 24 + off * 3, 4, off),
                        _ => wr(line * 24 + off * 3, 4, 0),
                    })
                    .collect()
            })
            .collect();
        let written = 1u32 << written_shift;
        // Another line size: a finer one (a coarser one is refused when the
        // writer had to split an access; see `access_sizes`).
        let line = if read_other { written / 2 } else { written };
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("trace_formats");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("reuse-{:?}.bin", std::thread::current().id()));
        trace::write_with(Format::Bin, &path, &cores, WriteOptions { distance_line: Some(written) }).unwrap();
        // Without classification the field is read past. The file holds the
        // accesses split at the distances' line size.
        let stored = trace::read_all(&spec(&path, Format::Bin).with_line_size(written)).unwrap();
        prop_assert_eq!(&stored, &split(&cores, written));
        let set = trace::open(&spec(&path, Format::Bin).with_line_size(line)).unwrap().with_reuse(capacity);
        let cores = split(&cores, line);
        for (core, mut s) in set.into_streams().into_iter().enumerate() {
            let mut want = cores[core].clone();
            cohsim::trace::annotate(&mut ReuseTracker::new(capacity, line), &mut want);
            let mut got = Vec::new();
            while let Some(r) = s.next().unwrap() {
                got.push(r);
            }
            prop_assert_eq!(&got, &want, "core {}", core);
        }
    }
}
