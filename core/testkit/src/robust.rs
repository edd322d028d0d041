//! The robustness property: any valid space and any history a study can hold give a valid
//! suggestion or a clear error from `ask`, never a panic, a hang, NaN or a point outside the
//! space. Spaces and histories are generated with proptest from a fixed seed, so a failure
//! reproduces and CI stays stable; proptest shrinks it to a small case before it is reported.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::time::Duration;

use hyperplug_core::{
    AskContext, Capabilities, Direction, Domain, Error, Param, Params, Settings, Space,
    StrategyFactory, StudySetup, Trial, TrialState, Value, panic_message,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

use crate::check_params;

/// Cases per strategy in [`check_strategy_robust`]: enough to meet every kind of domain and
/// history many times, few enough that all bundled strategies run in seconds.
pub const ROBUST_CASES: u32 = 64;

/// Asks per case after the history is told.
const ASKS: usize = 10;

/// How long one case (create, tells and asks) may take before it counts as a hang.
const HANG_AFTER: Duration = Duration::from_secs(60);

/// The fixed seed of the generator: the same cases on every run and machine.
const PROPTEST_SEED: [u8; 32] = *b"hyperplug-testkit-robust-seed-01";

/// One generated case: a space, the directions, a seed, the finished history in finish order,
/// and what happens to each of the ten suggestions asked after it.
#[derive(Clone, Debug)]
pub struct RobustCase {
    /// The space searched.
    pub space: Space,
    /// One or two objectives.
    pub directions: Vec<Direction>,
    /// The study seed.
    pub seed: u64,
    /// Finished trials, as a study would hold them (enqueued ones included: their points need
    /// not be the strategy's).
    pub history: Vec<Trial>,
    /// Per ask: `None` leaves the trial running through the later asks, `Some` finishes it at
    /// once with that state and those values.
    pub outcomes: Vec<Option<(TrialState, Vec<f64>)>>,
}

/// Runs the robustness property on `factory` with `settings` for [`ROBUST_CASES`] cases.
/// Panics with the strategy's name and the shrunk case at the first violation.
pub fn check_strategy_robust(factory: &dyn StrategyFactory, settings: &Settings) {
    check_strategy_robust_with(factory, settings, ROBUST_CASES);
}

/// [`check_strategy_robust`] with a chosen number of cases.
pub fn check_strategy_robust_with(factory: &dyn StrategyFactory, settings: &Settings, cases: u32) {
    let info = factory.info();
    let config = Config {
        cases,
        failure_persistence: None,
        // A failing case is shrunk by re-running it; bound that so a report comes quickly.
        max_shrink_iters: 512,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &PROPTEST_SEED);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case(info.capabilities), |c| {
        run_case(factory, settings, &c).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!(
            "robustness: strategy `{}` with settings {}: {e}",
            info.name,
            settings.to_json()
        );
    }
}

/// Drives one case directly (no `Study`, so the strategy's raw answers are judged). `Err` says
/// what went wrong.
pub fn run_case(
    factory: &dyn StrategyFactory,
    settings: &Settings,
    c: &RobustCase,
) -> Result<(), String> {
    // A watchdog: a hang cannot be unwound, so it is reported and the process ends.
    let (done, wait) = mpsc::channel::<()>();
    let label = format!("{} on {:?}", factory.info().name, c.space);
    let dog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(HANG_AFTER) {
            eprintln!("robustness: no answer after {HANG_AFTER:?}: {label}");
            std::process::abort();
        }
    });
    let result = catch_unwind(AssertUnwindSafe(|| drive(factory, settings, c)))
        .unwrap_or_else(|p| Err(format!("panicked: {}", panic_message(&*p))));
    let _ = done.send(());
    let _ = dog.join();
    result
}

fn ctx<'a>(
    c: &'a RobustCase,
    trials: &'a [Trial],
    running: &'a [Trial],
    number: u64,
) -> AskContext<'a> {
    AskContext {
        space: &c.space,
        directions: &c.directions,
        seed: c.seed,
        trials,
        running,
        number,
    }
}

