//! NSGA-III's reference-point niching (Deb & Jain 2014): Das–Dennis reference points,
//! normalization by the ideal point and the intercepts of the extreme points' hyperplane,
//! association of each member with its nearest reference line, and niche-preserving choice
//! from the last front.

use hyperplug_genetic::population::Individual;
use rand::Rng;

/// The Das–Dennis points: every vector of `m` non-negative multiples of `1 / divisions` that
/// sums to 1, in lexicographic order of the multiples (descending first coordinate).
pub fn das_dennis(m: usize, divisions: usize) -> Vec<Vec<f64>> {
    fn fill(left: usize, slots: usize, prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if slots == 1 {
            prefix.push(left);
            out.push(prefix.clone());
            prefix.pop();
            return;
        }
        for k in (0..=left).rev() {
            prefix.push(k);
            fill(left - k, slots - 1, prefix, out);
            prefix.pop();
        }
    }
    if m == 0 {
        return Vec::new();
    }
    let h = divisions.max(1);
    let mut raw = Vec::new();
    fill(h, m, &mut Vec::new(), &mut raw);
    raw.into_iter()
        .map(|v| v.into_iter().map(|k| k as f64 / h as f64).collect())
        .collect()
}

/// The number of Das–Dennis points for `m` objectives and `divisions`: `C(divisions + m - 1,
/// m - 1)`, saturating.
pub fn count(m: usize, divisions: usize) -> usize {
    let mut c: u128 = 1;
    for i in 1..m as u128 {
        c = c * (divisions as u128 + i) / i;
        if c > usize::MAX as u128 {
            return usize::MAX;
        }
    }
    c as usize
}

/// The most divisions whose points fit in `population` (at least 1).
pub fn divisions_for(m: usize, population: usize) -> usize {
    if m <= 1 {
        return 1;
    }
    let mut h = 1;
    while count(m, h + 1) <= population {
        h += 1;
    }
    h
}

/// Chooses `k` members of `last` (indices into `pop`) to join `chosen` (also indices), by
/// niche count: each step takes a least-crowded reference line that still has candidates, and
/// from it the candidate nearest the line when the niche is empty, else a random one.
pub fn niching<R: Rng>(
    pop: &[Individual],
    chosen: &[usize],
    last: &[usize],
    k: usize,
    refs: &[Vec<f64>],
    rng: &mut R,
) -> Vec<usize> {
    let all: Vec<usize> = chosen.iter().chain(last).copied().collect();
    let normal = normalize(pop, &all);
    let (line, dist): (Vec<usize>, Vec<f64>) = normal.iter().map(|f| associate(f, refs)).unzip();
    let mut niche = vec![0usize; refs.len()];
    for slot in 0..chosen.len() {
        niche[line[slot]] += 1;
    }
    // Candidates per reference line, as positions in `all`.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); refs.len()];
    for slot in chosen.len()..all.len() {
        members[line[slot]].push(slot);
    }
    let mut open: Vec<bool> = members.iter().map(|c| !c.is_empty()).collect();
    let mut picked = Vec::with_capacity(k);
    while picked.len() < k {
        let Some(least) = (0..refs.len()).filter(|&j| open[j]).map(|j| niche[j]).min() else {
            break;
        };
        let ties: Vec<usize> = (0..refs.len())
            .filter(|&j| open[j] && niche[j] == least)
            .collect();
        let j = ties[rng.random_range(0..ties.len())];
        let cands = &mut members[j];
        let at = if niche[j] == 0 {
            (0..cands.len())
                .min_by(|&a, &b| dist[cands[a]].total_cmp(&dist[cands[b]]))
                .unwrap_or(0)
        } else {
            rng.random_range(0..cands.len())
        };
        let slot = cands.swap_remove(at);
        picked.push(all[slot]);
        niche[j] += 1;
        if cands.is_empty() {
            open[j] = false;
        }
    }
    picked
}

