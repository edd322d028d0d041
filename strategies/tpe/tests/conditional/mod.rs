//! Conditional problems of mixed parameters for TPE's development and validation
//! (docs/benchmarks/tpe.md): a categorical choice decides which floats and ints exist, the global
//! optimum lies in a narrow basin of one branch and a wide plateau in another. Used by the tests
//! (`tests/tpe.rs`) and by `examples/conditional.rs`; `bench/compare/conditional.py` mirrors them
//! for Optuna.
//!
//! - `plateau` (development): `branch` a or b. Under a, `x` in [0, 1] and `k` in 1..=8 reach
//!   0.02 at (0.73, 6), and only 6.5 % of random draws of a are below 0.1; under b, `y` (log,
//!   [1e-3, 1]) and `m` in 0..=4 give 0.095 to 0.14, 0.095 over 85 % of `y` when `m` = 2.
//! - `models` (validation, a different shape): `model` linear, tree or net with three to four
//!   parameters each, one nested two deep (`l1_ratio` exists only for an elastic-net penalty),
//!   stepped and log-scaled ints. The tree branch is a broad basin reaching 0.2; the optimum,
//!   0.05, is a narrow basin of the net branch in learning rate, depth and width.
//! - `branches` (development, added with `branch_prior_weight`): `kind` p, q, r or s. Three
//!   branches of one parameter each are easy plateaus (0.15, 0.12 and 0.10 at their best); the
//!   fourth, s, holds the optimum 0 in three parameters (two floats and an int) but averages
//!   about 1 under random draws. It asks for a branch choice that keeps exploring, as `plateau`
//!   does, and punishes exploring too much: four branches to spread trials over, and the
//!   optimum's branch needs many trials of its own.
//! - `focus` (development, the counterweight): `kind` a, b, c or d. a holds the optimum 0 in two
//!   floats and an int and is also the best branch on average (about 0.35 under random draws);
//!   b, c and d are flat at 0.5 to 0.525. Trials spent on the other branches are wasted here.

use hyperplug_core::{Domain, Param, Params, Space};

/// A conditional problem: its space, its objective (minimized), its optimum, and the best value
/// outside the optimum's branch (a run whose best is at or above it is stuck there).
pub struct Problem {
    pub name: &'static str,
    pub space: fn() -> Space,
    pub value: fn(&Params) -> f64,
    pub optimum: f64,
    pub trap: f64,
}

/// The development problems and the validation one: `plateau`, `models`, `branches`, `focus`.
pub const PROBLEMS: [Problem; 4] = [
    Problem {
        name: "plateau",
        space: plateau_space,
        value: plateau,
        optimum: 0.02,
        trap: 0.095,
    },
    Problem {
        name: "models",
        space: models_space,
        value: models,
        optimum: 0.05,
        trap: 0.2,
    },
    Problem {
        name: "branches",
        space: branches_space,
        value: branches,
        optimum: 0.0,
        trap: 0.1,
    },
    Problem {
        name: "focus",
        space: focus_space,
        value: focus,
        optimum: 0.0,
        trap: 0.5,
    },
];

fn num(p: &Params, name: &str) -> f64 {
    p.get(name).and_then(|v| v.as_f64()).unwrap_or(f64::NAN)
}

fn is(p: &Params, name: &str, choice: &str) -> bool {
    p.get(name).and_then(|v| v.as_str()) == Some(choice)
}

pub fn plateau_space() -> Space {
    Space::new(vec![
        Param::new("branch", Domain::choice(["a", "b"])),
        Param::new("x", Domain::float(0.0, 1.0)).when("branch", ["a"]),
        Param::new("k", Domain::int(1, 8)).when("branch", ["a"]),
        Param::new("y", Domain::float(1e-3, 1.0).log()).when("branch", ["b"]),
        Param::new("m", Domain::int(0, 4)).when("branch", ["b"]),
    ])
    .expect("a valid space")
}

pub fn plateau(p: &Params) -> f64 {
    if is(p, "branch", "a") {
        let (x, k) = (num(p, "x"), num(p, "k"));
        0.02 + 8.0 * (x - 0.73).powi(2) + 0.03 * (k - 6.0).abs()
    } else {
        // The position of y on its log scale, 0 at 1e-3 and 1 at 1.
        let u = (num(p, "y").ln() - 1e-3f64.ln()) / -(1e-3f64.ln());
        0.095 + 0.01 * (num(p, "m") - 2.0).abs() + 0.2 * (0.15 - u).max(0.0)
    }
}

