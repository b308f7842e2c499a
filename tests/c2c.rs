//! The core-to-core latency matrix against latencies derived by hand from
//! the configuration.
//!
//! A CAS by core r on a line in M at core o, home slice on tile h, on a quiet
//! machine (the defaults: hit 1 cycle, directory 10, hop 2, local 1, links of
//! 16 bytes; control messages 8 bytes = 1 flit, data 8 + 64 bytes = 5 flits):
//!
//! 1. r's L1 sends GetM one hit latency after the CAS issues: 1;
//! 2. GetM r → h: a message over k hops takes 2k + (flits − 1) cycles, or the
//!    local latency (1) on the same tile;
//! 3. the directory answers `latency` later: 10;
//! 4. Fwd-GetM h → o (1 flit);
//! 5. o's L1 sends the data one hit latency later: 1;
//! 6. Data o → r (5 flits: 2k + 4);
//!
//! and the CAS completes when the data arrives. `matrix[i][j]` is the mean of
//! the two directions.

use cohsim::apps::c2c;
use cohsim::config::SystemConfig;
use cohsim::model::network::Topology;

/// Manhattan distance between tiles on a mesh of width `w`.
fn hops(w: usize, a: usize, b: usize) -> u64 {
    ((a % w).abs_diff(b % w) + (a / w).abs_diff(b / w)) as u64
}

/// Cycles of one message of `flits` flits over `k` hops (defaults above).
fn message(k: u64, flits: u64) -> u64 {
    if k == 0 { 1 } else { 2 * k + flits - 1 }
}

/// One hand-off: `r` takes the line from `o`, home on tile `h`.
fn by_hand(w: usize, r: usize, o: usize, h: usize) -> u64 {
    1 + message(hops(w, r, h), 1) + 10 + message(hops(w, h, o), 1) + 1 + message(hops(w, o, r), 5)
}

fn mesh(cores: usize, slices: usize) -> SystemConfig {
    let mut cfg = SystemConfig { cores, ..SystemConfig::default() };
    cfg.network.topology = Topology::Mesh;
    cfg.directory.slices = slices;
    cfg
}

#[test]
fn a_2x2_mesh_matches_the_hand_derivation() {
    let l = c2c::measure(&mesh(4, 1), 4, 2000, 0).unwrap();
    assert_eq!(l.home_tile, 0);
    // Worked cells: 0 and 1 are neighbours and 0 holds the home:
    // 1 + 1 (local) + 10 + 2 + 1 + 6 = 21 from 0's side, 1 + 2 + 10 + 1 + 1 + 6
    // = 21 from 1's; 0 and 3 are diagonal: 1 + 1 + 10 + 4 + 1 + 8 = 25.
    assert_eq!(l.matrix[0][1], 21.0);
    assert_eq!(l.matrix[0][3], 25.0);
    for r in 0..4 {
        for o in 0..4 {
            if r != o {
                assert_eq!(l.one_way[r][o], by_hand(2, r, o, 0) as f64, "core {r} taking from {o}");
            }
        }
    }
}

#[test]
fn a_4x4_mesh_follows_hop_distance_and_the_home_slice() {
    // One slice, on tile 0: every cell is the hand formula.
    let l = c2c::measure(&mesh(16, 1), 2, 2000, 0).unwrap();
    for r in 0..16 {
        for o in 0..16 {
            if r != o {
                assert_eq!(l.one_way[r][o], by_hand(4, r, o, 0) as f64, "core {r} taking from {o}");
            }
        }
    }
    // The far corner pair (0, 15) costs more than neighbours (5, 6) though
    // the path through the home counts for both.
    assert!(l.matrix[0][15] > l.matrix[5][6]);
    // Four slices spread over the tiles (slice s on tile 16s/4 = 4s): a flag
    // homed on slice 1 has its home on tile 4, and every cell moves with it.
    let moved = c2c::measure(&mesh(16, 4), 2, 2000, 1).unwrap();
    assert_eq!(moved.home_tile, 4);
    for r in 0..16 {
        for o in 0..16 {
            if r != o {
                assert_eq!(moved.one_way[r][o], by_hand(4, r, o, 4) as f64, "home on 4: {r} taking from {o}");
            }
        }
    }
    // Core 4 now shares the home's tile: taking the line from its neighbour
    // 5 costs 1 + 1 + 10 + 2 + 1 + 6 = 21 cycles, against 1 + 2 + 10 + 4 + 1
    // + 6 = 24 with the home on tile 0 (4 → 0 one hop, 0 → 5 two).
    assert_eq!((moved.one_way[4][5], l.one_way[4][5]), (21.0, 24.0));
}

#[test]
fn a_crossbar_is_flat() {
    // Every message is one switch traversal (2 cycles) plus its flits: every
    // hand-off is 1 + 2 + 10 + 2 + 1 + 6 = 22, whoever the pair.
    let l = c2c::measure(&SystemConfig { cores: 4, ..SystemConfig::default() }, 2, 2000, 0).unwrap();
    for r in 0..4 {
        for o in 0..4 {
            assert_eq!(l.matrix[r][o], if r == o { 0.0 } else { 22.0 });
        }
    }
}
