//! Multi-objective ranking for MOTPE: non-dominated sorting, and greedy hypervolume subset
//! selection to break the tie in the last front that the good set reaches.

/// Whether loss vector `a` dominates `b` (no worse anywhere, better somewhere).
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

/// Chooses `count` of the `points` (row-major loss vectors, `m` per point, lower is better) by
/// non-domination rank, breaking the tie in the last rank needed by greedy hypervolume
/// contribution. Returns indices into `points`.
pub fn select_best(points: &[f64], m: usize, count: usize) -> Vec<usize> {
    let n = points.len() / m;
    let at = |i: usize| &points[i * m..(i + 1) * m];
    if count >= n {
        return (0..n).collect();
    }
    // Lexicographic order: a point can only be dominated by one before it, and a dominated
    // point is dominated by some member of the front, so each peel checks the front only.
    let mut rest: Vec<usize> = (0..n).collect();
    rest.sort_by(|&a, &b| {
        at(a)
            .iter()
            .zip(at(b))
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut chosen = Vec::with_capacity(count);
    while chosen.len() < count && !rest.is_empty() {
        let mut front: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        for &i in &rest {
            if front.iter().any(|&f| dominates(at(f), at(i))) {
                next.push(i);
            } else {
                front.push(i);
            }
        }
        let need = count - chosen.len();
        if front.len() <= need {
            chosen.extend_from_slice(&front);
        } else {
            chosen.extend(greedy_hypervolume(points, m, &front, need));
        }
        rest = next;
    }
    chosen
}

/// Picks `count` of `front` one at a time, each the one that adds the most hypervolume to those
/// already picked, against a reference point just beyond the front's worst values.
fn greedy_hypervolume(points: &[f64], m: usize, front: &[usize], count: usize) -> Vec<usize> {
    let at = |i: usize| &points[i * m..(i + 1) * m];
    let reference: Vec<f64> = (0..m)
        .map(|k| {
            let worst = front
                .iter()
                .map(|&i| at(i)[k])
                .fold(f64::NEG_INFINITY, f64::max);
            worst + (0.1 * worst.abs()).max(1e-12)
        })
        .collect();
    let mut picked: Vec<usize> = Vec::with_capacity(count);
    let mut left: Vec<usize> = front.to_vec();
    let mut buf: Vec<f64> = Vec::new();
    while picked.len() < count && !left.is_empty() {
        let mut best = (f64::NEG_INFINITY, 0);
        for (slot, &i) in left.iter().enumerate() {
            buf.clear();
            for &p in &picked {
                buf.extend_from_slice(at(p));
            }
            buf.extend_from_slice(at(i));
            let hv = hypervolume(&mut buf, m, &reference);
            if hv > best.0 {
                best = (hv, slot);
            }
        }
        picked.push(left.swap_remove(best.1));
    }
    picked
}

/// The hypervolume that `points` (row-major, `m` per point; reordered in place) dominate up to
/// `reference`, for minimization. Exact: a sweep in two dimensions, slicing along the last
/// objective above that.
pub fn hypervolume(points: &mut [f64], m: usize, reference: &[f64]) -> f64 {
    let n = points.len() / m;
    if n == 0 {
        return 0.0;
    }
    if m == 1 {
        let best = points.iter().copied().fold(f64::INFINITY, f64::min);
        return (reference[0] - best).max(0.0);
    }
    sort_rows_by(points, m, m - 1);
    if m == 2 {
        // Sorted by f2 ascending: sweep keeping the least f1 seen so far.
        let mut volume = 0.0;
        let mut min_f1 = reference[0];
        for i in 0..n {
            let (f1, f2) = (points[i * 2], points[i * 2 + 1]);
            let next_f2 = if i + 1 < n {
                points[(i + 1) * 2 + 1]
            } else {
                reference[1]
            };
            min_f1 = min_f1.min(f1);
            volume += (reference[0] - min_f1).max(0.0) * (next_f2.min(reference[1]) - f2).max(0.0);
        }
        return volume;
    }
    let mut volume = 0.0;
    let mut slice: Vec<f64> = Vec::with_capacity(n * (m - 1));
    for i in 0..n {
        let low = points[i * m + m - 1];
        let high = if i + 1 < n {
            points[(i + 1) * m + m - 1]
        } else {
            reference[m - 1]
        };
        let depth = high.min(reference[m - 1]) - low;
        if depth <= 0.0 {
            continue;
        }
        slice.clear();
        for j in 0..=i {
            slice.extend_from_slice(&points[j * m..j * m + m - 1]);
        }
        volume += depth * hypervolume(&mut slice, m - 1, &reference[..m - 1]);
    }
    volume
}

/// Sorts the rows of `points` by column `col`.
fn sort_rows_by(points: &mut [f64], m: usize, col: usize) {
    let n = points.len() / m;
    let mut rows: Vec<&[f64]> = points.chunks_exact(m).collect();
    rows.sort_by(|a, b| a[col].total_cmp(&b[col]));
    let sorted: Vec<f64> = rows.concat();
    debug_assert_eq!(sorted.len(), n * m);
    points.copy_from_slice(&sorted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypervolume_of_known_sets() {
        // Two points against (4, 4): boxes [1,4]x[3,4] (3) and [2,4]x[1,4] (6) overlap in
        // [2,4]x[3,4] (2), so 7.
        let mut p = vec![1.0, 3.0, 2.0, 1.0];
        assert!((hypervolume(&mut p, 2, &[4.0, 4.0]) - 7.0).abs() < 1e-12);
        // A dominated point adds nothing.
        let mut q = vec![1.0, 3.0, 2.0, 1.0, 3.0, 3.5];
        assert!((hypervolume(&mut q, 2, &[4.0, 4.0]) - 7.0).abs() < 1e-12);
        // Three dimensions: a single box, and two overlapping boxes by inclusion-exclusion.
        let mut one = vec![1.0, 1.0, 1.0];
        assert!((hypervolume(&mut one, 3, &[2.0, 3.0, 4.0]) - 6.0).abs() < 1e-12);
        let mut two = vec![0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
        // Boxes 2x1x1 = 2 and 1x2x2 = 4, overlap 1x1x1 = 1.
        assert!((hypervolume(&mut two, 3, &[2.0, 2.0, 2.0]) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn selection_takes_whole_fronts_then_the_most_hypervolume() {
        let pts = [
            0.0, 4.0, // 0: front 0
            1.0, 1.0, // 1: front 0
            4.0, 0.0, // 2: front 0
            1.1, 1.1, // 3: front 1
            5.0, 5.0, // 4: front 2
            2.0, 2.0, // 5: front 2, behind 3
        ];
        let mut four = select_best(&pts, 2, 4);
        four.sort_unstable();
        assert_eq!(four, [0, 1, 2, 3]);
        // Only one of front 0: the knee point (1, 1) adds by far the most hypervolume.
        assert_eq!(select_best(&pts, 2, 1), [1]);
        let mut all = select_best(&pts, 2, 6);
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn domination_needs_a_strict_improvement() {
        assert!(dominates(&[1.0, 2.0], &[1.0, 3.0]));
        assert!(!dominates(&[1.0, 2.0], &[1.0, 2.0]));
        assert!(!dominates(&[0.0, 3.0], &[1.0, 2.0]));
    }
}
