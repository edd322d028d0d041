//! Non-dominated sorting under constraint domination, and crowding distance (Deb et al. 2002).

use hyperplug_genetic::population::Individual;

/// Whether loss vector `a` Pareto-dominates `b`.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    let mut strictly = false;
    for (x, y) in a.iter().zip(b) {
        if x > y {
            return false;
        }
        strictly |= x < y;
    }
    strictly
}

/// Whether `a` constraint-dominates `b`: feasible over infeasible, less violation over more,
/// and between feasible ones Pareto domination. [`fronts`] sorts by this relation; the tests
/// check it against a brute-force peel.
#[cfg(test)]
fn constrained_dominates(a: &Individual, b: &Individual) -> bool {
    match (a.violation > 0.0, b.violation > 0.0) {
        (false, true) => true,
        (true, false) => false,
        (true, true) => a.violation < b.violation,
        (false, false) => dominates(&a.loss, &b.loss),
    }
}

/// The fronts of `pop` under constraint domination, best first, each in ascending index order:
/// the feasible members' Pareto fronts, then the infeasible ones by violation (equal violations
/// share a front).
///
/// Feasible members are peeled in lexicographic order of their losses, where every dominator of
/// a point comes before it, so each peel checks a point against the front so far only.
pub fn fronts(pop: &[Individual]) -> Vec<Vec<usize>> {
    let mut rest: Vec<usize> = (0..pop.len())
        .filter(|&i| pop[i].violation <= 0.0)
        .collect();
    rest.sort_by(|&a, &b| {
        pop[a]
            .loss
            .iter()
            .zip(&pop[b].loss)
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Vec<usize>> = Vec::new();
    while !rest.is_empty() {
        let mut front: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        for &i in &rest {
            if front.iter().any(|&f| dominates(&pop[f].loss, &pop[i].loss)) {
                next.push(i);
            } else {
                front.push(i);
            }
        }
        front.sort_unstable();
        out.push(front);
        rest = next;
    }
    let mut infeasible: Vec<usize> = (0..pop.len()).filter(|&i| pop[i].violation > 0.0).collect();
    infeasible.sort_by(|&a, &b| {
        pop[a]
            .violation
            .total_cmp(&pop[b].violation)
            .then(a.cmp(&b))
    });
    for i in infeasible {
        match out.last_mut() {
            Some(last)
                if last
                    .first()
                    .is_some_and(|&f| pop[f].violation == pop[i].violation) =>
            {
                last.push(i);
            }
            _ => out.push(vec![i]),
        }
    }
    out
}

/// The crowding distance of each member of `front` (indices into `pop`), in `front`'s order:
/// per objective, the gap between its neighbours over the front's range, summed; the extremes
/// of every objective get infinity.
pub fn crowding(pop: &[Individual], front: &[usize]) -> Vec<f64> {
    let n = front.len();
    let mut d = vec![0.0; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    let m = pop[front[0]].loss.len();
    let mut order: Vec<usize> = (0..n).collect();
    for k in 0..m {
        let at = |i: usize| pop[front[i]].loss[k];
        order.sort_by(|&a, &b| at(a).total_cmp(&at(b)).then(a.cmp(&b)));
        let (lo, hi) = (at(order[0]), at(order[n - 1]));
        d[order[0]] = f64::INFINITY;
        d[order[n - 1]] = f64::INFINITY;
        if hi > lo {
            for w in 1..n - 1 {
                d[order[w]] += (at(order[w + 1]) - at(order[w - 1])) / (hi - lo);
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ind(number: u64, loss: &[f64], violation: f64) -> Individual {
        Individual {
            number,
            genes: Vec::new(),
            loss: loss.to_vec(),
            violation,
        }
    }

    #[test]
    fn fronts_of_a_hand_made_set() {
        let pop = vec![
            ind(0, &[1.0, 4.0], 0.0),
            ind(1, &[2.0, 2.0], 0.0),
            ind(2, &[3.0, 3.0], 0.0),
            ind(3, &[4.0, 1.0], 0.0),
            ind(4, &[0.0, 0.0], 2.0),
            ind(5, &[5.0, 5.0], 0.0),
            ind(6, &[0.0, 0.0], 0.5),
            ind(7, &[2.0, 2.0], 0.0),
            ind(8, &[9.0, 9.0], 0.5),
        ];
        // Duplicates share a front; infeasible members follow every feasible one, by violation.
        assert_eq!(
            fronts(&pop),
            vec![vec![0, 1, 3, 7], vec![2], vec![5], vec![6, 8], vec![4]]
        );
        assert!(constrained_dominates(&pop[5], &pop[6]));
        assert!(constrained_dominates(&pop[6], &pop[4]));
        assert!(!constrained_dominates(&pop[1], &pop[7]));
    }

    #[test]
    fn crowding_by_hand() {
        // Front (0,4), (1,2), (2,1), (4,0): ranges 4 and 4. Inner points:
        // (1,2): (2-0)/4 + (4-1)/4 = 1.25; (2,1): (4-1)/4 + (2-0)/4 = 1.25.
        let pop = vec![
            ind(0, &[0.0, 4.0], 0.0),
            ind(1, &[1.0, 2.0], 0.0),
            ind(2, &[2.0, 1.0], 0.0),
            ind(3, &[4.0, 0.0], 0.0),
        ];
        let d = crowding(&pop, &[0, 1, 2, 3]);
        assert_eq!(d, vec![f64::INFINITY, 1.25, 1.25, f64::INFINITY]);
        // Uneven spacing: (0.5, 2.5) between (0,4) and (1,2): (1-0)/4 + (4-2)/4 = 0.75.
        let pop = vec![
            ind(0, &[0.0, 4.0], 0.0),
            ind(1, &[0.5, 2.5], 0.0),
            ind(2, &[1.0, 2.0], 0.0),
            ind(3, &[4.0, 0.0], 0.0),
        ];
        assert_eq!(crowding(&pop, &[0, 1, 2, 3])[1], 0.75);
    }

    #[test]
    fn sorting_agrees_with_brute_force_ranks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for m in 1..=4 {
            let pop: Vec<Individual> = (0..120)
                .map(|i| {
                    let loss: Vec<f64> = (0..m)
                        .map(|_| f64::from(rng.random_range(0..7u8)))
                        .collect();
                    let violation = if rng.random_range(0..5) == 0 {
                        f64::from(rng.random_range(1..4u8))
                    } else {
                        0.0
                    };
                    ind(i, &loss, violation)
                })
                .collect();
            // Brute force: rank = 1 + the longest chain of dominators (peeling by definition).
            let mut rank = vec![usize::MAX; pop.len()];
            let mut r = 0;
            while rank.contains(&usize::MAX) {
                let current: Vec<usize> = (0..pop.len())
                    .filter(|&i| {
                        rank[i] == usize::MAX
                            && !(0..pop.len()).any(|j| {
                                rank[j] == usize::MAX && constrained_dominates(&pop[j], &pop[i])
                            })
                    })
                    .collect();
                for i in current {
                    rank[i] = r;
                }
                r += 1;
            }
            let fs = fronts(&pop);
            assert_eq!(fs.len(), r, "{m} objectives");
            for (k, f) in fs.iter().enumerate() {
                for &i in f {
                    assert_eq!(rank[i], k, "{m} objectives, member {i}");
                }
            }
        }
    }
}
