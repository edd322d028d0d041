//! Quasi-Monte Carlo search: scrambled Sobol sequences over the unit cube.
//!
//! Each parameter of the space owns one dimension of a Sobol sequence (in space order; an
//! inactive conditional parameter simply ignores its coordinate) and trial `n` takes point `n`,
//! mapped through [`Domain::from_unit`](hyperplug_core::Domain::from_unit). So parallel asks get
//! different points, a study reproduces whatever order its trials finish in, and the first `2^k`
//! trials cover every axis evenly: each of the `2^k` equal bins of an axis holds exactly one.
//!
//! Settings: `scramble = true` (default) applies an Owen scramble seeded by the study seed,
//! which keeps that stratification while making the points random and seed-dependent;
//! `scramble = false` gives the plain Sobol sequence, the same for every seed.
//!
//! Limits, from the Sobol tables used (the `sobol_burley` crate): at most
//! [`MAX_DIMENSIONS`] parameters, refused at creation; [`BLOCK`] points per sequence. Past
//! that, scrambled studies continue with a fresh, independently scrambled sequence per block of
//! `BLOCK` trials; an unscrambled study is exhausted.
//!
//! ```
//! use hyperplug_core::{Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_qmc::Qmc;
//!
//! let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]);
//! let plain = Settings::default().with("scramble", false);
//! let mut study = Study::new(config, &Qmc, &plain).unwrap();
//! let xs: Vec<f64> = (0..4).map(|_| study.ask().unwrap().params["x"].as_f64().unwrap()).collect();
//! assert_eq!(xs, [0.0, 0.5, 0.25, 0.75]);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `rand`, `serde` and `sobol_burley`
//! (pure Rust, `no_std`) only; no IO, no FFI, no global RNG.
#![forbid(unsafe_code)]

use hyperplug_core::{
    AskContext, Capabilities, Error, Params, PluginInfo, SeedRng, Space, Strategy, StrategyFactory,
    StudySetup,
};
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use sobol_burley::parts::{owen_scramble_rev, sobol_rev};

/// The name study files use for this strategy.
const NAME: &str = "qmc";

/// The most parameters a space may have: the dimensions of the Sobol tables.
pub const MAX_DIMENSIONS: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// Points in one Sobol sequence of the tables (2^16).
pub const BLOCK: u64 = 1 << 16;

/// Makes quasi-Monte Carlo strategies. Setting: `scramble` (default `true`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Qmc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QmcSettings {
    #[serde(default = "yes")]
    scramble: bool,
}

fn yes() -> bool {
    true
}

impl StrategyFactory for Qmc {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Quasi-Monte Carlo: a scrambled Sobol sequence, one dimension per parameter.",
            Capabilities::all(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let settings: QmcSettings = setup.settings.parse(NAME)?;
        check_dimensions(setup.space)?;
        Ok(Box::new(QmcStrategy {
            sobol: Sobol::new(setup.seed, settings.scramble),
        }))
    }
}

fn check_dimensions(space: &Space) -> Result<(), Error> {
    if space.len() > MAX_DIMENSIONS {
        return Err(Error::MissingCapability {
            strategy: NAME.into(),
            missing: vec!["more than 256 parameters (the dimensions of its Sobol tables)"],
        });
    }
    Ok(())
}

struct QmcStrategy {
    sobol: Sobol,
}

impl Strategy for QmcStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        check_dimensions(ctx.space)?;
        let Some(units) = self.sobol.point(ctx.number, ctx.space.len()) else {
            return Err(Error::Exhausted(format!(
                "the unscrambled Sobol sequence has {BLOCK} points; set `scramble = true` for more"
            )));
        };
        let params = ctx.space.params();
        Ok(ctx.space.assign(|p| {
            let d = params.iter().position(|q| q.name == p.name).unwrap_or(0);
            p.domain.from_unit(units.get(d).copied().unwrap_or(0.5))
        }))
    }
}

