//! NSGA-II (`nsga2`, Deb et al. 2002) and NSGA-III (`nsga3`, Deb & Jain 2014) for several
//! objectives (one works too), with constraint domination and parallel workers.
//!
//! Both breed like `hyperplug-genetic`'s genetic algorithm (genes in the unit cube, SBX or
//! uniform crossover, polynomial mutation, categorical and conditional parameters) and keep
//! their generations the same way: generation `k` is the `k`-th block of `population` complete
//! trials in finish order, so the parents are a pure function of the stored finished trials and
//! a resumed study or a joining worker continues the same generation (see
//! [`hyperplug_genetic::population`]). When a generation fills, survival sorts parents and
//! generation together into non-dominated fronts under constraint domination (feasible first;
//! infeasible ones by total violation of `constraints`, user attributes that must be ≤ 0, as
//! TPE's) and keeps whole fronts while they fit. The last front that does not fit is cut:
//!
//! - **`nsga2`**: by crowding distance, most isolated first. Parents are picked by binary
//!   tournament on (front, crowding distance).
//! - **`nsga3`**: by reference points: Das–Dennis points with `divisions` per objective,
//!   objectives normalized by the ideal point and the extreme points' hyperplane, each member
//!   associated with its nearest reference line, and members taken from the least-crowded lines
//!   first. Parents are picked by binary tournament on the front alone.
//!
//! `population = 30` and `eta_mutation = 5` (larger mutation steps than the customary 20) were
//! chosen on ZDT1–3 (30-D) and DTLZ2 at 1,000 and 5,000 trials with development seeds 100–109
//! and confirmed on the benchmark's seeds 0–9 (docs/BENCHMARKS.md, "Evolutionary strategies");
//! the other defaults are Deb's and pymoo's.
//!
//! The niching's random tie-breaks come from a generator seeded by the study seed and the
//! generation, so survival too is a function of the history.
//!
//! | key | default | what |
//! |---|---|---|
//! | `population` | `30` | complete trials per generation, and parents kept (Optuna's is 50) |
//! | `crossover` | `"sbx"` | `"sbx"` (simulated binary) or `"uniform"` |
//! | `crossover_prob` | `0.9` | chance a child is a crossover rather than a copy |
//! | `eta_crossover` | `15` | SBX distribution index |
//! | `swap_prob` | `0.5` | per gene: chance it is crossed (SBX) or taken from the second parent |
//! | `mutation_prob` | `1 / parameters` | per gene: chance of polynomial mutation (a fresh choice for categorical genes) |
//! | `eta_mutation` | `5` | polynomial mutation's distribution index (Deb's 20 steps too timidly at these budgets) |
//! | `constraints` | `[]` | trial attributes that must be ≤ 0 |
//! | `divisions` | (`nsga3` only) the most whose point count fits `population` | Das–Dennis divisions per objective |
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Settings, Study, StudyConfig};
//! use hyperplug_nsga::Nsga2;
//!
//! let f = hyperplug_synthetic::Function::Zdt1;
//! let space = f.space(5).unwrap();
//! let config =
//!     StudyConfig::new("demo", space, vec![Direction::Minimize, Direction::Minimize]).seed(3);
//! let mut study = Study::new(config, &Nsga2, &Settings::default().with("population", 20)).unwrap();
//! study
//!     .optimize_fn(Budget::trials(400), |p, _| {
//!         let x: Vec<f64> = (0..5).map(|i| p[&format!("x{i}")].as_f64().unwrap()).collect();
//!         Ok(hyperplug_synthetic::zdt1(&x).to_vec())
//!     })
//!     .unwrap();
//! assert!(study.best_trials().len() >= 10);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `hyperplug-genetic`, `rand` and `serde`
//! only; no IO, no FFI, no global RNG.
#![forbid(unsafe_code)]

mod reference;
mod sort;

use hyperplug_core::{
    AskContext, Capabilities, Error, Params, PluginInfo, Settings, Space, Strategy,
    StrategyFactory, StudySetup, trial_rng,
};
use hyperplug_genetic::genome::Genome;
use hyperplug_genetic::operators::{Crossover, Variation, tournament};
use hyperplug_genetic::population::{Generations, Individual, Reader, check_constraints};
use serde::Deserialize;

pub use reference::{das_dennis, divisions_for};
pub use sort::{crowding, fronts};

/// Makes NSGA-II strategies (`nsga2`); see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nsga2;

/// Makes NSGA-III strategies (`nsga3`); see the crate documentation for the settings.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nsga3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Two,
    Three,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Two => "nsga2",
            Kind::Three => "nsga3",
        }
    }
}

