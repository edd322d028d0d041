//! The `hyperplug` CLI's library: what the binary adds over the engine ([`hyperplug_engine`]):
//! progress bars, the text of study listings, the benchmark runner, and the bundled objectives too
//! heavy for the engine (the MLP, which builds candle).
//!
//! The engine's modules are re-exported here, so `hyperplug::run` and `hyperplug::Registry` name
//! the engine's.
#![warn(missing_docs)]

use std::sync::Arc;

pub mod bench;
pub mod format;
pub mod progress;
pub mod studies;

pub use hyperplug_engine::*;

/// The engine's bundled strategies and objectives ([`Registry::bundled`]) and the CLI's own:
/// the MLP objective (a neural network by cross-validation).
pub fn bundled() -> Registry {
    let mut registry = Registry::bundled();
    registry.add_objective(Arc::new(hyperplug_nn::Mlp), Source::Bundled);
    registry
}
