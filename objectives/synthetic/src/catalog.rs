//! [`Function`]: the catalogue of benchmark functions with their names, domains, metrics and
//! optima.

use std::fmt;
use std::ops::RangeInclusive;

use hyperplug_core::{Domain, Error, Metric, Param, Space};

use crate::functions::{self, BRANIN_OPTIMUM, HARTMANN3_OPTIMUM, HARTMANN6_OPTIMUM};
use crate::zdt;

/// The largest `dim` a variable-dimension function accepts. The functions are defined in any
/// dimension; this bound only keeps a typo from building a space of a billion parameters.
pub const MAX_DIM: usize = 10_000;

/// One of the benchmark functions of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// [`crate::branin`], 2-D.
    Branin,
    /// [`crate::hartmann3`], 3-D.
    Hartmann3,
    /// [`crate::hartmann6`], 6-D.
    Hartmann6,
    /// [`crate::rosenbrock`], 2-D and up.
    Rosenbrock,
    /// [`crate::ackley`], 1-D and up.
    Ackley,
    /// [`crate::levy`], 1-D and up.
    Levy,
    /// [`crate::styblinski_tang`], 1-D and up.
    StyblinskiTang,
    /// [`crate::rastrigin`], 1-D and up.
    Rastrigin,
    /// [`crate::griewank`], 1-D and up.
    Griewank,
    /// [`crate::zdt1`], two objectives, 2-D and up.
    Zdt1,
    /// [`crate::zdt2`], two objectives, 2-D and up.
    Zdt2,
    /// [`crate::zdt3`], two objectives, 2-D and up.
    Zdt3,
    /// [`crate::dtlz2`], three objectives, 3-D and up.
    Dtlz2,
}

impl Function {
    /// Every function, in the order of [`crate::factories`].
    pub const ALL: [Function; 13] = [
        Function::Branin,
        Function::Hartmann3,
        Function::Hartmann6,
        Function::Rosenbrock,
        Function::Ackley,
        Function::Levy,
        Function::StyblinskiTang,
        Function::Rastrigin,
        Function::Griewank,
        Function::Zdt1,
        Function::Zdt2,
        Function::Zdt3,
        Function::Dtlz2,
    ];

