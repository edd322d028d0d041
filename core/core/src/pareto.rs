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
/// non-dominated point are all kept.
pub fn pareto_front(points: &[&[f64]], directions: &[Direction]) -> Vec<usize> {
    (0..points.len())
        .filter(|&i| !points.iter().any(|q| dominates(q, points[i], directions)))
        .collect()
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
}
