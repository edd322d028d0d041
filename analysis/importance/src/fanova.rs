//! fANOVA: each tree of a random forest is constant on the boxes of its leaves, so the
//! variance of its prediction over the space, and the variance of each parameter's marginal
//! (the prediction averaged over all other parameters), are exact finite sums over leaves.

use hyperplug_core::{Params, Space};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::encode::{Encoded, Feature, Kind, encode};
use crate::forest::{Growth, Node, Rule, Tree};
use crate::{Importance, ImportanceError, ranked};

/// The fANOVA evaluator; the defaults are Optuna's (`FanovaImportanceEvaluator`): 64 trees grown
/// to depth 64 with leaves of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Fanova {
    /// Trees in the forest.
    pub trees: usize,
    /// How deep a tree may grow.
    pub max_depth: usize,
    /// A node with fewer samples is not split.
    pub min_samples_split: usize,
    /// Neither side of a split may have fewer samples.
    pub min_samples_leaf: usize,
    /// Each tree's bootstrap sample size (scikit-learn's `max_samples`); `None`: as many as
    /// there are trials. A cap bounds the cost on large studies while the forest as a whole
    /// still sees every trial.
    pub max_samples: Option<usize>,
    /// The seed of the bootstrap samples and the order features are tried in.
    pub seed: u64,
}

impl Default for Fanova {
    fn default() -> Self {
        Fanova {
            trees: 64,
            max_depth: 64,
            min_samples_split: 2,
            min_samples_leaf: 1,
            max_samples: None,
            seed: 0,
        }
    }
}