pub fn models_space() -> Space {
    Space::new(vec![
        Param::new("model", Domain::choice(["linear", "tree", "net"])),
        Param::new("alpha", Domain::float(1e-5, 1.0).log()).when("model", ["linear"]),
        Param::new("penalty", Domain::choice(["l1", "l2", "elastic"])).when("model", ["linear"]),
        Param::new("l1_ratio", Domain::float(0.0, 1.0)).when("penalty", ["elastic"]),
        Param::new("depth", Domain::int(1, 16)).when("model", ["tree"]),
        Param::new("min_leaf", Domain::int(1, 128).log()).when("model", ["tree"]),
        Param::new("layers", Domain::int(1, 5)).when("model", ["net"]),
        Param::new("width", Domain::int(16, 512).step(16.0)).when("model", ["net"]),
        Param::new("lr", Domain::float(1e-5, 0.1).log()).when("model", ["net"]),
    ])
    .expect("a valid space")
}

pub fn models(p: &Params) -> f64 {
    if is(p, "model", "linear") {
        let a = num(p, "alpha").log10() + 2.0;
        let penalty = if is(p, "penalty", "l1") {
            0.02
        } else if is(p, "penalty", "l2") {
            0.0
        } else {
            0.01 + 0.05 * (num(p, "l1_ratio") - 0.3).powi(2)
        };
        0.3 + 0.05 * a * a / 9.0 + penalty
    } else if is(p, "model", "tree") {
        let d = (num(p, "depth") - 10.0) / 8.0;
        let leaf = num(p, "min_leaf").log2() - 3.0;
        0.2 + 0.15 * (d * d).min(1.0) + 0.05 * leaf * leaf / 16.0
    } else {
        let lr = num(p, "lr").log10() + 2.7;
        let w = (num(p, "width") - 272.0) / 496.0;
        0.05 + 0.8 * lr * lr + 0.04 * (num(p, "layers") - 3.0).abs() + 0.3 * w * w
    }
}

pub fn branches_space() -> Space {
    Space::new(vec![
        Param::new("kind", Domain::choice(["p", "q", "r", "s"])),
        Param::new("u", Domain::float(0.0, 1.0)).when("kind", ["p"]),
        Param::new("v", Domain::int(1, 10)).when("kind", ["q"]),
        Param::new("w", Domain::float(1e-4, 1.0).log()).when("kind", ["r"]),
        Param::new("s1", Domain::float(-1.0, 1.0)).when("kind", ["s"]),
        Param::new("s2", Domain::float(-1.0, 1.0)).when("kind", ["s"]),
        Param::new("s3", Domain::int(0, 20)).when("kind", ["s"]),
    ])
    .expect("a valid space")
}

pub fn branches(p: &Params) -> f64 {
    if is(p, "kind", "p") {
        0.15 + 0.2 * (num(p, "u") - 0.5).powi(2)
    } else if is(p, "kind", "q") {
        0.12 + 0.01 * (num(p, "v") - 7.0).abs()
    } else if is(p, "kind", "r") {
        // The position of w on its log scale, 0 at 1e-4 and 1 at 1.
        let u = (num(p, "w").ln() - 1e-4f64.ln()) / -(1e-4f64.ln());
        0.1 + 0.3 * (u - 0.8).powi(2)
    } else {
        (num(p, "s1") - 0.4).powi(2)
            + (num(p, "s2") + 0.2).powi(2)
            + 0.02 * (num(p, "s3") - 13.0).abs()
    }
}

pub fn focus_space() -> Space {
    Space::new(vec![
        Param::new("kind", Domain::choice(["a", "b", "c", "d"])),
        Param::new("x1", Domain::float(0.0, 1.0)).when("kind", ["a"]),
        Param::new("x2", Domain::float(0.0, 1.0)).when("kind", ["a"]),
        Param::new("k", Domain::int(1, 8)).when("kind", ["a"]),
        Param::new("y", Domain::float(0.0, 1.0)).when("kind", ["b", "c", "d"]),
    ])
    .expect("a valid space")
}

pub fn focus(p: &Params) -> f64 {
    if is(p, "kind", "a") {
        (num(p, "x1") - 0.3).powi(2)
            + (num(p, "x2") - 0.7).powi(2)
            + 0.01 * (num(p, "k") - 4.0).abs()
    } else {
        0.5 + 0.1 * (num(p, "y") - 0.5).powi(2)
    }
}
