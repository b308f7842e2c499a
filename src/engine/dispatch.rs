//! Messages into controllers, and what the controllers produce out to the
//! network, the memory channels and the observers: delivery, stalled inputs and
//! their retries, the directory port, and the notes every observer is told of.

use super::*;

impl<O: Observer> Simulator<O> {
    pub(super) fn deliver(&mut self, msg: Msg) -> Result<(), SimError> {
        let key = (msg.dst, msg.line);
        if msg.vnet() != Vnet::Response
            && !self.stalled.is_empty()
            && self.stalled.get(&key).is_some_and(|q| !q.is_empty())
        {
            self.stalled.get_mut(&key).expect("checked").push_back(msg);
            self.count_stalled(key.0, 1);
            return Ok(());
        }
        if self.handle(&msg)? == Handled::Stalled {
            self.stalled.entry(key).or_default().push_back(msg);
            self.count_stalled(key.0, 1);
            return Ok(());
        }
        if self.stalled.is_empty() {
            return Ok(());
        }
        self.retry_stalled(key)
    }

    /// An input was stalled at (`+1`) or taken back from (`-1`) `node`.
    pub(super) fn count_stalled(&mut self, node: NodeId, delta: i32) {
        if let Some(n) = self.stalled_at_l1.get_mut(node as usize) {
            *n = n.checked_add_signed(delta).expect("stalled inputs are counted");
            self.stale(node as usize);
        }
    }

    /// A controller stalled an input: count the (state, event) pair, nothing else.
    pub(super) fn count_stall(&mut self) {
        for note in self.outbox.notes.drain(..) {
            match note {
                Note::L1Transition { from, event, .. } => self.stats.count_l1_transition(from, event),
                Note::DirTransition { from, event, .. } => self.stats.count_dir_transition(from, event),
                _ => {}
            }
        }
    }

    /// Offer a node's stalled inputs for a line again, oldest first.
    pub(super) fn retry_stalled(&mut self, key: (NodeId, LineAddr)) -> Result<(), SimError> {
        loop {
            let Some(q) = self.stalled.get_mut(&key) else {
                return Ok(());
            };
            let Some(m) = q.pop_front() else {
                self.stalled.remove(&key);
                return Ok(());
            };
            self.count_stalled(key.0, -1);
            if self.handle(&m)? == Handled::Stalled {
                self.stalled.get_mut(&key).expect("still there").push_front(m);
                self.count_stalled(key.0, 1);
                return Ok(());
            }
        }
    }

