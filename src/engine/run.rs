//! The event loop and each core's turn: the earliest message or ready core goes
//! next; a core takes its hits on the fast path up to the horizon `ahead` gives,
//! then issues its miss when it is the earliest thing in the system. Owns the
//! core side of time: compute gaps, hit latency, stall cycles, the bound on
//! simulated time.

use super::*;

/// The frame an access hits in: the scan's `known` frame if it still holds the
/// line (it must; checking costs one compare and keeps a slip from becoming a
/// wrong number), else a lookup.
#[inline(always)]
pub(super) fn hit_frame(known: Option<u32>, l1: &L1Controller, addr: u64, writes: bool) -> Option<usize> {
    match known {
        Some(idx) if idx != FILLED && l1.array.frame(idx as usize).line == l1.line_of(addr) => Some(idx as usize),
        _ => l1.hit_frame(addr, writes),
    }
}

/// Simulated time stays below this (order keys hold 53 bits of cycle; see
/// `stats::classify::order_key`). Trace readers refuse compute gaps that add
/// up past 2^52 per core; this catches any other front end.
pub const MAX_TIME: Cycle = 1 << 53;

/// `time + gap`, if it stays below [`MAX_TIME`].
#[inline(always)]
pub(super) fn later(time: Cycle, gap: Cycle) -> Option<Cycle> {
    time.checked_add(gap).filter(|&t| t < MAX_TIME)
}

#[cold]
pub(super) fn too_late(core: usize, cycle: Cycle, gap: Cycle) -> SimError {
    SimError::TimeOverflow { core, cycle, gap }
}

#[inline]
pub(super) fn count_access(s: &mut CoreStats, op: MemOp) {
    match op {
        MemOp::Load => s.loads += 1,
        MemOp::Store(_) => s.stores += 1,
        _ => s.atomics += 1,
    }
}

