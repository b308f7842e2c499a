//! Running ahead: how far a core may take its L1 hits on the fast path (no
//! event, no message, no allocation) ahead of other cores' clocks, up to a
//! *horizon* that no message able to change what it hits can beat:
//!
//! - a Ready core (no request of its own outstanding) can only be reached by a
//!   directory's Inv or forwarded request, so it may run up to the first message on
//!   its way to it, or a directory latency plus a network hop after the first
//!   directory input for a line it holds, or a full round trip (`lookahead`) after
//!   the earliest any other L1 may send a directory anything (`act_bound`);
//! - what another L1 may do next is read from its core's future: a trace front end
//!   shows the records it has decoded ([`Frontend::ahead`]), and the first that
//!   does not hit in that core's cache as it is now is its next miss (`scan`). Hits
//!   never change which lines a cache holds, so that bound stands until a message
//!   takes a line away. A waiting core's next miss is counted from the response
//!   that may complete its own.
//!
//! Running ahead never reorders anything another controller could observe; the
//! observers that see hits (the miss classifier, the checker) order by simulated
//! time, not by when they are told. Tests show it gives bit-identical statistics to
//! `--exact` on fixed and random machine shapes (`tests/machine.rs`,
//! `tests/run_ahead.rs`). A miss is only issued when the core is the earliest thing
//! in the system, so link and port reservations happen in time order.
//!
//! This file owns the scans (`Scan`, `Frames`: what each core will hit) and the
//! bounds built on them (`act_bound`, `hit_horizon`, `directory_reach`); the
//! event loop (`run`) asks it for a horizon, and a core's turn takes hits up to it.

use super::*;

/// A queue of frame indices: a ring of [`KNOWN`] entries, so a scan knows at
/// most that many hits ahead (past them the scan stops as at an unknown step).
#[derive(Clone, Debug)]
pub(super) struct Frames {
    items: Box<[u32; KNOWN]>,
    /// Free-running positions: entries `head..tail` (mod `KNOWN`) are queued.
    head: u32,
    tail: u32,
}

/// Hits a scan may know ahead of a core: a trace batch's worth.
pub(super) const KNOWN: usize = 4096;

impl Default for Frames {
    fn default() -> Self {
        Frames { items: Box::new([0; KNOWN]), head: 0, tail: 0 }
    }
}

impl Frames {
    /// Queues `idx`; `false` (and nothing queued) when the ring is full.
    #[inline]
    pub(super) fn push_back(&mut self, idx: u32) -> bool {
        if self.tail.wrapping_sub(self.head) as usize >= KNOWN {
            return false;
        }
        self.items[self.tail as usize % KNOWN] = idx;
        self.tail = self.tail.wrapping_add(1);
        true
    }

    #[inline]
    pub(super) fn front(&self) -> Option<u32> {
        (self.head != self.tail).then(|| self.items[self.head as usize % KNOWN])
    }

    #[inline]
    pub(super) fn pop_front(&mut self) -> Option<u32> {
        let idx = self.front()?;
        self.head = self.head.wrapping_add(1);
        Some(idx)
    }

    pub(super) fn clear(&mut self) {
        (self.head, self.tail) = (0, 0);
    }
}

/// In `CoreCtx::known`: the frame the outstanding miss will fill.
pub(super) const FILLED: u32 = u32::MAX;

impl CoreCtx {
    /// The core's cache or position changed: what it will hit must be worked out again.
    pub(super) fn forget_scan(&mut self) {
        self.scan.valid = false;
        self.known.clear();
    }
}

/// A core's look ahead: its steps up to `next` (counted like `taken`) all hit in
/// its cache as it is now, and the one after them starts at cycle `at`, unless the
/// scan already met a step that may miss (`bound`). Hits never change which lines
/// a cache holds or with what permission, so the first step that may miss, and its
/// cycle, stay put until the L1 loses a line or permission on one (a transition
/// note says so, and the scan is forgotten) or the core moves past it.
///
/// A waiting core's scan is `relative`: cycles count from the miss's completion,
/// and the line the miss fills (`fill`, with whether it will be writable) counts
/// as present. An Inv that makes the fill a one-time use (`IS_D_I`) forgets it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Scan {
    valid: bool,
    relative: bool,
    fill: Option<(LineAddr, bool)>,
    next: u64,
    at: Cycle,
    bound: Option<Cycle>,
}

impl<O: Observer> Simulator<O> {
    pub(super) fn refresh_acts<F: Frontend + ?Sized>(&mut self, fe: &F) {
        while let Some(c) = self.stale_acts.pop() {
            let c = c as usize;
            self.is_stale[c] = false;
            let a = self.act_bound(c, fe);
            self.acts.set(c, a);
        }
    }

