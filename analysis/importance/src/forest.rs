//! Regression trees for fANOVA, grown as a random forest grows them (Breiman 2001, and
//! scikit-learn's `RandomForestRegressor` that Optuna's evaluator uses): each tree on a
//! bootstrap sample, splits chosen by the largest fall in squared error, grown until leaves are
//! pure or small. A numeric feature splits at the midpoint between two neighbouring values; a
//! categorical one splits one choice from the rest (what a tree on one-hot columns does).
//!
//! Each tree sorts every numeric feature once and keeps the order while partitioning, so a
//! level of the tree costs `O(features · samples)` rather than a sort per node.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::encode::{Encoded, Kind};

/// Which way a sample goes at a split: left when the rule holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Rule {
    /// A numeric feature at most this threshold.
    AtMost(f64),
    /// A categorical feature equal to this category.
    Is(usize),
}

/// A node of a tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// The mean value of the samples that reached it.
    Leaf(f64),
    /// A split of `feature` by `rule`; `left` and `right` index the tree's nodes.
    Split {
        feature: usize,
        rule: Rule,
        left: usize,
        right: usize,
    },
}

/// A fitted tree; node 0 is the root.
#[derive(Clone, Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

/// How far trees grow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Growth {
    pub max_depth: usize,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
}

impl Tree {
    /// Grows a tree on the rows `rows` of `data` (a bootstrap sample: rows may repeat).
    pub fn fit(data: &Encoded, rows: &[usize], growth: Growth, rng: &mut impl Rng) -> Tree {
        let n = rows.len();
        // The sample's columns, contiguous per feature: the split search reads them in order.
        let xs: Vec<Vec<f64>> = (0..data.features.len())
            .map(|f| rows.iter().map(|&r| data.x[r][f]).collect())
            .collect();
        let ys: Vec<f64> = rows.iter().map(|&r| data.y[r]).collect();
        let orders: Vec<Vec<u32>> = data
            .features
            .iter()
            .zip(&xs)
            .map(|(feature, x)| match feature.kind {
                Kind::Numeric { .. } => {
                    let mut o: Vec<u32> = (0..n as u32).collect();
                    o.sort_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
                    o
                }
                Kind::Categorical { .. } => Vec::new(),
            })
            .collect();
        let mut builder = Builder {
            data,
            xs,
            ys,
            growth,
            nodes: Vec::new(),
            slots: (0..n as u32).collect(),
            orders,
            left: vec![false; n],
            scratch: Vec::with_capacity(n),
            features: (0..data.features.len()).collect(),
        };
        builder.grow(0, n, 0, rng);
        Tree {
            nodes: builder.nodes,
        }
    }

