//! Data-driven transition tests, in the manner of raft-rs's data-driven tests:
//! every file in `tests/testdata/` is a script of core accesses and message
//! deliveries, each followed by the states and messages the protocol tables (and
//! the Primer, ch. 8) say must result. One bench per scenario: L1 controllers and a
//! single directory slice built with the public API, every message held in flight
//! until the script delivers it, in whatever order the script chooses. All
//! accesses touch one word (byte address 8, word 1) of line 0.
//!
//! # Format
//!
//! One command per line; `#` starts a comment (to the end of the line); blank
//! lines are ignored. Nodes are cores `0`, `1`, ... and `dir`; a route is written
//! `src->dst` (no spaces), message kinds as `MsgKind::name` prints them (`GetS`,
//! `Fwd-GetM`, `Put-Ack`, `Inv-Ack`, `AckCount`, ...), states as the tables name
//! them (`IS_D_I`, `S_D`, ...).
//!
//! * `protocol <msi|mesi|moesi> cores <n> [silent-evict]` — start a new scenario:
//!   n L1s (4-way, 256 B, 64 B lines, 2 write-back entries; clean shared lines are
//!   dropped without a PutS only with `silent-evict`) and one directory, node id
//!   n. A file may hold several scenarios; each begins here.
//! * `load <core> <outcome>` / `store <core> <value> <outcome>` — the core issues
//!   the access; `<outcome>` is `miss`, `blocked` or `hit <value returned>` (a
//!   store returns the old word).
//! * `evict <core> [stalled]` — replace line 0 in the core's cache (must be
//!   accepted unless `stalled` is given).
//! * `deliver <Kind> <src>-><dst> [stalls]` — deliver the oldest message of that
//!   kind on that route. It must be taken; with `stalls` it must be refused
//!   (the controller stalls it) and it stays in flight where it was.
//! * `drain` — deliver everything, oldest deliverable message first, until nothing
//!   is in flight (for setting a scenario up; fails if everything stalls).
//! * `expect l1 <core> <State>` — the core's state for the line.
//! * `expect dir <State> [owner <core>|-] [sharers <c,c,...>|-]` — the
//!   directory entry; owner and sharers are checked only when given.
//! * `expect msg <Kind> <src>-><dst> [acks=N] [exclusive=B] [dirty=B] [word=V]
//!   [requester=C]` — the oldest such message in flight has these fields
//!   (`word` is word 1 of its data; B is `yes` or `no`).
//! * `expect net <Kind src->dst>, <Kind src->dst>, ...` / `expect net empty` —
//!   exactly these messages are in flight (as a multiset; order ignored).
//! * `expect completed <core> <v> <v> ...` / `expect completed <core> none` —
//!   the values the core's completed misses returned, all of them, in order.
//! * `expect windowed <core> <v> ...` / `expect windowed <core> none` — the
//!   values of all the core's loads performed with data that may predate a store
//!   (loads finished in `IS_D_I`), in order.
//! * `expect acks <core> <n>` — the core's MSHR ack counter (may be negative).
//! * `expect word <core|mem> <v>` — word 1 of line 0 in the core's cache (array
//!   or write-back buffer) or in the directory's memory.
//!
//! An unknown command, a malformed line or a failed expectation fails the test
//! with the file name and line number. Every file is run; failures are listed
//! together at the end.

mod common;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use cohsim::model::directory::Directory;
use cohsim::model::l1::{AccessOutcome, L1Controller};
use cohsim::model::{Access, Handled, MemOp, Msg, MsgKind, NodeId, Note, Outbox};
use cohsim::protocol::Protocol;
use cohsim::protocol::dir_table::DirState;
use cohsim::protocol::l1_table::L1State;

const LINE: u64 = 0;
const ADDR: u64 = 8;
const WORD: usize = 1;

struct Bench {
    l1s: Vec<L1Controller>,
    dir: Directory,
    net: Vec<Msg>,
    notes: Vec<Note>,
}

type Res<T> = Result<T, String>;

impl Bench {
    fn new(protocol: Protocol, cores: usize, silent_evict: bool) -> Bench {
        let (l1s, dir) = common::hand_driven(protocol, cores, silent_evict);
        Bench { l1s, dir, net: Vec::new(), notes: Vec::new() }
    }

    fn dir_node(&self) -> NodeId {
        self.l1s.len() as NodeId
    }

    fn absorb(&mut self, out: Outbox) {
        self.net.extend(out.msgs);
        self.notes.extend(out.notes);
    }

    fn node_name(&self, n: NodeId) -> String {
        if n == self.dir_node() { "dir".to_string() } else { n.to_string() }
    }