/// The losses of `members` translated by the ideal point and scaled by the intercepts of the
/// hyperplane through the extreme points; where that plane is degenerate, by the worst value
/// of each objective instead.
pub fn normalize(pop: &[Individual], members: &[usize]) -> Vec<Vec<f64>> {
    let m = pop[members[0]].loss.len();
    let ideal: Vec<f64> = (0..m)
        .map(|j| {
            members
                .iter()
                .map(|&i| pop[i].loss[j])
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    let shifted: Vec<Vec<f64>> = members
        .iter()
        .map(|&i| pop[i].loss.iter().zip(&ideal).map(|(x, z)| x - z).collect())
        .collect();
    // The extreme point of each axis: least achievement scalarizing function with weights
    // (1e-6, …, 1, …, 1e-6).
    let extremes: Vec<&Vec<f64>> = (0..m)
        .map(|axis| {
            let asf = |f: &Vec<f64>| {
                f.iter()
                    .enumerate()
                    .map(|(j, x)| x / if j == axis { 1.0 } else { 1e-6 })
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            shifted
                .iter()
                .min_by(|a, b| asf(a).total_cmp(&asf(b)))
                .unwrap_or(&shifted[0])
        })
        .collect();
    let worst: Vec<f64> = (0..m)
        .map(|j| shifted.iter().map(|f| f[j]).fold(0.0, f64::max))
        .collect();
    let intercepts = hyperplane_intercepts(&extremes)
        .filter(|a| {
            a.iter()
                .zip(&worst)
                .all(|(x, w)| x.is_finite() && *x > 1e-6 && *x <= w * 1e6 + 1e-6)
        })
        .unwrap_or(worst);
    shifted
        .into_iter()
        .map(|f| {
            f.iter()
                .zip(&intercepts)
                .map(|(x, a)| if *a > 1e-12 { x / a } else { *x })
                .collect()
        })
        .collect()
}

/// The intercepts `a` of the hyperplane `Σ x_j / a_j = 1` through `points` (m points in m
/// dimensions), by Gaussian elimination with partial pivoting; `None` when singular.
fn hyperplane_intercepts(points: &[&Vec<f64>]) -> Option<Vec<f64>> {
    let m = points.len();
    let mut a: Vec<Vec<f64>> = points
        .iter()
        .map(|p| {
            let mut row = p.to_vec();
            row.push(1.0);
            row
        })
        .collect();
    for col in 0..m {
        let pivot = (col..m).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let factor = r[col] / pivot_row[col];
                for (x, p) in r[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= factor * p;
                }
            }
        }
    }
    Some((0..m).map(|j| a[j][j] / a[j][m]).collect())
}

/// The nearest reference line to normalized point `f` and the perpendicular distance to it.
pub fn associate(f: &[f64], refs: &[Vec<f64>]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (j, w) in refs.iter().enumerate() {
        let ww: f64 = w.iter().map(|x| x * x).sum();
        let t = f.iter().zip(w).map(|(x, y)| x * y).sum::<f64>() / ww;
        let d2: f64 = f.iter().zip(w).map(|(x, y)| (x - t * y).powi(2)).sum();
        if d2 < best.1 {
            best = (j, d2);
        }
    }
    (best.0, best.1.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn ind(number: u64, loss: &[f64]) -> Individual {
        Individual {
            number,
            genes: Vec::new(),
            loss: loss.to_vec(),
            violation: 0.0,
        }
    }

    #[test]
    fn das_dennis_points() {
        let p = das_dennis(3, 2);
        assert_eq!(
            p,
            vec![
                vec![1.0, 0.0, 0.0],
                vec![0.5, 0.5, 0.0],
                vec![0.5, 0.0, 0.5],
                vec![0.0, 1.0, 0.0],
                vec![0.0, 0.5, 0.5],
                vec![0.0, 0.0, 1.0],
            ]
        );
        assert_eq!(count(3, 12), 91);
        assert_eq!(das_dennis(3, 12).len(), 91);
        assert_eq!(count(2, 49), 50);
        assert_eq!(divisions_for(3, 50), 8);
        assert_eq!(divisions_for(2, 50), 49);
        assert_eq!(divisions_for(1, 50), 1);
    }

    #[test]
    fn normalization_and_association_by_hand() {
        // Extreme points (2,0,0), (0,4,0), (0,0,8) after shifting by the ideal (1,1,1): the
        // plane x/2 + y/4 + z/8 = 1, so the intercepts are 2, 4, 8.
        let pop = vec![
            ind(0, &[3.0, 1.0, 1.0]),
            ind(1, &[1.0, 5.0, 1.0]),
            ind(2, &[1.0, 1.0, 9.0]),
            ind(3, &[2.0, 3.0, 5.0]),
        ];
        let n = normalize(&pop, &[0, 1, 2, 3]);
        assert_eq!(n[3], vec![0.5, 0.5, 0.5]);
        assert_eq!(n[0], vec![1.0, 0.0, 0.0]);
        let refs = das_dennis(3, 2);
        // (0.5,0.5,0.5) lies on the centre line: equally far from the three mid-edge points,
        // nearest is the first of them; the distance to (0.5,0.5,0): t = 1, residual (0,0,0.5).
        let (j, d) = associate(&n[3], &refs);
        assert_eq!((j, d), (1, 0.5));
        assert_eq!(associate(&n[0], &refs), (0, 0.0));
    }

    #[test]
    fn niching_fills_empty_niches_first() {
        // Two objectives, reference lines at (1,0), (0.5,0.5), (0,1). Chosen: a point on the
        // first line. Last front: two near the middle line, one on the last line.
        let pop = vec![
            ind(0, &[1.0, 0.0]),
            ind(1, &[0.0, 1.0]),
            ind(2, &[0.5, 0.5]),
            ind(3, &[0.45, 0.55]),
        ];
        let refs = das_dennis(2, 2);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut picked = niching(&pop, &[0], &[1, 2, 3], 2, &refs, &mut rng);
        picked.sort_unstable();
        // The two empty niches each get their nearest member: 1 (last line) and 2 (on the
        // middle line, nearer than 3).
        assert_eq!(picked, vec![1, 2]);
    }
}
