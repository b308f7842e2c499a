//! Tests of the bin format: encoding, the window decoder, reuse fields, damage.
use super::*;
use crate::trace::bin_write::BinWriter;

const NONE: Distances = Distances { present: false, capacity: None };

#[test]
fn record_encoding_round_trips_and_is_compact() {
    let recs = [
        Record::access(TraceOp::Read, 0x817ae8, 4, 0x1b),
        Record::access(TraceOp::Write, 0x817af0, 4, 0),
        Record::access(TraceOp::Cas { expected: 9 }, u64::MAX, 12345, u64::MAX),
        Record { value: Some(7), ..Record::access(TraceOp::Swap, 0, 8, 1) },
        Record::compute(99),
    ];
    let mut buf = Vec::new();
    let mut prev = 0;
    let mut lens = Vec::new();
    for r in &recs {
        let before = buf.len();
        encode(&mut buf, r, prev, None);
        let (got, n) = decode(&buf[before..], prev, NONE).unwrap().unwrap();
        assert_eq!((got, n), (*r, buf.len() - before));
        // Every strict prefix is incomplete, never wrong.
        for k in 0..n {
            assert_eq!(decode(&buf[before..before + k], prev, NONE), Ok(None));
        }
        prev = r.addr;
        lens.push(n);
    }
    // A course-trace access with a gap is 6 bytes, the next one 2.
    assert_eq!(lens, [6, 2, 18, 4, 3]);
}

/// The window decoder (the replay path) agrees with the byte-at-a-time one
/// on varints of every length, in every field, wherever they sit, with and
/// without reuse distances.
#[test]
fn window_decoder_matches_the_careful_one() {
    let widths: Vec<u64> = (0..64).flat_map(|b| [(1u64 << b) - 1, 1 << b, (1 << b) | 1]).chain([u64::MAX]).collect();
    let with = Distances { present: true, capacity: Some(1 << 20) };
    for dist in [NONE, with, Distances { present: true, capacity: None }] {
        let mut recs = Vec::new();
        let mut fields = Vec::new();
        let mut addr = 0u64;
        for (k, &w) in widths.iter().enumerate() {
            // Deltas of both signs and every size; gaps, values, sizes and
            // reuse fields too.
            addr = if k % 2 == 0 { addr.wrapping_add(w) } else { addr.wrapping_sub(w) };
            let field = dist.present.then_some(w.rotate_right(k as u32 % 3));
            let reuse = field.map_or(Reuse::UNKNOWN, |f| dist.reuse(f));
            recs.push(Record { reuse, ..Record::access(TraceOp::Read, addr, 4, w) });
            fields.push(field);
            let value = Some(w.rotate_left(k as u32));
            let cas = Record::access(TraceOp::Cas { expected: w }, addr ^ w, w as u32, 0);
            recs.push(Record { value, reuse: field.map_or(Reuse::UNKNOWN, |_| dist.reuse(w)), ..cas });
            fields.push(dist.present.then_some(w));
            recs.push(Record::compute(w));
            fields.push(None);
        }
        let mut buf = Vec::new();
        let mut prev = 0;
        let mut starts = Vec::new();
        for (r, &f) in recs.iter().zip(&fields) {
            starts.push(buf.len());
            encode(&mut buf, r, prev, f);
            prev = r.addr;
        }
        buf.resize(buf.len() + MAX_RECORD, 0);
        let mut prev = 0;
        for (r, &at) in recs.iter().zip(&starts) {
            let w: &[u8; MAX_RECORD] = buf[at..at + MAX_RECORD].try_into().unwrap();
            let careful = decode(&buf[at..], prev, dist).unwrap().unwrap();
            assert_eq!(decode_window(w, prev, dist), Ok(careful));
            assert_eq!(careful.0, *r);
            prev = r.addr;
        }
        // The batch loop stops at its count, or where a longest record may no
        // longer fit (the padding would decode as records of zeros).
        let (mut pos, mut prev, mut out) = (0, 0, Vec::new());
        assert_eq!(decode_run(&buf, &mut pos, &mut prev, recs.len(), dist, &mut out), Ok(recs.len()));
        assert_eq!(out, recs);
        let end = starts[recs.len() - 1] + 1;
        let (mut pos, mut prev, mut out) = (0, 0, Vec::new());
        let n = decode_run(&buf[..end], &mut pos, &mut prev, usize::MAX, dist, &mut out).unwrap();
        assert_eq!(out[..], recs[..n]);
        assert!(end - pos < MAX_RECORD && n < recs.len());
        let mut bad = buf.clone();
        bad[starts[5]] = 0x06;
        let (mut pos, mut prev, mut out) = (0, 0, Vec::new());
        assert!(decode_run(&bad, &mut pos, &mut prev, recs.len(), dist, &mut out).is_err());
        assert_eq!((pos, out.len()), (starts[5], 5));
    }
}

#[test]
fn reuse_fields_read_as_first_reference_and_capacity_hits() {
    let dist = |capacity| Distances { present: true, capacity };
    assert_eq!(dist(Some(4)).reuse(0), Reuse::new(true, false));
    assert_eq!(dist(Some(4)).reuse(4), Reuse::new(false, true)); // distance 3 < 4
    assert_eq!(dist(Some(4)).reuse(5), Reuse::new(false, false)); // distance 4
    assert_eq!(dist(Some(u64::MAX)).reuse(u64::MAX), Reuse::new(false, true));
    assert_eq!(dist(None).reuse(3), Reuse::UNKNOWN);
}

/// A replay with the file's line size takes reuse from the file, not from
/// tracking: a reuse field that lies is believed. Another line size tracks.
#[test]
fn replays_read_reuse_off_the_file() {
    let dir = std::env::temp_dir().join(format!("cohsim-bin-reuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.bin");
    let read = |addr| Record::access(TraceOp::Read, addr, 4, 0);
    let mut w = BinWriter::create(&path, 1, Some(64)).unwrap();
    for r in [read(0x40), read(0x40)] {
        w.push(&r).unwrap();
    }
    w.end_core();
    w.finish().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    // The second access's reuse field, the file's last byte: distance 0 (1);
    // make it claim a first reference (0).
    assert_eq!(bytes.last(), Some(&1));
    *bytes.last_mut().unwrap() = 0;
    std::fs::write(&path, &bytes).unwrap();
    let reuse = |line| {
        let spec = super::super::TraceSpec::new([&path]).with_line_size(line);
        let mut s = super::super::open(&spec).unwrap().with_reuse(4).into_streams().remove(0);
        let (a, b) = (s.next().unwrap().unwrap(), s.next().unwrap().unwrap());
        (a.reuse, b.reuse)
    };
    let first = Reuse::new(true, false);
    assert_eq!(reuse(64), (first, first), "the file's (false) word");
    assert_eq!(reuse(32), (first, Reuse::new(false, true)), "tracked");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn corrupt_bytes_are_errors() {
    assert!(decode(&[0x06, 0], 0, NONE).is_err());
    let long = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    assert!(decode(&long, 0, NONE).is_err());
}
