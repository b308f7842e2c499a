//! Faults of the software on the cores (silicon does not fail): a core that
//! crashes at a cycle (its program stops; its cache keeps answering coherence
//! requests, as a real core's would while the machine runs), and a core paused
//! for a span of cycles (a slow core that looks dead). A plan is a list of them,
//! written on the command line as `--fault crash:C@T` and `--fault pause:C@T+D`,
//! or in a TOML file (`--faults FILE`):
//!
//! ```toml
//! [[fault]]
//! kind = "crash"     # or "pause", with `cycles`
//! core = 1
//! at = 3000
//! ```
//! Message faults (drop, duplicate, delay, partition) come with mailboxes.

use std::fmt;

use crate::model::network::Cycle;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Core `core`'s program stops at cycle `at`.
    Crash { core: usize, at: Cycle },
    /// Core `core` does nothing from cycle `at` for `cycles` cycles.
    Pause { core: usize, at: Cycle, cycles: Cycle },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Fault::Crash { core, at } => write!(f, "crash:{core}@{at}"),
            Fault::Pause { core, at, cycles } => write!(f, "pause:{core}@{at}+{cycles}"),
        }
    }
}

impl Fault {
    /// Parses `crash:C@T` or `pause:C@T+D` for a machine of `cores` cores.
    pub fn parse(s: &str, cores: usize) -> Result<Fault, String> {
        let expected = "expected crash:CORE@CYCLE or pause:CORE@CYCLE+CYCLES";
        let bad = |why: &str| format!("{s:?}: {why} ({expected})");
        let (kind, rest) = s.split_once(':').ok_or_else(|| bad("no kind"))?;
        let (core, when) = rest.split_once('@').ok_or_else(|| bad("no @CYCLE"))?;
        let core: usize = core.trim().parse().map_err(|_| bad("the core is not a number"))?;
        if core >= cores {
            return Err(bad(&format!("core {core} does not exist (cores 0..{cores})")));
        }
        let number =
            |t: &str, what: &str| t.trim().parse::<Cycle>().map_err(|_| bad(&format!("{what} is not a number")));
        match kind.trim() {
            "crash" => Ok(Fault::Crash { core, at: number(when, "the cycle")? }),
            "pause" => {
                let (at, cycles) = when.split_once('+').ok_or_else(|| bad("no +CYCLES"))?;
                let cycles = number(cycles, "the span")?;
                if cycles == 0 {
                    return Err(bad("a pause of 0 cycles"));
                }
                Ok(Fault::Pause { core, at: number(at, "the cycle")?, cycles })
            }
            other => Err(bad(&format!("unknown fault {other:?}"))),
        }
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

/// One fault as a TOML file writes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultEntry {
    kind: String,
    core: usize,
    at: Cycle,
    cycles: Option<Cycle>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    fault: Vec<FaultEntry>,
}

/// The faults of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub faults: Vec<Fault>,
}

impl Plan {
    pub fn verdict(&self, core: usize, now: Cycle) -> Verdict {
        let mut v = Verdict::Run;
        for f in &self.faults {
            match *f {
                Fault::Crash { core: c, at } if c == core && now >= at => return Verdict::Crashed,
                Fault::Pause { core: c, at, cycles } if c == core && now >= at && now < at.saturating_add(cycles) => {
                    v = Verdict::Wait(at.saturating_add(cycles) - now)
                }
                _ => {}
            }
        }
        v
    }

    /// Reads a TOML plan (`[[fault]]` tables) for a machine of `cores` cores;
    /// an error names what is wrong and where.
    pub fn from_toml(text: &str, cores: usize) -> Result<Plan, String> {
        let file: PlanFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', " "))?;
        let mut faults = Vec::new();
        for (i, f) in file.fault.iter().enumerate() {
            let spec = match (f.kind.as_str(), f.cycles) {
                ("crash", None) => format!("crash:{}@{}", f.core, f.at),
                ("pause", Some(c)) => format!("pause:{}@{}+{c}", f.core, f.at),
                ("crash", Some(_)) => return Err(format!("fault {}: a crash takes no `cycles`", i + 1)),
                ("pause", None) => return Err(format!("fault {}: a pause needs `cycles`", i + 1)),
                (other, _) => return Err(format!("fault {}: unknown kind {other:?} (crash or pause)", i + 1)),
            };
            faults.push(Fault::parse(&spec, cores).map_err(|e| format!("fault {}: {e}", i + 1))?);
        }
        Ok(Plan { faults })
    }

    /// The cores that crash.
    pub fn crashing(&self) -> usize {
        self.faults.iter().filter(|f| matches!(f, Fault::Crash { .. })).count()
    }
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
    fn a_plan_stops_and_pauses_cores_at_their_cycles() {
        let plan =
            Plan { faults: vec![Fault::Crash { core: 1, at: 100 }, Fault::Pause { core: 0, at: 10, cycles: 5 }] };
        assert_eq!(plan.verdict(1, 99), Verdict::Run);
        assert_eq!(plan.verdict(1, 100), Verdict::Crashed);
        assert_eq!(plan.verdict(0, 12), Verdict::Wait(3));
        assert_eq!(plan.verdict(0, 15), Verdict::Run);
        assert_eq!(plan.crashing(), 1);
    }
}
