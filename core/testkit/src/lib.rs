//! The conformance suites that every strategy, objective and pruner passes, in-process or loaded as a plugin; for plugin
//! authors too.
//!
//! Add this crate as a dev-dependency and call [`check_strategy`] from a `#[test]`:
//!
//! ```
//! # use hyperplug_core::{AskContext, Capabilities, Error, Params, PluginInfo, Settings, Strategy,
//! #     StrategyFactory, StudySetup};
//! # struct MyFactory;
//! # impl StrategyFactory for MyFactory {
//! #     fn info(&self) -> PluginInfo { PluginInfo::new("mine", "0.1.0", "", Capabilities::all()) }
//! #     fn create(&self, s: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
//! #         if !s.settings.is_empty() {
//! #             return Err(Error::settings("mine", format!("unknown keys: {}", s.settings.to_json())));
//! #         }
//! #         Ok(Box::new(Mine))
//! #     }
//! # }
//! # struct Mine;
//! # impl Strategy for Mine {
//! #     fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
//! #         let mut h = ctx.seed ^ ctx.number.wrapping_mul(0x9e37_79b9_7f4a_7c15);
//! #         Ok(ctx.space.assign(|p| {
//! #             h = h.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
//! #             p.domain.from_unit((h >> 11) as f64 / (1u64 << 53) as f64)
//! #         }))
//! #     }
//! # }
//! // In a #[test] of the strategy's crate:
//! hyperplug_testkit::check_strategy(&MyFactory, &Settings::default());
//! ```
//!
//! What it checks, for each space of [`spaces`] that the strategy's capabilities allow:
//! every suggestion lies inside the space (checked here by [`check_params`], independently of
//! [`Study`]); seeded runs reproduce exactly and another seed changes something; failed, pruned
//! and NaN trials in the history do not stop it; two objectives and parallel asks work when
//! declared. It also checks that an unknown settings
//! key is refused by name and that every capability the strategy does not declare is refused by
//! [`Study::new`]. A strategy that runs out of points ([`Error::Exhausted`]) simply ends its run.
//!
//! [`check_strategy_robust`] adds a property test: spaces and histories generated from a fixed
//! seed (extreme ranges, mixed choices, conditions, degenerate, failed and pruned histories,
//! running trials), on each of which the strategy must suggest a point of the space or return an
//! error, never panic or hang. The host runs it on every bundled strategy.
//!
//! For pruner authors, [`check_pruner`] is the suite for pruners, and [`Sweep`] a deterministic
//! strategy for their own tests. For objective authors,
//! [`check_objective`] is the suite for objectives, and
//! [`RecordingContext`] runs an objective's `evaluate` outside a study and keeps what it reports.
//!
//! Through the built library: [`check_library`] loads a plugin library exactly as the host loads
//! it (through `hyperplug-loader`) and runs both suites on everything it exports, so a plugin
//! crate tests what users will load. Give the crate `crate-type = ["cdylib", "rlib"]` and, in
//! `tests/`:
//!
//! ```no_run
//! hyperplug_testkit::check_library(hyperplug_testkit::built_library(env!("CARGO_PKG_NAME")));
//! ```
//!
//! Architecture invariant: the suites themselves do no IO and no FFI and use no randomness of
//! their own: their objectives are cheap deterministic functions, so a failure always reproduces.
//! Only [`check_library`] and its kin load a library, and only through `hyperplug-loader`.
#![forbid(unsafe_code)]

mod library;
mod objective;
mod pruner;
mod robust;

pub use library::{Checked, built_library, check_library, check_library_with, run_library_checks};
pub use objective::check_objective;
pub use pruner::{STEPS, Sweep, check_pruner};
pub use robust::{
    ROBUST_CASES, RobustCase, check_strategy_robust, check_strategy_robust_with, run_case,
};

use hyperplug_core::{
    AskContext, Direction, Domain, Error, Param, Params, Requirements, Settings, Space,
    StrategyFactory, Study, StudyConfig, StudySetup, Trial, TrialContext, TrialError, TrialOutcome,
    TrialState, Value,
};

