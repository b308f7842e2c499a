//! The untimed world's shared pieces: what a stateright check found for each
//! property of a model, read off the finished checker. The apps' checks
//! (`apps::mutex::check`, `apps::broadcast::check`) report through it.

use std::fmt::Debug;

use stateright::{Checker, Expectation, Model};

/// A property and what stateright found for it.
#[derive(Clone, Debug)]
pub struct PropertyReport {
    pub name: &'static str,
    pub expectation: Expectation,
    /// Stateright's discovery, as the actions from the initial state: a
    /// counterexample for `always`/`eventually`, an example for `sometimes`.
    pub discovery: Option<Vec<String>>,
}

impl PropertyReport {
    /// The property is as expected: an example found for `sometimes`, no
    /// counterexample for the others.
    pub fn holds(&self) -> bool {
        match self.expectation {
            Expectation::Sometimes => self.discovery.is_some(),
            Expectation::Always | Expectation::Eventually => self.discovery.is_none(),
        }
    }
}

/// Every property of the checker's model with its discovery, in the model's
/// order.
pub fn properties<M, C>(checker: &C) -> Vec<PropertyReport>
where
    M: Model,
    M::State: Clone + PartialEq,
    M::Action: Clone + PartialEq + Debug,
    C: Checker<M>,
{
    let mut found = checker.discoveries();
    let model = checker.model();
    model
        .properties()
        .into_iter()
        .map(|p| PropertyReport {
            name: p.name,
            expectation: p.expectation,
            discovery: found
                .remove(p.name)
                .map(|path| path.into_actions().iter().map(|a| model.format_action(a)).collect()),
        })
        .collect()
}