    /// The earliest cycle L1 `c` may send a directory anything, unless a message
    /// reaches it that a directory has yet to send (those come `dir_reach` after a
    /// directory input, which `hit_horizon` bounds separately):
    /// - a Ready core: at its next miss (`scan`);
    /// - a blocked core, or one whose L1 has stalled inputs: when any message
    ///   arrives (it retries then);
    /// - otherwise when a forwarded request or Inv arrives (it may answer the
    ///   directory), or, for a waiting core, at its next miss after the response
    ///   that may complete its own; never at a Put-Ack (that only frees a
    ///   write-back slot).
    pub(super) fn act_bound<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> Cycle {
        let status = self.cores[c].status;
        let mut act = match status {
            CoreStatus::Ready => self.scan(c, fe),
            _ => Cycle::MAX,
        };
        let retries = self.stalled_at_l1[c] > 0;
        // The earliest response that may complete a waiting core's miss.
        let mut completion = Cycle::MAX;
        for &(t, kind) in &self.pending_to[c] {
            let reach = self.reach[kind as usize];
            match status {
                _ if retries => act = act.min(t),
                CoreStatus::Blocked(_) => act = act.min(t),
                // Nothing it can make the L1 do (a Put-Ack frees a write-back slot).
                _ if reach == Reach::default() => {}
                CoreStatus::Waiting(_) if reach.completes => completion = completion.min(t),
                _ => act = act.min(t),
            }
        }
        if completion != Cycle::MAX {
            act = act.min(completion.saturating_add(self.scan(c, fe)));
        }
        act
    }

    /// Ready core `c`: the earliest cycle it can issue a miss if no message reaches
    /// its L1 before, the cycle of its first step (the deferred access, then what
    /// the front end can show ahead) that does not hit in its cache as it is now.
    /// Waiting core `c`: the same, in cycles after its miss completes. An unknown
    /// step may miss as soon as it can start.
    pub(super) fn scan<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> Cycle {
        let hit_latency = self.cfg.l1.hit_latency;
        let l1 = &self.l1s[c];
        let core = &mut self.cores[c];
        let relative = matches!(core.status, CoreStatus::Waiting(_));
        let scan = &mut core.scan;
        if !scan.valid || scan.next < core.taken || scan.relative != relative {
            let at = if relative { 0 } else { core.time };
            let fill = if relative { l1.pending_fill() } else { None };
            *scan = Scan { valid: true, relative, fill, next: core.taken, at, bound: None };
            core.known.clear();
            if let Some((a, _)) = core.deferred {
                match l1.hit_frame(a.addr, a.op.writes()) {
                    Some(idx) if core.known.push_back(idx as u32) => {}
                    _ => scan.bound = Some(at),
                }
                scan.at += hit_latency;
            }
        }
        if let Some(b) = scan.bound {
            return b;
        }
        let fill = scan.fill;
        // The walk keeps its position in locals (the hot loop of a replay).
        let (mut at, mut next, mut bound) = (scan.at, scan.next, None);
        let known = &mut core.known;
        let probe = l1.hit_probe();
        for step in fe.ahead_from(c, (next - core.taken) as usize) {
            match step {
                Ahead::Access { gap, addr, writes } => {
                    at += gap;
                    let idx = match probe.frame(addr, writes) {
                        Some(idx) => idx as u32,
                        None => match fill {
                            Some((line, writable)) if probe.line_of(addr) == line && (writable || !writes) => FILLED,
                            _ => {
                                bound = Some(at);
                                break;
                            }
                        },
                    };
                    if !known.push_back(idx) {
                        // As far as the scan may know ahead: what follows is unknown.
                        bound = Some(at);
                        break;
                    }
                    at += hit_latency;
                }
                Ahead::Compute(gap) => at += gap,
                Ahead::Fence => {}
                Ahead::Done => {
                    bound = Some(Cycle::MAX);
                    break;
                }
            }
            next += 1;
        }
        (scan.at, scan.next, scan.bound) = (at, next, bound);
        bound.unwrap_or(at)
    }

    /// Waiting core `c`'s miss completed at `now`: its relative scan becomes
    /// absolute if the filled line is there as the scan assumed.
    pub(super) fn anchor_scan(&mut self, c: usize, now: Cycle) {
        let core = &mut self.cores[c];
        let scan = &mut core.scan;
        let kept = scan.valid
            && scan.relative
            && scan.fill.is_some_and(|(line, writable)| {
                let l1 = &self.l1s[c];
                l1.array.find(line).is_some_and(|i| {
                    let st = l1.array.frame(i).state;
                    st.can_read() && (st.can_write() || !writable)
                })
            });
        if kept {
            scan.relative = false;
            scan.fill = None;
            scan.at = scan.at.saturating_add(now);
            scan.bound = scan.bound.map(|b| b.saturating_add(now));
        } else {
            core.forget_scan();
        }
    }