/// A trial context for unit-testing an objective without a study: it records the values the
/// objective reports and asks it to stop once `prune_after` of them have been reported.
///
/// ```
/// use hyperplug_testkit::RecordingContext;
/// let ctx = RecordingContext { prune_after: Some(3), ..RecordingContext::new(7) };
/// assert_eq!((ctx.number, ctx.reports.len()), (7, 0));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RecordingContext {
    /// The trial's number.
    pub number: u64,
    /// The study's name.
    pub study: String,
    /// The devices lent to the trial.
    pub devices: Vec<u32>,
    /// What the objective reported, in order: `(step, value)` (a step reported with one value
    /// per objective by its first value).
    pub reports: Vec<(u64, f64)>,
    /// The steps reported with one value per objective
    /// ([`TrialContext::report_values`]), in order.
    pub vectors: Vec<(u64, Vec<f64>)>,
    /// Ask to prune once this many values have been reported.
    pub prune_after: Option<usize>,
    /// The resource the trial is started with (see [`TrialContext::resource`]).
    pub resource: Option<u64>,
}

impl RecordingContext {
    /// The context of trial `number`, with nothing reported yet and no pruning.
    pub fn new(number: u64) -> Self {
        RecordingContext {
            number,
            ..RecordingContext::default()
        }
    }
}

impl TrialContext for RecordingContext {
    fn number(&self) -> u64 {
        self.number
    }
    fn report(&mut self, step: u64, value: f64) {
        self.reports.push((step, value));
    }
    fn report_values(&mut self, step: u64, values: &[f64]) {
        if let [first, _, ..] = values {
            self.vectors.push((step, values.to_vec()));
            self.reports.push((step, *first));
        } else if let [v] = values {
            self.reports.push((step, *v));
        }
    }
    fn should_prune(&mut self) -> bool {
        self.prune_after.is_some_and(|k| self.reports.len() >= k)
    }
    fn devices(&self) -> Vec<u32> {
        self.devices.clone()
    }
    fn study_name(&self) -> String {
        self.study.clone()
    }
    fn resource(&self) -> Option<u64> {
        self.resource
    }
}

/// Trials per run: enough for model-based strategies to leave their start-up phase, few enough
/// that the suite stays fast.
pub const TRIALS: u64 = 40;

/// Trials asked before any is told in the parallel check.
pub const PARALLEL: usize = 4;

/// The seed of the reference runs.
const SEED: u64 = 7;
/// The seed that must change at least one space's suggestions.
const OTHER_SEED: u64 = 8;
/// A settings key that no strategy should accept.
const UNKNOWN_KEY: &str = "testkit_no_such_key";

