//! Faults of the software on the cores (silicon does not fail) and of the
//! messages it sends through mailboxes. A plan is a list of them, written on
//! the command line as `--fault KIND:...` or in a TOML file (`--faults FILE`):
//!
//! | on the command line         | what happens                                                    |
//! |-----------------------------|-----------------------------------------------------------------|
//! | `crash:C@T`                 | core C's program stops at cycle T; its cache keeps answering    |
//! | `crash:C@T+D`               | core C's program stops at T and restarts D cycles later with only what it saved (crash-recovery) |
//! | `pause:C@T+D`               | core C does nothing from cycle T for D cycles (looks dead)      |
//! | `drop:F>T#K`                | the K-th message from F to T (1-based) is lost; `*` for any core: the K-th of every pair it matches |
//! | `drop:P`                    | each message is lost with probability P                         |
//! | `dup:F>T#K`, `dup:P`        | a message is written twice                                      |
//! | `delay:P+D`                 | each message, with probability P, waits 1..=D cycles at its sender |
//! | `partition:A>B@T+D`         | messages from cores A (a list: `0,1`) to cores B are lost from T for D cycles (one way) |
//!
//! ```toml
//! [[fault]]
//! kind = "crash"     # crash, pause (+ cycles), drop, dup, delay, partition
//! core = 1
//! at = 3000
//! [[fault]]
//! kind = "drop"
//! from = 0           # drop and dup: from, to (optional: any) and nth, or p
//! to = 2
//! nth = 1
//! [[fault]]
//! kind = "partition"
//! from = [0, 1]
//! to = [2]
//! at = 1000
//! cycles = 5000
//! ```
//! Message faults are applied at the sender's mailbox, seeded by the run's
//! seed: the same plan and seed lose the same messages.

use std::fmt;

use crate::model::network::Cycle;
use crate::rng::SplitMix64;

/// Which messages a drop or a duplication hits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pick {
    /// The `nth` message (from 1) sent from `from` to `to` (`None`: any core),
    /// counted per pair.
    Nth { from: Option<usize>, to: Option<usize>, nth: u64 },
    /// Each message with this probability.
    Chance(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Core `core`'s program stops at cycle `at`.
    Crash {
        core: usize,
        at: Cycle,
    },
    /// Core `core`'s program stops at cycle `at` and restarts `cycles` later:
    /// its volatile state is lost, what it saved is kept (crash-recovery).
    Restart {
        core: usize,
        at: Cycle,
        cycles: Cycle,
    },
    /// Core `core` does nothing from cycle `at` for `cycles` cycles.
    Pause {
        core: usize,
        at: Cycle,
        cycles: Cycle,
    },
    Drop(Pick),
    Duplicate(Pick),
    /// Each message, with probability `p`, waits 1..=`cycles` at its sender.
    Delay {
        p: f64,
        cycles: Cycle,
    },
    /// Messages from `from` to `to` are lost in `at..at + cycles`.
    Partition {
        from: Vec<usize>,
        to: Vec<usize>,
        at: Cycle,
        cycles: Cycle,
    },
}

fn any(core: &Option<usize>) -> String {
    core.map_or("*".to_string(), |c| c.to_string())
}

fn list(cores: &[usize]) -> String {
    cores.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

impl fmt::Display for Pick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pick::Nth { from, to, nth } => write!(f, "{}>{}#{nth}", any(from), any(to)),
            Pick::Chance(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash { core, at } => write!(f, "crash:{core}@{at}"),
            Fault::Restart { core, at, cycles } => write!(f, "crash:{core}@{at}+{cycles}"),
            Fault::Pause { core, at, cycles } => write!(f, "pause:{core}@{at}+{cycles}"),
            Fault::Drop(pick) => write!(f, "drop:{pick}"),
            Fault::Duplicate(pick) => write!(f, "dup:{pick}"),
            Fault::Delay { p, cycles } => write!(f, "delay:{p}+{cycles}"),
            Fault::Partition { from, to, at, cycles } => {
                write!(f, "partition:{}>{}@{at}+{cycles}", list(from), list(to))
            }
        }
    }
}

