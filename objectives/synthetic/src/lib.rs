//! Synthetic benchmark functions with known optima, for testing and comparing strategies:
//! Branin, Hartmann-3 and -6, Rosenbrock, Ackley, Levy, Styblinski-Tang, Rastrigin, Griewank, and
//! the two-objective ZDT1, ZDT2 and ZDT3, and the three-objective DTLZ2.
//!
//! Each function is available three ways:
//!
//! - as a pure function of a point ([`branin`], [`zdt1`], …), for benchmark code and tests;
//! - as a [`Function`], which knows its name, domain, metrics, optimum and minimizers (and, for
//!   ZDT, points on its true Pareto front: [`zdt1_front`], …);
//! - as an [`ObjectiveFactory`] ([`factories`]), which a study
//!   file names (`branin`, `styblinski_tang`, `zdt3`, …) and configures with `dim`, `noise` and
//!   `noise_seed` (see [`SyntheticFactory`]). Its objective defines its own space of float
//!   parameters `x0, x1, …`.
//!
//! Architecture invariant: this crate does no IO (no files, no logging, no clock) and keeps no
//! global state; it depends on `hyperplug-core` only. Noise is drawn from a generator seeded by
//! the settings and the trial number, so noisy runs reproduce.
//!
//! ```
//! use std::f64::consts::PI;
//! use hyperplug_synthetic::{BRANIN_OPTIMUM, Function, branin, rosenbrock};
//!
//! assert!((branin(&[PI, 2.275]) - BRANIN_OPTIMUM).abs() < 1e-12);
//! assert_eq!(rosenbrock(&[0.0, 0.0, 0.0]), 2.0);
//!
//! let f = Function::from_name("styblinski_tang").expect("a known name");
//! assert_eq!(f.space(4).expect("4 is a valid dim").len(), 4);
//! assert_eq!(f.bounds(0), (-5.0, 5.0));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod catalog;
mod functions;
mod objective;
mod zdt;

use hyperplug_core::ObjectiveFactory;

pub use catalog::{Function, MAX_DIM};
pub use functions::{
    BRANIN_MINIMIZERS, BRANIN_OPTIMUM, HARTMANN3_MINIMIZER, HARTMANN3_OPTIMUM, HARTMANN6_MINIMIZER,
    HARTMANN6_OPTIMUM, STYBLINSKI_TANG_MINIMIZER, STYBLINSKI_TANG_OPTIMUM_PER_DIM, ackley, branin,
    griewank, hartmann3, hartmann6, levy, rastrigin, rosenbrock, styblinski_tang,
};
pub use objective::SyntheticFactory;
pub use zdt::{
    ZDT3_FRONT_SEGMENTS, ZDT3_MIN_F2, dtlz2, dtlz2_front, zdt1, zdt1_front, zdt2, zdt2_front, zdt3,
    zdt3_front,
};

/// The factories of all thirteen functions, in the order of [`Function::ALL`]: branin, hartmann3,
/// hartmann6, rosenbrock, ackley, levy, styblinski_tang, rastrigin, griewank, zdt1, zdt2, zdt3, dtlz2.
pub fn factories() -> Vec<Box<dyn ObjectiveFactory>> {
    Function::ALL
        .into_iter()
        .map(|f| Box::new(SyntheticFactory::new(f)) as Box<dyn ObjectiveFactory>)
        .collect()
}
