//! The sampler-overhead benchmark: each strategy alone on a 10-dimensional float space with a
//! trivial objective (the sum of squares), timed per trial up to 10,000 trials.

use hyperplug_core::{
    Capabilities, Domain, Error, Evaluation, Metric, Objective, ObjectiveFactory, Param, Params,
    PluginInfo, Settings, Space, TrialContext, TrialError, TrialOutcome,
};
use serde::Deserialize;

/// The registry name of the overhead objective (registered by `hyperplug bench overhead` only).
pub const SPHERE: &str = "bench-sphere";

/// The trivial objective: `Σ xᵢ²` over `x0..x{dim-1}` in `[-5, 5]`.
pub struct SphereFactory;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SphereSettings {
    dim: usize,
}

impl ObjectiveFactory for SphereFactory {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            SPHERE,
            env!("CARGO_PKG_VERSION"),
            "the sum of squares on [-5, 5]^dim: an objective that costs nothing, for timing strategies",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        let SphereSettings { dim } = settings.parse(SPHERE)?;
        if dim == 0 {
            return Err(Error::settings(SPHERE, "`dim` must be at least 1"));
        }
        let params = (0..dim)
            .map(|i| Param::new(format!("x{i}"), Domain::float(-5.0, 5.0)))
            .collect();
        Ok(Box::new(Sphere {
            space: Space::new(params)?,
        }))
    }
}

struct Sphere {
    space: Space,
}

impl Objective for Sphere {
    fn space(&self) -> Option<Space> {
        Some(self.space.clone())
    }

    fn metrics(&self) -> Vec<Metric> {
        vec![Metric::minimize("value")]
    }

    fn optimum(&self) -> Option<Vec<f64>> {
        Some(vec![0.0])
    }

    fn evaluate(&self, params: &Params, _ctx: &mut dyn TrialContext) -> TrialOutcome {
        let mut sum = 0.0;
        for (name, value) in params {
            let x = value
                .as_f64()
                .ok_or_else(|| TrialError::failed(format!("`{name}` is not a number")))?;
            sum += x * x;
        }
        Ok(Evaluation::from(sum))
    }
}