const EXPECTED: &str = "expected crash:CORE@CYCLE, crash:CORE@CYCLE+CYCLES, pause:CORE@CYCLE+CYCLES, drop:FROM>TO#N, drop:P, \
    dup:FROM>TO#N, dup:P, delay:P+CYCLES or partition:CORES>CORES@CYCLE+CYCLES";

impl Fault {
    /// Parses one fault (see the module's table) for a machine of `cores` cores.
    pub fn parse(s: &str, cores: usize) -> Result<Fault, String> {
        let bad = |why: &str| format!("{s:?}: {why} ({EXPECTED})");
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no kind"))?;
        let core = |t: &str| -> Result<usize, String> {
            let c: usize = t.trim().parse().map_err(|_| bad(&format!("the core {:?} is not a number", t.trim())))?;
            if c >= cores {
                return Err(bad(&format!("core {c} does not exist (cores 0..{cores})")));
            }
            Ok(c)
        };
        let number =
            |t: &str, what: &str| t.trim().parse::<Cycle>().map_err(|_| bad(&format!("{what} is not a number")));
        let span = |t: &str| -> Result<(Cycle, Cycle), String> {
            let (at, cycles) = t.split_once('+').ok_or_else(|| bad("no +CYCLES"))?;
            let cycles = number(cycles, "the span")?;
            if cycles == 0 {
                return Err(bad("a span of 0 cycles"));
            }
            Ok((number(at, "the cycle")?, cycles))
        };
        let chance = |t: &str| -> Result<f64, String> {
            let p: f64 = t.trim().parse().map_err(|_| bad("the probability is not a number"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(bad(&format!("the probability {p} is outside 0..1")));
            }
            Ok(p)
        };
        let pick = |t: &str| -> Result<Pick, String> {
            let Some((pair, nth)) = t.split_once('#') else { return Ok(Pick::Chance(chance(t)?)) };
            let (from, to) = pair.split_once('>').ok_or_else(|| bad("no FROM>TO"))?;
            let side = |t: &str| if t.trim() == "*" { Ok(None) } else { core(t).map(Some) };
            let nth = number(nth, "the message number")?;
            if nth == 0 {
                return Err(bad("messages are numbered from 1"));
            }
            Ok(Pick::Nth { from: side(from)?, to: side(to)?, nth })
        };
        let cores_of = |t: &str| -> Result<Vec<usize>, String> {
            let listed: Vec<&str> = t.split(',').filter(|c| !c.trim().is_empty()).collect();
            if listed.is_empty() {
                return Err(bad("a partition side names no core"));
            }
            listed.into_iter().map(core).collect()
        };
        match kind.trim() {
            "crash" => {
                let (c, when) = rest.split_once('@').ok_or_else(|| bad("no @CYCLE"))?;
                if when.contains('+') {
                    let (at, cycles) = span(when)?;
                    return Ok(Fault::Restart { core: core(c)?, at, cycles });
                }
                Ok(Fault::Crash { core: core(c)?, at: number(when, "the cycle")? })
            }
            "pause" => {
                let (c, when) = rest.split_once('@').ok_or_else(|| bad("no @CYCLE"))?;
                let (at, cycles) = span(when)?;
                Ok(Fault::Pause { core: core(c)?, at, cycles })
            }
            "drop" => Ok(Fault::Drop(pick(rest)?)),
            "dup" => Ok(Fault::Duplicate(pick(rest)?)),
            "delay" => {
                let (p, cycles) = rest.split_once('+').ok_or_else(|| bad("no +CYCLES"))?;
                let cycles = number(cycles, "the delay")?;
                if cycles == 0 {
                    return Err(bad("a delay of 0 cycles"));
                }
                Ok(Fault::Delay { p: chance(p)?, cycles })
            }
            "partition" => {
                let (sides, when) = rest.split_once('@').ok_or_else(|| bad("no @CYCLE"))?;
                let (from, to) = sides.split_once('>').ok_or_else(|| bad("no CORES>CORES"))?;
                let (at, cycles) = span(when)?;
                Ok(Fault::Partition { from: cores_of(from)?, to: cores_of(to)?, at, cycles })
            }
            other => Err(bad(&format!("unknown fault {other:?}"))),
        }
    }

    /// A fault of messages (it needs an app that sends them).
    pub fn is_message_fault(&self) -> bool {
        !matches!(self, Fault::Crash { .. } | Fault::Restart { .. } | Fault::Pause { .. })
    }
}

/// What the plan says of core `core` at cycle `now`: run, stop for good, or
/// wait this many cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Run,
    Crashed,
    Wait(Cycle),
}

