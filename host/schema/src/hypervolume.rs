use hyperplug_core::{Direction, hypervolume, hypervolume_monte_carlo, pareto_front, trial_rng};
use serde::{Deserialize, Serialize};

/// The hypervolume of a multi-objective study's Pareto front. A user's study has no known
/// front to measure against, so the reference point is each objective's worst value over the
/// complete trials, moved a tenth of that objective's range further (so the front's extreme
/// points count too). Exact for two and three objectives; for more, a seeded Monte Carlo
/// estimate from up to 100,000 samples (fewer for a large front, so that a study of many
/// thousands of trials still answers in about a second).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hypervolume {
    /// The hypervolume, in the objectives' units multiplied.
    pub value: f64,
    /// The point it is measured against, in the objectives' own terms.
    pub reference_point: Vec<f64>,
    /// Whether `value` is a Monte Carlo estimate (four objectives and more).
    pub estimate: bool,
}

impl Hypervolume {
    /// The hypervolume of the complete trials' `values` under `directions`; `None` for one
    /// objective or no complete trial.
    pub fn of<'v>(
        directions: &[Direction],
        values: impl Iterator<Item = &'v [f64]>,
    ) -> Option<Hypervolume> {
        if directions.len() < 2 {
            return None;
        }
        let losses: Vec<Vec<f64>> = values
            .filter(|v| v.len() == directions.len() && v.iter().all(|x| x.is_finite()))
            .map(|v| {
                v.iter()
                    .zip(directions)
                    .map(|(x, d)| d.to_loss(*x))
                    .collect()
            })
            .collect();
        if losses.is_empty() {
            return None;
        }
        let reference: Vec<f64> = (0..directions.len())
            .map(|j| {
                let (lo, hi) = losses
                    .iter()
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| {
                        (a.min(l[j]), b.max(l[j]))
                    });
                let span = hi - lo;
                hi + if span > 0.0 {
                    0.1 * span
                } else {
                    1e-9_f64.max(hi.abs() * 1e-9)
                }
            })
            .collect();
        let all: Vec<&[f64]> = losses.iter().map(Vec::as_slice).collect();
        let minimize = vec![Direction::Minimize; directions.len()];
        let points: Vec<&[f64]> = pareto_front(&all, &minimize)
            .into_iter()
            .map(|i| all[i])
            .collect();
        let (value, estimate) = match hypervolume(&points, &reference) {
            Some(v) => (v, false),
            None => {
                // About 2·10⁸ point comparisons at most.
                let work = (points.len() * directions.len()).max(1);
                let samples = (200_000_000 / work).clamp(1_000, 100_000);
                let mut rng = trial_rng(0, 0);
                let v = hypervolume_monte_carlo(&points, &reference, samples, &mut rng)?;
                (v, true)
            }
        };
        let reference_point = reference
            .iter()
            .zip(directions)
            .map(|(r, d)| d.to_loss(*r))
            .collect();
        Some(Hypervolume {
            value,
            reference_point,
            estimate,
        })
    }
}
