//! Parameter importance: which hyperparameters mattered to a study's objective.
//!
//! Two evaluators, both returning one [`Importance`] per parameter of the space, most important
//! first, normalized to sum to one:
//!
//! - [`Fanova`]: functional ANOVA over a random forest (Hutter, Hoos and Leyton-Brown, "An
//!   Efficient Approach for Assessing Hyperparameter Importance", ICML 2014). A forest of
//!   regression trees is fitted to the trials; for each tree, the variance of its prediction
//!   over the whole space is split exactly into the share explained by each parameter alone
//!   (the variance of the parameter's marginal), which trees make cheap because a tree is
//!   constant on boxes. A parameter's importance is its share, averaged over the trees.
//! - [`PedAnova`]: PED-ANOVA (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently Quantifying
//!   Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023). A parameter matters when
//!   the values it takes in the best trials (the top `target_quantile`) are distributed
//!   differently from those in a reference region (the top `region_quantile`, by default all
//!   trials): the Pearson divergence between the two densities, estimated with Parzen
//!   estimators on a grid. Needs no model, so it is cheap on many trials.
//!
//! Both see a parameter in the unit coordinates of its domain (`Domain::to_unit`: a log
//! parameter uniformly in its logarithm), a categorical one as a set of unordered choices, and
//! a conditional parameter with one more value, "inactive", weighted by how often it was
//! inactive, so that a parameter that matters only when its parent enables it still counts.
//!
//! This crate only computes: no IO. It depends on `hyperplug-core` for the space and values.
//!
//! ```
//! use hyperplug_core::{Domain, Param, Params, Space, Value};
//! use hyperplug_importance::Fanova;
//! use rand::{Rng, SeedableRng};
//!
//! let space = Space::new(vec![
//!     Param::new("x", Domain::float(-1.0, 1.0)),
//!     Param::new("noise", Domain::float(-1.0, 1.0)),
//! ])
//! .unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let trials: Vec<(Params, f64)> = (0..100)
//!     .map(|_| {
//!         let (x, n) = (rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0));
//!         let p: Params = [("x".to_owned(), Value::Float(x)), ("noise".to_owned(), Value::Float(n))]
//!             .into_iter()
//!             .collect();
//!         (p, x * x)
//!     })
//!     .collect();
//! let samples: Vec<(&Params, f64)> = trials.iter().map(|(p, v)| (p, *v)).collect();
//! let ranking = Fanova::default().evaluate(&space, &samples).unwrap();
//! assert_eq!(ranking[0].param, "x");
//! assert!(ranking[0].importance > 0.9);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod encode;
mod fanova;
mod forest;
mod ped_anova;

pub use crate::fanova::Fanova;
pub use crate::ped_anova::PedAnova;

/// How much one parameter mattered.
#[derive(Clone, Debug, PartialEq)]
pub struct Importance {
    /// The parameter's name.
    pub param: String,
    /// Its importance, normalized so that all parameters' sum to one (all zero when nothing
    /// varied).
    pub importance: f64,
    /// The evaluator's own measure before normalizing: for fANOVA the share of the variance the
    /// parameter explains alone (the shares of all parameters sum to one only when the
    /// objective is additive), for PED-ANOVA the Pearson divergence.
    pub raw: f64,
}

/// Why importance cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ImportanceError {
    /// Too few trials with a finite value.
    #[error(
        "parameter importance needs at least {needed} complete trials with finite values, and there are {found}"
    )]
    TooFewTrials {
        /// How many are needed.
        needed: usize,
        /// How many there are.
        found: usize,
    },
    /// The space has no parameter.
    #[error("the study's space has no parameter to rank")]
    NoParameters,
    /// A setting is out of its range.
    #[error("{0}")]
    Setting(String),
}

/// Sorts by importance (ties by name, for a stable order) after normalizing `raw` to sum to one.
fn ranked(names: Vec<String>, raw: Vec<f64>) -> Vec<Importance> {
    let total: f64 = raw.iter().filter(|v| v.is_finite()).sum();
    let mut out: Vec<Importance> = names
        .into_iter()
        .zip(raw)
        .map(|(param, raw)| {
            let raw = if raw.is_finite() { raw.max(0.0) } else { 0.0 };
            Importance {
                param,
                importance: if total > 0.0 { raw / total } else { 0.0 },
                raw,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.importance
            .total_cmp(&a.importance)
            .then_with(|| a.param.cmp(&b.param))
    });
    out
}

#[cfg(test)]
pub(crate) mod testing {
    use hyperplug_core::{Domain, Param, Params, Space, Value};
    use rand::{Rng, SeedableRng};

    /// A mixed problem with known importances: `x` (log-float) matters most, the categorical
    /// `kind` next, `units` (int, active only when `kind` is "wide") matters when active, and
    /// `noise_a` (float) and `noise_b` (categorical) do not matter at all.
    pub fn space() -> Space {
        Space::new(vec![
            Param::new("x", Domain::float(1e-3, 1.0).log()),
            Param::new("noise_a", Domain::float(0.0, 10.0)),
            Param::new("kind", Domain::choice(["narrow", "wide", "deep"])),
            Param::new("units", Domain::int(1, 64)).when("kind", ["wide"]),
            Param::new("noise_b", Domain::choice(["p", "q", "r", "s"])),
        ])
        .unwrap()
    }

    /// `n` trials drawn uniformly (in unit coordinates) with the problem's value.
    pub fn trials(n: usize, seed: u64) -> Vec<(Params, f64)> {
        let space = space();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let p = space.assign(|param| param.domain.from_unit(rng.random::<f64>()));
                let lx = p["x"].as_f64().unwrap_or(1.0).log10(); // in [-3, 0]
                let kind = match p["kind"].as_str() {
                    Some("narrow") => 0.0,
                    Some("wide") => 1.5,
                    _ => 3.0,
                };
                let units = match p.get("units") {
                    Some(Value::Int(u)) => 4.0 * (*u as f64 / 64.0 - 0.5).abs(),
                    _ => 0.0,
                };
                let v = ((lx + 1.5) * 2.0).powi(2) + kind + units + 0.05 * rng.random::<f64>();
                (p, v)
            })
            .collect()
    }

    pub fn names(ranking: &[crate::Importance]) -> Vec<&str> {
        ranking.iter().map(|i| i.param.as_str()).collect()
    }

    pub fn view(trials: &[(Params, f64)]) -> Vec<(&Params, f64)> {
        trials.iter().map(|(p, v)| (p, *v)).collect()
    }
}
