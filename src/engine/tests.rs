//! The engine's own tests: the front-end seam (completions between events, the
//! clock `next` is given, typed errors), the cycle limit that stops a core
//! spinning on hits, the bound on simulated time, the scan ring and how
//! observers compose. Whole-machine behaviour is tested in `tests/`.

use super::*;
use crate::model::Access;

/// Each core runs a list of steps; records every call the engine makes.
struct Log {
    steps: Vec<VecDeque<Step>>,
    calls: Vec<String>,
}

impl Log {
    fn new(steps: Vec<Vec<Step>>) -> Self {
        Log { steps: steps.into_iter().map(Into::into).collect(), calls: Vec::new() }
    }
}

impl Frontend for Log {
    fn next(&mut self, core: usize, now: Cycle) -> Result<Step, FrontendError> {
        self.calls.push(format!("next {core} @{now}"));
        Ok(self.steps[core].pop_front().unwrap_or(Step::Done))
    }
    fn completed(&mut self, core: usize, value: u64) {
        self.calls.push(format!("completed {core} = {value}"));
    }
}

fn machine(cores: usize) -> SystemConfig {
    SystemConfig { cores, ..SystemConfig::default() }
}

fn load(gap: Cycle, addr: u64) -> Step {
    Step::access(gap, Access { addr, op: MemOp::Load })
}

#[test]
fn a_completion_reaches_the_front_end_before_the_core_moves_on() {
    // One core: a store of 7, then a load of it after 5 compute cycles. The
    // store misses (a cold miss: the load's `next` comes after its completion,
    // at the cycle it completed); the load hits and returns 7 at once.
    let mut sim = Simulator::new(machine(1), RunOptions::default());
    let store = Step::access(0, Access { addr: 0x40, op: MemOp::Store(7) });
    let mut fe = Log::new(vec![vec![store, load(5, 0x40)]]);
    sim.run(&mut fe).unwrap();
    let done = sim.stats.cycles;
    assert_eq!(fe.calls[0], "next 0 @0");
    assert!(fe.calls[1].starts_with("completed 0 = "), "{:?}", fe.calls);
    // The load starts when the store completed: hit latency after its fill.
    let at: Cycle = fe.calls[2].strip_prefix("next 0 @").unwrap().parse().unwrap();
    assert!(at > 0 && at + 5 + sim.cfg.l1.hit_latency == done, "{:?}, done at {done}", fe.calls);
    assert_eq!(fe.calls[3], "completed 0 = 7");
    assert_eq!(fe.calls[4], format!("next 0 @{done}"));
}

/// A core that loads one line forever: every access after the first hits.
struct Spin;

impl Frontend for Spin {
    fn next(&mut self, _core: usize, _now: Cycle) -> Result<Step, FrontendError> {
        Ok(load(3, 0x80))
    }
}

#[test]
fn a_core_spinning_on_hits_stops_at_the_cycle_limit() {
    let opts = RunOptions { max_cycles: Some(10_000), ..Default::default() };
    let mut sim = Simulator::new(machine(2), opts);
    match sim.run(&mut Spin) {
        Err(SimError::CycleLimit { limit, report }) => {
            assert_eq!(limit, 10_000);
            // Both cores are there, each with the access it has in hand.
            for c in 0..2 {
                assert!(report.contains(&format!("core {c}: ready, clock 1")), "{report}");
            }
            assert!(report.contains("Load at 0x80, line in S") || report.contains("line in E"), "{report}");
        }
        other => panic!("expected the cycle limit, got {other:?}"),
    }
    // The cores ran to the limit (each hit costs 3 + 1 cycles), no further.
    assert!(sim.cores.iter().all(|c| c.time > 10_000 - 4 && c.time <= 10_001 + 4), "{:?}", sim.cores[0].time);
}