/// The battery of spaces the suite runs on, each with a short label for messages. Together they
/// cover every kind of domain: floats (uniform, log, step), ints (plain, log, step), categorical
/// choices of mixed types, a conditional tree with a grandchild, and a mixed space.
///
/// They are small enough that a grid strategy with `points = 5` enumerates each of them.
pub fn spaces() -> Vec<(&'static str, Space)> {
    let battery = vec![
        ("float", vec![Param::new("x", Domain::float(-5.0, 5.0))]),
        (
            "float-log",
            vec![Param::new("lr", Domain::float(1e-5, 1.0).log())],
        ),
        (
            "float-step",
            vec![Param::new("ratio", Domain::float(0.0, 1.0).step(0.125))],
        ),
        ("int", vec![Param::new("n", Domain::int(-3, 12))]),
        (
            "int-log",
            vec![Param::new("units", Domain::int(1, 1024).log())],
        ),
        (
            "int-step",
            vec![Param::new("batch", Domain::int(16, 256).step(16.0))],
        ),
        (
            "categorical",
            vec![Param::new(
                "choice",
                Domain::Categorical {
                    choices: vec![
                        Value::from("relu"),
                        Value::Int(1),
                        Value::Float(2.5),
                        Value::Bool(true),
                        Value::from("tanh"),
                        Value::Bool(false),
                    ],
                },
            )],
        ),
        (
            "conditional",
            vec![
                // Declared child-first on purpose: the space must reorder it.
                Param::new("leaf_reg", Domain::float(1e-3, 10.0).log()).when("depth", [4i64, 5, 6]),
                Param::new("booster", Domain::choice(["linear", "tree", "dart"])),
                Param::new("depth", Domain::int(1, 6)).when("booster", ["tree", "dart"]),
                Param::new("drop_rate", Domain::float(0.0, 0.5)).when("booster", ["dart"]),
                Param::new("lr", Domain::float(1e-4, 1.0).log()),
            ],
        ),
        (
            "mixed",
            vec![
                Param::new("x", Domain::float(-1.0, 2.0)),
                Param::new("lr", Domain::float(1e-4, 1e-1).log()),
                Param::new("k", Domain::int(1, 64).log()),
                Param::new("batch", Domain::int(16, 256).step(16.0)),
                Param::new("act", Domain::choice(["relu", "tanh"])),
                Param::new("dropout", Domain::float(0.0, 0.5).step(0.1)),
            ],
        ),
    ];
    battery
        .into_iter()
        .map(|(label, params)| {
            let space = Space::new(params)
                .unwrap_or_else(|e| panic!("the testkit's own space `{label}` is invalid: {e}"));
            (label, space)
        })
        .collect()
}

/// Checks that `params` fit `space`, without relying on [`Space::validate`]: no unknown keys; a
/// parameter present exactly when it is active (unconditional, or its parent present with one of
/// the condition's values); each value of its domain's type, finite, within bounds, on the step,
/// positive on a log scale, or one of the choices. Returns what is wrong.
pub fn check_params(space: &Space, params: &Params) -> Result<(), String> {
    if let Some(name) = params.keys().find(|k| space.get(k).is_none()) {
        return Err(format!("`{name}` is not a parameter of the space"));
    }
    for p in space.params() {
        let active = match &p.condition {
            None => true,
            Some(c) => params.get(&c.parent).is_some_and(|v| c.values.contains(v)),
        };
        match (active, params.get(&p.name)) {
            (true, None) => {
                return Err(format!(
                    "`{}` is missing although it is active{}",
                    p.name,
                    describe_condition(p, params)
                ));
            }
            (false, Some(v)) => {
                return Err(format!(
                    "`{}` = {v} is present although its condition does not hold{}",
                    p.name,
                    describe_condition(p, params)
                ));
            }
            (true, Some(v)) => {
                check_value(&p.domain, v).map_err(|why| format!("`{}` = {v}: {why}", p.name))?;
            }
            (false, None) => {}
        }
    }
    Ok(())
}

fn describe_condition(p: &Param, params: &Params) -> String {
    match &p.condition {
        None => String::new(),
        Some(c) => {
            let wanted: Vec<String> = c.values.iter().map(ToString::to_string).collect();
            let got = params
                .get(&c.parent)
                .map_or_else(|| "absent".to_owned(), ToString::to_string);
            format!(
                " (it exists when `{}` is one of [{}]; `{}` is {got})",
                c.parent,
                wanted.join(", "),
                c.parent
            )
        }
    }
}