impl<O: Observer> Simulator<O> {
    /// Run until every core is done. Statistics are final afterwards. A finished
    /// simulator may run again with another front end: caches, directory and
    /// clocks carry over (tests use this to tamper with state between phases).
    pub fn run<F: Frontend + ?Sized>(&mut self, fe: &mut F) -> Result<(), SimError> {
        for c in 0..self.cores.len() {
            self.cores[c].taken = 0;
            self.cores[c].forget_scan();
            // A new front end: every core's future is new.
            self.stale(c);
            if self.cores[c].status == CoreStatus::Done {
                self.cores[c].status = CoreStatus::Ready;
                self.schedule_core(c, self.cores[c].time);
            }
        }
        loop {
            let next_msg = self.next_msg();
            let next_core = self.ready.peek();
            let take_msg = match (next_msg, next_core) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                // Within a cycle, messages first, then cores.
                (Some(m), Some(c)) => m.0 <= c.0,
            };
            let next = if take_msg { next_msg.map(|m| m.0) } else { next_core.map(|c| c.0) };
            // Past the limit only while a core still runs: traffic left in flight
            // after the last core finished (write-backs, copies) is drained.
            if next.is_some_and(|t| t > self.max_cycles) && self.cores.iter().any(|c| c.status != CoreStatus::Done) {
                return Err(SimError::CycleLimit { limit: self.max_cycles, report: self.cores_report() });
            }
            if take_msg {
                let (t, (msg, inject)) =
                    if self.to_l1.peek() == next_msg { self.to_l1.pop() } else { self.to_dir.pop() }.expect("peeked");
                self.now = t;
                self.unpend(&msg, t, inject);
                if inject {
                    // Links are reserved when a message really leaves, in time order.
                    let arrival = self.net.send(&msg, t);
                    self.schedule_msg(msg, arrival, false);
                } else {
                    self.deliver(msg)?;
                }
            } else {
                let (t, core) = self.ready.pop().expect("peeked");
                self.now = self.now.max(t);
                self.run_core(core as usize, fe)?;
            }
            // What completed reaches the front end between events, in order.
            if !self.completions.is_empty() {
                for (c, value) in self.completions.drain(..) {
                    fe.completed(c, value);
                }
            }
            self.events_since_watchdog += 1;
            if self.events_since_watchdog >= 1024 {
                self.events_since_watchdog = 0;
                self.watchdog()?;
            }
        }
        if let Some(c) = self.cores.iter().position(|c| c.status != CoreStatus::Done) {
            return Err(SimError::Watchdog {
                cycle: self.now,
                what: format!("deadlock: nothing left to happen but core {c} has not finished"),
                report: self.stuck_report(),
            });
        }
        self.finish();
        Ok(())
    }

    pub(super) fn run_core<F: Frontend + ?Sized>(&mut self, c: usize, fe: &mut F) -> Result<(), SimError> {
        if self.cores[c].status == CoreStatus::Done {
            self.unready(c);
            return Ok(());
        }
        let (hit_horizon, next_event) = self.hit_horizon(c, fe);
        if self.watched {
            // Without a next event the horizon is the next event: no hit runs ahead.
            self.observer.turn(self.now, next_event.unwrap_or(hit_horizon));
        }
        // A core that only hits (a spin loop) stops at the cycle limit too.
        let hit_horizon = hit_horizon.min(self.max_cycles.saturating_add(1));
        let ran = self.run_hits(c, fe, hit_horizon)?;
        if let Some(next_event) = next_event {
            self.judge_ahead(c, next_event);
        }
        let Some((access, reuse)) = ran else {
            return Ok(());
        };
        // A miss (or an access the fast path cannot take) at the core's time.
        let t = self.cores[c].time;
        let hit_latency = self.cfg.l1.hit_latency;
        // A miss goes out only when nothing that comes before it is pending anywhere.
        if !self.may_issue_miss(c, t) {
            self.cores[c].deferred = Some((access, reuse));
            self.schedule_core(c, t);
            return Ok(());
        }
        self.unready(c);
        self.now = self.now.max(t);
        let before = self.l1s[c].state_of(self.l1s[c].line_of(access.addr));
        self.outbox.clear();
        let outcome = self.l1s[c].access(access, &mut self.outbox);
        let outcome = outcome.map_err(|e| self.protocol_error(e))?;
        match outcome {
            AccessOutcome::Hit(_) => unreachable!("the fast path takes every hit"),
            AccessOutcome::Blocked => {
                self.cores[c].deferred = Some((access, reuse));
                self.cores[c].status = CoreStatus::Blocked(t);
                // Anything the L1 did before blocking (an eviction) still goes out.
                self.process_outbox(self.now + hit_latency, c as NodeId)?;
            }
            AccessOutcome::Miss => {
                let stats = &mut self.stats.cores[c];
                count_access(stats, access.op);
                if before.can_read() {
                    stats.upgrades += 1;
                } else {
                    stats.misses += 1;
                    if access.op.writes() {
                        stats.write_misses += 1;
                    } else {
                        stats.read_misses += 1;
                    }
                }
                self.observer.issued(c as u16, access, !before.can_read(), reuse, t);
                self.cores[c].status = CoreStatus::Waiting(t);
                self.process_outbox(self.now + hit_latency, c as NodeId)?;
            }
        }
        Ok(())
    }

    /// The fast path: take the core's steps while they hit in its L1 and its clock
    /// stays within `horizon`. Returns the first access that missed (or `None` when
    /// the core finished or yielded). Touches only this core's cache, counters and
    /// clock, and the observers.
    #[inline]
    pub(super) fn run_hits<F: Frontend + ?Sized>(
        &mut self,
        c: usize,
        fe: &mut F,
        horizon: Cycle,
    ) -> Result<Option<(Access, Reuse)>, SimError> {
        let hit_latency = self.cfg.l1.hit_latency;
        let wants_values = fe.wants_values();
        let l1 = &mut self.l1s[c];
        let stats = &mut self.stats.cores[c];
        let core = &mut self.cores[c];
        let mut time = core.time;
        let mut pending = core.deferred.take();
        // Plain loads and stores the front end offers directly, while they hit:
        // the same effects as the loop below, without building a `Step` each.
        let plain = !self.every_access && !wants_values;
        let observer = &mut self.observer;
        let telling = self.watched;
        let mut yielded = false;
        let mut found: Option<Finding> = None;
        let result = loop {
            if plain && pending.is_none() {
                fe.take_plain(c, |p| {
                    let at = time + p.gap;
                    if at >= horizon {
                        return false;
                    }
                    let writes = p.store.is_some();
                    let Some(idx) = hit_frame(core.known.front(), l1, p.addr, writes) else {
                        return false;
                    };
                    core.known.pop_front();
                    core.taken += 1;
                    stats.compute_cycles += p.gap;
                    l1.hit_plain(idx, p.addr, p.store);
                    if writes {
                        stats.stores += 1;
                    } else {
                        stats.loads += 1;
                    }
                    stats.hits += 1;
                    time = at + hit_latency;
                    // A load hit whose reuse the front end worked out tells no
                    // observer anything (see `Observer::sees_every_access`).
                    if telling && (writes || !p.reuse.is_known()) {
                        observer.plain_hit(c as u16, p.addr, writes, p.reuse, at);
                    }
                    true
                });
            }
            let (access, reuse) = match pending.take() {
                Some(a) => a,
                None => match fe.next(c, time) {
                    Err(e) => break Err(SimError::Frontend(e)),
                    Ok(Step::Access { gap, access, reuse }) => {
                        core.taken += 1;
                        let Some(t) = later(time, gap) else { break Err(too_late(c, time, gap)) };
                        time = t;
                        stats.compute_cycles += gap;
                        (access, reuse)
                    }
                    Ok(Step::Compute(g)) => {
                        core.taken += 1;
                        let Some(t) = later(time, g) else { break Err(too_late(c, time, g)) };
                        time = t;
                        stats.compute_cycles += g;
                        if time >= horizon {
                            // Past the horizon (or the cycle limit): take the core
                            // up again there, like a deferred access.
                            core.status = CoreStatus::Ready;
                            yielded = true;
                            break Ok(None);
                        }
                        continue;
                    }
                    Ok(Step::Fence) => {
                        core.taken += 1;
                        continue;
                    }
                    Ok(Step::Done) => {
                        core.taken += 1;
                        core.status = CoreStatus::Done;
                        break Ok(None);
                    }
                },
            };
            if time >= horizon {
                core.deferred = Some((access, reuse));
                core.status = CoreStatus::Ready;
                break Ok(None);
            }
            // The scan may already know the frame; otherwise look.
            let Some(idx) = hit_frame(core.known.pop_front(), l1, access.addr, access.op.writes()) else {
                break Ok(Some((access, reuse)));
            };
            let (loaded, stored) = l1.hit_at(idx, access);
            count_access(stats, access.op);
            stats.hits += 1;
            if telling {
                let (addr, op) = (access.addr, access.op);
                let line = l1.line_of(addr);
                let writes = stored.is_some();
                let hit = Hit { core: c as u16, addr, line, op, writes, loaded, stored, reuse, at: time };
                if let Err(f) = observer.hit(&hit) {
                    found = Some(f);
                    break Ok(None);
                }
            }
            if wants_values {
                fe.completed(c, loaded);
            }
            time += hit_latency;
        };
        core.time = time;
        if let Some(f) = found {
            return Err(self.violation(f.what, f.line));
        }
        if core.status == CoreStatus::Ready && (core.deferred.is_some() || yielded) {
            self.schedule_core(c, time);
        } else if core.status == CoreStatus::Done {
            self.unready(c);
        }
        result
    }

    pub(super) fn finish(&mut self) {
        // Execution time: when the last core finished. Traffic still in flight
        // then (a copy to the directory, a write-back) is counted but not timed.
        self.stats.cycles = self.cores.iter().map(|c| c.time).max().unwrap_or(0);
        self.stats.network_queueing_cycles = self.net.queueing_cycles;
        self.stats.memory_queueing_cycles = self.mem.iter().map(|m| m.queueing_cycles).sum();
        let mut dirty = 0;
        for l1 in &self.l1s {
            dirty += l1.array.valid_frames().filter(|(_, f)| f.dirty).count() as u64;
            dirty += l1.wb.iter().filter(|e| e.dirty).count() as u64;
        }
        self.stats.dirty_at_end = dirty;
        self.observer.finish(&mut self.stats);
    }
}
