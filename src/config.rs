//! System configuration: an immutable, deserialisable spec of the machine.
//!
//! Built from defaults, then a TOML file, then command-line overrides, and
//! validated once: an impossible setting is an error that names the setting and the
//! rule it breaks, never a silent default.

use serde::{Deserialize, Serialize};

use crate::model::cache::{CacheGeometry, ReplacementPolicy};
use crate::model::dir_org::Organisation;
use crate::model::network::{Cycle, Topology};
use crate::protocol::Protocol;

pub const MAX_CORES: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

fn err(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError { setting: setting.to_string(), message: message.into() }
}

/// A byte size written as a number or with a unit: `32768`, `32KiB`, `4 KiB`, `1MiB`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SizeRepr", into = "u64")]
pub struct ByteSize(pub u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeRepr {
    Number(u64),
    Text(String),
}

impl TryFrom<SizeRepr> for ByteSize {
    type Error = String;
    fn try_from(r: SizeRepr) -> Result<Self, String> {
        match r {
            SizeRepr::Number(n) => Ok(ByteSize(n)),
            SizeRepr::Text(s) => parse_size(&s).map(ByteSize),
        }
    }
}

impl From<ByteSize> for u64 {
    fn from(b: ByteSize) -> u64 {
        b.0
    }
}

/// Parse `32KiB`, `32K`, `32KB`, `4 MiB`, `64B`, `4096`. Every unit is binary
/// (K, KB and KiB are all 1024 bytes), as cache sizes are written.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("expected a size such as 32KiB or 4096, found {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?} (use B, K/KB/KiB, M/MB/MiB or G/GB/GiB; all are powers of 1024)"
            ));
        }
    };
    n.checked_mul(mult).ok_or_else(|| format!("size {s:?} is too large"))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct L1Config {
    pub size: ByteSize,
    pub ways: u32,
    pub line: u32,
    pub replacement: ReplacementPolicy,
    /// Cycles for a hit (and the tag check before a miss is sent).
    pub hit_latency: Cycle,
    /// Write-back buffer entries (evicted lines waiting for their Put-Ack).
    pub writeback_entries: usize,
    /// Drop clean shared lines without a PutS.
    pub silent_evict: bool,
}

