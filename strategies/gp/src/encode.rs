//! How parameters become model inputs. A numeric parameter is its point of the unit cube
//! ([`Domain::to_unit`]: log scales in log space; ints and steps at the centre of their value's
//! cell, so the model only ever sees takeable values); a categorical one is its choice's index,
//! compared by equality in the kernel. An inactive parameter of a conditional space is imputed
//! (SMAC's way): numeric ones at [`INACTIVE`], outside the cube, categorical ones as one more
//! choice, so trials of different branches are far apart and those of one branch compare as
//! usual.

use hyperplug_core::{Domain, Param, Params, Space, Value};

/// Where an inactive numeric parameter sits: half a domain below its lowest value.
pub const INACTIVE: f64 = -0.5;

/// One parameter as an input of the model.
#[derive(Clone, Debug)]
pub struct Dim {
    pub domain: Domain,
    /// `Some(n)` for a categorical parameter of `n` choices.
    pub choices: Option<usize>,
    /// Whether some other parameter's condition reads this one: its value decides which
    /// inputs exist, so the acquisition's gradient polish leaves it as drawn.
    pub parent: bool,
}

/// The encoding of a whole space.
#[derive(Clone, Debug)]
pub struct Encoder {
    pub dims: Vec<Dim>,
    pub names: Vec<String>,
}

impl Encoder {
    pub fn new(space: &Space) -> Self {
        let params = space.params();
        let dims = params
            .iter()
            .map(|p| Dim {
                domain: p.domain.clone(),
                choices: match &p.domain {
                    Domain::Categorical { choices } => Some(choices.len()),
                    _ => None,
                },
                parent: params
                    .iter()
                    .any(|q| q.condition.as_ref().is_some_and(|c| c.parent == p.name)),
            })
            .collect();
        Encoder {
            dims,
            names: params.iter().map(|p| p.name.clone()).collect(),
        }
    }

    pub fn d(&self) -> usize {
        self.dims.len()
    }

    pub fn categorical(&self) -> Vec<bool> {
        self.dims.iter().map(|d| d.choices.is_some()).collect()
    }

    /// The model input of `params`; `None` if a value does not belong to its domain.
    pub fn encode(&self, params: &Params, out: &mut Vec<f64>) -> Option<()> {
        out.clear();
        for (dim, name) in self.dims.iter().zip(&self.names) {
            out.push(match params.get(name) {
                None => match dim.choices {
                    Some(n) => n as f64,
                    None => INACTIVE,
                },
                Some(v) => encode_value(dim, v)?,
            });
        }
        Some(())
    }

    /// The parameters at a point of the model's input space (numeric coordinates are clamped
    /// to the cube and land on the nearest takeable value); inactive parameters are left out.
    pub fn decode(&self, space: &Space, x: &[f64]) -> Params {
        let params: &[Param] = space.params();
        let mut i = 0;
        space.assign(|param| {
            while params[i].name != param.name {
                i += 1;
            }
            let dim = &self.dims[i];
            match dim.choices {
                Some(n) => dim
                    .domain
                    .from_unit((x[i].clamp(0.0, n as f64 - 1.0) + 0.5) / n as f64),
                None => dim.domain.from_unit(x[i].clamp(0.0, 1.0)),
            }
        })
    }
}

fn encode_value(dim: &Dim, v: &Value) -> Option<f64> {
    let u = dim.domain.to_unit(v).filter(|u| u.is_finite())?;
    Some(match dim.choices {
        Some(n) => (u * n as f64).floor().clamp(0.0, n as f64 - 1.0),
        None => u.clamp(0.0, 1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_rounds_to_takeable_values_and_encoding_inverts_it() {
        let space = Space::new(vec![
            Param::new("lr", Domain::float(1e-4, 1.0).log()),
            Param::new("n", Domain::int(1, 10)),
            Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
            Param::new("p", Domain::float(0.0, 0.5).step(0.1)).when("act", ["gelu"]),
        ])
        .expect("valid");
        let enc = Encoder::new(&space);
        assert!(enc.dims[2].parent && !enc.dims[0].parent);
        let params = enc.decode(&space, &[0.5, 0.33, 2.0, 0.61]);
        assert_eq!(params["n"], Value::Int(4));
        assert_eq!(params["act"], Value::from("gelu"));
        assert!((params["p"].as_f64().expect("a float") - 0.3).abs() < 1e-12);
        let mut x = Vec::new();
        enc.encode(&params, &mut x).expect("in the space");
        // The cell centres: n = 4 is the 4th of 10 cells, p = 0.3 the 4th of 6.
        assert!((x[0] - 0.5).abs() < 1e-12 && (x[1] - 0.35).abs() < 1e-12);
        assert_eq!(x[2], 2.0);
        assert!((x[3] - 3.5 / 6.0).abs() < 1e-12);
        assert_eq!(enc.decode(&space, &x), params);
        // Another branch: `p` is inactive and imputed.
        let other = enc.decode(&space, &[0.5, 0.33, 0.0, 0.61]);
        assert!(!other.contains_key("p"));
        enc.encode(&other, &mut x).expect("in the space");
        assert_eq!(x[3], INACTIVE);
    }
}
