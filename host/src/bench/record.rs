//! One benchmark run as one JSON line, and the arithmetic that turns a study's trials into it:
//! the configuration the run believed best, its quality, and the regret.

use hyperplug_core::{Direction, Trial, TrialState, Value};
use serde::{Deserialize, Serialize};

/// What a record measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    /// A run on a problem: quality and regret.
    #[default]
    Quality,
    /// A run on the trivial overhead problem: time per trial.
    Overhead,
}

/// One run: what ran, what it found, how long it took. The same schema is written by
/// `bench/compare/*.py` for Optuna and Rustuna, so one report holds every system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// `quality` or `overhead`.
    #[serde(default)]
    pub kind: RecordKind,
    /// `hyperplug`, `optuna`, `rustuna`.
    pub system: String,
    /// The system's version.
    #[serde(default)]
    pub system_version: String,
    /// The strategy's label (the row name in reports).
    pub strategy: String,
    /// The strategy as its system names it.
    #[serde(default)]
    pub strategy_name: String,
    /// The strategy's settings.
    #[serde(default)]
    pub strategy_settings: serde_json::Map<String, serde_json::Value>,
    /// The problem's label.
    pub problem: String,
    /// The objective's name.
    #[serde(default)]
    pub objective: String,
    /// The objective's settings (before `{seed}` is replaced).
    #[serde(default)]
    pub problem_settings: serde_json::Map<String, serde_json::Value>,
    /// Which way is better.
    pub direction: Direction,
    /// The study seed.
    pub seed: u64,
    /// Trials asked for.
    pub budget: u64,
    /// Trials that finished (complete, pruned or failed).
    #[serde(default)]
    pub trials: u64,
    /// Trials that completed.
    #[serde(default)]
    pub complete: u64,
    /// Trials that failed.
    #[serde(default)]
    pub failed: u64,
    /// Trials a pruner stopped.
    #[serde(default)]
    pub pruned: u64,
    /// The resource spent: the intermediate values every trial reported (epochs, for the `mlp`
    /// objective), pruned trials' included.
    #[serde(default)]
    pub steps: u64,
    /// The quality of the configuration the run believed best (the best observed value): its
    /// true value where the objective reports one (`mean_<metric>` for tables,
    /// `noiseless_<metric>` for noisy functions), else the observed value.
    pub best_value: Option<f64>,
    /// The best observed value itself.
    #[serde(default)]
    pub best_observed: Option<f64>,
    /// The number of the trial the run believed best.
    #[serde(default)]
    pub best_trial: Option<u64>,
    /// The best value reachable, when known.
    #[serde(default)]
    pub optimum: Option<f64>,
    /// How far `best_value` is from `optimum`, in the direction that makes it ≥ 0.
    #[serde(default)]
    pub regret: Option<f64>,
    /// `best_value` after each trial (null before the first completes).
    #[serde(default)]
    pub best_so_far: Vec<Option<f64>>,
    /// Seconds the strategy spent per trial (ask + tell for hyperplug; the trial's time minus
    /// the objective's for the Python systems).
    #[serde(default)]
    pub sampler_s: Vec<f64>,
    /// Wall seconds per trial, everything included.
    #[serde(default)]
    pub trial_s: Vec<f64>,
    /// Wall seconds of the whole run.
    #[serde(default)]
    pub wall_s: f64,
    /// Overhead runs: the trial counts at which the report reads the time per trial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<u64>,
    /// Why the run failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record {
    /// A record of `system`'s run of `strategy` on `problem` with everything measured left
    /// empty.
    pub fn new(
        system: &str,
        strategy: &str,
        problem: &str,
        direction: Direction,
        seed: u64,
        budget: u64,
    ) -> Record {
        Record {
            kind: RecordKind::Quality,
            system: system.to_owned(),
            system_version: String::new(),
            strategy: strategy.to_owned(),
            strategy_name: String::new(),
            strategy_settings: serde_json::Map::new(),
            problem: problem.to_owned(),
            objective: String::new(),
            problem_settings: serde_json::Map::new(),
            direction,
            seed,
            budget,
            trials: 0,
            complete: 0,
            failed: 0,
            pruned: 0,
            steps: 0,
            best_value: None,
            best_observed: None,
            best_trial: None,
            optimum: None,
            regret: None,
            best_so_far: Vec::new(),
            sampler_s: Vec::new(),
            trial_s: Vec::new(),
            wall_s: 0.0,
            checkpoints: Vec::new(),
            error: None,
        }
    }
}

/// `value`'s distance from `optimum`, positive when worse: `value - optimum` when minimizing,
/// `optimum - value` when maximizing.
pub fn regret(direction: Direction, value: f64, optimum: f64) -> f64 {
    match direction {
        Direction::Minimize => value - optimum,
        Direction::Maximize => optimum - value,
    }
}

