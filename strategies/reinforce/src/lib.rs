//! REINFORCE (Williams 1992) as a search strategy, the policy-gradient controller of Zoph & Le's
//! neural architecture search reduced to its core as in NAS-Bench-201's baseline (Dong & Yang
//! 2020): one independent softmax per parameter.
//!
//! The policy holds a vector of logits per parameter, one per *arm*: every value of a finite
//! domain with at most `bins` values (categorical choices, small ints, stepped floats), or else
//! `bins` equal cells of the domain's unit interval (on its log scale when it has one), a value
//! being drawn uniformly inside the chosen cell. A trial samples the parameters in space order,
//! parents first, so a conditional parameter is sampled, and learns, only when it is active.
//!
//! Each finished complete trial updates the policy once, in the order trials finished: with
//! reward `r` (the value, negated when minimizing), baseline `b` (an exponential moving average
//! of rewards with decay `baseline_decay`) and scale `s` (the same average of `(r − b)²`, so
//! that the learning rate does not depend on the objective's units), every active parameter's
//! logits move by `learning_rate · ((r − b) / s · ∇log π(a) + entropy · ∇H(π))`, where `a` is
//! the arm the trial took and `H` the entropy of that parameter's softmax, which keeps the
//! policy from collapsing early. Failed, pruned and non-finite trials teach nothing.
//!
//! The policy is a pure function of the finished trials: it is rebuilt by replaying them, so a
//! resumed study continues exactly as an uninterrupted one; parallel asks share the policy and
//! differ by their draws from [`trial_rng`]`(seed, number)`.
//!
//! Settings: `learning_rate` (default 0.1), `baseline_decay` (0.9), `entropy` (0.01), `bins`
//! (10); the learning rate was chosen on development seeds of NAS-Bench-201
//! (docs/BENCHMARKS.md).
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_reinforce::Reinforce;
//!
//! let space = Space::new(vec![
//!     Param::new("op", Domain::choice(["conv", "pool", "skip", "none"])),
//!     Param::new("width", Domain::int(1, 4)),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Maximize]).seed(3);
//! let mut study = Study::new(config, &Reinforce, &Settings::default()).unwrap();
//! study
//!     .optimize_fn(Budget::trials(200), |p, _| {
//!         let conv = f64::from(p["op"].as_str() == Some("conv"));
//!         Ok(conv + p["width"].as_i64().unwrap_or(0) as f64 / 4.0)
//!     })
//!     .unwrap();
//! assert_eq!(study.best_trial().unwrap().values, vec![2.0]);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core` and `rand` only; no IO, no FFI, no global
//! RNG.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use hyperplug_core::{
    AskContext, Capabilities, Direction, Domain, Error, Params, PluginInfo, SeedRng, Space,
    Strategy, StrategyFactory, StudySetup, Trial, TrialState, Value, trial_rng,
};
use rand::Rng;
use serde::Deserialize;

/// The name study files use for this strategy.
const NAME: &str = "reinforce";

/// The default of `learning_rate`.
pub const DEFAULT_LEARNING_RATE: f64 = 0.1;
/// The default of `baseline_decay`.
pub const DEFAULT_BASELINE_DECAY: f64 = 0.9;
/// The default of `entropy`.
pub const DEFAULT_ENTROPY: f64 = 0.01;
/// The default of `bins`.
pub const DEFAULT_BINS: usize = 10;

/// Makes REINFORCE strategies. Settings: `learning_rate`, `baseline_decay`, `entropy`, `bins`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reinforce;

/// The strategy's settings, as a study file gives them.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReinforceSettings {
    /// Step size of the policy gradient, on normalized advantages.
    pub learning_rate: f64,
    /// Decay of the moving averages of the reward and of its squared deviation.
    pub baseline_decay: f64,
    /// Weight of the entropy bonus.
    pub entropy: f64,
    /// Arms of a numeric parameter with more values than this (or continuous).
    pub bins: usize,
}