fn check_value(domain: &Domain, value: &Value) -> Result<(), String> {
    match (domain, value) {
        (
            &Domain::Float {
                low,
                high,
                log,
                step,
            },
            &Value::Float(x),
        ) => {
            if !x.is_finite() {
                return Err("not a finite number".into());
            }
            if x < low || x > high {
                return Err(format!("outside the bounds [{low}, {high}]"));
            }
            if log && x <= 0.0 {
                return Err("not positive on a log scale".into());
            }
            if let Some(step) = step {
                // Tolerance for the rounding in `low + k * step`, relative to the magnitudes.
                let tol = 1e-9 * low.abs().max(high.abs()).max(step);
                let on = low + ((x - low) / step).round() * step;
                if (x - on).abs() > tol && (x - high).abs() > tol {
                    return Err(format!("not on the step {step} from {low}"));
                }
            }
            Ok(())
        }
        (Domain::Float { .. }, other) => Err(format!(
            "a float parameter got a {} value",
            other.type_name()
        )),
        (
            &Domain::Int {
                low,
                high,
                log,
                step,
            },
            &Value::Int(i),
        ) => {
            if i < low || i > high {
                return Err(format!("outside the bounds [{low}, {high}]"));
            }
            if log && i <= 0 {
                return Err("not positive on a log scale".into());
            }
            // i128: `i - low` may overflow i64 on extreme bounds.
            if (i128::from(i) - i128::from(low)) % i128::from(step.max(1)) != 0 {
                return Err(format!("not on the step {step} from {low}"));
            }
            Ok(())
        }
        (Domain::Int { .. }, other) => Err(format!(
            "an int parameter got a {} value",
            other.type_name()
        )),
        (Domain::Categorical { choices }, v) => {
            if choices.contains(v) {
                Ok(())
            } else {
                let list: Vec<String> = choices
                    .iter()
                    .map(|c| format!("{c} ({})", c.type_name()))
                    .collect();
                Err(format!(
                    "a {} that is not one of the choices [{}]",
                    v.type_name(),
                    list.join(", ")
                ))
            }
        }
    }
}

/// The suite's objective: a cheap, deterministic, finite function of every parameter, so that
/// model-based strategies see a landscape and every run can be reproduced.
pub fn objective(params: &Params) -> f64 {
    params
        .values()
        .enumerate()
        .map(|(i, v)| {
            let x = match v {
                Value::Float(x) => *x,
                Value::Int(n) => *n as f64,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Str(s) => s.len() as f64,
            };
            (x * (i + 1) as f64).sin() + x.abs().ln_1p()
        })
        .sum()
}

/// Runs the whole conformance suite on `factory` with `settings` (passed unchanged to every
/// space, so they must make sense for all of them, e.g. `points` for a grid). Panics with a
/// message naming the strategy, the space, the run and the violation at the first failure.
pub fn check_strategy(factory: &dyn StrategyFactory, settings: &Settings) {
    let info = factory.info();
    let name = info.name.clone();
    assert!(
        !name.trim().is_empty(),
        "conformance: the strategy's info() has an empty name"
    );
    assert!(
        !info.version.trim().is_empty(),
        "conformance: strategy `{name}`: info() has an empty version"
    );

    check_unknown_key_refused(factory, settings, &name);
    check_missing_capabilities(factory, settings, &info.capabilities, &name);

    let caps = info.capabilities;
    let mut seed_matters = false;
    for (label, space) in spaces() {
        let needs = Requirements::of(&space, &[Direction::Minimize], 1);
        if !caps.missing(&needs).is_empty() {
            continue;
        }
        let case = Case {
            factory,
            settings,
            name: &name,
            label,
            space: &space,
        };
        case.raw_run();
        let mixed = Run::new(SEED, "failed and pruned trials").outcome(mixed_outcome);
        let first = case.study_run(&mixed);
        let again = case.study_run(&mixed);
        case.compare(&first, &again);
        let other = case.study_run(&Run {
            seed: OTHER_SEED,
            ..mixed
        });
        seed_matters |= other != first;
        case.nan_run();
        if caps.multi_objective {
            let run = Run {
                directions: vec![Direction::Minimize, Direction::Maximize],
                ..Run::new(SEED, "two objectives")
            }
            .outcome(|_, p| {
                let f = objective(p);
                Ok(vec![f, (f * 0.5).cos()].into())
            });
            case.study_run(&run);
        }
        if caps.parallel {
            let run = Run {
                batch: PARALLEL,
                ..Run::new(SEED, "parallel asks")
            };
            case.study_run(&run);
        }
    }
    assert!(
        seed_matters,
        "conformance: strategy `{name}` made the same suggestions with seeds {SEED} and \
         {OTHER_SEED} on every space: it ignores the study seed (derive every random choice from \
         `AskContext::seed` / `StudySetup::seed`, e.g. with `trial_rng`)"
    );
}

