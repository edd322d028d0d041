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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_hypervolume_by_hand() {
        // Minimize, maximize: (1,1), (3,3), (2,2) and a dominated (3,1). As losses the
        // reference is (3 + 0.2, -1 + 0.2), i.e. (3.2, 0.8) in the objectives' terms; the
        // staircase: 2.2·0.2 + 1.2·1 + 0.2·1 = 1.84.
        let d = [Direction::Minimize, Direction::Maximize];
        let rows: [[f64; 2]; 4] = [[1.0, 1.0], [3.0, 3.0], [2.0, 2.0], [3.0, 1.0]];
        let hv = Hypervolume::of(&d, rows.iter().map(|r| r.as_slice())).unwrap();
        assert!((hv.value - 1.84).abs() < 1e-12, "{hv:?}");
        assert!((hv.reference_point[0] - 3.2).abs() < 1e-12, "{hv:?}");
        assert!((hv.reference_point[1] - 0.8).abs() < 1e-12, "{hv:?}");
        assert!(!hv.estimate);
        assert_eq!(Hypervolume::of(&d[..1], rows.iter().map(|r| &r[..1])), None);
        assert_eq!(Hypervolume::of(&d, std::iter::empty()), None);
        // Four objectives: an estimate. The reference is each objective's worst, 1, plus a
        // tenth of its range: 1.1. Each corner dominates 1.1 · 0.1³; any two share 0.1⁴, as do
        // any three and all four (inclusion–exclusion).
        let d4 = [Direction::Minimize; 4];
        let rows: [[f64; 4]; 4] = [
            [0.0, 1.0, 1.0, 1.0],
            [1.0, 0.0, 1.0, 1.0],
            [1.0, 1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0, 0.0],
        ];
        let hv = Hypervolume::of(&d4, rows.iter().map(|r| r.as_slice())).unwrap();
        assert!(hv.estimate);
        let exact = 4.0 * 1.1 * 0.001 - 6.0 * 1e-4 + 4.0 * 1e-4 - 1e-4;
        assert!(
            (hv.value - exact).abs() < 0.1 * exact,
            "{} vs {exact}",
            hv.value
        );
    }
}
