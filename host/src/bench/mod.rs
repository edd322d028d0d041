//! The benchmark harness (being built; see issue 3).

use anyhow::{Result, bail};

/// Arguments of `hyperplug bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {}

/// Runs `hyperplug bench`.
pub fn main(_args: BenchArgs) -> Result<()> {
    bail!("`hyperplug bench` is not available in this build yet")
}
