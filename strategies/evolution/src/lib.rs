//! Regularized (aging) evolution, after Real, Aggarwal, Huang and Le, "Regularized Evolution
//! for Image Classifier Architecture Search" (AAAI 2019).
//!
//! The population is the `population` most recently finished complete trials: each new trial
//! pushes the oldest out (aging), whatever its value, which is what regularizes the search.
//! A new trial is a copy of a tournament's winner (the best of `sample_size` members drawn
//! without replacement) with exactly one active parameter mutated. Until the population is
//! full the trials are random, drawn as [`hyperplug_random`'s](https://docs.rs/hyperplug-random)
//! are.
//!
//! Mutation knows the space's conditions: the child is rebuilt parent-first with
//! [`Space::assign`](hyperplug_core::Space::assign), so when the mutated parameter is, say, the
//! depth, the layers it removes lose their parameters and the layers it adds get fresh random
//! ones, while every other parameter keeps the winner's value. A categorical parameter mutates
//! to another of its choices, uniformly; a number moves by a Gaussian step of 0.2 in the unit
//! interval of its domain (reflected at the ends), to a different value when the domain is
//! discrete. So any space of floats, ints, choices and conditions works, not only
//! architectures.
//!
//! A child that repeats a trial already evaluated or running is drawn again (up to 32 times),
//! so that a converged population keeps exploring instead of re-evaluating its members by
//! chance. Re-evaluation by design is the setting `reevaluate = k`: on a noisy objective (a
//! network trained with another seed scores differently) a lucky value would otherwise rule
//! the tournaments while it lives, so a member is judged by the mean of every evaluation of its
//! parameters so far, and when the tournament's winner is also the population's best and has
//! been evaluated fewer than `k` times, the next trial evaluates it again instead of a child.
//! The re-evaluation joins the population as its youngest member, so an elite that keeps its
//! value stays in the race longer than one lucky draw would let it.
//!
//! Everything is rebuilt from the history on every ask: the population is a pure function of
//! the finished trials and a trial's random draws come from [`trial_rng`]`(seed, number)`, so
//! a resumed study continues exactly as an uninterrupted one, and parallel asks differ by
//! their trial numbers. Failed, pruned and non-finite trials never join the population.
//!
//! Settings: `population` (default 20), `sample_size` (default 5) and `reevaluate` (default 0:
//! off), chosen on development seeds of NAS-Bench-201 (docs/BENCHMARKS.md).
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_evolution::Evolution;
//!
//! let space = Space::new(vec![
//!     Param::new("depth", Domain::int(1, 3)),
//!     Param::new("op", Domain::choice(["conv", "pool", "skip"])),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]).seed(1);
//! let settings = Settings::default().with("population", 4).with("sample_size", 2);
//! let mut study = Study::new(config, &Evolution, &settings).unwrap();
//! study
//!     .optimize_fn(Budget::trials(20), |p, _| {
//!         let depth = p["depth"].as_i64().unwrap_or(0) as f64;
//!         Ok((depth - 2.0).abs() + f64::from(p["op"].as_str() != Some("conv")))
//!     })
//!     .unwrap();
//! assert_eq!(study.best_trial().unwrap().values, vec![0.0]);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core` and `rand` only; no IO, no FFI, no global
//! RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hyperplug_core::{
    AskContext, Capabilities, Direction, Domain, Error, Param, Params, PluginInfo, SeedRng, Space,
    Strategy, StrategyFactory, StudySetup, Trial, TrialState, Value, trial_rng,
};
use rand::Rng;
use serde::Deserialize;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// The name study files use for this strategy.
const NAME: &str = "evolution";

/// The standard deviation of a numeric mutation, in the unit interval of the domain.
const NUMERIC_STEP: f64 = 0.2;

/// How many children a trial may draw before it settles for one already evaluated.
const RETRIES: usize = 32;

/// The default of `population`.
pub const DEFAULT_POPULATION: usize = 20;

/// The default of `sample_size`.
pub const DEFAULT_SAMPLE_SIZE: usize = 5;

