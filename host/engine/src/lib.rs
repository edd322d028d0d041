//! The hyperplug engine: run hyperparameter-optimization studies with any strategy and objective
//! the [`Registry`] knows, bundled into the host or loaded from plugin libraries.
//!
//! It holds what every front end shares: study files ([`config`]), the registry and plugin
//! loading ([`registry`], [`plugin`]), the machine's devices ([`resources`]), preparing and
//! running a study in its store ([`run`]), and the data of stored studies ([`studies`]). The
//! `hyperplug` CLI, the Python package and the HTTP server are front ends over it.
//!
//! Architecture invariant: the engine has no front end's dependencies. No argument parsing
//! (clap), progress bars (indicatif), signal handling (ctrlc), no heavy objectives (the MLP's
//! hyperplug-nn and its candle: front ends add such objectives to [`Registry::bundled`]), and no
//! terminal output: it reports through [`Observer`]s, return values and `log`.
//!
//! Rust programs use it directly: declare a space, pick a strategy by name, and let a study
//! drive a closure:
//!
//! ```
//! use hyperplug_engine::{Budget, Direction, Domain, Param, Registry, Settings, Space, Study, StudyConfig};
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
//! Front ends that evaluate trials themselves, from many threads or processes, lend them out with
//! a [`SharedStudy`]: each [`Lease`] keeps its trial alive in the store until it is told.
//!
//! ```
//! use hyperplug_engine::{Direction, Domain, Param, Registry, Settings, SharedStudy, Space, StudyConfig};
//!
//! let space = Space::new(vec![Param::new("x", Domain::float(-1.0, 1.0))])?;
//! let config = StudyConfig::new("shared", space, vec![Direction::Minimize]).seed(7);
//! let registry = Registry::bundled();
//! let study =
//!     SharedStudy::create("memory", config, "tpe", None, &Settings::default(), None, Some(20), &registry)?;
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| {
//!             while let Some(lease) = study.ask()? {
//!                 let x = lease.params()["x"].as_f64().unwrap_or(0.0);
//!                 lease.tell(Ok((x * x).into()))?;
//!             }
//!             Ok::<(), hyperplug_engine::Error>(())
//!         });
//!     }
//! });
//! assert_eq!(study.trials()?.len(), 20);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Architecture invariant: only `hyperplug-loader` (used here as [`plugin`], and by the testkit)
//! loads dynamic libraries; the domain model and the algorithms never do.
#![warn(missing_docs)]

pub mod config;
pub mod lease;
pub mod plugin;
pub mod registry;
pub mod resources;
pub mod run;
pub mod studies;

pub use config::Component;
pub use hyperplug_core::*;
pub use lease::{Lease, SharedStudy};
pub use registry::{Registry, Source};