impl Default for ReinforceSettings {
    fn default() -> Self {
        ReinforceSettings {
            learning_rate: DEFAULT_LEARNING_RATE,
            baseline_decay: DEFAULT_BASELINE_DECAY,
            entropy: DEFAULT_ENTROPY,
            bins: DEFAULT_BINS,
        }
    }
}

impl StrategyFactory for Reinforce {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "REINFORCE: one softmax per choice, moving-average baseline, entropy bonus.",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: false,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: ReinforceSettings = setup.settings.parse(NAME)?;
        let bad = |m: String| Err(Error::settings(NAME, m));
        if !(s.learning_rate > 0.0 && s.learning_rate.is_finite()) {
            return bad(format!(
                "`learning_rate` must be a positive number, got {}",
                s.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&s.baseline_decay) {
            return bad(format!(
                "`baseline_decay` must be in [0, 1), got {}",
                s.baseline_decay
            ));
        }
        if !(s.entropy >= 0.0 && s.entropy.is_finite()) {
            return bad(format!("`entropy` must be ≥ 0, got {}", s.entropy));
        }
        if !(2..=1000).contains(&s.bins) {
            return bad(format!("`bins` must be between 2 and 1000, got {}", s.bins));
        }
        let direction = match setup.directions {
            [d] => *d,
            _ => {
                return bad("reinforce optimizes one objective; use tpe for several".into());
            }
        };
        Ok(Box::new(PolicyGradient::new(setup.space, s, direction)))
    }
}

/// How one parameter's arms map onto its domain.
#[derive(Clone, Debug)]
enum Arms {
    /// Each arm one value.
    Values(Vec<Value>),
    /// Each arm one of `n` equal cells of the unit interval.
    Cells(usize),
}

impl Arms {
    fn of(domain: &Domain, bins: usize) -> Arms {
        match domain {
            Domain::Categorical { choices } => Arms::Values(choices.clone()),
            d => match d.cardinality() {
                Some(n) if n as usize <= bins => Arms::Values(d.values().unwrap_or_default()),
                _ => Arms::Cells(bins),
            },
        }
    }

    fn len(&self) -> usize {
        match self {
            Arms::Values(v) => v.len(),
            Arms::Cells(n) => *n,
        }
    }

    /// The arm `value` belongs to, if any.
    fn arm(&self, domain: &Domain, value: &Value) -> Option<usize> {
        match self {
            Arms::Values(v) => v.iter().position(|x| x == value),
            Arms::Cells(n) => {
                let u = domain.to_unit(value)?;
                u.is_finite()
                    .then(|| ((u.clamp(0.0, 1.0) * *n as f64) as usize).min(n - 1))
            }
        }
    }

    fn value(&self, domain: &Domain, arm: usize, rng: &mut SeedRng) -> Value {
        match self {
            Arms::Values(v) => v[arm].clone(),
            Arms::Cells(n) => {
                let u: f64 = rng.random();
                domain.from_unit((arm as f64 + u) / *n as f64)
            }
        }
    }
}

/// The policy and the running statistics, with the number of finished trials already learned
/// from.
#[derive(Clone, Debug)]
pub struct PolicyGradient {
    settings: ReinforceSettings,
    direction: Direction,
    arms: Vec<Arms>,
    logits: Vec<Vec<f64>>,
    baseline: Option<f64>,
    scale: f64,
    seen: usize,
}

impl PolicyGradient {
    /// A uniform policy over `space`.
    pub fn new(space: &Space, settings: ReinforceSettings, direction: Direction) -> Self {
        let arms: Vec<Arms> = space
            .params()
            .iter()
            .map(|p| Arms::of(&p.domain, settings.bins))
            .collect();
        let logits = arms.iter().map(|a| vec![0.0; a.len()]).collect();
        PolicyGradient {
            settings,
            direction,
            arms,
            logits,
            baseline: None,
            scale: 0.0,
            seen: 0,
        }
    }