impl Fanova {
    /// The importance of each parameter of `space` to the values of `samples` (parameters and
    /// one objective value each; samples with a non-finite value are left out), most important
    /// first. Needs two samples at least.
    pub fn evaluate(
        &self,
        space: &Space,
        samples: &[(&Params, f64)],
    ) -> Result<Vec<Importance>, ImportanceError> {
        if self.trees == 0 || self.max_depth == 0 || self.min_samples_split < 2 {
            return Err(ImportanceError::Setting(format!(
                "fANOVA needs at least one tree, a depth of at least 1 and min_samples_split of at least 2; got {} trees, depth {}, min_samples_split {}",
                self.trees, self.max_depth, self.min_samples_split
            )));
        }
        let data = encode(space, samples, 2)?;
        let n = data.y.len();
        let growth = Growth {
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
        };
        let draws = self.max_samples.map_or(n, |m| m.clamp(2, n));
        let fit = |t: usize| {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(t as u64);
            let rows: Vec<usize> = (0..draws).map(|_| rng.random_range(0..n)).collect();
            let tree = Tree::fit(&data, &rows, growth, &mut rng);
            variance_shares(&tree, &data)
        };
        // Trees are independent, each with its own random stream: they are grown on every core,
        // and summed in tree order, so the result does not depend on the number of threads.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(self.trees);
        let mut per_tree: Vec<Option<Vec<f64>>> = vec![None; self.trees];
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|w| {
                    let fit = &fit;
                    let trees = self.trees;
                    scope.spawn(move || {
                        (w..trees)
                            .step_by(threads)
                            .map(|t| (t, fit(t)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for worker in workers {
                match worker.join() {
                    Ok(done) => {
                        for (t, shares) in done {
                            per_tree[t] = shares;
                        }
                    }
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
        let mut shares = vec![0.0; data.features.len()];
        let mut counted = 0usize;
        // A tree that predicts one constant explains nothing; it is left out of the mean.
        for s in per_tree.into_iter().flatten() {
            for (a, b) in shares.iter_mut().zip(s) {
                *a += b;
            }
            counted += 1;
        }
        if counted > 0 {
            for s in &mut shares {
                *s /= counted as f64;
            }
        }
        let names = data.features.iter().map(|f| f.name.clone()).collect();
        Ok(ranked(names, shares))
    }
}

/// Where a leaf's box lies along one feature.
#[derive(Clone, Debug)]
enum Side {
    /// A numeric interval `(lo, hi]`.
    Interval(f64, f64),
    /// The categories allowed.
    Set(Vec<bool>),
}

struct Leaf {
    value: f64,
    sides: Vec<Side>,
    /// Each side's measure.
    mass: Vec<f64>,
}

fn side_mass(feature: &Feature, side: &Side) -> f64 {
    match side {
        Side::Interval(lo, hi) => feature.interval_mass(*lo, *hi),
        Side::Set(allowed) => allowed
            .iter()
            .enumerate()
            .filter(|(_, a)| **a)
            .map(|(c, _)| feature.category_mass(c))
            .sum(),
    }
}

/// The leaves of `tree` with their boxes.
fn leaves(tree: &Tree, features: &[Feature]) -> Vec<Leaf> {
    let whole: Vec<Side> = features
        .iter()
        .map(|f| match f.kind {
            Kind::Numeric { .. } => Side::Interval(f64::NEG_INFINITY, f64::INFINITY),
            Kind::Categorical { .. } => Side::Set(vec![true; f.categories().max(1)]),
        })
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![(0usize, whole)];
    while let Some((at, sides)) = stack.pop() {
        match tree.nodes[at] {
            Node::Leaf(value) => {
                let mass = features
                    .iter()
                    .zip(&sides)
                    .map(|(f, s)| side_mass(f, s))
                    .collect();
                out.push(Leaf { value, sides, mass });
            }
            Node::Split {
                feature,
                rule,
                left,
                right,
            } => {
                let mut l = sides.clone();
                let mut r = sides;
                match (rule, &mut l[feature], &mut r[feature]) {
                    (Rule::AtMost(t), Side::Interval(_, l_hi), Side::Interval(r_lo, _)) => {
                        *l_hi = t;
                        *r_lo = t;
                    }
                    (Rule::Is(c), Side::Set(l_set), Side::Set(r_set)) => {
                        for (i, a) in l_set.iter_mut().enumerate() {
                            *a = *a && i == c;
                        }
                        if let Some(a) = r_set.get_mut(c) {
                            *a = false;
                        }
                    }
                    // A rule always matches its feature's kind (the forest made both).
                    _ => {}
                }
                stack.push((left, l));
                stack.push((right, r));
            }
        }
    }
    out
}

/// Each feature's share of the variance of `tree`'s prediction over the space: the variance of
/// its marginal divided by the total. `None` when the tree is constant over the space.
fn variance_shares(tree: &Tree, data: &Encoded) -> Option<Vec<f64>> {
    let features = &data.features;
    let leaves = leaves(tree, features);
    let d = features.len();
    let volume: Vec<f64> = leaves.iter().map(|l| l.mass.iter().product()).collect();
    let mean: f64 = leaves.iter().zip(&volume).map(|(l, v)| v * l.value).sum();
    let total: f64 = leaves
        .iter()
        .zip(&volume)
        .map(|(l, v)| v * (l.value - mean).powi(2))
        .sum();
    if !(total.is_finite() && total > 1e-20 * (mean * mean).max(f64::MIN_POSITIVE)) {
        return None;
    }
    // Each leaf's weight in feature f's marginal: its value times the measure of its box in
    // every other feature (products before and after f).
    let others = |l: &Leaf, f: usize| -> f64 {
        l.mass[..f].iter().product::<f64>() * l.mass[f + 1..].iter().product::<f64>()
    };
    let mut shares = vec![0.0; d];
    for (f, feature) in features.iter().enumerate() {
        let weights: Vec<f64> = leaves.iter().map(|l| others(l, f) * l.value).collect();
        let variance = match feature.kind {
            Kind::Numeric { .. } => {
                numeric_marginal_variance(tree, f, feature, &leaves, &weights, mean)
            }
            Kind::Categorical { .. } => {
                let k = feature.categories().max(1);
                let mut marginal = vec![0.0; k];
                for (l, w) in leaves.iter().zip(&weights) {
                    if let Side::Set(allowed) = &l.sides[f] {
                        for (c, a) in allowed.iter().enumerate() {
                            if *a {
                                marginal[c] += w;
                            }
                        }
                    }
                }
                marginal
                    .iter()
                    .enumerate()
                    .map(|(c, m)| feature.category_mass(c) * (m - mean).powi(2))
                    .sum()
            }
        };
        shares[f] = (variance / total).clamp(0.0, 1.0);
    }
    Some(shares)
}

/// The variance of a numeric feature's marginal: it is constant between the tree's thresholds
/// on the feature, so it is summed cell by cell (each leaf's weight added over its interval's
/// cells at once, by differences), with the inactive value as one more cell.
fn numeric_marginal_variance(
    tree: &Tree,
    f: usize,
    feature: &Feature,
    leaves: &[Leaf],
    weights: &[f64],
    mean: f64,
) -> f64 {
    let mut cuts: Vec<f64> = vec![0.0, 1.0];
    cuts.extend(tree.nodes.iter().filter_map(|n| match *n {
        Node::Split {
            feature,
            rule: Rule::AtMost(t),
            ..
        } if feature == f && t > 0.0 && t < 1.0 => Some(t),
        _ => None,
    }));
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let cells = cuts.len() - 1;
    let mut diff = vec![0.0; cells + 1];
    let mut inactive = 0.0;
    for (l, w) in leaves.iter().zip(weights) {
        let Side::Interval(lo, hi) = l.sides[f] else {
            continue;
        };
        // Cells j with cuts[j] >= lo and cuts[j + 1] <= hi lie inside (lo, hi].
        let start = cuts.partition_point(|&c| c < lo);
        let end = cuts[1..].partition_point(|&c| c <= hi);
        if start < end {
            diff[start] += w;
            diff[end] -= w;
        }
        if lo < crate::encode::INACTIVE && crate::encode::INACTIVE <= hi {
            inactive += w;
        }
    }
    let mut running = 0.0;
    let mut variance = feature.inactive * (inactive - mean).powi(2);
    for j in 0..cells {
        running += diff[j];
        let width = cuts[j + 1] - cuts[j];
        variance += (1.0 - feature.inactive) * width * (running - mean).powi(2);
    }
    variance
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Domain, Param, Value};
    use rand::Rng;

    use super::*;
    use crate::testing;

    #[test]
    fn irrelevant_parameters_rank_last_and_the_dominant_one_first() {
        let trials = testing::trials(300, 7);
        let ranking = Fanova::default()
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap();
        let names = testing::names(&ranking);
        assert_eq!(names[0], "x", "{ranking:?}");
        assert_eq!(names[1], "kind", "{ranking:?}");
        assert_eq!(names[2], "units", "{ranking:?}");
        let mut last: Vec<&str> = names[3..].to_vec();
        last.sort_unstable();
        assert_eq!(last, ["noise_a", "noise_b"], "{ranking:?}");
        let sum: f64 = ranking.iter().map(|i| i.importance).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(ranking[3].importance < 0.02, "{ranking:?}");
        // Same seed, same forest.
        let again = Fanova::default()
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap();
        assert_eq!(ranking, again);
    }

    #[test]
    fn a_bootstrap_cap_keeps_the_ranking() {
        let trials = testing::trials(600, 5);
        let capped = Fanova {
            max_samples: Some(150),
            ..Fanova::default()
        }
        .evaluate(&testing::space(), &testing::view(&trials))
        .unwrap();
        let names = testing::names(&capped);
        assert_eq!(names[..3], ["x", "kind", "units"], "{capped:?}");
    }

    #[test]
    fn an_additive_function_splits_its_variance_by_its_terms() {
        // y = 3u + v on the unit square: Var(3u) = 9/12, Var(v) = 1/12, so the shares are 0.9
        // and 0.1 and together explain everything.
        let space = Space::new(vec![
            Param::new("u", Domain::float(0.0, 1.0)),
            Param::new("v", Domain::float(0.0, 1.0)),
        ])
        .unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let trials: Vec<(Params, f64)> = (0..400)
            .map(|_| {
                let (u, v): (f64, f64) = (rng.random(), rng.random());
                let p: Params = [
                    ("u".to_owned(), Value::Float(u)),
                    ("v".to_owned(), Value::Float(v)),
                ]
                .into_iter()
                .collect();
                (p, 3.0 * u + v)
            })
            .collect();
        let ranking = Fanova::default()
            .evaluate(&space, &testing::view(&trials))
            .unwrap();
        assert_eq!(testing::names(&ranking), ["u", "v"]);
        assert!((ranking[0].importance - 0.9).abs() < 0.03, "{ranking:?}");
        let explained: f64 = ranking.iter().map(|i| i.raw).sum();
        assert!(explained > 0.95 && explained <= 1.0 + 1e-9, "{ranking:?}");
    }

    #[test]
    fn a_constant_objective_ranks_nothing_and_bad_settings_are_refused() {
        let trials: Vec<(Params, f64)> = testing::trials(20, 1)
            .into_iter()
            .map(|(p, _)| (p, 1.0))
            .collect();
        let ranking = Fanova::default()
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap();
        assert!(ranking.iter().all(|i| i.importance == 0.0 && i.raw == 0.0));
        let bad = Fanova {
            trees: 0,
            ..Fanova::default()
        };
        let e = bad
            .evaluate(&testing::space(), &testing::view(&trials))
            .unwrap_err();
        assert!(e.to_string().contains("at least one tree"), "{e}");
    }
}
