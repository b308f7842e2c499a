//! When something goes wrong, saying what: the watchdog, the report of every
//! stuck transaction, a line's states and history, and invariant checks on
//! demand (`check_all`).

use super::*;

impl<O: Observer> Simulator<O> {
    pub(super) fn watchdog(&self) -> Result<(), SimError> {
        let limit = self.cfg.watchdog_cycles;
        for (c, core) in self.cores.iter().enumerate() {
            if let CoreStatus::Waiting(since) | CoreStatus::Blocked(since) = core.status
                && self.now.saturating_sub(since) > limit
            {
                return Err(SimError::Watchdog {
                    cycle: self.now,
                    what: format!(
                        "watchdog: core {c}'s request has been outstanding for more than {limit} cycles (since cycle {since})"
                    ),
                    report: self.stuck_report(),
                });
            }
        }
        Ok(())
    }

    /// Where every core is: its state, clock, steps taken, and the access it has
    /// in hand or outstanding with its line's state.
    pub fn cores_report(&self) -> String {
        let mut s = String::new();
        for (c, core) in self.cores.iter().enumerate() {
            let status = match core.status {
                CoreStatus::Ready => "ready".to_string(),
                CoreStatus::Waiting(since) => format!("waiting since cycle {since}"),
                CoreStatus::Blocked(since) => format!("blocked since cycle {since}"),
                CoreStatus::Done => "done".to_string(),
            };
            s += &format!("  core {c}: {status}, clock {}, {} steps taken", core.time, core.taken);
            let l1 = &self.l1s[c];
            let access = self.l1s[c].mshr.as_ref().map(|m| m.access).or(core.deferred.map(|(a, _)| a));
            if let Some(a) = access {
                let line = l1.line_of(a.addr);
                s += &format!("; {:?} at {:#x}, line in {}", a.op, a.addr, l1.state_of(line).name());
            }
            s += "\n";
        }
        s
    }

    /// Every stuck transaction: cores waiting, transient lines, stalled inputs.
    pub fn stuck_report(&self) -> String {
        let mut s = String::new();
        for (c, core) in self.cores.iter().enumerate() {
            match core.status {
                CoreStatus::Waiting(since) | CoreStatus::Blocked(since) => {
                    let what = if matches!(core.status, CoreStatus::Blocked(_)) { "blocked" } else { "waiting" };
                    let mshr = self.l1s[c].mshr.as_ref();
                    s += &format!(
                        "  core {c}: {what} since cycle {since}; MSHR: {}\n",
                        mshr.map_or("empty".to_string(), |m| format!(
                            "line {:#x} {:?} in {}, acks due {}",
                            m.line,
                            m.access.op,
                            self.l1s[c].state_of(m.line).name(),
                            m.acks
                        ))
                    );
                }
                _ => {}
            }
            for (line, state) in self.l1s[c].transients() {
                s += &format!("  L1[{c}] line {line:#x} in {} (waits for {})\n", state.name(), state.waits_for());
            }
        }
        for d in &self.dirs {
            for (line, state) in d.transients() {
                s += &format!(
                    "  Dir[{}] line {line:#x} in {} (waits for the old owner's data)\n",
                    d.spec.slice,
                    state.name()
                );
            }
        }
        let mut stalled: Vec<_> = self.stalled.iter().filter(|(_, q)| !q.is_empty()).collect();
        stalled.sort_by_key(|(k, _)| **k);
        for ((node, line), q) in stalled {
            for m in q {
                s += &format!("  node {node} line {line:#x}: stalled {} from node {}\n", m.kind.name(), m.src);
            }
        }
        s += &format!("  {} messages in flight\n", self.to_l1.len() + self.to_dir.len());
        for (m, _) in self.to_l1.iter().chain(self.to_dir.iter()) {
            s += &format!("    {} line {:#x} from node {} to node {}\n", m.kind.name(), m.line, m.src, m.dst);
        }
        s
    }

    /// The states of every cache and the directory for a line, and its history.
    pub fn line_report(&self, line: LineAddr) -> String {
        let mut s = format!("line {line:#x} (address {:#x}):\n", line * self.line_bytes);
        for l1 in &self.l1s {
            let st = l1.state_of(line);
            if st != crate::protocol::l1_table::L1State::I {
                s += &format!("  L1[{}]: {}\n", l1.spec.core, st.name());
            }
        }
        let d = &self.dirs[(line % self.dirs.len() as u64) as usize];
        let e = d.entry(line);
        s += &format!("  Dir[{}]: {} owner {:?} sharers {:?}\n", d.spec.slice, e.state.name(), e.owner, e.sharers);
        let history = self.observer.history(line);
        if self.line_checks || !history.is_empty() {
            s += "  recent events on this line:\n";
            for h in history {
                s += &format!("    {h}\n");
            }
        }
        s
    }

    /// Check every line any cache holds now with the observers that check lines
    /// (the invariant checker: SWMR and data values). Without one, an error: a
    /// check that checks nothing must not pass.
    pub fn check_all(&mut self) -> Result<(), SimError> {
        if !self.line_checks {
            return Err(SimError::NothingChecks);
        }
        let mut lines: Vec<LineAddr> = self
            .l1s
            .iter()
            .flat_map(|l1| l1.array.valid_frames().map(|(_, f)| f.line).chain(l1.wb.iter().map(|e| e.line)))
            .collect();
        lines.sort_unstable();
        lines.dedup();
        for line in lines {
            self.check_line(line)?;
        }
        Ok(())
    }

    pub(super) fn check_line(&mut self, line: LineAddr) -> Result<(), SimError> {
        let view = View { l1s: &self.l1s, line_bytes: self.line_bytes };
        match self.observer.after_input(line, view).err() {
            Some(Finding { what, line }) => Err(self.violation(what, line)),
            None => Ok(()),
        }
    }

    pub(super) fn violation(&self, what: String, line: LineAddr) -> SimError {
        SimError::Invariant { cycle: self.now, what, report: self.line_report(line) }
    }

    pub(super) fn protocol_error(&self, error: ProtocolError) -> SimError {
        let report = self.line_report(error.line);
        SimError::Protocol { cycle: self.now, error, report }
    }
}