    /// How far core `c` may run on hits. Only a message to its L1 can change what
    /// it hits, and while it is Ready (no request of its own outstanding) only a
    /// directory sends it one: an Inv or a forwarded request, for a line it holds.
    /// L1s answer forwarded requests to the requester, which is waiting. So the core
    /// runs up to
    /// - the first message already on its way to it (but a Put-Ack);
    /// - the earliest a directory's answer can arrive: after a message to a
    ///   directory (`directory_reach`), or `lookahead` after the earliest another L1 may
    ///   send a directory something (`act_bound`), since L1s reach directories only
    ///   through the network. (A directory's stalled inputs are retried only on an
    ///   input for the same line, which `directory_reach` already counts.)
    ///
    /// Never less than the next event of any kind (the `--exact` horizon, also
    /// safe), so a core always makes progress whatever the latencies.
    ///
    /// A waiting or blocked core moves only when a message reaches its L1.
    ///
    /// With it, the next event, when the horizon may go past it (see `judge_ahead`).
    pub(super) fn hit_horizon<F: Frontend + ?Sized>(&mut self, c: usize, fe: &F) -> (Cycle, Option<Cycle>) {
        // No running ahead: the core stops at the next event of any kind.
        let m = self.next_msg().map_or(Cycle::MAX, |(t, _)| t);
        let r = self.ready.peek().map_or(Cycle::MAX, |(t, idx)| if (idx as usize) < c { t } else { t + 1 });
        let next_event = m.min(r);
        if self.exact {
            return (next_event, None);
        }
        // Working out a horizon costs scans and, with many cores, a refresh of
        // every core whose future changed. When cores mostly miss (many cores
        // sharing everything), it seldom lets one past the next event, so a core
        // it did not help stops at the next event for a while. Any horizon from
        // the next event to the bound below gives the same run.
        let core = &mut self.cores[c];
        if core.skip_ahead > 0 && !self.always_ahead {
            core.skip_ahead -= 1;
            return (next_event, None);
        }
        // A quick bound first, from the queues' heads alone: any message's effect
        // reaches an L1 `message_lookahead` after it at the soonest, another Ready
        // core's a round trip after its clock. If the core misses before even that,
        // it stops there anyway and the finer bound below would change nothing.
        let own_all = self.pending_to[c].iter().map(|&(t, _)| t).min().unwrap_or(Cycle::MAX);
        let quick = own_all
            .min(m.saturating_add(self.message_lookahead))
            .min(self.ready.peek().map_or(Cycle::MAX, |(t, _)| t.saturating_add(self.lookahead)))
            .max(next_event);
        if quick >= self.scan(c, fe) {
            return (quick, Some(next_event));
        }
        self.refresh_acts(fe);
        // A Put-Ack only frees a write-back slot, which no hit looks at.
        let own = self.pending_to[c].iter().filter(|&&(_, k)| self.reach[k as usize] != Reach::default());
        let own = own.map(|&(t, _)| t).min();
        let own = own.unwrap_or(Cycle::MAX);
        // Queue keys are the cycles messages leave or arrive, never later than
        // arrival: safe for both.
        let dir = self.directory_reach(c);
        let l1 = self.acts.min_excluding(c);
        (own.min(dir).min(l1.saturating_add(self.lookahead)).max(next_event), Some(next_event))
    }

    /// After a run that could go past `next_event`: whether it did. Runs that do
    /// not make the core skip working out a horizon for 1, 3, 7, … up to 63 runs.
    pub(super) fn judge_ahead(&mut self, c: usize, next_event: Cycle) {
        const MAX_BACKOFF: u8 = 6;
        let core = &mut self.cores[c];
        if core.time > next_event {
            core.ahead_backoff = 0;
        } else {
            core.ahead_backoff = (core.ahead_backoff + 1).min(MAX_BACKOFF);
            core.skip_ahead = (1u8 << core.ahead_backoff) - 1;
        }
    }

    /// The earliest a directory input already in flight can change what core `c`
    /// hits: `dir_reach` after it for a line the core holds; for any other line
    /// only through another L1's answer to the directory (an Inv or a forwarded
    /// request for a line the core does not hold, or a stale one, changes none of its
    /// hits, and it takes no line without a miss), a further `lookahead`. With
    /// many messages in flight, every one counts as a line the core holds.
    pub(super) fn directory_reach(&self, c: usize) -> Cycle {
        const SCAN_LIMIT: usize = 32;
        if self.to_dir.len() > SCAN_LIMIT {
            return self.to_dir.peek().map_or(Cycle::MAX, |(t, _)| t.saturating_add(self.dir_reach));
        }
        let l1 = &self.l1s[c];
        self.to_dir
            .iter_timed()
            .map(|(t, (m, _))| {
                // A sparse directory's request for one line may recall another.
                let far = if self.cross_line_dir || l1.array.find(m.line).is_some() { 0 } else { self.lookahead };
                t.saturating_add(self.dir_reach + far)
            })
            .min()
            .unwrap_or(Cycle::MAX)
    }

    /// A miss of core `c` at cycle `t` goes out only when it is the next thing in
    /// the system's order: every message of cycle `t` or earlier is handled, and no
    /// ready core comes before (cycle, core index).
    pub(super) fn may_issue_miss(&self, c: usize, t: Cycle) -> bool {
        let msg_ok = self.next_msg().is_none_or(|(m, _)| t < m);
        let core_ok = self.ready.peek().is_none_or(|(r, idx)| (t, c as u64) < (r, idx));
        msg_ok && core_ok
    }
}