/// Fails every 3rd trial and prunes every 4th: the history a strategy must cope with.
fn mixed_outcome(number: u64, params: &Params) -> TrialOutcome {
    if number % 3 == 2 {
        Err(TrialError::failed("testkit: every 3rd trial fails"))
    } else if number % 4 == 3 {
        Err(TrialError::Pruned)
    } else {
        Ok(objective(params).into())
    }
}

type OutcomeFn = fn(u64, &Params) -> TrialOutcome;

/// One study run of a case: its seed, directions, how many asks go out before the tells, and
/// what the objective returns.
#[derive(Clone)]
struct Run {
    seed: u64,
    what: &'static str,
    directions: Vec<Direction>,
    batch: usize,
    outcome: OutcomeFn,
}

impl Run {
    fn new(seed: u64, what: &'static str) -> Self {
        Run {
            seed,
            what,
            directions: vec![Direction::Minimize],
            batch: 1,
            outcome: |_, p| Ok(objective(p).into()),
        }
    }

    fn outcome(self, outcome: OutcomeFn) -> Self {
        Run { outcome, ..self }
    }
}

/// The parameters of one trial in order, for exact comparison (a `Params` map compares equal
/// whatever its order).
type Suggestion = (u64, Vec<(String, Value)>);

struct Case<'a> {
    factory: &'a dyn StrategyFactory,
    settings: &'a Settings,
    name: &'a str,
    label: &'static str,
    space: &'a Space,
}

