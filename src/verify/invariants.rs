//! The invariant checker, an observer of the model:
//!
//! * **SWMR**: per line, either one cache with write permission (E or M) and no
//!   other readable copy, or any number of readable copies (S; transient states that
//!   keep S's permission), of which at most one is an owner O.
//! * **Data value**: a golden memory is updated at the moment each store is
//!   performed; every load must return the golden value (a load finishing in
//!   `IS_D_I` may return any value the word held while its request was in flight),
//!   and every readable copy must hold the golden words.
//!
//! It reads controllers and never changes them. Attached to a simulation as an
//! observer (`Simulator::observe`), it is told of every access performed and
//! checks every line after each input a controller handles; the model checker
//! calls it in every state.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

use crate::engine::observe::{Finding, Hit, Observer, View};
use crate::model::l1::L1Controller;
use crate::model::network::Cycle;
use crate::model::{Access, Ctrl, LineAddr, MemOp, Msg, Note};
use crate::protocol::l1_table::L1State;
use crate::reuse::Reuse;

/// Readable copies of `line` must not coexist with a writer; at most one O.
pub fn check_swmr(line: LineAddr, l1s: &[L1Controller]) -> Result<(), String> {
    let (mut writers, mut readers, mut owners) = (0, 0, 0);
    for l1 in l1s {
        let s = l1.state_of(line);
        if s.can_write() {
            writers += 1;
        } else if s.can_read() {
            readers += 1;
        }
        if matches!(s, L1State::O | L1State::OM_AC | L1State::OM_A) {
            owners += 1;
        }
    }
    if writers > 1 || (writers == 1 && readers > 0) {
        return Err(format!("SWMR violated: {writers} writer(s) and {readers} other reader(s)"));
    }
    if owners > 1 {
        return Err(format!("SWMR violated: {owners} owners (O) of one line"));
    }
    Ok(())
}

/// One word-granular event the checker keeps for the violation report.
#[derive(Clone, Debug)]
pub struct Recent {
    pub cycle: u64,
    pub ctrl: Ctrl,
    pub line: LineAddr,
    pub text: String,
}

#[derive(Clone, Debug, Default)]
struct Window {
    addr: u64,
    values: SmallVec<[u64; 4]>,
}

/// Golden memory and the windows of loads in flight.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    golden: FxHashMap<u64, u64>,
    windows: Vec<Option<Window>>,
    watchers: FxHashMap<u64, SmallVec<[u16; 4]>>,
    recent: VecDeque<Recent>,
    pub loads_checked: u64,
    pub stores_seen: u64,
}

const RECENT: usize = 512;

impl Checker {
    pub fn new(cores: usize) -> Self {
        Checker { windows: vec![None; cores], ..Default::default() }
    }

    #[inline]
    fn word(addr: u64) -> u64 {
        addr & !7
    }

    pub fn golden(&self, addr: u64) -> u64 {
        self.golden.get(&Self::word(addr)).copied().unwrap_or(0)
    }

    /// A load miss leaves the core: remember what the word holds from now on.
    pub fn open_window(&mut self, core: u16, addr: u64) {
        let addr = Self::word(addr);
        let mut values = SmallVec::new();
        values.push(self.golden(addr));
        self.windows[core as usize] = Some(Window { addr, values });
        self.watchers.entry(addr).or_default().push(core);
    }

    fn close_window(&mut self, core: u16) -> Option<Window> {
        let w = self.windows[core as usize].take()?;
        if let Some(list) = self.watchers.get_mut(&w.addr) {
            list.retain(|c| *c != core);
            if list.is_empty() {
                self.watchers.remove(&w.addr);
            }
        }
        Some(w)
    }

    /// An access was performed (hit or miss completion).
    pub fn performed(
        &mut self,
        core: u16,
        addr: u64,
        op: MemOp,
        loaded: u64,
        stored: Option<u64>,
        windowed: bool,
    ) -> Result<(), String> {
        let word = Self::word(addr);
        let golden = self.golden(word);
        let window = self.close_window(core);
        self.loads_checked += 1;
        if loaded != golden {
            let allowed = windowed
                && op == MemOp::Load
                && window.as_ref().is_some_and(|w| w.addr == word && w.values.contains(&loaded));
            if !allowed {
                return Err(format!(
                    "data value violated: core {core} {op:?} at {addr:#x} read {loaded:#x}, but the last store performed wrote {golden:#x}"
                ));
            }
        }
        if let Some(v) = stored {
            self.stores_seen += 1;
            self.golden.insert(word, v);
            if let Some(list) = self.watchers.get(&word) {
                for &c in list {
                    if let Some(w) = &mut self.windows[c as usize] {
                        w.values.push(v);
                    }
                }
            }
        }
        Ok(())
    }

