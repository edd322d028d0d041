//! The strategy: a replay of the study's finished trials through CMA-ES runs and restarts, the
//! next sample from the current run, and an independent sampler for the parameters CMA-ES does
//! not model.
//!
//! The state is a function of the finished-trial list alone: complete trials are taken in the
//! order they finished, λ at a time, as generations. Trial `n` is sampled from
//! `sample_rng(seed, n)`, so replaying the history recomputes the very sample each trial was
//! given when it was asked under the current distribution (and with it the unrounded point
//! that the margin needs); a trial whose parameters differ from that sample (enqueued, or asked
//! under an earlier generation by a parallel worker) joins the generation as an injected
//! solution. A strategy created on resume or in a joining worker therefore continues the same
//! generation, with the same mean, step size and covariance.

use hyperplug_core::{
    AskContext, Direction, Domain, Error, Params, SeedRng, Space, Strategy, StrategyFactory,
    StudySetup, Trial, TrialState, Value, trial_rng,
};
use nalgebra::{DMatrix, DVector};
use rand::Rng;

use crate::cma::{Cma, Layout, Options, Tolerances, default_popsize};
use crate::settings::{CmaSettings, Independent, MAX_POPSIZE, Restart, SEPARABLE_DIM};

/// Salts that give the samples and the restarts streams of their own, apart from the
/// independent sampler's `trial_rng(seed, number)`.
const SAMPLE_SALT: u64 = 0x434d_4145_535f_5331;
const RESTART_SALT: u64 = 0x434d_4145_535f_5232;
/// Discrete coordinates with more values than this are modelled as continuous: the margin is
/// for coordinates whose rounding can freeze the search.
const MAX_CELLS: u64 = 4096;

/// A modelled parameter: its place in the space and its domain.
struct Dim {
    name: String,
    domain: Domain,
}

/// Which population regime a BIPOP run belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Regime {
    Large,
    Small,
}

pub struct CmaStrategy {
    s: CmaSettings,
    dims: Vec<Dim>,
    opts: Options,
    seed: u64,
    direction: Direction,
    lambda0: usize,
    /// Univariate TPE for the other parameters, when they exist and it is chosen.
    independent: Option<Box<dyn Strategy>>,
    has_others: bool,
    /// Finished trials replayed so far.
    seen: usize,
    /// The first complete trials, while a warm start collects them.
    warm: Vec<(DVector<f64>, f64)>,
    /// The current run; `None` while the warm start collects.
    run: Option<Cma>,
    /// The current generation's solutions so far.
    pending: Vec<(DVector<f64>, f64)>,
    /// Whether a trial at the current generation's mean has finished (`eval_mean`).
    mean_seen: bool,
    restarts: usize,
    regime: Regime,
    large_lambda: usize,
    n_large: usize,
    large_evals: usize,
    small_evals: usize,
}

/// The parameters CMA-ES models: unconditional floats and ints. Categorical and conditional
/// ones go to the independent sampler.
pub fn modelled(space: &Space) -> Vec<usize> {
    space
        .params()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.condition.is_none() && !matches!(p.domain, Domain::Categorical { .. }))
        .map(|(i, _)| i)
        .collect()
}

/// The inner cell boundaries of a discrete domain in the unit interval, as
/// [`Domain::from_unit`] cuts it; `None` for a continuous one (or one with too many values).
fn cells(domain: &Domain) -> Option<Vec<f64>> {
    match *domain {
        Domain::Float { step: None, .. } | Domain::Categorical { .. } => None,
        Domain::Int {
            low,
            high,
            log: true,
            ..
        } => {
            let count = u64::try_from(high - low).ok()?.checked_add(1)?;
            if count > MAX_CELLS {
                return None;
            }
            let (a, b) = ((low as f64 - 0.5).ln(), (high as f64 + 0.5).ln());
            Some(
                (low..high)
                    .map(|v| ((v as f64 + 0.5).ln() - a) / (b - a))
                    .collect(),
            )
        }
        _ => {
            let count = domain.cardinality()?;
            if count > MAX_CELLS {
                return None;
            }
            Some((1..count).map(|k| k as f64 / count as f64).collect())
        }
    }
}

/// The generator of trial `number`'s sample.
fn sample_rng(seed: u64, number: u64) -> SeedRng {
    trial_rng(seed ^ SAMPLE_SALT, number)
}

