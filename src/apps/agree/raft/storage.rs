//! The lock service's storage server (one core): the resource the lock
//! protects. It accepts a client's write only if the write's fencing token
//! is at least the highest it has accepted, so a former holder (paused,
//! partitioned, slow) cannot write once a later holder has: the holders'
//! writes reach the resource in token order. The highest token is saved
//! before the answer (a durable write per new highest token), so a storage
//! server restarted after `crash:C@T+D` keeps refusing stale tokens.
//! Under `broken-no-fencing` it accepts every write.
//!
//! Notes: `accept` and `reject`, each with the client, the token and the
//! highest token accepted before it.

use stateright::actor::{Id, Out};

use super::lockservice::{LMsg, LStored, LockService};
use crate::exec::actor::Note;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct StorageState {
    /// The highest token accepted.
    pub max: u64,
    pub accepted: u32,
    pub rejected: u32,
    /// The latest write: client, token, the highest token before it.
    pub last: Option<(u32, u64, u64)>,
}

pub fn start(storage: &Option<LStored>) -> StorageState {
    let max = match storage {
        Some(LStored::Storage { max }) => *max,
        _ => 0,
    };
    StorageState { max, ..StorageState::default() }
}

pub fn on_write(ls: &LockService, s: &mut StorageState, src: usize, token: u64, o: &mut Out<LockService>) {
    let before = s.max;
    let accepted = !ls.fencing || token >= s.max;
    if accepted {
        s.accepted += 1;
    } else {
        s.rejected += 1;
    }
    if token > s.max {
        s.max = token;
        o.save(LStored::Storage { max: token });
    }
    s.last = Some((src as u32, token, before));
    o.send(Id::from(src), LMsg::Written { token, accepted });
}

pub fn notes(before: Option<&StorageState>, s: &StorageState, notes: &mut Vec<Note>) {
    let Some(b) = before else { return };
    let Some((client, token, max)) = s.last else { return };
    let words = [u64::from(client), token, max];
    if s.accepted > b.accepted {
        notes.push(Note::new("accept", &words));
    }
    if s.rejected > b.rejected {
        notes.push(Note::new("reject", &words));
    }
}