fn drive(factory: &dyn StrategyFactory, settings: &Settings, c: &RobustCase) -> Result<(), String> {
    let setup = StudySetup {
        space: &c.space,
        directions: &c.directions,
        seed: c.seed,
        settings,
    };
    // Refusing a space or a history is allowed; panicking is not (caught above).
    let Ok(mut strategy) = factory.create(&setup) else {
        return Ok(());
    };
    let mut finished: Vec<Trial> = Vec::new();
    let mut running: Vec<Trial> = Vec::new();
    for t in &c.history {
        finished.push(t.clone());
        // An error from tell reaches the caller of `Study::tell`; it is a clear refusal.
        let _ = strategy.tell(&ctx(c, &finished, &running, t.number), t);
    }
    let mut number = c.history.iter().map(|t| t.number + 1).max().unwrap_or(0);
    for outcome in &c.outcomes {
        let params = match strategy.ask(&ctx(c, &finished, &running, number)) {
            Ok(p) => p,
            Err(Error::Exhausted(_)) => return Ok(()),
            Err(e) if !e.to_string().trim().is_empty() => {
                number += 1;
                continue;
            }
            Err(_) => {
                return Err(format!(
                    "ask for trial {number} failed with an empty message"
                ));
            }
        };
        check_params(&c.space, &params)
            .map_err(|why| format!("trial {number}: {why}; all: {params:?}"))?;
        let mut trial = Trial::running(number, params, 0);
        number += 1;
        match outcome {
            None => running.push(trial),
            Some((state, values)) => {
                trial.state = *state;
                trial.values.clone_from(values);
                finished.push(trial.clone());
                let _ = strategy.tell(&ctx(c, &finished, &running, trial.number), &trial);
            }
        }
    }
    Ok(())
}

/// A value an objective may return: ordinary, huge, tiny, negative, zero.
fn objective_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
        1 => Just(1e-300),
        1 => Just(5e-324),
        1 => Just(-1e-300),
    ]
}

/// Where in `[0, 1]` a history point's coordinate lies: the ends often, since bounds are where
/// arithmetic breaks.
fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..1.0f64,
        1 => Just(0.0),
        1 => Just(1.0),
        1 => Just(0.5),
    ]
}

/// A float domain: ordinary, single-valued, tiny, huge, subnormal, log and stepped.
fn float_domain() -> impl Strategy<Value = Domain> {
    let plain = prop_oneof![
        Just((0.0, 1.0)),
        Just((0.1, 0.1)),
        Just((-1e300, -1e300)),
        Just((-5.0, 5.0)),
        Just((1.0, 1.0 + 4.0 * f64::EPSILON)),
        Just((0.0, 5e-324)),
        Just((-1e-300, 1e-300)),
        Just((-8e307, 8e307)),
        Just((1e300, 1.5e300)),
        Just((-1e6, -1e6 + 1e-6)),
    ]
    .prop_map(|(l, h)| Domain::float(l, h));
    let log = prop_oneof![
        Just((1e-5, 1.0)),
        Just((1e-300, 1e300)),
        Just((5e-324, 1.0)),
        Just((1.0, 1.0 + 4.0 * f64::EPSILON)),
        Just((1e300, f64::MAX)),
        Just((3e-3, 3e-3)),
    ]
    .prop_map(|(l, h)| Domain::float(l, h).log());
    let step = prop_oneof![
        Just((0.0, 1.0, 0.125)),
        Just((0.0, 0.3, 0.1)),
        Just((-1e6, 1e6, 1.0)),
        Just((0.0, 1e15, 1.0)),
        Just((0.0, 1.0, 1.0)),
        Just((2.5, 2.5, 0.5)),
        Just((0.0, 1e-300, 1e-301)),
        Just((-8e307, 8e307, 1.6e307)),
    ]
    .prop_map(|(l, h, s)| Domain::float(l, h).step(s));
    prop_oneof![plain, log, step]
}