/// Whether a decoded sample gives the value a trial has.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => (x - y).abs() <= 1e-12 * x.abs().max(1.0),
        _ => a == b,
    }
}

impl CmaStrategy {
    pub fn new(setup: &StudySetup<'_>) -> Result<Self, Error> {
        let space = setup.space;
        let idx = modelled(space);
        let s = CmaSettings::parse(setup.settings, space, &idx)?;
        let dims: Vec<Dim> = idx
            .iter()
            .map(|&i| {
                let p = &space.params()[i];
                Dim {
                    name: p.name.clone(),
                    domain: p.domain.clone(),
                }
            })
            .collect();
        let n = dims.len();
        let lambda0 = s.popsize.unwrap_or_else(|| default_popsize(n));
        let others: Vec<&str> = space
            .params()
            .iter()
            .enumerate()
            .filter(|(i, _)| !idx.contains(i))
            .map(|(_, p)| p.name.as_str())
            .collect();
        let has_others = !others.is_empty();
        let independent = if has_others && s.independent == Independent::Tpe {
            let tpe_settings = hyperplug_core::Settings::default().with("multivariate", false);
            Some(hyperplug_tpe::Tpe.create(&StudySetup {
                settings: &tpe_settings,
                ..*setup
            })?)
        } else {
            None
        };
        if has_others {
            log::info!(
                "cmaes: {} is categorical or conditional; CMA-ES models the {n} other parameter(s) \
                 and draws these with {}",
                others.join(", "),
                match s.independent {
                    Independent::Tpe => "univariate TPE (`independent = \"tpe\"`)",
                    Independent::Random => "uniform random draws (`independent = \"random\"`)",
                }
            );
        }
        let margin = s.margin_alpha.unwrap_or(1.0 / (n.max(1) * lambda0) as f64);
        let layout = Layout {
            cells: dims
                .iter()
                .map(|d| if s.margin { cells(&d.domain) } else { None })
                .collect(),
            margin,
        };
        let opts = Options {
            separable: s.separable.unwrap_or(n >= SEPARABLE_DIM),
            lr_adapt: s.lr_adapt,
            layout,
            tol: Tolerances {
                tolfun: s.tolfun,
                tolx: s.tolx,
            },
        };
        let mut strategy = CmaStrategy {
            dims,
            opts,
            seed: setup.seed,
            direction: setup
                .directions
                .first()
                .copied()
                .unwrap_or(Direction::Minimize),
            lambda0,
            independent,
            has_others,
            seen: 0,
            warm: Vec::new(),
            run: None,
            pending: Vec::new(),
            mean_seen: false,
            restarts: 0,
            regime: Regime::Large,
            large_lambda: lambda0,
            n_large: 0,
            large_evals: 0,
            small_evals: 0,
            s,
        };
        if strategy.s.warm_start == 0 && n > 0 {
            let mean = DVector::from_iterator(
                n,
                strategy
                    .dims
                    .iter()
                    .map(|d| strategy.s.x0_unit(&d.name, &d.domain).unwrap_or(0.5)),
            );
            strategy.run = Some(Cma::new(
                mean,
                strategy.s.sigma0,
                None,
                lambda0,
                &strategy.opts,
            ));
        }
        Ok(strategy)
    }

    /// The current run, for tests.
    #[cfg(test)]
    pub fn run(&self) -> Option<&Cma> {
        self.run.as_ref()
    }

    #[cfg(test)]
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    /// A trial's modelled parameters as a point of the unit cube, if it has them all.
    fn unit_point(&self, params: &Params) -> Option<DVector<f64>> {
        let mut x = DVector::zeros(self.dims.len());
        for (j, d) in self.dims.iter().enumerate() {
            let u = d.domain.to_unit(params.get(&d.name)?)?;
            if !u.is_finite() {
                return None;
            }
            x[j] = u.clamp(0.0, 1.0);
        }
        Some(x)
    }

    /// Whether `encoded` (a sample as evaluated) gives the trial's parameters.
    fn matches(&self, encoded: &[f64], params: &Params) -> bool {
        self.dims.iter().zip(encoded).all(|(d, &u)| {
            params
                .get(&d.name)
                .is_some_and(|v| same(&d.domain.from_unit(u), v))
        })
    }

