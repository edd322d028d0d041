use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::SpaceError;
use crate::value::{Params, Value};

/// The values one parameter may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Domain {
    /// Real numbers in `[low, high]`, optionally on a log scale or on a grid of `step`.
    Float {
        /// Lower bound, inclusive.
        low: f64,
        /// Upper bound, inclusive.
        high: f64,
        /// Sample uniformly in the logarithm (both bounds positive).
        #[serde(default)]
        log: bool,
        /// Only `low + k * step` for whole `k`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
    },
    /// Integers in `[low, high]`, optionally on a log scale, every `step`-th.
    Int {
        /// Lower bound, inclusive.
        low: i64,
        /// Upper bound, inclusive.
        high: i64,
        /// Sample uniformly in the logarithm (both bounds positive).
        #[serde(default)]
        log: bool,
        /// Only `low + k * step` for whole `k`; 1 when not given.
        #[serde(default = "one")]
        step: i64,
    },
    /// One of a list of strings, numbers or booleans; unordered.
    Categorical {
        /// The choices, in the order declared.
        choices: Vec<Value>,
    },
}

fn one() -> i64 {
    1
}

impl Domain {
    /// Floats in `[low, high]`.
    pub fn float(low: f64, high: f64) -> Self {
        Domain::Float {
            low,
            high,
            log: false,
            step: None,
        }
    }

    /// Integers in `[low, high]`.
    pub fn int(low: i64, high: i64) -> Self {
        Domain::Int {
            low,
            high,
            log: false,
            step: 1,
        }
    }

    /// One of `choices`.
    pub fn choice<V: Into<Value>>(choices: impl IntoIterator<Item = V>) -> Self {
        Domain::Categorical {
            choices: choices.into_iter().map(Into::into).collect(),
        }
    }

    /// The same domain on a log scale (numeric domains only; a no-op for categorical).
    pub fn log(mut self) -> Self {
        match &mut self {
            Domain::Float { log, .. } | Domain::Int { log, .. } => *log = true,
            Domain::Categorical { .. } => {}
        }
        self
    }

    /// The same domain restricted to multiples of `step` above `low` (a no-op for categorical).
    pub fn step(mut self, by: f64) -> Self {
        match &mut self {
            Domain::Float { step, .. } => *step = Some(by),
            Domain::Int { step, .. } => *step = by as i64,
            Domain::Categorical { .. } => {}
        }
        self
    }

    /// The number of distinct values, for domains that have finitely many (a float without a
    /// step has one value when its bounds are equal, else uncountably many).
    pub fn cardinality(&self) -> Option<u64> {
        match *self {
            Domain::Float {
                low,
                high,
                step: None,
                ..
            } => (low == high).then_some(1),
            Domain::Float {
                low,
                high,
                step: Some(step),
                ..
            } => Some((((high - low) / step + 1e-9).floor() as u64).saturating_add(1)),
            // i128: the span of a full i64 range does not fit in an i64.
            Domain::Int {
                low, high, step, ..
            } => Some(
                u64::try_from((i128::from(high) - i128::from(low)) / i128::from(step))
                    .unwrap_or(u64::MAX)
                    .saturating_add(1),
            ),
            Domain::Categorical { ref choices } => Some(choices.len() as u64),
        }
    }

    /// Every value of a finite domain, in order; `None` for a continuous float.
    pub fn values(&self) -> Option<Vec<Value>> {
        match *self {
            Domain::Float {
                low,
                high,
                step: None,
                ..
            } if low == high => Some(vec![Value::Float(low)]),
            Domain::Float {
                low,
                high,
                step: Some(step),
                ..
            } => {
                let n = self.cardinality()?;
                Some(
                    (0..n)
                        .map(|k| Value::Float((low + k as f64 * step).min(high)))
                        .collect(),
                )
            }
            Domain::Float { step: None, .. } => None,
            Domain::Int {
                low, high, step, ..
            } => Some(
                (low..=high)
                    .step_by(step as usize)
                    .map(Value::Int)
                    .collect(),
            ),
            Domain::Categorical { ref choices } => Some(choices.clone()),
        }
    }

