//! Reports a person looks at: one self-contained HTML page per run
//! (`--report DIR` writes `DIR/index.html`), its plots drawn as inline SVG by
//! `plotters` (`plots`), no file or script from elsewhere. The page checks
//! itself when a browser renders it: every plot must have a size and data
//! marks, or it logs a console error; it then logs a line the tests wait for
//! (`cohsim-report: N plots, B blank`).
//!
//! Pages: a replay (miss classes per core, traffic by message type, the
//! invalidation fan-out), a comparison of protocols side by side, a lock
//! sweep (hand-off cost against cores, per lock), a clock run (each core's
//! offset over time), and a message-passing run (a Lamport diagram).

pub mod plots;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::engine::counters::Stats;
use crate::exec::net::SwMessage;
use crate::model::MsgKind;

pub use plots::PlotError;

/// A page being put together.
pub struct Page {
    title: String,
    body: String,
    plots: usize,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:24px;max-width:1000px;color:#222}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;margin:8px 0}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}\
figure{margin:8px 0}p.note{color:#555;font-size:13px}";

/// The page's render check (see the module's doc).
const CHECK: &str = "window.addEventListener('load',()=>{const plots=document.querySelectorAll('svg.plot');\
let blank=0;plots.forEach(s=>{const marks=s.querySelectorAll('[opacity=\"0.9\"]').length;\
const b=s.getBoundingClientRect();if(marks===0||b.width<50||b.height<50){console.error('cohsim: blank plot '+s.id);blank++;}});\
console.log('cohsim-report: '+plots.length+' plots, '+blank+' blank');});";

impl Page {
    pub fn new(title: &str) -> Page {
        Page { title: title.to_string(), body: String::new(), plots: 0 }
    }

    pub fn heading(&mut self, text: &str) {
        let _ = writeln!(self.body, "<h2>{}</h2>", escape(text));
    }

    pub fn note(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"note\">{}</p>", escape(text));
    }

    /// A plot (an SVG from `plots`), marked for the render check.
    pub fn plot(&mut self, svg: Result<String, PlotError>) -> Result<(), PlotError> {
        let svg = svg?;
        self.plots += 1;
        let tagged = svg.replacen("<svg ", &format!("<svg class=\"plot\" id=\"plot{}\" ", self.plots), 1);
        let _ = writeln!(self.body, "<figure>{tagged}</figure>");
        Ok(())
    }

    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        self.body += "<table><tr>";
        for h in header {
            let _ = write!(self.body, "<th>{}</th>", escape(h));
        }
        self.body += "</tr>\n";
        for r in rows {
            self.body += "<tr>";
            for c in r {
                let _ = write!(self.body, "<td>{}</td>", escape(c));
            }
            self.body += "</tr>\n";
        }
        self.body += "</table>\n";
    }

    /// The page as one HTML document.
    pub fn html(&self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
             <style>{STYLE}</style><script>{CHECK}</script></head>\n<body><h1>{t}</h1>\n{}</body></html>\n",
            self.body,
            t = escape(&self.title)
        )
    }

    /// Writes `DIR/index.html` (the directory made if need be), whole or not
    /// at all.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("index.html");
        let tmp = dir.join(".index.html.cohsim-tmp");
        std::fs::write(&tmp, self.html())?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

/// Per core, its misses by class: one series per class.
fn miss_series(stats: &Stats) -> Vec<(String, Vec<f64>)> {
    type Class = fn(&crate::engine::counters::MissClasses) -> u64;
    let get: [(&str, Class); 5] = [
        ("compulsory", |m| m.compulsory),
        ("capacity", |m| m.capacity),
        ("conflict", |m| m.conflict),
        ("true sharing", |m| m.true_sharing),
        ("false sharing", |m| m.false_sharing),
    ];
    get.iter()
        .map(|(name, f)| (name.to_string(), stats.cores.iter().map(|c| f(&c.miss_classes) as f64).collect()))
        .collect()
}

/// The message types any of `runs` sent.
fn kinds_sent(runs: &[(&str, &Stats)]) -> Vec<usize> {
    (0..MsgKind::ALL.len()).filter(|&k| runs.iter().any(|(_, s)| s.msg_count[k] > 0)).collect()
}