impl Case<'_> {
    fn fail(&self, run: &str, message: impl std::fmt::Display) -> ! {
        panic!(
            "conformance: strategy `{}` on space `{}` ({run}): {message}",
            self.name, self.label
        )
    }

    fn check(&self, run: &str, number: u64, params: &Params) {
        if let Err(why) = check_params(self.space, params) {
            self.fail(
                run,
                format!("trial {number} has parameters outside the space: {why}; all: {params:?}"),
            );
        }
    }

    fn study(&self, run: &Run) -> Study {
        let mut config = StudyConfig::new(
            format!("testkit-{}", self.label),
            self.space.clone(),
            run.directions.clone(),
        )
        .seed(run.seed);
        config.parallelism = run.batch;
        match Study::new(config, self.factory, self.settings) {
            Ok(study) => study,
            Err(e) => self.fail(run.what, format!("the study could not be created: {e}")),
        }
    }

    /// Drives the strategy directly, without a `Study`, so that its raw suggestions meet
    /// [`check_params`] before anything else sees them.
    fn raw_run(&self) {
        let what = "direct asks without a Study";
        let directions = [Direction::Minimize];
        let setup = StudySetup {
            space: self.space,
            directions: &directions,
            seed: SEED,
            settings: self.settings,
        };
        let mut strategy = match self.factory.create(&setup) {
            Ok(s) => s,
            Err(e) => self.fail(what, format!("create failed: {e}")),
        };
        let mut finished: Vec<Trial> = Vec::new();
        for number in 0..TRIALS {
            let ctx = AskContext {
                space: self.space,
                directions: &directions,
                seed: SEED,
                trials: &finished,
                running: &[],
                number,
            };
            let params = match strategy.ask(&ctx) {
                Ok(p) => p,
                Err(Error::Exhausted(_)) if number > 0 => return,
                Err(e) => self.fail(what, format!("ask for trial {number} failed: {e}")),
            };
            self.check(what, number, &params);
            let mut trial = Trial::running(number, params, 0);
            trial.values = vec![objective(&trial.params)];
            trial.state = TrialState::Complete;
            finished.push(trial);
            let ctx = AskContext {
                space: self.space,
                directions: &directions,
                seed: SEED,
                trials: &finished,
                running: &[],
                number,
            };
            if let Some(last) = finished.last()
                && let Err(e) = strategy.tell(&ctx, last)
            {
                self.fail(what, format!("tell for trial {number} failed: {e}"));
            }
        }
    }

    /// Runs a study by hand: `run.batch` asks, then the tells in reverse order (so trials finish
    /// out of order), until [`TRIALS`] or exhaustion. Returns the suggestions in order.
    fn study_run(&self, run: &Run) -> Vec<Suggestion> {
        let mut study = self.study(run);
        let mut out: Vec<Suggestion> = Vec::new();
        let mut exhausted = false;
        while !exhausted && (out.len() as u64) < TRIALS {
            let mut batch: Vec<Trial> = Vec::new();
            while batch.len() < run.batch && ((out.len() + batch.len()) as u64) < TRIALS {
                match study.ask() {
                    Ok(trial) => {
                        self.check(run.what, trial.number, &trial.params);
                        batch.push(trial);
                    }
                    Err(Error::Exhausted(_)) if !out.is_empty() || !batch.is_empty() => {
                        exhausted = true;
                        break;
                    }
                    Err(e) => self.fail(
                        run.what,
                        format!(
                            "ask failed after {} asked trials ({}): {e}",
                            out.len() + batch.len(),
                            history(study.finished())
                        ),
                    ),
                }
            }
            if run.batch > 1 && out.is_empty() && self.label == "float" && batch.len() > 1 {
                let first = &batch[0].params;
                if batch.iter().all(|t| &t.params == first) {
                    self.fail(
                        run.what,
                        format!(
                            "{} asks before any tell all suggested {first:?}; parallel workers \
                             would evaluate the same point (look at `AskContext::running`)",
                            batch.len()
                        ),
                    );
                }
            }
            for trial in batch.iter().rev() {
                let outcome = (run.outcome)(trial.number, &trial.params);
                if let Err(e) = study.tell(trial.number, outcome) {
                    self.fail(
                        run.what,
                        format!("tell for trial {} failed: {e}", trial.number),
                    );
                }
            }
            out.extend(
                batch
                    .into_iter()
                    .map(|t| (t.number, t.params.into_iter().collect())),
            );
        }
        out
    }

    fn compare(&self, first: &[Suggestion], again: &[Suggestion]) {
        let what = "reproducibility";
        if let Some((a, b)) = first.iter().zip(again).find(|(a, b)| a != b) {
            self.fail(
                what,
                format!(
                    "two runs with seed {SEED} differ at trial {}: {:?} then {:?}; a seeded run \
                     must reproduce exactly (no clocks, global RNGs or hash-map order)",
                    a.0, a.1, b.1
                ),
            );
        }
        if first.len() != again.len() {
            self.fail(
                what,
                format!(
                    "two runs with seed {SEED} made {} and {} suggestions",
                    first.len(),
                    again.len()
                ),
            );
        }
    }

    /// An objective that returns NaN for every other trial, run through `Study::optimize`, which
    /// records NaN as a failed trial and ends cleanly on exhaustion.
    fn nan_run(&self) {
        let what = "NaN values";
        let mut study = self.study(&Run::new(SEED, what));
        let result = study.optimize_fn(hyperplug_core::Budget::trials(TRIALS), |p, ctx| {
            if ctx.number() % 2 == 0 {
                Ok(f64::NAN)
            } else {
                Ok(objective(p))
            }
        });
        if let Err(e) = result {
            self.fail(what, format!("optimize returned an error: {e}"));
        }
        for t in study.finished() {
            let nan = t.number % 2 == 0;
            if t.state == TrialState::Failed && !nan {
                // `optimize` records a failed ask as a failed trial with empty parameters.
                self.fail(
                    what,
                    format!(
                        "trial {} failed without the objective failing: {}",
                        t.number,
                        t.message.as_deref().unwrap_or("(no message)")
                    ),
                );
            }
            self.check(what, t.number, &t.params);
        }
        if (study.finished().len() as u64) < TRIALS {
            // The run ended early: only exhaustion may do that, and it must last.
            match study.ask() {
                Err(Error::Exhausted(_)) => {}
                Err(e) => self.fail(what, format!("the run ended early, then ask failed: {e}")),
                Ok(t) => self.fail(
                    what,
                    format!(
                        "the run ended after {} trials, yet the strategy suggests trial {} \
                         afterwards",
                        study.finished().len(),
                        t.number
                    ),
                ),
            }
        }
    }
}

