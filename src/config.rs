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
    /// `network` (point-to-point messages to a directory) or `bus` (a snooping
    /// bus: see `model::bus`).
    pub interconnect: Interconnect,
    pub topology: Topology,
    pub hop_latency: Cycle,
    pub link_bytes: u32,
    pub local_latency: Cycle,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            interconnect: Interconnect::Network,
            topology: Topology::Crossbar,
            hop_latency: 2,
            link_bytes: 16,
            local_latency: 1,
        }
    }
}

/// How the caches reach each other and memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interconnect {
    /// Point-to-point messages through the network to directory slices.
    #[default]
    Network,
    /// A totally ordered, split-transaction snooping bus (no directory).
    Bus,
}

impl Interconnect {
    pub fn name(self) -> &'static str {
        match self {
            Interconnect::Network => "network",
            Interconnect::Bus => "bus",
        }
    }

    /// `network` or `bus`, in any case.
    pub fn parse(s: &str) -> Option<Interconnect> {
        [Interconnect::Network, Interconnect::Bus].into_iter().find(|i| i.name().eq_ignore_ascii_case(s))
    }
}

/// The snooping bus (`network.interconnect = "bus"`): its address bus orders
/// requests, its data bus carries lines. Ignored on the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    /// Cycles a request holds the address bus (arbitration won to the next grant).
    pub address_cycles: Cycle,
    /// Bytes the data bus moves per beat (its width: a bus word).
    pub word_bytes: u32,
    /// Cycles per bus word: a line holds the data bus for
    /// `line / word_bytes * cycles_per_word` cycles.
    pub cycles_per_word: Cycle,
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig { address_cycles: 2, word_bytes: 8, cycles_per_word: 1 }
    }
}

impl BusConfig {
    /// Cycles one line holds the data bus.
    pub fn data_cycles(&self, line_bytes: u32) -> Cycle {
        (line_bytes / self.word_bytes) as Cycle * self.cycles_per_word
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
    pub bus: BusConfig,
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
            bus: BusConfig::default(),
        }
    }
}