/// Points of the (optionally scrambled) Sobol sequence in `[0, 1)^dims`.
struct Sobol {
    seed: u64,
    scramble: bool,
    /// The scramble keys of the last block used, per dimension: regenerated only when a study
    /// crosses into another block of `BLOCK` trials.
    keys: Option<(u64, Vec<u32>)>,
}

impl Sobol {
    fn new(seed: u64, scramble: bool) -> Self {
        Sobol {
            seed,
            scramble,
            keys: None,
        }
    }

    /// Point `n`, or `None` past the end of an unscrambled sequence. `dims <= MAX_DIMENSIONS`.
    fn point(&mut self, n: u64, dims: usize) -> Option<Vec<f64>> {
        let block = n / BLOCK;
        // The tables take the index bit-reversed.
        let index_rev = ((n % BLOCK) as u32).reverse_bits();
        if !self.scramble {
            if block > 0 {
                return None;
            }
            return Some(
                (0..dims as u32)
                    .map(|d| to_unit(sobol_rev(index_rev, d).reverse_bits()))
                    .collect(),
            );
        }
        let keys = self.keys(block, dims);
        Some(
            (0..dims as u32)
                .zip(keys)
                .map(|(d, &key)| {
                    to_unit(owen_scramble_rev(sobol_rev(index_rev, d), key).reverse_bits())
                })
                .collect(),
        )
    }

    /// One random 32-bit Owen scramble key per dimension for `block`, from the study seed (the
    /// scramble needs well-mixed keys, which ChaCha gives).
    fn keys(&mut self, block: u64, dims: usize) -> &[u32] {
        let stale = !matches!(&self.keys, Some((b, k)) if *b == block && k.len() >= dims);
        if stale {
            let mut rng = SeedRng::seed_from_u64(self.seed);
            rng.set_stream(block);
            let keys = (0..MAX_DIMENSIONS).map(|_| rng.random()).collect();
            self.keys = Some((block, keys));
        }
        match &self.keys {
            Some((_, k)) => &k[..dims.min(k.len())],
            None => &[],
        }
    }
}

