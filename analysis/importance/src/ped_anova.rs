//! PED-ANOVA: a parameter's importance in a region of the objective's values is the Pearson
//! divergence `Σ q (p/q - 1)²` between the density of its values among the best trials (`p`,
//! the top `target_quantile`) and among the region's trials (`q`, the top `region_quantile`).
//! Both densities are Parzen estimates on a grid of the parameter's unit interval (a cell per
//! value for a domain with few values, a cell per choice for a categorical one), with a cell for
//! "inactive" when the parameter is conditional, and a prior worth one trial spread over all
//! cells so that no cell has zero density.

use hyperplug_core::{Direction, Params, Space};

use crate::encode::{Encoded, Feature, INACTIVE, Kind, encode};
use crate::{Importance, ImportanceError, ranked};

/// The PED-ANOVA evaluator; the defaults are Optuna's (`PedAnovaImportanceEvaluator`): the top
/// 10% against all trials, 50 grid points for continuous parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct PedAnova {
    /// The share of the trials, best first, whose parameters are compared (the "local" best);
    /// at least two trials.
    pub target_quantile: f64,
    /// The share of the trials, best first, they are compared against; 1 means all.
    pub region_quantile: f64,
    /// Which values are best.
    pub direction: Direction,
    /// Grid points for a continuous parameter.
    pub grid: usize,
}

impl Default for PedAnova {
    fn default() -> Self {
        PedAnova {
            target_quantile: 0.1,
            region_quantile: 1.0,
            direction: Direction::Minimize,
            grid: 50,
        }
    }
}

impl PedAnova {
    /// The importance of each parameter of `space` to reaching the best values of `samples`
    /// (parameters and one objective value each; samples with a non-finite value are left
    /// out), most important first. Needs two samples at least.
    pub fn evaluate(
        &self,
        space: &Space,
        samples: &[(&Params, f64)],
    ) -> Result<Vec<Importance>, ImportanceError> {
        let (t, r) = (self.target_quantile, self.region_quantile);
        if !(t > 0.0 && t < r && r <= 1.0) || self.grid < 2 {
            return Err(ImportanceError::Setting(format!(
                "PED-ANOVA needs 0 < target_quantile < region_quantile <= 1 and a grid of at least 2 points; got target_quantile {t}, region_quantile {r}, grid {}",
                self.grid
            )));
        }
        let data = encode(space, samples, 2)?;
        let n = data.y.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            self.direction
                .to_loss(data.y[a])
                .total_cmp(&self.direction.to_loss(data.y[b]))
        });
        let take = |q: f64| ((q * n as f64).ceil() as usize).clamp(2, n);
        let region = &order[..take(r)];
        let top = &order[..take(t).min(region.len())];
        let raw = (0..data.features.len())
            .map(|f| {
                let p = self.density(&data, f, top);
                let q = self.density(&data, f, region);
                p.iter()
                    .zip(&q)
                    .map(|(p, q)| q * (p / q - 1.0).powi(2))
                    .sum::<f64>()
            })
            .collect();
        let names = data.features.iter().map(|f| f.name.clone()).collect();
        Ok(ranked(names, raw))
    }

    /// The density of feature `f` among `rows`, one entry per cell, summing to one.
    fn density(&self, data: &Encoded, f: usize, rows: &[usize]) -> Vec<f64> {
        let feature = &data.features[f];
        let values = rows.iter().map(|&i| data.x[i][f]);
        let mut mass = match feature.kind {
            Kind::Categorical { .. } => {
                let mut counts = vec![0.0; feature.categories().max(1)];
                let last = counts.len() - 1;
                for x in values {
                    counts[(x as usize).min(last)] += 1.0;
                }
                counts
            }
            Kind::Numeric { cells } => self.numeric_mass(feature, cells, values.collect()),
        };
        // The prior: one trial's worth, spread evenly.
        let prior = 1.0 / mass.len() as f64;
        for m in &mut mass {
            *m += prior;
        }
        let total: f64 = mass.iter().sum();
        mass.iter().map(|m| m / total).collect()
    }

    /// Each sample's unit of mass over the cells of a numeric feature: into its own cell for a
    /// domain of few values, through a Gaussian kernel (Scott's bandwidth) on the grid
    /// otherwise; inactive samples into the last cell when the feature can be inactive.
    fn numeric_mass(&self, feature: &Feature, cells: Option<u64>, xs: Vec<f64>) -> Vec<f64> {
        let conditional = feature.inactive > 0.0;
        let active: Vec<f64> = xs.iter().copied().filter(|&x| x != INACTIVE).collect();
        let inactive = (xs.len() - active.len()) as f64;
        let discrete = cells
            .filter(|&c| c as usize <= self.grid)
            .map(|c| c as usize);
        let g = discrete.unwrap_or(self.grid);
        let mut mass = vec![0.0; g + usize::from(conditional)];
        if let Some(c) = discrete {
            for &x in &active {
                mass[((x * c as f64) as usize).min(c - 1)] += 1.0;
            }
        } else if !active.is_empty() {
            let k = active.len() as f64;
            let mean = active.iter().sum::<f64>() / k;
            let sd = (active.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / k).sqrt();
            let h = (1.06 * sd * k.powf(-0.2)).clamp(1.0 / g as f64, 1.0);
            let grid: Vec<f64> = (0..g).map(|j| (j as f64 + 0.5) / g as f64).collect();
            let mut kernel = vec![0.0; g];
            for &x in &active {
                for (w, u) in kernel.iter_mut().zip(&grid) {
                    *w = (-0.5 * ((u - x) / h).powi(2)).exp();
                }
                // Each sample adds one unit, whatever of its kernel falls off the interval.
                let sum: f64 = kernel.iter().sum();
                for (m, w) in mass.iter_mut().zip(&kernel) {
                    *m += w / sum;
                }
            }
        }
        if conditional {
            mass[g] = inactive;
        }
        mass
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn irrelevant_parameters_rank_last() {
        let trials = testing::trials(400, 11);
        let ranking = PedAnova::default()
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap();
        let names = testing::names(&ranking);
        let mut first: Vec<&str> = names[..2].to_vec();
        first.sort_unstable();
        assert_eq!(first, ["kind", "x"], "{ranking:?}");
        let mut last: Vec<&str> = names[3..].to_vec();
        last.sort_unstable();
        assert_eq!(last, ["noise_a", "noise_b"], "{ranking:?}");
        assert!(
            ranking[2].raw > 2.0 * ranking[3].raw,
            "units matters more than noise: {ranking:?}"
        );
    }

    #[test]
    fn the_direction_picks_which_end_is_best() {
        // Maximizing the same values: the best trials have x far from 10^-1.5 and kind
        // "deep", so x and kind still lead, and noise still trails.
        let trials = testing::trials(400, 12);
        let max = PedAnova {
            direction: Direction::Maximize,
            ..PedAnova::default()
        };
        let ranking = max
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap();
        let names = testing::names(&ranking);
        assert!(
            names[3..].contains(&"noise_a") && names[3..].contains(&"noise_b"),
            "{ranking:?}"
        );
        let bad = PedAnova {
            target_quantile: 0.5,
            region_quantile: 0.2,
            ..PedAnova::default()
        };
        let e = bad
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap_err();
        assert!(
            e.to_string().contains("target_quantile < region_quantile"),
            "{e}"
        );
    }
}