    pub(super) fn handle(&mut self, msg: &Msg) -> Result<Handled, SimError> {
        let n = self.cfg.cores;
        let dst = msg.dst as usize;
        self.outbox.clear();
        if dst < n {
            let r = self.l1s[dst].handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                self.count_stall();
                return Ok(r);
            }
            self.stale(dst);
            self.process_outbox(self.now + self.cfg.l1.hit_latency, msg.dst)?;
            if let CoreStatus::Blocked(since) = self.cores[dst].status {
                let core = &mut self.cores[dst];
                core.status = CoreStatus::Ready;
                core.time = core.time.max(self.now);
                self.stats.cores[dst].stall_cycles += self.now.saturating_sub(since);
                let at = core.time;
                self.schedule_core(dst, at);
            }
        } else {
            let slice = dst - n;
            let r = self.dirs[slice].handle(msg, &mut self.outbox).map_err(|e| self.protocol_error(e))?;
            if r == Handled::Stalled {
                self.count_stall();
                return Ok(r);
            }
            let start = self.now.max(self.dir_free[slice]);
            self.dir_free[slice] = start + 1;
            self.process_outbox(start + self.cfg.directory.latency, msg.dst)?;
            if r == Handled::Deferred {
                // Acted on, not consumed: the caller queues it with the stalled.
                if self.line_checks {
                    self.check_line(msg.line)?;
                }
                return Ok(Handled::Stalled);
            }
        }
        if self.line_checks {
            self.check_line(msg.line)?;
        }
        Ok(Handled::Done)
    }

    /// Tells every observer of a controller's notes; a finding stops the run.
    fn tell(&mut self, notes: &[Note]) -> Result<(), SimError> {
        let view = View { l1s: &self.l1s, line_bytes: self.line_bytes };
        match self.observer.notes(self.now, notes, view).err() {
            Some(f) => Err(self.violation(f.what, f.line)),
            None => Ok(()),
        }
    }

    /// Send what a controller produced and tell the observers what it did. `at` is
    /// when the controller's outputs leave it.
    pub(super) fn process_outbox(&mut self, at: Cycle, node: NodeId) -> Result<(), SimError> {
        let n = self.cfg.cores;
        let notes = std::mem::take(&mut self.outbox.notes);
        let mut touched_line = None;
        let mut wake = false;
        if self.watched
            && let Err(e) = self.tell(&notes)
        {
            self.outbox.notes = notes;
            return Err(e);
        }
        for note in &notes {
            match *note {
                Note::L1Transition { core, from, event, line, to } => {
                    self.stats.count_l1_transition(from, event);
                    if narrows_hits(from, to) {
                        // What the core will hit (or its miss will leave) changed.
                        self.cores[core as usize].forget_scan();
                    }
                    touched_line = Some(line);
                }
                Note::DirTransition { from, event, line, .. } => {
                    self.stats.count_dir_transition(from, event);
                    touched_line = Some(line);
                }
                Note::Performed { .. } => {}
                Note::Completed { core, value } => {
                    let c = core as usize;
                    if let CoreStatus::Waiting(since) = self.cores[c].status {
                        self.stats.cores[c].stall_cycles += self.now - since;
                    }
                    self.cores[c].time = self.now;
                    self.cores[c].status = CoreStatus::Ready;
                    self.completions.push((c, value));
                    self.anchor_scan(c, self.now);
                    self.schedule_core(c, self.now);
                }
                Note::SilentDrop { .. } => {
                    self.stats.silent_drops += 1;
                    self.stats.primitives[Primitive::SilentWithdrawal as usize] += 1;
                }
                Note::WritebackFreed { .. } => {}
                Note::MemRead { .. } => self.stats.mem_reads += 1,
                Note::MemWrite { .. } => {
                    self.stats.mem_writes += 1;
                    self.mem[node as usize - n].write(at);
                }
                Note::Invalidation { sharers, .. } => {
                    self.stats.invalidations += sharers as u64;
                    *self.stats.sharers_per_invalidation.entry(sharers).or_insert(0) += 1;
                }
                Note::Writeback { .. } => self.stats.writebacks += 1,
                Note::Recall { messages, .. } => {
                    self.stats.recalls += 1;
                    self.stats.recall_invalidations += messages as u64;
                }
                Note::EntryFreed { .. } => wake = true,
                Note::PointerEviction { .. } => self.stats.pointer_evictions += 1,
            }
        }
        self.outbox.notes = notes;
        let mut msgs = std::mem::take(&mut self.outbox.msgs);
        for msg in msgs.drain(..) {
            let leave = if msg.from_memory { self.mem[node as usize - n].read(at) } else { at };
            self.stats.count_message(&msg);
            self.observer.message(self.now, &msg);
            self.schedule_msg(msg, leave, true);
        }
        self.outbox.msgs = msgs;
        // A sparse directory freed an entry: requests waiting for a way may go.
        if wake {
            let mut keys: Vec<_> =
                self.stalled.iter().filter(|(k, q)| k.0 == node && !q.is_empty()).map(|(k, _)| *k).collect();
            keys.sort_unstable();
            for key in keys {
                self.retry_stalled(key)?;
            }
        }
        // A core-side change (an eviction, an upgrade) may unblock stalled inputs.
        if (node as usize) < n
            && let Some(line) = touched_line
        {
            let key = (node, line);
            if self.stalled.get(&key).is_some_and(|q| !q.is_empty()) {
                self.retry_stalled(key)?;
            }
        }
        Ok(())
    }
}
