//! An example plugin: `local-search`, a sampler that mostly perturbs the best trial so far and
//! sometimes explores uniformly. It is written as an outside author would write one, against
//! `hyperplug-sdk` alone, and built as a `cdylib` that `hyperplug` loads from its plugin path.
//!
//! Each parameter is perturbed in the unit cube that `Domain::to_unit` / `from_unit` define, so
//! log scales, steps and categorical choices need no special cases here.
//!
//! It logs its settings at `debug` with the `log` crate the SDK re-exports: the host writes the
//! line in its own log (`hyperplug -v run ...`).

use hyperplug_sdk::rand::Rng;
use hyperplug_sdk::serde::Deserialize;
use hyperplug_sdk::{
    AskContext, Capabilities, Error, Params, PluginInfo, Strategy, StrategyFactory, StudySetup,
    TrialState, log, trial_rng,
};

/// The factory the plugin exports.
pub struct LocalSearch;

#[derive(Deserialize)]
#[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields, default)]
struct Settings {
    /// Standard deviation of a step, as a fraction of each parameter's range.
    sigma: f64,
    /// Probability of a uniform draw instead of a step.
    explore: f64,
    /// Uniform draws before the search starts from the best.
    startup: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sigma: 0.1,
            explore: 0.2,
            startup: 10,
        }
    }
}

impl StrategyFactory for LocalSearch {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "local-search",
            env!("CARGO_PKG_VERSION"),
            "perturbs the best trial so far; explores uniformly now and then",
            Capabilities {
                categorical: true,
                conditional: true,
                multi_objective: false,
                parallel: true,
            },
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: Settings = setup.settings.parse("local-search")?;
        if !(s.sigma > 0.0 && s.sigma <= 1.0) {
            return Err(Error::settings(
                "local-search",
                format!("`sigma` must be in (0, 1], got {}", s.sigma),
            ));
        }
        if !(0.0..=1.0).contains(&s.explore) {
            return Err(Error::settings(
                "local-search",
                format!("`explore` must be in [0, 1], got {}", s.explore),
            ));
        }
        log::debug!(
            "local-search: sigma {}, explore {}, startup {}",
            s.sigma,
            s.explore,
            s.startup
        );
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
            Some(best) if ctx.trials.len() >= self.s.startup && !explore => ctx.space.assign(|p| {
                // A parameter the best trial lacks (its condition did not hold there) starts fresh.
                match best.params.get(&p.name).and_then(|v| p.domain.to_unit(v)) {
                    Some(u) => {
                        let step = self.s.sigma * normal(&mut rng);
                        p.domain.from_unit((u + step).clamp(0.0, 1.0))
                    }
                    None => p.domain.from_unit(rng.random()),
                }
            }),
            _ => ctx.space.assign(|p| p.domain.from_unit(rng.random())),
        })
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

hyperplug_sdk::export_plugin!(strategies: [LocalSearch]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&LocalSearch, &hyperplug_sdk::Settings::default());
    }

    #[test]
    fn refuses_bad_settings_by_name() {
        let space = hyperplug_sdk::Space::new(vec![]).unwrap();
        let settings = hyperplug_sdk::Settings::default().with("sigma", 0.0);
        let setup = StudySetup {
            space: &space,
            directions: &[hyperplug_sdk::Direction::Minimize],
            seed: 0,
            settings: &settings,
        };
        let err = LocalSearch.create(&setup).err().unwrap().to_string();
        assert!(err.contains("`sigma`"), "{err}");
    }
}