/// An int domain: single values, small, stepped, log, and at the limits of `i64`.
fn int_domain() -> impl Strategy<Value = Domain> {
    let plain = prop_oneof![
        Just((0, 0, 1)),
        Just((-3, 12, 1)),
        Just((0, 1, 1)),
        Just((i64::MIN, i64::MAX, 1)),
        Just((i64::MIN, i64::MAX, 3)),
        Just((i64::MAX - 1, i64::MAX, 1)),
        Just((i64::MIN, i64::MIN + 1, 1)),
        Just((i64::MIN, i64::MIN, 1)),
        Just((i64::MAX, i64::MAX, 1)),
        Just((0, 100, 10)),
        Just((-(1 << 62), 1 << 62, 1 << 62)),
        Just((i64::MIN, 0, 1)),
    ]
    .prop_map(|(l, h, s)| Domain::Int {
        low: l,
        high: h,
        log: false,
        step: s,
    });
    let log = prop_oneof![
        Just((1, 1)),
        Just((1, 1024)),
        Just((1, i64::MAX)),
        Just((i64::MAX - 10, i64::MAX)),
        Just((7, 8)),
    ]
    .prop_map(|(l, h)| Domain::int(l, h).log());
    prop_oneof![plain, log]
}

/// The choices a categorical may draw from: every value type, with awkward members.
fn choice_pool() -> Vec<Value> {
    vec![
        Value::from("a"),
        Value::Int(1),
        Value::Float(1.0),
        Value::Bool(true),
        Value::from(""),
        Value::Int(i64::MIN),
        Value::Float(-1e308),
        Value::Bool(false),
        Value::from("ünï çødé"),
        Value::Float(5e-324),
    ]
}

fn choice_domain() -> impl Strategy<Value = Domain> {
    let pool = choice_pool();
    let n = pool.len();
    proptest::sample::subsequence(pool, 1..=5.min(n))
        .prop_shuffle()
        .prop_map(|choices| Domain::Categorical { choices })
}

/// One parameter before conditions: its domain, and a request for a condition on an earlier
/// parameter (which one, which of its values), honoured where that parent can carry one.
fn param_spec(caps: Capabilities) -> impl Strategy<Value = (Domain, Option<(usize, u8)>)> {
    let domain = if caps.categorical {
        prop_oneof![
            3 => float_domain(),
            2 => int_domain(),
            2 => choice_domain(),
        ]
        .boxed()
    } else {
        prop_oneof![3 => float_domain(), 2 => int_domain()].boxed()
    };
    let cond = if caps.conditional {
        proptest::option::weighted(0.4, (any::<usize>(), 1u8..=255)).boxed()
    } else {
        Just(None).boxed()
    };
    (domain, cond)
}

/// The values of `parent` a child's condition may name: a nonempty subset picked by `mask`.
fn condition_values(parent: &Domain, mask: u8) -> Option<Vec<Value>> {
    let candidates: Vec<Value> = match parent {
        Domain::Categorical { choices } => choices.clone(),
        &Domain::Int {
            low, high, step, ..
        } => {
            // The ends and the next value up: always in the domain, however wide.
            let mut v = vec![Value::Int(low), Value::Int(high)];
            if let Some(next) = low.checked_add(step).filter(|&n| n <= high) {
                v.push(Value::Int(next));
            }
            v.dedup();
            v
        }
        Domain::Float { .. } => return None,
    };
    let picked: Vec<Value> = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
        .map(|(_, v)| v.clone())
        .collect();
    Some(if picked.is_empty() {
        vec![candidates[0].clone()]
    } else {
        picked
    })
}

fn space(caps: Capabilities) -> impl Strategy<Value = Space> {
    proptest::collection::vec(param_spec(caps), 1..=8).prop_map(|specs| {
        let mut params: Vec<Param> = Vec::with_capacity(specs.len());
        for (i, (domain, cond)) in specs.into_iter().enumerate() {
            let mut p = Param::new(format!("p{i}"), domain);
            if let Some((parent, mask)) = cond.filter(|_| i > 0) {
                let parent = &params[parent % i];
                if let Some(values) = condition_values(&parent.domain, mask) {
                    p = p.when(parent.name.clone(), values);
                }
            }
            params.push(p);
        }
        Space::new(params)
            .unwrap_or_else(|e| panic!("robustness: the generator built an invalid space: {e}"))
    })
}

