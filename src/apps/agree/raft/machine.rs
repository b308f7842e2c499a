//! The replicated state machine Raft drives: what a log entry's command does
//! once committed. Raft itself (`node`) knows nothing of the commands; it
//! orders them, and every server applies the same commands in the same order
//! to its own copy of a `Machine`, so all copies go through the same states
//! (state-machine safety). A lock service, a key-value store (`kv`) or the
//! trivial `Appender` of the `raft` app plug in here.
//!
//! **The contract** a machine must keep:
//! - `apply` is deterministic: the same state and command give the same new
//!   state and output on every server (no clocks, no randomness, no
//!   iteration in hash order).
//! - A machine is plain data (`Clone + Eq + Hash`): it lives in the actor's
//!   state, which stateright hashes and the runtime clones per handler, so
//!   keep it small (a few keys, a counter, a lock table).
//! - Commands and outputs travel in messages (serde, postcard-encoded into
//!   ring slots of `SLOT_LINES` lines): keep them a few words.
//!
//! Client sessions (exactly-once) are not the machine's business: Raft's
//! `Sessions` (below) answers a retried command from its cache instead of
//! applying it twice, so `apply` sees each client command once.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A deterministic state machine replicated by Raft.
pub trait Machine: Clone + Debug + Default + Eq + Hash {
    /// What a client asks for (an entry of the log).
    type Command: Clone + Debug + Eq + Hash + Ord + Serialize + DeserializeOwned;
    /// What the client is told when its command has been applied.
    type Output: Clone + Debug + Eq + Hash + Ord + Serialize + DeserializeOwned;

    /// Applies a committed command; the same on every server.
    fn apply(&mut self, command: &Self::Command) -> Self::Output;

    /// The answer to `command` from this copy's state alone, if the command
    /// only reads. Only the deliberately broken `broken-stale-read` variant
    /// calls it (a correct server never answers outside the log: a follower's
    /// or a deposed leader's copy may be behind).
    fn read_only(&self, command: &Self::Command) -> Option<Self::Output> {
        let _ = command;
        None
    }

    /// The command as words, for the clients' notes (the history the
    /// linearizability check reads); empty if nothing checks it.
    fn command_words(command: &Self::Command) -> Vec<u64> {
        let _ = command;
        Vec::new()
    }

    /// The output as one word, for the clients' notes.
    fn output_word(output: &Self::Output) -> u64 {
        let _ = output;
        0
    }
}

/// The replicated machine with its client sessions: per client, the last
/// command sequence number applied and its output. A command whose number
/// is not above the client's last is a retry already applied: its cached
/// output is returned and the machine is not touched (Raft paper §8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sessions<M: Machine> {
    pub machine: M,
    pub last: BTreeMap<u32, (u32, M::Output)>,
}

impl<M: Machine> Default for Sessions<M> {
    fn default() -> Self {
        Sessions { machine: M::default(), last: BTreeMap::new() }
    }
}

impl<M: Machine> Sessions<M> {
    /// Applies client `client`'s command number `seq` once; the output.
    pub fn apply(&mut self, client: u32, seq: u32, command: &M::Command) -> M::Output {
        if let Some((last, out)) = self.last.get(&client)
            && seq <= *last
        {
            return out.clone();
        }
        let out = self.machine.apply(command);
        self.last.insert(client, (seq, out.clone()));
        out
    }
}

/// The `raft` app's machine: a log of numbers, kept as their count and a
/// running digest. `Append(x)` returns the position the number took (1, 2,
/// ...), so a client can see its number was applied exactly once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Appender {
    pub count: u64,
    pub digest: u64,
}

impl Machine for Appender {
    type Command = u64;
    type Output = u64;

    fn apply(&mut self, x: &u64) -> u64 {
        self.count += 1;
        self.digest = self.digest.rotate_left(5) ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.count
    }

    fn command_words(x: &u64) -> Vec<u64> {
        vec![*x]
    }

    fn output_word(position: &u64) -> u64 {
        *position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_command_is_applied_once() {
        let mut s = Sessions::<Appender>::default();
        assert_eq!(s.apply(7, 1, &10), 1);
        assert_eq!(s.apply(8, 1, &20), 2);
        // Client 7 retries its command 1: the cached position, no new entry.
        assert_eq!(s.apply(7, 1, &10), 1);
        assert_eq!(s.machine.count, 2);
        assert_eq!(s.apply(7, 2, &30), 3);
    }
}
