//! The genetic algorithm for one objective: tournament selection, SBX or uniform crossover,
//! polynomial mutation, and elitist survival.

use hyperplug_core::{AskContext, Error, Params, Settings, Space, Strategy, trial_rng};
use serde::Deserialize;

use crate::genome::Genome;
use crate::operators::{Crossover, Variation, tournament};
use crate::population::{Generations, Individual, Reader, check_constraints, sort_by_fitness};

/// The name study files use.
pub const NAME: &str = "ga";

/// Every key is optional; see the crate documentation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GaSettings {
    pub population: usize,
    pub crossover: Crossover,
    pub crossover_prob: f64,
    pub eta_crossover: f64,
    pub swap_prob: f64,
    pub mutation_prob: Option<f64>,
    pub eta_mutation: f64,
    pub tournament: usize,
    pub elites: Option<usize>,
    pub constraints: Vec<String>,
}

impl Default for GaSettings {
    fn default() -> Self {
        GaSettings {
            population: 10,
            crossover: Crossover::Sbx,
            crossover_prob: 0.9,
            eta_crossover: 15.0,
            swap_prob: 0.5,
            mutation_prob: None,
            eta_mutation: 5.0,
            tournament: 2,
            elites: None,
            constraints: Vec::new(),
        }
    }
}

/// Checks the variation keys shared with NSGA-II/III; errors name the key.
pub fn check_variation(
    owner: &str,
    crossover_prob: f64,
    eta_crossover: f64,
    swap_prob: f64,
    mutation_prob: Option<f64>,
    eta_mutation: f64,
) -> Result<(), Error> {
    let prob = |key: &str, p: f64| {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(Error::settings(
                owner,
                format!("`{key}`: must be in [0, 1], got {p}"),
            ))
        }
    };
    prob("crossover_prob", crossover_prob)?;
    prob("swap_prob", swap_prob)?;
    if let Some(p) = mutation_prob {
        prob("mutation_prob", p)?;
    }
    for (key, eta) in [
        ("eta_crossover", eta_crossover),
        ("eta_mutation", eta_mutation),
    ] {
        if !(eta.is_finite() && eta >= 0.0) {
            return Err(Error::settings(
                owner,
                format!("`{key}`: must be a finite number >= 0, got {eta}"),
            ));
        }
    }
    Ok(())
}

impl GaSettings {
    /// Parses and checks `settings`.
    pub fn parse(settings: &Settings) -> Result<Self, Error> {
        let s: GaSettings = settings.parse(NAME)?;
        if !(2..=100_000).contains(&s.population) {
            return Err(Error::settings(
                NAME,
                format!(
                    "`population`: must be between 2 and 100000, got {}",
                    s.population
                ),
            ));
        }
        if s.tournament == 0 {
            return Err(Error::settings(
                NAME,
                "`tournament`: must be at least 1, got 0",
            ));
        }
        if let Some(e) = s.elites.filter(|&e| e > s.population) {
            return Err(Error::settings(
                NAME,
                format!("`elites`: at most `population` ({}), got {e}", s.population),
            ));
        }
        check_variation(
            NAME,
            s.crossover_prob,
            s.eta_crossover,
            s.swap_prob,
            s.mutation_prob,
            s.eta_mutation,
        )?;
        check_constraints(NAME, &s.constraints)?;
        Ok(s)
    }

    fn variation(&self) -> Variation {
        Variation {
            crossover: self.crossover,
            crossover_prob: self.crossover_prob,
            eta_crossover: self.eta_crossover,
            swap_prob: self.swap_prob,
            mutation_prob: self.mutation_prob,
            eta_mutation: self.eta_mutation,
        }
    }
}

/// Elitist survival: the best `elites` of parents and generation together, then the best of the
/// rest of the generation, sorted best first. `elites = population` is (μ + λ) truncation.
pub fn survive(
    parents: Vec<Individual>,
    generation: Vec<Individual>,
    size: usize,
    elites: usize,
) -> Vec<Individual> {
    let mut all: Vec<(bool, Individual)> = parents
        .into_iter()
        .map(|i| (false, i))
        .chain(generation.into_iter().map(|i| (true, i)))
        .collect();
    let mut pool: Vec<Individual> = all.iter().map(|(_, i)| i.clone()).collect();
    sort_by_fitness(&mut pool);
    let mut next: Vec<Individual> = pool.into_iter().take(elites.min(size)).collect();
    // Then the generation's best not already kept (the old parents have had their chance).
    all.retain(|(new, i)| *new && !next.iter().any(|k| k.number == i.number));
    let mut rest: Vec<Individual> = all.into_iter().map(|(_, i)| i).collect();
    sort_by_fitness(&mut rest);
    next.extend(rest.into_iter().take(size.saturating_sub(next.len())));
    sort_by_fitness(&mut next);
    next
}

/// The genetic algorithm's state: the generations read so far.
pub struct GaStrategy {
    s: GaSettings,
    space: Space,
    genome: Genome,
    gens: Generations,
}

impl GaStrategy {
    /// A strategy for `space` with checked settings.
    pub fn new(space: &Space, s: GaSettings) -> Self {
        GaStrategy {
            gens: Generations::new(s.population),
            genome: Genome::of(space),
            space: space.clone(),
            s,
        }
    }
}

impl Strategy for GaStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let (size, elites) = (
            self.s.population,
            self.s.elites.unwrap_or(self.s.population),
        );
        let reader = Reader {
            space: &self.space,
            genome: &self.genome,
            directions: ctx.directions,
            constraints: &self.s.constraints,
            owner: NAME,
        };
        self.gens
            .update(ctx.trials, &reader, |_, parents, generation| {
                survive(parents, generation, size, elites)
            })?;
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let parents = &self.gens.parents;
        let genes = if parents.is_empty() {
            self.genome.random(&mut rng)
        } else {
            // Parents are sorted best first: the lower index wins a tournament.
            let a = tournament(parents.len(), self.s.tournament, |x, y| x < y, &mut rng);
            let b = tournament(parents.len(), self.s.tournament, |x, y| x < y, &mut rng);
            self.s
                .variation()
                .child(&self.genome, &parents[a].genes, &parents[b].genes, &mut rng)
        };
        Ok(self.genome.decode(&self.space, &genes, &mut rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(number: u64, loss: f64, violation: f64) -> Individual {
        Individual {
            number,
            genes: vec![],
            loss: vec![loss],
            violation,
        }
    }

    #[test]
    fn survival_keeps_the_elites_then_the_best_new() {
        let parents = vec![ind(0, 1.0, 0.0), ind(1, 2.0, 0.0), ind(2, 3.0, 0.0)];
        let generation = vec![ind(3, 2.5, 0.0), ind(4, 0.5, 1.0), ind(5, 9.0, 0.0)];
        let numbers = |v: Vec<Individual>| v.iter().map(|i| i.number).collect::<Vec<_>>();
        // (μ + λ): the best three of all six; the infeasible one is last of all.
        assert_eq!(
            numbers(survive(parents.clone(), generation.clone(), 3, 3)),
            [0, 1, 3]
        );
        // One elite, then the generation's best two (trial 5 beats the infeasible trial 4).
        assert_eq!(
            numbers(survive(parents.clone(), generation.clone(), 3, 1)),
            [0, 3, 5]
        );
        // No elite: the generation replaces the parents.
        assert_eq!(numbers(survive(parents, generation, 3, 0)), [3, 5, 4]);
    }
}
