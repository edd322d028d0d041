//! `my-org/perturb`: a strategy that perturbs the best trial so far, and now and then samples
//! the whole space. Rename it, keep the shape.
//!
//! What a strategy must respect (docs/PLUGINS.md has the details):
//! - trials arrive in finish order, not in number order;
//! - draw each trial's randomness from `trial_rng(seed, number)`, one stream per trial number,
//!   so that runs reproduce whatever order trials finish in;
//! - the host may create the strategy again (on resume, in each worker): keep nothing that
//!   cannot be rebuilt from `ctx.trials`.

use hyperplug_sdk::rand::Rng;
use hyperplug_sdk::serde::Deserialize;
use hyperplug_sdk::{
    AskContext, Capabilities, Error, Params, PluginInfo, Strategy, StrategyFactory, StudySetup,
    TrialState, log, trial_rng,
};

/// The name study files use: vendor-qualified, so that it never meets another organization's.
pub const NAME: &str = "my-org/perturb";

/// The factory the library exports.
pub struct Perturb;

/// The settings, from the study file's `[strategy]` table. Unknown keys are refused by name.
#[derive(Deserialize)]
#[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields, default)]
struct Settings {
    /// Half-width of a step, as a fraction of each parameter's range.
    radius: f64,
    /// Probability of sampling the whole space instead of stepping.
    explore: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            radius: 0.1,
            explore: 0.25,
        }
    }
}

impl StrategyFactory for Perturb {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "perturbs the best trial so far; samples the whole space now and then",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: false,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: Settings = setup.settings.parse(NAME)?;
        if !(s.radius > 0.0 && s.radius <= 1.0) {
            return Err(Error::settings(
                NAME,
                format!("`radius` must be in (0, 1], got {}", s.radius),
            ));
        }
        if !(0.0..=1.0).contains(&s.explore) {
            return Err(Error::settings(
                NAME,
                format!("`explore` must be in [0, 1], got {}", s.explore),
            ));
        }
        // Lands in the host's log (`hyperplug -v run ...`).
        log::debug!("{NAME}: radius {}, explore {}", s.radius, s.explore);
        Ok(Box::new(Search { s }))
    }
}

struct Search {
    s: Settings,
}

impl Strategy for Search {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let direction = ctx.directions[0];
        let best = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .min_by(|a, b| {
                direction
                    .to_loss(a.values[0])
                    .total_cmp(&direction.to_loss(b.values[0]))
            });
        let explore = rng.random::<f64>() < self.s.explore;
        Ok(match best {
            Some(best) if !explore => ctx.space.assign(|p| {
                // Steps in the unit cube: log scales, steps and choices need no special case.
                match best.params.get(&p.name).and_then(|v| p.domain.to_unit(v)) {
                    Some(u) => {
                        let step = self.s.radius * (2.0 * rng.random::<f64>() - 1.0);
                        p.domain.from_unit((u + step).clamp(0.0, 1.0))
                    }
                    // Absent from the best trial (its condition did not hold there).
                    None => p.domain.from_unit(rng.random()),
                }
            }),
            _ => ctx.space.assign(|p| p.domain.from_unit(rng.random())),
        })
    }
}

hyperplug_sdk::export_plugin!(strategies: [Perturb]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_conformance_suite_in_process() {
        hyperplug_testkit::check_strategy(&Perturb, &hyperplug_sdk::Settings::default());
    }
}
