//! The `kv` app's machine: a key-value store of `KEYS` keys holding small
//! numbers (every key starts at 0), with read, write and compare-and-set,
//! replicated by Raft. Reads go through the log like writes (a read is
//! committed before it is answered), which is what makes the store
//! linearizable without leases; the `broken-stale-read` variant answers a
//! read from whichever server's copy the client reached instead.
//!
//! The clients' workload (`command`) is a fixed function of the client and
//! its operation number, so runs replay exactly: keys and kinds cycle, the
//! values written are 1..=3, and a compare-and-set expects a value that is
//! often there (so some succeed and some fail).

use serde::{Deserialize, Serialize};

use super::machine::Machine;

/// Keys of the store.
pub const KEYS: u64 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KvCommand {
    Read {
        key: u8,
    },
    Write {
        key: u8,
        value: u8,
    },
    /// Sets `key` to `to` if it holds `from`.
    Cas {
        key: u8,
        from: u8,
        to: u8,
    },
}

impl KvCommand {
    pub fn key(&self) -> u8 {
        match *self {
            KvCommand::Read { key } | KvCommand::Write { key, .. } | KvCommand::Cas { key, .. } => key,
        }
    }

    /// As words: kind (0 read, 1 write, 2 compare-and-set), key, and values.
    pub fn words(&self) -> Vec<u64> {
        match *self {
            KvCommand::Read { key } => vec![0, key.into()],
            KvCommand::Write { key, value } => vec![1, key.into(), value.into()],
            KvCommand::Cas { key, from, to } => vec![2, key.into(), from.into(), to.into()],
        }
    }

    /// Back from `words` (`None` if they are not a command's).
    pub fn from_words(w: &[u64]) -> Option<KvCommand> {
        let b = |i: usize| w.get(i).and_then(|&x| u8::try_from(x).ok());
        match w.first()? {
            0 => Some(KvCommand::Read { key: b(1)? }),
            1 => Some(KvCommand::Write { key: b(1)?, value: b(2)? }),
            2 => Some(KvCommand::Cas { key: b(1)?, from: b(2)?, to: b(3)? }),
            _ => None,
        }
    }
}

/// What a command returns: a read the value, a write nothing, a
/// compare-and-set whether it set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KvOutput {
    Value(u8),
    Written,
    Set(bool),
}

impl KvOutput {
    pub fn word(&self) -> u64 {
        match *self {
            KvOutput::Value(v) => v.into(),
            KvOutput::Written => 0,
            KvOutput::Set(ok) => ok.into(),
        }
    }
}

/// The store: one value per key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Kv {
    pub values: [u8; KEYS as usize],
}

impl Kv {
    /// Applies `c` to the value of its key alone (the sequential
    /// specification the linearizability check runs, key by key).
    pub fn step(value: &mut u8, c: &KvCommand) -> KvOutput {
        match *c {
            KvCommand::Read { .. } => KvOutput::Value(*value),
            KvCommand::Write { value: v, .. } => {
                *value = v;
                KvOutput::Written
            }
            KvCommand::Cas { from, to, .. } => {
                let ok = *value == from;
                if ok {
                    *value = to;
                }
                KvOutput::Set(ok)
            }
        }
    }
}

impl Machine for Kv {
    type Command = KvCommand;
    type Output = KvOutput;

    fn apply(&mut self, c: &KvCommand) -> KvOutput {
        Kv::step(&mut self.values[c.key() as usize % KEYS as usize], c)
    }

    fn read_only(&self, c: &KvCommand) -> Option<KvOutput> {
        match *c {
            KvCommand::Read { key } => Some(KvOutput::Value(self.values[key as usize % KEYS as usize])),
            _ => None,
        }
    }

    fn command_words(c: &KvCommand) -> Vec<u64> {
        c.words()
    }

    fn output_word(o: &KvOutput) -> u64 {
        o.word()
    }
}

/// Client `client`'s operation number `seq` (from 1): reads 2 in 5, writes 2
/// in 5, a compare-and-set 1 in 5, over the keys in turn.
pub fn command(client: usize, seq: u32) -> KvCommand {
    let s = seq as u64 + client as u64 * 7;
    let key = (s % KEYS) as u8;
    let v = 1 + ((s / KEYS + client as u64) % 3) as u8;
    match s % 5 {
        0 | 2 => KvCommand::Read { key },
        1 | 3 => KvCommand::Write { key, value: v },
        _ => KvCommand::Cas { key, from: v % 3 + 1, to: v },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_words_and_mix_kinds() {
        let mut kinds = [0; 3];
        for c in 0..3 {
            for s in 1..=30 {
                let cmd = command(c, s);
                assert_eq!(KvCommand::from_words(&cmd.words()), Some(cmd));
                kinds[cmd.words()[0] as usize] += 1;
            }
        }
        // 90 operations: 2/5 reads, 2/5 writes, 1/5 compare-and-sets.
        assert_eq!(kinds, [36, 36, 18]);
    }

    #[test]
    fn compare_and_set_sets_only_on_a_match() {
        let mut kv = Kv::default();
        assert_eq!(kv.apply(&KvCommand::Cas { key: 1, from: 1, to: 2 }), KvOutput::Set(false));
        assert_eq!(kv.apply(&KvCommand::Write { key: 1, value: 1 }), KvOutput::Written);
        assert_eq!(kv.apply(&KvCommand::Cas { key: 1, from: 1, to: 2 }), KvOutput::Set(true));
        assert_eq!(kv.apply(&KvCommand::Read { key: 1 }), KvOutput::Value(2));
        assert_eq!(kv.read_only(&KvCommand::Read { key: 0 }), Some(KvOutput::Value(0)));
    }
}
