//! An example of an organization's strategy library: one plugin file that exports several
//! strategies and an objective, so a team ships and versions its algorithms together.
//!
//! - `halton`: the Halton low-discrepancy sequence, shifted by a seeded random offset
//!   (Cranley–Patterson rotation) so that seeds give different but equally even designs.
//! - `latin-hypercube`: blocks of `n` trials forming a seeded Latin hypercube each.
//! - `bowl`: a quadratic bowl around a configurable centre, for smoke tests of a pipeline.

use hyperplug_sdk::rand::Rng;
use hyperplug_sdk::rand::seq::SliceRandom;
use hyperplug_sdk::serde::Deserialize;
use hyperplug_sdk::{
    AskContext, Capabilities, Domain, Error, Evaluation, Metric, Objective, ObjectiveFactory,
    Param, Params, PluginInfo, Settings, Space, Strategy, StrategyFactory, StudySetup,
    TrialContext, TrialError, TrialOutcome, trial_rng,
};

fn sampler_caps() -> Capabilities {
    Capabilities::all()
}

/// The Halton strategy.
pub struct Halton;

impl StrategyFactory for Halton {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "halton",
            env!("CARGO_PKG_VERSION"),
            "Halton sequence with a seeded Cranley-Patterson shift",
            sampler_caps(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        #[derive(Deserialize)]
        #[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields)]
        struct NoSettings {}
        let _: NoSettings = setup.settings.parse("halton")?;
        let primes = first_primes(setup.space.len());
        // One shift per dimension, fixed by the seed.
        let mut rng = trial_rng(setup.seed, u64::MAX);
        let shift = (0..primes.len()).map(|_| rng.random::<f64>()).collect();
        Ok(Box::new(HaltonStrategy { primes, shift }))
    }
}

struct HaltonStrategy {
    primes: Vec<u64>,
    shift: Vec<f64>,
}

impl Strategy for HaltonStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let index = ctx.number + 1; // index 0 is the origin in every base
        Ok(ctx.space.assign(|p| {
            // Parameters keep their dimension whether or not they are active.
            let d = ctx
                .space
                .params()
                .iter()
                .position(|q| q.name == p.name)
                .unwrap_or(0);
            let u = (radical_inverse(index, self.primes[d]) + self.shift[d]).fract();
            p.domain.from_unit(u)
        }))
    }
}

/// The van der Corput radical inverse of `i` in base `b`.
fn radical_inverse(mut i: u64, b: u64) -> f64 {
    let (mut x, mut f) = (0.0, 1.0 / b as f64);
    while i > 0 {
        x += (i % b) as f64 * f;
        i /= b;
        f /= b as f64;
    }
    x
}

fn first_primes(n: usize) -> Vec<u64> {
    let mut primes = Vec::with_capacity(n);
    let mut k = 2u64;
    while primes.len() < n {
        if primes
            .iter()
            .take_while(|&&p| p * p <= k)
            .all(|&p| !k.is_multiple_of(p))
        {
            primes.push(k);
        }
        k += 1;
    }
    primes
}

/// The Latin-hypercube strategy.
pub struct LatinHypercube;

#[derive(Deserialize)]
#[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields, default)]
struct LhsSettings {
    /// Trials per hypercube block.
    n: u64,
}

impl Default for LhsSettings {
    fn default() -> Self {
        LhsSettings { n: 20 }
    }
}

impl StrategyFactory for LatinHypercube {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "latin-hypercube",
            env!("CARGO_PKG_VERSION"),
            "seeded Latin hypercube designs of n trials each",
            sampler_caps(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let s: LhsSettings = setup.settings.parse("latin-hypercube")?;
        if s.n == 0 {
            return Err(Error::settings("latin-hypercube", "`n` must be at least 1"));
        }
        Ok(Box::new(Lhs { n: s.n }))
    }
}

struct Lhs {
    n: u64,
}