/// A replay's page; several runs (a comparison) side by side.
pub fn replay_page(title: &str, runs: &[(&str, &Stats)]) -> Result<Page, PlotError> {
    let mut p = Page::new(title);
    let mut rows = Vec::new();
    for (name, s) in runs {
        let misses: u64 = s.cores.iter().map(|c| c.misses).sum();
        rows.push(vec![
            name.to_string(),
            s.cycles.to_string(),
            misses.to_string(),
            s.msg_count.iter().sum::<u64>().to_string(),
            s.invalidations.to_string(),
        ]);
    }
    p.table(&["run", "cycles", "misses", "messages", "invalidations"], &rows);
    for (name, s) in runs {
        p.heading(&format!("{name}: misses by class, per core"));
        let cores: Vec<String> = (0..s.cores.len()).map(|c| format!("core {c}")).collect();
        p.plot(plots::bars("misses by class", "misses", &cores, &miss_series(s)))?;
    }
    p.heading("traffic by message type");
    let kinds = kinds_sent(runs);
    let names: Vec<String> = kinds.iter().map(|&k| MsgKind::ALL[k].name().to_string()).collect();
    let series: Vec<(String, Vec<f64>)> =
        runs.iter().map(|(n, s)| (n.to_string(), kinds.iter().map(|&k| s.msg_count[k] as f64).collect())).collect();
    p.plot(plots::bars("coherence messages by type", "messages", &names, &series))?;
    p.heading("invalidation fan-out");
    let most = runs.iter().flat_map(|(_, s)| s.sharers_per_invalidation.keys().copied()).max();
    if let Some(most) = most {
        let sizes: Vec<String> = (1..=most).map(|k| k.to_string()).collect();
        let series: Vec<(String, Vec<f64>)> = runs
            .iter()
            .map(|(n, s)| {
                let v = (1..=most).map(|k| s.sharers_per_invalidation.get(&k).copied().unwrap_or(0) as f64).collect();
                (n.to_string(), v)
            })
            .collect();
        p.plot(plots::bars("invalidations sent per write that needed them", "writes", &sizes, &series))?;
    } else {
        p.note("No write needed an invalidation.");
    }
    Ok(p)
}

/// A lock sweep's page: cycles per hand-off against cores, one curve per lock.
pub fn lock_page(title: &str, curves: &[(String, Vec<(f64, f64)>)], rows: &[Vec<String>]) -> Result<Page, PlotError> {
    let mut p = Page::new(title);
    p.plot(plots::curves("cost of a lock hand-off", "cores", "cycles per hand-off", curves))?;
    p.table(&["lock", "cores", "cycles per hand-off", "coherence messages per hand-off"], rows);
    Ok(p)
}

/// A clock run's page: each core's offset from true time over the run.
pub fn clock_page(title: &str, samples: &[(u64, Vec<f64>)]) -> Result<Page, PlotError> {
    let mut p = Page::new(title);
    let cores = samples.first().map_or(0, |s| s.1.len());
    let series: Vec<(String, Vec<(f64, f64)>)> =
        (0..cores).map(|c| (format!("core {c}"), samples.iter().map(|(t, o)| (*t as f64, o[c])).collect())).collect();
    p.plot(plots::curves("clock offset from true time", "cycle", "offset (cycles)", &series))?;
    p.note("Offsets are sampled every quarter period and at the end of the run.");
    Ok(p)
}

/// A message-passing run's page: its Lamport diagram and its traffic.
pub fn messages_page(title: &str, cores: usize, messages: &[SwMessage], stats: &Stats) -> Result<Page, PlotError> {
    let mut p = Page::new(title);
    p.heading("messages between the cores");
    p.plot(plots::lamport(cores, messages, 200))?;
    p.note("Each arrow goes from a send (its handler's cycle) to a receipt; a duplicated message has two arrows.");
    p.heading("coherence traffic");
    let runs = [("run", stats)];
    let kinds = kinds_sent(&runs);
    let names: Vec<String> = kinds.iter().map(|&k| MsgKind::ALL[k].name().to_string()).collect();
    let series = vec![("run".to_string(), kinds.iter().map(|&k| stats.msg_count[k] as f64).collect())];
    p.plot(plots::bars("coherence messages by type", "messages", &names, &series))?;
    Ok(p)
}