/// What a run's trials come to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// See [`Record::best_value`].
    pub best_value: Option<f64>,
    /// See [`Record::best_observed`].
    pub best_observed: Option<f64>,
    /// See [`Record::best_trial`].
    pub best_trial: Option<u64>,
    /// See [`Record::best_so_far`].
    pub best_so_far: Vec<Option<f64>>,
    /// See [`Record::regret`].
    pub regret: Option<f64>,
    /// Trials that completed.
    pub complete: u64,
    /// Trials that failed.
    pub failed: u64,
}

/// The quality of a complete trial: the attribute `attr` when given; otherwise `mean_<metric>`,
/// then `noiseless_<metric>`, then the observed value.
pub fn quality(trial: &Trial, metric: &str, attr: Option<&str>) -> Option<f64> {
    let read = |name: &str| trial.user_attrs.get(name).and_then(Value::as_f64);
    match attr {
        Some(a) => read(a),
        None => read(&format!("mean_{metric}"))
            .or_else(|| read(&format!("noiseless_{metric}")))
            .or_else(|| trial.values.first().copied()),
    }
}

/// Follows the run trial by trial (in finish order): the run believes best the trial with the
/// best observed value so far (the earliest among ties, as [`hyperplug_core::Study::best_trial`]
/// does), and is credited with that trial's quality.
pub fn outcome(
    trials: &[Trial],
    direction: Direction,
    metric: &str,
    quality_attr: Option<&str>,
    optimum: Option<f64>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut best: Option<(f64, &Trial)> = None;
    for t in trials {
        match t.state {
            TrialState::Complete => {
                out.complete += 1;
                if let Some(&v) = t.values.first()
                    && best.is_none_or(|(b, _)| direction.better(v, b))
                {
                    best = Some((v, t));
                }
            }
            TrialState::Failed => out.failed += 1,
            TrialState::Pruned | TrialState::Running => {}
        }
        out.best_so_far
            .push(best.and_then(|(_, t)| quality(t, metric, quality_attr)));
    }
    if let Some((observed, t)) = best {
        out.best_observed = Some(observed);
        out.best_trial = Some(t.number);
        out.best_value = quality(t, metric, quality_attr);
    }
    out.regret = match (out.best_value, optimum) {
        (Some(v), Some(o)) => Some(regret(direction, v, o)),
        _ => None,
    };
    out
}

/// Follows a run with several objectives trial by trial: its score after each trial is the
/// hypervolume of the complete trials' values (as losses) against `reference` (given in the
/// objectives' own terms), recomputed only when a trial joins the front. There is no single
/// best trial; `best_value` and `best_observed` are the final hypervolume.
pub fn hypervolume_outcome(
    trials: &[Trial],
    directions: &[Direction],
    reference: &[f64],
    optimum: Option<f64>,
) -> Outcome {
    let loss = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(directions)
            .map(|(x, d)| d.to_loss(*x))
            .collect()
    };
    let reference = loss(reference);
    let mut out = Outcome::default();
    let mut front: Vec<Vec<f64>> = Vec::new();
    let mut hv: Option<f64> = None;
    for t in trials {
        match t.state {
            TrialState::Complete if t.values.len() == directions.len() => {
                out.complete += 1;
                let p = loss(&t.values);
                let weakly = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x <= y);
                if !front.iter().any(|q| weakly(q, &p)) {
                    front.retain(|q| !weakly(&p, q));
                    front.push(p);
                    let points: Vec<&[f64]> = front.iter().map(Vec::as_slice).collect();
                    hv = hyperplug_core::hypervolume(&points, &reference).or_else(|| {
                        // Four objectives and up: a seeded estimate from 100,000 samples.
                        let mut rng = hyperplug_core::trial_rng(0, t.number);
                        hyperplug_core::hypervolume_monte_carlo(
                            &points, &reference, 100_000, &mut rng,
                        )
                    });
                } else if hv.is_none() {
                    hv = Some(0.0);
                }
            }
            TrialState::Complete => out.complete += 1,
            TrialState::Failed => out.failed += 1,
            TrialState::Pruned | TrialState::Running => {}
        }
        out.best_so_far.push(hv);
    }
    out.best_value = hv;
    out.best_observed = hv;
    out.regret = match (hv, optimum) {
        (Some(v), Some(o)) => Some(o - v),
        _ => None,
    };
    out
}

#[cfg(test)]
mod tests {
    use hyperplug_core::Params;

    use super::*;

    fn trial(number: u64, value: Option<f64>, attrs: &[(&str, f64)]) -> Trial {
        let mut t = Trial::running(number, Params::new(), 0);
        match value {
            Some(v) => {
                t.state = TrialState::Complete;
                t.values = vec![v];
            }
            None => t.state = TrialState::Failed,
        }
        for (k, v) in attrs {
            t.user_attrs.insert((*k).to_owned(), Value::Float(*v));
        }
        t
    }

