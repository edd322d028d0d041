//! Generations as a deterministic function of the stored history.
//!
//! A study's finished trials are one list in finish order that only grows at its end, and every
//! worker and every resumed run sees the same list. Generations are cut from it: generation 0 is
//! the first `size` *complete* trials in that order (failed and pruned trials are skipped),
//! generation 1 the next `size`, and so on. When a generation is full, the survival rule merges
//! it into the parents. A new trial is bred from the parents of the generations closed so far,
//! with `trial_rng(seed, number)`; before the first generation closes, trials are random.
//!
//! So nothing needs storing beside the trials: a process that joins mid-generation, or resumes a
//! study, replays the same list into the same parents and continues the same generation. Trials
//! that were bred from older parents (parallel workers, asks before a generation closed) simply
//! count towards the generation in which they finish, as in a steady-state algorithm.
//! Optuna's NSGA-II instead stamps each trial with its generation when it is asked (a system
//! attribute); here the finish order plays that part, so no extra state crosses the store or the
//! plugin boundary.

use hyperplug_core::{Direction, Error, Space, Trial, TrialState};

use crate::genome::Genome;

/// One member of a population: a complete trial's genes and results.
#[derive(Clone, Debug, PartialEq)]
pub struct Individual {
    /// The trial's number.
    pub number: u64,
    /// Its parameters as genes ([`Genome::encode`]).
    pub genes: Vec<f64>,
    /// Its values as losses: each objective turned so that lower is better.
    pub loss: Vec<f64>,
    /// The sum of its positive constraint values (0 when feasible, or without constraints).
    pub violation: f64,
}

impl Individual {
    /// Whether `self` is better than `other` on one objective under constraint domination:
    /// feasible beats infeasible, less violation beats more, then the lower loss.
    pub fn beats(&self, other: &Individual) -> bool {
        self.key() < other.key()
    }

    /// The single-objective fitness key: violation, then loss.
    pub fn key(&self) -> (f64, f64) {
        (self.violation, self.loss.first().copied().unwrap_or(0.0))
    }
}

/// Orders individuals best first by [`Individual::key`], ties by trial number.
pub fn sort_by_fitness(pop: &mut [Individual]) {
    pop.sort_by(|a, b| {
        let (ka, kb) = (a.key(), b.key());
        ka.0.total_cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(a.number.cmp(&b.number))
    });
}

/// The generations read so far, and the parents they left.
#[derive(Clone, Debug)]
pub struct Generations {
    /// Complete trials per generation.
    pub size: usize,
    /// Finished trials read.
    consumed: usize,
    /// Complete trials of the generation being filled.
    block: Vec<Individual>,
    /// The parents bred from: what survival made of the closed generations.
    pub parents: Vec<Individual>,
    /// How many generations have closed.
    pub closed: u64,
}

/// Where generations are read from, and how each trial is scored.
pub struct Reader<'a> {
    /// The study's space.
    pub space: &'a Space,
    /// Its genes.
    pub genome: &'a Genome,
    /// One direction per objective.
    pub directions: &'a [Direction],
    /// Names of the user attributes that must be ≤ 0.
    pub constraints: &'a [String],
    /// The strategy's name, for errors.
    pub owner: &'a str,
}

impl Generations {
    /// No generation yet.
    pub fn new(size: usize) -> Self {
        Generations {
            size,
            consumed: 0,
            block: Vec::new(),
            parents: Vec::new(),
            closed: 0,
        }
    }

    /// Reads the finished trials not read yet; each time a generation fills, `survive(closed,
    /// parents, generation)` returns the new parents. An error (a constraint a complete trial
    /// lacks) leaves the trial unread, so the next call reports it again.
    pub fn update(
        &mut self,
        trials: &[Trial],
        reader: &Reader<'_>,
        mut survive: impl FnMut(u64, Vec<Individual>, Vec<Individual>) -> Vec<Individual>,
    ) -> Result<(), Error> {
        while self.consumed < trials.len() {
            let t = &trials[self.consumed];
            if t.state == TrialState::Complete && t.values.len() == reader.directions.len() {
                let violation = violation(t, reader.constraints, reader.owner)?;
                self.block.push(Individual {
                    number: t.number,
                    genes: reader.genome.encode(reader.space, &t.params),
                    loss: t
                        .values
                        .iter()
                        .zip(reader.directions)
                        .map(|(v, d)| d.to_loss(*v))
                        .collect(),
                    violation,
                });
            }
            self.consumed += 1;
            if self.block.len() == self.size {
                let parents = std::mem::take(&mut self.parents);
                let block = std::mem::take(&mut self.block);
                self.parents = survive(self.closed, parents, block);
                self.closed += 1;
            }
        }
        Ok(())
    }
}

