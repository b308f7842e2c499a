//! `cohsim table PROTOCOL`: the controllers' transition tables as Markdown.

use clap::Args;

use super::common::parse_protocol;
use crate::protocol::render;

#[derive(Args, Debug)]
pub struct TableArgs {
    /// msi, mesi or moesi.
    pub protocol: String,
}

pub fn run(a: TableArgs) -> anyhow::Result<i32> {
    let p = parse_protocol(&a.protocol, "PROTOCOL")?;
    super::out!("{}", render::markdown(p))?;
    Ok(0)
}
