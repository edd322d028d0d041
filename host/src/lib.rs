//! The hyperplug engine: run hyperparameter-optimization studies with any strategy and objective
//! the [`Registry`] knows, bundled into the host or loaded from plugin libraries.
//!
//! The `hyperplug` binary is a thin CLI over this library. Rust programs use it directly: declare
//! a space, pick a strategy by name, and let a study drive a closure:
//!
//! ```
//! use hyperplug::{Budget, Direction, Domain, Param, Registry, Settings, Space, Study, StudyConfig};
//!
//! let mut registry = Registry::bundled();
//! registry.load_plugin_path(&[]); // plugins on HYPERPLUG_PLUGIN_PATH replace bundled ones
//!
//! let space = Space::new(vec![
//!     Param::new("lr", Domain::float(1e-4, 1e-1).log()),
//!     Param::new("layers", Domain::int(1, 3)),
//! ])?;
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(7);
//! let qmc = registry.strategy("qmc").expect("qmc is bundled");
//! let mut study = Study::new(config, &*qmc.factory, &Settings::default())?;
//!
//! study.optimize_fn(Budget::trials(32), |p, _ctx| {
//!     let lr = p["lr"].as_f64().unwrap_or(1.0);
//!     let layers = p["layers"].as_i64().unwrap_or(1) as f64;
//!     Ok((lr.log10() + 2.0).powi(2) + (layers - 2.0).powi(2))
//! })?;
//! let best = study.best_trial().expect("32 trials ran");
//! assert!(best.values[0] < 0.5);
//!
//! // Or drive it by hand, e.g. when trials are evaluated elsewhere:
//! let trial = study.ask()?;
//! study.tell(trial.number, Ok(1.0.into()))?;
//! assert_eq!(study.finished().len(), 33);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: only `hyperplug-loader` (used here as [`plugin`], and by the testkit)
//! loads dynamic libraries; the domain model and the algorithms never do.
#![warn(missing_docs)]

pub mod bench;
pub mod config;
pub mod format;
pub mod plugin;
pub mod progress;
pub mod registry;
pub mod resources;
pub mod run;
pub mod studies;

pub use hyperplug_core::*;
pub use registry::{Registry, Source};