/// What becomes of one message: how many copies are written (0: lost) and how
/// long it waits at its sender first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fate {
    pub copies: u32,
    pub delay: Cycle,
}

/// A core list in a TOML plan: one core or several.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Cores {
    One(usize),
    Many(Vec<usize>),
}

impl Cores {
    fn spec(&self) -> String {
        match self {
            Cores::One(c) => c.to_string(),
            Cores::Many(cs) => list(cs),
        }
    }
}

/// One fault as a TOML file writes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultEntry {
    kind: String,
    core: Option<usize>,
    at: Option<Cycle>,
    cycles: Option<Cycle>,
    from: Option<Cores>,
    to: Option<Cores>,
    nth: Option<u64>,
    p: Option<f64>,
}

impl FaultEntry {
    /// The entry as the command line writes it (then parsed alike).
    fn spec(&self) -> Result<String, String> {
        let need = |v: Option<String>, what: &str| v.ok_or_else(|| format!("a {} fault needs `{what}`", self.kind));
        let core = || need(self.core.map(|c| c.to_string()), "core");
        let at = || need(self.at.map(|c| c.to_string()), "at");
        let cycles = || need(self.cycles.map(|c| c.to_string()), "cycles");
        let side = |c: &Option<Cores>| c.as_ref().map_or("*".to_string(), Cores::spec);
        let pick = || match (self.nth, self.p) {
            (Some(n), None) => Ok(format!("{}>{}#{n}", side(&self.from), side(&self.to))),
            (None, Some(p)) => Ok(p.to_string()),
            _ => Err(format!("a {} fault needs either `nth` or `p`", self.kind)),
        };
        Ok(match self.kind.as_str() {
            "crash" => match self.cycles {
                Some(c) => format!("crash:{}@{}+{c}", core()?, at()?),
                None => format!("crash:{}@{}", core()?, at()?),
            },
            "pause" => format!("pause:{}@{}+{}", core()?, at()?, cycles()?),
            "drop" | "dup" => format!("{}:{}", self.kind, pick()?),
            "delay" => format!("delay:{}+{}", need(self.p.map(|p| p.to_string()), "p")?, cycles()?),
            "partition" => format!(
                "partition:{}>{}@{}+{}",
                need(self.from.as_ref().map(Cores::spec), "from")?,
                need(self.to.as_ref().map(Cores::spec), "to")?,
                at()?,
                cycles()?
            ),
            other => {
                return Err(format!("unknown kind {other:?} (crash, pause, drop, dup, delay or partition)"));
            }
        })
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    fault: Vec<FaultEntry>,
}

/// The faults of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub faults: Vec<Fault>,
}

impl Plan {
    pub fn verdict(&self, core: usize, now: Cycle) -> Verdict {
        let mut v = Verdict::Run;
        for f in &self.faults {
            match *f {
                Fault::Crash { core: c, at } if c == core && now >= at => return Verdict::Crashed,
                Fault::Pause { core: c, at, cycles } | Fault::Restart { core: c, at, cycles }
                    if c == core && now >= at && now < at.saturating_add(cycles) =>
                {
                    v = Verdict::Wait(at.saturating_add(cycles) - now)
                }
                _ => {}
            }
        }
        v
    }