#[test]
fn compute_that_would_overflow_simulated_time_is_an_error() {
    let mut sim = Simulator::new(machine(1), RunOptions::default());
    let mut fe = Log::new(vec![vec![Step::Compute(MAX_TIME - 10), Step::Compute(20)]]);
    match sim.run(&mut fe) {
        Err(SimError::TimeOverflow { core: 0, cycle, gap: 20 }) => assert_eq!(cycle, MAX_TIME - 10),
        other => panic!("expected a time overflow, got {other:?}"),
    }
}

#[test]
fn the_scan_ring_holds_a_batch_and_no_more() {
    let mut f = Frames::default();
    for i in 0..ahead::KNOWN as u32 {
        assert!(f.push_back(i));
    }
    assert!(!f.push_back(9), "full");
    assert_eq!(f.pop_front(), Some(0));
    assert!(f.push_back(9), "room again");
    assert_eq!(f.front(), Some(1));
    f.clear();
    assert_eq!(f.pop_front(), None);
}

/// Counts what it is told; checks lines (and so sees them) when asked to.
#[derive(Default)]
struct Counting {
    checks: bool,
    notes: usize,
    inputs: usize,
}

impl Observer for Counting {
    fn notes(&mut self, _cycle: Cycle, notes: &[Note], _view: View) -> Result<(), Finding> {
        self.notes += notes.len();
        Ok(())
    }
    fn checks_lines(&self) -> bool {
        self.checks
    }
    fn after_input(&mut self, _line: LineAddr, _view: View) -> Result<(), Finding> {
        self.inputs += 1;
        Ok(())
    }
}

#[test]
fn observers_compose_and_are_told_alike() {
    let steps = || vec![vec![load(0, 0x40), load(0, 0x1040)], vec![load(3, 0x40)]];
    let pair = (Some(Counting::default()), Some(Counting { checks: true, ..Counting::default() }));
    let mut sim = Simulator::with_observer(machine(2), RunOptions::default(), pair);
    sim.run(&mut Log::new(steps())).unwrap();
    let (a, b) = (sim.observer.0.as_ref().unwrap(), sim.observer.1.as_ref().unwrap());
    assert!(a.notes > 0 && a.notes == b.notes, "{} {}", a.notes, b.notes);
    assert_eq!(a.inputs, 0, "only an observer that checks lines is asked to");
    assert!(b.inputs > 0);
    assert!(sim.line_checks && sim.watched && !sim.every_access);
    // Nothing watching: `()`.
    let mut quiet = Simulator::with_observer(machine(2), RunOptions::default(), ());
    quiet.run(&mut Log::new(steps())).unwrap();
    assert!(!quiet.watched);
    assert_eq!(quiet.stats, sim.stats, "observers change nothing");
    // And `check_all` refuses to pass with nothing to check.
    assert!(matches!(quiet.check_all(), Err(SimError::NothingChecks)));
}

#[test]
fn the_cycle_limit_stops_running_cores_only() {
    // Core 0 stores, core 1 loads it 500 cycles later; the last core finishes
    // at `cycles`, with traffic (a copy to the directory) still in flight. A
    // limit at that cycle lets the run finish; one cycle less stops it.
    let steps = || {
        let store = Step::access(0, Access { addr: 0x1000, op: MemOp::Store(1) });
        vec![vec![store], vec![load(500, 0x1000)]]
    };
    let mut free = Simulator::new(machine(2), RunOptions::default());
    free.run(&mut Log::new(steps())).unwrap();
    let end = free.stats.cycles;
    let opts = |limit| RunOptions { max_cycles: Some(limit), ..Default::default() };
    let mut at = Simulator::new(machine(2), opts(end));
    at.run(&mut Log::new(steps())).unwrap();
    assert_eq!(at.stats, free.stats);
    let mut before = Simulator::new(machine(2), opts(end - 1));
    assert!(matches!(before.run(&mut Log::new(steps())), Err(SimError::CycleLimit { .. })));
    // Compute alone past the limit is stopped too.
    let mut long = Simulator::new(machine(1), opts(1000));
    assert!(matches!(long.run(&mut Log::new(vec![vec![Step::Compute(100_000)]])), Err(SimError::CycleLimit { .. })));
}