impl Strategy for Lhs {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        let (block, row) = (ctx.number / self.n, ctx.number % self.n);
        // Each dimension's permutation depends only on (seed, block, dimension), so any trial's
        // point can be computed alone: parallel asks need no shared state.
        let mut jitter = trial_rng(ctx.seed, ctx.number);
        Ok(ctx.space.assign(|p| {
            let d = ctx
                .space
                .params()
                .iter()
                .position(|q| q.name == p.name)
                .unwrap_or(0) as u64;
            let mut perm: Vec<u64> = (0..self.n).collect();
            perm.shuffle(&mut trial_rng(
                ctx.seed ^ 0x9e37_79b9_7f4a_7c15,
                block * 1_000_003 + d,
            ));
            let u = (perm[row as usize] as f64 + jitter.random::<f64>()) / self.n as f64;
            p.domain.from_unit(u)
        }))
    }
}

/// The bowl objective: the squared distance to a centre, in `dim` dimensions on [-1, 1].
pub struct Bowl;

#[derive(Deserialize)]
#[serde(crate = "hyperplug_sdk::serde", deny_unknown_fields, default)]
struct BowlSettings {
    dim: usize,
    center: f64,
}

impl Default for BowlSettings {
    fn default() -> Self {
        BowlSettings {
            dim: 3,
            center: 0.25,
        }
    }
}

impl ObjectiveFactory for Bowl {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "bowl",
            env!("CARGO_PKG_VERSION"),
            "squared distance to (center, ..., center) on [-1, 1]^dim",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        let s: BowlSettings = settings.parse("bowl")?;
        if s.dim == 0 || s.dim > 1000 {
            return Err(Error::settings(
                "bowl",
                format!("`dim` must be 1 to 1000, got {}", s.dim),
            ));
        }
        if !(-1.0..=1.0).contains(&s.center) {
            return Err(Error::settings("bowl", "`center` must lie in [-1, 1]"));
        }
        Ok(Box::new(BowlObjective(s)))
    }
}

struct BowlObjective(BowlSettings);

impl Objective for BowlObjective {
    fn space(&self) -> Option<Space> {
        let params = (0..self.0.dim)
            .map(|i| Param::new(format!("x{i}"), Domain::float(-1.0, 1.0)))
            .collect();
        Space::new(params).ok()
    }

    fn metrics(&self) -> Vec<Metric> {
        vec![Metric::minimize("distance2")]
    }

    fn optimum(&self) -> Option<Vec<f64>> {
        Some(vec![0.0])
    }

    fn evaluate(&self, params: &Params, _ctx: &mut dyn TrialContext) -> TrialOutcome {
        let mut sum = 0.0;
        for i in 0..self.0.dim {
            let name = format!("x{i}");
            let x = params.get(&name).and_then(|v| v.as_f64()).ok_or_else(|| {
                TrialError::failed(format!("parameter `{name}` is missing or not a number"))
            })?;
            sum += (x - self.0.center).powi(2);
        }
        Ok(Evaluation::from(sum))
    }
}

hyperplug_sdk::export_plugin! {
    strategies: [Halton, LatinHypercube],
    objectives: [Bowl],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_strategies_pass_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Halton, &Settings::default());
        hyperplug_testkit::check_strategy(&LatinHypercube, &Settings::default());
    }

    #[test]
    fn radical_inverse_matches_hand_values() {
        assert_eq!(radical_inverse(1, 2), 0.5);
        assert_eq!(radical_inverse(3, 2), 0.75);
        assert!((radical_inverse(5, 3) - (2.0 / 3.0 + 1.0 / 9.0)).abs() < 1e-15);
        assert_eq!(first_primes(5), vec![2, 3, 5, 7, 11]);
    }

    #[test]
    fn a_latin_hypercube_block_has_one_point_per_stratum() {
        let space = Space::new(vec![
            Param::new("a", Domain::float(0.0, 1.0)),
            Param::new("b", Domain::float(0.0, 1.0)),
        ])
        .unwrap();
        let setup = StudySetup {
            space: &space,
            directions: &[hyperplug_sdk::Direction::Minimize],
            seed: 3,
            settings: &Settings::default().with("n", 10),
        };
        let mut s = LatinHypercube.create(&setup).unwrap();
        for name in ["a", "b"] {
            let mut seen = [false; 10];
            for number in 0..10 {
                let ctx = AskContext {
                    space: &space,
                    directions: setup.directions,
                    seed: 3,
                    trials: &[],
                    running: &[],
                    number,
                };
                let x = s.ask(&ctx).unwrap()[name].as_f64().unwrap();
                seen[(x * 10.0) as usize] = true;
            }
            assert!(seen.iter().all(|&s| s), "{name}: {seen:?}");
        }
    }
}