/// The default of `reevaluate`: no deliberate re-evaluation.
pub const DEFAULT_REEVALUATE: usize = 0;

/// Makes regularized-evolution strategies. Settings: `population`, `sample_size`, `reevaluate`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Evolution;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvolutionSettings {
    #[serde(default = "default_population")]
    population: usize,
    #[serde(default = "default_sample_size")]
    sample_size: usize,
    #[serde(default = "default_reevaluate")]
    reevaluate: usize,
}

fn default_population() -> usize {
    DEFAULT_POPULATION
}

fn default_sample_size() -> usize {
    DEFAULT_SAMPLE_SIZE
}

fn default_reevaluate() -> usize {
    DEFAULT_REEVALUATE
}

impl StrategyFactory for Evolution {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Regularized (aging) evolution: tournament selection, one mutation per child, the oldest retired.",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: false,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: EvolutionSettings = setup.settings.parse(NAME)?;
        if s.population < 2 {
            return Err(Error::settings(
                NAME,
                format!(
                    "`population` must be at least 2, got {}; the paper's runs used 20 to 100",
                    s.population
                ),
            ));
        }
        if s.sample_size == 0 || s.sample_size > s.population {
            return Err(Error::settings(
                NAME,
                format!(
                    "`sample_size` must be between 1 and `population` ({}), got {}",
                    s.population, s.sample_size
                ),
            ));
        }
        let direction = match setup.directions {
            [d] => *d,
            _ => {
                return Err(Error::settings(
                    NAME,
                    "evolution optimizes one objective; use tpe for several",
                ));
            }
        };
        Ok(Box::new(RegularizedEvolution {
            population: s.population,
            sample_size: s.sample_size,
            reevaluate: s.reevaluate,
            direction,
            fingerprints: HashMap::new(),
        }))
    }
}

/// The strategy for one study. Stateless between asks: the population is read off the history.
#[derive(Clone, Debug)]
pub struct RegularizedEvolution {
    population: usize,
    sample_size: usize,
    reevaluate: usize,
    direction: Direction,
    /// [`fingerprint`] of each finished trial's parameters by trial number, so that an ask
    /// hashes only the trials finished since the last one (a finished trial never changes).
    fingerprints: HashMap<u64, u64>,
}

impl RegularizedEvolution {
    /// The current population: the last `population` complete trials with a finite value,
    /// oldest first.
    pub fn members<'t>(&self, trials: &'t [Trial]) -> Vec<&'t Trial> {
        let mut out: Vec<&Trial> = trials
            .iter()
            .rev()
            .filter(|t| {
                t.state == TrialState::Complete && t.values.first().is_some_and(|v| v.is_finite())
            })
            .take(self.population)
            .collect();
        out.reverse();
        out
    }

    /// The best of `sample_size` members drawn without replacement by `fitness`; on a tie the
    /// older wins.
    fn tournament<'t>(
        &self,
        members: &[&'t Trial],
        fitness: &impl Fn(&Trial) -> f64,
        rng: &mut SeedRng,
    ) -> &'t Trial {
        let mut index: Vec<usize> = (0..members.len()).collect();
        let k = self.sample_size.min(members.len());
        // A partial Fisher–Yates shuffle: the first k entries are the sample.
        for i in 0..k {
            let j = rng.random_range(i..index.len());
            index.swap(i, j);
        }
        let mut sample = index[..k].to_vec();
        sample.sort_unstable();
        let mut best = members[sample[0]];
        for &i in &sample[1..] {
            if self.direction.better(fitness(members[i]), fitness(best)) {
                best = members[i];
            }
        }
        best
    }
}

