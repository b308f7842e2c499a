//! One actor run on the machine, the setup every message-passing app shares:
//! a shared counter and the mailbox rings in simulated memory, the harness
//! (`exec::net::Net`) with the fault plan and the clocks, the actor on every
//! core, and the machine with the invariant checker and the per-core message
//! counts beside it. Each app then reads what it grades from the result.

use std::rc::Rc;

use crate::config::SystemConfig;
use crate::engine::{RunOptions, SimError, Simulator};
use crate::exec::actor::{self, Net, OnCore};
use crate::exec::alloc::Alloc;
use crate::exec::clock::ClockSpec;
use crate::exec::cost::{self, ByCore};
use crate::exec::fault::Plan;
use crate::exec::mailbox::Layout;
use crate::exec::{Programs, SwEvent};
use crate::model::network::Cycle;
use crate::stats::timeline::{Timeline, TimelineSpec};
use crate::verify::invariants::Checker;

/// How an actor run is set up.
#[derive(Clone, Debug)]
pub struct Setup {
    /// Slots per mailbox ring.
    pub slots: u64,
    /// Lines per slot.
    pub slot_lines: u64,
    /// Cycles of work in a critical section (mutual exclusion apps; 0 else).
    pub cs_cycles: Cycle,
    /// The run ends as stalled after this many cycles without progress.
    pub stall: Cycle,
    /// One clock per core (`None`: perfect clocks).
    pub clocks: Option<Vec<ClockSpec>>,
    pub faults: Plan,
    /// Coherence network jitter.
    pub jitter: Option<Cycle>,
    pub max_cycles: Option<Cycle>,
    /// The run ends at this cycle even if a process has not finished.
    pub deadline: Option<Cycle>,
    /// Cycles a durable write (`Save`) takes.
    pub save_cycles: Cycle,
    /// Record a timeline of the run (machine and software).
    pub timeline: Option<TimelineSpec>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            slots: 16,
            slot_lines: 1,
            cs_cycles: 0,
            stall: 100_000,
            clocks: None,
            faults: Plan::default(),
            jitter: None,
            max_cycles: None,
            deadline: None,
            save_cycles: 0,
            timeline: None,
        }
    }
}

/// What a finished run leaves to grade.
pub struct Finished {
    pub net: Rc<Net>,
    pub sim: Simulator<((Checker, ByCore), Option<Timeline>)>,
    /// The timeline, with the critical sections and software messages, when
    /// one was asked for.
    pub timeline: Option<Timeline>,
    /// The software events the programs reported (sections entered and left).
    pub events: Vec<SwEvent>,
    /// The shared counter's address.
    pub counter: u64,
}

impl Finished {
    /// The shared counter's final value (the checker's golden memory).
    pub fn counter_value(&self) -> u64 {
        self.sim.observer().0.0.golden(self.counter)
    }
}

/// Runs `actor` on every core of `cfg` as `setup` says; a hardware failure
/// (protocol, invariant, cycle limit) is an error.
pub fn run<A>(cfg: &SystemConfig, actor: A, setup: &Setup) -> Result<Finished, SimError>
where
    A: OnCore + 'static,
    A::Msg: serde::Serialize + serde::de::DeserializeOwned,
{
    let cores = cfg.cores;
    let line = u64::from(cfg.l1.line);
    let mut mem = Alloc::new(0x10_0000, line);
    let counter = mem.word();
    let layout = Layout::new(mem.lines(0), line, cores, setup.slots, setup.slot_lines);
    let counts = cost::counts(cores);
    let mut net =
        Net::new(layout, cores, setup.faults.clone(), cfg.seed, counts.clone(), counter, setup.cs_cycles, setup.stall);
    net = net.with_deadline(setup.deadline, setup.save_cycles);
    if let Some(specs) = &setup.clocks {
        net = net.with_clocks(specs);
    }
    let net = Rc::new(net);
    let actor = Rc::new(actor);
    let mut programs = Programs::new(cores, |ctx| actor::run(ctx, actor.clone(), net.clone()));
    programs.faults = setup.faults.clone();
    let opts = RunOptions { jitter: setup.jitter, max_cycles: setup.max_cycles, ..Default::default() };
    let timeline = setup.timeline.map(|spec| Timeline::new(spec, cores, cfg.directory.slices));
    let mut sim = Simulator::with_observer(cfg.clone(), opts, ((Checker::new(cores), ByCore(counts)), timeline));
    sim.run(&mut programs)?;
    let events = std::mem::take(&mut programs.events);
    drop(programs);
    let mut timeline = sim.observer_mut().1.take();
    if let Some(t) = timeline.as_mut() {
        t.add_sections(&events);
        t.add_messages(&net.log.borrow());
    }
    Ok(Finished { net, sim, timeline, events, counter })
}
