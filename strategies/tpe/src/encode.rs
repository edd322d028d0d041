//! How each parameter lives in the model: a coordinate of the unit cube (continuous or split
//! into cells) or a category index.

use hyperplug_core::{Domain, Param, Value};

/// The shape of one parameter's coordinate.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A float without a step: a point of `[0, 1]`.
    Continuous,
    /// Ints and stepped floats: `[0, 1]` cut into cells, one per value, as
    /// [`Domain::from_unit`] cuts it.
    Discrete(Cells),
    /// One of `n` unordered choices, stored as its index.
    Categorical(usize),
}

/// Where the cells of a discrete coordinate lie.
#[derive(Clone, Debug, PartialEq)]
pub enum Cells {
    /// `n` equal cells (plain and stepped ints, stepped floats).
    Equal(f64),
    /// Log-scaled ints: the cell of `x` is `[ln(x - ½), ln(x + ½)]`, rescaled from `[a, b]`.
    LogInt { low: i64, high: i64, a: f64, b: f64 },
}

/// Cells narrower than this are modelled as points: their mass would underflow, and the cell
/// width is the same in both densities of the ratio, so it cancels.
const MIN_CELL: f64 = 1e-9;

impl Kind {
    /// The coordinate of a parameter with `domain`.
    pub fn of(domain: &Domain) -> Kind {
        match *domain {
            Domain::Float { step: None, .. } => Kind::Continuous,
            Domain::Categorical { ref choices } => Kind::Categorical(choices.len()),
            Domain::Int {
                low,
                high,
                log: true,
                ..
            } => {
                let (a, b) = ((low as f64 - 0.5).ln(), (high as f64 + 0.5).ln());
                // The narrowest cell is the top one.
                let top = ((high as f64 + 0.5).ln() - (high as f64 - 0.5).ln()) / (b - a);
                if top < MIN_CELL {
                    Kind::Continuous
                } else {
                    Kind::Discrete(Cells::LogInt { low, high, a, b })
                }
            }
            _ => {
                let n = domain.cardinality().unwrap_or(u64::MAX) as f64;
                if 1.0 / n < MIN_CELL {
                    Kind::Continuous
                } else {
                    Kind::Discrete(Cells::Equal(n))
                }
            }
        }
    }
}

impl Cells {
    /// The cell `[lo, hi]` that holds the unit point `u`, as `from_unit` maps it.
    pub fn cell(&self, u: f64) -> (f64, f64) {
        match *self {
            Cells::Equal(n) => {
                let k = (u.clamp(0.0, 1.0) * n).floor().min(n - 1.0);
                (k / n, (k + 1.0) / n)
            }
            Cells::LogInt { low, high, a, b } => {
                let x = (a + u.clamp(0.0, 1.0) * (b - a))
                    .exp()
                    .round()
                    .clamp(low as f64, high as f64);
                let lo = ((x - 0.5).ln() - a) / (b - a);
                let hi = ((x + 0.5).ln() - a) / (b - a);
                (lo.max(0.0), hi.min(1.0))
            }
        }
    }
}

/// One parameter of the space as the model sees it.
#[derive(Clone, Debug)]
pub struct Coord {
    pub kind: Kind,
    pub domain: Domain,
}

impl Coord {
    pub fn new(param: &Param) -> Self {
        Coord {
            kind: Kind::of(&param.domain),
            domain: param.domain.clone(),
        }
    }

    /// The model coordinate of `value`: a unit point, or a category index. `None` if the value
    /// does not belong to the domain.
    pub fn encode(&self, value: &Value) -> Option<f64> {
        match self.kind {
            Kind::Categorical(n) => {
                let u = self.domain.to_unit(value)?;
                Some((u * n as f64).floor().clamp(0.0, n as f64 - 1.0))
            }
            _ => self
                .domain
                .to_unit(value)
                .filter(|u| u.is_finite())
                .map(|u| u.clamp(0.0, 1.0)),
        }
    }

    /// The value at model coordinate `x`.
    pub fn decode(&self, x: f64) -> Value {
        match self.kind {
            Kind::Categorical(n) => self.domain.from_unit((x + 0.5) / n as f64),
            _ => self.domain.from_unit(x),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_domains() {
        assert_eq!(Kind::of(&Domain::float(0.0, 1.0)), Kind::Continuous);
        assert_eq!(Kind::of(&Domain::float(1e-5, 1.0).log()), Kind::Continuous);
        assert_eq!(
            Kind::of(&Domain::float(0.0, 1.0).step(0.25)),
            Kind::Discrete(Cells::Equal(5.0))
        );
        assert_eq!(
            Kind::of(&Domain::int(16, 256).step(16.0)),
            Kind::Discrete(Cells::Equal(16.0))
        );
        assert_eq!(Kind::of(&Domain::choice(["a", "b"])), Kind::Categorical(2));
        // Too many values for cells of their own: modelled as a continuum.
        assert_eq!(Kind::of(&Domain::int(i64::MIN, i64::MAX)), Kind::Continuous);
        assert!(matches!(
            Kind::of(&Domain::int(1, 1024).log()),
            Kind::Discrete(Cells::LogInt { .. })
        ));
    }

    #[test]
    fn every_value_round_trips_through_its_cell() {
        for domain in [
            Domain::int(-3, 12),
            Domain::int(1, 1024).log(),
            Domain::int(16, 256).step(16.0),
            Domain::float(0.0, 1.0).step(0.125),
        ] {
            let coord = Coord {
                kind: Kind::of(&domain),
                domain: domain.clone(),
            };
            let Kind::Discrete(cells) = &coord.kind else {
                panic!("{domain:?} is discrete")
            };
            let mut total = 0.0;
            for v in domain.values().expect("finite") {
                let u = coord.encode(&v).expect("in the domain");
                let (lo, hi) = cells.cell(u);
                assert!(lo <= u && u <= hi, "{v}: {u} not in [{lo}, {hi}]");
                // Any point of the cell decodes to the value itself.
                for t in [0.01, 0.5, 0.99] {
                    assert_eq!(coord.decode(lo + t * (hi - lo)), v, "{domain:?}");
                }
                total += hi - lo;
            }
            // The cells tile the unit interval.
            assert!((total - 1.0).abs() < 1e-9, "{domain:?}: {total}");
        }
    }

    #[test]
    fn categories_encode_as_indices() {
        let d = Domain::choice(["relu", "tanh", "gelu"]);
        let c = Coord {
            kind: Kind::of(&d),
            domain: d,
        };
        assert_eq!(c.encode(&Value::from("gelu")), Some(2.0));
        assert_eq!(c.decode(1.0), Value::from("tanh"));
        assert_eq!(c.encode(&Value::from("swish")), None);
    }
}
