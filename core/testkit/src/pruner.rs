//! The conformance suite for pruners.

use std::sync::{Arc, Mutex};

use hyperplug_core::{
    AskContext, Budget, Capabilities, Direction, Domain, Error, Observer, Param, Params,
    PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, Settings, Space, Strategy,
    StrategyFactory, Study, StudyConfig, StudySetup, Trial, TrialContext, TrialError, TrialState,
};

/// Steps every trial of the suite reports (epochs, say): a pruner whose settings need a
/// maximum (`max_resource`) should be checked with 9.
pub const STEPS: u64 = 9;

/// Checks a pruner against the contract every pruner keeps, with `settings` (e.g.
/// `max_resource = 9` for those that need one; see [`STEPS`]); panics saying what to fix.
///
/// What it checks: an unknown settings key is refused by name; a trial with no intermediate
/// values is never stopped; in studies that minimize and maximize, with learning curves of every
/// quality and some NaN reports among them, the pruner never fails, and its decisions are a
/// function of the study's trials alone: a fresh pruner asked the same question, on the same
/// trials, answers alike (what makes a pruner agree across workers sharing a store and continue
/// a resumed study), and two runs with the same seed end with the same trials. A pruner that
/// declares `multi_objective` runs a study with two objectives, whose trials report one value
/// per objective at each step ([`TrialContext::report_values`]); one that does not is refused
/// by [`Study::set_pruner`] for it.
pub fn check_pruner(factory: &dyn PrunerFactory, settings: &Settings) {
    let info = factory.info();
    let name = info.name.clone();
    assert!(
        !info.version.is_empty(),
        "pruner `{name}`: its info has no version; give PluginInfo a version (e.g. env!(\"CARGO_PKG_VERSION\"))"
    );
    check_unknown_key(factory, settings, &name);
    check_silent_trial(factory, settings, &name);
    for direction in [Direction::Minimize, Direction::Maximize] {
        let first = run(factory, settings, &[direction], &name);
        let again = run(factory, settings, &[direction], &name);
        let summary = |r: &Run| -> Vec<(u64, TrialState, usize)> {
            r.trials
                .iter()
                .map(|t| (t.number, t.state, t.intermediate.len()))
                .collect()
        };
        assert_eq!(
            summary(&first),
            summary(&again),
            "pruner `{name}` ({direction}): two runs with the same seed and history ended differently; decide from the context alone (no clock, no global state, no randomness but the seed's)"
        );
        for t in first
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
        {
            assert!(
                !t.intermediate.is_empty(),
                "pruner `{name}` ({direction}): trial {} was pruned before it reported anything",
                t.number
            );
        }
        replay(factory, settings, &[direction], &first.asked, &name);
    }
    let two = [Direction::Minimize, Direction::Maximize];
    if info.capabilities.multi_objective {
        let r = run(factory, settings, &two, &name);
        replay(factory, settings, &two, &r.asked, &name);
    } else {
        let mut study = sweep_study(&two);
        assert!(
            study.set_pruner(factory, settings).is_err(),
            "pruner `{name}` does not declare `multi_objective`, yet a study with two objectives took it"
        );
    }
}

fn check_unknown_key(factory: &dyn PrunerFactory, settings: &Settings, name: &str) {
    let key = "testkit_no_such_key";
    let bad = settings.clone().with(key, 1);
    match factory.create(&PrunerSetup {
        directions: &[Direction::Minimize],
        seed: 0,
        settings: &bad,
    }) {
        Ok(_) => panic!(
            "pruner `{name}` accepted the unknown settings key `{key}`; parse settings with Settings::parse into a #[serde(deny_unknown_fields)] struct"
        ),
        Err(e) => assert!(
            e.to_string().contains(key),
            "pruner `{name}` refused the unknown key `{key}` without naming it: {e}"
        ),
    }
}

fn create(
    factory: &dyn PrunerFactory,
    settings: &Settings,
    directions: &[Direction],
    name: &str,
) -> Box<dyn Pruner> {
    factory
        .create(&PrunerSetup {
            directions,
            seed: SEED,
            settings,
        })
        .unwrap_or_else(|e| {
            panic!(
                "pruner `{name}` refused the settings it is checked with ({}): {e}",
                settings.to_json()
            )
        })
}

fn check_silent_trial(factory: &dyn PrunerFactory, settings: &Settings, name: &str) {
    let mut pruner = create(factory, settings, &[Direction::Minimize], name);
    let finished: Vec<Trial> = (0..5)
        .map(|i| {
            let mut t = Trial::running(i, Params::new(), 0);
            t.state = TrialState::Complete;
            t.values = vec![i as f64];
            t.intermediate = (1..=STEPS).map(|s| (s, i as f64 / s as f64)).collect();
            t
        })
        .collect();
    let silent = Trial::running(5, Params::new(), 0);
    let ctx = PruneContext {
        directions: &[Direction::Minimize],
        seed: SEED,
        trials: &finished,
        running: std::slice::from_ref(&silent),
        trial: &silent,
        previous: 0,
    };
    match pruner.prune(&ctx) {
        Ok(false) => {}
        Ok(true) => panic!(
            "pruner `{name}` stopped a trial that had reported nothing; judge a trial only on values it reported"
        ),
        Err(e) => panic!("pruner `{name}` failed on a trial that had reported nothing: {e}"),
    }
}

const SEED: u64 = 7;
const TRIALS: u64 = 30;

/// One question a pruner was asked during a run, and its answer.
#[derive(Clone)]
struct Asked {
    trials: Vec<Trial>,
    running: Vec<Trial>,
    number: u64,
    previous: usize,
    prune: bool,
}

struct Run {
    trials: Vec<Trial>,
    asked: Vec<Asked>,
}

