//! Raft's safety monitors, on every run, from what the actors noted and the
//! servers' final states. What the actors note (`notes`, from the state a
//! handler left against the state it found):
//!
//! | note     | by      | words                                                         |
//! |----------|---------|---------------------------------------------------------------|
//! | `leader` | server  | term, then (term, hash) of each entry of its log at election   |
//! | `commit` | server  | index, entry term, entry hash, the server's current term       |
//! | `apply`  | server  | index, entry term, entry hash                                  |
//! | `invoke` | client  | operation number, then the command's words                     |
//! | `return` | client  | operation number, the output's word                            |
//!
//! The monitors (Raft paper, Figure 3):
//! - **election safety**: at most one server notes `leader` for a term.
//! - **log matching**: of two logs (every leader's at its election, every
//!   live server's at the end) holding entries of the same term at an index,
//!   the prefixes up to it are equal.
//! - **leader completeness**: an entry a server saw committed while its
//!   term was `c` (so committed in a term ≤ `c`) is in the log of every
//!   leader of a term above `c` at its election. This does not depend on
//!   when the notes were made: Raft promises it for every later term.
//! - **state-machine safety**: no two servers apply different entries (term
//!   and hash) at one index.
//!
//! A restarted server notes again the commits and applications it redoes;
//! equal notes agree with themselves.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use super::machine::Machine;
use super::node::{Entry, RaftState, Server};
use crate::exec::actor::{Note, Noted};
use crate::exec::monitor::Finding;
use crate::model::network::Cycle;

/// An entry's digest (its term, client, number and command).
pub fn digest<C: Hash>(e: &Entry<C>) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    e.hash(&mut h);
    h.finish()
}

/// The notes of the handler that moved `before` to `after`.
pub fn notes<M: Machine>(before: Option<&RaftState<M>>, after: &RaftState<M>, notes: &mut Vec<Note>) {
    match (before, after) {
        (b, RaftState::Server(s)) => {
            let b = match b {
                Some(RaftState::Server(b)) => Some(b),
                _ => None,
            };
            server_notes(b, s, notes)
        }
        (Some(RaftState::Client(b)), RaftState::Client(a)) => {
            if let Some((seq, out)) = &a.last
                && b.last.as_ref().map(|l| l.0) != Some(*seq)
            {
                notes.push(Note::new("return", &[u64::from(*seq), M::output_word(out)]));
            }
            if a.seq > b.seq
                && let Some(c) = &a.current
            {
                let mut w = vec![u64::from(a.seq)];
                w.extend(M::command_words(c));
                notes.push(Note::new("invoke", &w));
            }
        }
        _ => {}
    }
}

/// A server's notes (also used by machines whose actor wraps `Raft`).
pub fn server_notes<M: Machine>(b: Option<&Server<M>>, s: &Server<M>, notes: &mut Vec<Note>) {
    let was_leader = b.is_some_and(|b| b.is_leader() && b.term == s.term);
    if s.is_leader() && !was_leader {
        let mut w = vec![s.term];
        for e in &s.log {
            w.extend([e.term, digest(e)]);
        }
        notes.push(Note::new("leader", &w));
    }
    let entry = |i: u64| &s.log[i as usize - 1];
    for i in b.map_or(0, |b| b.commit) + 1..=s.commit {
        notes.push(Note::new("commit", &[i, entry(i).term, digest(entry(i)), s.term]));
    }
    for i in b.map_or(0, |b| b.applied) + 1..=s.applied {
        notes.push(Note::new("apply", &[i, entry(i).term, digest(entry(i))]));
    }
}

/// A log as (term, digest) per entry, with whose and when.
struct Log {
    core: usize,
    cycle: Cycle,
    what: &'static str,
    entries: Vec<(u64, u64)>,
}