    /// The tree's prediction at `x`.
    #[cfg(test)]
    pub fn predict(&self, x: &[f64]) -> f64 {
        let mut at = 0;
        loop {
            match self.nodes[at] {
                Node::Leaf(v) => return v,
                Node::Split {
                    feature,
                    rule,
                    left,
                    right,
                } => {
                    at = if goes_left(rule, x[feature]) {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }
}

/// Moves the slots that go left to the front of `v`, keeping the order on each side; returns
/// how many go left.
fn partition(v: &mut [u32], left: &[bool], scratch: &mut Vec<u32>) -> usize {
    scratch.clear();
    let mut k = 0;
    for i in 0..v.len() {
        let s = v[i];
        if left[s as usize] {
            v[k] = s;
            k += 1;
        } else {
            scratch.push(s);
        }
    }
    v[k..].copy_from_slice(scratch);
    k
}

fn goes_left(rule: Rule, x: f64) -> bool {
    match rule {
        Rule::AtMost(t) => x <= t,
        Rule::Is(c) => x as usize == c,
    }
}

struct Builder<'a> {
    data: &'a Encoded,
    /// `xs[f][slot]`: feature `f` of the bootstrap sample's `slot`-th row.
    xs: Vec<Vec<f64>>,
    /// `ys[slot]`: its value.
    ys: Vec<f64>,
    growth: Growth,
    nodes: Vec<Node>,
    /// The sample's slots; a node owns a range of it, in no order.
    slots: Vec<u32>,
    /// Per numeric feature, the slots sorted by it; a node owns the same range of each, so a
    /// split partitions every array in place, keeping each range sorted.
    orders: Vec<Vec<u32>>,
    /// Scratch: whether each slot goes left at the split being made.
    left: Vec<bool>,
    /// Scratch for partitioning.
    scratch: Vec<u32>,
    /// The features in the order this node tries them (shuffled, so ties do not always favour
    /// the first parameter).
    features: Vec<usize>,
}

/// The best split found so far: its score (`Σ_left² / n_left + Σ_right² / n_right`, larger is
/// a larger fall in squared error), feature and rule.
struct Best {
    score: f64,
    feature: usize,
    rule: Rule,
}

impl Builder<'_> {
    fn x(&self, slot: u32, f: usize) -> f64 {
        self.xs[f][slot as usize]
    }

    fn y(&self, slot: u32) -> f64 {
        self.ys[slot as usize]
    }

    /// Grows the subtree of the samples in `lo..hi` of the slot and order arrays, and returns
    /// its root's index.
    fn grow(&mut self, lo: usize, hi: usize, depth: usize, rng: &mut impl Rng) -> usize {
        let n = hi - lo;
        let (sum, sum_sq) = self.slots[lo..hi].iter().fold((0.0, 0.0), |(s, q), &i| {
            let y = self.ys[i as usize];
            (s + y, q + y * y)
        });
        let mean = sum / n as f64;
        let at = self.nodes.len();
        self.nodes.push(Node::Leaf(mean));
        let spread = sum_sq - sum * mean;
        if n < self.growth.min_samples_split
            || depth >= self.growth.max_depth
            || spread <= 1e-12 * sum_sq.max(1e-300)
        {
            return at;
        }
        let Some(best) = self.best_split(lo, hi, sum, rng) else {
            return at;
        };
        for i in lo..hi {
            let s = self.slots[i];
            self.left[s as usize] = goes_left(best.rule, self.x(s, best.feature));
        }
        let mid = lo + partition(&mut self.slots[lo..hi], &self.left, &mut self.scratch);
        for o in &mut self.orders {
            if !o.is_empty() {
                partition(&mut o[lo..hi], &self.left, &mut self.scratch);
            }
        }
        let left = self.grow(lo, mid, depth + 1, rng);
        let right = self.grow(mid, hi, depth + 1, rng);
        self.nodes[at] = Node::Split {
            feature: best.feature,
            rule: best.rule,
            left,
            right,
        };
        at
    }

    fn best_split(&mut self, lo: usize, hi: usize, sum: f64, rng: &mut impl Rng) -> Option<Best> {
        let n = hi - lo;
        let min_leaf = self.growth.min_samples_leaf.max(1);
        // A split must lower the squared error by more than rounding.
        let parent = sum * sum / n as f64;
        let mut best: Option<Best> = None;
        let mut features = std::mem::take(&mut self.features);
        features.shuffle(rng);
        let mut consider = |score: f64, feature: usize, rule: Rule| {
            if score > parent + 1e-12 * parent.abs().max(1e-300)
                && best.as_ref().is_none_or(|b| score > b.score)
            {
                best = Some(Best {
                    score,
                    feature,
                    rule,
                });
            }
        };
        for &f in &features {
            match self.data.features[f].kind {
                Kind::Numeric { .. } => {
                    let (xs, ys) = (&self.xs[f], &self.ys);
                    let mut s_left = 0.0;
                    for (k, pair) in self.orders[f][lo..hi].windows(2).enumerate() {
                        let (i, j) = (pair[0] as usize, pair[1] as usize);
                        s_left += ys[i];
                        let n_left = k + 1;
                        let (a, b) = (xs[i], xs[j]);
                        if a == b || n_left < min_leaf || n - n_left < min_leaf {
                            continue;
                        }
                        let s_right = sum - s_left;
                        let score = s_left * s_left / n_left as f64
                            + s_right * s_right / (n - n_left) as f64;
                        consider(score, f, Rule::AtMost(0.5 * (a + b)));
                    }
                }
                Kind::Categorical { .. } => {
                    let k = self.data.features[f].categories().max(1);
                    let mut count = vec![0usize; k];
                    let mut total = vec![0.0; k];
                    for &s in &self.slots[lo..hi] {
                        let c = (self.x(s, f) as usize).min(k - 1);
                        count[c] += 1;
                        total[c] += self.y(s);
                    }
                    for c in 0..k {
                        let (n_left, s_left) = (count[c], total[c]);
                        if n_left < min_leaf || n - n_left < min_leaf {
                            continue;
                        }
                        let s_right = sum - s_left;
                        let score = s_left * s_left / n_left as f64
                            + s_right * s_right / (n - n_left) as f64;
                        consider(score, f, Rule::Is(c));
                    }
                }
            }
        }
        self.features = features;
        best
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::encode::{Feature, Kind};

    #[test]
    fn a_tree_learns_a_step_in_a_number_and_a_choice() {
        // y = 1 when x > 0.5, plus 10 when the choice is 2; the other feature is noise.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..40 {
            let u = i as f64 / 40.0;
            let c = (i % 3) as f64;
            let noise = ((i * 7) % 11) as f64 / 11.0;
            x.push(vec![u, c, noise]);
            y.push(f64::from(u8::from(u > 0.5)) + if c == 2.0 { 10.0 } else { 0.0 });
        }
        let feature = |name: &str, kind| Feature {
            name: name.into(),
            kind,
            inactive: 0.0,
        };
        let data = Encoded {
            features: vec![
                feature("u", Kind::Numeric { cells: None }),
                feature("c", Kind::Categorical { choices: 3 }),
                feature("noise", Kind::Numeric { cells: None }),
            ],
            x,
            y,
        };
        let growth = Growth {
            max_depth: 64,
            min_samples_split: 2,
            min_samples_leaf: 1,
        };
        let rows: Vec<usize> = (0..40).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let tree = Tree::fit(&data, &rows, growth, &mut rng);
        for (xi, yi) in data.x.iter().zip(&data.y) {
            assert_eq!(tree.predict(xi), *yi, "{xi:?}");
        }
        // Pure after the two informative splits: four leaves, no split on the noise.
        let leaves = tree
            .nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf(_)))
            .count();
        assert_eq!(leaves, 4, "{:?}", tree.nodes);
        assert!(
            tree.nodes
                .iter()
                .all(|n| !matches!(n, Node::Split { feature: 2, .. }))
        );
        assert!(matches!(
            tree.nodes[0],
            Node::Split {
                feature: 1,
                rule: Rule::Is(2),
                ..
            }
        ));
    }
}