    #[test]
    fn regret_is_positive_when_worse_in_either_direction() {
        assert_eq!(regret(Direction::Minimize, 0.5, 0.25), 0.25);
        assert_eq!(regret(Direction::Maximize, 90.0, 92.0), 2.0);
        assert_eq!(regret(Direction::Maximize, 92.0, 92.0), 0.0);
    }

    #[test]
    fn minimizing_tracks_the_best_observed_value() {
        let trials = [
            trial(0, Some(3.0), &[]),
            trial(1, None, &[]),
            trial(2, Some(1.5), &[]),
            trial(3, Some(1.5), &[]),
            trial(4, Some(2.0), &[]),
        ];
        let o = outcome(&trials, Direction::Minimize, "value", None, Some(1.0));
        assert_eq!(
            o.best_so_far,
            [Some(3.0), Some(3.0), Some(1.5), Some(1.5), Some(1.5)]
        );
        assert_eq!(o.best_trial, Some(2), "the earliest of a tie");
        assert_eq!((o.best_value, o.regret), (Some(1.5), Some(0.5)));
        assert_eq!((o.complete, o.failed), (4, 1));
        let none = outcome(&trials[1..2], Direction::Minimize, "value", None, Some(1.0));
        assert_eq!((none.best_value, none.regret), (None, None));
        assert_eq!(none.best_so_far, [None]);
    }

    #[test]
    fn a_noisy_table_run_is_charged_the_mean_of_the_configuration_it_believed_best() {
        // Maximizing accuracy: trial 1 is a lucky seed (99) of a configuration whose mean is
        // 90; trial 2 observed less (93) on a configuration whose mean is the optimum 92.
        let trials = [
            trial(0, Some(80.0), &[("mean_acc", 81.0)]),
            trial(1, Some(99.0), &[("mean_acc", 90.0)]),
            trial(2, Some(93.0), &[("mean_acc", 92.0)]),
        ];
        let o = outcome(&trials, Direction::Maximize, "acc", None, Some(92.0));
        assert_eq!(o.best_observed, Some(99.0));
        assert_eq!(o.best_value, Some(90.0));
        assert_eq!(o.regret, Some(2.0));
        assert_eq!(o.best_so_far, [Some(81.0), Some(90.0), Some(90.0)]);
        // Noisy synthetic functions carry `noiseless_value`; an explicit attribute wins.
        let t = trial(0, Some(1.2), &[("noiseless_value", 1.0), ("other", 7.0)]);
        assert_eq!(quality(&t, "value", None), Some(1.0));
        assert_eq!(quality(&t, "value", Some("other")), Some(7.0));
        assert_eq!(quality(&t, "value", Some("missing")), None);
    }

    #[test]
    fn hypervolume_outcome_by_hand() {
        let two = |n: u64, a: f64, b: f64| {
            let mut t = trial(n, Some(a), &[]);
            t.values = vec![a, b];
            t
        };
        // Minimize f1, maximize f2; reference (4, 0) in those terms.
        let d = [Direction::Minimize, Direction::Maximize];
        let trials = [
            two(0, 1.0, 1.0),
            trial(1, None, &[]),
            two(2, 3.0, 3.0),
            two(3, 3.0, 2.5),
            two(4, 2.0, 2.0),
        ];
        let o = hypervolume_outcome(&trials, &d, &[4.0, 0.0], Some(10.0));
        // As losses against (4, 0): (1,-1) covers 3·1 = 3; (3,-3) adds (4-3)·(3-1) = 2 → 5;
        // (3,-2.5) is dominated; (2,-2) adds (4-2)·(2-1) - (4-3)·(2-1) = 1 → 6.
        assert_eq!(
            o.best_so_far,
            [Some(3.0), Some(3.0), Some(5.0), Some(5.0), Some(6.0)]
        );
        assert_eq!((o.best_value, o.regret), (Some(6.0), Some(4.0)));
        assert_eq!((o.complete, o.failed), (4, 1));
    }

    #[test]
    fn a_record_round_trips_and_reads_lines_without_optional_fields() {
        let r = Record {
            best_value: Some(0.5),
            best_so_far: vec![None, Some(0.5)],
            ..Record::new("hyperplug", "random", "branin", Direction::Minimize, 3, 2)
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.contains("\"best_so_far\":[null,0.5]"), "{line}");
        assert!(!line.contains("\"error\""), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
        let minimal = r#"{"system":"optuna","strategy":"tpe","problem":"branin","direction":"minimize","seed":0,"budget":10,"best_value":0.41}"#;
        let m: Record = serde_json::from_str(minimal).unwrap();
        assert_eq!((m.kind, m.best_value), (RecordKind::Quality, Some(0.41)));
    }
}
