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
        let orders: Vec<Vec<u32>> = data
            .features
            .iter()
            .enumerate()
            .map(|(f, feature)| match feature.kind {
                Kind::Numeric { .. } => {
                    let mut o: Vec<u32> = (0..n as u32).collect();
                    o.sort_by(|&a, &b| {
                        data.x[rows[a as usize]][f].total_cmp(&data.x[rows[b as usize]][f])
                    });
                    o
                }
                Kind::Categorical { .. } => Vec::new(),
            })
            .collect();
        let mut builder = Builder {
            data,
            rows,
            growth,
            nodes: Vec::new(),
            left: vec![false; n],
            features: (0..data.features.len()).collect(),
        };
        builder.grow((0..n as u32).collect(), orders, 0, rng);
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

fn goes_left(rule: Rule, x: f64) -> bool {
    match rule {
        Rule::AtMost(t) => x <= t,
        Rule::Is(c) => x as usize == c,
    }
}

struct Builder<'a> {
    data: &'a Encoded,
    rows: &'a [usize],
    growth: Growth,
    nodes: Vec<Node>,
    /// Scratch: whether each slot goes left at the split being made.
    left: Vec<bool>,
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
        self.data.x[self.rows[slot as usize]][f]
    }

    fn y(&self, slot: u32) -> f64 {
        self.data.y[self.rows[slot as usize]]
    }

    /// Grows the subtree of the samples `slots` (with each numeric feature's `orders`, the same
    /// slots sorted by it) and returns its root's index.
    fn grow(
        &mut self,
        slots: Vec<u32>,
        orders: Vec<Vec<u32>>,
        depth: usize,
        rng: &mut impl Rng,
    ) -> usize {
        let n = slots.len();
        let (sum, sum_sq) = slots.iter().fold((0.0, 0.0), |(s, q), &i| {
            let y = self.y(i);
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
        let Some(best) = self.best_split(&slots, &orders, sum, rng) else {
            return at;
        };
        for &s in &slots {
            self.left[s as usize] = goes_left(best.rule, self.x(s, best.feature));
        }
        let (l_slots, r_slots): (Vec<u32>, Vec<u32>) =
            slots.iter().partition(|&&s| self.left[s as usize]);
        let mut l_orders = Vec::with_capacity(orders.len());
        let mut r_orders = Vec::with_capacity(orders.len());
        for o in orders {
            let (l, r): (Vec<u32>, Vec<u32>) = o.into_iter().partition(|&s| self.left[s as usize]);
            l_orders.push(l);
            r_orders.push(r);
        }
        drop(slots);
        let left = self.grow(l_slots, l_orders, depth + 1, rng);
        let right = self.grow(r_slots, r_orders, depth + 1, rng);
        self.nodes[at] = Node::Split {
            feature: best.feature,
            rule: best.rule,
            left,
            right,
        };
        at
    }

    fn best_split(
        &mut self,
        slots: &[u32],
        orders: &[Vec<u32>],
        sum: f64,
        rng: &mut impl Rng,
    ) -> Option<Best> {
        let n = slots.len();
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
                    let order = &orders[f];
                    let mut s_left = 0.0;
                    for (k, pair) in order.windows(2).enumerate() {
                        s_left += self.y(pair[0]);
                        let n_left = k + 1;
                        let (a, b) = (self.x(pair[0], f), self.x(pair[1], f));
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
                    for &s in slots {
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
