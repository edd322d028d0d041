//! k-fold cross-validation splits: shuffled, and stratified by class for classification.

use hyperplug_core::SeedRng;
use rand::Rng;

/// One split: the rows a model trains on and the rows it is judged on, each in ascending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows.
    pub valid: Vec<usize>,
}

/// Shuffles `items` in place with `rng` (Fisher–Yates).
pub fn shuffle<T>(items: &mut [T], rng: &mut SeedRng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

/// `k` folds of `n` rows: the rows are shuffled, then dealt out in turn, so fold sizes differ by
/// at most one and every row is validated exactly once.
pub fn kfold(n: usize, k: usize, rng: &mut SeedRng) -> Result<Vec<Fold>, String> {
    check(n, k)?;
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    Ok(deal(&order, k))
}

/// `k` folds stratified by class: each class's rows are shuffled, then all rows are dealt out in
/// turn class after class, so every fold holds each class's share to within one row (and fold
/// sizes differ by at most one).
pub fn stratified_kfold(labels: &[u32], k: usize, rng: &mut SeedRng) -> Result<Vec<Fold>, String> {
    check(labels.len(), k)?;
    let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    let mut order = Vec::with_capacity(labels.len());
    for c in 0..classes {
        let mut members: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] as usize == c)
            .collect();
        shuffle(&mut members, rng);
        order.extend(members);
    }
    Ok(deal(&order, k))
}

fn check(n: usize, k: usize) -> Result<(), String> {
    if k < 2 {
        return Err(format!(
            "`folds` must be at least 2 to cross-validate, got {k}"
        ));
    }
    if k > n {
        return Err(format!(
            "`folds` = {k} is more than the {n} rows of the data; use at most {n}"
        ));
    }
    Ok(())
}

/// Position `p` of `order` goes to fold `p % k`.
fn deal(order: &[usize], k: usize) -> Vec<Fold> {
    let n = order.len();
    let mut fold_of = vec![0; n];
    for (p, &row) in order.iter().enumerate() {
        fold_of[row] = p % k;
    }
    (0..k)
        .map(|f| Fold {
            train: (0..n).filter(|&i| fold_of[i] != f).collect(),
            valid: (0..n).filter(|&i| fold_of[i] == f).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_core::trial_rng;

    #[test]
    fn stratified_folds_cover_every_row_once_and_keep_class_shares() {
        // 3 classes of 23, 10 and 7 rows, shuffled together.
        let mut labels: Vec<u32> = [(0, 23), (1, 10), (2, 7)]
            .iter()
            .flat_map(|&(c, n)| std::iter::repeat_n(c, n))
            .collect();
        shuffle(&mut labels, &mut trial_rng(1, 0));
        let k = 4;
        let folds = stratified_kfold(&labels, k, &mut trial_rng(5, 0)).unwrap();
        assert_eq!(folds.len(), k);
        let mut seen = vec![0; labels.len()];
        for f in &folds {
            for &i in &f.valid {
                seen[i] += 1;
            }
            // Train and validation are complementary.
            let mut all: Vec<usize> = f.train.iter().chain(&f.valid).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..labels.len()).collect::<Vec<_>>());
            // Each class's count is its share of the fold to within one row.
            for (c, total) in [(0, 23), (1, 10), (2, 7)] {
                let here = f.valid.iter().filter(|&&i| labels[i] == c).count();
                let share = total as f64 / k as f64;
                assert!(
                    (here as f64 - share).abs() < 1.0,
                    "class {c}: {here} vs {share}"
                );
            }
            assert!((f.valid.len() as i64 - 10).abs() <= 1);
        }
        assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
        // Deterministic under the seed, different under another.
        assert_eq!(
            folds,
            stratified_kfold(&labels, k, &mut trial_rng(5, 0)).unwrap()
        );
        assert_ne!(
            folds,
            stratified_kfold(&labels, k, &mut trial_rng(6, 0)).unwrap()
        );
    }

    #[test]
    fn plain_folds_and_their_limits() {
        let folds = kfold(11, 3, &mut trial_rng(0, 0)).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|f| f.valid.len()).collect();
        assert_eq!(sizes, [4, 4, 3]);
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.valid.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert_ne!(folds[0].valid, [0, 3, 6, 9], "rows are shuffled");
        assert_eq!(
            kfold(3, 4, &mut trial_rng(0, 0)).unwrap_err(),
            "`folds` = 4 is more than the 3 rows of the data; use at most 3"
        );
        assert!(kfold(3, 1, &mut trial_rng(0, 0)).is_err());
    }
}