/// Every key is optional; see the crate documentation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct NsgaSettings {
    population: usize,
    crossover: Crossover,
    crossover_prob: f64,
    eta_crossover: f64,
    swap_prob: f64,
    mutation_prob: Option<f64>,
    eta_mutation: f64,
    constraints: Vec<String>,
    divisions: Option<usize>,
}

impl Default for NsgaSettings {
    fn default() -> Self {
        NsgaSettings {
            population: 30,
            crossover: Crossover::Sbx,
            crossover_prob: 0.9,
            eta_crossover: 15.0,
            swap_prob: 0.5,
            mutation_prob: None,
            eta_mutation: 5.0,
            constraints: Vec::new(),
            divisions: None,
        }
    }
}

impl NsgaSettings {
    fn parse(kind: Kind, settings: &Settings, objectives: usize) -> Result<Self, Error> {
        let name = kind.name();
        let s: NsgaSettings = settings.parse(name)?;
        if !(2..=100_000).contains(&s.population) {
            return Err(Error::settings(
                name,
                format!(
                    "`population`: must be between 2 and 100000, got {}",
                    s.population
                ),
            ));
        }
        hyperplug_genetic::check_variation(
            name,
            s.crossover_prob,
            s.eta_crossover,
            s.swap_prob,
            s.mutation_prob,
            s.eta_mutation,
        )?;
        check_constraints(name, &s.constraints)?;
        match (kind, s.divisions) {
            (Kind::Two, Some(_)) => Err(Error::settings(
                name,
                "`divisions`: reference points are NSGA-III's; use `nsga3`, or leave \
                 `divisions` out",
            )),
            (Kind::Three, Some(h)) if h == 0 || reference::count(objectives, h) > 100_000 => {
                Err(Error::settings(
                    name,
                    format!(
                        "`divisions`: {h} gives {} reference points for {objectives} \
                         objectives; choose between 1 and a count of at most 100000",
                        reference::count(objectives, h)
                    ),
                ))
            }
            _ => Ok(s),
        }
    }
}

fn info(kind: Kind) -> PluginInfo {
    let what = match kind {
        Kind::Two => {
            "NSGA-II: non-dominated sorting and crowding distance for several objectives; \
             constraints, mixed and conditional spaces."
        }
        Kind::Three => {
            "NSGA-III: non-dominated sorting and reference points for many objectives; \
             constraints, mixed and conditional spaces."
        }
    };
    PluginInfo::new(
        kind.name(),
        env!("CARGO_PKG_VERSION"),
        what,
        Capabilities {
            categorical: true,
            conditional: true,
            multi_objective: true,
            parallel: true,
        },
    )
}

fn create(kind: Kind, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
    let m = setup.directions.len();
    let s = NsgaSettings::parse(kind, setup.settings, m)?;
    let refs = match kind {
        Kind::Two => Vec::new(),
        Kind::Three => das_dennis(
            m,
            s.divisions
                .unwrap_or_else(|| divisions_for(m, s.population)),
        ),
    };
    Ok(Box::new(NsgaStrategy {
        kind,
        gens: Generations::new(s.population),
        genome: Genome::of(setup.space),
        space: setup.space.clone(),
        refs,
        s,
        fitness: Vec::new(),
        fitness_of: u64::MAX,
    }))
}

impl StrategyFactory for Nsga2 {
    fn info(&self) -> PluginInfo {
        info(Kind::Two)
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        create(Kind::Two, setup)
    }
}

impl StrategyFactory for Nsga3 {
    fn info(&self) -> PluginInfo {
        info(Kind::Three)
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        create(Kind::Three, setup)
    }
}

struct NsgaStrategy {
    kind: Kind,
    s: NsgaSettings,
    space: Space,
    genome: Genome,
    gens: Generations,
    refs: Vec<Vec<f64>>,
    /// Per parent: its front and crowding distance, for the tournament.
    fitness: Vec<(usize, f64)>,
    /// The number of closed generations `fitness` belongs to.
    fitness_of: u64,
}

/// Survival of parents and generation together: whole fronts while they fit, then the last
/// front cut by crowding distance (NSGA-II) or reference-point niching (NSGA-III).
fn survive(
    kind: Kind,
    refs: &[Vec<f64>],
    size: usize,
    seed: u64,
    generation: u64,
    parents: Vec<Individual>,
    offspring: Vec<Individual>,
) -> Vec<Individual> {
    let pop: Vec<Individual> = parents.into_iter().chain(offspring).collect();
    let mut chosen: Vec<usize> = Vec::with_capacity(size);
    for front in fronts(&pop) {
        if chosen.len() + front.len() <= size {
            chosen.extend(&front);
            if chosen.len() == size {
                break;
            }
            continue;
        }
        let need = size - chosen.len();
        match kind {
            Kind::Two => {
                let d = crowding(&pop, &front);
                let mut order: Vec<usize> = (0..front.len()).collect();
                order.sort_by(|&a, &b| {
                    d[b].total_cmp(&d[a])
                        .then(pop[front[a]].number.cmp(&pop[front[b]].number))
                });
                chosen.extend(order.into_iter().take(need).map(|k| front[k]));
            }
            Kind::Three => {
                // Its own stream: a seed no trial's generator shares.
                let mut rng = trial_rng(seed ^ 0x4e53_4741_3300_0000, generation);
                let extra = reference::niching(&pop, &chosen, &front, need, refs, &mut rng);
                chosen.extend(extra);
            }
        }
        break;
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|i| pop[i].clone()).collect()
}