    /// The name study files use, e.g. `styblinski_tang`.
    pub fn name(self) -> &'static str {
        match self {
            Function::Branin => "branin",
            Function::Hartmann3 => "hartmann3",
            Function::Hartmann6 => "hartmann6",
            Function::Rosenbrock => "rosenbrock",
            Function::Ackley => "ackley",
            Function::Levy => "levy",
            Function::StyblinskiTang => "styblinski_tang",
            Function::Rastrigin => "rastrigin",
            Function::Griewank => "griewank",
            Function::Zdt1 => "zdt1",
            Function::Zdt2 => "zdt2",
            Function::Zdt3 => "zdt3",
            Function::Dtlz2 => "dtlz2",
        }
    }

    /// The function a study file names, if any.
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }

    /// One line for listings.
    pub fn description(self) -> &'static str {
        match self {
            Function::Branin => "Branin, 2-D, three global minima of 0.397887",
            Function::Hartmann3 => "Hartmann-3 on [0,1]^3, minimum -3.86278",
            Function::Hartmann6 => "Hartmann-6 on [0,1]^6, minimum -3.32237",
            Function::Rosenbrock => {
                "Rosenbrock on [-5,10]^d, curved valley, minimum 0 at (1,...,1)"
            }
            Function::Ackley => {
                "Ackley on [-32.768,32.768]^d, many local minima, minimum 0 at the origin"
            }
            Function::Levy => "Levy on [-10,10]^d, many local minima, minimum 0 at (1,...,1)",
            Function::StyblinskiTang => "Styblinski-Tang on [-5,5]^d, minimum -39.16617 d",
            Function::Rastrigin => {
                "Rastrigin on [-5.12,5.12]^d, regular local minima, minimum 0 at the origin"
            }
            Function::Griewank => "Griewank on [-600,600]^d, minimum 0 at the origin",
            Function::Zdt1 => "ZDT1, two objectives on [0,1]^d, convex Pareto front",
            Function::Zdt2 => "ZDT2, two objectives on [0,1]^d, concave Pareto front",
            Function::Zdt3 => "ZDT3, two objectives on [0,1]^d, disconnected Pareto front",
            Function::Dtlz2 => "DTLZ2, three objectives on [0,1]^d, spherical Pareto front",
        }
    }

    /// The dimensions the function is defined in; a single value for the fixed-dimension ones.
    pub fn dims(self) -> RangeInclusive<usize> {
        match self {
            Function::Branin => 2..=2,
            Function::Hartmann3 => 3..=3,
            Function::Hartmann6 => 6..=6,
            Function::Rosenbrock | Function::Zdt1 | Function::Zdt2 | Function::Zdt3 => 2..=MAX_DIM,
            Function::Dtlz2 => 3..=MAX_DIM,
            Function::Ackley
            | Function::Levy
            | Function::StyblinskiTang
            | Function::Rastrigin
            | Function::Griewank => 1..=MAX_DIM,
        }
    }

    /// Whether the function has one dimension only, so that `dim` cannot be set.
    pub fn fixed_dim(self) -> bool {
        let dims = self.dims();
        dims.start() == dims.end()
    }

    /// The dimension used when the settings give no `dim`: the only one for fixed-dimension
    /// functions, 2 for the other single-objective ones, 30 for ZDT (as in Zitzler, Deb & Thiele
    /// 2000), 12 for DTLZ2.
    pub fn default_dim(self) -> usize {
        match self {
            Function::Zdt1 | Function::Zdt2 | Function::Zdt3 => 30,
            // k = 10 distance variables beside the two position ones (Deb et al. 2005).
            Function::Dtlz2 => 12,
            _ if self.fixed_dim() => *self.dims().start(),
            _ => 2,
        }
    }

    /// Whether `dim` is one the function is defined in; otherwise an [`Error::Settings`] naming
    /// `dim` and the valid range.
    pub fn check_dim(self, dim: usize) -> Result<(), Error> {
        let dims = self.dims();
        if dims.contains(&dim) {
            return Ok(());
        }
        let message = if self.fixed_dim() {
            format!(
                "`dim` must be {} for {}, got {dim}",
                dims.start(),
                self.name()
            )
        } else {
            format!(
                "`dim` must be between {} and {} for {}, got {dim}",
                dims.start(),
                dims.end(),
                self.name()
            )
        };
        Err(Error::settings(self.name(), message))
    }

    /// The bounds `(low, high)` of coordinate `i` (the same for every coordinate except Branin's).
    pub fn bounds(self, i: usize) -> (f64, f64) {
        match self {
            Function::Branin if i == 0 => (-5.0, 10.0),
            Function::Branin => (0.0, 15.0),
            Function::Hartmann3 | Function::Hartmann6 => (0.0, 1.0),
            Function::Rosenbrock => (-5.0, 10.0),
            Function::Ackley => (-32.768, 32.768),
            Function::Levy => (-10.0, 10.0),
            Function::StyblinskiTang => (-5.0, 5.0),
            Function::Rastrigin => (-5.12, 5.12),
            Function::Griewank => (-600.0, 600.0),
            Function::Zdt1 | Function::Zdt2 | Function::Zdt3 | Function::Dtlz2 => (0.0, 1.0),
        }
    }

    /// The name of coordinate `i` in the space: `x{i}`.
    pub fn param_name(i: usize) -> String {
        format!("x{i}")
    }

    /// The search space in `dim` dimensions: float parameters `x0, x1, …` over
    /// [`Function::bounds`]. Fails as [`Function::check_dim`] does.
    pub fn space(self, dim: usize) -> Result<Space, Error> {
        self.check_dim(dim)?;
        let params = (0..dim)
            .map(|i| {
                let (low, high) = self.bounds(i);
                Param::new(Function::param_name(i), Domain::float(low, high))
            })
            .collect();
        Ok(Space::new(params)?)
    }

    /// Whether the function has several objectives (ZDT, DTLZ2).
    pub fn is_multi_objective(self) -> bool {
        matches!(
            self,
            Function::Zdt1 | Function::Zdt2 | Function::Zdt3 | Function::Dtlz2
        )
    }

    /// The metrics it returns: `value` to minimize, or `f1`, `f2` (and `f3` for DTLZ2) to
    /// minimize.
    pub fn metrics(self) -> Vec<Metric> {
        match self {
            Function::Dtlz2 => vec![
                Metric::minimize("f1"),
                Metric::minimize("f2"),
                Metric::minimize("f3"),
            ],
            _ if self.is_multi_objective() => vec![Metric::minimize("f1"), Metric::minimize("f2")],
            _ => vec![Metric::minimize("value")],
        }
    }

    /// The reference point benchmarks measure hypervolume against (several objectives only):
    /// 1.1 in every objective, just beyond the front's nadir of 1 (for ZDT3 the nadir's `f2` is
    /// 1 too), as Optuna's and pymoo's ZDT studies use.
    pub fn reference_point(self) -> Option<Vec<f64>> {
        match self {
            Function::Zdt1 | Function::Zdt2 | Function::Zdt3 => Some(vec![1.1, 1.1]),
            Function::Dtlz2 => Some(vec![1.1, 1.1, 1.1]),
            _ => None,
        }
    }

    /// The hypervolume of the true Pareto front against [`Function::reference_point`]: the best
    /// a run can reach. Closed forms for ZDT1 (`1.21 - 1/3`), ZDT2 (`1.21 - 2/3`) and DTLZ2
    /// (`1.331 - π/6`, the cube less the unit sphere's octant); for ZDT3, exactly the area of
    /// the 2-D staircase of 200,001 front points (within 1e-5 of the curve's).
    pub fn front_hypervolume(self) -> Option<f64> {
        match self {
            Function::Zdt1 => Some(1.21 - 1.0 / 3.0),
            Function::Zdt2 => Some(1.21 - 2.0 / 3.0),
            Function::Zdt3 => {
                let front = zdt::zdt3_front(200_001);
                let points: Vec<&[f64]> = front.iter().map(|p| p.as_slice()).collect();
                hyperplug_core::hypervolume(&points, &[1.1, 1.1])
            }
            Function::Dtlz2 => Some(1.331 - std::f64::consts::PI / 6.0),
            _ => None,
        }
    }

    /// The best value of each metric in `dim` dimensions: the global minimum, or for ZDT the
    /// ideal point (the least `f1` and the least `f2` over the front, which no single point
    /// reaches): `(0, 0)` for ZDT1 and ZDT2, `(0,` [`crate::ZDT3_MIN_F2`]`)` for ZDT3.
    pub fn optimum(self, dim: usize) -> Vec<f64> {
        match self {
            Function::Branin => vec![BRANIN_OPTIMUM],
            Function::Hartmann3 => vec![HARTMANN3_OPTIMUM],
            Function::Hartmann6 => vec![HARTMANN6_OPTIMUM],
            Function::StyblinskiTang => {
                vec![functions::STYBLINSKI_TANG_OPTIMUM_PER_DIM * dim as f64]
            }
            Function::Rosenbrock
            | Function::Ackley
            | Function::Levy
            | Function::Rastrigin
            | Function::Griewank => vec![0.0],
            Function::Zdt1 | Function::Zdt2 => vec![0.0, 0.0],
            Function::Zdt3 => vec![0.0, zdt::ZDT3_MIN_F2],
            Function::Dtlz2 => vec![0.0, 0.0, 0.0],
        }
    }

    /// Every global minimizer in `dim` dimensions (three for Branin, one for the others); empty
    /// for ZDT, whose Pareto-optimal points are the continuum `(t, 0, …, 0)`.
    pub fn minimizers(self, dim: usize) -> Vec<Vec<f64>> {
        match self {
            Function::Branin => functions::BRANIN_MINIMIZERS
                .iter()
                .map(|x| x.to_vec())
                .collect(),
            Function::Hartmann3 => vec![functions::HARTMANN3_MINIMIZER.to_vec()],
            Function::Hartmann6 => vec![functions::HARTMANN6_MINIMIZER.to_vec()],
            Function::Rosenbrock | Function::Levy => vec![vec![1.0; dim]],
            Function::Ackley | Function::Rastrigin | Function::Griewank => vec![vec![0.0; dim]],
            Function::StyblinskiTang => vec![vec![functions::STYBLINSKI_TANG_MINIMIZER; dim]],
            Function::Zdt1 | Function::Zdt2 | Function::Zdt3 | Function::Dtlz2 => Vec::new(),
        }
    }

    /// The function at `x`: one value, or `[f1, f2]` for ZDT.
    ///
    /// # Panics
    ///
    /// When `x` has a number of coordinates the function is not defined for.
    pub fn evaluate(self, x: &[f64]) -> Vec<f64> {
        match self {
            Function::Branin => vec![functions::branin(x)],
            Function::Hartmann3 => vec![functions::hartmann3(x)],
            Function::Hartmann6 => vec![functions::hartmann6(x)],
            Function::Rosenbrock => vec![functions::rosenbrock(x)],
            Function::Ackley => vec![functions::ackley(x)],
            Function::Levy => vec![functions::levy(x)],
            Function::StyblinskiTang => vec![functions::styblinski_tang(x)],
            Function::Rastrigin => vec![functions::rastrigin(x)],
            Function::Griewank => vec![functions::griewank(x)],
            Function::Zdt1 => zdt::zdt1(x).to_vec(),
            Function::Zdt2 => zdt::zdt2(x).to_vec(),
            Function::Zdt3 => zdt::zdt3(x).to_vec(),
            Function::Dtlz2 => zdt::dtlz2(x).to_vec(),
        }
    }

    /// `n` points on the true Pareto front (ZDT only; `None` for single-objective functions).
    /// The front does not depend on the dimension.
    pub fn pareto_front(self, n: usize) -> Option<Vec<[f64; 2]>> {
        match self {
            Function::Zdt1 => Some(zdt::zdt1_front(n)),
            Function::Zdt2 => Some(zdt::zdt2_front(n)),
            Function::Zdt3 => Some(zdt::zdt3_front(n)),
            _ => None,
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