/// Records every question and answer of the pruner it wraps.
struct Recorder {
    inner: Box<dyn Pruner>,
    log: Arc<Mutex<Vec<Asked>>>,
}

impl Pruner for Recorder {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let prune = self.inner.prune(ctx)?;
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Asked {
                trials: ctx.trials.to_vec(),
                running: ctx.running.to_vec(),
                number: ctx.trial.number,
                previous: ctx.previous,
                prune,
            });
        Ok(prune)
    }
}

struct Recording<'a> {
    factory: &'a dyn PrunerFactory,
    log: Arc<Mutex<Vec<Asked>>>,
}

impl PrunerFactory for Recording<'_> {
    fn info(&self) -> PluginInfo {
        self.factory.info()
    }
    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        Ok(Box::new(Recorder {
            inner: self.factory.create(setup)?,
            log: self.log.clone(),
        }))
    }
}

/// Counts the pruner's errors.
#[derive(Default)]
struct Errors(Vec<String>);

impl Observer for Errors {
    fn strategy_error(&mut self, error: &Error) {
        self.0.push(error.to_string());
    }
}

/// A strategy that puts every parameter at the golden-ratio sequence of the trial number (the
/// same point of its unit interval): a low-discrepancy sweep, deterministic and nearly free, so
/// pruner tests and benchmarks see the same trials in every run and time no strategy.
pub struct Sweep;

impl StrategyFactory for Sweep {
    fn info(&self) -> PluginInfo {
        PluginInfo::new("testkit-sweep", "0", "", Capabilities::all())
    }
    fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        Ok(Box::new(Sweep))
    }
}

impl Strategy for Sweep {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let u = (ctx.number as f64 * 0.618_033_988_749_895).fract();
        Ok(ctx.space.assign(|p| p.domain.from_unit(u)))
    }
}

fn sweep_study(directions: &[Direction]) -> Study {
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))])
        .unwrap_or_else(|e| panic!("the suite's space: {e}"));
    let config = StudyConfig::new("pruner-conformance", space, directions.to_vec()).seed(SEED);
    Study::new(config, &Sweep, &Settings::default())
        .unwrap_or_else(|e| panic!("the suite's study: {e}"))
}

/// Trial `number` at `x`, step `s`: learning curves of every quality (the closer `x` is to
/// 0.3, the lower they end), crossing now and then, and a NaN report every 11th trial.
fn curve(number: u64, x: f64, s: u64) -> f64 {
    if number % 11 == 10 && s == 3 {
        return f64::NAN;
    }
    let quality = (x - 0.3).powi(2);
    quality + (1.0 + 3.0 * (1.0 - x)) / s as f64
}

fn run(
    factory: &dyn PrunerFactory,
    settings: &Settings,
    directions: &[Direction],
    name: &str,
) -> Run {
    let log = Arc::new(Mutex::new(Vec::new()));
    let recording = Recording {
        factory,
        log: log.clone(),
    };
    let mut study = sweep_study(directions);
    study
        .set_pruner(&recording, settings)
        .unwrap_or_else(|e| panic!("pruner `{name}`: {e}"));
    let sign = if directions[0] == Direction::Maximize {
        -1.0
    } else {
        1.0
    };
    let m = directions.len();
    let objective = hyperplug_core::FnObjective(
        move |params: &Params, ctx: &mut dyn TrialContext| -> Result<Vec<f64>, TrialError> {
            let x = params["x"].as_f64().unwrap_or(0.5);
            let number = ctx.number();
            for s in 1..=STEPS {
                let v = sign * curve(number, x, s);
                if m > 1 {
                    // One value per objective: what a Pareto-aware pruner judges.
                    let mut vs = vec![v, x * s as f64 / STEPS as f64];
                    vs.resize(m, x);
                    ctx.report_values(s, &vs);
                } else {
                    ctx.report(s, v);
                }
                if ctx.should_prune() {
                    return Err(TrialError::Pruned);
                }
            }
            let v = sign * curve(number, x, STEPS + 1);
            Ok((0..m).map(|k| if k == 0 { v } else { x }).collect())
        },
    );
    let mut errors = Errors::default();
    study
        .optimize(&objective, Budget::trials(TRIALS), &mut errors)
        .unwrap_or_else(|e| panic!("pruner `{name}`: the study failed: {e}"));
    assert!(
        errors.0.is_empty(),
        "pruner `{name}` failed while deciding ({} time(s)); first: {}",
        errors.0.len(),
        errors.0[0]
    );
    let trials = study.finished().to_vec();
    let asked = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Run { trials, asked }
}

/// Asks a fresh pruner each recorded question (every third, to keep it quick) and compares.
fn replay(
    factory: &dyn PrunerFactory,
    settings: &Settings,
    directions: &[Direction],
    asked: &[Asked],
    name: &str,
) {
    for a in asked.iter().step_by(3) {
        let mut fresh = create(factory, settings, directions, name);
        let Some(trial) = a.running.iter().find(|t| t.number == a.number) else {
            continue;
        };
        let ctx = PruneContext {
            directions,
            seed: SEED,
            trials: &a.trials,
            running: &a.running,
            trial,
            previous: a.previous,
        };
        let again = fresh.prune(&ctx).unwrap_or_else(|e| {
            panic!("pruner `{name}`: a fresh pruner failed on a question the first answered: {e}")
        });
        assert_eq!(
            again,
            a.prune,
            "pruner `{name}`: asked about trial {} at step {:?} with {} finished trials, a fresh pruner answered {again} where the study's had answered {}; decide from the trials in the context, not from what the pruner saw before (other workers and resumed studies have only the store)",
            a.number,
            trial.last_intermediate().map(|(s, _)| s),
            a.trials.len(),
            a.prune
        );
    }
}
