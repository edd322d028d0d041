//! The domain model of hyperplug: search spaces, parameter values, trials, studies, and the
//! [`Strategy`], [`Pruner`] and [`Objective`] traits that every algorithm and every workload
//! implements. A study asks its strategy where to go next and, after each step a running trial
//! reports, its pruner (if it has one, [`Study::set_pruner`]) whether the trial stops there.
//!
//! An objective may declare what each of its trials needs of the machine ([`TrialResources`],
//! through [`Objective::resources`]): a GPU trainer declares a device per trial so that study
//! files need not. Core only records the declaration; the caller, which knows the machine,
//! settles it against the user's wishes and hands the executor the devices to lend
//! ([`RunOptions`]).
//!
//! Architecture invariant: this crate does no IO and no FFI. It knows nothing of files,
//! terminals, databases or dynamic libraries; the host and the ABI crate build on it. Everything
//! random takes its generator or seed as a parameter: there is no global RNG here.
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Space, Study, StudyConfig, TrialError};
//! # use hyperplug_core::{Settings, StrategyFactory, PluginInfo, Capabilities, Strategy, AskContext, Params, Error};
//! # struct Center;
//! # impl StrategyFactory for Center {
//! #     fn info(&self) -> PluginInfo { PluginInfo::new("center", "0.1.0", "", Capabilities::all()) }
//! #     fn create(&self, _: &hyperplug_core::StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> { Ok(Box::new(Center)) }
//! # }
//! # impl Strategy for Center {
//! #     fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
//! #         Ok(ctx.space.assign(|p| p.domain.from_unit(0.5)))
//! #     }
//! # }
//! let space = Space::new(vec![Param::new("x", Domain::float(-5.0, 5.0))]).unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]);
//! let mut study = Study::new(config, &Center, &Settings::default()).unwrap();
//!
//! // Let the study drive a closure...
//! study
//!     .optimize_fn(Budget::trials(3), |params, _ctx| {
//!         let x = params["x"].as_f64().ok_or_else(|| TrialError::failed("x is not a float"))?;
//!         Ok((x - 1.0).powi(2))
//!     })
//!     .unwrap();
//! // ...or drive it by hand with ask and tell.
//! let trial = study.ask().unwrap();
//! study.tell(trial.number, Ok(vec![0.25].into())).unwrap();
//! assert_eq!(study.finished().len(), 4);
//! assert_eq!(study.best_trial().unwrap().values, vec![0.25]);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod capability;
mod error;
mod executor;
mod hypervolume;
mod objective;
mod pareto;
mod pruner;
mod rng;
mod settings;
mod space;
mod storage;
mod strategy;
mod study;
mod trial;
mod value;

pub use capability::{Capabilities, Requirements};
pub use error::{Error, SpaceError};
pub use hypervolume::{hypervolume, hypervolume_monte_carlo};
pub use objective::{
    Evaluation, FnObjective, Metric, Objective, ObjectiveFactory, TrialContext, TrialResources,
};
pub use pareto::{dominates, pareto_front};
pub use pruner::{PruneContext, Pruner, PrunerFactory, PrunerSetup, value_at, values_at};
pub use rng::{SeedRng, trial_rng};
pub use settings::Settings;
pub use space::{Condition, Domain, Param, Space};
pub use storage::{MemoryStorage, Storage, StudyId, StudyRecord};
pub use strategy::{AskContext, PluginInfo, Strategy, StrategyFactory, StudySetup};
pub use study::{
    Budget, Direction, Observer, OpenTrial, Pulse, RunOptions, Study, StudyConfig, panic_message,
};
pub use trial::{Trial, TrialError, TrialOutcome, TrialState};
pub use value::{Params, Value};
