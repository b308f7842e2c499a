//! HTML reports (`--report DIR`) rendered in a real browser: headless
//! Chromium opens each kind of page, the page's own check runs (every plot
//! has a size and data marks, else a console error), and the screenshot must
//! not be blank. One test per kind: run, compare, a lock sweep, a clock run
//! and a Ricart–Agrawala run.
//!
//! Needs `chromium` (`.ci/run` installs Debian's); without it the tests say
//! SKIPPED and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

const COHSIM: &str = env!("CARGO_BIN_EXE_cohsim");

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cohsim-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Fraction of a PNG's pixels in colour (not white, grey or black): the
/// data marks (the text, axes and grid are grey).
fn coloured(png_file: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png_file).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = pixels.len() / channels;
    let colour = |p: &[u8]| {
        let (lo, hi) = (p[..3].iter().min().unwrap(), p[..3].iter().max().unwrap());
        hi - lo > 60
    };
    pixels.chunks(channels).filter(|p| colour(p)).count() as f64 / total as f64
}

/// Makes a report with `args` (plus `--report DIR`), renders it, and checks
/// it: at least `plots` plots, none blank, no console error, ink on screen.
fn render(name: &str, args: &[&str], plots: usize) {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (.ci/run installs it)");
        return;
    };
    let dir = scratch(name);
    let report = dir.join("report");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--report", report.to_str().unwrap()]);
    let out = Command::new(COHSIM).args(&all).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    let page = report.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<svg class=\"plot\"").count(), plots, "{name}: plots in the page");
    let (console, log, shot) = open_in(browser, &dir, &page, plots);
    // The page's check ran and found every plot drawn.
    let verdict = format!("cohsim-report: {plots} plots, 0 blank");
    assert!(console.iter().any(|l| l.contains(&verdict)), "{name}: {console:#?}");
    // Nothing else on the console (an error, a blank plot, a failed load).
    assert_eq!(console.len(), 1, "{name}: {console:#?}");
    assert!(!log.contains("Uncaught"), "{name}: {log}");
    // The screenshot shows data: a page whose plots drew no data has no
    // coloured pixel at all (text, axes and grid are grey); a curve of a few
    // points colours about 0.5% of the page.
    let ink = coloured(&shot);
    assert!(ink > 0.001, "{name}: only {ink:.4} of the screenshot is in colour");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Opens `page` in the browser: its console lines, its whole log, and the
/// screenshot's path.
fn open_in(browser: &str, dir: &Path, page: &Path, plots: usize) -> (Vec<String>, String, PathBuf) {
    let shot = dir.join("shot.png");
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--window-size=1000,{}", 300 + 450 * plots))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    let console = log.lines().filter(|l| l.contains("CONSOLE")).map(str::to_string).collect();
    (console, log, shot)
}

#[test]
fn a_plot_without_data_is_caught() {
    // The checks above can fail: a page whose one plot has no data.
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no chromium on PATH (.ci/run installs it)");
        return;
    };
    let dir = scratch("blank");
    let mut page = cohsim::view::Page::new("blank");
    page.plot(cohsim::view::plots::curves("nothing", "x", "y", &[("none".to_string(), vec![])])).unwrap();
    let path = page.write(&dir.join("report")).unwrap();
    let (console, _, shot) = open_in(browser, &dir, &path, 1);
    assert!(console.iter().any(|l| l.contains("blank plot plot1")), "{console:#?}");
    assert!(console.iter().any(|l| l.contains("cohsim-report: 1 plots, 1 blank")), "{console:#?}");
    assert!(coloured(&shot) < 0.001);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_replay_report_renders() {
    // Misses by class (one plot per run), traffic by type, fan-out.
    render("run", &["run", "traces/migratory.csv", "-q"], 3);
}

#[test]
fn a_compare_report_renders() {
    // Two runs: misses by class for each, then traffic and fan-out side by side.
    render("compare", &["compare", "traces/migratory.csv", "-q"], 4);
}

#[test]
fn a_lock_sweep_report_renders() {
    render("lock", &["app", "lock", "--algo", "tas,ticket,mcs", "--sweep-cores", "1,2,4", "--entries", "200"], 1);
}

#[test]
fn a_clock_report_renders() {
    render("clock", &["app", "clock", "--algo", "cristian", "--cores", "4"], 1);
}

#[test]
fn a_ricart_agrawala_report_renders() {
    // The Lamport diagram and the coherence traffic.
    render("mutex", &["app", "mutex", "--algo", "ricart-agrawala", "--cores", "4", "--entries", "20"], 2);
}
