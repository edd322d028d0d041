//! Trials as numbers both evaluators share: each parameter one feature, with the measure over
//! its values that "the whole space" means for it.

use hyperplug_core::{Domain, Params, Space};

use crate::ImportanceError;

/// What values a feature takes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// A number in the domain's unit coordinates, `[0, 1]`; [`INACTIVE`] when inactive.
    Numeric {
        /// How many distinct values the domain has, when few (ints, stepped floats).
        cells: Option<u64>,
    },
    /// A choice's index in `0..choices`; `choices` itself when inactive.
    Categorical {
        /// How many choices the domain has.
        choices: usize,
    },
}

/// Where an inactive numeric parameter sits: apart from every active value, so one split
/// separates the two.
pub(crate) const INACTIVE: f64 = -1.0;

/// One parameter as a feature.
#[derive(Clone, Debug)]
pub(crate) struct Feature {
    pub name: String,
    pub kind: Kind,
    /// The share of the trials in which the parameter was inactive: the weight of "inactive"
    /// in the feature's measure (0 for an unconditional parameter).
    pub inactive: f64,
}

impl Feature {
    /// The categories of a categorical feature, "inactive" included when it occurs.
    pub fn categories(&self) -> usize {
        match self.kind {
            Kind::Categorical { choices } => choices + usize::from(self.inactive > 0.0),
            Kind::Numeric { .. } => 0,
        }
    }

    /// The weight of category `c` in the measure: active choices share `1 - inactive` evenly.
    pub fn category_mass(&self, c: usize) -> f64 {
        match self.kind {
            Kind::Categorical { choices } if c < choices => (1.0 - self.inactive) / choices as f64,
            Kind::Categorical { .. } => self.inactive,
            Kind::Numeric { .. } => 0.0,
        }
    }

    /// The measure of the numeric interval `(lo, hi]`: the inactive point's weight if inside,
    /// plus the active part's length in `[0, 1]`, weighted by `1 - inactive`.
    pub fn interval_mass(&self, lo: f64, hi: f64) -> f64 {
        let point = if lo < INACTIVE && INACTIVE <= hi {
            self.inactive
        } else {
            0.0
        };
        point + (1.0 - self.inactive) * (hi.min(1.0) - lo.max(0.0)).max(0.0)
    }
}

/// Trials encoded: `x[i][f]` is trial `i`'s feature `f`; `y[i]` its value.
pub(crate) struct Encoded {
    pub features: Vec<Feature>,
    pub x: Vec<Vec<f64>>,
    pub y: Vec<f64>,
}

/// Encodes the samples with a finite value; at least `needed` of them are required.
pub(crate) fn encode(
    space: &Space,
    samples: &[(&Params, f64)],
    needed: usize,
) -> Result<Encoded, ImportanceError> {
    if space.is_empty() {
        return Err(ImportanceError::NoParameters);
    }
    let kept: Vec<&(&Params, f64)> = samples.iter().filter(|(_, v)| v.is_finite()).collect();
    if kept.len() < needed {
        return Err(ImportanceError::TooFewTrials {
            needed,
            found: kept.len(),
        });
    }
    let mut features: Vec<Feature> = space
        .params()
        .iter()
        .map(|p| Feature {
            name: p.name.clone(),
            kind: match &p.domain {
                Domain::Categorical { choices } => Kind::Categorical {
                    choices: choices.len(),
                },
                d => Kind::Numeric {
                    cells: d.cardinality(),
                },
            },
            inactive: 0.0,
        })
        .collect();
    let mut inactive = vec![0usize; features.len()];
    let x: Vec<Vec<f64>> = kept
        .iter()
        .map(|(params, _)| {
            space
                .params()
                .iter()
                .enumerate()
                .map(|(f, p)| {
                    // A value the domain does not know (a space widened or changed since) is
                    // read as inactive rather than guessed.
                    let value = params.get(&p.name).and_then(|v| match &p.domain {
                        Domain::Categorical { choices } => {
                            choices.iter().position(|c| c == v).map(|i| i as f64)
                        }
                        d => d.to_unit(v).map(|u| u.clamp(0.0, 1.0)),
                    });
                    value.unwrap_or_else(|| {
                        inactive[f] += 1;
                        match features[f].kind {
                            Kind::Categorical { choices } => choices as f64,
                            Kind::Numeric { .. } => INACTIVE,
                        }
                    })
                })
                .collect()
        })
        .collect();
    for (f, n) in features.iter_mut().zip(inactive) {
        f.inactive = n as f64 / kept.len() as f64;
    }
    Ok(Encoded {
        features,
        x,
        y: kept.iter().map(|(_, v)| *v).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[test]
    fn conditional_parameters_get_an_inactive_value_weighted_by_how_often() {
        let trials = testing::trials(300, 1);
        let e = encode(&testing::space(), &testing::view(&trials), 2).unwrap();
        let units = &e.features[3];
        assert_eq!(units.name, "units");
        // "units" is active when kind is one of three choices.
        assert!(
            (units.inactive - 2.0 / 3.0).abs() < 0.1,
            "{}",
            units.inactive
        );
        assert_eq!(e.features[0].inactive, 0.0);
        for (row, (p, _)) in e.x.iter().zip(&trials) {
            assert_eq!(row[3] == INACTIVE, !p.contains_key("units"));
            assert!((0.0..=1.0).contains(&row[0]));
            assert!(row[2] == 0.0 || row[2] == 1.0 || row[2] == 2.0);
        }
        // The measure of the whole line is one; the inactive point counts once.
        assert!((units.interval_mass(f64::NEG_INFINITY, f64::INFINITY) - 1.0).abs() < 1e-12);
        assert!((units.interval_mass(f64::NEG_INFINITY, -0.5) - units.inactive).abs() < 1e-12);
        let kind = &e.features[2];
        assert_eq!(kind.categories(), 3);
        assert!((kind.category_mass(1) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(units.categories(), 0);

        let few = encode(&testing::space(), &testing::view(&trials[..1]), 2);
        assert_eq!(
            few.err(),
            Some(ImportanceError::TooFewTrials {
                needed: 2,
                found: 1
            })
        );
    }
}
