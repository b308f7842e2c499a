//! `--preset course`: the course simulators' timing on the snooping bus,
//! checked by deriving a run's cycles by hand.

use std::process::Command;

const COHSIM: &str = env!("CARGO_BIN_EXE_cohsim");

fn scratch(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("cohsim-preset-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One core: a cold load of 0x40, a load of 0x48 (the same 32-byte line), a
/// store to 0x40 (the line came exclusive under MESI and MOESI: a silent
/// upgrade), then a cold load of 0x60 (the next 32-byte line).
const TRACE: &str =
    "core,op,addr,size,gap,value,expected\n0,R,0x40,8,0,,\n0,R,0x48,8,0,,\n0,W,0x40,8,0,,\n0,R,0x60,8,0,,\n";

fn run(args: &[&str]) -> serde_json::Value {
    let o = Command::new(COHSIM).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn a_miss_under_the_course_preset_costs_what_the_course_says() {
    let dir = scratch("course");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, TRACE).unwrap();
    let t = trace.to_str().unwrap();
    for protocol in ["mesi", "moesi"] {
        let r = run(&["run", "--preset", "course", "--protocol", protocol, t, "--json", "-q"]);
        let core = &r["cores"][0];
        // A cold miss: the 1-cycle tag check, the bus idle (granted at once),
        // 100 cycles of memory, then the line on the data bus: 32 bytes = 8
        // words of 4 bytes at 2 cycles each = 16 cycles. 1 + 100 + 16 = 117.
        // Two cold misses stall 234 cycles; the two hits take 1 cycle each.
        assert_eq!(core["misses"], 2, "{protocol}");
        assert_eq!(core["hits"], 2, "{protocol}");
        assert_eq!(core["stall_cycles"], 234, "{protocol}");
        assert_eq!(r["cycles"], 117 + 1 + 1 + 117, "{protocol}");
    }
    // The same trace on the default machine (a 64-byte line: 0x40 and 0x60
    // share it) misses once: the preset's 32-byte lines are what split them.
    let r = run(&["run", t, "--json", "-q"]);
    assert_eq!(r["cores"][0]["misses"], 1);
}

#[test]
fn a_config_file_overrides_the_preset_it_names() {
    let dir = scratch("override");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, TRACE).unwrap();
    let config = dir.join("c.toml");
    std::fs::write(&config, "preset = \"course\"\n[memory]\nlatency = 50\n").unwrap();
    let r = run(&["run", "--config", config.to_str().unwrap(), trace.to_str().unwrap(), "--json", "-q"]);
    // 1 + 50 + 16 = 67 per cold miss, two of them, and two 1-cycle hits.
    assert_eq!(r["cores"][0]["stall_cycles"], 134);
    assert_eq!(r["cycles"], 136);
}

#[test]
fn bad_presets_name_the_setting() {
    let dir = scratch("bad");
    let trace = dir.join("t.csv");
    std::fs::write(&trace, TRACE).unwrap();
    let t = trace.to_str().unwrap();
    let o = Command::new(COHSIM).args(["run", "--preset", "nope", t]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown preset \"nope\""));
    // The course preset is a bus: a mesh makes no sense with it.
    let o = Command::new(COHSIM).args(["run", "--preset", "course", "--topology", "mesh", t]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("network.topology"));
    let o = Command::new(COHSIM).args(["config", "--preset", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
