//! The Wilcoxon pruner.

use std::collections::HashMap;

use hyperplug_core::{
    Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, TrialState,
};
use serde::Deserialize;

use crate::{first, loss, pruner_info};

/// For objectives evaluated over instances or folds, one step per instance (the step is the
/// instance's id, in any order): a trial stops when a one-sided Wilcoxon signed-rank test says
/// it is worse than the best complete trial on the instances both reported, at significance
/// `p_threshold` (Optuna's `WilcoxonPruner`). A trial whose mean over those instances is better
/// than the best trial's is never stopped. Settings: `p_threshold` (0.1), `n_startup_steps` (2:
/// the fewest shared instances to test on).
///
/// The statistic splits zero differences between the signs (as Optuna's `zsplit`); the p-value
/// is exact for up to 30 distinct nonzero differences, else the normal approximation with tie
/// and continuity corrections.
#[derive(Clone, Copy, Debug, Default)]
pub struct Wilcoxon;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WilcoxonSettings {
    #[serde(default = "tenth")]
    p_threshold: f64,
    #[serde(default = "two")]
    n_startup_steps: usize,
}

fn tenth() -> f64 {
    0.1
}
fn two() -> usize {
    2
}

impl PrunerFactory for Wilcoxon {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "wilcoxon",
            "Stops a trial a signed-rank test finds worse than the best, instance by instance.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s: WilcoxonSettings = setup.settings.parse("wilcoxon")?;
        if !(0.0..=1.0).contains(&s.p_threshold) {
            return Err(Error::settings(
                "wilcoxon",
                format!(
                    "`p_threshold` is {}; give a probability from 0 to 1",
                    s.p_threshold
                ),
            ));
        }
        Ok(Box::new(s))
    }
}

impl Pruner for WilcoxonSettings {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let direction = first(ctx.directions);
        let best = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete && !t.intermediate.is_empty())
            .filter_map(|t| t.values.first().map(|&v| (loss(direction, v), t)))
            .filter(|(l, _)| !l.is_nan())
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.number.cmp(&b.1.number)));
        let Some((_, best)) = best else {
            return Ok(false);
        };
        let theirs: HashMap<u64, f64> = best.intermediate.iter().copied().collect();
        let mut diffs = Vec::new();
        let (mut mine_sum, mut theirs_sum) = (0.0, 0.0);
        for &(step, v) in &ctx.trial.intermediate {
            let Some(&b) = theirs.get(&step) else {
                continue;
            };
            let (a, b) = (loss(direction, v), loss(direction, b));
            if a.is_nan() || b.is_nan() {
                continue;
            }
            mine_sum += a;
            theirs_sum += b;
            diffs.push(a - b);
        }
        if diffs.len() < self.n_startup_steps.max(1) || mine_sum < theirs_sum {
            return Ok(false);
        }
        Ok(p_worse(&diffs) < self.p_threshold)
    }
}

/// The one-sided p-value of the signed-rank test that the differences lean positive.
fn p_worse(diffs: &[f64]) -> f64 {
    let n = diffs.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| diffs[a].abs().total_cmp(&diffs[b].abs()));
    // Average ranks over ties of |d|.
    let mut rank = vec![0.0; n];
    let mut ties = Vec::new();
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && diffs[order[j + 1]].abs() == diffs[order[i]].abs() {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            rank[k] = r;
        }
        ties.push((j - i + 1) as f64);
        i = j + 1;
    }
    let w: f64 = (0..n)
        .map(|k| match diffs[k] {
            d if d > 0.0 => rank[k],
            0.0 => rank[k] / 2.0,
            _ => 0.0,
        })
        .sum();
    let exact = n <= 30 && ties.iter().all(|&t| t == 1.0) && diffs.iter().all(|&d| d != 0.0);
    if exact {
        // Under the null each rank's sign is a fair coin: count the subsets of 1..=n by sum.
        let total = n * (n + 1) / 2;
        let mut count = vec![0.0f64; total + 1];
        count[0] = 1.0;
        for r in 1..=n {
            for s in (r..=total).rev() {
                count[s] += count[s - r];
            }
        }
        let at_least: f64 = count[w as usize..].iter().sum();
        return at_least / 2f64.powi(n as i32);
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0
        - ties.iter().map(|t| t * t * t - t).sum::<f64>() / 48.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = (w - mean - 0.5) / var.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, to about 1e-7 (a Chebyshev fit, as in Numerical Recipes'
/// `erfcc`); enough for a p-value compared with a threshold.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, Settings, TrialState::*};

    use super::*;
    use crate::testing::{decide, pruner, trial};

    /// SciPy 1.x: `wilcoxon([1, 2, 3, 4, 5, -0.5], alternative="greater").pvalue` is 0.03125
    /// (exact: 2 of the 64 sign patterns reach W+ = 20).
    #[test]
    fn exact_p_values_match_scipy() {
        let p = p_worse(&[1.0, 2.0, 3.0, 4.0, 5.0, -0.5]);
        assert!((p - 0.03125).abs() < 1e-12, "{p}");
        assert!((p_worse(&[1.0, 2.0, 3.0]) - 0.125).abs() < 1e-12);
        assert!((p_worse(&[-1.0, -2.0, -3.0]) - 1.0).abs() < 1e-12);
    }

    /// With ties, the normal approximation: W+ = 2.5 + 2.5 + 4 + 5 = 14 of n = 5, one tie of
    /// two; SciPy's `wilcoxon(.., alternative="greater", method="approx", correction=True)`
    /// gives 0.052030.
    #[test]
    fn tied_differences_use_the_corrected_normal_approximation() {
        let p = p_worse(&[2.0, -1.0, 2.0, 5.0, 3.0]);
        assert!((p - 0.052_030).abs() < 1e-6, "{p}");
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_2).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_8).abs() < 1e-6);
    }

    #[test]
    fn a_trial_worse_than_the_best_on_most_instances_stops() {
        let folds: Vec<(u64, f64)> = (0..8).map(|k| (k, 0.1 * k as f64)).collect();
        let finished = [
            trial(0, Complete, &folds, 0.35),
            trial(
                1,
                Complete,
                &folds.iter().map(|&(k, v)| (k, v + 1.0)).collect::<Vec<_>>(),
                1.35,
            ),
        ];
        let mut p = pruner(&Wilcoxon, Settings::default());
        // Worse than trial 0 on 6 of 6 folds: p = 1/64.
        let worse: Vec<(u64, f64)> = folds[..6]
            .iter()
            .map(|&(k, v)| (k, v + 0.05 + 0.01 * k as f64))
            .collect();
        // Worse on 2 folds, better on the others.
        let mixed: Vec<(u64, f64)> = folds[..6]
            .iter()
            .map(|&(k, v)| (k, if k < 2 { v + 0.5 } else { v - 0.01 }))
            .collect();
        let running = [
            trial(2, Running, &worse, 0.0),
            trial(3, Running, &mixed, 0.0),
        ];
        assert!(decide(&mut *p, Direction::Minimize, &finished, &running, 2));
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &running,
            3
        ));
        // One shared fold is below `n_startup_steps`.
        let one = [trial(4, Running, &[(0, 9.0)], 0.0)];
        assert!(!decide(&mut *p, Direction::Minimize, &finished, &one, 4));
    }
}