    /// What becomes of the `nth` message (from 1) from `from` to `to`, sent at
    /// `now`; `rng` is the sender's (drawn from only for faults of chance).
    pub fn fate(&self, from: usize, to: usize, nth: u64, now: Cycle, rng: &mut SplitMix64) -> Fate {
        let mut fate = Fate { copies: 1, delay: 0 };
        let hits = |pick: &Pick, rng: &mut SplitMix64| match *pick {
            Pick::Nth { from: f, to: t, nth: k } => {
                f.is_none_or(|f| f == from) && t.is_none_or(|t| t == to) && k == nth
            }
            Pick::Chance(p) => unit(rng) < p,
        };
        for f in &self.faults {
            match f {
                Fault::Drop(pick) if hits(pick, rng) => fate.copies = 0,
                Fault::Duplicate(pick) if hits(pick, rng) && fate.copies > 0 => fate.copies = 2,
                Fault::Delay { p, cycles } if unit(rng) < *p => fate.delay = 1 + rng.below(*cycles),
                Fault::Partition { from: a, to: b, at, cycles }
                    if a.contains(&from) && b.contains(&to) && now >= *at && now < at.saturating_add(*cycles) =>
                {
                    fate.copies = 0
                }
                _ => {}
            }
        }
        fate
    }

    /// Reads a TOML plan (`[[fault]]` tables) for a machine of `cores` cores;
    /// an error names what is wrong and where.
    pub fn from_toml(text: &str, cores: usize) -> Result<Plan, String> {
        let file: PlanFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))?;
        let mut faults = Vec::new();
        for (i, f) in file.fault.iter().enumerate() {
            let spec = f.spec().map_err(|e| format!("fault {}: {e}", i + 1))?;
            faults.push(Fault::parse(&spec, cores).map_err(|e| format!("fault {}: {e}", i + 1))?);
        }
        Ok(Plan { faults })
    }

    /// Whether core `core` restarted (a crash-recovery span ended) in
    /// `since..=now`: its program must start again from what it saved.
    pub fn restarted(&self, core: usize, since: Cycle, now: Cycle) -> bool {
        self.faults.iter().any(|f| match *f {
            Fault::Restart { core: c, at, cycles } => {
                let back = at.saturating_add(cycles);
                c == core && since < back && back <= now
            }
            _ => false,
        })
    }

    /// When core `core` crashes for good, if it does.
    pub fn crash_stop(&self, core: usize) -> Option<Cycle> {
        self.faults
            .iter()
            .filter_map(|f| match *f {
                Fault::Crash { core: c, at } if c == core => Some(at),
                _ => None,
            })
            .min()
    }

    /// The cores that crash.
    pub fn crashing(&self) -> usize {
        self.faults.iter().filter(|f| matches!(f, Fault::Crash { .. })).count()
    }

    /// Whether any fault is of messages.
    pub fn has_message_faults(&self) -> bool {
        self.faults.iter().any(Fault::is_message_fault)
    }
}

