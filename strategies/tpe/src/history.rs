//! The finished trials as the model sees them, kept incrementally: the finished-trial list only
//! grows at its end, so each trial is encoded once, and the ranking of complete trials is kept
//! sorted by insertion.

use hyperplug_core::{Direction, Error, Trial, TrialState};

use crate::encode::{Coord, Kind};
use crate::mo;

/// How a usable trial ranks: feasible complete trials first, then pruned ones, then infeasible
/// ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Feasible,
    Pruned,
    Infeasible,
}

/// Running sums of one coordinate over every usable trial that has it, for the merged kernel.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub count: f64,
    pub sum: f64,
    pub sum_sq: f64,
    /// Per choice, for categorical coordinates.
    pub choices: Vec<f64>,
}

impl Stats {
    fn add(&mut self, x: f64, kind: &Kind, sign: f64) {
        self.count += sign;
        match kind {
            Kind::Categorical(_) => self.choices[x as usize] += sign,
            _ => {
                self.sum += sign * x;
                self.sum_sq += sign * x * x;
            }
        }
    }
}

/// The usable (complete and pruned) trials, encoded; failed trials are skipped.
#[derive(Clone, Debug)]
pub struct History {
    /// Parameters per row.
    pub p: usize,
    /// Objectives.
    pub m: usize,
    /// How many of the study's finished trials have been read.
    pub seen: usize,
    /// Row-major model coordinates, NaN where a parameter was inactive.
    pub x: Vec<f64>,
    /// Trial numbers.
    pub number: Vec<u64>,
    pub class: Vec<Class>,
    /// Row-major losses (lower is better), `m` per row; only meaningful for complete trials.
    pub loss: Vec<f64>,
    /// For pruned trials: (has a step, last step, loss at it).
    pub prune_key: Vec<(bool, u64, f64)>,
    /// Total constraint violation (0 when feasible).
    pub violation: Vec<f64>,
    /// Feasible complete rows by loss (single objective only), ties in finishing order.
    pub sorted: Vec<u32>,
    /// Every row by trial number.
    pub by_number: Vec<u32>,
    /// Per coordinate, sums over the rows that have it.
    pub stats: Vec<Stats>,
}

impl History {
    pub fn new(coords: &[Coord], m: usize) -> Self {
        History {
            p: coords.len(),
            m,
            seen: 0,
            x: Vec::new(),
            number: Vec::new(),
            class: Vec::new(),
            loss: Vec::new(),
            prune_key: Vec::new(),
            violation: Vec::new(),
            sorted: Vec::new(),
            by_number: Vec::new(),
            stats: coords
                .iter()
                .map(|c| Stats {
                    choices: match c.kind {
                        Kind::Categorical(n) => vec![0.0; n],
                        _ => Vec::new(),
                    },
                    ..Stats::default()
                })
                .collect(),
        }
    }

    /// The number of usable rows.
    pub fn len(&self) -> usize {
        self.number.len()
    }

    /// Row `i`'s coordinates.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }

