//! Turning the TRACE arguments into per-core files.
//!
//! Several arguments are cores 0, 1, … in order. A single argument that is
//! not a file is a *prefix* `P`: it stands for `P_0<ext>`, `P_1<ext>`, … in
//! numeric order, where `<ext>` is `.data`, `.din`, `.lackey`, `.trace` or
//! `.txt`, optionally followed by `.gz` or `.zst`. A directory `D` is the
//! prefix `D/<name of D>`, so `parsec/blackscholes` finds
//! `parsec/blackscholes/blackscholes_0.data.gz`, … The cores found must be
//! exactly 0..N with one file each.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::TraceError;

const EXTS: [&str; 5] = [".data", ".din", ".lackey", ".trace", ".txt"];
const ZEXTS: [&str; 3] = ["", ".gz", ".zst"];

/// The files `paths` stand for.
pub(crate) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, TraceError> {
    match paths {
        [] => Err(TraceError::NoPaths),
        [p] if !p.is_file() => expand_prefix(p),
        _ => Ok(paths.to_vec()),
    }
}

fn is_trace_suffix(s: &str) -> bool {
    EXTS.iter().any(|e| ZEXTS.iter().any(|z| s.len() == e.len() + z.len() && s.starts_with(e) && s.ends_with(z)))
}

fn expand_prefix(path: &Path) -> Result<Vec<PathBuf>, TraceError> {
    let (dir, stem) = if path.is_dir() {
        (path.to_path_buf(), path.file_name())
    } else {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        (parent.unwrap_or(Path::new(".")).to_path_buf(), path.file_name())
    };
    let prefix = dir.join(stem.unwrap_or_default());
    let none = || {
        if path.is_dir() {
            TraceError::DirectoryWithoutTraces { dir: path.to_path_buf(), prefix: prefix.clone() }
        } else {
            TraceError::NoTraceFiles { prefix: path.to_path_buf() }
        }
    };
    let stem = stem.and_then(|s| s.to_str()).ok_or_else(none)?;
    let entries = std::fs::read_dir(&dir).map_err(|_| none())?;
    let mut found: BTreeMap<usize, String> = BTreeMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(stem).and_then(|r| r.strip_prefix('_')) else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (num, suffix) = rest.split_at(digits);
        if num.is_empty() || (num.len() > 1 && num.starts_with('0')) || !is_trace_suffix(suffix) {
            continue;
        }
        let Ok(core) = num.parse::<usize>() else {
            continue;
        };
        if let Some(other) = found.insert(core, name.to_string()) {
            let (first, second) =
                if other.as_str() < name { (other, name.to_string()) } else { (name.to_string(), other) };
            return Err(TraceError::PrefixAmbiguous { prefix, core, first, second });
        }
    }
    let Some((&last, _)) = found.last_key_value() else {
        return Err(none());
    };
    if let Some(missing) = (0..=last).find(|c| !found.contains_key(c)) {
        return Err(TraceError::PrefixGap { prefix, missing, last });
    }
    Ok(found.into_values().map(|name| dir.join(name)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn scratch(name: &str, files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cohsim-paths-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for f in files {
            fs::write(dir.join(f), b"0 0x0\n").unwrap();
        }
        dir
    }

    #[test]
    fn prefix_and_directory_forms() {
        let dir = scratch(
            "ok",
            &[
                "t_10.data",
                "t_0.data.gz",
                "t_1.data",
                "t_2.data",
                "t_3.data",
                "t_4.data",
                "t_5.data",
                "t_6.data",
                "t_7.data",
                "t_8.data",
                "t_9.data",
                "t_1.png",
                "tt_0.data",
            ],
        );
        let got = expand(&[dir.join("t")]).unwrap();
        assert_eq!(got.len(), 11);
        assert!(got[0].ends_with("t_0.data.gz"));
        assert!(got[10].ends_with("t_10.data"));
        let sub = dir.join("t_dir");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("t_dir_0.din"), b"0 0\n").unwrap();
        assert_eq!(expand(std::slice::from_ref(&sub)).unwrap(), vec![sub.join("t_dir_0.din")]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gaps_duplicates_and_nothing() {
        let dir = scratch("bad", &["g_0.data", "g_2.data", "d_0.data", "d_0.data.gz"]);
        assert!(matches!(expand(&[dir.join("g")]), Err(TraceError::PrefixGap { missing: 1, .. })));
        assert!(matches!(expand(&[dir.join("d")]), Err(TraceError::PrefixAmbiguous { core: 0, .. })));
        let e = expand(&[dir.join("zz")]).unwrap_err();
        assert!(matches!(e, TraceError::NoTraceFiles { .. }));
        assert!(e.to_string().contains("zz_0.data"), "{e}");
        assert!(matches!(expand(&[]), Err(TraceError::NoPaths)));
        fs::remove_dir_all(&dir).unwrap();
    }
}