    /// The probabilities of parameter `i`'s arms.
    pub fn probabilities(&self, i: usize) -> Vec<f64> {
        softmax(&self.logits[i])
    }

    /// The moving-average baseline, once a reward has been seen.
    pub fn baseline(&self) -> Option<f64> {
        self.baseline
    }

    /// Learns from every trial of `trials` not yet seen (the list only grows at its end).
    pub fn learn(&mut self, space: &Space, trials: &[Trial]) {
        if trials.len() < self.seen {
            // A different history: start again from the uniform policy.
            *self = PolicyGradient::new(space, self.settings.clone(), self.direction);
        }
        for t in &trials[self.seen..] {
            self.update(space, t);
        }
        self.seen = trials.len();
    }

    fn update(&mut self, space: &Space, trial: &Trial) {
        if trial.state != TrialState::Complete {
            return;
        }
        let Some(&value) = trial.values.first().filter(|v| v.is_finite()) else {
            return;
        };
        let reward = match self.direction {
            Direction::Maximize => value,
            Direction::Minimize => -value,
        };
        let decay = self.settings.baseline_decay;
        let Some(baseline) = self.baseline else {
            // The first reward only sets the baseline: its advantage is zero by definition.
            self.baseline = Some(reward);
            return;
        };
        let deviation = reward - baseline;
        self.scale = decay * self.scale + (1.0 - decay) * deviation * deviation;
        self.baseline = Some(decay * baseline + (1.0 - decay) * reward);
        let advantage = if self.scale > 0.0 {
            deviation / self.scale.sqrt()
        } else {
            0.0
        };
        let lr = self.settings.learning_rate;
        let beta = self.settings.entropy;
        for (i, p) in space.params().iter().enumerate() {
            let Some(v) = trial.params.get(&p.name) else {
                continue; // inactive in this trial: its softmax took no part
            };
            let Some(a) = self.arms[i].arm(&p.domain, v) else {
                continue;
            };
            let probs = softmax(&self.logits[i]);
            let h: f64 = -probs.iter().map(|&q| q * q.max(1e-300).ln()).sum::<f64>();
            for (k, logit) in self.logits[i].iter_mut().enumerate() {
                let q = probs[k];
                let grad_log = f64::from(u8::from(k == a)) - q;
                let grad_entropy = -q * (q.max(1e-300).ln() + h);
                *logit += lr * (advantage * grad_log + beta * grad_entropy);
            }
        }
    }

    /// Samples one trial's parameters, parents first, only active ones.
    pub fn sample(&self, space: &Space, rng: &mut SeedRng) -> Params {
        let params = space.params();
        let mut i = 0;
        space.assign(|p| {
            // `assign` visits parameters in space order; find this one's policy.
            while params[i].name != p.name {
                i += 1;
            }
            let arm = draw(&softmax(&self.logits[i]), rng);
            self.arms[i].value(&p.domain, arm, rng)
        })
    }
}

impl Strategy for PolicyGradient {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        self.learn(ctx.space, ctx.trials);
        let mut rng = trial_rng(ctx.seed, ctx.number);
        Ok(self.sample(ctx.space, &mut rng))
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

/// An index drawn with probabilities `probs`.
fn draw(probs: &[f64], rng: &mut SeedRng) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (k, &q) in probs.iter().enumerate() {
        acc += q;
        if u < acc {
            return k;
        }
    }
    probs.len() - 1
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Budget, Param, Settings, Study, StudyConfig};

    use super::*;

    fn space(params: Vec<Param>) -> Space {
        Space::new(params).expect("test space is valid")
    }

    fn complete(number: u64, params: Params, value: f64) -> Trial {
        let mut t = Trial::running(number, params, 0);
        t.state = TrialState::Complete;
        t.values = vec![value];
        t
    }