/// A uniform draw in [0, 1) from 53 random bits.
fn unit(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_bad_ones_name_what_is_wrong() {
        assert_eq!(Fault::parse("crash:2@1000", 4), Ok(Fault::Crash { core: 2, at: 1000 }));
        assert_eq!(Fault::parse("pause:0@50+200", 4), Ok(Fault::Pause { core: 0, at: 50, cycles: 200 }));
        for (s, why) in [
            ("crash:4@10", "does not exist"),
            ("crash:1", "no @CYCLE"),
            ("pause:1@10", "no +CYCLES"),
            ("pause:1@10+0", "0 cycles"),
            ("melt:1@10", "unknown fault"),
            ("crash:x@10", "not a number"),
        ] {
            let e = Fault::parse(s, 4).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }

    #[test]
    fn plans_read_from_toml_and_name_what_is_wrong() {
        let text = "[[fault]]\nkind = \"crash\"\ncore = 1\nat = 100\n[[fault]]\nkind = \"pause\"\ncore = 0\nat = 10\ncycles = 5\n";
        let plan = Plan::from_toml(text, 2).unwrap();
        assert_eq!(plan.faults, [Fault::Crash { core: 1, at: 100 }, Fault::Pause { core: 0, at: 10, cycles: 5 }]);
        for (text, why) in [
            ("[[fault]]\nkind = \"crash\"\ncore = 5\nat = 1\n", "fault 1: "),
            ("[[fault]]\nkind = \"pause\"\ncore = 0\nat = 1\n", "needs `cycles`"),
            ("[[fault]]\nkind = \"melt\"\ncore = 0\nat = 1\n", "unknown kind"),
            ("[[fault]]\nkind = \"crash\"\ncore = 0\nwhen = 1\n", "when"),
        ] {
            let e = Plan::from_toml(text, 2).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }

    #[test]
    fn a_crash_with_a_span_restarts_the_core() {
        let f = Fault::parse("crash:1@100+50", 2).unwrap();
        assert_eq!(f, Fault::Restart { core: 1, at: 100, cycles: 50 });
        assert_eq!(f.to_string(), "crash:1@100+50");
        assert!(Fault::parse("crash:1@100+0", 2).unwrap_err().contains("0 cycles"));
        let plan = Plan { faults: vec![f] };
        // Down in 100..150, as a pause; back at 150.
        assert_eq!(plan.verdict(1, 99), Verdict::Run);
        assert_eq!(plan.verdict(1, 120), Verdict::Wait(30));
        assert_eq!(plan.verdict(1, 150), Verdict::Run);
        assert!(!plan.restarted(1, 0, 149));
        assert!(plan.restarted(1, 149, 150));
        assert!(!plan.restarted(1, 150, 400));
        assert!(!plan.restarted(0, 0, 400));
        assert_eq!(plan.crash_stop(1), None);
        let toml = "[[fault]]\nkind = \"crash\"\ncore = 1\nat = 100\ncycles = 50\n";
        assert_eq!(Plan::from_toml(toml, 2).unwrap(), plan);
    }

    #[test]
    fn a_plan_stops_and_pauses_cores_at_their_cycles() {
        let plan =
            Plan { faults: vec![Fault::Crash { core: 1, at: 100 }, Fault::Pause { core: 0, at: 10, cycles: 5 }] };
        assert_eq!(plan.verdict(1, 99), Verdict::Run);
        assert_eq!(plan.verdict(1, 100), Verdict::Crashed);
        assert_eq!(plan.verdict(0, 12), Verdict::Wait(3));
        assert_eq!(plan.verdict(0, 15), Verdict::Run);
        assert_eq!(plan.crashing(), 1);
    }

    #[test]
    fn message_faults_parse_and_bad_ones_name_the_setting() {
        let nth = |from, to, nth| Pick::Nth { from, to, nth };
        assert_eq!(Fault::parse("drop:0>2#3", 4), Ok(Fault::Drop(nth(Some(0), Some(2), 3))));
        assert_eq!(Fault::parse("dup:*>1#1", 4), Ok(Fault::Duplicate(nth(None, Some(1), 1))));
        assert_eq!(Fault::parse("drop:0.25", 4), Ok(Fault::Drop(Pick::Chance(0.25))));
        assert_eq!(Fault::parse("delay:1+300", 4), Ok(Fault::Delay { p: 1.0, cycles: 300 }));
        assert_eq!(
            Fault::parse("partition:0,1>3@100+50", 4),
            Ok(Fault::Partition { from: vec![0, 1], to: vec![3], at: 100, cycles: 50 })
        );
        for s in ["drop:0>2#3", "dup:*>1#1", "delay:0.5+300", "partition:0,1>3@100+50"] {
            assert_eq!(Fault::parse(s, 4).unwrap().to_string(), s, "prints as it parses");
        }
        for (s, why) in [
            ("drop:1.5", "outside 0..1"),
            ("dup:-0.1", "outside 0..1"),
            ("delay:2+10", "outside 0..1"),
            ("drop:0>9#1", "core 9 does not exist"),
            ("drop:0>1#0", "numbered from 1"),
            ("partition:>1@0+10", "names no core"),
            ("partition:0>5@0+10", "core 5 does not exist"),
            ("partition:0>1@0", "no +CYCLES"),
            ("delay:0.5+0", "0 cycles"),
        ] {
            let e = Fault::parse(s, 4).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
        let toml = "[[fault]]\nkind = \"partition\"\nfrom = [0, 1]\nto = 2\nat = 5\ncycles = 9\n\
                    [[fault]]\nkind = \"drop\"\nto = 1\nnth = 2\n[[fault]]\nkind = \"dup\"\np = 0.5\n";
        let plan = Plan::from_toml(toml, 3).unwrap();
        assert_eq!(plan.faults[0], Fault::Partition { from: vec![0, 1], to: vec![2], at: 5, cycles: 9 });
        assert_eq!(plan.faults[1], Fault::Drop(nth(None, Some(1), 2)));
        assert_eq!(plan.faults[2], Fault::Duplicate(Pick::Chance(0.5)));
        assert!(plan.has_message_faults());
        let e = Plan::from_toml("[[fault]]\nkind = \"drop\"\np = 3.0\n", 3).unwrap_err();
        assert!(e.contains("fault 1") && e.contains("outside 0..1"), "{e}");
    }

    #[test]
    fn fates_follow_the_plan() {
        let mut rng = SplitMix64::new(7);
        let plan = Plan {
            faults: vec![
                Fault::parse("drop:0>1#2", 3).unwrap(),
                Fault::parse("dup:*>2#1", 3).unwrap(),
                Fault::parse("partition:2>0,1@100+10", 3).unwrap(),
            ],
        };
        let fate = |from, to, nth, now, rng: &mut SplitMix64| plan.fate(from, to, nth, now, rng).copies;
        assert_eq!(fate(0, 1, 1, 0, &mut rng), 1);
        assert_eq!(fate(0, 1, 2, 0, &mut rng), 0, "the second message 0 -> 1 is lost");
        assert_eq!(fate(0, 2, 2, 0, &mut rng), 1, "counted per pair");
        assert_eq!(fate(1, 2, 1, 0, &mut rng), 2, "the first message of every pair into 2 is doubled");
        assert_eq!(fate(2, 0, 5, 99, &mut rng), 1);
        assert_eq!(fate(2, 0, 5, 100, &mut rng), 0, "cut from cycle 100");
        assert_eq!(fate(2, 1, 5, 109, &mut rng), 0);
        assert_eq!(fate(2, 1, 5, 110, &mut rng), 1, "for 10 cycles");
        assert_eq!(fate(0, 2, 1, 105, &mut rng), 2, "one way only");
        // Chance: about p of many messages, and the same ones for the same seed.
        let half = Plan { faults: vec![Fault::parse("drop:0.5", 2).unwrap()] };
        let lost = |seed| {
            let mut rng = SplitMix64::new(seed);
            (1..=10_000).filter(|&k| half.fate(0, 1, k, 0, &mut rng).copies == 0).count()
        };
        assert_eq!(lost(3), lost(3));
        assert!((4_700..5_300).contains(&lost(3)), "{}", lost(3));
        let slow = Plan { faults: vec![Fault::parse("delay:1+40", 2).unwrap()] };
        let d = slow.fate(0, 1, 1, 0, &mut rng).delay;
        assert!((1..=40).contains(&d), "{d}");
    }
}