    fn show(&self, m: &Msg) -> String {
        format!("{} {}->{}", m.kind.name(), self.node_name(m.src), self.node_name(m.dst))
    }

    fn show_net(&self) -> String {
        if self.net.is_empty() {
            return "empty".to_string();
        }
        self.net.iter().map(|m| self.show(m)).collect::<Vec<_>>().join(", ")
    }

    fn core(&self, s: &str) -> Res<usize> {
        let c: usize = s.parse().map_err(|_| format!("not a core: {s:?}"))?;
        if c >= self.l1s.len() {
            return Err(format!("core {c} does not exist ({} cores)", self.l1s.len()));
        }
        Ok(c)
    }

    fn node(&self, s: &str) -> Res<NodeId> {
        if s == "dir" { Ok(self.dir_node()) } else { self.core(s).map(|c| c as NodeId) }
    }

    fn route(&self, s: &str) -> Res<(NodeId, NodeId)> {
        let (a, b) = s.split_once("->").ok_or_else(|| format!("not a route (src->dst): {s:?}"))?;
        Ok((self.node(a)?, self.node(b)?))
    }

    fn find(&self, kind: MsgKind, src: NodeId, dst: NodeId) -> Res<usize> {
        self.net.iter().position(|m| m.kind == kind && m.src == src && m.dst == dst).ok_or_else(|| {
            format!(
                "no {} {}->{} in flight; in flight: {}",
                kind.name(),
                self.node_name(src),
                self.node_name(dst),
                self.show_net()
            )
        })
    }

    /// Deliver the message at index `i`; a stalled message goes back where it was.
    fn deliver_at(&mut self, i: usize) -> Res<Handled> {
        let m = self.net.remove(i);
        let mut out = Outbox::default();
        let r = if (m.dst as usize) < self.l1s.len() {
            self.l1s[m.dst as usize].handle(&m, &mut out)
        } else {
            self.dir.handle(&m, &mut out)
        };
        let r = r.map_err(|e| format!("protocol error delivering {}: {e}", self.show(&m)))?;
        if r == Handled::Stalled {
            self.net.insert(i, m);
        }
        self.absorb(out);
        Ok(r)
    }

    fn drain(&mut self) -> Res<()> {
        for _ in 0..10_000 {
            if self.net.is_empty() {
                return Ok(());
            }
            let mut moved = false;
            for i in 0..self.net.len() {
                if self.deliver_at(i)? == Handled::Done {
                    moved = true;
                    break;
                }
            }
            if !moved {
                return Err(format!("drain: every message stalls: {}", self.show_net()));
            }
        }
        Err("drain did not settle".to_string())
    }

    fn access(&mut self, core: usize, op: MemOp) -> Res<AccessOutcome> {
        let mut out = Outbox::default();
        let r = self.l1s[core]
            .access(Access { addr: ADDR, op }, &mut out)
            .map_err(|e| format!("protocol error on core {core}'s access: {e}"))?;
        self.absorb(out);
        Ok(r)
    }

    fn completed(&self, core: u16) -> Vec<u64> {
        common::completed(&self.notes, core)
    }
}

fn num<T: std::str::FromStr>(s: Option<&&str>, what: &str) -> Res<T> {
    let s = s.ok_or_else(|| format!("missing {what}"))?;
    s.parse().map_err(|_| format!("bad {what}: {s:?}"))
}

fn kind(s: Option<&&str>) -> Res<MsgKind> {
    let s = s.ok_or("missing message kind")?;
    MsgKind::ALL.into_iter().find(|k| k.name() == *s).ok_or_else(|| format!("unknown message kind {s:?}"))
}

fn yes_no(s: &str) -> Res<bool> {
    match s {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("expected yes or no, got {s:?}")),
    }
}

fn no_more(t: &[&str], n: usize) -> Res<()> {
    if t.len() > n { Err(format!("unexpected {:?}", &t[n..])) } else { Ok(()) }
}

