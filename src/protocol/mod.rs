//! The coherence protocols as tables.
//!
//! Each controller's behaviour is one function `(state, event) -> Option<Row>` per
//! protocol: a row names the actions to run, in order, and the next state. The
//! controllers in `crate::model` classify an input into an event, look the row up
//! and run its actions; `cohsim table` renders the very same functions as Markdown.
//! A pair with no row is impossible: the controller reports it as a protocol error
//! naming the state, the event, the line and the cycle.
//!
//! The shape is the directory protocol of Nagarajan, Sorin, Hill and Wood, *A Primer
//! on Memory Consistency and Cache Coherence* (2nd ed., ch. 8), with the deltas for E
//! and O. MOESI is written as its own rows over MESI ("MOESI = MESI + these rows"),
//! MSI as MESI without the exclusive grant.
//!
//! ## Network assumption
//!
//! Three virtual networks: request, forward, response. The protocols rely on
//! **point-to-point order on the forward network**: two forward messages from the same
//! source to the same destination about the same line arrive in the order sent (a
//! Put-Ack and a later Fwd-GetM; an AckCount and a later Fwd-GetM). Nothing else
//! is ordered. AckCount therefore travels on the forward network (the map in
//! PROTOCOLS.md puts it with the responses; see `MsgKind::vnet` for the race). The timed network guarantees per-(source, destination) FIFO on the forward
//! network and, under `stress`, jitters request and response messages freely; the
//! model checker delivers request and response messages in any order and forward
//! messages in per-(source, destination, line) FIFO order.

pub mod dir_table;
pub mod l1_table;
pub mod mutation;
pub mod render;
pub mod snoop_table;

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Msi,
    Mesi,
    Moesi,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Msi => "msi",
            Protocol::Mesi => "mesi",
            Protocol::Moesi => "moesi",
        }
    }

    pub const ALL: [Protocol; 3] = [Protocol::Msi, Protocol::Mesi, Protocol::Moesi];
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol name that is none of msi, mesi or moesi; its message names them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?}: expected msi, mesi or moesi")]
pub struct UnknownProtocol(pub String);

/// `msi`, `mesi` or `moesi`, in any case: the one parser of protocol names.
impl FromStr for Protocol {
    type Err = UnknownProtocol;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownProtocol(s.to_string()))
    }
}

/// One row of a table: the actions, in order, and the next state (`None`: unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<S: 'static, A: 'static> {
    pub actions: &'static [A],
    pub next: Option<S>,
}

pub(crate) const fn go<S, A>(actions: &'static [A], next: S) -> Row<S, A> {
    Row { actions, next: Some(next) }
}

pub(crate) const fn stay<S, A>(actions: &'static [A]) -> Row<S, A> {
    Row { actions, next: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_in_any_case_and_nothing_else_does() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse(), Ok(p));
            assert_eq!(p.name().to_ascii_uppercase().parse(), Ok(p));
        }
        let e = "mosi".parse::<Protocol>().unwrap_err();
        assert_eq!(e.to_string(), r#"unknown protocol "mosi": expected msi, mesi or moesi"#);
    }
}