    /// Replays the finished trials not seen yet.
    fn catch_up(&mut self, trials: &[Trial]) {
        if self.dims.is_empty() {
            return;
        }
        // A shorter list than already seen means another history (not within one study's
        // life); start over rather than mix the two.
        if trials.len() < self.seen {
            self.seen = 0;
            self.warm.clear();
            self.pending.clear();
            self.mean_seen = false;
            self.restarts = 0;
            self.regime = Regime::Large;
            self.large_lambda = self.lambda0;
            self.n_large = 0;
            self.large_evals = 0;
            self.small_evals = 0;
            self.run = None;
            if self.s.warm_start == 0 {
                let mean = DVector::from_iterator(
                    self.dims.len(),
                    self.dims
                        .iter()
                        .map(|d| self.s.x0_unit(&d.name, &d.domain).unwrap_or(0.5)),
                );
                self.run = Some(Cma::new(
                    mean,
                    self.s.sigma0,
                    None,
                    self.lambda0,
                    &self.opts,
                ));
            }
        }
        for t in &trials[self.seen..] {
            self.absorb(t);
        }
        self.seen = trials.len();
    }

    /// The parameters of the current mean, when this generation should evaluate it: with
    /// `eval_mean`, once per generation from a run's second on (a run's first mean is a
    /// starting guess, not an estimate).
    fn mean_due(&self) -> Option<Vec<f64>> {
        let cma = self.run.as_ref()?;
        (self.s.eval_mean && !self.mean_seen && cma.generation > 0).then(|| cma.encode(&cma.mean))
    }

    /// One finished trial into the warm start or the current generation.
    fn absorb(&mut self, t: &Trial) {
        // A trial at the mean (whatever its outcome) is this generation's mean evaluation; it
        // informs the best value, not the update, whose steps are measured from the mean.
        if let Some(mean) = self.mean_due()
            && self.matches(&mean, &t.params)
        {
            self.mean_seen = true;
            return;
        }
        if t.state != TrialState::Complete {
            return;
        }
        let Some(&value) = t.values.first() else {
            return;
        };
        if !value.is_finite() {
            return;
        }
        let loss = self.direction.to_loss(value);
        let Some(u) = self.unit_point(&t.params) else {
            return;
        };
        let Some(cma) = &self.run else {
            self.warm.push((u, loss));
            if self.warm.len() >= self.s.warm_start {
                self.start_warm();
            }
            return;
        };
        let predicted = cma.sample(&mut sample_rng(self.seed, t.number));
        let x = if self.matches(&cma.encode(&predicted), &t.params) {
            predicted
        } else {
            cma.inject(&u)
        };
        self.pending.push((x, loss));
        if self.pending.len() < cma.lambda() {
            return;
        }
        let mut generation = std::mem::take(&mut self.pending);
        self.mean_seen = false;
        let Some(cma) = self.run.as_mut() else {
            return;
        };
        cma.tell(&mut generation);
        if let Some(why) = cma.should_stop()
            && self.s.restart != Restart::None
            && self.s.max_restarts.is_none_or(|m| self.restarts < m)
        {
            self.restart(why);
        }
    }

    /// WS-CMA-ES (Nomura et al. 2021): the initial distribution is fitted to the best
    /// `warm_start_gamma` of the warm-start trials: their mean, and their covariance plus
    /// `0.1² I` so that it is never degenerate.
    fn start_warm(&mut self) {
        let n = self.dims.len();
        let mut warm = std::mem::take(&mut self.warm);
        warm.sort_by(|a, b| a.1.total_cmp(&b.1));
        let k = ((warm.len() as f64 * self.s.warm_start_gamma).floor() as usize).max(1);
        let top = &warm[..k.min(warm.len())];
        let mean = top.iter().fold(DVector::zeros(n), |acc, (x, _)| acc + x) / top.len() as f64;
        let mut cov = DMatrix::identity(n, n) * 0.01;
        for (x, _) in top {
            let d = x - &mean;
            cov.ger(1.0 / top.len() as f64, &d, &d, 1.0);
        }
        let log_det: f64 = cov
            .clone()
            .symmetric_eigen()
            .eigenvalues
            .iter()
            .map(|e| e.max(1e-300).ln())
            .sum();
        let sigma = (log_det / (2.0 * n as f64)).exp();
        let cov = cov / (sigma * sigma);
        log::debug!(
            "cmaes: warm start from the best {} of {} trials, sigma {sigma:.3e}",
            top.len(),
            warm.len()
        );
        self.run = Some(Cma::new(mean, sigma, Some(cov), self.lambda0, &self.opts));
    }

