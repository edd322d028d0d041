//! The functions as [`ObjectiveFactory`]s: settings, parameter reading and optional noise.

use std::f64::consts::PI;

use hyperplug_core::{
    Capabilities, Error, Evaluation, Objective, ObjectiveFactory, Params, PluginInfo, SeedRng,
    Settings, Space, TrialContext, TrialError, TrialOutcome, Value, trial_rng,
};
use rand::Rng;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::catalog::Function;

/// The settings of a variable-dimension function.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariableSettings {
    /// The number of coordinates; the function's default when absent.
    #[serde(default, deserialize_with = "de_dim")]
    dim: Option<usize>,
    #[serde(default, deserialize_with = "de_noise")]
    noise: f64,
    #[serde(default, deserialize_with = "de_noise_seed")]
    noise_seed: u64,
}

/// The settings of a fixed-dimension function.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedSettings {
    #[serde(default, deserialize_with = "de_noise")]
    noise: f64,
    #[serde(default, deserialize_with = "de_noise_seed")]
    noise_seed: u64,
}

// Each setting has its own reader so that a value of the wrong type or range is reported with
// its key: serde's own messages ("invalid type: string, expected usize") name no field.

fn de_dim<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "`dim` must be a whole number of dimensions, got {v}"
            ))
        })
}

fn de_noise<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "`noise` (the standard deviation of the noise) must be a number ≥ 0, got {v}"
            ))
        })
}

fn de_noise_seed<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    v.as_u64().ok_or_else(|| {
        D::Error::custom(format!("`noise_seed` must be a whole number ≥ 0, got {v}"))
    })
}

/// Makes the objective of one [`Function`] from its settings:
///
/// - `dim` (variable-dimension functions only): the number of coordinates, within
///   [`Function::dims`]; default [`Function::default_dim`]. Refused on fixed-dimension functions.
/// - `noise`: the standard deviation of Gaussian noise added to each value; default 0 (none).
/// - `noise_seed`: the seed of that noise; default 0. The noise of trial `n` is drawn from
///   [`trial_rng`]`(noise_seed, n)`, so a noisy run reproduces whatever order trials finish in.
///
/// Any other key is refused by name. The objective's [`Objective::optimum`] is that of the
/// noise-free function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticFactory {
    function: Function,
}

impl SyntheticFactory {
    /// The factory of `function`.
    pub fn new(function: Function) -> Self {
        SyntheticFactory { function }
    }

    /// The function it makes objectives of.
    pub fn function(&self) -> Function {
        self.function
    }
}

impl From<Function> for SyntheticFactory {
    fn from(function: Function) -> Self {
        SyntheticFactory::new(function)
    }
}

impl ObjectiveFactory for SyntheticFactory {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            self.function.name(),
            env!("CARGO_PKG_VERSION"),
            self.function.description(),
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        let function = self.function;
        let name = function.name();
        let (dim, noise, noise_seed) = if function.fixed_dim() {
            if settings.get("dim").is_some() {
                return Err(Error::settings(
                    name,
                    format!(
                        "`dim` cannot be set: {name} is defined in {} dimensions only; remove `dim`",
                        function.default_dim()
                    ),
                ));
            }
            let s: FixedSettings = settings.parse(name)?;
            (function.default_dim(), s.noise, s.noise_seed)
        } else {
            let s: VariableSettings = settings.parse(name)?;
            let dim = s.dim.unwrap_or(function.default_dim());
            (dim, s.noise, s.noise_seed)
        };
        let space = function.space(dim)?;
        Ok(Box::new(Synthetic {
            function,
            dim,
            space,
            noise,
            noise_seed,
        }))
    }
}

/// One configured function: what [`SyntheticFactory::create`] returns.
struct Synthetic {
    function: Function,
    dim: usize,
    space: Space,
    noise: f64,
    noise_seed: u64,
}

impl Synthetic {
    /// The point `x0..x{dim-1}` of `params`, or why it cannot be evaluated.
    fn point(&self, params: &Params) -> Result<Vec<f64>, TrialError> {
        let name = self.function.name();
        (0..self.dim)
            .map(|i| {
                let key = Function::param_name(i);
                let value = params.get(&key).ok_or_else(|| {
                    TrialError::failed(format!(
                        "parameter `{key}` is missing: {name} in {} dimensions reads x0 to x{}",
                        self.dim,
                        self.dim - 1
                    ))
                })?;
                // Integers are read as the float they equal; strings and booleans are refused.
                let x = value.as_f64().ok_or_else(|| {
                    TrialError::failed(format!(
                        "parameter `{key}` is a {} ({value}), but {name} needs a float",
                        value.type_name()
                    ))
                })?;
                let (low, high) = self.function.bounds(i);
                if !(low..=high).contains(&x) {
                    return Err(TrialError::failed(format!(
                        "parameter `{key}` = {x} is outside the domain of {name}, [{low}, {high}]"
                    )));
                }
                Ok(x)
            })
            .collect()
    }
}

/// A standard normal draw (Box–Muller, cosine branch): two uniforms per draw.
fn standard_normal(rng: &mut SeedRng) -> f64 {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
}

impl Objective for Synthetic {
    fn space(&self) -> Option<Space> {
        Some(self.space.clone())
    }

    fn metrics(&self) -> Vec<hyperplug_core::Metric> {
        self.function.metrics()
    }

    fn optimum(&self) -> Option<Vec<f64>> {
        Some(self.function.optimum(self.dim))
    }

    /// The function at the trial's point. With `noise`, each value (in metric order) gets
    /// `noise · z`, `z` a standard normal draw from `trial_rng(noise_seed, trial number)`, and the
    /// noise-free values are kept as attributes `noiseless_<metric>`.
    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let x = self.point(params)?;
        let mut evaluation = Evaluation::from(self.function.evaluate(&x));
        if self.noise > 0.0 {
            let mut rng = trial_rng(self.noise_seed, ctx.number());
            for (value, metric) in evaluation.values.iter_mut().zip(self.function.metrics()) {
                evaluation
                    .attrs
                    .insert(format!("noiseless_{}", metric.name), Value::Float(*value));
                *value += self.noise * standard_normal(&mut rng);
            }
        }
        Ok(evaluation)
    }
}