/// How often each member's parameters were evaluated (complete, finite values) and the mean of
/// those values, in one pass over the history with `fingerprints` remembered between asks:
/// comparing every member with every trial made a long study's asks quadratic.
fn evaluations(
    trials: &[Trial],
    members: &[&Trial],
    fingerprints: &mut HashMap<u64, u64>,
) -> Vec<(usize, f64)> {
    let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, m) in members.iter().enumerate() {
        index.entry(fingerprint(&m.params)).or_default().push(i);
    }
    let mut stats = vec![(0, 0.0); members.len()];
    for t in trials {
        if t.state == TrialState::Complete
            && let Some(&v) = t.values.first()
            && v.is_finite()
            && let Some(same) = index.get(
                fingerprints
                    .entry(t.number)
                    .or_insert_with(|| fingerprint(&t.params)),
            )
        {
            for &i in same {
                if t.params == members[i].params {
                    stats[i].0 += 1;
                    stats[i].1 += v;
                }
            }
        }
    }
    stats
        .into_iter()
        .map(|(n, sum)| (n, sum / n.max(1) as f64))
        .collect()
}

/// A hash of parameters that equal `Params` share: independent of their order (maps compare
/// without it), and `0.0` and `-0.0` alike (they compare equal).
fn fingerprint(params: &Params) -> u64 {
    params.iter().fold(0, |sum: u64, (name, value)| {
        let mut h = DefaultHasher::new();
        name.hash(&mut h);
        match *value {
            Value::Bool(b) => (0u8, b).hash(&mut h),
            Value::Int(i) => (1u8, i).hash(&mut h),
            Value::Float(x) => (2u8, if x == 0.0 { 0 } else { x.to_bits() }).hash(&mut h),
            Value::Str(ref s) => (3u8, s).hash(&mut h),
        }
        sum.wrapping_add(h.finish())
    })
}

impl Strategy for RegularizedEvolution {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let members = self.members(ctx.trials);
        if members.len() < self.population {
            return Ok(random(ctx, &mut rng));
        }
        let parent = if self.reevaluate == 0 {
            self.tournament(&members, &|t: &Trial| t.values[0], &mut rng)
        } else {
            // Each member is judged by the mean of its parameters' evaluations so far.
            let stats = evaluations(ctx.trials, &members, &mut self.fingerprints);
            let fitness = |t: &Trial| {
                members
                    .iter()
                    .position(|m| m.number == t.number)
                    .map_or(t.values[0], |i| stats[i].1)
            };
            let parent = self.tournament(&members, &fitness, &mut rng);
            let elite = members
                .iter()
                .all(|m| !self.direction.better(fitness(m), fitness(parent)));
            let count = members
                .iter()
                .position(|m| m.number == parent.number)
                .map_or(1, |i| stats[i].0);
            let running = ctx.running.iter().any(|t| t.params == parent.params);
            if elite && !running && count < self.reevaluate {
                return Ok(parent.params.clone());
            }
            parent
        };
        // A child already evaluated (or running) would spend a trial to learn nothing new, so
        // mutate again a few times; in a small space every neighbour may be taken, and then
        // the last child is as good as any.
        let seen = |p: &Params| ctx.trials.iter().chain(ctx.running).any(|t| &t.params == p);
        let mut child = mutate(ctx.space, &parent.params, &mut rng);
        for _ in 1..RETRIES {
            if !seen(&child) {
                break;
            }
            child = mutate(ctx.space, &parent.params, &mut rng);
        }
        Ok(child)
    }
}

/// One uniform draw per parameter, active or not, as random search draws them.
fn random(ctx: &AskContext<'_>, rng: &mut SeedRng) -> Params {
    let params = ctx.space.params();
    let units: Vec<f64> = params.iter().map(|_| rng.random()).collect();
    let mut i = 0;
    ctx.space.assign(|p| {
        // `assign` visits parameters in space order; skip the draws of inactive ones.
        while params[i].name != p.name {
            i += 1;
        }
        p.domain.from_unit(units[i])
    })
}

/// The parent with one active, mutable parameter changed; parameters that the change activates
/// are drawn at random, those it deactivates dropped. A parent with nothing to mutate (every
/// domain a single value) is returned as it is, made valid for the space.
fn mutate(space: &Space, parent: &Params, rng: &mut SeedRng) -> Params {
    let candidates: Vec<&Param> = space
        .params()
        .iter()
        .filter(|p| parent.contains_key(&p.name) && p.domain.cardinality() != Some(1))
        .collect();
    let target = if candidates.is_empty() {
        None
    } else {
        Some(
            candidates[rng.random_range(0..candidates.len())]
                .name
                .clone(),
        )
    };
    let mut new_value = None;
    if let Some(name) = &target
        && let (Some(p), Some(old)) = (space.get(name), parent.get(name))
    {
        new_value = Some(mutate_value(&p.domain, old, rng));
    }
    space.assign(|p| {
        if Some(&p.name) == target.as_ref()
            && let Some(v) = &new_value
        {
            return v.clone();
        }
        match parent.get(&p.name) {
            Some(v) if p.domain.contains(v) => v.clone(),
            _ => p.domain.from_unit(rng.random()),
        }
    })
}