/// The values listed from the third token on (`none` for an empty list).
fn values(t: &[&str]) -> Res<Vec<u64>> {
    if t.get(2) == Some(&"none") {
        no_more(t, 3)?;
        return Ok(Vec::new());
    }
    t[2..].iter().map(|v| num(Some(v), "value")).collect()
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Res<()> {
    if got == want { Ok(()) } else { Err(format!("{what}: expected {want:?}, got {got:?}")) }
}

fn outcome(t: &[&str], got: AccessOutcome) -> Res<()> {
    let want = match t.first() {
        Some(&"miss") => {
            no_more(t, 1)?;
            AccessOutcome::Miss
        }
        Some(&"blocked") => {
            no_more(t, 1)?;
            AccessOutcome::Blocked
        }
        Some(&"hit") => {
            no_more(t, 2)?;
            AccessOutcome::Hit(num(t.get(1), "value returned by the hit")?)
        }
        other => return Err(format!("expected an outcome (miss, blocked, hit <v>), got {other:?}")),
    };
    check("access outcome", got, want)
}

/// Run one command; `bench` is `None` until the first `protocol` line.
fn command(bench: &mut Option<Bench>, t: &[&str]) -> Res<()> {
    if t[0] == "protocol" {
        let p = t.get(1).and_then(|s| s.parse::<Protocol>().ok()).ok_or("protocol: expected msi, mesi or moesi")?;
        if t.get(2) != Some(&"cores") {
            return Err("protocol: expected `protocol <name> cores <n>`".to_string());
        }
        let n: usize = num(t.get(3), "core count")?;
        let silent = match t.get(4) {
            None => false,
            Some(&"silent-evict") => true,
            Some(x) => return Err(format!("protocol: unexpected {x:?}")),
        };
        no_more(t, 5)?;
        *bench = Some(Bench::new(p, n, silent));
        return Ok(());
    }
    let b = bench.as_mut().ok_or("no scenario started: the first command must be `protocol`")?;
    match t[0] {
        "load" => {
            let c = b.core(t.get(1).ok_or("load: missing core")?)?;
            let r = b.access(c, MemOp::Load)?;
            outcome(&t[2..], r)
        }
        "store" => {
            let c = b.core(t.get(1).ok_or("store: missing core")?)?;
            let v: u64 = num(t.get(2), "stored value")?;
            let r = b.access(c, MemOp::Store(v))?;
            outcome(&t[3..], r)
        }
        "evict" => {
            let c = b.core(t.get(1).ok_or("evict: missing core")?)?;
            let want = match t.get(2) {
                None => Handled::Done,
                Some(&"stalled") => Handled::Stalled,
                Some(x) => return Err(format!("evict: unexpected {x:?}")),
            };
            no_more(t, 3)?;
            let mut out = Outbox::default();
            let r = b.l1s[c].evict(LINE, &mut out).map_err(|e| format!("protocol error on eviction: {e}"))?;
            b.absorb(out);
            check("eviction", r, want)
        }
        "deliver" => {
            let k = kind(t.get(1))?;
            let (src, dst) = b.route(t.get(2).ok_or("deliver: missing route")?)?;
            let want = match t.get(3) {
                None => Handled::Done,
                Some(&"stalls") => Handled::Stalled,
                Some(x) => return Err(format!("deliver: unexpected {x:?}")),
            };
            no_more(t, 4)?;
            let i = b.find(k, src, dst)?;
            let r = b.deliver_at(i)?;
            check(&format!("delivering {} {}->{}", k.name(), b.node_name(src), b.node_name(dst)), r, want)
        }
        "drain" => {
            no_more(t, 1)?;
            b.drain()
        }
        "expect" => expect(b, &t[1..]),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn expect(b: &Bench, t: &[&str]) -> Res<()> {
    match t.first().copied() {
        Some("l1") => {
            let c = b.core(t.get(1).ok_or("expect l1: missing core")?)?;
            let s = t.get(2).ok_or("expect l1: missing state")?;
            let want = L1State::ALL.into_iter().find(|x| x.name() == *s).ok_or(format!("unknown L1 state {s:?}"))?;
            no_more(t, 3)?;
            check(&format!("L1 {c} state"), b.l1s[c].state_of(LINE), want)
        }
        Some("dir") => {
            let s = t.get(1).ok_or("expect dir: missing state")?;
            let want = DirState::ALL.into_iter().find(|x| x.name() == *s).ok_or(format!("unknown dir state {s:?}"))?;
            let e = b.dir.entry(LINE);
            check("directory state", e.state, want)?;
            let mut i = 2;
            while i < t.len() {
                let v = t.get(i + 1).ok_or(format!("expect dir: {} needs a value", t[i]))?;
                match t[i] {
                    "owner" => {
                        let want = if *v == "-" { None } else { Some(b.core(v)? as u16) };
                        check("directory owner", e.owner, want)?;
                    }
                    "sharers" => {
                        let mut want = if *v == "-" {
                            Vec::new()
                        } else {
                            v.split(',').map(|c| b.core(c)).collect::<Res<Vec<_>>>()?
                        };
                        want.sort();
                        check("directory sharers", e.sharers.iter().collect::<Vec<_>>(), want)?;
                    }
                    x => return Err(format!("expect dir: unknown field {x:?}")),
                }
                i += 2;
            }
            Ok(())
        }
        Some("msg") => {
            let k = kind(t.get(1))?;
            let (src, dst) = b.route(t.get(2).ok_or("expect msg: missing route")?)?;
            let m = &b.net[b.find(k, src, dst)?];
            let name = b.show(m);
            for f in &t[3..] {
                let (key, v) = f.split_once('=').ok_or(format!("expect msg: expected key=value, got {f:?}"))?;
                match key {
                    "acks" => check(&format!("{name} acks"), m.acks, num(Some(&v), "acks")?)?,
                    "exclusive" => check(&format!("{name} exclusive"), m.exclusive, yes_no(v)?)?,
                    "dirty" => check(&format!("{name} dirty"), m.dirty, yes_no(v)?)?,
                    "requester" => check(&format!("{name} requester"), m.requester, b.node(v)?)?,
                    "word" => {
                        let got = m.data.as_ref().map(|d| d[WORD]);
                        check(&format!("{name} data word"), got, Some(num(Some(&v), "word")?))?
                    }
                    x => return Err(format!("expect msg: unknown field {x:?}")),
                }
            }
            Ok(())
        }
        Some("net") => {
            let rest = t[1..].join(" ");
            let mut want: Vec<String> = Vec::new();
            if rest != "empty" {
                for part in rest.split(',') {
                    let p: Vec<&str> = part.split_whitespace().collect();
                    if p.len() != 2 {
                        return Err(format!("expect net: expected `Kind src->dst`, got {part:?}"));
                    }
                    let (k, (src, dst)) = (kind(p.first())?, b.route(p[1])?);
                    want.push(format!("{} {}->{}", k.name(), b.node_name(src), b.node_name(dst)));
                }
            }
            let mut got: Vec<String> = b.net.iter().map(|m| b.show(m)).collect();
            got.sort();
            want.sort();
            check("messages in flight", got, want)
        }
        Some("completed") => {
            let c = b.core(t.get(1).ok_or("expect completed: missing core")?)?;
            let want = values(t)?;
            check(&format!("values completed by core {c}"), b.completed(c as u16), want)
        }
        Some("windowed") => {
            let c = b.core(t.get(1).ok_or("expect windowed: missing core")?)?;
            let want = values(t)?;
            let got: Vec<u64> = b
                .notes
                .iter()
                .filter_map(|n| match n {
                    Note::Performed { core, loaded, windowed: true, .. } if *core as usize == c => Some(*loaded),
                    _ => None,
                })
                .collect();
            check(&format!("windowed loads of core {c}"), got, want)
        }
        Some("acks") => {
            let c = b.core(t.get(1).ok_or("expect acks: missing core")?)?;
            let n: i32 = num(t.get(2), "ack count")?;
            no_more(t, 3)?;
            let got = b.l1s[c].mshr.as_ref().map(|m| m.acks);
            check(&format!("core {c} MSHR acks"), got, Some(n))
        }
        Some("word") => {
            let who = t.get(1).ok_or("expect word: missing core or mem")?;
            let v: u64 = num(t.get(2), "value")?;
            no_more(t, 3)?;
            if *who == "mem" {
                check("memory word", b.dir.memory_line(LINE)[WORD], v)
            } else {
                let c = b.core(who)?;
                let got = b.l1s[c].data_of(LINE).map(|d| d[WORD]);
                check(&format!("core {c} word"), got, Some(v))
            }
        }
        other => Err(format!("unknown expectation {other:?}")),
    }
}

/// Run one file; the first error, as `file:line: message`.
fn run_file(path: &Path) -> Res<usize> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bench = None;
    let mut scenarios = 0;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.is_empty() {
            continue;
        }
        scenarios += usize::from(t[0] == "protocol");
        command(&mut bench, &t).map_err(|e| format!("{}:{}: {e}\n    {}", path.display(), n + 1, raw.trim()))?;
    }
    if scenarios == 0 {
        return Err(format!("{}: no scenario (no `protocol` line)", path.display()));
    }
    Ok(scenarios)
}

#[test]
fn transitions() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/testdata");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("tests/testdata").map(|e| e.expect("directory entry").path()).collect();
    files.sort();
    assert!(!files.is_empty(), "no files in {}", dir.display());
    let mut failures = String::new();
    let mut scenarios = 0;
    for f in &files {
        println!("running {}", f.display());
        let r = std::panic::catch_unwind(|| run_file(f));
        match r {
            Ok(Ok(n)) => scenarios += n,
            Ok(Err(e)) => writeln!(failures, "{e}").unwrap(),
            Err(_) => writeln!(failures, "{}: panicked", f.display()).unwrap(),
        }
    }
    assert!(failures.is_empty(), "transition scripts failed:\n{failures}");
    println!("{} files, {scenarios} scenarios", files.len());
}
