//! The synthetic functions: values at known points, optima, Pareto fronts, settings and the
//! objective trait.

use std::f64::consts::PI;

use hyperplug_core::{
    Direction, Domain, Error, Objective, ObjectiveFactory, Params, SeedRng, Settings, TrialError,
    Value, dominates,
};
use hyperplug_synthetic::*;
use hyperplug_testkit::RecordingContext;
use rand::{Rng, SeedableRng};

fn close(actual: f64, expected: f64, tol: f64) {
    assert!(
        (actual - expected).abs() <= tol,
        "expected {expected}, got {actual} (off by {:e})",
        (actual - expected).abs()
    );
}

fn create(function: Function, settings: &Settings) -> Box<dyn Objective> {
    SyntheticFactory::new(function)
        .create(settings)
        .unwrap_or_else(|e| panic!("{function} with {settings:?}: {e}"))
}

fn create_err(function: Function, settings: &Settings) -> String {
    match SyntheticFactory::new(function).create(settings) {
        Ok(_) => panic!("{function} accepted {settings:?}"),
        Err(Error::Settings { owner, message }) => {
            assert_eq!(owner, function.name());
            message
        }
        Err(e) => panic!("{function}: expected a settings error, got {e:?}"),
    }
}

fn params_of(x: &[f64]) -> Params {
    x.iter()
        .enumerate()
        .map(|(i, v)| (format!("x{i}"), Value::Float(*v)))
        .collect()
}

fn single_objective() -> impl Iterator<Item = Function> {
    Function::ALL
        .into_iter()
        .filter(|f| !f.is_multi_objective())
}

/// Dimensions worth testing for `f`: its only one, or its least, 2, 5 and 10.
fn some_dims(f: Function) -> Vec<usize> {
    if f.fixed_dim() {
        return vec![*f.dims().start()];
    }
    let mut dims = vec![*f.dims().start(), 2, 5, 10];
    dims.retain(|d| f.dims().contains(d));
    dims.dedup();
    dims
}

fn uniform_point(f: Function, dim: usize, rng: &mut SeedRng) -> Vec<f64> {
    (0..dim)
        .map(|i| {
            let (low, high) = f.bounds(i);
            rng.random_range(low..=high)
        })
        .collect()
}

