//! Running a suite: every (budget, problem, strategy, seed) is an independent single-threaded
//! in-memory study; the runs are spread over a pool of threads.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{
    AskContext, Budget, Direction, Error, Objective, ObjectiveFactory, Observer, Params,
    PluginInfo, PrunerFactory, Space, Strategy, StrategyFactory, Study, StudyConfig, StudySetup,
    Trial, panic_message,
};

use super::record::{Record, RecordKind, hypervolume_outcome, outcome};
use super::suite::{ProblemSpec, StrategySpec, Suite};
use crate::registry::Registry;

/// The system name hyperplug writes into its records.
pub const SYSTEM: &str = "hyperplug";

/// A strategy of the suite with its factory.
pub struct PlannedStrategy {
    /// What the suite says.
    pub spec: StrategySpec,
    factory: Arc<dyn StrategyFactory>,
    pruner: Option<Arc<dyn PrunerFactory>>,
}

/// A problem of the suite with its factory and what was learnt from it before any run.
pub struct PlannedProblem {
    /// What the suite says.
    pub spec: ProblemSpec,
    factory: Arc<dyn ObjectiveFactory>,
    /// Which way the score is better: the objective's direction, or for several objectives
    /// `maximize` (the hypervolume).
    pub direction: Direction,
    /// The study's directions: `[direction]` for one objective, the objective's metrics' for
    /// several.
    pub directions: Vec<Direction>,
    /// Several objectives: the reference point the run's hypervolume is measured against.
    pub reference: Option<Vec<f64>>,
    /// The name of the metric (for `mean_<metric>` and `noiseless_<metric>`).
    pub metric: String,
    /// The best value, when the objective knows it.
    pub optimum: Option<f64>,
    /// The space of the first seed's objective, for the pairing checks.
    space: Space,
}

/// One run to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// Index into [`Plan::strategies`].
    pub strategy: usize,
    /// Index into [`Plan::problems`].
    pub problem: usize,
    /// The study seed.
    pub seed: u64,
    /// Trials.
    pub budget: u64,
}

/// A suite checked against the registry: names resolved, objectives created, every strategy
/// paired with every problem once, so that whatever cannot work is refused before any run.
pub struct Plan {
    /// The strategies.
    pub strategies: Vec<PlannedStrategy>,
    /// The problems.
    pub problems: Vec<PlannedProblem>,
    /// Every run, in order.
    pub jobs: Vec<Job>,
    /// What each record is.
    pub kind: RecordKind,
    /// A time limit per run (overhead runs), besides the trial budget.
    pub timeout: Option<Duration>,
    /// Written into overhead records.
    pub checkpoints: Vec<u64>,
}