impl Default for L1Config {
    fn default() -> Self {
        L1Config {
            size: ByteSize(32 << 10),
            ways: 8,
            line: 64,
            replacement: ReplacementPolicy::Lru,
            hit_latency: 1,
            writeback_entries: 8,
            silent_evict: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// Home slices, interleaved by line address.
    pub slices: usize,
    /// Cycles from a request's arrival to the directory's messages leaving.
    pub latency: Cycle,
    /// How sharers are recorded: full, limited:I:b, limited:I:nb, coarse:K,
    /// sparse:ENTRIES:WAYS (per slice) or broadcast (`model::dir_org`).
    pub organisation: Organisation,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig { slices: 1, latency: 10, organisation: Organisation::Full }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    pub latency: Cycle,
    pub bytes_per_cycle: u32,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig { latency: 100, bytes_per_cycle: 16 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    pub topology: Topology,
    pub hop_latency: Cycle,
    pub link_bytes: u32,
    pub local_latency: Cycle,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig { topology: Topology::Crossbar, hop_latency: 2, link_bytes: 16, local_latency: 1 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemConfig {
    pub protocol: Protocol,
    pub cores: usize,
    pub seed: u64,
    /// A request outstanding longer than this many cycles stops the run.
    pub watchdog_cycles: Cycle,
    pub l1: L1Config,
    pub directory: DirectoryConfig,
    pub memory: MemoryConfig,
    pub network: NetworkConfig,
}

impl Default for SystemConfig {
    fn default() -> Self {
        SystemConfig {
            protocol: Protocol::Mesi,
            cores: 4,
            seed: 1,
            watchdog_cycles: 1_000_000,
            l1: L1Config::default(),
            directory: DirectoryConfig::default(),
            memory: MemoryConfig::default(),
            network: NetworkConfig::default(),
        }
    }
}

fn power_of_two(setting: &str, v: u64) -> Result<(), ConfigError> {
    if v == 0 || !v.is_power_of_two() {
        return Err(err(setting, format!("{v} is not a power of two")));
    }
    Ok(())
}

impl SystemConfig {
    /// Parse TOML text (unknown keys and wrong types are errors naming the key).
    pub fn from_toml(text: &str) -> Result<SystemConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let span = e.message().to_string();
            err("toml", span)
        })
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a config always serialises")
    }

    pub fn geometry(&self) -> CacheGeometry {
        CacheGeometry { size: self.l1.size.0, ways: self.l1.ways, line: self.l1.line }
    }

    /// Apply `--l1 SIZE:WAYS:LINE`; WAYS may be `full` (one set).
    pub fn set_l1_shape(&mut self, spec: &str) -> Result<(), ConfigError> {
        let parts: Vec<&str> = spec.split(':').collect();
        if parts.len() != 3 {
            return Err(err("--l1", format!("expected SIZE:WAYS:LINE such as 32KiB:8:64, found {spec:?}")));
        }
        self.l1.size = ByteSize(parse_size(parts[0]).map_err(|m| err("--l1 size", m))?);
        let line = parse_size(parts[2]).map_err(|m| err("--l1 line", m))?;
        self.l1.line = u32::try_from(line).map_err(|_| err("--l1 line", format!("{line} bytes is too large")))?;
        self.l1.ways = if parts[1].eq_ignore_ascii_case("full") {
            // Fully associative: every line of the cache in one set.
            let ways = self.l1.size.0.checked_div(line).unwrap_or(0);
            u32::try_from(ways).map_err(|_| err("--l1 ways", format!("{ways} ways (full) is too many")))?
        } else {
            parts[1]
                .parse()
                .map_err(|_| err("--l1 ways", format!("expected a number or \"full\", found {:?}", parts[1])))?
        };
        Ok(())
    }

    /// Check every rule; the first broken one is reported.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cores == 0 || self.cores > MAX_CORES {
            return Err(err("cores", format!("{} is outside 1..={MAX_CORES}", self.cores)));
        }
        let l1 = &self.l1;
        power_of_two("l1.size", l1.size.0)?;
        power_of_two("l1.ways", l1.ways as u64)?;
        power_of_two("l1.line", l1.line as u64)?;
        if l1.line < 8 {
            return Err(err("l1.line", format!("{} bytes is smaller than one 8-byte word", l1.line)));
        }
        if l1.line > 4096 {
            return Err(err("l1.line", format!("{} bytes is larger than 4096", l1.line)));
        }
        if l1.line as u64 * l1.ways as u64 > l1.size.0 {
            return Err(err(
                "l1.size",
                format!("{} bytes cannot hold {} ways of {}-byte lines", l1.size.0, l1.ways, l1.line),
            ));
        }
        if l1.writeback_entries == 0 {
            return Err(err("l1.writeback_entries", "must be at least 1"));
        }
        let slices = self.directory.slices;
        if slices == 0 || !slices.is_power_of_two() || slices > self.cores {
            return Err(err(
                "directory.slices",
                format!("{slices} must be a power of two between 1 and the number of cores ({})", self.cores),
            ));
        }
        self.directory.organisation.validate(self.cores).map_err(|m| err("directory.organisation", m))?;
        if self.network.link_bytes == 0 {
            return Err(err("network.link_bytes", "must be at least 1"));
        }
        if self.network.hop_latency == 0 {
            return Err(err("network.hop_latency", "must be at least 1 cycle"));
        }
        if self.memory.bytes_per_cycle == 0 {
            return Err(err("memory.bytes_per_cycle", "must be at least 1"));
        }
        if self.watchdog_cycles == 0 {
            return Err(err("watchdog_cycles", "must be at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("32KiB"), Ok(32 << 10));
        assert_eq!(parse_size("4 KiB"), Ok(4096));
        assert_eq!(parse_size("64"), Ok(64));
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn the_size_units_in_the_message_are_the_ones_accepted() {
        let message = parse_size("1 parsec").unwrap_err();
        // Every unit the message names (split on its separators) is accepted, as
        // a power of 1024, in any case.
        let listed = message.split("(use ").nth(1).unwrap().split(';').next().unwrap();
        let units: Vec<&str> = listed.split([',', '/', ' ']).filter(|u| !u.is_empty() && *u != "or").collect();
        assert_eq!(units, ["B", "K", "KB", "KiB", "M", "MB", "MiB", "G", "GB", "GiB"]);
        for unit in units {
            let power = match unit.as_bytes()[0] {
                b'B' => 0,
                b'K' => 10,
                b'M' => 20,
                _ => 30,
            };
            assert_eq!(parse_size(&format!("2{unit}")), Ok(2 << power), "{unit}");
            assert_eq!(parse_size(&format!("2{}", unit.to_lowercase())), Ok(2 << power), "{unit}");
        }
        for unwritten in ["2Ki", "2kB2", "2T", "2TiB", "2 bytes"] {
            assert!(parse_size(unwritten).is_err(), "{unwritten}");
        }
    }

    #[test]
    fn any_associativity_up_to_fully_associative() {
        let mut c = SystemConfig::default();
        c.set_l1_shape("8KiB:full:64").unwrap();
        assert_eq!((c.l1.ways, c.geometry().sets()), (128, 1));
        c.validate().unwrap();
        c.set_l1_shape("8KiB:128:64").unwrap();
        c.validate().unwrap();
        c.set_l1_shape("1MiB:FULL:32").unwrap();
        assert_eq!(c.l1.ways, 32768);
        c.validate().unwrap();
        let e = c.set_l1_shape("8KiB:most:64").unwrap_err();
        assert!(e.message.contains("\"full\""), "{e}");
        c.set_l1_shape("8KiB:256:64").unwrap();
        assert_eq!(c.validate().unwrap_err().setting, "l1.size");
    }

    #[test]
    fn impossible_settings_name_the_setting() {
        let mut c = SystemConfig::default();
        c.l1.size = ByteSize(3000);
        assert_eq!(c.validate().unwrap_err().setting, "l1.size");
        let mut c = SystemConfig::default();
        c.l1.size = ByteSize(64);
        c.l1.line = 128;
        c.l1.ways = 1;
        assert_eq!(c.validate().unwrap_err().setting, "l1.size");
        let mut c = SystemConfig { cores: 1025, ..SystemConfig::default() };
        assert_eq!(c.validate().unwrap_err().setting, "cores");
        c.cores = 0;
        assert_eq!(c.validate().unwrap_err().setting, "cores");
    }

    #[test]
    fn directory_organisations_come_from_toml_and_are_validated() {
        let c = SystemConfig::from_toml("[directory]\norganisation = \"limited:4:b\"\n").unwrap();
        assert_eq!(c.directory.organisation.to_string(), "limited:4:b");
        assert_eq!(SystemConfig::from_toml(&c.to_toml()).unwrap(), c);
        let e = SystemConfig::from_toml("[directory]\norganisation = \"limited:x:b\"\n").unwrap_err();
        assert!(e.message.contains("limited:x:b"), "{e}");
        for bad in ["limited:0:b", "coarse:0", "coarse:5", "sparse:2:4", "sparse:6:4"] {
            let mut c = SystemConfig::default();
            c.directory.organisation = bad.parse().unwrap();
            assert_eq!(c.validate().unwrap_err().setting, "directory.organisation", "{bad}");
        }
    }

    #[test]
    fn toml_round_trips_and_rejects_unknown_keys() {
        let c = SystemConfig::default();
        assert_eq!(SystemConfig::from_toml(&c.to_toml()).unwrap(), c);
        let e = SystemConfig::from_toml("[l1]\nsize = \"4KiB\"\nassoc = 2\n").unwrap_err();
        assert!(e.message.contains("assoc"), "{e}");
        let e = SystemConfig::from_toml("protocol = \"mosi\"\n").unwrap_err();
        assert!(e.message.contains("mosi"), "{e}");
        let c = SystemConfig::from_toml("cores = 16\n[l1]\nsize = \"4KiB\"\nways = 2\nline = 32\n").unwrap();
        assert_eq!((c.cores, c.l1.size.0, c.l1.ways, c.l1.line), (16, 4096, 2, 32));
    }
}