    /// Maps `u` in `[0, 1)` onto the domain: uniformly, or uniformly in the logarithm, snapped to
    /// the step. Every strategy that thinks in the unit cube (random, QMC, TPE, CMA-ES, GP) goes
    /// through here, so scales and steps are handled once.
    pub fn from_unit(&self, u: f64) -> Value {
        let u = u.clamp(0.0, 1.0);
        match *self {
            Domain::Float {
                low,
                high,
                log,
                step: None,
            } => {
                let x = if let Some((a, b)) = log_span(log, low, high) {
                    (a + u * (b - a)).exp()
                } else {
                    low + u * (high - low)
                };
                Value::Float(x.clamp(low, high))
            }
            Domain::Float {
                low,
                high,
                step: Some(step),
                ..
            } => {
                let k = pick(u, self.cardinality().unwrap_or(1));
                Value::Float((low + k as f64 * step).min(high))
            }
            Domain::Int {
                low,
                high,
                log,
                step,
            } => {
                if let Some((a, b)) = int_log_span(log, low, high) {
                    let x = (a + u * (b - a)).exp().round() as i64;
                    Value::Int(x.clamp(low, high))
                } else {
                    let k = pick(u, self.cardinality().unwrap_or(1));
                    Value::Int((i128::from(low) + i128::from(k) * i128::from(step)) as i64)
                }
            }
            Domain::Categorical { ref choices } => {
                Value::clone(&choices[pick(u, choices.len() as u64) as usize])
            }
        }
    }

    /// The inverse of [`Domain::from_unit`]: where `value` lies in `[0, 1]` (the centre of its
    /// cell for discrete domains). `None` when the value is not of this domain.
    pub fn to_unit(&self, value: &Value) -> Option<f64> {
        match *self {
            Domain::Float {
                low,
                high,
                log,
                step,
            } => {
                let x = value.as_f64()?;
                Some(match step {
                    Some(step) => {
                        let n = self.cardinality()? as f64;
                        (((x - low) / step).round() + 0.5) / n
                    }
                    None => match log_span(log, low, high) {
                        Some((a, b)) => (x.ln() - a) / (b - a),
                        None if high > low => (x - low) / (high - low),
                        // One value: the middle of the unit interval, as an int's single cell.
                        None => 0.5,
                    },
                })
            }
            Domain::Int {
                low,
                high,
                log,
                step,
            } => {
                let x = value.as_i64()?;
                Some(if let Some((a, b)) = int_log_span(log, low, high) {
                    ((x as f64).ln() - a) / (b - a)
                } else {
                    let n = self.cardinality()? as f64;
                    let k = (i128::from(x) - i128::from(low)) / i128::from(step);
                    (k as f64 + 0.5) / n
                })
            }
            Domain::Categorical { ref choices } => {
                let i = choices.iter().position(|c| c == value)?;
                Some((i as f64 + 0.5) / choices.len() as f64)
            }
        }
    }

