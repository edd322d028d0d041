//! Variation operators on genes in the unit cube: simulated binary crossover (SBX) and uniform
//! crossover, polynomial mutation (Deb & Agrawal 1995; Deb & Goyal 1996, bounded forms as in
//! Deb's NSGA-II code), and tournament selection. Categorical genes are crossed uniformly and
//! mutated by a fresh random choice; a gene one parent lacks (`NaN`) comes from the other.

use rand::Rng;
use serde::Deserialize;

use crate::genome::{Gene, Genome};

/// How two parents' numeric genes are mixed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Crossover {
    /// Simulated binary crossover: children spread around the parents by a polynomial law.
    Sbx,
    /// Each gene from either parent with probability ½ (`swap_prob`), as Optuna's default.
    Uniform,
}

/// The settings of child generation, shared by the genetic algorithm and NSGA-II/III.
#[derive(Clone, Copy, Debug)]
pub struct Variation {
    /// Which crossover.
    pub crossover: Crossover,
    /// The chance that a child is a crossover of two parents rather than a copy of one.
    pub crossover_prob: f64,
    /// SBX's distribution index: larger keeps children nearer their parents.
    pub eta_crossover: f64,
    /// The chance that each gene is crossed (SBX) or taken from the second parent (uniform).
    pub swap_prob: f64,
    /// The chance that each gene mutates; `None` is `1 / genes`.
    pub mutation_prob: Option<f64>,
    /// Polynomial mutation's distribution index: larger makes smaller steps.
    pub eta_mutation: f64,
}

impl Variation {
    /// One child of `a` and `b`: crossover with `crossover_prob`, then mutation gene by gene.
    pub fn child<R: Rng>(&self, genome: &Genome, a: &[f64], b: &[f64], rng: &mut R) -> Vec<f64> {
        let mut child: Vec<f64> = a.to_vec();
        let cross = rng.random::<f64>() < self.crossover_prob;
        for (j, &gene) in genome.genes.iter().enumerate() {
            let (x, y) = (a[j], b[j]);
            // A gene one parent lacks comes from the other (NaN if neither has it).
            if x.is_nan() || y.is_nan() {
                child[j] = if x.is_nan() { y } else { x };
                continue;
            }
            if !cross {
                continue;
            }
            child[j] = match (gene, self.crossover) {
                (Gene::Numeric, Crossover::Sbx) => {
                    if rng.random::<f64>() < self.swap_prob {
                        sbx(x, y, self.eta_crossover, rng)
                    } else {
                        x
                    }
                }
                _ => {
                    if rng.random::<f64>() < self.swap_prob {
                        y
                    } else {
                        x
                    }
                }
            };
        }
        let pm = self
            .mutation_prob
            .unwrap_or(1.0 / genome.len().max(1) as f64);
        for (j, &gene) in genome.genes.iter().enumerate() {
            if child[j].is_nan() || rng.random::<f64>() >= pm {
                continue;
            }
            child[j] = match gene {
                Gene::Numeric => polynomial_mutation(child[j], self.eta_mutation, rng),
                Gene::Categorical(_) => Genome::random_gene(gene, rng),
            };
        }
        child
    }
}

/// One child of SBX on `[0, 1]` from parents `x` and `y`: either of the pair, at random.
pub fn sbx<R: Rng>(x: f64, y: f64, eta: f64, rng: &mut R) -> f64 {
    let (lo, hi) = if x < y { (x, y) } else { (y, x) };
    if hi - lo < 1e-14 {
        return x;
    }
    let u: f64 = rng.random();
    let spread = |room: f64| {
        // The spread factor's law, cut off where the child would leave [0, 1].
        let beta = 1.0 + 2.0 * room / (hi - lo);
        let alpha = 2.0 - beta.powf(-(eta + 1.0));
        if u <= 1.0 / alpha {
            (u * alpha).powf(1.0 / (eta + 1.0))
        } else {
            (1.0 / (2.0 - u * alpha)).powf(1.0 / (eta + 1.0))
        }
    };
    let c1 = 0.5 * ((lo + hi) - spread(lo) * (hi - lo));
    let c2 = 0.5 * ((lo + hi) + spread(1.0 - hi) * (hi - lo));
    let c = if rng.random::<bool>() { c1 } else { c2 };
    c.clamp(0.0, 1.0)
}

/// Polynomial mutation of `x` in `[0, 1]`: a step whose law keeps the result inside.
pub fn polynomial_mutation<R: Rng>(x: f64, eta: f64, rng: &mut R) -> f64 {
    let u: f64 = rng.random();
    let power = 1.0 / (eta + 1.0);
    let delta = if u < 0.5 {
        let base = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - x).powf(eta + 1.0);
        base.powf(power) - 1.0
    } else {
        let base = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x.powf(eta + 1.0);
        1.0 - base.powf(power)
    };
    (x + delta).clamp(0.0, 1.0)
}

