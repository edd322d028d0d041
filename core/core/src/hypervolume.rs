//! Hypervolume: the measure of the region a set of points dominates, bounded by a reference
//! point. Every objective is minimized here; callers negate maximized ones (see
//! [`Direction::to_loss`](crate::Direction::to_loss)).
//!
//! Exact by sweeping in one to three objectives (`O(n log n)` in two, `O(n · front)` in three:
//! the points in ascending last objective, each slab's area from the two-dimensional front so
//! far), and a seeded Monte Carlo estimate in more, where exact algorithms grow exponentially.

use rand::Rng;

/// The hypervolume that `points` dominate up to `reference`, exactly, for one to three
/// objectives (all minimized). Points that do not strictly dominate the reference in every
/// objective add nothing and are ignored, as are non-finite ones; duplicates and dominated
/// points are allowed. Returns `None` for more than three objectives (use
/// [`hypervolume_monte_carlo`]) or when a point's length differs from the reference's.
pub fn hypervolume(points: &[&[f64]], reference: &[f64]) -> Option<f64> {
    let m = reference.len();
    if points.iter().any(|p| p.len() != m) {
        return None;
    }
    let inside: Vec<&[f64]> = points
        .iter()
        .copied()
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x.is_finite() && x < r))
        .collect();
    match m {
        0 => Some(0.0),
        1 => Some(
            inside
                .iter()
                .map(|p| reference[0] - p[0])
                .fold(0.0, f64::max),
        ),
        2 => {
            let mut xy: Vec<(f64, f64)> = inside.iter().map(|p| (p[0], p[1])).collect();
            Some(area_2d(&mut xy, reference[0], reference[1]))
        }
        3 => Some(volume_3d(&inside, reference)),
        _ => None,
    }
}

/// The area dominated by `xy` (all inside the reference box) up to `(rx, ry)`: sorted by `x`,
/// each point that lowers the best `y` so far adds the strip from its `x` to the reference.
fn area_2d(xy: &mut [(f64, f64)], rx: f64, ry: f64) -> f64 {
    xy.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut area = 0.0;
    let mut best_y = ry;
    for &(x, y) in xy.iter() {
        if y < best_y {
            area += (rx - x) * (best_y - y);
            best_y = y;
        }
    }
    area
}

/// Three objectives: in ascending `z`, the slab from each point's `z` to the next one's is the
/// area of the two-dimensional front of the points so far times its height. The front is kept
/// sorted by `x` with `y` strictly falling, so an insertion removes what it dominates in place.
fn volume_3d(points: &[&[f64]], reference: &[f64]) -> f64 {
    let mut order: Vec<&[f64]> = points.to_vec();
    order.sort_by(|a, b| a[2].total_cmp(&b[2]));
    let mut front: Vec<(f64, f64)> = Vec::new();
    let mut area = 0.0;
    let mut volume = 0.0;
    for (k, p) in order.iter().enumerate() {
        let (x, y) = (p[0], p[1]);
        // The first front point with x' > x; the one before it (if any) has the least y of
        // those with x' <= x, so it alone can dominate (x, y).
        let at = front.partition_point(|q| q.0 <= x);
        if at == 0 || front[at - 1].1 > y {
            let end = at + front[at..].iter().take_while(|q| q.1 >= y).count();
            front.splice(at..end, [(x, y)]);
            area = front_area(&front, reference[0], reference[1]);
        }
        let next_z = order.get(k + 1).map_or(reference[2], |q| q[2]);
        volume += area * (next_z - p[2]);
    }
    volume
}

/// The area of a front sorted by `x` with `y` strictly falling.
fn front_area(front: &[(f64, f64)], rx: f64, ry: f64) -> f64 {
    let mut area = 0.0;
    let mut upper = ry;
    for &(x, y) in front {
        area += (rx - x) * (upper - y);
        upper = y;
    }
    area
}