    /// Reads the trials finished since the last call. `on_row` sees each new row's index.
    pub fn update(
        &mut self,
        trials: &[Trial],
        coords: &[Coord],
        names: &[String],
        directions: &[Direction],
        constraints: &[String],
        mut on_row: impl FnMut(&Self, usize),
    ) -> Result<(), Error> {
        while self.seen < trials.len() {
            let t = &trials[self.seen];
            let (class, violation) = match t.state {
                TrialState::Complete if t.values.len() == self.m => {
                    let v = violation(t, constraints)?;
                    if v > 0.0 {
                        (Class::Infeasible, v)
                    } else {
                        (Class::Feasible, 0.0)
                    }
                }
                TrialState::Pruned => (Class::Pruned, 0.0),
                // Failed (or malformed) trials carry no information about the objective.
                _ => {
                    self.seen += 1;
                    continue;
                }
            };
            let row = self.len();
            for (c, name) in coords.iter().zip(names) {
                let x = t
                    .params
                    .get(name)
                    .and_then(|v| c.encode(v))
                    .unwrap_or(f64::NAN);
                self.x.push(x);
            }
            self.number.push(t.number);
            self.class.push(class);
            match class {
                Class::Pruned => self.loss.extend((0..self.m).map(|_| f64::NAN)),
                _ => self
                    .loss
                    .extend(t.values.iter().zip(directions).map(|(v, d)| d.to_loss(*v))),
            }
            self.prune_key.push(match t.last_intermediate() {
                Some((step, v)) => {
                    let loss = directions[0].to_loss(v);
                    (true, step, if loss.is_nan() { f64::INFINITY } else { loss })
                }
                None => (false, 0, f64::INFINITY),
            });
            self.violation.push(violation);
            if class == Class::Feasible && self.m == 1 {
                let l = self.loss[row];
                let at = self.sorted.partition_point(|&i| self.loss[i as usize] <= l);
                self.sorted.insert(at, row as u32);
            }
            // Finishing order is nearly numbering order: insert from the back.
            let mut at = self.by_number.len();
            while at > 0 && self.number[self.by_number[at - 1] as usize] > t.number {
                at -= 1;
            }
            self.by_number.insert(at, row as u32);
            for (j, c) in coords.iter().enumerate() {
                let x = self.x[row * self.p + j];
                if !x.is_nan() {
                    self.stats[j].add(x, &c.kind, 1.0);
                }
            }
            self.seen += 1;
            on_row(self, row);
        }
        Ok(())
    }

    /// The good set: `n_below` rows, best first by class, then by loss (non-domination rank and
    /// hypervolume contribution for several objectives), depth reached (pruned) or violation
    /// (infeasible).
    pub fn split(&self, n_below: usize, out: &mut Vec<u32>) {
        self.split_among(n_below, |_| true, out);
    }

    /// The good set among the rows that `keep` accepts (those that have a conditional group).
    pub fn split_among(&self, n_below: usize, keep: impl Fn(usize) -> bool, out: &mut Vec<u32>) {
        out.clear();
        if self.m == 1 {
            out.extend(
                self.sorted
                    .iter()
                    .filter(|&&r| keep(r as usize))
                    .take(n_below),
            );
        } else {
            let feasible: Vec<usize> = (0..self.len())
                .filter(|&i| self.class[i] == Class::Feasible && keep(i))
                .collect();
            let mut points = Vec::with_capacity(feasible.len() * self.m);
            for &i in &feasible {
                points.extend_from_slice(&self.loss[i * self.m..(i + 1) * self.m]);
            }
            let take = n_below.min(feasible.len());
            out.extend(
                mo::select_best(&points, self.m, take)
                    .into_iter()
                    .map(|k| feasible[k] as u32),
            );
        }
        if out.len() < n_below {
            let mut pruned: Vec<u32> = (0..self.len() as u32)
                .filter(|&i| self.class[i as usize] == Class::Pruned && keep(i as usize))
                .collect();
            // Deeper first, then better at the last step.
            pruned.sort_by(|&a, &b| {
                let (ka, kb) = (self.prune_key[a as usize], self.prune_key[b as usize]);
                kb.0.cmp(&ka.0)
                    .then(kb.1.cmp(&ka.1))
                    .then(ka.2.total_cmp(&kb.2))
            });
            let need = n_below - out.len();
            out.extend(pruned.into_iter().take(need));
        }
        if out.len() < n_below {
            let mut infeasible: Vec<u32> = (0..self.len() as u32)
                .filter(|&i| self.class[i as usize] == Class::Infeasible && keep(i as usize))
                .collect();
            infeasible.sort_by(|&a, &b| {
                self.violation[a as usize].total_cmp(&self.violation[b as usize])
            });
            let need = n_below - out.len();
            out.extend(infeasible.into_iter().take(need));
        }
    }
}