    /// Ends the current run and starts the next from a uniform random mean: IPOP doubles the
    /// population; BIPOP alternates that with small populations and steps until both regimes
    /// have spent the same number of evaluations.
    fn restart(&mut self, why: &str) {
        let Some(old) = &self.run else {
            return;
        };
        let evals = old.generation * old.lambda();
        self.restarts += 1;
        let mut rng = trial_rng(self.seed ^ RESTART_SALT, self.restarts as u64);
        let n = self.dims.len();
        let mean = DVector::from_fn(n, |_, _| rng.random::<f64>());
        let sigma0 = self.s.sigma0;
        let grow = |k: usize| (self.lambda0 as f64 * self.s.inc_popsize.powi(k as i32)).round();
        let (lambda, sigma) = match self.s.restart {
            Restart::None | Restart::Ipop => (grow(self.restarts) as usize, sigma0),
            Restart::Bipop => {
                match self.regime {
                    Regime::Large => self.large_evals += evals,
                    Regime::Small => self.small_evals += evals,
                }
                if self.small_evals < self.large_evals {
                    self.regime = Regime::Small;
                    let u: f64 = rng.random();
                    let ratio = 0.5 * self.large_lambda as f64 / self.lambda0 as f64;
                    let lambda = (self.lambda0 as f64 * ratio.powf(u * u)).floor() as usize;
                    (lambda, sigma0 * 10f64.powf(-2.0 * u))
                } else {
                    self.regime = Regime::Large;
                    self.n_large += 1;
                    self.large_lambda = grow(self.n_large) as usize;
                    (self.large_lambda, sigma0)
                }
            }
        };
        // A population that outgrows every reasonable budget is capped; so is a tiny one.
        let lambda = lambda.clamp(2, MAX_POPSIZE);
        log::debug!(
            "cmaes: restart {} after {} generations ({why}); population {lambda}, sigma {sigma:.3e}",
            self.restarts,
            old.generation
        );
        self.pending.clear();
        self.mean_seen = false;
        self.run = Some(Cma::new(mean, sigma, None, lambda, &self.opts));
    }
}

impl Strategy for CmaStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        self.catch_up(ctx.trials);
        let n = self.dims.len();
        let mean = self
            .mean_due()
            .filter(|m| !ctx.running.iter().any(|t| self.matches(m, &t.params)));
        let unit: Vec<f64> = match (&self.run, mean) {
            (_, Some(mean)) => mean,
            (Some(cma), None) => cma.encode(&cma.sample(&mut sample_rng(self.seed, ctx.number))),
            (None, None) => {
                // Warm start still collecting: uniform draws for the modelled parameters.
                let mut rng = sample_rng(self.seed, ctx.number);
                (0..n).map(|_| rng.random()).collect()
            }
        };
        let others: Option<Params> = match &mut self.independent {
            Some(tpe) => Some(tpe.ask(ctx)?),
            None => None,
        };
        let space_params = ctx.space.params();
        // One uniform draw per parameter, as random search makes them: the fallback for the
        // parameters no model covers.
        let draws: Vec<f64> = if self.has_others {
            let mut rng = trial_rng(ctx.seed, ctx.number);
            space_params.iter().map(|_| rng.random()).collect()
        } else {
            Vec::new()
        };
        let mut k = 0;
        Ok(ctx.space.assign(|param| {
            if let Some(j) = self.dims.iter().position(|d| d.name == param.name) {
                return self.dims[j].domain.from_unit(unit[j]);
            }
            if let Some(v) = others.as_ref().and_then(|o| o.get(&param.name)) {
                return v.clone();
            }
            while k < space_params.len() && space_params[k].name != param.name {
                k += 1;
            }
            param.domain.from_unit(draws.get(k).copied().unwrap_or(0.5))
        }))
    }

    fn tell(&mut self, ctx: &AskContext<'_>, trial: &Trial) -> Result<(), Error> {
        if let Some(tpe) = &mut self.independent {
            tpe.tell(ctx, trial)?;
        }
        Ok(())
    }
}
