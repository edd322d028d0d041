//! Population methods for one objective: a genetic algorithm (`ga`) and differential evolution
//! (`de`), plus what NSGA-II/III (`hyperplug-nsga`) share with them: parameters as genes
//! ([`genome`]), variation operators ([`operators`]) and generations replayed from the stored
//! history ([`population`]).
//!
//! **Genes.** Each parameter is a coordinate of the unit cube ([`Domain::to_unit`](hyperplug_core::Domain::to_unit)), so log
//! scales, ints and steps are handled by the domain; a categorical parameter is its choice's
//! index. A parameter a trial lacked (inactive under its condition) is missing from its genes; a
//! child inherits it from the other parent, or draws it at random when it becomes active.
//!
//! **Generations.** Generation `k` is the `k`-th block of `population` complete trials in finish
//! order; when it fills, survival merges it into the parents. Trials are bred from the parents
//! of the closed generations with `trial_rng(seed, number)`. So the population is a pure
//! function of the stored finished trials: a resumed study or a worker joining mid-generation
//! replays the same history into the same parents and continues the same generation, and
//! parallel asks need no coordination (see [`population`]). Until the first generation closes,
//! trials are uniformly random.
//!
//! **`ga`**: parents by tournament, a child by crossover (SBX on numbers, uniform on choices;
//! or uniform on all) and polynomial mutation (a fresh random choice for categorical genes);
//! elitist survival keeps the best `elites` of parents and generation, then the generation's
//! best. Constraints (`constraints`, user attributes that must be ≤ 0, as TPE's) rank feasible
//! before infeasible, less violation first.
//!
//! | key | default | what |
//! |---|---|---|
//! | `population` | `10` | complete trials per generation, and parents kept |
//! | `crossover` | `"sbx"` | `"sbx"` (simulated binary) or `"uniform"` |
//! | `crossover_prob` | `0.9` | chance a child is a crossover rather than a copy |
//! | `eta_crossover` | `15` | SBX distribution index (larger: children nearer their parents) |
//! | `swap_prob` | `0.5` | per gene: chance it is crossed (SBX) or taken from the second parent |
//! | `mutation_prob` | `1 / parameters` | per gene: chance it mutates |
//! | `eta_mutation` | `5` | polynomial mutation's distribution index (Deb's 20 steps too timidly at a few hundred trials) |
//! | `tournament` | `2` | entrants per tournament |
//! | `elites` | `population` | best of parents and generation always kept; `population` is (μ + λ), `0` generational |
//! | `constraints` | `[]` | trial attributes that must be ≤ 0 |
//!
//! **`de`**: trial `n` is bred for target slot `n mod population`: the mutant
//! `base + F (a - b)` (base a random member for `"rand/1/bin"`, the best for `"best/1/bin"`;
//! `a`, `b` random, all distinct and not the target; out-of-bounds genes go halfway between the
//! target and the bound), then binomial crossover with the target at rate `CR` (one gene
//! always from the mutant). Categorical genes take the base's choice, or a random one with
//! chance `F` when `a` and `b` differ. When its generation closes, each trial replaces its
//! target if at least as good.
//!
//! | key | default | what |
//! |---|---|---|
//! | `population` | `20` | at least 4 |
//! | `variant` | `"best/1/bin"` | or `"rand/1/bin"` (explores more, converges slower) |
//! | `differential_weight` | `0.5` | `F`, in (0, 2] |
//! | `crossover_rate` | `0.9` | `CR`, in [0, 1] |
//! | `constraints` | `[]` | trial attributes that must be ≤ 0 |
//!
//! The defaults that differ from the textbook's (`ga`: population 10 and `eta_mutation = 5`;
//! `de`: best/1/bin) were chosen on the nine single-objective synthetic functions at 300 trials
//! with development seeds 100–109 and confirmed on the benchmark's seeds 0–19
//! (docs/BENCHMARKS.md, "Evolutionary strategies"): at a few hundred trials, small populations
//! and greedy variants converge in time.
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_genetic::Genetic;
//!
//! let space = Space::new(vec![
//!     Param::new("x", Domain::float(-5.0, 5.0)),
//!     Param::new("kind", Domain::choice(["a", "b"])),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(1);
//! let mut study = Study::new(config, &Genetic, &Settings::default()).unwrap();
//! study
//!     .optimize_fn(Budget::trials(200), |p, _| {
//!         let x = p["x"].as_f64().unwrap();
//!         let penalty = if p["kind"].as_str() == Some("b") { 0.0 } else { 1.0 };
//!         Ok((x - 1.0).powi(2) + penalty)
//!     })
//!     .unwrap();
//! assert!(study.best_trial().unwrap().values[0] < 0.01);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `rand` and `serde` only; no IO, no FFI,
//! no global RNG.
#![forbid(unsafe_code)]

