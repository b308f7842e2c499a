//! `cohsim table PROTOCOL`: the controllers' transition tables as Markdown.

use clap::Args;

use crate::protocol::{Protocol, render};

#[derive(Args, Debug)]
pub struct TableArgs {
    /// msi, mesi or moesi.
    pub protocol: String,
}

pub fn run(a: TableArgs) -> anyhow::Result<i32> {
    let p = Protocol::parse(&a.protocol)
        .ok_or_else(|| anyhow::anyhow!("unknown protocol {:?}: expected msi, mesi or moesi", a.protocol))?;
    super::out!("{}", render::markdown(p))?;
    Ok(0)
}