/// Another value of `domain` near `old` (numbers) or any other choice (categorical).
pub fn mutate_value(domain: &Domain, old: &Value, rng: &mut SeedRng) -> Value {
    if let Domain::Categorical { choices } = domain {
        let others: Vec<&Value> = choices.iter().filter(|c| *c != old).collect();
        return match others.len() {
            0 => old.clone(),
            n => others[rng.random_range(0..n)].clone(),
        };
    }
    let u = domain.to_unit(old).unwrap_or(0.5).clamp(0.0, 1.0);
    // A few tries for a step that lands on another value of a discrete domain; then the
    // neighbour, so that a mutation always changes something.
    for _ in 0..8 {
        let v = domain.from_unit(reflect(u + NUMERIC_STEP * normal(rng)));
        if &v != old {
            return v;
        }
    }
    let n = domain.cardinality().unwrap_or(u64::MAX) as f64;
    let up = domain.from_unit((u + 1.0 / n).min(1.0));
    if &up != old {
        up
    } else {
        domain.from_unit((u - 1.0 / n).max(0.0))
    }
}

/// `x` folded back into `[0, 1]`.
fn reflect(x: f64) -> f64 {
    let x = x.rem_euclid(2.0);
    if x > 1.0 { 2.0 - x } else { x }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SeedRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Budget, Settings, Study, StudyConfig, TrialError};

    use super::*;

    fn space(params: Vec<Param>) -> Space {
        Space::new(params).expect("test space is valid")
    }

    fn create(space: &Space, settings: &Settings) -> Result<Box<dyn Strategy>, Error> {
        Evolution.create(&StudySetup {
            space,
            directions: &[Direction::Minimize],
            seed: 0,
            settings,
        })
    }

    fn complete(number: u64, params: Params, value: f64) -> Trial {
        let mut t = Trial::running(number, params, 0);
        t.state = TrialState::Complete;
        t.values = vec![value];
        t
    }

    fn layered() -> Space {
        space(vec![
            Param::new("layers", Domain::int(1, 4)),
            Param::new("units_1", Domain::choice([16i64, 32, 64])),
            Param::new("units_2", Domain::choice([16i64, 32, 64])).when("layers", [2i64, 3, 4]),
            Param::new("units_3", Domain::choice([16i64, 32, 64])).when("layers", [3i64, 4]),
            Param::new("units_4", Domain::choice([16i64, 32, 64])).when("layers", [4i64]),
            Param::new("act", Domain::choice(["relu", "tanh"])),
        ])
    }

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Evolution, &Settings::default());
        hyperplug_testkit::check_strategy(
            &Evolution,
            &Settings::default()
                .with("population", 4)
                .with("sample_size", 2),
        );
    }

    #[test]
    fn until_the_population_is_full_it_is_random_search() {
        let s = layered();
        let settings = Settings::default().with("population", 10);
        let mut evo = create(&s, &settings).expect("valid");
        let mut random = hyperplug_random::Random
            .create(&StudySetup {
                space: &s,
                directions: &[Direction::Minimize],
                seed: 0,
                settings: &Settings::default(),
            })
            .expect("valid");
        let mut trials = Vec::new();
        for n in 0..10 {
            let ctx = AskContext {
                space: &s,
                directions: &[Direction::Minimize],
                seed: 21,
                trials: &trials,
                running: &[],
                number: n,
            };
            let p = evo.ask(&ctx).expect("asks");
            assert_eq!(p, random.ask(&ctx).expect("asks"), "trial {n}");
            trials.push(complete(n, p, n as f64));
        }
    }

    #[test]
    fn a_child_is_its_parent_with_exactly_one_choice_changed() {
        let s = space(vec![
            Param::new("a", Domain::choice(["x", "y", "z"])),
            Param::new("b", Domain::choice(["x", "y", "z"])),
            Param::new("c", Domain::int(0, 9)),
        ]);
        let settings = Settings::default()
            .with("population", 3)
            .with("sample_size", 3);
        let mut evo = create(&s, &settings).expect("valid");
        let p = |a: &str, b: &str, c: i64| -> Params {
            [
                ("a", Value::from(a)),
                ("b", Value::from(b)),
                ("c", Value::Int(c)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
        };
        // The tournament takes all three: the best (value 1.0) is the parent.
        let trials = vec![
            complete(0, p("x", "x", 0), 5.0),
            complete(1, p("y", "z", 4), 1.0),
            complete(2, p("z", "y", 9), 3.0),
        ];
        let mut changed = [0; 3];
        for n in 3..300 {
            let child = evo
                .ask(&AskContext {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 5,
                    trials: &trials,
                    running: &[],
                    number: n,
                })
                .expect("asks");
            let diff: Vec<usize> = ["a", "b", "c"]
                .iter()
                .enumerate()
                .filter(|(_, k)| child[**k] != trials[1].params[**k])
                .map(|(i, _)| i)
                .collect();
            assert_eq!(diff.len(), 1, "{child:?}");
            changed[diff[0]] += 1;
        }
        // Each of the three parameters is chosen about a third of the time (297 children).
        assert!(
            changed.iter().all(|&c| (70..=130).contains(&c)),
            "{changed:?}"
        );
    }

    #[test]
    fn changing_the_depth_adds_or_drops_whole_layers() {
        let s = layered();
        let settings = Settings::default()
            .with("population", 2)
            .with("sample_size", 2);
        let mut evo = create(&s, &settings).expect("valid");
        let parent: Params = [
            ("layers", Value::Int(2)),
            ("units_1", Value::Int(64)),
            ("units_2", Value::Int(16)),
            ("act", Value::from("tanh")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut other = parent.clone();
        other.insert("act".into(), "relu".into());
        let trials = vec![complete(0, parent.clone(), 0.0), complete(1, other, 9.0)];
        let (mut deeper, mut shallower) = (0, 0);
        for n in 2..400 {
            let child = evo
                .ask(&AskContext {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 3,
                    trials: &trials,
                    running: &[],
                    number: n,
                })
                .expect("asks");
            s.validate(&child).expect("a child fits the space");
            let layers = child["layers"].as_i64().expect("int");
            if layers != 2 {
                // The depth was the mutation: everything the parent had that still exists is kept.
                assert_eq!(child["units_1"], parent["units_1"]);
                assert_eq!(child["act"], parent["act"]);
                if layers > 2 {
                    assert_eq!(child["units_2"], parent["units_2"]);
                    deeper += 1;
                } else {
                    assert!(!child.contains_key("units_2"));
                    shallower += 1;
                }
            }
        }
        assert!(
            deeper > 10 && shallower > 10,
            "{deeper} deeper, {shallower} shallower"
        );
    }

    #[test]
    fn the_oldest_member_retires_whatever_its_value() {
        let s = space(vec![Param::new("x", Domain::int(0, 100))]);
        let evo = RegularizedEvolution {
            population: 3,
            sample_size: 3,
            reevaluate: 0,
            direction: Direction::Minimize,
            fingerprints: HashMap::new(),
        };
        let x = |v: i64| -> Params { [("x".to_owned(), Value::Int(v))].into_iter().collect() };
        let mut failed = Trial::running(2, x(2), 0);
        failed.state = TrialState::Failed;
        let trials = vec![
            complete(0, x(0), -100.0), // the best ever, but the oldest
            complete(1, x(1), 1.0),
            failed,
            complete(3, x(3), f64::NAN),
            complete(4, x(4), 2.0),
            complete(5, x(5), 3.0),
        ];
        let members: Vec<u64> = evo.members(&trials).iter().map(|t| t.number).collect();
        assert_eq!(members, [1, 4, 5]);
        assert!(s.validate(&x(5)).is_ok());
    }

    #[test]
    fn seeded_children_are_exact() {
        // Pinned values: a change here changes every seeded study, so it must be deliberate.
        let s = layered();
        let settings = Settings::default()
            .with("population", 4)
            .with("sample_size", 2);
        let config = StudyConfig::new("t", s, vec![Direction::Minimize]).seed(11);
        let mut study = Study::new(config, &Evolution, &settings).expect("valid");
        study
            .optimize_fn(Budget::trials(12), |p, _| {
                let layers = p["layers"].as_i64().unwrap_or(0) as f64;
                let u1 = p["units_1"].as_i64().unwrap_or(0) as f64;
                Ok((layers - 3.0).abs() + (u1 - 32.0).abs() / 16.0)
            })
            .expect("runs");
        let values: Vec<f64> = study.finished().iter().map(|t| t.values[0]).collect();
        assert_eq!(values, PINNED);
    }

    const PINNED: [f64; 12] = [2.0, 1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 0.0, 0.0, 2.0, 1.0, 1.0];

    #[test]
    fn a_child_already_evaluated_or_running_is_drawn_again() {
        // One parameter of four choices: the parent `a` has three neighbours, two of them taken
        // (one finished, one running), so every child is the third: 32 draws all land on a taken
        // neighbour with probability (2/3)^32 = 2e-6.
        let s = space(vec![Param::new("op", Domain::choice(["a", "b", "c", "d"]))]);
        let settings = Settings::default()
            .with("population", 2)
            .with("sample_size", 2);
        let mut evo = create(&s, &settings).expect("valid");
        let op = |v: &str| -> Params { [("op".to_owned(), Value::from(v))].into_iter().collect() };
        let trials = vec![complete(0, op("a"), 0.0), complete(1, op("b"), 1.0)];
        let running = vec![Trial::running(2, op("c"), 0)];
        for n in 3..40 {
            let child = evo
                .ask(&AskContext {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 8,
                    trials: &trials,
                    running: &running,
                    number: n,
                })
                .expect("asks");
            assert_eq!(child, op("d"), "trial {n}");
        }
    }

    #[test]
    fn the_population_best_is_evaluated_again_up_to_reevaluate_times() {
        let s = space(vec![Param::new("x", Domain::int(0, 100))]);
        let x = |v: i64| -> Params { [("x".to_owned(), Value::Int(v))].into_iter().collect() };
        let settings = Settings::default()
            .with("population", 3)
            .with("sample_size", 3)
            .with("reevaluate", 2);
        let mut evo = create(&s, &settings).expect("valid");
        let ask = |evo: &mut Box<dyn Strategy>, trials: &[Trial], running: &[Trial]| {
            evo.ask(&AskContext {
                space: &s,
                directions: &[Direction::Minimize],
                seed: 4,
                trials,
                running,
                number: trials.len() as u64,
            })
            .expect("asks")
        };
        let mut trials = vec![
            complete(0, x(10), 5.0),
            complete(1, x(20), 1.0),
            complete(2, x(30), 3.0),
        ];
        // x = 20 is the best member, evaluated once: it is evaluated again, unless that is
        // already under way.
        assert_eq!(ask(&mut evo, &trials, &[]), x(20));
        assert_ne!(
            ask(&mut evo, &trials, &[Trial::running(3, x(20), 0)]),
            x(20)
        );
        // Its second value is poor: judged by the mean (1 + 9) / 2 = 5 it loses to x = 30,
        // which is evaluated again in turn; after that, children.
        trials.push(complete(3, x(20), 9.0));
        assert_eq!(ask(&mut evo, &trials, &[]), x(30));
        trials.push(complete(4, x(30), 3.0));
        let child = ask(&mut evo, &trials, &[]);
        assert!(child != x(20) && child != x(30), "{child:?}");
        // Without the setting, the same history gives a child of the best single value.
        let mut plain = create(
            &s,
            &Settings::default()
                .with("population", 3)
                .with("sample_size", 3),
        )
        .expect("valid");
        assert_ne!(ask(&mut plain, &trials[..3], &[]), x(20));
    }

    #[test]
    fn repeats_are_counted_whatever_the_order_of_their_parameters() {
        let params = |pairs: [(&str, Value); 2]| -> Params {
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        };
        let a = params([("x", Value::Float(0.0)), ("k", Value::from("u"))]);
        let b = params([("k", Value::from("u")), ("x", Value::Float(-0.0))]);
        let other = params([("x", Value::Float(0.5)), ("k", Value::from("u"))]);
        assert_eq!(a, b);
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&other));
        let mut failed = complete(3, a.clone(), 100.0);
        failed.state = TrialState::Failed;
        let trials = vec![
            complete(0, a, 1.0),
            complete(1, other, 7.0),
            complete(2, b, 3.0),
            failed,
        ];
        let members: Vec<&Trial> = trials[..3].iter().collect();
        let mut memo = HashMap::new();
        for _ in 0..2 {
            assert_eq!(
                evaluations(&trials, &members, &mut memo),
                [(2, 2.0), (1, 7.0), (2, 2.0)]
            );
        }
    }

    #[test]
    fn numeric_mutations_move_and_stay_inside() {
        let mut rng = trial_rng(1, 1);
        let d = Domain::float(0.0, 10.0);
        let mut sum = 0.0;
        for _ in 0..2000 {
            let v = mutate_value(&d, &Value::Float(5.0), &mut rng)
                .as_f64()
                .expect("float");
            assert!((0.0..=10.0).contains(&v) && v != 5.0);
            sum += (v - 5.0).abs();
        }
        // E|step| = 0.2 * 10 * sqrt(2 / pi) = 1.60 (reflection hardly matters from the middle).
        let mean = sum / 2000.0;
        assert!((mean - 1.596).abs() < 0.08, "{mean}");
        let d = Domain::int(0, 1);
        for _ in 0..50 {
            assert_eq!(mutate_value(&d, &Value::Int(0), &mut rng), Value::Int(1));
        }
        let d = Domain::choice(["only"]);
        assert_eq!(
            mutate_value(&d, &Value::from("only"), &mut rng),
            Value::from("only")
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let s = layered();
        let e = |settings: Settings| create(&s, &settings).err().expect("refused").to_string();
        assert!(
            e(Settings::default().with("population", 1))
                .contains("`population` must be at least 2")
        );
        assert!(
            e(Settings::default()
                .with("population", 5)
                .with("sample_size", 6))
            .contains("between 1 and `population` (5), got 6")
        );
        assert!(e(Settings::default().with("sample_size", 0)).contains("got 0"));
        assert!(e(Settings::default().with("population", -3)).contains("`population`"));
        assert!(e(Settings::default().with("tournament", 3)).contains("tournament"));
        assert!(e(Settings::default().with("reevaluate", -1)).contains("`reevaluate`"));
    }

    #[test]
    fn a_resumed_study_continues_exactly() {
        let s = layered();
        let settings = Settings::default()
            .with("population", 5)
            .with("sample_size", 2);
        let f = |p: &Params, n: u64| -> Result<f64, TrialError> {
            let layers = p["layers"].as_i64().unwrap_or(0) as f64;
            Ok(layers + (n % 3) as f64)
        };
        let ask_all = |cut: Option<usize>| -> Vec<Params> {
            let mut trials: Vec<Trial> = Vec::new();
            let mut evo = create(&s, &settings).expect("valid");
            for n in 0..30u64 {
                if Some(n as usize) == cut {
                    evo = create(&s, &settings).expect("valid"); // a fresh process
                }
                let ctx = AskContext {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 2,
                    trials: &trials,
                    running: &[],
                    number: n,
                };
                let p = evo.ask(&ctx).expect("asks");
                let v = f(&p, n).expect("ok");
                trials.push(complete(n, p, v));
            }
            trials.into_iter().map(|t| t.params).collect()
        };
        assert_eq!(ask_all(None), ask_all(Some(17)));
    }
}