/// A 32-bit fixed-point fraction as a float in `[0, 1)`, every bit kept (f64 holds 53).
fn to_unit(x: u32) -> f64 {
    f64::from(x) / 4_294_967_296.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use hyperplug_core::{Direction, Domain, Param, Settings, Value};

    use super::*;

    fn space(params: Vec<Param>) -> Space {
        Space::new(params).expect("test space is valid")
    }

    fn create(space: &Space, settings: &Settings, seed: u64) -> Result<Box<dyn Strategy>, Error> {
        Qmc.create(&StudySetup {
            space,
            directions: &[Direction::Minimize],
            seed,
            settings,
        })
    }

    fn ask(
        strategy: &mut dyn Strategy,
        space: &Space,
        seed: u64,
        number: u64,
    ) -> Result<Params, Error> {
        strategy.ask(&AskContext {
            space,
            directions: &[Direction::Minimize],
            seed,
            trials: &[],
            running: &[],
            number,
        })
    }

    fn points(seed: u64, scramble: bool, n: u64, dims: usize) -> Vec<Vec<f64>> {
        let mut sobol = Sobol::new(seed, scramble);
        (0..n)
            .map(|i| sobol.point(i, dims).expect("within the first block"))
            .collect()
    }

    /// Whether `pts` (2^k of them, 2-D) put exactly one point in every elementary box of area
    /// 2^-k: 2^a by 2^(k-a) bins for every a, which includes one per bin on each axis (a = k and
    /// a = 0). Sobol's first two dimensions are a (0, m, 2)-net, and Owen scrambling keeps it.
    fn is_net(pts: &[Vec<f64>], k: u32) -> bool {
        assert_eq!(pts.len(), 1 << k);
        (0..=k).all(|a| {
            let boxes: BTreeSet<(u64, u64)> = pts
                .iter()
                .map(|p| {
                    let x = (p[0] * f64::from(1u32 << a)) as u64;
                    let y = (p[1] * f64::from(1u32 << (k - a))) as u64;
                    (x, y)
                })
                .collect();
            boxes.len() == pts.len()
        })
    }

    fn one_per_bin(values: impl Iterator<Item = f64>, k: u32) -> bool {
        let bins: BTreeSet<u64> = values.map(|x| (x * f64::from(1u32 << k)) as u64).collect();
        bins.len() == 1 << k
    }

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Qmc, &Settings::default());
    }

    #[test]
    fn the_plain_sequence_starts_with_the_textbook_points() {
        // Point n XORs the direction numbers v_i of the bits of n (natural order, not Gray
        // code). Joe-Kuo: v_1 = 1/2 everywhere; v_2 = 1/4, 3/4, 3/4 in dimensions 0, 1, 2.
        let pts = points(0, false, 4, 3);
        assert_eq!(
            pts,
            [
                [0.0, 0.0, 0.0],
                [0.5, 0.5, 0.5],
                [0.25, 0.75, 0.75],
                [0.75, 0.25, 0.25]
            ]
        );
        // And the plain sequence ignores the seed.
        assert_eq!(points(9, false, 64, 5), points(0, false, 64, 5));
    }

    #[test]
    fn the_first_power_of_two_points_are_stratified_on_each_axis() {
        for k in 1..=10 {
            let n = 1u64 << k;
            let plain = points(0, false, n, 2);
            for axis in 0..2 {
                assert!(
                    one_per_bin(plain.iter().map(|p| p[axis]), k),
                    "k={k} axis {axis}"
                );
            }
            assert!(is_net(&plain, k), "plain, k={k}");
            for seed in [1, 2, 0xdead_beef] {
                let scrambled = points(seed, true, n, 2);
                for axis in 0..2 {
                    assert!(
                        one_per_bin(scrambled.iter().map(|p| p[axis]), k),
                        "seed {seed} k={k}"
                    );
                }
                assert!(is_net(&scrambled, k), "scrambled seed {seed}, k={k}");
            }
        }
        // Higher dimensions are stratified one by one too (here dimensions 2..8 at 2^8 points).
        let pts = points(3, true, 256, 8);
        for d in 2..8 {
            assert!(one_per_bin(pts.iter().map(|p| p[d]), 8), "dimension {d}");
        }
        // Past a power of two the property need not hold, so the check can fail: 3 points.
        assert!(!one_per_bin(points(0, false, 3, 1).iter().map(|p| p[0]), 2));
    }

    #[test]
    fn scrambled_points_depend_on_the_seed_only() {
        let a = points(1, true, 64, 3);
        assert_eq!(a, points(1, true, 64, 3));
        let b = points(2, true, 64, 3);
        assert!(a.iter().zip(&b).all(|(p, q)| p != q), "every point moves");
        assert_ne!(a, points(0, false, 64, 3));
        // Full 32-bit resolution, not the 16 bits of the plain table.
        assert!(a.iter().flatten().any(|x| (x * 65536.0).fract() != 0.0));
    }

    #[test]
    fn trial_numbers_pick_points_whatever_the_order() {
        let s = space(vec![
            Param::new("x", Domain::float(-1.0, 1.0)),
            Param::new("n", Domain::int(0, 99)),
        ]);
        let mut fwd = create(&s, &Settings::default(), 5).expect("valid");
        let mut back = create(&s, &Settings::default(), 5).expect("valid");
        let a: Vec<Params> = (0..16)
            .map(|n| ask(fwd.as_mut(), &s, 5, n).expect("ok"))
            .collect();
        let mut b: Vec<Params> = (0..16)
            .rev()
            .map(|n| ask(back.as_mut(), &s, 5, n).expect("ok"))
            .collect();
        b.reverse();
        assert_eq!(a, b);
        // 16 points over 100 ints: stratification gives 16 different values.
        let ns: BTreeSet<i64> = a.iter().filter_map(|p| p["n"].as_i64()).collect();
        assert_eq!(ns.len(), 16);
    }

    #[test]
    fn past_one_block_scrambled_runs_go_on_and_plain_runs_end() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        let mut plain = create(&s, &Settings::default().with("scramble", false), 0).expect("valid");
        assert!(ask(plain.as_mut(), &s, 0, BLOCK - 1).is_ok());
        let e = ask(plain.as_mut(), &s, 0, BLOCK).expect_err("the plain sequence ends");
        assert!(
            matches!(&e, Error::Exhausted(m) if m.contains("65536 points")),
            "{e}"
        );

        let mut scrambled = create(&s, &Settings::default(), 0).expect("valid");
        let first = ask(scrambled.as_mut(), &s, 0, 0).expect("ok");
        let next_block = ask(scrambled.as_mut(), &s, 0, BLOCK).expect("scrambled goes on");
        assert_ne!(first, next_block, "a new block is scrambled afresh");
        // Coming back to block 0 gives the same point again.
        assert_eq!(ask(scrambled.as_mut(), &s, 0, 0).expect("ok"), first);
        // The new block is itself stratified.
        let mut sobol = Sobol::new(0, true);
        let xs = (BLOCK..BLOCK + 64).map(|n| sobol.point(n, 1).map_or(f64::NAN, |p| p[0]));
        assert!(one_per_bin(xs, 6));
    }

    #[test]
    fn an_inactive_parameter_leaves_the_others_coordinates_alone() {
        let cond = space(vec![
            Param::new("on", Domain::choice([false, true])),
            Param::new("a", Domain::float(0.0, 1.0)).when("on", [true]),
            Param::new("b", Domain::float(0.0, 1.0)),
        ]);
        let flat = space(vec![
            Param::new("on", Domain::choice([false, true])),
            Param::new("a", Domain::float(0.0, 1.0)),
            Param::new("b", Domain::float(0.0, 1.0)),
        ]);
        let mut c = create(&cond, &Settings::default(), 3).expect("valid");
        let mut f = create(&flat, &Settings::default(), 3).expect("valid");
        let mut inactive = 0;
        for n in 0..32 {
            let p = ask(c.as_mut(), &cond, 3, n).expect("ok");
            let q = ask(f.as_mut(), &flat, 3, n).expect("ok");
            assert_eq!(p["b"], q["b"]);
            assert_eq!(p.contains_key("a"), p["on"] == Value::Bool(true));
            inactive += usize::from(!p.contains_key("a"));
        }
        // The `on` axis is stratified: exactly half of 32 points.
        assert_eq!(inactive, 16);
    }

    #[test]
    fn too_many_parameters_are_refused_at_creation() {
        let wide = |n: usize| {
            space(
                (0..n)
                    .map(|i| Param::new(format!("p{i}"), Domain::float(0.0, 1.0)))
                    .collect(),
            )
        };
        assert!(create(&wide(256), &Settings::default(), 0).is_ok());
        let e = create(&wide(257), &Settings::default(), 0)
            .err()
            .expect("too wide");
        assert_eq!(
            e.to_string(),
            "strategy `qmc` cannot run this study: it does not support more than 256 parameters \
             (the dimensions of its Sobol tables)"
        );
    }

    #[test]
    fn settings_are_checked_by_name() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        for (settings, want) in [
            (
                Settings::default().with("scrambled", true),
                "unknown field `scrambled`",
            ),
            (Settings::default().with("scramble", "yes"), "invalid type"),
        ] {
            match create(&s, &settings, 0) {
                Err(Error::Settings { owner, message }) => {
                    assert_eq!(owner, "qmc");
                    assert!(message.contains(want), "{message}");
                }
                Err(e) => panic!("expected a settings error, got {e}"),
                Ok(_) => panic!("expected a settings error for {}", settings.to_json()),
            }
        }
    }
}
