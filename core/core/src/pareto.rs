use crate::study::Direction;

/// Whether `a` Pareto-dominates `b`: no worse in every objective and better in at least one.
pub fn dominates(a: &[f64], b: &[f64], directions: &[Direction]) -> bool {
    let mut strictly = false;
    for ((x, y), d) in a.iter().zip(b).zip(directions) {
        let (x, y) = match d {
            Direction::Minimize => (*x, *y),
            Direction::Maximize => (-*x, -*y),
        };
        if x > y {
            return false;
        }
        if x < y {
            strictly = true;
        }
    }
    strictly
}

/// The indices of the points that no other point dominates, in input order. Duplicates of a
/// non-dominated point are all kept. Values must be finite (complete trials' are).
///
/// In lexicographic order (each value as its direction prefers it, best first) a point's
/// dominators all come before it, and if a dominated one does, so does what dominates that one:
/// so each point is checked against the front found so far only, `O(n log n + n · front)`
/// rather than `O(n²)`.
pub fn pareto_front(points: &[&[f64]], directions: &[Direction]) -> Vec<usize> {
    let key = |p: &[f64], j: usize| match directions[j] {
        Direction::Minimize => p[j],
        Direction::Maximize => -p[j],
    };
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        (0..directions.len())
            .map(|j| key(points[a], j).total_cmp(&key(points[b], j)))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut front: Vec<usize> = Vec::new();
    for i in order {
        if !front
            .iter()
            .any(|&f| dominates(points[f], points[i], directions))
        {
            front.push(i);
        }
    }
    front.sort_unstable();
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_of_a_small_set() {
        let d = [Direction::Minimize, Direction::Maximize];
        let pts: Vec<&[f64]> = vec![
            &[1.0, 1.0],
            &[2.0, 3.0],
            &[2.0, 2.0],
            &[0.5, 0.0],
            &[3.0, 3.0],
        ];
        assert_eq!(pareto_front(&pts, &d), vec![0, 1, 3]);
        assert!(dominates(&[2.0, 3.0], &[2.0, 2.0], &d));
        assert!(!dominates(&[2.0, 3.0], &[2.0, 3.0], &d));
    }

    #[test]
    fn the_sorted_scan_keeps_exactly_the_points_no_other_dominates() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for m in 2..=4 {
            let d: Vec<Direction> = (0..m)
                .map(|j| {
                    if j % 2 == 0 {
                        Direction::Minimize
                    } else {
                        Direction::Maximize
                    }
                })
                .collect();
            // Coarse values near a trade-off (the last objective falls as the others rise), so
            // that fronts are large and ties and duplicates occur on and off them.
            let rows: Vec<Vec<f64>> = (0..300)
                .map(|_| {
                    let mut u: Vec<i32> = (1..m).map(|_| rng.random_range(0..8)).collect();
                    u.push(8 * (m - 1) - u.iter().sum::<i32>() + rng.random_range(0..3));
                    u.iter()
                        .zip(&d)
                        .map(|(&x, dir)| match dir {
                            Direction::Minimize => f64::from(x),
                            Direction::Maximize => -f64::from(x),
                        })
                        .collect()
                })
                .collect();
            let pts: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
            let brute: Vec<usize> = (0..pts.len())
                .filter(|&i| !pts.iter().any(|q| dominates(q, pts[i], &d)))
                .collect();
            assert!(
                brute.len() > 1,
                "{m} objectives: a front of one tests little"
            );
            assert_eq!(pareto_front(&pts, &d), brute, "{m} objectives");
        }
    }
}