impl Plan {
    /// Resolves and checks `suite` (which must pass [`Suite::check`]).
    pub fn new(suite: &Suite, registry: &Registry) -> Result<Plan> {
        suite.check()?;
        let first_seed = suite.seeds[0];
        let strategies = suite
            .strategies
            .iter()
            .map(|spec| {
                let entry = registry
                    .strategy(&spec.name)
                    .ok_or_else(|| anyhow!(registry.unknown("strategy", &spec.name)))?;
                let pruner = match &spec.pruner {
                    Some((name, _)) => Some(Arc::clone(
                        &registry
                            .pruner(name)
                            .ok_or_else(|| anyhow!(registry.unknown("pruner", name)))?
                            .factory,
                    )),
                    None => None,
                };
                Ok(PlannedStrategy {
                    spec: spec.clone(),
                    factory: Arc::clone(&entry.factory),
                    pruner,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut problems = Vec::with_capacity(suite.problems.len());
        for spec in &suite.problems {
            let entry = registry
                .objective(&spec.objective)
                .ok_or_else(|| anyhow!(registry.unknown("objective", &spec.objective)))
                .with_context(|| format!("problem `{}`", spec.label))?;
            let factory = Arc::clone(&entry.factory);
            let objective = factory
                .create(&spec.settings_for(first_seed))
                .with_context(|| {
                    format!(
                        "problem `{}`: cannot create objective `{}`",
                        spec.label, spec.objective
                    )
                })?;
            let space = space_of(spec, &*objective)?;
            let metrics = objective.metrics();
            if metrics.len() > 1 {
                problems.push(multi_objective(spec, factory, &metrics, space)?);
                continue;
            }
            let direction = match (spec.direction, metrics.first()) {
                (Some(d), _) => d,
                (None, Some(m)) => m.direction,
                (None, None) => bail!(
                    "problem `{}`: objective `{}` does not say which way is better; add `direction = \"minimize\"` or \"maximize\"",
                    spec.label,
                    spec.objective
                ),
            };
            problems.push(PlannedProblem {
                spec: spec.clone(),
                factory,
                direction,
                directions: vec![direction],
                reference: None,
                metric: metrics
                    .first()
                    .map_or_else(|| "value".into(), |m| m.name.clone()),
                optimum: objective.optimum().and_then(|o| o.first().copied()),
                space,
            });
        }
        // Every pairing once, so that bad settings or a missing capability stop the whole
        // benchmark now rather than fail one run in a thousand later.
        for s in &strategies {
            for p in &problems {
                let config = StudyConfig::new("check", p.space.clone(), p.directions.clone())
                    .seed(first_seed);
                Study::new(config, &*s.factory, &s.spec.settings).with_context(|| {
                    format!(
                        "strategy `{}` cannot run problem `{}`",
                        s.spec.label, p.spec.label
                    )
                })?;
            }
        }
        let mut jobs = Vec::new();
        for &budget in &suite.budgets {
            for problem in 0..problems.len() {
                for strategy in 0..strategies.len() {
                    for &seed in &suite.seeds {
                        jobs.push(Job {
                            strategy,
                            problem,
                            seed,
                            budget,
                        });
                    }
                }
            }
        }
        Ok(Plan {
            strategies,
            problems,
            jobs,
            kind: RecordKind::Quality,
            timeout: None,
            checkpoints: Vec::new(),
        })
    }

    /// Runs one job to its record. Never panics: a failure of any kind is the record's `error`.
    pub fn run(&self, job: Job) -> Record {
        let s = &self.strategies[job.strategy];
        let p = &self.problems[job.problem];
        let mut record = Record::new(
            SYSTEM,
            &s.spec.label,
            &p.spec.label,
            p.direction,
            job.seed,
            job.budget,
        );
        record.kind = self.kind;
        record.system_version = env!("CARGO_PKG_VERSION").into();
        record.strategy_name = s.spec.name.clone();
        record.strategy_settings = as_map(&s.spec.settings);
        record.objective = p.spec.objective.clone();
        record.problem_settings = as_map(&p.spec.settings);
        record.optimum = p.optimum;
        record.checkpoints = self.checkpoints.clone();
        let run = catch_unwind(AssertUnwindSafe(|| self.study(job, &mut record)));
        match run {
            Ok(Ok(())) => {}
            Ok(Err(e)) => record.error = Some(format!("{e:#}")),
            Err(payload) => {
                record.error = Some(format!("panicked: {}", panic_message(payload.as_ref())));
            }
        }
        record
    }

    fn study(&self, job: Job, record: &mut Record) -> Result<()> {
        let s = &self.strategies[job.strategy];
        let p = &self.problems[job.problem];
        let objective = p
            .factory
            .create(&p.spec.settings_for(job.seed))
            .with_context(|| format!("cannot create objective `{}`", p.spec.objective))?;
        let space = space_of(&p.spec, &*objective)?;
        // Grown per trial as trials run: a budget is a limit, and one far beyond what a run
        // reaches (stopped by its timeout) must not be allocated up front.
        let sampler = Arc::new(Mutex::new(Vec::new()));
        let timed = TimedFactory {
            inner: Arc::clone(&s.factory),
            seconds: Arc::clone(&sampler),
        };
        let name = format!("{}-{}-{}", s.spec.label, p.spec.label, job.seed);
        let config = StudyConfig::new(name, space, p.directions.clone()).seed(job.seed);
        let mut study = Study::new(config, &timed, &s.spec.settings)?;
        if let (Some(pruner), Some((name, settings))) = (&s.pruner, &s.spec.pruner) {
            study
                .set_pruner(&**pruner, settings)
                .with_context(|| format!("cannot use pruner `{name}`"))?;
        }
        let budget = Budget {
            trials: Some(job.budget),
            timeout: self.timeout,
        };
        let mut clock = Clock::new();
        study.optimize(&*objective, budget, &mut clock)?;
        record.wall_s = clock.start.elapsed().as_secs_f64();
        let trials = study.finished();
        let o = match &p.reference {
            Some(reference) => hypervolume_outcome(trials, &p.directions, reference, p.optimum),
            None => outcome(
                trials,
                p.direction,
                &p.metric,
                p.spec.quality_attr.as_deref(),
                p.optimum,
            ),
        };
        record.trials = trials.len() as u64;
        record.pruned = trials
            .iter()
            .filter(|t| t.state == hyperplug_core::TrialState::Pruned)
            .count() as u64;
        record.steps = trials.iter().map(|t| t.intermediate.len() as u64).sum();
        record.complete = o.complete;
        record.failed = o.failed;
        record.best_value = o.best_value;
        record.best_observed = o.best_observed;
        record.best_trial = o.best_trial;
        record.regret = o.regret;
        record.best_so_far = o.best_so_far;
        let mut sampler =
            std::mem::take(&mut *sampler.lock().unwrap_or_else(PoisonError::into_inner));
        sampler.resize(trials.len(), 0.0);
        record.sampler_s = sampler;
        record.trial_s = clock.trial_s;
        if record.complete == 0
            && let Some(message) = trials.iter().find_map(|t| t.message.clone())
        {
            // Nothing completed: the first failure says why, for the log and the record.
            bail!("no trial completed; the first failed with: {message}");
        }
        Ok(())
    }
}

/// A problem with several objectives, scored by the hypervolume of its run's front against the
/// reference point of a synthetic function whose true front is known (its hypervolume is the
/// optimum, so the regret is what the run's front lacks).
fn multi_objective(
    spec: &ProblemSpec,
    factory: Arc<dyn ObjectiveFactory>,
    metrics: &[hyperplug_core::Metric],
    space: Space,
) -> Result<PlannedProblem> {
    let known = hyperplug_synthetic::Function::from_name(&spec.objective)
        .and_then(|f| Some((f.reference_point()?, f.front_hypervolume()?)));
    let Some((reference, optimum)) = known else {
        bail!(
            "problem `{}`: objective `{}` returns {} values; benchmarks score several objectives \
             by hypervolume against a known Pareto front, which only the synthetic zdt1, zdt2, \
             zdt3 and dtlz2 have",
            spec.label,
            spec.objective,
            metrics.len()
        );
    };
    if spec.direction.is_some() || spec.quality_attr.is_some() {
        bail!(
            "problem `{}`: `direction` and `quality_attr` are for one objective; a \
             multi-objective problem is scored by its hypervolume",
            spec.label
        );
    }
    Ok(PlannedProblem {
        spec: spec.clone(),
        factory,
        direction: Direction::Maximize,
        directions: metrics.iter().map(|m| m.direction).collect(),
        reference: Some(reference),
        metric: "hypervolume".into(),
        optimum: Some(optimum),
        space,
    })
}

/// A problem's space: the objective's own or the one its study file declares.
fn space_of(spec: &ProblemSpec, objective: &dyn Objective) -> Result<Space> {
    match (objective.space(), &spec.space) {
        (Some(own), None) => Ok(own),
        (None, Some(space)) => Ok(space.clone()),
        (Some(_), Some(_)) => bail!(
            "problem `{}`: objective `{}` defines its own search space; remove the [space] table of its study file",
            spec.label,
            spec.objective
        ),
        (None, None) => bail!(
            "problem `{}`: objective `{}` needs a search space; describe the problem with `study = \"file.toml\"` holding a [space] table",
            spec.label,
            spec.objective
        ),
    }
}

fn as_map(settings: &hyperplug_core::Settings) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::to_value(settings) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// Runs every job of `plan` on `threads` threads, handing each record to `sink` on this thread
/// as runs finish (in finishing order). Stops early, returning its error, if `sink` fails.
pub fn run_all(
    plan: &Plan,
    threads: usize,
    mut sink: impl FnMut(Record) -> Result<()>,
) -> Result<()> {
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    for &job in &plan.jobs {
        // The receiver is alive: it is dropped only at the end of this function.
        let _ = job_tx.send(job);
    }
    drop(job_tx);
    let (record_tx, record_rx) = crossbeam_channel::unbounded::<Record>();
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let jobs = job_rx.clone();
            let records = record_tx.clone();
            scope.spawn(move || {
                for job in jobs {
                    if records.send(plan.run(job)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(record_tx);
        let mut failure = None;
        while let Ok(record) = record_rx.recv() {
            if let Err(e) = sink(record) {
                failure = Some(e);
                break;
            }
        }
        // With the receiver gone, each worker stops after its current run.
        drop(record_rx);
        failure.map_or(Ok(()), Err)
    })
}

/// Wraps a strategy factory so that the strategies it makes time their own `ask` and `tell`,
/// per trial, into `seconds`.
struct TimedFactory {
    inner: Arc<dyn StrategyFactory>,
    seconds: Arc<Mutex<Vec<f64>>>,
}

impl StrategyFactory for TimedFactory {
    fn info(&self) -> PluginInfo {
        self.inner.info()
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        Ok(Box::new(Timed {
            inner: self.inner.create(setup)?,
            seconds: Arc::clone(&self.seconds),
        }))
    }
}

struct Timed {
    inner: Box<dyn Strategy>,
    seconds: Arc<Mutex<Vec<f64>>>,
}

impl Timed {
    fn add(&self, trial: u64, since: Instant) {
        let elapsed = since.elapsed().as_secs_f64();
        let mut seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        let i = trial as usize;
        if seconds.len() <= i {
            seconds.resize(i + 1, 0.0);
        }
        seconds[i] += elapsed;
    }
}

impl Strategy for Timed {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let start = Instant::now();
        let params = self.inner.ask(ctx);
        self.add(ctx.number, start);
        params
    }

    fn tell(&mut self, ctx: &AskContext<'_>, trial: &Trial) -> Result<(), Error> {
        let start = Instant::now();
        let told = self.inner.tell(ctx, trial);
        self.add(trial.number, start);
        told
    }
}

/// Records the wall time of each trial: from the end of the previous trial (or the start) to
/// the end of this one, so ask, evaluation, tell and the study's bookkeeping all count.
struct Clock {
    start: Instant,
    last: Instant,
    trial_s: Vec<f64>,
}

impl Clock {
    fn new() -> Self {
        let now = Instant::now();
        Clock {
            start: now,
            last: now,
            trial_s: Vec::new(),
        }
    }
}

impl Observer for Clock {
    fn trial_finished(&mut self, _study: &Study, _trial: &Trial) {
        let now = Instant::now();
        self.trial_s.push((now - self.last).as_secs_f64());
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::suite::{problems_from_flag, strategies_from_flag};

    fn suite(strategies: &[&str], problems: &[&str], seeds: Vec<u64>, budget: u64) -> Suite {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Suite {
            strategies: strategies_from_flag(&own(strategies)).unwrap(),
            problems: problems_from_flag(&own(problems)).unwrap(),
            seeds,
            budgets: vec![budget],
        }
    }

    #[test]
    fn a_run_matches_a_plain_study_with_the_same_seed_and_times_every_trial() {
        let registry = Registry::bundled();
        let plan = Plan::new(&suite(&["random"], &["branin"], vec![3], 20), &registry).unwrap();
        let r = plan.run(plan.jobs[0]);
        assert_eq!(r.error, None);
        assert_eq!((r.trials, r.complete, r.failed), (20, 20, 0));
        assert_eq!(r.best_so_far.len(), 20);
        assert_eq!((r.sampler_s.len(), r.trial_s.len()), (20, 20));
        assert!(r.sampler_s.iter().all(|&s| s > 0.0), "{:?}", r.sampler_s);
        assert!(r.trial_s.iter().sum::<f64>() <= r.wall_s);

        // The same study driven directly finds the same best value.
        let entry = registry.objective("branin").unwrap();
        let objective = entry.factory.create(&Default::default()).unwrap();
        let config = StudyConfig::new(
            "direct",
            objective.space().unwrap(),
            vec![Direction::Minimize],
        )
        .seed(3);
        let random = registry.strategy("random").unwrap();
        let mut study = Study::new(config, &*random.factory, &Default::default()).unwrap();
        study
            .optimize(&*objective, Budget::trials(20), &mut ())
            .unwrap();
        let best = study.best_trial().unwrap();
        assert_eq!(r.best_value, Some(best.values[0]));
        assert_eq!(r.best_trial, Some(best.number));
        let optimum = hyperplug_synthetic::BRANIN_OPTIMUM;
        assert_eq!(r.optimum, Some(optimum));
        assert_eq!(r.regret, Some(best.values[0] - optimum));
    }

    #[test]
    fn bad_pairings_and_names_are_refused_before_any_run() {
        let registry = Registry::bundled();
        let e = Plan::new(&suite(&["annealing"], &["branin"], vec![0], 5), &registry)
            .err()
            .unwrap();
        assert!(
            format!("{e:#}").contains("unknown strategy `annealing`"),
            "{e:#}"
        );
        let e = Plan::new(
            &suite(&["random:depth=3"], &["branin"], vec![0], 5),
            &registry,
        )
        .err()
        .unwrap();
        let m = format!("{e:#}");
        assert!(
            m.contains("strategy `random:depth=3` cannot run problem `branin`"),
            "{m}"
        );
        assert!(m.contains("unknown field `depth`"), "{m}");
        let e = Plan::new(
            &suite(&["random"], &["branin:dim=3"], vec![0], 5),
            &registry,
        )
        .err()
        .unwrap();
        assert!(format!("{e:#}").contains("`dim` cannot be set"), "{e:#}");
    }

    #[test]
    fn several_objectives_are_scored_by_hypervolume_against_the_known_front() {
        let registry = Registry::bundled();
        let plan = Plan::new(&suite(&["nsga2"], &["zdt1:dim=4"], vec![2], 120), &registry).unwrap();
        let p = &plan.problems[0];
        assert_eq!(p.direction, Direction::Maximize);
        assert_eq!(p.directions, [Direction::Minimize, Direction::Minimize]);
        let r = plan.run(plan.jobs[0]);
        assert_eq!(r.error, None);
        assert_eq!(r.direction, Direction::Maximize);
        assert_eq!(r.optimum, Some(1.21 - 1.0 / 3.0));
        // The same study driven directly: the hypervolume of its trials' values against
        // (1.1, 1.1) is the record's best value, and the curve ends there.
        let entry = registry.objective("zdt1").unwrap();
        let settings = hyperplug_core::Settings::default().with("dim", 4);
        let objective = entry.factory.create(&settings).unwrap();
        let config = StudyConfig::new(
            "direct",
            objective.space().unwrap(),
            vec![Direction::Minimize; 2],
        )
        .seed(2);
        let nsga2 = registry.strategy("nsga2").unwrap();
        let mut study = Study::new(config, &*nsga2.factory, &Default::default()).unwrap();
        study
            .optimize(&*objective, Budget::trials(120), &mut ())
            .unwrap();
        let points: Vec<&[f64]> = study
            .finished()
            .iter()
            .map(|t| t.values.as_slice())
            .collect();
        let hv = hyperplug_core::hypervolume(&points, &[1.1, 1.1]).unwrap();
        assert!(hv > 0.0, "120 trials of 4-D ZDT1 reach the box");
        assert_eq!(r.best_value, Some(hv));
        assert_eq!(r.best_so_far.last(), Some(&Some(hv)));
        assert_eq!(r.regret, Some(1.21 - 1.0 / 3.0 - hv));
        // The curve never falls.
        let curve: Vec<f64> = r.best_so_far.iter().map(|v| v.unwrap_or(0.0)).collect();
        assert!(curve.windows(2).all(|w| w[0] <= w[1]), "{curve:?}");
    }

    /// Two metrics and no known front.
    struct TwoMetrics;

    impl ObjectiveFactory for TwoMetrics {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("two", "0", "", hyperplug_core::Capabilities::default())
        }
        fn create(&self, _: &hyperplug_core::Settings) -> Result<Box<dyn Objective>, Error> {
            struct Two;
            impl Objective for Two {
                fn space(&self) -> Option<Space> {
                    Space::new(vec![hyperplug_core::Param::new(
                        "x",
                        hyperplug_core::Domain::float(0.0, 1.0),
                    )])
                    .ok()
                }
                fn metrics(&self) -> Vec<hyperplug_core::Metric> {
                    vec![
                        hyperplug_core::Metric::minimize("a"),
                        hyperplug_core::Metric::minimize("b"),
                    ]
                }
                fn evaluate(
                    &self,
                    _: &Params,
                    _: &mut dyn hyperplug_core::TrialContext,
                ) -> hyperplug_core::TrialOutcome {
                    Ok(vec![0.0, 0.0].into())
                }
            }
            Ok(Box::new(Two))
        }
    }

    #[test]
    fn several_objectives_without_a_known_front_are_refused() {
        let mut registry = Registry::bundled();
        registry.add_objective(Arc::new(TwoMetrics), crate::registry::Source::Bundled);
        let e = Plan::new(&suite(&["nsga2"], &["two"], vec![0], 5), &registry)
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("known Pareto front"), "{e:#}");
    }

    /// An objective with no space and no metrics, like a command: `(x - 0.3)²`.
    struct Quadratic;

    impl ObjectiveFactory for Quadratic {
        fn info(&self) -> PluginInfo {
            PluginInfo::new(
                "quadratic",
                "0",
                "",
                hyperplug_core::Capabilities::default(),
            )
        }
        fn create(&self, _: &hyperplug_core::Settings) -> Result<Box<dyn Objective>, Error> {
            Ok(Box::new(hyperplug_core::FnObjective(
                |p: &Params, _: &mut dyn hyperplug_core::TrialContext| {
                    let x = p["x"].as_f64().unwrap_or(9.0);
                    Ok::<f64, hyperplug_core::TrialError>((x - 0.3).powi(2))
                },
            )))
        }
    }

    #[test]
    fn objectives_without_a_space_take_the_problems_space_and_direction() {
        let mut registry = Registry::bundled();
        registry.add_objective(Arc::new(Quadratic), crate::registry::Source::Bundled);
        let mut s = suite(&["qmc"], &["quadratic"], vec![0, 1], 16);
        let e = Plan::new(&s, &registry).err().unwrap();
        assert!(format!("{e:#}").contains("needs a search space"), "{e:#}");
        s.problems[0].space = Some(
            Space::new(vec![hyperplug_core::Param::new(
                "x",
                hyperplug_core::Domain::float(0.0, 1.0),
            )])
            .unwrap(),
        );
        let e = Plan::new(&s, &registry).err().unwrap();
        assert!(
            format!("{e:#}").contains("does not say which way is better"),
            "{e:#}"
        );
        s.problems[0].direction = Some(Direction::Minimize);
        let plan = Plan::new(&s, &registry).unwrap();
        let r = plan.run(plan.jobs[1]);
        assert_eq!(r.error, None);
        assert_eq!(r.optimum, None);
        assert_eq!(r.regret, None);
        assert!(
            r.best_value.unwrap() < 0.01,
            "16 Sobol points come near 0.3: {r:?}"
        );
    }

    /// `(x - 0.3)² + 1/s` over 9 steps, reported each step and stopped when the pruner says.
    struct Curves;

    impl ObjectiveFactory for Curves {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("curves", "0", "", hyperplug_core::Capabilities::default())
        }
        fn create(&self, _: &hyperplug_core::Settings) -> Result<Box<dyn Objective>, Error> {
            Ok(Box::new(hyperplug_core::FnObjective(
                |p: &Params, ctx: &mut dyn hyperplug_core::TrialContext| {
                    let x = p["x"].as_f64().unwrap_or(9.0);
                    for s in 1..=9 {
                        ctx.report(s, (x - 0.3).powi(2) + 1.0 / s as f64);
                        if ctx.should_prune() {
                            return Err(hyperplug_core::TrialError::Pruned);
                        }
                    }
                    Ok::<f64, hyperplug_core::TrialError>((x - 0.3).powi(2))
                },
            )))
        }
    }

    #[test]
    fn a_strategy_with_a_pruner_records_the_steps_it_spent() {
        let mut registry = Registry::bundled();
        registry.add_objective(Arc::new(Curves), crate::registry::Source::Bundled);
        let mut s = suite(&["random", "random"], &["curves"], vec![0], 30);
        s.strategies[1].label = "random+asha".into();
        s.strategies[1].pruner = Some(("asha".into(), hyperplug_core::Settings::default()));
        s.problems[0].space = Some(
            Space::new(vec![hyperplug_core::Param::new(
                "x",
                hyperplug_core::Domain::float(0.0, 1.0),
            )])
            .unwrap(),
        );
        s.problems[0].direction = Some(Direction::Minimize);
        let plan = Plan::new(&s, &registry).unwrap();
        let full = plan.run(plan.jobs[0]);
        let pruned = plan.run(plan.jobs[1]);
        assert_eq!((full.error.clone(), pruned.error.clone()), (None, None));
        assert_eq!((full.pruned, full.steps), (0, 30 * 9));
        assert!(pruned.pruned >= 10, "{pruned:?}");
        assert!(
            pruned.steps < full.steps / 2,
            "{} of {}",
            pruned.steps,
            full.steps
        );
        s.strategies[1].pruner = Some(("medain".into(), hyperplug_core::Settings::default()));
        let e = Plan::new(&s, &registry).err().unwrap();
        assert!(
            format!("{e:#}").contains("unknown pruner `medain`"),
            "{e:#}"
        );
    }

    #[test]
    fn the_pool_runs_every_job_once_and_stops_when_the_sink_fails() {
        let registry = Registry::bundled();
        let plan = Plan::new(
            &suite(
                &["random", "qmc"],
                &["branin", "hartmann3"],
                vec![0, 1, 2],
                8,
            ),
            &registry,
        )
        .unwrap();
        assert_eq!(plan.jobs.len(), 12);
        let mut seen = Vec::new();
        run_all(&plan, 3, |r| {
            seen.push((r.strategy, r.problem, r.seed));
            Ok(())
        })
        .unwrap();
        seen.sort();
        let mut expected: Vec<(String, String, u64)> = plan
            .jobs
            .iter()
            .map(|j| {
                (
                    plan.strategies[j.strategy].spec.label.clone(),
                    plan.problems[j.problem].spec.label.clone(),
                    j.seed,
                )
            })
            .collect();
        expected.sort();
        assert_eq!(seen, expected);
        let mut n = 0;
        let e = run_all(&plan, 2, |_| {
            n += 1;
            if n == 2 {
                Err(anyhow!("disk full"))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "disk full");
        assert_eq!(n, 2);
    }
}