    /// Every readable copy of `line` holds the golden words.
    pub fn check_copies(&self, line: LineAddr, line_bytes: u64, l1s: &[L1Controller]) -> Result<(), String> {
        for l1 in l1s {
            if !l1.state_of(line).can_read() {
                continue;
            }
            let Some(data) = l1.data_of(line) else {
                continue;
            };
            for (w, &v) in data.iter().enumerate() {
                let addr = line * line_bytes + 8 * w as u64;
                let g = self.golden(addr);
                if v != g {
                    return Err(format!(
                        "data value violated: core {} holds {v:#x} at {addr:#x} in {}, the last store performed wrote {g:#x}",
                        l1.spec.core,
                        l1.state_of(line).name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Keep a protocol event for the report.
    pub fn record(&mut self, cycle: u64, note: &Note) {
        let (ctrl, line, text) = match note {
            Note::L1Transition { core, line, from, event, to } => {
                (Ctrl::L1(*core), *line, format!("{} --{}--> {}", from.name(), event.name(), to.name()))
            }
            Note::DirTransition { slice, line, from, event, to } => {
                (Ctrl::Dir(*slice), *line, format!("{} --{}--> {}", from.name(), event.name(), to.name()))
            }
            _ => return,
        };
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent { cycle, ctrl, line, text });
    }

    /// Record that a message left a controller.
    pub fn record_message(&mut self, cycle: u64, msg: &crate::model::Msg) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            cycle,
            ctrl: if (msg.src as usize) < self.windows.len() {
                Ctrl::L1(msg.src)
            } else {
                Ctrl::Dir(msg.src - self.windows.len() as u16)
            },
            line: msg.line,
            text: format!(
                "sends {} to node {} (requester {}, acks {}){}",
                msg.kind.name(),
                msg.dst,
                msg.requester,
                msg.acks,
                if msg.data.is_some() { " with data" } else { "" }
            ),
        });
    }

    /// The recent events on one line, oldest first.
    pub fn history(&self, line: LineAddr) -> Vec<String> {
        self.recent
            .iter()
            .filter(|r| r.line == line)
            .map(|r| format!("cycle {:>8}  {:<8} {}", r.cycle, r.ctrl.to_string(), r.text))
            .collect()
    }
}

/// The checker as the engine's observer: every access performed is checked
/// against the golden memory, every line a controller touched for SWMR and its
/// copies' words.
impl Observer for Checker {
    fn sees_every_access(&self) -> bool {
        true
    }

    fn hit(&mut self, h: &Hit) -> Result<(), Finding> {
        self.performed(h.core, h.addr, h.op, h.loaded, h.stored, false).map_err(|what| Finding { what, line: h.line })
    }

    fn issued(&mut self, core: u16, access: Access, _miss: bool, _reuse: Reuse, _at: Cycle) {
        if !access.op.writes() {
            self.open_window(core, access.addr);
        }
    }

    fn notes(&mut self, cycle: Cycle, notes: &[Note], view: View) -> Result<(), Finding> {
        for note in notes {
            self.record(cycle, note);
            if let Note::Performed { core, addr, op, loaded, stored, windowed } = *note {
                self.performed(core, addr, op, loaded, stored, windowed)
                    .map_err(|what| Finding { what, line: view.l1s[core as usize].line_of(addr) })?;
            }
        }
        Ok(())
    }

    fn message(&mut self, cycle: Cycle, msg: &Msg) {
        self.record_message(cycle, msg);
    }

    fn checks_lines(&self) -> bool {
        true
    }

    fn after_input(&mut self, line: LineAddr, view: View) -> Result<(), Finding> {
        check_swmr(line, view.l1s)
            .and_then(|_| self.check_copies(line, view.line_bytes, view.l1s))
            .map_err(|what| Finding { what, line })
    }

    fn history(&self, line: LineAddr) -> Vec<String> {
        Checker::history(self, line)
    }
}