/// A trial's final state and values (per objective, `k` of them).
fn outcome(k: usize) -> impl Strategy<Value = (TrialState, Vec<f64>)> {
    prop_oneof![
        6 => proptest::collection::vec(objective_value(), k).prop_map(|v| (TrialState::Complete, v)),
        1 => Just((TrialState::Failed, Vec::new())),
        1 => Just((TrialState::Pruned, Vec::new())),
    ]
}

/// A finished trial's raw parts: its outcome, its coordinates in `[0, 1]`, whether it lost its
/// parameters (a failed ask keeps none), its reported steps, and whether it finished before the
/// trial numbered just before it.
type TrialSpec = ((TrialState, Vec<f64>), Vec<f64>, bool, Vec<f64>, bool);

fn trial_spec(k: usize) -> impl Strategy<Value = TrialSpec> {
    (
        outcome(k),
        proptest::collection::vec(unit(), 8),
        proptest::bool::weighted(0.1),
        proptest::collection::vec(objective_value(), 0..3),
        proptest::bool::weighted(0.2),
    )
}

/// How alike the history's points and values are: degenerate histories (one point, one value)
/// are where models divide by zero.
#[derive(Clone, Copy, Debug)]
struct Sameness {
    /// Every complete trial has the value 1.0.
    values: bool,
    /// Every trial is at the first trial's point.
    points: bool,
}

fn history(space: &Space, k: usize, specs: Vec<TrialSpec>, same: Sameness) -> Vec<Trial> {
    let mut out: Vec<Trial> = Vec::with_capacity(specs.len());
    let first = specs.first().map(|s| s.1.clone()).unwrap_or_default();
    for (number, ((state, values), us, lost, steps, early)) in specs.into_iter().enumerate() {
        let us = if same.points { first.clone() } else { us };
        let mut us = us.into_iter().cycle();
        let params = if lost && state == TrialState::Failed {
            Params::new()
        } else {
            space.assign(|p| p.domain.from_unit(us.next().unwrap_or(0.5)))
        };
        let mut t = Trial::running(number as u64, params, 0);
        t.state = state;
        t.values = if same.values && state == TrialState::Complete {
            vec![1.0; k]
        } else {
            values
        };
        t.intermediate = steps
            .into_iter()
            .enumerate()
            .map(|(s, v)| (s as u64, v))
            .collect();
        t.duration_s = Some(0.0);
        // Trials finish out of order when several run at once.
        if early && let Some(prev) = out.pop() {
            out.push(t);
            out.push(prev);
        } else {
            out.push(t);
        }
    }
    out
}

/// The generator of whole cases for a strategy with `caps`.
pub fn case(caps: Capabilities) -> impl Strategy<Value = RobustCase> {
    let objectives = if caps.multi_objective {
        1..=2usize
    } else {
        1..=1
    };
    let same = (proptest::bool::weighted(0.2), proptest::bool::weighted(0.2))
        .prop_map(|(values, points)| Sameness { values, points });
    (space(caps), objectives, any::<u64>(), same).prop_flat_map(move |(space, k, seed, same)| {
        let trials = proptest::collection::vec(trial_spec(k), 0..40);
        // Without parallel asks every suggestion is finished before the next ask.
        let leave = if caps.parallel { 0.3 } else { 0.0 };
        let outcomes =
            proptest::collection::vec(proptest::option::weighted(1.0 - leave, outcome(k)), ASKS);
        (trials, outcomes).prop_map(move |(trials, outcomes)| RobustCase {
            history: history(&space, k, trials, same),
            space: space.clone(),
            directions: [Direction::Minimize, Direction::Maximize][..k].to_vec(),
            seed,
            outcomes,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_histories_fit_their_spaces() {
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: 64,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &PROPTEST_SEED),
        );
        runner
            .run(&case(Capabilities::all()), |c| {
                for t in c.history.iter().filter(|t| !t.params.is_empty()) {
                    c.space
                        .validate(&t.params)
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
                Ok(())
            })
            .unwrap();
    }
}