impl NsgaStrategy {
    /// Each parent's front and crowding distance (NSGA-III: front only), recomputed when a
    /// generation closes.
    fn refresh_fitness(&mut self) {
        if self.fitness_of == self.gens.closed {
            return;
        }
        let pop = &self.gens.parents;
        self.fitness = vec![(0, 0.0); pop.len()];
        for (rank, front) in fronts(pop).into_iter().enumerate() {
            let d = match self.kind {
                Kind::Two => crowding(pop, &front),
                Kind::Three => vec![0.0; front.len()],
            };
            for (k, &i) in front.iter().enumerate() {
                self.fitness[i] = (rank, d[k]);
            }
        }
        self.fitness_of = self.gens.closed;
    }
}

impl Strategy for NsgaStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let reader = Reader {
            space: &self.space,
            genome: &self.genome,
            directions: ctx.directions,
            constraints: &self.s.constraints,
            owner: self.kind.name(),
        };
        let (kind, refs, size, seed) = (self.kind, &self.refs, self.s.population, ctx.seed);
        self.gens
            .update(ctx.trials, &reader, |g, parents, offspring| {
                survive(kind, refs, size, seed, g, parents, offspring)
            })?;
        self.refresh_fitness();
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let parents = &self.gens.parents;
        let genes = if parents.is_empty() {
            self.genome.random(&mut rng)
        } else {
            let f = &self.fitness;
            let better =
                |a: usize, b: usize| f[a].0 < f[b].0 || (f[a].0 == f[b].0 && f[a].1 > f[b].1);
            let a = tournament(parents.len(), 2, better, &mut rng);
            let b = tournament(parents.len(), 2, better, &mut rng);
            let variation = Variation {
                crossover: self.s.crossover,
                crossover_prob: self.s.crossover_prob,
                eta_crossover: self.s.eta_crossover,
                swap_prob: self.s.swap_prob,
                mutation_prob: self.s.mutation_prob,
                eta_mutation: self.s.eta_mutation,
            };
            variation.child(&self.genome, &parents[a].genes, &parents[b].genes, &mut rng)
        };
        Ok(self.genome.decode(&self.space, &genes, &mut rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_core::{Budget, Direction, Study, StudyConfig, Value};
    use hyperplug_testkit::check_strategy;

    fn ind(number: u64, loss: &[f64]) -> Individual {
        Individual {
            number,
            genes: Vec::new(),
            loss: loss.to_vec(),
            violation: 0.0,
        }
    }

    #[test]
    fn both_conform() {
        check_strategy(&Nsga2, &Settings::default());
        check_strategy(&Nsga3, &Settings::default());
    }

    #[test]
    fn nsga2_survival_cuts_the_last_front_by_crowding() {
        // Front 1: (0,4), (4,0), (1,1); front 2: (1,4.5), (2,3), (2.5, 2.9), (4.5,1). Keep 6:
        // front 1, then front 2's two extremes (infinite distance), then the more isolated
        // middle one:
        // (2,3) has (2.5-1)/3.5 + (4.5-2.9)/3.5 = 0.886, (2.5,2.9) has (4.5-2)/3.5 +
        // (3-1)/3.5 = 1.286.
        let parents = vec![
            ind(0, &[0.0, 4.0]),
            ind(1, &[4.0, 0.0]),
            ind(2, &[1.0, 4.5]),
        ];
        let offspring = vec![
            ind(3, &[2.0, 3.0]),
            ind(4, &[2.5, 2.9]),
            ind(5, &[4.5, 1.0]),
            ind(6, &[1.0, 1.0]),
        ];
        let kept = survive(Kind::Two, &[], 6, 0, 0, parents, offspring);
        let numbers: Vec<u64> = kept.iter().map(|i| i.number).collect();
        assert_eq!(numbers, [0, 1, 2, 4, 5, 6]);
    }

    #[test]
    fn nsga3_survival_spreads_over_reference_lines() {
        let refs = das_dennis(2, 2);
        // Front 1: (0,1) and (1,0); front 2 crowds near (1,0) but one member sits on the middle
        // line: NSGA-III takes it.
        let parents = vec![ind(0, &[0.0, 1.0]), ind(1, &[1.0, 0.0])];
        let offspring = vec![
            ind(2, &[1.05, 0.1]),
            ind(3, &[1.1, 0.05]),
            ind(4, &[0.6, 0.6]),
        ];
        let kept = survive(Kind::Three, &refs, 3, 1, 0, parents, offspring);
        let numbers: Vec<u64> = kept.iter().map(|i| i.number).collect();
        assert_eq!(numbers, [0, 1, 4]);
    }

    #[test]
    fn settings_are_checked_naming_the_key() {
        let space = Space::empty();
        let dirs = [Direction::Minimize, Direction::Minimize];
        for (factory, key, value, why) in [
            (
                &Nsga2 as &dyn StrategyFactory,
                "divisions",
                serde_json::json!(4),
                "NSGA-III",
            ),
            (&Nsga3, "divisions", serde_json::json!(0), "between 1"),
            (&Nsga3, "population", serde_json::json!(1), "between 2"),
            (&Nsga2, "swap_prob", serde_json::json!(-0.1), "[0, 1]"),
        ] {
            let settings = Settings::default().with(key, value);
            let setup = StudySetup {
                space: &space,
                directions: &dirs,
                seed: 0,
                settings: &settings,
            };
            let Err(e) = factory.create(&setup) else {
                panic!("{key}: accepted");
            };
            assert!(
                e.to_string().contains(&format!("`{key}`")) && e.to_string().contains(why),
                "{e}"
            );
        }
    }

    /// Survival, niching included, is a function of the stored history: a study stopped
    /// mid-generation and resumed by a new strategy goes on exactly as one that never stopped.
    #[test]
    fn a_resumed_study_continues_the_same_generations() {
        use hyperplug_core::{MemoryStorage, Storage};
        use std::sync::Arc;
        let f = hyperplug_synthetic::Function::Zdt2;
        let run = |factory: &dyn StrategyFactory, storage: &Arc<MemoryStorage>, trials: u64| {
            let dirs = vec![Direction::Minimize, Direction::Minimize];
            let config = StudyConfig::new("r", f.space(6).unwrap(), dirs).seed(12);
            let store: Arc<dyn Storage> = storage.clone();
            let settings = Settings::default().with("population", 10);
            let mut study = Study::open(config, factory, &settings, store).unwrap();
            study
                .optimize_fn(Budget::trials(trials), |p, _| {
                    let x: Vec<f64> = (0..6)
                        .map(|i| p[&format!("x{i}")].as_f64().unwrap())
                        .collect();
                    Ok(hyperplug_synthetic::zdt2(&x).to_vec())
                })
                .unwrap();
            study
                .finished()
                .iter()
                .map(|t| t.params.clone().into_iter().collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        for factory in [&Nsga2 as &dyn StrategyFactory, &Nsga3] {
            let whole = run(factory, &Arc::new(MemoryStorage::new()), 120);
            let storage = Arc::new(MemoryStorage::new());
            run(factory, &storage, 43);
            let resumed = run(factory, &storage, 120);
            assert_eq!(whole, resumed, "{}", factory.info().name);
        }
    }

    /// Constraint domination: with `c = 0.6 - x0 ≤ 0` required, the final parents of a ZDT1
    /// run are feasible, and the front of feasible trials hugs `x0 ≥ 0.6`.
    #[test]
    fn constraints_steer_the_population_into_the_feasible_region() {
        let f = hyperplug_synthetic::Function::Zdt1;
        let dirs = vec![Direction::Minimize, Direction::Minimize];
        let config = StudyConfig::new("c", f.space(4).unwrap(), dirs).seed(5);
        let settings = Settings::default()
            .with("population", 20)
            .with("constraints", serde_json::json!(["c"]));
        let mut study = Study::new(config, &Nsga2, &settings).unwrap();
        study
            .optimize_fn(Budget::trials(300), |p, _| {
                let x: Vec<f64> = (0..4)
                    .map(|i| p[&format!("x{i}")].as_f64().unwrap())
                    .collect();
                let mut e =
                    hyperplug_core::Evaluation::from(hyperplug_synthetic::zdt1(&x).to_vec());
                e.attrs.insert("c".into(), Value::Float(0.6 - x[0]));
                Ok(e)
            })
            .unwrap();
        let late = &study.finished()[200..];
        let feasible = late
            .iter()
            .filter(|t| t.user_attrs["c"].as_f64().unwrap() <= 0.0)
            .count();
        assert!(
            feasible * 10 >= late.len() * 8,
            "{feasible} of {}",
            late.len()
        );
    }
}
