//! A real program's memory accesses, thread by thread, from one Valgrind log
//! written by `valgrind --tool=lackey --trace-mem=yes --trace-sched=yes
//! --fair-sched=yes` (what `cohsim record` runs). Lackey prints every
//! instruction fetch (`I`) and data access (` L`, ` S`, ` M`); the scheduler
//! trace prints a line each time a thread takes Valgrind's big lock:
//!
//! ```text
//! --5493--   SCHED[2]:  acquired lock (VG_(client_syscall)[async])
//!  L 04a0c0,8
//! ```
//!
//! Valgrind runs one thread at a time, so every access between thread T
//! taking the lock and the next thread taking it is T's, in T's program
//! order. Each thread becomes a core, numbered in the order the threads first
//! run (the main thread is core 0). The instructions a thread fetched
//! since its previous access become that access's gap, one cycle each (an
//! in-order core retiring one instruction per cycle); this keeps each core's
//! pace, not the host's interleaving, which the replay makes anew.

use std::path::Path;

use super::error::TraceError;
use super::lackey::{EXPECTED, Line, parse_line};
use super::lines::LineReader;
use super::{Record, TraceOp};

/// What a log held: per core, its accesses in program order.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// Valgrind's thread id of each core.
    pub threads: Vec<u32>,
    pub cores: Vec<Vec<Record>>,
    /// Instructions each core fetched (its accesses' gaps, plus any after the last).
    pub instructions: Vec<u64>,
}

/// The thread a scheduler line names as taking the lock, if it is one.
fn acquired(line: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(line).ok()?;
    let at = text.find("SCHED[")?;
    let rest = &text[at + 6..];
    let close = rest.find(']')?;
    if !rest[close..].contains("acquired lock") {
        return None;
    }
    rest[..close].parse().ok()
}

/// Reads a Lackey log with scheduler lines; an error names the line.
pub fn read(path: &Path) -> Result<Recording, TraceError> {
    let mut lines = LineReader::new(path, super::input::open(path)?);
    let mut rec = Recording::default();
    // Fetches since each core's last access.
    let mut pending: Vec<u64> = Vec::new();
    // Valgrind starts in the main thread, 1.
    let mut thread = 1u32;
    let mut core: Option<usize> = None;
    while let Some((no, line)) = lines.next_line()? {
        if line.starts_with(b"--") || line.starts_with(b"==") {
            if let Some(t) = acquired(line) {
                thread = t;
                core = rec.threads.iter().position(|&x| x == t);
            }
            continue;
        }
        let c = match core {
            Some(c) => c,
            None => {
                rec.threads.push(thread);
                rec.cores.push(Vec::new());
                rec.instructions.push(0);
                pending.push(0);
                core = Some(rec.threads.len() - 1);
                rec.threads.len() - 1
            }
        };
        match parse_line(line) {
            Some(Line::Fetch) => {
                pending[c] += 1;
                rec.instructions[c] += 1;
            }
            Some(Line::Data { load, store, addr, size }) => {
                let size = u32::try_from(size).ok().filter(|s| (1..=4096).contains(s));
                let Some(size) = size else {
                    return Err(TraceError::parse(path, no, "an access size from 1 to 4096 bytes", line));
                };
                let gap = std::mem::take(&mut pending[c]);
                if load {
                    rec.cores[c].push(Record::access(TraceOp::Read, addr, size, gap));
                }
                if store {
                    // A modify's store follows its load at once.
                    rec.cores[c].push(Record::access(TraceOp::Write, addr, size, if load { 0 } else { gap }));
                }
            }
            Some(Line::Skip) => {}
            None => return Err(TraceError::parse(path, no, EXPECTED, line)),
        }
    }
    // A thread that fetched but touched no data keeps its core (its
    // instructions are compute at the end).
    for (c, n) in pending.iter().enumerate() {
        if *n > 0 {
            rec.cores[c].push(Record::compute(*n));
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Recording, TraceError> {
        let dir = std::env::temp_dir().join(format!("cohsim-valgrind-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:x}.log", text.len() * 31 + text.bytes().map(u64::from).sum::<u64>() as usize));
        std::fs::write(&path, text).unwrap();
        let r = read(&path);
        let _ = std::fs::remove_file(&path);
        r
    }

    #[test]
    fn accesses_go_to_the_thread_holding_the_lock() {
        let text = "==9== Lackey\nI  0400,3\n L 1000,8\n\
            --9--   SCHED[2]:  acquired lock (thread_wrapper)\nI  0500,2\nI  0502,2\n S 2000,4\n\
            --9--   SCHED[2]: releasing lock (x) -> VgTs_WaitSys\n\
            --9--   SCHED[1]:  acquired lock (y)\n M 1008,8\nI  0403,1\n";
        let r = read_text(text).unwrap();
        assert_eq!(r.threads, vec![1, 2]);
        // Main thread: one fetch before its load; a modify (load, store); one fetch at the end.
        assert_eq!(
            r.cores[0],
            vec![
                Record::access(TraceOp::Read, 0x1000, 8, 1),
                Record::access(TraceOp::Read, 0x1008, 8, 0),
                Record::access(TraceOp::Write, 0x1008, 8, 0),
                Record::compute(1),
            ]
        );
        // Thread 2: two fetches, then its store.
        assert_eq!(r.cores[1], vec![Record::access(TraceOp::Write, 0x2000, 4, 2)]);
        assert_eq!(r.instructions, vec![2, 2]);
    }

    #[test]
    fn a_bad_line_is_named() {
        let e = read_text("I  0400,3\n L 1000\n").unwrap_err().to_string();
        assert!(e.contains(":2: expected a Lackey line"), "{e}");
        let e = read_text(" L 1000,0\n").unwrap_err().to_string();
        assert!(e.contains(":1: expected an access size from 1 to 4096"), "{e}");
    }
}