/// The four monitors over the run's notes and the live servers' finals.
pub fn check<M: Machine>(notes: &[Noted], finals: &[Option<&RaftState<M>>], end: Cycle) -> Vec<Finding> {
    let mut found = Vec::new();
    let leaders: Vec<(&Noted, Log)> = notes
        .iter()
        .filter(|n| n.note.kind == "leader")
        .map(|n| {
            let w = &n.note.words;
            let entries = w[1..].chunks(2).map(|c| (c[0], c[1])).collect();
            (n, Log { core: n.core, cycle: n.cycle, what: "at its election", entries })
        })
        .collect();

    // Election safety.
    let mut by_term: BTreeMap<u64, &Noted> = BTreeMap::new();
    for (n, _) in &leaders {
        let term = n.note.words[0];
        match by_term.get(&term) {
            Some(first) if first.core != n.core => found.push(Finding {
                monitor: "election safety",
                cycle: n.cycle,
                cores: vec![first.core, n.core],
                what: format!(
                    "servers {} (cycle {}) and {} (cycle {}) both lead term {term}",
                    first.core, first.cycle, n.core, n.cycle
                ),
            }),
            Some(_) => {}
            None => {
                by_term.insert(term, n);
            }
        }
    }

    // Log matching, over the leaders' logs at election and the final logs.
    let mut logs: Vec<&Log> = leaders.iter().map(|(_, l)| l).collect();
    let finals: Vec<Log> = finals
        .iter()
        .enumerate()
        .filter_map(|(core, s)| match s {
            Some(RaftState::Server(s)) => Some(Log {
                core,
                cycle: end,
                what: "at the end",
                entries: s.log.iter().map(|e| (e.term, digest(e))).collect(),
            }),
            _ => None,
        })
        .collect();
    logs.extend(finals.iter());
    'pairs: for (x, a) in logs.iter().enumerate() {
        for b in &logs[x + 1..] {
            let Some(differ) = a.entries.iter().zip(&b.entries).position(|(p, q)| p != q) else { continue };
            for i in differ..a.entries.len().min(b.entries.len()) {
                if a.entries[i].0 == b.entries[i].0 {
                    found.push(Finding {
                        monitor: "log matching",
                        cycle: a.cycle.max(b.cycle),
                        cores: vec![a.core, b.core],
                        what: format!(
                            "server {}'s log {} and server {}'s {} both hold a term-{} entry at index {} but differ at index {}",
                            a.core,
                            a.what,
                            b.core,
                            b.what,
                            a.entries[i].0,
                            i + 1,
                            differ + 1
                        ),
                    });
                    break 'pairs;
                }
            }
        }
    }

    // Leader completeness.
    let mut committed: BTreeMap<(u64, u64, u64), &Noted> = BTreeMap::new();
    for n in notes.iter().filter(|n| n.note.kind == "commit") {
        let w = &n.note.words;
        // Per entry, the lowest term it was seen committed in.
        let key = (w[0], w[1], w[2]);
        if committed.get(&key).is_none_or(|m| m.note.words[3] > w[3]) {
            committed.insert(key, n);
        }
    }
    'completeness: for (&(index, term, hash), n) in &committed {
        let seen = n.note.words[3];
        for (l, log) in &leaders {
            let lt = l.note.words[0];
            if lt > seen && log.entries.get(index as usize - 1) != Some(&(term, hash)) {
                found.push(Finding {
                    monitor: "leader completeness",
                    cycle: l.cycle,
                    cores: vec![n.core, l.core],
                    what: format!(
                        "entry {index} (term {term}), seen committed by server {} in term {seen}, is missing from the log of term {lt}'s leader {}",
                        n.core, l.core
                    ),
                });
                break 'completeness;
            }
        }
    }

    // State-machine safety.
    let mut applied: BTreeMap<u64, &Noted> = BTreeMap::new();
    for n in notes.iter().filter(|n| n.note.kind == "apply") {
        let w = &n.note.words;
        match applied.get(&w[0]) {
            Some(first) if first.note.words[1..] != w[1..] => {
                found.push(Finding {
                    monitor: "state-machine safety",
                    cycle: n.cycle,
                    cores: vec![first.core, n.core],
                    what: format!(
                        "servers {} and {} applied different entries at index {} (terms {} and {})",
                        first.core, n.core, w[0], first.note.words[1], w[1]
                    ),
                });
                break;
            }
            Some(_) => {}
            None => {
                applied.insert(w[0], n);
            }
        }
    }
    found
}

/// Who led which term, from the `leader` notes, in term order.
pub fn leaders(notes: &[Noted]) -> Vec<(u64, usize, Cycle)> {
    let mut v: Vec<(u64, usize, Cycle)> =
        notes.iter().filter(|n| n.note.kind == "leader").map(|n| (n.note.words[0], n.core, n.cycle)).collect();
    v.sort();
    v
}
