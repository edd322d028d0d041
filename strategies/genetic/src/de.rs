//! Differential evolution (Storn & Price 1997): DE/rand/1/bin and DE/best/1/bin over the unit
//! cube, with one-to-one survival of each trial against the target it was bred for.

use hyperplug_core::{AskContext, Error, Params, Settings, Space, Strategy, trial_rng};
use rand::Rng;
use serde::Deserialize;

use crate::genome::{Gene, Genome};
use crate::population::{Generations, Individual, Reader, check_constraints};

/// The name study files use.
pub const NAME: &str = "de";

/// Which vector the difference is added to.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum Variant {
    /// A random member other than the target: explores.
    #[serde(rename = "rand/1/bin")]
    Rand1Bin,
    /// The best member: converges faster, explores less.
    #[serde(rename = "best/1/bin")]
    Best1Bin,
}

/// Every key is optional; see the crate documentation.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeSettings {
    pub population: usize,
    pub variant: Variant,
    pub differential_weight: f64,
    pub crossover_rate: f64,
    pub constraints: Vec<String>,
}

impl Default for DeSettings {
    fn default() -> Self {
        DeSettings {
            population: 20,
            variant: Variant::Best1Bin,
            differential_weight: 0.5,
            crossover_rate: 0.9,
            constraints: Vec::new(),
        }
    }
}

impl DeSettings {
    /// Parses and checks `settings`.
    pub fn parse(settings: &Settings) -> Result<Self, Error> {
        let s: DeSettings = settings.parse(NAME)?;
        if !(4..=100_000).contains(&s.population) {
            return Err(Error::settings(
                NAME,
                format!(
                    "`population`: must be between 4 and 100000 (a mutant needs three members \
                     besides its target), got {}",
                    s.population
                ),
            ));
        }
        if !(s.differential_weight.is_finite()
            && s.differential_weight > 0.0
            && s.differential_weight <= 2.0)
        {
            return Err(Error::settings(
                NAME,
                format!(
                    "`differential_weight`: must be in (0, 2], got {}",
                    s.differential_weight
                ),
            ));
        }
        if !(0.0..=1.0).contains(&s.crossover_rate) {
            return Err(Error::settings(
                NAME,
                format!(
                    "`crossover_rate`: must be in [0, 1], got {}",
                    s.crossover_rate
                ),
            ));
        }
        check_constraints(NAME, &s.constraints)?;
        Ok(s)
    }
}

/// One-to-one survival: the first generation becomes the population in finish order; after
/// that each trial replaces the member in its target slot (its number modulo the population)
/// when it is at least as good.
fn survive(parents: Vec<Individual>, generation: Vec<Individual>) -> Vec<Individual> {
    if parents.is_empty() {
        return generation;
    }
    let n = parents.len();
    let mut next = parents;
    for trial in generation {
        let slot = (trial.number % n as u64) as usize;
        if !next[slot].beats(&trial) {
            next[slot] = trial;
        }
    }
    next
}

/// Differential evolution's state: the generations read so far.
pub struct DeStrategy {
    s: DeSettings,
    space: Space,
    genome: Genome,
    gens: Generations,
}

impl DeStrategy {
    /// A strategy for `space` with checked settings.
    pub fn new(space: &Space, s: DeSettings) -> Self {
        DeStrategy {
            gens: Generations::new(s.population),
            genome: Genome::of(space),
            space: space.clone(),
            s,
        }
    }

    /// The trial vector for target slot `target`: mutant, then binomial crossover.
    fn trial_vector<R: Rng>(&self, target: usize, rng: &mut R) -> Vec<f64> {
        let pop = &self.gens.parents;
        let n = pop.len();
        // Three distinct members other than the target.
        let mut picks: Vec<usize> = Vec::with_capacity(3);
        while picks.len() < 3 {
            let r = rng.random_range(0..n);
            if r != target && !picks.contains(&r) {
                picks.push(r);
            }
        }
        let (base, a, b) = match self.s.variant {
            Variant::Rand1Bin => (picks[0], picks[1], picks[2]),
            Variant::Best1Bin => {
                let best = (0..n)
                    .reduce(|x, y| if pop[y].beats(&pop[x]) { y } else { x })
                    .unwrap_or(0);
                (best, picks[0], picks[1])
            }
        };
        let f = self.s.differential_weight;
        let x = &pop[target].genes;
        let forced = rng.random_range(0..self.genome.len().max(1));
        let mut out = x.clone();
        for (j, &gene) in self.genome.genes.iter().enumerate() {
            let (xb, xa, xc) = (pop[base].genes[j], pop[a].genes[j], pop[b].genes[j]);
            let mutant = match gene {
                _ if xb.is_nan() => f64::NAN,
                Gene::Numeric => {
                    let diff = if xa.is_nan() || xc.is_nan() {
                        0.0
                    } else {
                        xa - xc
                    };
                    let v = xb + f * diff;
                    // Out of bounds: halfway between the target and the bound it crossed.
                    let home = if x[j].is_nan() { xb } else { x[j] };
                    if v < 0.0 {
                        home / 2.0
                    } else if v > 1.0 {
                        (home + 1.0) / 2.0
                    } else {
                        v
                    }
                }
                Gene::Categorical(_) => {
                    // No difference of choices: the base's, or with chance `f` (when the two
                    // others disagree) a fresh one.
                    if xa != xc && rng.random::<f64>() < f.min(1.0) {
                        Genome::random_gene(gene, rng)
                    } else {
                        xb
                    }
                }
            };
            if j == forced || rng.random::<f64>() < self.s.crossover_rate {
                out[j] = mutant;
            }
        }
        out
    }
}

impl Strategy for DeStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let reader = Reader {
            space: &self.space,
            genome: &self.genome,
            directions: ctx.directions,
            constraints: &self.s.constraints,
            owner: NAME,
        };
        self.gens
            .update(ctx.trials, &reader, |_, p, g| survive(p, g))?;
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let genes = if self.gens.parents.is_empty() {
            self.genome.random(&mut rng)
        } else {
            let target = (ctx.number % self.gens.parents.len() as u64) as usize;
            self.trial_vector(target, &mut rng)
        };
        Ok(self.genome.decode(&self.space, &genes, &mut rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(number: u64, loss: f64) -> Individual {
        Individual {
            number,
            genes: vec![loss],
            loss: vec![loss],
            violation: 0.0,
        }
    }

    #[test]
    fn each_trial_competes_with_its_target_slot() {
        let first = survive(
            vec![],
            vec![ind(0, 5.0), ind(2, 1.0), ind(1, 3.0), ind(3, 2.0)],
        );
        let numbers: Vec<u64> = first.iter().map(|i| i.number).collect();
        assert_eq!(numbers, [0, 2, 1, 3]);
        // Trial 4 targets slot 0 (5.0, beaten), 5 slot 1 (1.0, not beaten), 7 slot 3 (ties:
        // the newer one replaces it, so a plateau does not stall the search).
        let next = survive(first, vec![ind(4, 4.0), ind(5, 2.0), ind(7, 2.0)]);
        let numbers: Vec<u64> = next.iter().map(|i| i.number).collect();
        assert_eq!(numbers, [4, 2, 1, 7]);
    }
}