/// Tournament selection: the best of `size` entrants drawn uniformly (with replacement) from
/// `0..n`, where `better(a, b)` says whether `a` beats `b`. `n` must be positive.
pub fn tournament<R: Rng>(
    n: usize,
    size: usize,
    better: impl Fn(usize, usize) -> bool,
    rng: &mut R,
) -> usize {
    let mut winner = rng.random_range(0..n);
    for _ in 1..size.max(1) {
        let other = rng.random_range(0..n);
        if better(other, winner) {
            winner = other;
        }
    }
    winner
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sbx_and_mutation_stay_in_the_unit_interval_and_centre_on_the_parents() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut sum, n) = (0.0, 20_000);
        for _ in 0..n {
            let c = sbx(0.2, 0.4, 15.0, &mut rng);
            assert!((0.0..=1.0).contains(&c));
            sum += c;
            let m = polynomial_mutation(0.99, 20.0, &mut rng);
            assert!((0.0..=1.0).contains(&m));
        }
        // SBX is symmetric about the parents' mean, up to the bounds' cut-off (far here).
        assert!((sum / n as f64 - 0.3).abs() < 0.005, "{}", sum / n as f64);
        // Identical parents give the parent back.
        assert_eq!(sbx(0.5, 0.5, 15.0, &mut rng), 0.5);
    }

    #[test]
    fn seeded_values_are_fixed() {
        // Exact numbers pin the formulas: a change to either operator shows here.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let c = sbx(0.2, 0.6, 2.0, &mut rng);
        let m = polynomial_mutation(0.5, 20.0, &mut rng);
        let mut again = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let u: f64 = again.random();
        let side: bool = again.random();
        // By hand from the same draws, in the same floating-point steps: for the lower child
        // the room below is 0.2 over a span of 0.4, so beta = 2; for the upper one beta = 3.
        let (lo, hi) = (0.2f64, 0.6f64);
        let q = |room: f64| {
            let alpha = 2.0 - (1.0 + 2.0 * room / (hi - lo)).powf(-3.0);
            if u <= 1.0 / alpha {
                (u * alpha).powf(1.0 / 3.0)
            } else {
                (1.0 / (2.0 - u * alpha)).powf(1.0 / 3.0)
            }
        };
        let expect = if side {
            0.5 * ((lo + hi) - q(lo) * (hi - lo))
        } else {
            0.5 * ((lo + hi) + q(1.0 - hi) * (hi - lo))
        };
        assert_eq!(c, expect);
        let v: f64 = again.random();
        let expect_m = if v < 0.5 {
            0.5 + ((2.0 * v + (1.0 - 2.0 * v) * 0.5f64.powf(21.0)).powf(1.0 / 21.0) - 1.0)
        } else {
            0.5 + (1.0 - (2.0 * (1.0 - v) + 2.0 * (v - 0.5) * 0.5f64.powf(21.0)).powf(1.0 / 21.0))
        };
        assert_eq!(m, expect_m);
    }

    #[test]
    fn children_take_missing_genes_from_the_other_parent() {
        let space = hyperplug_core::Space::new(vec![
            hyperplug_core::Param::new("a", hyperplug_core::Domain::float(0.0, 1.0)),
            hyperplug_core::Param::new("b", hyperplug_core::Domain::choice(["x", "y", "z"])),
            hyperplug_core::Param::new("c", hyperplug_core::Domain::int(0, 9)),
        ])
        .unwrap();
        let genome = Genome::of(&space);
        assert_eq!(
            genome.genes,
            [Gene::Numeric, Gene::Categorical(3), Gene::Numeric]
        );
        let v = Variation {
            crossover: Crossover::Sbx,
            crossover_prob: 1.0,
            eta_crossover: 15.0,
            swap_prob: 0.5,
            mutation_prob: Some(0.0),
            eta_mutation: 20.0,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let c = v.child(
                &genome,
                &[f64::NAN, 2.0, f64::NAN],
                &[0.3, 1.0, f64::NAN],
                &mut rng,
            );
            assert_eq!(c[0], 0.3);
            assert!(c[1] == 1.0 || c[1] == 2.0);
            assert!(c[2].is_nan());
        }
    }

    #[test]
    fn tournaments_favour_the_better() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let mut wins = [0usize; 4];
        for _ in 0..4000 {
            wins[tournament(4, 2, |a, b| a < b, &mut rng)] += 1;
        }
        // Binary tournament: P(rank k wins) = (2 (n - k) - 1) / n², i.e. 7, 5, 3, 1 sixteenths.
        for (k, w) in wins.iter().enumerate() {
            let p = (2.0 * (4.0 - k as f64) - 1.0) / 16.0;
            assert!((*w as f64 / 4000.0 - p).abs() < 0.03, "{wins:?}");
        }
    }
}