/// The total violation of `trial`'s constraints: the sum of the positive values; NaN counts as
/// the worst. A complete trial without one of them is an error naming it.
pub fn violation(trial: &Trial, constraints: &[String], owner: &str) -> Result<f64, Error> {
    let mut total = 0.0;
    for name in constraints {
        let Some(v) = trial.user_attrs.get(name).and_then(|v| v.as_f64()) else {
            let known: Vec<&str> = trial.user_attrs.keys().map(String::as_str).collect();
            return Err(Error::Strategy(format!(
                "{owner}: constraint `{name}` is not a numeric attribute of trial {} (its \
                 attributes: [{}]); the objective must report every name listed in `constraints`",
                trial.number,
                known.join(", ")
            )));
        };
        total += if v.is_nan() {
            f64::INFINITY
        } else {
            v.max(0.0)
        };
    }
    Ok(total)
}

/// Checks a `constraints` list: no empty or repeated name.
pub fn check_constraints(owner: &str, constraints: &[String]) -> Result<(), Error> {
    for (i, name) in constraints.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(Error::settings(
                owner,
                "`constraints`: a constraint name is empty",
            ));
        }
        if constraints[..i].contains(name) {
            return Err(Error::settings(
                owner,
                format!("`constraints`: `{name}` is listed twice"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_core::{Domain, Param, Params, Value};

    fn trial(number: u64, x: f64, state: TrialState) -> Trial {
        let mut p = Params::new();
        p.insert("x".into(), Value::Float(x));
        let mut t = Trial::running(number, p, 0);
        t.state = state;
        if state == TrialState::Complete {
            t.values = vec![x];
        }
        t
    }

    #[test]
    fn generations_are_blocks_of_complete_trials_in_finish_order() {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let genome = Genome::of(&space);
        let reader = Reader {
            space: &space,
            genome: &genome,
            directions: &[Direction::Maximize],
            constraints: &[],
            owner: "test",
        };
        let trials = [
            trial(3, 0.3, TrialState::Complete),
            trial(0, 0.0, TrialState::Failed),
            trial(1, 0.1, TrialState::Complete),
            trial(2, 0.2, TrialState::Pruned),
            trial(5, 0.5, TrialState::Complete),
            trial(4, 0.4, TrialState::Complete),
        ];
        let mut seen: Vec<(u64, Vec<u64>)> = Vec::new();
        let mut g = Generations::new(2);
        // Read in two steps, as a live study would: the result is the same as in one.
        for end in [3, 6] {
            g.update(&trials[..end], &reader, |k, parents, block| {
                seen.push((k, block.iter().map(|i| i.number).collect()));
                let mut all: Vec<Individual> = parents.into_iter().chain(block).collect();
                sort_by_fitness(&mut all);
                all.truncate(2);
                all
            })
            .unwrap();
        }
        assert_eq!(seen, vec![(0, vec![3, 1]), (1, vec![5, 4])]);
        assert_eq!(g.closed, 2);
        // Maximized: loss is -x, so 0.5 and 0.4 survive.
        let numbers: Vec<u64> = g.parents.iter().map(|i| i.number).collect();
        assert_eq!(numbers, vec![5, 4]);
        assert_eq!(g.parents[0].loss, vec![-0.5]);
    }

    #[test]
    fn a_missing_constraint_is_an_error_naming_it() {
        let t = trial(7, 0.5, TrialState::Complete);
        let e = violation(&t, &["c".to_owned()], "ga").unwrap_err();
        assert!(e.to_string().contains("constraint `c`") && e.to_string().contains("trial 7"));
        let mut ok = t.clone();
        ok.user_attrs.insert("c".into(), Value::Float(0.25));
        ok.user_attrs.insert("d".into(), Value::Float(-1.0));
        assert_eq!(
            violation(&ok, &["c".to_owned(), "d".to_owned()], "ga").unwrap(),
            0.25
        );
    }
}