/// An unbiased Monte Carlo estimate of the hypervolume `points` dominate up to `reference`, for
/// any number of objectives: the share of `samples` uniform draws in the box from the points'
/// least values to the reference that some point dominates, times the box's volume. Its
/// standard error is `volume · √(p (1 - p) / samples)`. Points are treated as in
/// [`hypervolume`]; `None` when a point's length differs from the reference's.
pub fn hypervolume_monte_carlo<R: Rng>(
    points: &[&[f64]],
    reference: &[f64],
    samples: usize,
    rng: &mut R,
) -> Option<f64> {
    let m = reference.len();
    if points.iter().any(|p| p.len() != m) {
        return None;
    }
    let inside: Vec<&[f64]> = points
        .iter()
        .copied()
        .filter(|p| p.iter().zip(reference).all(|(x, r)| x.is_finite() && x < r))
        .collect();
    if inside.is_empty() || samples == 0 || m == 0 {
        return Some(0.0);
    }
    let low: Vec<f64> = (0..m)
        .map(|j| inside.iter().map(|p| p[j]).fold(f64::INFINITY, f64::min))
        .collect();
    let volume: f64 = low.iter().zip(reference).map(|(l, r)| r - l).product();
    let mut z = vec![0.0; m];
    let mut hits = 0usize;
    for _ in 0..samples {
        for j in 0..m {
            z[j] = low[j] + rng.random::<f64>() * (reference[j] - low[j]);
        }
        if inside.iter().any(|p| p.iter().zip(&z).all(|(a, b)| a <= b)) {
            hits += 1;
        }
    }
    Some(volume * hits as f64 / samples as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The hypervolume by inclusion–exclusion over every subset: the union of the boxes each
    /// point dominates, exact for any dimension and small sets.
    fn brute(points: &[&[f64]], reference: &[f64]) -> f64 {
        let inside: Vec<&[f64]> = points
            .iter()
            .copied()
            .filter(|p| p.iter().zip(reference).all(|(x, r)| x < r))
            .collect();
        let n = inside.len();
        let mut total = 0.0;
        for mask in 1u32..(1 << n) {
            let corner: Vec<f64> = (0..reference.len())
                .map(|j| {
                    (0..n)
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| inside[i][j])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect();
            let vol: f64 = corner.iter().zip(reference).map(|(c, r)| r - c).product();
            total += if mask.count_ones() % 2 == 1 {
                vol
            } else {
                -vol
            };
        }
        total
    }

    #[test]
    fn hand_computed_values() {
        // Two dimensions: (1,3), (2,2), (3,1) against (4,4): staircase 3 + 2 + 1 = 6... as
        // strips: (4-1)(4-3) + (4-2)(3-2) + (4-3)(2-1) = 3 + 2 + 1.
        let pts: Vec<&[f64]> = vec![&[1.0, 3.0], &[2.0, 2.0], &[3.0, 1.0]];
        assert_eq!(hypervolume(&pts, &[4.0, 4.0]), Some(6.0));
        // A dominated point, a duplicate and a point outside the box change nothing.
        let more: Vec<&[f64]> = vec![
            &[1.0, 3.0],
            &[2.0, 2.0],
            &[3.0, 1.0],
            &[3.0, 3.0],
            &[2.0, 2.0],
            &[0.5, 4.0],
            &[5.0, 0.0],
        ];
        assert_eq!(hypervolume(&more, &[4.0, 4.0]), Some(6.0));
        // Three dimensions: the unit cube's corner (0,0,0) against (2,2,2) is 8; two points
        // (0,0,1) and (1,1,0) against (2,2,2): 2·2·1 + 1·1·2 - 1·1·1 = 5.
        let one: Vec<&[f64]> = vec![&[0.0, 0.0, 0.0]];
        assert_eq!(hypervolume(&one, &[2.0, 2.0, 2.0]), Some(8.0));
        let two: Vec<&[f64]> = vec![&[0.0, 0.0, 1.0], &[1.0, 1.0, 0.0]];
        assert_eq!(hypervolume(&two, &[2.0, 2.0, 2.0]), Some(5.0));
        // One dimension: the best point's distance to the reference.
        let line: Vec<&[f64]> = vec![&[3.0], &[1.0], &[5.0]];
        assert_eq!(hypervolume(&line, &[4.0]), Some(3.0));
        assert_eq!(hypervolume(&[], &[1.0, 1.0]), Some(0.0));
        let four: Vec<&[f64]> = vec![&[0.0; 4]];
        assert_eq!(hypervolume(&four, &[1.0; 4]), None);
        let ragged: Vec<&[f64]> = vec![&[0.0, 0.0, 0.0]];
        assert_eq!(hypervolume(&ragged, &[1.0, 1.0]), None);
    }

    #[test]
    fn sweeps_agree_with_inclusion_exclusion() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for m in 2..=3 {
            for round in 0..40 {
                let n = 1 + round % 12;
                // Coarse values so that ties in every coordinate occur.
                let rows: Vec<Vec<f64>> = (0..n)
                    .map(|_| {
                        (0..m)
                            .map(|_| f64::from(rng.random_range(0..6u8)))
                            .collect()
                    })
                    .collect();
                let pts: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
                let reference = vec![5.0; m];
                let exact = hypervolume(&pts, &reference).unwrap();
                let by_subsets = brute(&pts, &reference);
                assert!(
                    (exact - by_subsets).abs() < 1e-9,
                    "{m}-D, {rows:?}: {exact} vs {by_subsets}"
                );
            }
        }
    }

    #[test]
    fn monte_carlo_is_close_to_exact() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let pts: Vec<&[f64]> = vec![&[0.0, 0.0, 1.0], &[1.0, 1.0, 0.0], &[0.5, 1.5, 0.5]];
        let exact = hypervolume(&pts, &[2.0, 2.0, 2.0]).unwrap();
        let estimate = hypervolume_monte_carlo(&pts, &[2.0, 2.0, 2.0], 200_000, &mut rng).unwrap();
        assert_eq!(exact, 5.125);
        assert!((estimate - exact).abs() < 0.03, "{estimate} vs {exact}");
        // Four objectives against inclusion–exclusion, with a fixed seed: the exact number.
        let rows: Vec<[f64; 4]> = vec![
            [0.0, 1.0, 1.0, 1.0],
            [1.0, 0.0, 1.0, 1.0],
            [1.0, 1.0, 0.0, 1.0],
            [1.0, 1.0, 1.0, 0.0],
        ];
        let four: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let truth = brute(&four, &[2.0; 4]);
        assert_eq!(truth, 4.0 * 2.0 - 6.0 + 4.0 - 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let estimate = hypervolume_monte_carlo(&four, &[2.0; 4], 100_000, &mut rng).unwrap();
        assert!((estimate - truth).abs() < 0.1, "{estimate} vs {truth}");
    }
}