    fn one(name: &str, v: impl Into<Value>) -> Params {
        [(name.to_owned(), v.into())].into_iter().collect()
    }

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Reinforce, &Settings::default());
        hyperplug_testkit::check_strategy(&Reinforce, &Settings::default().with("bins", 3));
    }

    #[test]
    fn one_update_moves_the_logits_by_the_policy_gradient() {
        // Three arms, uniform policy, no entropy: after the baseline is set by a first reward
        // of 0, a reward of 1 has deviation 1, scale (1 - 0.9) * 1 = 0.1, advantage
        // 1 / sqrt(0.1) = 3.1623; the taken arm gains lr * A * (1 - 1/3), the others lose
        // lr * A / 3 each.
        let s = space(vec![Param::new("op", Domain::choice(["a", "b", "c"]))]);
        let settings = ReinforceSettings {
            learning_rate: 0.5,
            entropy: 0.0,
            ..ReinforceSettings::default()
        };
        let mut pg = PolicyGradient::new(&s, settings, Direction::Maximize);
        let trials = vec![
            complete(0, one("op", "c"), 0.0),
            complete(1, one("op", "b"), 1.0),
        ];
        pg.learn(&s, &trials);
        let a = 1.0 / 0.1f64.sqrt();
        let want = [-0.5 * a / 3.0, 0.5 * a * 2.0 / 3.0, -0.5 * a / 3.0];
        for (got, want) in pg.logits[0].iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "{:?}", pg.logits[0]);
        }
        assert!((pg.baseline().expect("set") - 0.1).abs() < 1e-15);
        // Minimizing flips the sign of the reward, so the same history pushes `b` down.
        let mut pg = PolicyGradient::new(&s, ReinforceSettings::default(), Direction::Minimize);
        pg.learn(&s, &trials);
        let p = pg.probabilities(0);
        assert!(p[1] < p[0] && (p[0] - p[2]).abs() < 1e-12, "{p:?}");
    }

    #[test]
    fn the_entropy_bonus_pulls_towards_uniform() {
        let s = space(vec![Param::new("op", Domain::choice(["a", "b"]))]);
        let settings = ReinforceSettings {
            learning_rate: 1.0,
            entropy: 1.0,
            ..ReinforceSettings::default()
        };
        let mut pg = PolicyGradient::new(&s, settings, Direction::Maximize);
        pg.logits[0] = vec![2.0, 0.0];
        // Equal rewards: the advantage is 0, only the entropy term acts.
        let trials = vec![
            complete(0, one("op", "a"), 1.0),
            complete(1, one("op", "a"), 1.0),
        ];
        pg.learn(&s, &trials);
        let gap = pg.logits[0][0] - pg.logits[0][1];
        // q = softmax(2, 0) = (0.8808, 0.1192); dH/dθ0 = -q0 (ln q0 + H) = -0.2100 and
        // dH/dθ1 = +0.2100, so the gap shrinks by 0.4200.
        assert!((gap - 1.5800).abs() < 1e-4, "{gap}");
    }

    #[test]
    fn inactive_parameters_neither_sample_nor_learn() {
        let s = space(vec![
            Param::new("deep", Domain::choice([false, true])),
            Param::new("width", Domain::choice([8i64, 16])).when("deep", [true]),
        ]);
        let mut pg = PolicyGradient::new(&s, ReinforceSettings::default(), Direction::Maximize);
        let shallow = one("deep", false);
        let trials = vec![complete(0, shallow.clone(), 0.0), complete(1, shallow, 5.0)];
        pg.learn(&s, &trials);
        assert_eq!(
            pg.logits[1],
            [0.0, 0.0],
            "width was inactive in both trials"
        );
        assert!(pg.logits[0][0] > 0.0);
        for n in 0..50 {
            let p = pg.sample(&s, &mut trial_rng(1, n));
            s.validate(&p).expect("valid");
        }
    }

    #[test]
    fn numbers_with_many_values_are_binned_and_drawn_inside_their_bin() {
        let d = Domain::float(1e-4, 1e-1).log();
        let arms = Arms::of(&d, 10);
        assert_eq!(arms.len(), 10);
        let mut rng = trial_rng(0, 0);
        for arm in 0..10 {
            for _ in 0..20 {
                let v = arms.value(&d, arm, &mut rng);
                assert_eq!(arms.arm(&d, &v), Some(arm), "{v}");
            }
        }
        assert_eq!(Arms::of(&Domain::int(1, 6), 10).len(), 6);
        assert_eq!(Arms::of(&Domain::int(1, 600), 10).len(), 10);
        assert_eq!(Arms::of(&Domain::float(0.0, 1.0).step(0.25), 10).len(), 5);
    }

    #[test]
    fn it_learns_the_best_choice_of_a_noisy_bandit() {
        let s = space(vec![Param::new(
            "arm",
            Domain::choice(["a", "b", "c", "d", "e"]),
        )]);
        let config = StudyConfig::new("t", s, vec![Direction::Minimize]).seed(4);
        let mut study = Study::new(config, &Reinforce, &Settings::default()).expect("valid");
        study
            .optimize_fn(Budget::trials(300), |p, ctx| {
                let k = ["a", "b", "c", "d", "e"]
                    .iter()
                    .position(|a| p["arm"].as_str() == Some(a))
                    .unwrap_or(0) as f64;
                // `d` is best; deterministic noise from the trial number.
                let noise = ((ctx.number() * 7919) % 13) as f64 / 13.0 - 0.5;
                Ok((k - 3.0).abs() + noise)
            })
            .expect("runs");
        let last: Vec<&Trial> = study.finished().iter().rev().take(100).collect();
        let d = last
            .iter()
            .filter(|t| t.params["arm"].as_str() == Some("d"))
            .count();
        assert_eq!(d, PINNED_D);
    }

    const PINNED_D: usize = 97;

    #[test]
    fn a_resumed_study_continues_exactly() {
        let s = space(vec![
            Param::new("layers", Domain::int(1, 3)),
            Param::new("u2", Domain::int(8, 512).log()).when("layers", [2i64, 3]),
            Param::new("lr", Domain::float(1e-4, 1.0).log()),
        ]);
        let ask_all = |cut: Option<u64>| -> Vec<Params> {
            let mut trials: Vec<Trial> = Vec::new();
            let mut pg = Reinforce
                .create(&StudySetup {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 0,
                    settings: &Settings::default(),
                })
                .expect("valid");
            for n in 0..40u64 {
                if Some(n) == cut {
                    pg = Reinforce
                        .create(&StudySetup {
                            space: &s,
                            directions: &[Direction::Minimize],
                            seed: 0,
                            settings: &Settings::default(),
                        })
                        .expect("valid");
                }
                let p = pg
                    .ask(&AskContext {
                        space: &s,
                        directions: &[Direction::Minimize],
                        seed: 6,
                        trials: &trials,
                        running: &[],
                        number: n,
                    })
                    .expect("asks");
                let v = p["layers"].as_i64().unwrap_or(0) as f64 + p["lr"].as_f64().unwrap_or(0.0);
                trials.push(complete(n, p, v));
            }
            trials.into_iter().map(|t| t.params).collect()
        };
        assert_eq!(ask_all(None), ask_all(Some(23)));
    }

    #[test]
    fn bad_settings_are_refused_with_the_reason() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        let e = |settings: Settings| {
            Reinforce
                .create(&StudySetup {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 0,
                    settings: &settings,
                })
                .err()
                .expect("refused")
                .to_string()
        };
        assert!(
            e(Settings::default().with("learning_rate", 0.0))
                .contains("`learning_rate` must be a positive")
        );
        assert!(e(Settings::default().with("baseline_decay", 1.0)).contains("[0, 1), got 1"));
        assert!(e(Settings::default().with("entropy", -0.1)).contains("`entropy`"));
        assert!(e(Settings::default().with("bins", 1)).contains("between 2 and 1000, got 1"));
        assert!(e(Settings::default().with("lr", 0.1)).contains("lr"));
    }
}
