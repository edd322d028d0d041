//! Parameters as genes: one coordinate of the unit cube per parameter of the space, through
//! [`Domain::to_unit`] and [`Domain::from_unit`], so log scales, steps and ints are handled once.
//! A categorical gene holds its choice's index. A parameter a trial did not have (inactive under
//! its condition) is `NaN`; if a child needs it, it is drawn at random.

use std::collections::HashMap;

use hyperplug_core::{Domain, Params, Space};
use rand::Rng;

/// What kind of gene a parameter is: operators treat numbers and choices differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gene {
    /// A number in `[0, 1]` (floats and ints, on any scale, with or without a step).
    Numeric,
    /// One of `n` unordered choices, held as the index.
    Categorical(usize),
}

/// The genes of a space, in the space's parameter order.
#[derive(Clone, Debug, PartialEq)]
pub struct Genome {
    /// One per parameter.
    pub genes: Vec<Gene>,
    /// Each parameter's gene, by name (decoding visits only the active parameters).
    index: HashMap<String, usize>,
}

impl Genome {
    /// The genes of `space`.
    pub fn of(space: &Space) -> Self {
        Genome {
            index: space
                .params()
                .iter()
                .enumerate()
                .map(|(j, p)| (p.name.clone(), j))
                .collect(),
            genes: space
                .params()
                .iter()
                .map(|p| match &p.domain {
                    Domain::Categorical { choices } => Gene::Categorical(choices.len()),
                    _ => Gene::Numeric,
                })
                .collect(),
        }
    }

    /// The number of genes.
    pub fn len(&self) -> usize {
        self.genes.len()
    }

    /// Whether the space has no parameter.
    pub fn is_empty(&self) -> bool {
        self.genes.is_empty()
    }

    /// A trial's parameters as genes; `NaN` where a parameter is absent or its value is not of
    /// the domain (a space that grew keeps every old value of it).
    pub fn encode(&self, space: &Space, params: &Params) -> Vec<f64> {
        space
            .params()
            .iter()
            .zip(&self.genes)
            .map(|(p, g)| {
                let Some(v) = params.get(&p.name) else {
                    return f64::NAN;
                };
                match (g, &p.domain) {
                    (Gene::Categorical(_), Domain::Categorical { choices }) => choices
                        .iter()
                        .position(|c| c == v)
                        .map_or(f64::NAN, |i| i as f64),
                    _ => p.domain.to_unit(v).unwrap_or(f64::NAN),
                }
            })
            .collect()
    }

    /// A uniformly random gene of kind `gene`.
    pub fn random_gene<R: Rng>(gene: Gene, rng: &mut R) -> f64 {
        match gene {
            Gene::Numeric => rng.random::<f64>(),
            Gene::Categorical(n) => rng.random_range(0..n.max(1)) as f64,
        }
    }

    /// A uniformly random individual: every gene drawn.
    pub fn random<R: Rng>(&self, rng: &mut R) -> Vec<f64> {
        self.genes
            .iter()
            .map(|&g| Self::random_gene(g, rng))
            .collect()
    }

    /// The parameters of `genes`: active parameters only, parents first; an active parameter
    /// whose gene is `NaN` (no parent had it) gets a random value from `rng`.
    pub fn decode<R: Rng>(&self, space: &Space, genes: &[f64], rng: &mut R) -> Params {
        space.assign(|p| {
            let j = self.index.get(&p.name).copied().unwrap_or(0);
            let mut x = genes[j];
            if x.is_nan() {
                x = Self::random_gene(self.genes[j], rng);
            }
            match (&self.genes[j], &p.domain) {
                (Gene::Categorical(n), Domain::Categorical { choices }) => {
                    let i = (x.max(0.0) as usize).min(n.saturating_sub(1));
                    choices[i].clone()
                }
                _ => p.domain.from_unit(x),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_core::{Param, Value};
    use rand::SeedableRng;

    #[test]
    fn encode_and_decode_round_trip_over_a_conditional_mixed_space() {
        let space = Space::new(vec![
            Param::new("kind", Domain::choice(["a", "b"])),
            Param::new("lr", Domain::float(1e-4, 1e-1).log()),
            Param::new("n", Domain::int(1, 8)),
            Param::new("only_b", Domain::float(0.0, 1.0).step(0.25)).when("kind", ["b"]),
        ])
        .unwrap();
        let g = Genome::of(&space);
        assert_eq!(
            g.genes,
            [
                Gene::Categorical(2),
                Gene::Numeric,
                Gene::Numeric,
                Gene::Numeric
            ]
        );
        let mut params = Params::new();
        params.insert("kind".into(), Value::from("a"));
        params.insert("lr".into(), Value::Float(1e-2));
        params.insert("n".into(), Value::Int(3));
        let genes = g.encode(&space, &params);
        assert_eq!(genes[0], 0.0);
        assert!((genes[1] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(genes[2], 2.5 / 8.0);
        assert!(genes[3].is_nan());
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let back = g.decode(&space, &genes, &mut rng);
        assert_eq!(back.len(), 3);
        assert_eq!(back["kind"], Value::from("a"));
        assert!((back["lr"].as_f64().unwrap() - 1e-2).abs() < 1e-12);
        assert_eq!(back["n"], Value::Int(3));
        // Switching the parent on makes the child appear, drawn at random on its grid.
        let mut on = genes.clone();
        on[0] = 1.0;
        let b = g.decode(&space, &on, &mut rng);
        assert!(space.validate(&b).is_ok(), "{b:?}");
        assert!(b.contains_key("only_b"));
    }
}
