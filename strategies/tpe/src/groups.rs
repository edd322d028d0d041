//! Decomposition of a conditional space into groups of parameters that always appear together
//! (Optuna's `group=True`): each group is modelled jointly, from the trials that have it.

/// A partition of the parameters seen so far into groups such that every usable trial has
/// either all or none of each group. Refined incrementally with each new trial.
#[derive(Clone, Debug, Default)]
pub struct Groups {
    groups: Vec<Vec<usize>>,
    /// The parameters that every usable trial had (for `group = false`), or `None` before the
    /// first trial.
    common: Option<Vec<usize>>,
}

impl Groups {
    /// Refines the partition with the set of parameters one trial had.
    pub fn add(&mut self, active: &[usize]) {
        let mut next = Vec::with_capacity(self.groups.len() + 2);
        let mut fresh: Vec<usize> = active.to_vec();
        for g in self.groups.drain(..) {
            let (inside, outside): (Vec<usize>, Vec<usize>) =
                g.iter().partition(|p| active.contains(p));
            fresh.retain(|p| !inside.contains(p));
            for part in [inside, outside] {
                if !part.is_empty() {
                    next.push(part);
                }
            }
        }
        if !fresh.is_empty() {
            next.push(fresh);
        }
        // Keep groups in the order of their first parameter, so that the order of sampling
        // does not depend on the order trials were seen in.
        next.sort_by_key(|g| g.iter().copied().min().unwrap_or(usize::MAX));
        self.groups = next;
        self.common = Some(match self.common.take() {
            None => active.to_vec(),
            Some(c) => c.into_iter().filter(|p| active.contains(p)).collect(),
        });
    }

    /// The groups, each in parameter order.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// The parameters every trial had.
    pub fn common(&self) -> &[usize] {
        self.common.as_deref().unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_that_never_co_occur_end_in_different_groups() {
        let mut g = Groups::default();
        // A tree: 0 = booster, 1 = depth (tree/dart), 2 = drop_rate (dart), 3 = lr always.
        g.add(&[0, 3]);
        assert_eq!(g.groups(), [vec![0, 3]]);
        g.add(&[0, 1, 3]);
        assert_eq!(g.groups(), [vec![0, 3], vec![1]]);
        g.add(&[0, 1, 2, 3]);
        assert_eq!(g.groups(), [vec![0, 3], vec![1], vec![2]]);
        assert_eq!(g.common(), [0, 3]);
        // Two children that always appear together stay one group.
        let mut h = Groups::default();
        h.add(&[0, 1, 2]);
        h.add(&[0]);
        h.add(&[0, 1, 2]);
        assert_eq!(h.groups(), [vec![0], vec![1, 2]]);
    }
}