#[test]
fn factories_in_order_with_their_names() {
    let names: Vec<String> = factories().iter().map(|f| f.info().name).collect();
    assert_eq!(
        names,
        [
            "branin",
            "hartmann3",
            "hartmann6",
            "rosenbrock",
            "ackley",
            "levy",
            "styblinski_tang",
            "rastrigin",
            "griewank",
            "zdt1",
            "zdt2",
            "zdt3",
            "dtlz2"
        ]
    );
    for f in Function::ALL {
        assert_eq!(Function::from_name(f.name()), Some(f));
        assert_eq!(f.to_string(), f.name());
    }
    assert_eq!(Function::from_name("Branin"), None);
    assert_eq!(factories()[0].info().version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn branin_at_its_three_minimizers() {
    close(BRANIN_OPTIMUM, 5.0 / (4.0 * PI), 1e-15);
    for x in [[-PI, 12.275], [PI, 2.275], [9.42478, 2.475]] {
        close(branin(&x), 0.397_887_357_729_738, 1e-9);
    }
    for x in BRANIN_MINIMIZERS {
        close(branin(&x), BRANIN_OPTIMUM, 1e-12);
    }
}

#[test]
fn hartmann_at_the_quoted_minimizers() {
    close(
        hartmann3(&[0.114614, 0.555649, 0.852547]),
        -3.86278214782076,
        1e-9,
    );
    close(
        hartmann6(&[0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
        -3.32236801141551,
        1e-9,
    );
    close(hartmann3(&HARTMANN3_MINIMIZER), HARTMANN3_OPTIMUM, 1e-13);
    close(hartmann6(&HARTMANN6_MINIMIZER), HARTMANN6_OPTIMUM, 1e-13);
    // The minimizers are stationary: moving one coordinate either way only raises the value.
    for (f, x) in [
        (hartmann3 as fn(&[f64]) -> f64, HARTMANN3_MINIMIZER.to_vec()),
        (hartmann6, HARTMANN6_MINIMIZER.to_vec()),
    ] {
        for i in 0..x.len() {
            for h in [-1e-4, 1e-4] {
                let mut y = x.clone();
                y[i] += h;
                assert!(f(&y) > f(&x), "coordinate {i} moved by {h}");
            }
        }
    }
}

#[test]
fn styblinski_tang_at_its_minimizer() {
    for d in [1, 2, 7] {
        close(
            styblinski_tang(&vec![-2.903534; d]),
            -39.16616570377142 * d as f64,
            1e-9,
        );
    }
    close(
        STYBLINSKI_TANG_OPTIMUM_PER_DIM,
        styblinski_tang(&[STYBLINSKI_TANG_MINIMIZER]),
        1e-13,
    );
    // The minimizer is a root of the derivative 2x³ - 16x + 5/2.
    let x = STYBLINSKI_TANG_MINIMIZER;
    close(2.0 * x.powi(3) - 16.0 * x + 2.5, 0.0, 1e-12);
}

#[test]
fn every_function_reaches_its_optimum_at_its_minimizers() {
    for f in single_objective() {
        for dim in some_dims(f) {
            let optimum = f.optimum(dim);
            assert_eq!(optimum.len(), 1);
            let minimizers = f.minimizers(dim);
            assert!(!minimizers.is_empty(), "{f}");
            for x in minimizers {
                assert_eq!(x.len(), dim);
                let value = f.evaluate(&x);
                assert_eq!(value.len(), 1);
                close(value[0], optimum[0], 1e-9);
            }
        }
    }
    for f in [Function::Zdt1, Function::Zdt2, Function::Zdt3] {
        assert!(f.minimizers(30).is_empty());
    }
}

#[test]
fn values_at_hand_computed_points() {
    close(branin(&[0.0, 0.0]), 56.0 - 10.0 / (8.0 * PI), 1e-12);
    close(branin(&[0.0, 0.0]), 55.602_112_642_270_26, 1e-12);
    // Reference values computed separately with 40-digit arithmetic.
    close(hartmann3(&[0.5; 3]), -0.628_022_096_175_061_4, 1e-13);
    close(hartmann3(&[0.0; 3]), -0.067_974_116_590_134_67, 1e-13);
    close(hartmann6(&[0.5; 6]), -0.505_314_991_702_233_1, 1e-13);
    for d in [2, 3, 10] {
        assert_eq!(rosenbrock(&vec![0.0; d]), (d - 1) as f64);
    }
    assert_eq!(rosenbrock(&[1.0, 2.0]), 100.0);
    close(rastrigin(&[1.0, 1.0]), 2.0, 1e-12);
    close(rastrigin(&[0.5]), 10.0 + 0.25 + 10.0, 1e-12);
    // 20 (1 - e^-0.2): cos(2π) = 1, so the second exponential cancels e.
    close(ackley(&[1.0]), 20.0 * (1.0 - (-0.2f64).exp()), 1e-12);
    close(ackley(&[1.0]), 3.625_384_938_440_363, 1e-12);
    // w = 0: sin²(0) + (0 - 1)² (1 + sin²(0)).
    close(levy(&[-3.0]), 1.0, 1e-12);
    // w = (0, 1): sin²(0) + (0 - 1)² (1 + 10 sin²(1)) + 0.
    close(levy(&[-3.0, 1.0]), 1.0 + 10.0 * 1f64.sin().powi(2), 1e-12);
    close(griewank(&[PI]), 2.0 + PI * PI / 4000.0, 1e-12);
    close(
        griewank(&[0.0, 2.0f64.sqrt() * PI]),
        0.0 + 2.0 * PI * PI / 4000.0 + 2.0,
        1e-12,
    );
    assert_eq!(styblinski_tang(&[0.0, 0.0]), 0.0);
    assert_eq!(styblinski_tang(&[1.0]), -5.0);
    // g = 10 at x = (0.25, 1, …, 1), whatever the dimension.
    for d in [2, 5, 30] {
        let mut x = vec![1.0; d];
        x[0] = 0.25;
        let f1 = zdt1(&x);
        close(f1[0], 0.25, 0.0);
        close(f1[1], 10.0 * (1.0 - 0.025f64.sqrt()), 1e-12);
        close(f1[1], 8.418_861_169_915_81, 1e-12);
        close(zdt2(&x)[1], 10.0 - 0.00625, 1e-12);
        // sin(2.5π) = 1.
        close(zdt3(&x)[1], 10.0 * (1.0 - 0.025f64.sqrt() - 0.025), 1e-12);
    }
}

#[test]
#[should_panic(expected = "branin takes 2 coordinates, got 3")]
fn pure_functions_refuse_the_wrong_length() {
    branin(&[0.0, 0.0, 0.0]);
}

#[test]
fn no_random_point_beats_the_optimum() {
    let mut rng = SeedRng::seed_from_u64(7);
    for f in Function::ALL {
        for dim in some_dims(f) {
            let optimum = f.optimum(dim);
            let mut best = vec![f64::INFINITY; optimum.len()];
            for _ in 0..4000 {
                let x = uniform_point(f, dim, &mut rng);
                for (b, v) in best.iter_mut().zip(f.evaluate(&x)) {
                    assert!(v.is_finite(), "{f} at {x:?}");
                    *b = b.min(v);
                }
            }
            for (b, o) in best.iter().zip(&optimum) {
                assert!(*b >= o - 1e-12, "{f} in {dim}-D: {b} beats the optimum {o}");
            }
            // And the sampling is not trivially at the optimum either (in 1-D it may come close).
            if !f.is_multi_objective() && dim > 1 {
                assert!(best[0] > optimum[0] + 1e-6, "{f} in {dim}-D");
            }
        }
    }
}

const MIN2: [Direction; 2] = [Direction::Minimize, Direction::Minimize];

/// Points on a true Pareto front, by count.
type FrontFn = fn(usize) -> Vec<[f64; 2]>;
/// A ZDT function of a point.
type ZdtFn = fn(&[f64]) -> [f64; 2];

fn zdt_fronts() -> [(Function, FrontFn, ZdtFn); 3] {
    [
        (Function::Zdt1, zdt1_front, zdt1),
        (Function::Zdt2, zdt2_front, zdt2),
        (Function::Zdt3, zdt3_front, zdt3),
    ]
}

#[test]
fn zdt_front_points_are_mutually_non_dominated() {
    for (f, front, _) in zdt_fronts() {
        assert_eq!(front(0), Vec::<[f64; 2]>::new());
        assert_eq!(front(1), vec![[0.0, 1.0]]);
        assert_eq!(f.pareto_front(17), Some(front(17)));
        for n in (2..=120).chain([500, 1000, 1001]) {
            let points = front(n);
            assert_eq!(points.len(), n);
            assert_eq!(points[0], [0.0, 1.0]);
            for w in points.windows(2) {
                assert!(
                    w[0][0] < w[1][0] && w[0][1] > w[1][1],
                    "{f}, n = {n}: {w:?}"
                );
            }
            // Increasing f1 with decreasing f2 already implies it; check with core's definition.
            for (i, p) in points.iter().enumerate() {
                for q in &points[i + 1..] {
                    assert!(!dominates(p, q, &MIN2) && !dominates(q, p, &MIN2));
                }
            }
        }
    }
    let ends = [zdt1_front(11), zdt2_front(11)];
    for points in ends {
        assert_eq!(points[10], [1.0, 0.0]);
        close(points[5][0], 0.5, 1e-15);
    }
    close(zdt1_front(3)[1][1], 1.0 - 0.5f64.sqrt(), 1e-15);
    close(zdt2_front(3)[1][1], 0.75, 1e-15);
    let last = zdt3_front(50)[49];
    assert_eq!(last[0], ZDT3_FRONT_SEGMENTS[4].1);
    close(last[1], ZDT3_MIN_F2, 1e-15);
    assert_eq!(Function::Rosenbrock.pareto_front(10), None);
}

#[test]
fn zdt3_front_points_lie_on_its_pieces() {
    for p in zdt3_front(997) {
        assert!(
            ZDT3_FRONT_SEGMENTS
                .iter()
                .any(|(a, b)| p[0] >= *a && p[0] <= *b),
            "{p:?} is off the front"
        );
    }
    // The points spread over every piece, evenly by length.
    let points = zdt3_front(1000);
    for (a, b) in ZDT3_FRONT_SEGMENTS {
        let count = points.iter().filter(|p| p[0] >= a && p[0] <= b).count();
        let share = (b - a) / ZDT3_FRONT_SEGMENTS.iter().map(|(a, b)| b - a).sum::<f64>();
        assert!(
            (count as f64 - 1000.0 * share).abs() <= 2.0,
            "[{a}, {b}]: {count}"
        );
    }
}

#[test]
fn zdt_at_x_t_0_lies_on_the_front() {
    for (f, front, func) in zdt_fronts() {
        let curve = front(4001);
        let ts: Vec<f64> = match f {
            Function::Zdt3 => ZDT3_FRONT_SEGMENTS
                .iter()
                .flat_map(|(a, b)| (0..=10).map(move |k| a + (b - a) * (0.05 + 0.09 * k as f64)))
                .collect(),
            _ => (0..=20).map(|k| k as f64 / 20.0).collect(),
        };
        for d in [2, 3, 30] {
            for &t in &ts {
                let mut x = vec![0.0; d];
                x[0] = t;
                let p = func(&x);
                assert_eq!(p[0], t);
                let expected = match f {
                    Function::Zdt1 => 1.0 - t.sqrt(),
                    Function::Zdt2 => 1.0 - t * t,
                    _ => 1.0 - t.sqrt() - t * (10.0 * PI * t).sin(),
                };
                close(p[1], expected, 1e-14);
                // No point of the sampled front dominates it (beyond rounding).
                let nudged = [p[0] - 1e-12, p[1] - 1e-12];
                assert!(
                    curve.iter().all(|q| !dominates(q, &nudged, &MIN2)),
                    "{f} at t = {t}"
                );
            }
        }
    }
}

#[test]
fn zdt3_pieces_are_the_running_minima_of_its_curve() {
    let curve = |f1: f64| 1.0 - f1.sqrt() - f1 * (10.0 * PI * f1).sin();
    // Each piece ends at a local minimum; each later piece starts at the level of the previous end.
    for (k, (a, b)) in ZDT3_FRONT_SEGMENTS.iter().enumerate() {
        assert!(a < b);
        assert!(
            curve(b - 1e-6) > curve(*b) && curve(b + 1e-6) > curve(*b),
            "piece {k}"
        );
        if k > 0 {
            let previous_end = ZDT3_FRONT_SEGMENTS[k - 1].1;
            close(curve(*a), curve(previous_end), 1e-14);
            assert!(curve(a - 1e-6) > curve(previous_end));
        }
    }
    close(curve(ZDT3_FRONT_SEGMENTS[4].1), ZDT3_MIN_F2, 1e-15);
    // A dense scan: a grid point is non-dominated among the grid exactly when its f2 is below
    // all f2 to its left. Within a grid step of a piece's ends the grid cannot tell.
    let n = 200_000;
    let margin = 2.0 / n as f64;
    let mut running_min = f64::INFINITY;
    let mut on_front_count = 0;
    for i in 0..=n {
        let f1 = i as f64 / n as f64;
        let f2 = curve(f1);
        let on_front = f2 < running_min;
        running_min = running_min.min(f2);
        let near = |m: f64| {
            ZDT3_FRONT_SEGMENTS
                .iter()
                .any(|(a, b)| f1 >= a - m && f1 <= b + m)
        };
        if on_front {
            on_front_count += 1;
            assert!(
                near(margin),
                "f1 = {f1} is non-dominated but off the pieces"
            );
        } else {
            assert!(!near(-margin), "f1 = {f1} is dominated but inside a piece");
        }
    }
    let total: f64 = ZDT3_FRONT_SEGMENTS.iter().map(|(a, b)| b - a).sum();
    assert!(
        (on_front_count as f64 - total * n as f64).abs() < 12.0,
        "{on_front_count}"
    );
}

#[test]
fn no_random_zdt_point_dominates_the_front() {
    let mut rng = SeedRng::seed_from_u64(11);
    for (f, front, func) in zdt_fronts() {
        let points = front(300);
        for _ in 0..3000 {
            let dim = rng.random_range(2..=30);
            let x = uniform_point(f, dim, &mut rng);
            let p = func(&x);
            let nudged = [p[0] + 1e-12, p[1] + 1e-12];
            for q in &points {
                assert!(
                    !dominates(&nudged, q, &MIN2),
                    "{f}: {x:?} gives {p:?}, beating {q:?}"
                );
            }
        }
    }
}

#[test]
fn zdt_optimum_is_the_ideal_point() {
    assert_eq!(Function::Zdt1.optimum(30), vec![0.0, 0.0]);
    assert_eq!(Function::Zdt2.optimum(5), vec![0.0, 0.0]);
    assert_eq!(Function::Zdt3.optimum(2), vec![0.0, ZDT3_MIN_F2]);
    // Each coordinate of the ideal point is reached on the front.
    for (f, front, _) in zdt_fronts() {
        let points = front(10_001);
        let ideal = f.optimum(30);
        close(
            points.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min),
            ideal[0],
            0.0,
        );
        close(
            points.iter().map(|p| p[1]).fold(f64::INFINITY, f64::min),
            ideal[1],
            1e-15,
        );
    }
}

#[test]
fn the_objective_matches_the_pure_function() {
    let mut rng = SeedRng::seed_from_u64(3);
    for factory in factories() {
        let f = Function::from_name(&factory.info().name).expect("a known name");
        for dim in some_dims(f) {
            let settings = if f.fixed_dim() {
                Settings::default()
            } else {
                Settings::default().with("dim", dim)
            };
            let objective = factory.create(&settings).expect("valid settings");
            let space = objective
                .space()
                .expect("synthetic objectives define their space");
            assert_eq!(space.len(), dim, "{f}");
            for (i, param) in space.params().iter().enumerate() {
                assert_eq!(param.name, format!("x{i}"));
                let (low, high) = f.bounds(i);
                assert_eq!(param.domain, Domain::float(low, high), "{f} x{i}");
                assert!(param.condition.is_none());
            }
            assert_eq!(objective.metrics(), f.metrics());
            assert_eq!(objective.optimum(), Some(f.optimum(dim)));
            for trial in 0..20 {
                let x = uniform_point(f, dim, &mut rng);
                let got = objective
                    .evaluate(&params_of(&x), &mut RecordingContext::new(trial))
                    .expect("in-domain points evaluate");
                assert_eq!(got.values, f.evaluate(&x));
                assert!(got.attrs.is_empty());
            }
        }
    }
}

#[test]
fn domains_and_metrics() {
    let bounds: Vec<(f64, f64)> = (0..2).map(|i| Function::Branin.bounds(i)).collect();
    assert_eq!(bounds, [(-5.0, 10.0), (0.0, 15.0)]);
    let expected = [
        (Function::Hartmann3, (0.0, 1.0)),
        (Function::Rosenbrock, (-5.0, 10.0)),
        (Function::Ackley, (-32.768, 32.768)),
        (Function::Levy, (-10.0, 10.0)),
        (Function::StyblinskiTang, (-5.0, 5.0)),
        (Function::Rastrigin, (-5.12, 5.12)),
        (Function::Griewank, (-600.0, 600.0)),
        (Function::Zdt3, (0.0, 1.0)),
    ];
    for (f, b) in expected {
        assert_eq!(f.bounds(0), b);
        assert_eq!(f.bounds(7), b);
    }
    let names = |f: Function| f.metrics().into_iter().map(|m| m.name).collect::<Vec<_>>();
    assert_eq!(names(Function::Levy), ["value"]);
    assert_eq!(names(Function::Zdt2), ["f1", "f2"]);
    assert!(
        Function::ALL
            .iter()
            .flat_map(|f| f.metrics())
            .all(|m| m.direction == Direction::Minimize)
    );
    assert_eq!(
        Function::StyblinskiTang.optimum(3),
        vec![3.0 * STYBLINSKI_TANG_OPTIMUM_PER_DIM]
    );
}

#[test]
fn default_dimensions() {
    let expected = [
        ("branin", 2),
        ("hartmann3", 3),
        ("hartmann6", 6),
        ("rosenbrock", 2),
        ("ackley", 2),
        ("levy", 2),
        ("styblinski_tang", 2),
        ("rastrigin", 2),
        ("griewank", 2),
        ("zdt1", 30),
        ("zdt2", 30),
        ("zdt3", 30),
    ];
    for (factory, (name, dim)) in factories().iter().zip(expected) {
        assert_eq!(factory.info().name, name);
        let objective = factory
            .create(&Settings::default())
            .expect("defaults are valid");
        assert_eq!(objective.space().map(|s| s.len()), Some(dim), "{name}");
    }
    let objective = create(Function::Ackley, &Settings::default().with("dim", 1));
    assert_eq!(objective.space().map(|s| s.len()), Some(1));
    let objective = create(Function::Zdt1, &Settings::default().with("dim", 2));
    assert_eq!(objective.space().map(|s| s.len()), Some(2));
}

#[test]
fn settings_errors_name_the_key() {
    let s = || Settings::default();
    let message = create_err(Function::Rosenbrock, &s().with("dims", 3));
    assert!(message.contains("`dims`"), "{message}");
    let message = create_err(Function::Branin, &s().with("seed", 3));
    assert!(message.contains("`seed`"), "{message}");

    for f in [Function::Branin, Function::Hartmann3, Function::Hartmann6] {
        let message = create_err(f, &s().with("dim", *f.dims().start()));
        assert!(message.contains("`dim` cannot be set"), "{message}");
        assert!(
            message.contains(&format!("{} dimensions only", f.dims().start())),
            "{message}"
        );
    }

    let message = create_err(Function::Rosenbrock, &s().with("dim", 1));
    assert_eq!(
        message,
        "`dim` must be between 2 and 10000 for rosenbrock, got 1"
    );
    let message = create_err(Function::Ackley, &s().with("dim", 0));
    assert_eq!(
        message,
        "`dim` must be between 1 and 10000 for ackley, got 0"
    );
    let message = create_err(Function::Zdt3, &s().with("dim", 1));
    assert_eq!(message, "`dim` must be between 2 and 10000 for zdt3, got 1");
    let message = create_err(Function::Levy, &s().with("dim", MAX_DIM + 1));
    assert!(
        message.contains("`dim` must be between 1 and 10000"),
        "{message}"
    );
    for bad in [
        serde_json::json!(-2),
        serde_json::json!(2.5),
        serde_json::json!("3"),
    ] {
        let message = create_err(Function::Griewank, &s().with("dim", bad.clone()));
        assert!(
            message.contains("`dim` must be a whole number"),
            "{bad}: {message}"
        );
    }

    for bad in [
        serde_json::json!(-0.1),
        serde_json::json!("1"),
        serde_json::json!(true),
    ] {
        let message = create_err(Function::Branin, &s().with("noise", bad.clone()));
        assert!(message.contains("`noise`"), "{bad}: {message}");
        let message = create_err(Function::Zdt1, &s().with("noise", bad.clone()));
        assert!(message.contains("`noise`"), "{bad}: {message}");
    }
    for bad in [
        serde_json::json!(-1),
        serde_json::json!(1.5),
        serde_json::json!("7"),
    ] {
        let message = create_err(Function::Rastrigin, &s().with("noise_seed", bad.clone()));
        assert!(message.contains("`noise_seed`"), "{bad}: {message}");
    }

    // Whole-number floats and integer noise are fine.
    create(
        Function::Branin,
        &s().with("noise", 1).with("noise_seed", 5),
    );
    create(Function::Rosenbrock, &s().with("dim", 3).with("noise", 0.5));
}

#[test]
fn bad_parameters_fail_the_trial() {
    let objective = create(Function::Rosenbrock, &Settings::default().with("dim", 3));
    let failure = |params: Params| match objective.evaluate(&params, &mut RecordingContext::new(0))
    {
        Err(TrialError::Failed(message)) => message,
        other => panic!("expected a failure, got {other:?}"),
    };

    let mut params = params_of(&[0.0, 0.0]);
    let message = failure(params.clone());
    assert!(message.contains("`x2` is missing"), "{message}");

    params.insert("x2".into(), Value::Str("one".into()));
    let message = failure(params.clone());
    assert!(message.contains("`x2` is a string"), "{message}");

    params.insert("x2".into(), Value::Bool(true));
    let message = failure(params.clone());
    assert!(message.contains("`x2` is a bool"), "{message}");

    params.insert("x2".into(), Value::Float(10.5));
    let message = failure(params.clone());
    assert_eq!(
        message,
        "parameter `x2` = 10.5 is outside the domain of rosenbrock, [-5, 10]"
    );

    params.insert("x2".into(), Value::Float(f64::NAN));
    let message = failure(params.clone());
    assert!(message.contains("`x2` = NaN is outside"), "{message}");

    // An integer value is read as the float it equals; extra parameters are ignored.
    params.insert("x2".into(), Value::Int(1));
    params.insert("other".into(), Value::Str("ignored".into()));
    let got = objective
        .evaluate(&params, &mut RecordingContext::new(0))
        .expect("valid point");
    assert_eq!(got.values, vec![rosenbrock(&[0.0, 0.0, 1.0])]);
}

#[test]
fn noise_reproduces_per_trial_and_seed() {
    let clean = params_of(&[PI, 2.275]);
    let eval = |settings: &Settings, trial: u64| {
        create(Function::Branin, settings)
            .evaluate(&clean, &mut RecordingContext::new(trial))
            .expect("valid point")
    };
    let noisy = Settings::default()
        .with("noise", 0.5)
        .with("noise_seed", 42);
    let a = eval(&noisy, 3);
    let b = eval(&noisy, 3);
    assert_eq!(a, b);
    assert_ne!(a.values, eval(&noisy, 4).values);
    assert_ne!(
        a.values,
        eval(&noisy.clone().with("noise_seed", 43), 3).values
    );
    assert_eq!(
        a.attrs.get("noiseless_value"),
        Some(&Value::Float(branin(&[PI, 2.275])))
    );
    assert_ne!(a.values[0], BRANIN_OPTIMUM);
    // The optimum stays that of the noise-free function.
    assert_eq!(
        create(Function::Branin, &noisy).optimum(),
        Some(vec![BRANIN_OPTIMUM])
    );
    // Without noise there is no draw and no attribute.
    let plain = eval(&Settings::default().with("noise_seed", 42), 3);
    assert_eq!(plain.values, vec![branin(&[PI, 2.275])]);
    assert!(plain.attrs.is_empty());
    let zero = eval(&Settings::default().with("noise", 0.0), 3);
    assert_eq!(zero, plain);
}

#[test]
fn noise_has_the_requested_spread() {
    let sigma = 0.5;
    let settings = Settings::default().with("dim", 3).with("noise", sigma);
    let objective = create(Function::Zdt1, &settings);
    let x = [0.25, 0.5, 0.0];
    let clean = zdt1(&x);
    let n = 4000;
    let mut sums = [[0.0; 2]; 2]; // per metric: sum, sum of squares
    let mut cross = 0.0;
    for trial in 0..n {
        let got = objective
            .evaluate(&params_of(&x), &mut RecordingContext::new(trial))
            .expect("valid point");
        assert_eq!(got.attrs.get("noiseless_f1"), Some(&Value::Float(clean[0])));
        assert_eq!(got.attrs.get("noiseless_f2"), Some(&Value::Float(clean[1])));
        let e = [got.values[0] - clean[0], got.values[1] - clean[1]];
        for k in 0..2 {
            sums[k][0] += e[k];
            sums[k][1] += e[k] * e[k];
        }
        cross += e[0] * e[1];
    }
    let n = n as f64;
    for [sum, squares] in sums {
        let mean = sum / n;
        let sd = (squares / n - mean * mean).sqrt();
        // Standard errors: σ/√n ≈ 0.008 for the mean, σ/√(2n) ≈ 0.0056 for the deviation.
        assert!(mean.abs() < 0.04, "mean {mean}");
        assert!((sd - sigma).abs() < 0.03, "sd {sd}");
    }
    // The two metrics get independent draws.
    let correlation = cross / n / (sigma * sigma);
    assert!(correlation.abs() < 0.08, "correlation {correlation}");
}
