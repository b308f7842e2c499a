//! `cohsim check`: the exhaustive model checker (see `verify::mc`).
//!
//! Exit status 0 when no violation is found (also for a search cut short by
//! `--max-states`, which the output says), 1 with a counterexample, 2 for bad
//! arguments.

use clap::Args;

use super::common::parse_protocol;
use crate::config::Interconnect;
use crate::model::Mutation;
use crate::verify::mc::{self, CheckOptions, CheckReport, ForwardOrder, Symmetry};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// msi, mesi or moesi.
    #[arg(long, default_value = "mesi")]
    pub protocol: String,
    /// Number of L1 caches.
    #[arg(long, default_value_t = 2)]
    pub caches: usize,
    /// Number of lines (one word each).
    #[arg(long, default_value_t = 1)]
    pub lines: usize,
    /// Words take values 0..VALUES.
    #[arg(long, default_value_t = 2)]
    pub values: usize,
    /// Drop clean shared lines without a PutS.
    #[arg(long)]
    pub silent_evict: bool,
    /// Count every state, not one per renaming of caches and values.
    #[arg(long)]
    pub no_symmetry: bool,
    /// Deliver forward messages in any order (the protocols assume FIFO).
    #[arg(long)]
    pub unordered_forward: bool,
    /// Let AckCount alone overtake and be overtaken on the forward network.
    #[arg(long, conflicts_with = "unordered_forward")]
    pub unordered_ack_count: bool,
    /// Inject a deliberate bug, e.g. skip-inv-ack; `--mutation list` lists them.
    #[arg(long)]
    pub mutation: Option<String>,
    /// network (the directory protocols) or bus (the snooping protocols).
    #[arg(long, default_value = "network", value_name = "network|bus")]
    pub interconnect: String,
    /// Stop after this many states.
    #[arg(long)]
    pub max_states: Option<u64>,
    /// Directory organisation (full, limited:I:b, limited:I:nb, coarse:K,
    /// sparse:ENTRIES:WAYS, broadcast); a sparse one recalls only with fewer
    /// entries than --lines.
    #[arg(long, default_value = "full", value_name = "ORGANISATION")]
    pub directory: String,
}

pub fn run(a: CheckArgs) -> anyhow::Result<i32> {
    let protocol = parse_protocol(&a.protocol, "--protocol")?;
    let interconnect = super::common::parse_interconnect(&a.interconnect)?;
    let mutation = match a.mutation.as_deref() {
        None => None,
        Some("list") => {
            for m in Mutation::ALL.into_iter().chain(Mutation::SNOOP) {
                super::outln!("{}", mc::mutation_name(m))?;
            }
            return Ok(0);
        }
        Some(name) => Some(mc::parse_mutation(name).ok_or_else(|| {
            let names: Vec<String> = Mutation::ALL.into_iter().chain(Mutation::SNOOP).map(mc::mutation_name).collect();
            anyhow::anyhow!("--mutation: unknown mutation {name:?}: expected one of {}", names.join(", "))
        })?),
    };
    let opts = CheckOptions {
        silent_evict: a.silent_evict,
        symmetry: if a.no_symmetry { Symmetry::NONE } else { Symmetry::FULL },
        forward_order: match (a.unordered_forward, a.unordered_ack_count) {
            (true, _) => ForwardOrder::Unordered,
            (false, true) => ForwardOrder::AckCountUnordered,
            (false, false) => ForwardOrder::Fifo,
        },
        mutation,
        max_states: a.max_states,
        interconnect,
        organisation: super::common::parse_organisation(&a.directory)?,
        ..CheckOptions::new(protocol, a.caches, a.lines, a.values)
    };
    // Long searches report on stderr every 10 s; the report itself goes to stdout.
    let report = mc::check_with_progress(&opts, 10.0, &mut |p| {
        eprintln!(
            "  ... {} states, {} expanded, {} transitions, depth {}, {:.0} s, {:.0} states/s",
            p.states,
            p.expanded,
            p.transitions,
            p.depth,
            p.seconds,
            p.states as f64 / p.seconds
        )
    })?;
    super::out!("{}", render(&report))?;
    Ok(if report.violation.is_some() { 1 } else { 0 })
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// The report as printed.
pub fn render(r: &CheckReport) -> String {
    let o = &r.options;
    let mut s = format!(
        "check {}{}: {}, {}, {}{}; {}; symmetry {}{}\n",
        o.protocol,
        if o.interconnect == Interconnect::Bus { " (snooping bus)" } else { "" },
        plural(o.caches, "cache"),
        plural(o.lines, "line"),
        plural(o.values, "value"),
        if o.silent_evict { ", silent eviction" } else { "" },
        match (o.interconnect, o.forward_order) {
            (Interconnect::Bus, _) => "any cache may win the bus next, data in any order",
            (_, ForwardOrder::Fifo) => "forward network FIFO per (source, destination, line)",
            (_, ForwardOrder::Unordered) => "forward network UNORDERED",
            (_, ForwardOrder::AckCountUnordered) => "forward network FIFO except AckCount (unordered)",
        },
        match (r.symmetry.caches, r.symmetry.values) {
            (true, true) => "over caches and values",
            (true, false) => "over caches",
            (false, true) => "over values",
            (false, false) => "off",
        },
        o.mutation.map_or(String::new(), |m| format!("; MUTATION {}", mc::mutation_name(m))),
    );
    s += &format!(
        "  {} states, {} transitions, max depth {}, {:.2} s, {:.0} states/s, {:.0} MiB ({} distinct accesses per idle core and line)\n",
        r.states,
        r.transitions,
        r.max_depth,
        r.seconds,
        r.states_per_second(),
        r.memory_bytes as f64 / (1 << 20) as f64,
        r.accesses
    );
    if r.asymmetry_found {
        s += "  (a violation found under symmetry did not replay: the controllers treat cache ids or values \
              differently, so the search ran again without symmetry)\n";
    } else if r.symmetry != o.symmetry {
        s += "  (this mutation treats cache ids differently: caches are not interchangeable under it)\n";
    }
    if r.symmetry != Symmetry::NONE {
        s += "  states are counted once per renaming; --no-symmetry counts them all\n";
    }
    if !r.complete && r.violation.is_none() {
        s += &format!(
            "  PARTIAL: stopped at --max-states {} with {} states expanded: invariants checked on every state \
             reached, transitions and deadlock on every state expanded; progress not checked\n",
            o.max_states.unwrap_or(0),
            r.expanded
        );
    } else if r.progress_checked {
        s += match o.interconnect {
            Interconnect::Bus => {
                "  progress: from every reachable state, bus orderings and data deliveries alone reach a quiescent state\n"
            }
            Interconnect::Network => {
                "  progress: from every reachable state, message deliveries alone reach a quiescent state\n"
            }
        };
    }
    match &r.violation {
        None => s += "  no violation\n",
        Some(v) => {
            s += &format!("VIOLATION ({}): {}\n", v.kind.name(), v.detail);
            s += &v.chart.to_string();
        }
    }
    s
}