fn history(trials: &[Trial]) -> String {
    let count = |s: TrialState| trials.iter().filter(|t| t.state == s).count();
    format!(
        "{} complete, {} failed, {} pruned",
        count(TrialState::Complete),
        count(TrialState::Failed),
        count(TrialState::Pruned)
    )
}

fn space_labelled(label: &str) -> Space {
    spaces()
        .into_iter()
        .find(|(l, _)| *l == label)
        .map(|(_, s)| s)
        .unwrap_or_else(|| panic!("the testkit has no space `{label}`"))
}

fn check_unknown_key_refused(factory: &dyn StrategyFactory, settings: &Settings, name: &str) {
    let bad = settings.clone().with(UNKNOWN_KEY, true);
    let config = StudyConfig::new(
        "testkit-settings",
        space_labelled("float"),
        vec![Direction::Minimize],
    );
    match Study::new(config, factory, &bad) {
        Err(Error::Settings { message, .. }) if message.contains(UNKNOWN_KEY) => {}
        Err(e) => panic!(
            "conformance: strategy `{name}`: an unknown settings key `{UNKNOWN_KEY}` must be \
             refused with Error::Settings naming it, got: {e}"
        ),
        Ok(_) => panic!(
            "conformance: strategy `{name}` accepted the unknown settings key `{UNKNOWN_KEY}`; \
             read settings with `Settings::parse` into a `#[serde(deny_unknown_fields)]` struct"
        ),
    }
}