    /// Whether `value` is one this domain can produce: the right type, inside the bounds, on the
    /// step.
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (
                &Domain::Float {
                    low, high, step, ..
                },
                &Value::Float(x),
            ) => {
                x >= low
                    && x <= high
                    && step.is_none_or(|s| {
                        let k = (x - low) / s;
                        (k - k.round()).abs() < 1e-6
                    })
            }
            (
                &Domain::Int {
                    low, high, step, ..
                },
                &Value::Int(x),
            ) => x >= low && x <= high && (i128::from(x) - i128::from(low)) % i128::from(step) == 0,
            (Domain::Categorical { choices }, v) => choices.contains(v),
            _ => false,
        }
    }

    /// A short description, for messages and listings: `float [0.001, 0.1] log`.
    pub fn describe(&self) -> String {
        match self {
            Domain::Float {
                low,
                high,
                log,
                step,
            } => {
                let mut s = format!("float [{low}, {high}]");
                if *log {
                    s.push_str(" log");
                }
                if let Some(step) = step {
                    s.push_str(&format!(" step {step}"));
                }
                s
            }
            Domain::Int {
                low,
                high,
                log,
                step,
            } => {
                let mut s = format!("int [{low}, {high}]");
                if *log {
                    s.push_str(" log");
                }
                if *step != 1 {
                    s.push_str(&format!(" step {step}"));
                }
                s
            }
            Domain::Categorical { choices } => {
                let list: Vec<String> = choices.iter().map(ToString::to_string).collect();
                format!("choice of {}", list.join(", "))
            }
        }
    }

    fn check(&self, name: &str) -> Result<(), SpaceError> {
        let name = name.to_owned();
        match *self {
            Domain::Float {
                low,
                high,
                log,
                step,
            } => {
                if !low.is_finite() || !high.is_finite() {
                    return Err(SpaceError::NotFinite { name, low, high });
                }
                // low == high is a range of one value, as for ints (and Optuna's floats).
                if low > high {
                    return Err(SpaceError::InvertedRange {
                        name,
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if log && low <= 0.0 {
                    return Err(SpaceError::LogNonPositive {
                        name,
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                // On a log scale only the logarithms are subtracted, and they are small.
                if !log && !(high - low).is_finite() {
                    return Err(SpaceError::TooWide {
                        name,
                        low,
                        high,
                        max: f64::MAX,
                    });
                }
                if let Some(step) = step {
                    if log {
                        return Err(bad_step(
                            name,
                            "a log scale and a step cannot be combined; drop one",
                        ));
                    }
                    if !(step > 0.0 && step.is_finite()) {
                        return Err(bad_step(
                            name,
                            format!("step must be a positive number, got {step}"),
                        ));
                    }
                    let k = (high - low) / step;
                    // Beyond 2^53 steps a float cannot count them one by one: the values
                    // drawn would skip most of the grid (or, past overflow, be one value).
                    if k > MAX_STEPS {
                        return Err(bad_step(
                            name,
                            format!(
                                "the step {step} cuts [{low}, {high}] into {k:e} steps, more than the {MAX_STEPS:e} a 64-bit float can count; use a step of at least {:e}, or drop `step`",
                                (high - low) / MAX_STEPS
                            ),
                        ));
                    }
                    if (k - k.round()).abs() > 1e-6 * k.abs().max(1.0) {
                        return Err(bad_step(
                            name,
                            format!(
                                "{high} - {low} is not a multiple of the step {step}; use high = {}",
                                low + k.floor() * step
                            ),
                        ));
                    }
                }
                Ok(())
            }
            Domain::Int {
                low,
                high,
                log,
                step,
            } => {
                if low > high {
                    return Err(SpaceError::InvertedRange {
                        name,
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if log && low <= 0 {
                    return Err(SpaceError::LogNonPositive {
                        name,
                        low: low.to_string(),
                        high: high.to_string(),
                    });
                }
                if step <= 0 {
                    return Err(bad_step(
                        name,
                        format!("step must be a positive integer, got {step}"),
                    ));
                }
                if log && step != 1 {
                    return Err(bad_step(
                        name,
                        "a log scale and a step cannot be combined; drop one",
                    ));
                }
                let rest = (i128::from(high) - i128::from(low)) % i128::from(step);
                if rest != 0 {
                    return Err(bad_step(
                        name,
                        format!(
                            "{high} - {low} is not a multiple of the step {step}; use high = {}",
                            i128::from(high) - rest
                        ),
                    ));
                }
                Ok(())
            }
            Domain::Categorical { ref choices } => {
                if choices.is_empty() {
                    return Err(SpaceError::BadChoices {
                        name,
                        message: "a choice needs at least one value".into(),
                    });
                }
                for (i, c) in choices.iter().enumerate() {
                    if matches!(c, Value::Float(x) if !x.is_finite()) {
                        return Err(SpaceError::BadChoices {
                            name,
                            message: format!("choice {c} is not a finite number"),
                        });
                    }
                    if choices[..i].contains(c) {
                        return Err(SpaceError::BadChoices {
                            name,
                            message: format!("the choice {c} appears twice"),
                        });
                    }
                }
                Ok(())
            }
        }
    }
}

/// The most steps a float range may have: 2^53, the last count a 64-bit float holds exactly.
const MAX_STEPS: f64 = 9_007_199_254_740_992.0;

fn bad_step(name: String, message: impl Into<String>) -> SpaceError {
    SpaceError::BadStep {
        name,
        message: message.into(),
    }
}

/// The logarithms of a float range's ends, on a log scale (`log`) when floating point tells them
/// apart; `None` otherwise, and the uniform mapping applies. A range as narrow as a few ulps near
/// 1e300 has equal logarithms, and its log scale, dividing by their difference, would give NaN;
/// such a range is uniform to the last bit.
fn log_span(log: bool, low: f64, high: f64) -> Option<(f64, f64)> {
    if !log {
        return None;
    }
    let (a, b) = (low.ln(), high.ln());
    (b > a).then_some((a, b))
}

/// [`log_span`] for an int range on a log scale, whose cells reach half a unit past each end.
/// Near `i64::MAX` both ends are one float, so the range falls back to the uniform cells.
fn int_log_span(log: bool, low: i64, high: i64) -> Option<(f64, f64)> {
    if !log {
        return None;
    }
    let (a, b) = ((low as f64 - 0.5).ln(), (high as f64 + 0.5).ln());
    (b > a).then_some((a, b))
}

/// The index in `0..n` that `u` in `[0, 1]` falls into.
fn pick(u: f64, n: u64) -> u64 {
    ((u * n as f64) as u64).min(n.saturating_sub(1))
}

/// A parameter exists only when its parent parameter takes one of the given values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The parameter this one depends on.
    pub parent: String,
    /// The parent's values for which this parameter exists.
    pub values: Vec<Value>,
}

/// One named parameter of a search space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The name the objective sees.
    pub name: String,
    /// Its values.
    #[serde(flatten)]
    pub domain: Domain,
    /// When present, the parameter exists only if the condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "when")]
    pub condition: Option<Condition>,
}

impl Param {
    /// An unconditional parameter.
    pub fn new(name: impl Into<String>, domain: Domain) -> Self {
        Param {
            name: name.into(),
            domain,
            condition: None,
        }
    }

    /// The same parameter, existing only when `parent` takes one of `values`.
    pub fn when<V: Into<Value>>(
        mut self,
        parent: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.condition = Some(Condition {
            parent: parent.into(),
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }
}

/// A validated search space: parameters with unique names, valid domains, and conditions on
/// parameters that exist, ordered so that every parent comes before its children.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Param>", into = "Vec<Param>")]
pub struct Space {
    params: Vec<Param>,
}

impl TryFrom<Vec<Param>> for Space {
    type Error = SpaceError;
    fn try_from(params: Vec<Param>) -> Result<Self, SpaceError> {
        Space::new(params)
    }
}

impl From<Space> for Vec<Param> {
    fn from(space: Space) -> Self {
        space.params
    }
}

impl Space {
    /// Validates `params` into a space. Parents are moved before their children; otherwise the
    /// declared order is kept.
    pub fn new(params: Vec<Param>) -> Result<Self, SpaceError> {
        // Name → position, so that a space of many parameters validates in O(n log n).
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(params.len());
        for (i, p) in params.iter().enumerate() {
            if p.name.is_empty() {
                return Err(SpaceError::EmptyName);
            }
            if index.insert(&p.name, i).is_some() {
                return Err(SpaceError::Duplicate(p.name.clone()));
            }
            p.domain.check(&p.name)?;
        }
        let mut parents = Vec::with_capacity(params.len());
        for p in &params {
            let Some(cond) = &p.condition else {
                parents.push(None);
                continue;
            };
            let Some(&at) = index.get(cond.parent.as_str()) else {
                return Err(SpaceError::UnknownParent {
                    name: p.name.clone(),
                    parent: cond.parent.clone(),
                    known: params
                        .iter()
                        .map(|q| q.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            if cond.values.is_empty() {
                return Err(SpaceError::BadConditionValue {
                    name: p.name.clone(),
                    parent: cond.parent.clone(),
                    value: "nothing (the list is empty)".into(),
                });
            }
            if let Some(v) = cond.values.iter().find(|v| !params[at].domain.contains(v)) {
                return Err(SpaceError::BadConditionValue {
                    name: p.name.clone(),
                    parent: cond.parent.clone(),
                    value: v.to_string(),
                });
            }
            parents.push(Some(at));
        }
        Ok(Space {
            params: parents_first(params, &parents)?,
        })
    }

    /// A space with no parameters, for objectives that define everything themselves.
    pub fn empty() -> Self {
        Space { params: Vec::new() }
    }

    /// The parameters, every parent before its children.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether the space has no parameters.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Whether any parameter is categorical.
    pub fn has_categorical(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p.domain, Domain::Categorical { .. }))
    }

    /// Whether any parameter is conditional.
    pub fn has_conditions(&self) -> bool {
        self.params.iter().any(|p| p.condition.is_some())
    }

    /// Whether `param` exists given the values already chosen for its ancestors.
    pub fn is_active(&self, param: &Param, chosen: &Params) -> bool {
        match &param.condition {
            None => true,
            Some(c) => chosen.get(&c.parent).is_some_and(|v| c.values.contains(v)),
        }
    }

    /// Builds a parameter set by asking `choose` for each active parameter in order (parents
    /// first), skipping those whose condition fails.
    pub fn assign(&self, mut choose: impl FnMut(&Param) -> Value) -> Params {
        let mut out = Params::with_capacity(self.params.len());
        for p in &self.params {
            if self.is_active(p, &out) {
                let v = choose(p);
                out.insert(p.name.clone(), v);
            }
        }
        out
    }

    /// Checks that `params` fit this space: every active parameter present with a value of its
    /// domain, no inactive or unknown parameter. The error quotes at most the first 100
    /// characters of a name or value.
    pub fn validate(&self, params: &Params) -> Result<(), SpaceError> {
        if let Some(name) = params.keys().find(|k| self.get(k).is_none()) {
            return Err(SpaceError::Mismatch(format!(
                "`{}` is not a parameter of the space",
                quoted(name)
            )));
        }
        for p in &self.params {
            let active = match &p.condition {
                None => true,
                Some(c) => params.get(&c.parent).is_some_and(|v| c.values.contains(v)),
            };
            match (active, params.get(&p.name)) {
                (true, None) => {
                    return Err(SpaceError::Mismatch(format!(
                        "`{}` is missing; it is active and must have a value",
                        p.name
                    )));
                }
                (false, Some(_)) => {
                    return Err(SpaceError::Mismatch(format!(
                        "`{}` has a value but its condition does not hold",
                        p.name
                    )));
                }
                (true, Some(v)) if !p.domain.contains(v) => {
                    return Err(SpaceError::Mismatch(format!(
                        "`{}` = {} ({}) is outside its domain, {}",
                        p.name,
                        quoted(&v.to_string()),
                        v.type_name(),
                        p.domain.describe()
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// The most characters of a name or value that [`Space::validate`] quotes in its error.
const QUOTED_CHARS: usize = 100;

/// `text` as an error quotes it: whole up to [`QUOTED_CHARS`] characters, else its start and its
/// length. Names and values come from strategies and front ends, and one of megabytes (a bug's)
/// would be stored with every trial it fails.
fn quoted(text: &str) -> String {
    let chars = text.chars().count();
    if chars <= QUOTED_CHARS {
        return text.to_owned();
    }
    let start: String = text.chars().take(QUOTED_CHARS).collect();
    format!("{start}… ({chars} characters)")
}

/// Orders parameters so that parents precede children (stable otherwise); fails on a cycle.
/// `params` reordered so that every parent comes before its children (`parents[i]`: the
/// position of parameter `i`'s parent): repeatedly the first declared parameter whose parent is
/// already placed, so a space already in that order keeps it. Kahn's algorithm with the ready
/// positions in a min-heap.
fn parents_first(params: Vec<Param>, parents: &[Option<usize>]) -> Result<Vec<Param>, SpaceError> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); params.len()];
    let mut ready = BinaryHeap::new();
    for (i, parent) in parents.iter().enumerate() {
        match parent {
            Some(p) => children[*p].push(i),
            None => ready.push(Reverse(i)),
        }
    }
    let mut order = Vec::with_capacity(params.len());
    while let Some(Reverse(i)) = ready.pop() {
        order.push(i);
        ready.extend(children[i].iter().map(|&c| Reverse(c)));
    }
    let mut slots: Vec<Option<Param>> = params.into_iter().map(Some).collect();
    if order.len() < slots.len() {
        // What is left waits on itself: a cycle of conditions.
        let placed: HashSet<usize> = order.into_iter().collect();
        let names: Vec<String> = (0..slots.len())
            .filter(|i| !placed.contains(i))
            .filter_map(|i| slots[i].take().map(|p| p.name))
            .collect();
        return Err(SpaceError::Cycle(names.join(", ")));
    }
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_round_trip_respects_scales_and_steps() {
        let d = Domain::float(1e-4, 1e-1).log();
        let Value::Float(x) = d.from_unit(0.5) else {
            panic!("float domain gave a non-float")
        };
        assert!((x - 10f64.powf(-2.5)).abs() < 1e-12);
        assert!((d.to_unit(&Value::Float(x)).unwrap() - 0.5).abs() < 1e-12);

        let d = Domain::float(0.0, 1.0).step(0.25);
        assert_eq!(d.cardinality(), Some(5));
        assert_eq!(d.from_unit(0.0), Value::Float(0.0));
        assert_eq!(d.from_unit(0.999), Value::Float(1.0));
        assert_eq!(d.from_unit(0.5), Value::Float(0.5));

        let d = Domain::int(2, 10).step(2.0);
        assert_eq!(d.values().unwrap().len(), 5);
        for k in 0..100 {
            assert!(d.contains(&d.from_unit(k as f64 / 100.0)));
        }
        let d = Domain::int(1, 1024).log();
        assert_eq!(d.from_unit(0.0), Value::Int(1));
        assert_eq!(d.from_unit(1.0), Value::Int(1024));
    }

    #[test]
    fn extreme_ranges_do_not_overflow() {
        let d = Domain::int(i64::MIN, i64::MAX);
        assert!(Space::new(vec![Param::new("n", d.clone())]).is_ok());
        assert_eq!(d.cardinality(), Some(u64::MAX));
        assert_eq!(d.from_unit(0.0), Value::Int(i64::MIN));
        assert!(d.contains(&d.from_unit(0.999)));
        assert!(d.to_unit(&Value::Int(i64::MAX)).is_some());
        let f = Domain::float(0.0, 1e30).step(1e-10);
        assert_eq!(f.cardinality(), Some(u64::MAX));
        assert!(matches!(f.from_unit(0.5), Value::Float(_)));
    }

    /// Ranges on a log scale too narrow for their logarithms to differ (found by the
    /// testkit's robustness property through `gp`, which re-encodes candidates) map to and from
    /// the unit interval with finite coordinates and stay in the domain.
    #[test]
    fn log_ranges_narrower_than_their_logarithms_have_finite_unit_coordinates() {
        for d in [
            Domain::int(i64::MAX - 10, i64::MAX).log(),
            Domain::float(1e300, 1e300 * (1.0 + 2.0 * f64::EPSILON)).log(),
        ] {
            for k in 0..=10 {
                let v = d.from_unit(k as f64 / 10.0);
                assert!(d.contains(&v), "{v} from {}", d.describe());
                let u = d.to_unit(&v).unwrap();
                assert!(u.is_finite() && (0.0..=1.0).contains(&u), "{u} for {v}");
            }
        }
    }

    /// Equal bounds fix a parameter, for floats as for ints: every unit coordinate maps to the
    /// value and the value to the middle of the unit interval.
    #[test]
    fn equal_bounds_are_a_domain_of_one_value() {
        for d in [
            Domain::float(0.1, 0.1),
            Domain::float(3e-3, 3e-3).log(),
            Domain::float(2.5, 2.5).step(0.5),
            Domain::int(4, 4),
        ] {
            let space = Space::new(vec![Param::new("x", d.clone())]).unwrap();
            let only = d.from_unit(0.0);
            for k in 0..=4 {
                assert_eq!(d.from_unit(k as f64 / 4.0), only, "{}", d.describe());
            }
            assert_eq!(d.to_unit(&only), Some(0.5), "{}", d.describe());
            assert_eq!(d.cardinality(), Some(1), "{}", d.describe());
            assert_eq!(d.values(), Some(vec![only.clone()]), "{}", d.describe());
            let mut params = Params::new();
            params.insert("x".into(), only);
            assert!(space.validate(&params).is_ok());
        }
    }

    #[test]
    fn bad_domains_are_refused_with_the_parameter_named() {
        let e = Space::new(vec![Param::new("lr", Domain::float(0.1, 0.01))]).unwrap_err();
        assert!(e.to_string().contains("`lr`") && e.to_string().contains("inverted"));
        let e = Space::new(vec![Param::new("lr", Domain::float(0.0, 1.0).log())]).unwrap_err();
        assert!(matches!(e, SpaceError::LogNonPositive { .. }));
        let e = Space::new(vec![Param::new("n", Domain::int(1, 10).step(2.0))]).unwrap_err();
        assert!(e.to_string().contains("use high = 9"), "{e}");
        let e = Space::new(vec![Param::new("a", Domain::choice(["x", "x"]))]).unwrap_err();
        assert!(e.to_string().contains("twice"));
    }

    #[test]
    fn ranges_beyond_floating_point_are_refused_and_the_widest_that_works_is_spread() {
        let e = Space::new(vec![Param::new("w", Domain::float(-1e308, 1e308))]).unwrap_err();
        assert!(matches!(e, SpaceError::TooWide { .. }), "{e}");
        assert!(
            e.to_string().contains("`w`") && e.to_string().contains("too wide"),
            "{e}"
        );
        // The same width on a log scale is fine: only logarithms are subtracted.
        assert!(Space::new(vec![Param::new("w", Domain::float(1e-300, 1e300).log())]).is_ok());
        let e = Space::new(vec![Param::new(
            "s",
            Domain::float(0.0, 1e300).step(1e-300),
        )])
        .unwrap_err();
        assert!(
            e.to_string().contains("more than the 9.007199254740992e15"),
            "{e}"
        );
        let e = Space::new(vec![Param::new("s", Domain::float(0.0, 1e20).step(1.0))]).unwrap_err();
        assert!(matches!(e, SpaceError::BadStep { .. }), "{e}");
        // The widest accepted range still spreads its values over the whole range.
        let d = Domain::float(-8e307, 8e307);
        assert!(Space::new(vec![Param::new("x", d.clone())]).is_ok());
        let xs: Vec<f64> = [0.0, 0.25, 0.5, 0.75]
            .iter()
            .map(|&u| d.from_unit(u).as_f64().unwrap())
            .collect();
        for (x, want) in xs.iter().zip([-8e307, -4e307, 0.0, 4e307]) {
            assert!((x - want).abs() <= 1e-12 * 8e307, "{xs:?}");
        }
        let d = Domain::float(0.0, 1e15).step(1.0);
        assert!(Space::new(vec![Param::new("x", d.clone())]).is_ok());
        assert_eq!(d.from_unit(0.5), Value::Float(5e14));
    }

    #[test]
    fn a_huge_name_or_value_is_quoted_short() {
        // A strategy's bug (a plugin's, say) suggesting a value of megabytes: the error, stored
        // with the failed trial, held all of it.
        let space = Space::new(vec![Param::new("act", Domain::choice(["relu", "tanh"]))]).unwrap();
        let huge = "é".repeat(1_000_000);
        let value: Params = [("act".to_owned(), Value::Str(huge.clone()))]
            .into_iter()
            .collect();
        let e = space.validate(&value).unwrap_err().to_string();
        assert!(
            e.len() < 500
                && e.contains("`act` = éé")
                && e.contains("… (1000000 characters) (string)"),
            "{e}"
        );
        let name: Params = [(huge, Value::Int(1))].into_iter().collect();
        let e = space.validate(&name).unwrap_err().to_string();
        assert!(
            e.len() < 500 && e.contains("… (1000000 characters)` is not a parameter"),
            "{e}"
        );
        let short: Params = [("act".to_owned(), Value::Str("gelu".into()))]
            .into_iter()
            .collect();
        assert!(
            space
                .validate(&short)
                .unwrap_err()
                .to_string()
                .contains("`act` = gelu (string) is outside its domain")
        );
    }

    #[test]
    fn conditions_order_parents_first_and_reject_unknown_parents() {
        let space = Space::new(vec![
            Param::new("units_2", Domain::int(16, 512).log()).when("layers", [2i64, 3]),
            Param::new("layers", Domain::int(1, 3)),
        ])
        .unwrap();
        assert_eq!(space.params()[0].name, "layers");
        let p = space.assign(|p| p.domain.from_unit(0.0));
        assert_eq!(p.len(), 1, "layers = 1 leaves units_2 inactive");
        assert!(space.validate(&p).is_ok());

        let e = Space::new(vec![
            Param::new("u", Domain::int(1, 3)).when("depth", [2i64]),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("`depth`"));
        let e = Space::new(vec![
            Param::new("a", Domain::int(1, 3)).when("b", [1i64]),
            Param::new("b", Domain::int(1, 3)).when("a", [1i64]),
        ])
        .unwrap_err();
        assert!(matches!(e, SpaceError::Cycle(_)));
    }

    #[test]
    fn parents_move_just_before_they_are_needed_and_long_chains_validate() {
        let space = Space::new(vec![
            Param::new("c", Domain::int(1, 3)).when("b", [1i64]),
            Param::new("a", Domain::int(1, 3)),
            Param::new("b", Domain::int(1, 3)).when("a", [1i64]),
            Param::new("d", Domain::int(1, 3)),
        ])
        .unwrap();
        let names: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);

        // Each parameter conditional on the next: the order reverses. (The former quadratic
        // search per placement made this take minutes.)
        let n = 20_000;
        let chain: Vec<Param> = (0..n)
            .map(|i| {
                let p = Param::new(format!("p{i}"), Domain::int(0, 1));
                if i + 1 < n {
                    p.when(format!("p{}", i + 1), [1i64])
                } else {
                    p
                }
            })
            .collect();
        let space = Space::new(chain).unwrap();
        assert_eq!(space.params()[0].name, format!("p{}", n - 1));
        assert_eq!(space.params()[n - 1].name, "p0");
    }

    #[test]
    fn space_round_trips_through_json() {
        let space = Space::new(vec![
            Param::new("lr", Domain::float(1e-5, 1e-1).log()),
            Param::new("act", Domain::choice(["relu", "tanh"])),
            Param::new("drop", Domain::float(0.0, 0.5).step(0.1)).when("act", ["relu"]),
        ])
        .unwrap();
        let json = serde_json::to_string(&space).unwrap();
        let back: Space = serde_json::from_str(&json).unwrap();
        assert_eq!(space, back);
    }
}