/// Writes `top`'s keys over `base`, table into table.
fn overlay(base: &mut toml::Table, top: toml::Table) {
    for (k, v) in top {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => overlay(b, t),
            (_, v) => {
                base.insert(k, v);
            }
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
    /// A top-level `preset = "course"` starts from that preset instead of the
    /// defaults; the file's other keys then override it.
    pub fn from_toml(text: &str) -> Result<SystemConfig, ConfigError> {
        Self::from_toml_over(None, text)
    }

    /// As `from_toml`, starting from `preset` when given (`--preset` on the
    /// command line, which wins over the file's own `preset`).
    pub fn from_toml_over(preset: Option<&str>, text: &str) -> Result<SystemConfig, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| err("toml", e.message()))?;
        let named = match table.remove("preset") {
            None => None,
            Some(toml::Value::String(s)) => Some(s),
            Some(other) => return Err(err("preset", format!("expected a preset's name, found {other}"))),
        };
        let base = match preset.or(named.as_deref()) {
            None => SystemConfig::default(),
            Some(name) => SystemConfig::preset(name)?,
        };
        let mut merged = toml::Table::try_from(&base).expect("a config always serialises");
        overlay(&mut merged, table);
        merged.try_into().map_err(|e: toml::de::Error| err("toml", e.message()))
    }

    /// The machines `--preset` names. `course`: the timing of the
    /// course simulators (NUS CS4223's assignment among them) on the snooping
    /// bus: 1-cycle hits, 100-cycle memory, 2 cycles per 4-byte bus word, and
    /// their default cache, 4 KiB two-way with 32-byte lines; the address bus
    /// takes 1 cycle (the least the bus model allows), memory's channel stays
    /// at 16 bytes a cycle. Everything else as the defaults.
    pub fn preset(name: &str) -> Result<SystemConfig, ConfigError> {
        match name {
            "default" => Ok(SystemConfig::default()),
            "course" => {
                let mut c = SystemConfig::default();
                c.l1.size = ByteSize(4 << 10);
                c.l1.ways = 2;
                c.l1.line = 32;
                c.l1.hit_latency = 1;
                c.memory.latency = 100;
                c.network.interconnect = Interconnect::Bus;
                c.bus = BusConfig { address_cycles: 1, word_bytes: 4, cycles_per_word: 2 };
                Ok(c)
            }
            other => Err(err("preset", format!("unknown preset {other:?}: expected default or course"))),
        }
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
        if self.network.interconnect == Interconnect::Bus {
            self.validate_bus()?;
        }
        Ok(())
    }

    /// The rules a snooping bus adds: one shared medium, no directory slices.
    fn validate_bus(&self) -> Result<(), ConfigError> {
        let topology = self.network.topology;
        if topology != Topology::Crossbar {
            return Err(err(
                "network.topology",
                format!(
                    "{} makes no sense with interconnect = bus: the bus is one shared medium every cache snoops \
                     (leave the topology at crossbar, or use interconnect = network)",
                    topology.name()
                ),
            ));
        }
        if self.directory.slices != 1 {
            return Err(err(
                "directory.slices",
                format!(
                    "{} slices make no sense with interconnect = bus: a snooping bus has no directory",
                    self.directory.slices
                ),
            ));
        }
        if self.directory.organisation != crate::model::dir_org::Organisation::Full {
            return Err(err(
                "directory.organisation",
                format!(
                    "{} makes no sense with interconnect = bus: a snooping bus has no directory \
                     (leave it at full, or use interconnect = network)",
                    self.directory.organisation
                ),
            ));
        }
        let bus = &self.bus;
        if bus.address_cycles == 0 {
            return Err(err("bus.address_cycles", "must be at least 1 cycle"));
        }
        if bus.cycles_per_word == 0 {
            return Err(err("bus.cycles_per_word", "must be at least 1 cycle"));
        }
        power_of_two("bus.word_bytes", bus.word_bytes as u64)?;
        if bus.word_bytes > self.l1.line {
            return Err(err(
                "bus.word_bytes",
                format!("{} bytes is wider than the {}-byte line", bus.word_bytes, self.l1.line),
            ));
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
    fn a_bus_refuses_settings_that_make_no_sense_by_name() {
        let bus = |f: fn(&mut SystemConfig)| {
            let mut c = SystemConfig::default();
            c.network.interconnect = Interconnect::Bus;
            f(&mut c);
            c.validate().map_err(|e| e.setting)
        };
        assert_eq!(bus(|_| {}), Ok(()));
        assert_eq!(bus(|c| c.network.topology = Topology::Mesh), Err("network.topology".into()));
        assert_eq!(bus(|c| c.network.topology = Topology::Ring), Err("network.topology".into()));
        assert_eq!(bus(|c| c.directory.slices = 2), Err("directory.slices".into()));
        assert_eq!(
            bus(|c| c.directory.organisation = "broadcast".parse().unwrap()),
            Err("directory.organisation".into())
        );
        assert_eq!(bus(|c| c.bus.address_cycles = 0), Err("bus.address_cycles".into()));
        assert_eq!(bus(|c| c.bus.cycles_per_word = 0), Err("bus.cycles_per_word".into()));
        assert_eq!(bus(|c| c.bus.word_bytes = 12), Err("bus.word_bytes".into()));
        assert_eq!(bus(|c| c.bus.word_bytes = 128), Err("bus.word_bytes".into()));
        // The network ignores the bus's settings and the bus the network's.
        let mut c = SystemConfig::default();
        c.network.topology = Topology::Mesh;
        c.bus.word_bytes = 12;
        assert_eq!(c.validate(), Ok(()));
        // 64-byte lines over an 8-byte bus at 1 cycle a word: 8 cycles; 32-byte
        // lines over 4-byte words at 2 cycles a word: 16.
        assert_eq!(BusConfig::default().data_cycles(64), 8);
        assert_eq!(BusConfig { address_cycles: 1, word_bytes: 4, cycles_per_word: 2 }.data_cycles(32), 16);
        let t = SystemConfig::from_toml("[network]\ninterconnect = \"bus\"\n[bus]\ncycles_per_word = 2\n").unwrap();
        assert_eq!((t.network.interconnect, t.bus.cycles_per_word), (Interconnect::Bus, 2));
        assert_eq!(SystemConfig::from_toml(&t.to_toml()).unwrap(), t);
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