/// The total violation of `trial`'s constraints: the sum of the positive constraint values.
fn violation(trial: &Trial, constraints: &[String]) -> Result<f64, Error> {
    let mut total = 0.0;
    for name in constraints {
        let value = trial.user_attrs.get(name).and_then(|v| v.as_f64());
        let Some(v) = value else {
            let known: Vec<&str> = trial.user_attrs.keys().map(String::as_str).collect();
            return Err(Error::Strategy(format!(
                "tpe: constraint `{name}` is not a numeric attribute of trial {} (its attributes: \
                 [{}]); the objective must report every name listed in `constraints`",
                trial.number,
                known.join(", ")
            )));
        };
        // NaN counts as the worst violation.
        total += if v.is_nan() {
            f64::INFINITY
        } else {
            v.max(0.0)
        };
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Domain, Param, Params, Space, Value};

    use super::*;

    fn trial(number: u64, x: f64, state: TrialState, values: Vec<f64>) -> Trial {
        let mut params = Params::new();
        params.insert("x".into(), Value::Float(x));
        let mut t = Trial::running(number, params, 0);
        t.state = state;
        t.values = values;
        t
    }

    fn history(trials: &[Trial], constraints: &[String]) -> Result<History, Error> {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).expect("valid");
        let coords: Vec<Coord> = space.params().iter().map(Coord::new).collect();
        let mut h = History::new(&coords, 1);
        h.update(
            trials,
            &coords,
            &["x".to_owned()],
            &[Direction::Minimize],
            constraints,
            |_, _| {},
        )?;
        Ok(h)
    }

    #[test]
    fn the_good_set_is_complete_then_pruned_then_infeasible() {
        let mut trials = vec![
            trial(0, 0.1, TrialState::Complete, vec![5.0]),
            trial(1, 0.2, TrialState::Failed, vec![]),
            trial(2, 0.3, TrialState::Pruned, vec![]),
            trial(3, 0.4, TrialState::Complete, vec![3.0]),
            trial(4, 0.5, TrialState::Pruned, vec![]),
            trial(5, 0.6, TrialState::Complete, vec![-1.0]),
            trial(6, 0.7, TrialState::Complete, vec![-9.0]),
        ];
        // Trial 4 got deeper than trial 2 before it was pruned; trial 6 breaks its constraint.
        trials[2].intermediate = vec![(0, 1.0)];
        trials[4].intermediate = vec![(0, 9.0), (1, 8.0)];
        for (t, c) in trials.iter_mut().zip([-1.0, 0.0, 0.0, 0.0, 0.0, -0.5, 2.0]) {
            t.user_attrs.insert("c".into(), Value::Float(c));
        }
        let h = history(&trials, &["c".to_owned()]).expect("every trial reports c");
        assert_eq!(h.len(), 6, "the failed trial is left out");
        let mut good = Vec::new();
        h.split(7, &mut good);
        let numbers: Vec<u64> = good.iter().map(|&r| h.number[r as usize]).collect();
        assert_eq!(numbers, [5, 3, 0, 4, 2, 6]);
        h.split(2, &mut good);
        assert_eq!(good.len(), 2);
        assert_eq!(h.violation[h.len() - 1], 2.0);
    }

    #[test]
    fn a_missing_constraint_is_an_error_naming_it() {
        let mut t = trial(0, 0.5, TrialState::Complete, vec![1.0]);
        t.user_attrs.insert("latency".into(), Value::Float(1.0));
        let e = history(&[t], &["memory".to_owned()]).expect_err("memory is not reported");
        let text = e.to_string();
        assert!(
            text.contains("`memory`") && text.contains("latency"),
            "{text}"
        );
    }

    #[test]
    fn rows_are_kept_in_number_order_whatever_the_finishing_order() {
        let trials: Vec<Trial> = [3, 1, 2, 0, 5, 4]
            .into_iter()
            .map(|n| trial(n, 0.1 * n as f64, TrialState::Complete, vec![n as f64]))
            .collect();
        let h = history(&trials, &[]).expect("no constraints");
        let numbers: Vec<u64> = h.by_number.iter().map(|&r| h.number[r as usize]).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5]);
        let sorted: Vec<u64> = h.sorted.iter().map(|&r| h.number[r as usize]).collect();
        assert_eq!(sorted, [0, 1, 2, 3, 4, 5]);
        assert!((h.stats[0].sum - 1.5).abs() < 1e-12 && h.stats[0].count == 6.0);
    }
}