/// For each capability the strategy does not declare, a study that needs it must be refused by
/// name before any trial.
fn check_missing_capabilities(
    factory: &dyn StrategyFactory,
    settings: &Settings,
    caps: &hyperplug_core::Capabilities,
    name: &str,
) {
    let one = vec![Direction::Minimize];
    let two = vec![Direction::Minimize, Direction::Maximize];
    let cases = [
        (
            caps.categorical,
            "categorical parameters",
            "categorical",
            one.clone(),
            1,
        ),
        (
            caps.conditional,
            "conditional parameters",
            "conditional",
            one.clone(),
            1,
        ),
        (caps.multi_objective, "several objectives", "float", two, 1),
        (caps.parallel, "parallel asks", "float", one, PARALLEL),
    ];
    for (declared, needed, label, directions, parallelism) in cases {
        if declared {
            continue;
        }
        let mut config = StudyConfig::new("testkit-capability", space_labelled(label), directions);
        config.parallelism = parallelism;
        match Study::new(config, factory, settings) {
            Err(Error::MissingCapability { strategy, missing })
                if strategy == name && missing.contains(&needed) => {}
            Err(e) => panic!(
                "conformance: strategy `{name}` does not declare {needed}, so a study needing \
                 them must be refused with MissingCapability naming it; got: {e}"
            ),
            Ok(_) => panic!(
                "conformance: strategy `{name}` does not declare {needed}, yet a study needing \
                 them was created"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn the_battery_covers_every_kind_of_domain() {
        let all = spaces();
        assert_eq!(all.len(), 9);
        let doms: Vec<&Domain> = all
            .iter()
            .flat_map(|(_, s)| s.params().iter().map(|p| &p.domain))
            .collect();
        let has = |f: &dyn Fn(&Domain) -> bool| doms.iter().any(|d| f(d));
        assert!(has(&|d| matches!(d, Domain::Float { log: true, .. })));
        assert!(has(&|d| matches!(d, Domain::Float { step: Some(_), .. })));
        assert!(has(&|d| matches!(d, Domain::Int { log: true, .. })));
        assert!(has(&|d| matches!(d, Domain::Int { step: 16, .. })));
        let cond = space_labelled("conditional");
        // Parents come first, and `leaf_reg` is a grandchild of `booster`.
        let names: Vec<&str> = cond.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["booster", "depth", "leaf_reg", "drop_rate", "lr"]);
    }

    #[test]
    fn check_params_accepts_valid_points_and_names_each_violation() {
        let space = space_labelled("conditional");
        let ok = params(&[
            ("booster", "tree".into()),
            ("depth", Value::Int(5)),
            ("lr", Value::Float(0.01)),
            ("leaf_reg", Value::Float(0.5)),
        ]);
        assert_eq!(check_params(&space, &ok), Ok(()));
        let shallow = params(&[("booster", "linear".into()), ("lr", Value::Float(0.01))]);
        assert_eq!(check_params(&space, &shallow), Ok(()));

        let mut extra = ok.clone();
        extra.insert("drop_rate".into(), Value::Float(0.1));
        let e = check_params(&space, &extra).expect_err("drop_rate is inactive for tree");
        assert!(
            e.contains("`drop_rate`") && e.contains("does not hold"),
            "{e}"
        );

        let mut missing = ok.clone();
        missing.shift_remove("leaf_reg");
        let e = check_params(&space, &missing).expect_err("leaf_reg is active at depth 5");
        assert!(e.contains("`leaf_reg` is missing"), "{e}");

        let mut unknown = ok.clone();
        unknown.insert("momentum".into(), Value::Float(0.9));
        let e = check_params(&space, &unknown).expect_err("unknown key");
        assert!(e.contains("`momentum` is not a parameter"), "{e}");

        let mut wrong_type = ok.clone();
        wrong_type.insert("depth".into(), Value::Float(5.0));
        let e = check_params(&space, &wrong_type).expect_err("float for an int");
        assert!(e.contains("int parameter got a float"), "{e}");

        let mixed = space_labelled("mixed");
        let good = params(&[
            ("x", Value::Float(2.0)),
            ("lr", Value::Float(1e-4)),
            ("k", Value::Int(64)),
            ("batch", Value::Int(256)),
            ("act", "relu".into()),
            ("dropout", Value::Float(0.30000000000000004)),
        ]);
        assert_eq!(check_params(&mixed, &good), Ok(()));
        for (key, bad, why) in [
            ("x", Value::Float(2.0000001), "outside the bounds"),
            ("x", Value::Float(f64::NAN), "not a finite number"),
            ("batch", Value::Int(40), "not on the step 16"),
            ("dropout", Value::Float(0.25), "not on the step"),
            ("act", Value::Int(1), "not one of the choices"),
        ] {
            let mut p = good.clone();
            p.insert(key.into(), bad);
            let e = check_params(&mixed, &p).expect_err(why);
            assert!(e.contains(why) && e.contains(key), "{e}");
        }
        // 1 and 1.0 are different choices.
        let cat = space_labelled("categorical");
        assert!(check_params(&cat, &params(&[("choice", Value::Int(1))])).is_ok());
        assert!(check_params(&cat, &params(&[("choice", Value::Float(1.0))])).is_err());
    }

    #[test]
    fn the_objective_is_deterministic_and_finite_on_every_space() {
        for (label, space) in spaces() {
            let lo = space.assign(|p| p.domain.from_unit(0.0));
            let hi = space.assign(|p| p.domain.from_unit(0.999));
            assert!(
                objective(&lo).is_finite() && objective(&hi).is_finite(),
                "{label}"
            );
            assert_eq!(objective(&lo).to_bits(), objective(&lo.clone()).to_bits());
        }
        let p = params(&[("x", Value::Float(1.0))]);
        assert!((objective(&p) - (1f64.sin() + 2f64.ln())).abs() < 1e-15);
    }

    #[test]
    fn mixed_outcome_fails_every_third_and_prunes_every_fourth() {
        let p = params(&[("x", Value::Float(0.0))]);
        let kinds: Vec<char> = (0..12)
            .map(|n| match mixed_outcome(n, &p) {
                Ok(_) => 'c',
                Err(TrialError::Pruned) => 'p',
                Err(TrialError::Failed(_)) => 'f',
            })
            .collect();
        assert_eq!(kinds.iter().collect::<String>(), "ccfpcfcpfccf");
    }
}