mod de;
mod ga;
pub mod genome;
pub mod operators;
pub mod population;

use hyperplug_core::{Capabilities, Error, PluginInfo, Strategy, StrategyFactory, StudySetup};

pub use ga::check_variation;

/// Makes genetic-algorithm strategies (`ga`); see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Genetic;

/// Makes differential-evolution strategies (`de`); see the crate documentation.
#[derive(Clone, Copy, Debug, Default)]
pub struct DifferentialEvolution;

/// One objective; categorical, conditional and parallel: yes.
fn capabilities() -> Capabilities {
    Capabilities {
        categorical: true,
        conditional: true,
        multi_objective: false,
        parallel: true,
    }
}

impl StrategyFactory for Genetic {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            ga::NAME,
            env!("CARGO_PKG_VERSION"),
            "Genetic algorithm: tournament selection, SBX or uniform crossover, polynomial \
             mutation, elitism; mixed and conditional spaces, constraints.",
            capabilities(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s = ga::GaSettings::parse(setup.settings)?;
        Ok(Box::new(ga::GaStrategy::new(setup.space, s)))
    }
}

impl StrategyFactory for DifferentialEvolution {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            de::NAME,
            env!("CARGO_PKG_VERSION"),
            "Differential evolution: DE/rand/1/bin or DE/best/1/bin; mixed and conditional \
             spaces, constraints.",
            capabilities(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s = de::DeSettings::parse(setup.settings)?;
        Ok(Box::new(de::DeStrategy::new(setup.space, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_core::Settings;
    use hyperplug_testkit::check_strategy;

    #[test]
    fn both_conform() {
        check_strategy(&Genetic, &Settings::default());
        check_strategy(&DifferentialEvolution, &Settings::default());
    }

    #[test]
    fn bad_settings_are_refused_naming_the_key() {
        for (factory, key, value, why) in [
            (
                &Genetic as &dyn StrategyFactory,
                "population",
                serde_json::json!(1),
                "between 2",
            ),
            (
                &Genetic,
                "crossover",
                serde_json::json!("spx"),
                "unknown variant",
            ),
            (&Genetic, "mutation_prob", serde_json::json!(1.5), "[0, 1]"),
            (&Genetic, "eta_crossover", serde_json::json!(-1.0), ">= 0"),
            (&Genetic, "elites", serde_json::json!(100), "at most"),
            (
                &Genetic,
                "constraints",
                serde_json::json!(["c", "c"]),
                "twice",
            ),
            (
                &DifferentialEvolution,
                "population",
                serde_json::json!(3),
                "between 4",
            ),
            (
                &DifferentialEvolution,
                "variant",
                serde_json::json!("rand/2/bin"),
                "unknown variant",
            ),
            (
                &DifferentialEvolution,
                "differential_weight",
                serde_json::json!(0.0),
                "(0, 2]",
            ),
            (
                &DifferentialEvolution,
                "crossover_rate",
                serde_json::json!(2.0),
                "[0, 1]",
            ),
        ] {
            let space = hyperplug_core::Space::empty();
            let settings = Settings::default().with(key, value);
            let setup = StudySetup {
                space: &space,
                directions: &[hyperplug_core::Direction::Minimize],
                seed: 0,
                settings: &settings,
            };
            let Err(e) = factory.create(&setup) else {
                panic!("{key}: accepted");
            };
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{key}`")) && text.contains(why),
                "{key}: {text}"
            );
        }
    }
}
