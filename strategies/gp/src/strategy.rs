//! The GP strategy: quasi-random start-up, then per ask a model of the finished trials (and of
//! each constraint), the running trials believed at the model's mean, and the point that
//! maximizes the acquisition among quasi-random and local candidates after a gradient polish.

use std::collections::HashSet;

use hyperplug_core::{
    AskContext, Direction, Error, Params, Space, Strategy, Trial, TrialState, dominates, trial_rng,
};
use rand::Rng;

use crate::ehvi::Boxes;
use crate::encode::{Encoder, INACTIVE};
use crate::gp::{self, Hyper, Inputs, Posterior, Priors};
use crate::lbfgs;
use crate::math;
use crate::settings::{Acquisition, Batch, GpSettings};
use crate::warp;

/// Two points closer than this many length scales have a kernel correlation above 0.99.
const REDUNDANT: f64 = 0.1;

/// Below this many trials the hyperparameters are refitted at every ask.
const ALWAYS_REFIT: usize = 30;

/// The finished trials the model can use: complete, with finite values.
#[derive(Default)]
struct History {
    seen: usize,
    /// Rows so far.
    n: usize,
    x: Vec<f64>,
    /// The losses (lower is better), one per objective, per row.
    loss: Vec<f64>,
    /// Constraint values per row, `k` each; feasible when all are ≤ 0.
    cons: Vec<f64>,
    keys: HashSet<Vec<u64>>,
}

/// One output's model, kept between asks: its hyperparameters, the rows they were fitted at,
/// and the posterior over the model rows.
#[derive(Default)]
struct Model {
    hyper: Option<Hyper>,
    fitted_at: usize,
    /// Refits from the last fit alone since the last one that also restarted from the priors'
    /// centre (see `restart_every`).
    warm_refits: usize,
    /// The posterior and the history rows it holds, in order.
    post: Option<(Posterior, Vec<usize>)>,
}

pub struct GpStrategy {
    s: GpSettings,
    enc: Encoder,
    hist: History,
    /// One model per objective.
    objectives: Vec<Model>,
    constraints: Vec<Model>,
}

fn key(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

impl GpStrategy {
    pub fn new(space: &Space, objectives: usize, s: GpSettings) -> Self {
        let k = s.constraints.len();
        GpStrategy {
            enc: Encoder::new(space),
            hist: History::default(),
            objectives: (0..objectives.max(1)).map(|_| Model::default()).collect(),
            constraints: (0..k).map(|_| Model::default()).collect(),
            s,
        }
    }

    fn update(&mut self, ctx: &AskContext<'_>) -> Result<(), Error> {
        let mut row = Vec::new();
        while self.hist.seen < ctx.trials.len() {
            let t = &ctx.trials[self.hist.seen];
            self.hist.seen += 1;
            let usable = t.state == TrialState::Complete
                && t.values.len() == self.m()
                && t.values.iter().all(|v| v.is_finite());
            if !usable || self.enc.encode(&t.params, &mut row).is_none() {
                continue;
            }
            let cons = constraint_values(t, &self.s.constraints)?;
            self.hist.n += 1;
            self.hist.x.extend_from_slice(&row);
            for (v, d) in t.values.iter().zip(ctx.directions) {
                self.hist.loss.push(d.to_loss(*v));
            }
            self.hist.cons.extend(cons);
            self.hist.keys.insert(key(&row));
        }
        Ok(())
    }

    fn n(&self) -> usize {
        self.hist.n
    }

    /// The number of objectives.
    fn m(&self) -> usize {
        self.objectives.len()
    }

    fn losses(&self, i: usize) -> &[f64] {
        let m = self.m();
        &self.hist.loss[i * m..(i + 1) * m]
    }

    fn feasible(&self, i: usize) -> bool {
        let k = self.s.constraints.len();
        self.hist.cons[i * k..(i + 1) * k].iter().all(|c| *c <= 0.0)
    }

    /// The rows the model uses: all of them up to `max_points`, else the best half (by
    /// `keys`) and the newest half (the region being exploited and where the search has just
    /// been).
    fn model_rows(&self, keys: &[f64]) -> Vec<usize> {
        let n = self.n();
        let cap = self.s.max_points;
        if n <= cap {
            return (0..n).collect();
        }
        let mut rows: Vec<usize> = (n - cap / 2..n).collect();
        let mut order: Vec<usize> = (0..n - cap / 2).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        rows.extend(order.into_iter().take(cap - cap / 2));
        rows.sort_unstable();
        rows
    }

    /// Per row, a key that sorts the best first: the loss with one objective; with several,
    /// how many feasible rows dominate it (0 on the Pareto front). Infeasible rows last.
    fn rank_keys(&self) -> Vec<f64> {
        let n = self.n();
        let feasible: Vec<usize> = (0..n).filter(|&i| self.feasible(i)).collect();
        let minimize = vec![Direction::Minimize; self.m()];
        let mut keys = vec![f64::INFINITY; n];
        for &i in &feasible {
            keys[i] = if self.m() == 1 {
                self.hist.loss[i]
            } else {
                let mine = self.losses(i);
                feasible
                    .iter()
                    .filter(|&&o| dominates(self.losses(o), mine, &minimize))
                    .count() as f64
            };
        }
        keys
    }

    /// The model of one output (`values`, one per history row), refitted when due.
    fn model(
        s: &GpSettings,
        enc: &Encoder,
        hist: &History,
        model: &mut Model,
        rows: &[usize],
        y: &[f64],
        rng: &mut impl Rng,
    ) -> Option<()> {
        let d = enc.d();
        let n = hist.n;
        let log_noise = if s.deterministic {
            gp::LOG_NOISE.0
        } else {
            -8.0
        };
        let priors = Priors::new(log_noise);
        let due = model.hyper.is_none()
            || n <= ALWAYS_REFIT
            || n as f64 >= model.fitted_at as f64 * (1.0 + s.refit_growth);
        let row_inputs = |rows: &[usize]| {
            let mut inputs = Inputs::new(d, enc.categorical());
            for &r in rows {
                inputs.push(&hist.x[r * d..(r + 1) * d]);
            }
            inputs
        };
        if due {
            // Fit on at most `fit_points` rows: the best half and an even spread of the rest.
            let fit_rows: Vec<usize> = if rows.len() <= s.fit_points {
                (0..rows.len()).collect()
            } else {
                let mut order: Vec<usize> = (0..rows.len()).collect();
                order.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
                let best = s.fit_points / 2;
                let rest = &order[best..];
                let mut pick: Vec<usize> = order[..best].to_vec();
                let k = s.fit_points - best;
                pick.extend((0..k).map(|i| rest[i * rest.len() / k]));
                pick
            };
            let inputs = row_inputs(&fit_rows.iter().map(|&i| rows[i]).collect::<Vec<_>>());
            let fy: Vec<f64> = fit_rows.iter().map(|&i| y[i]).collect();
            let mut starts = vec![priors.centre(d)];
            if let Some(h) = &model.hyper {
                // Warm start from the last fit; past `ALWAYS_REFIT` trials the data change
                // little between fits, and the restart from the priors' centre (half the fit's
                // cost) rarely wins.
                // Every `restart_every`-th refit keeps the restart: a warm start alone can stay
                // in the basin of an early, poorer fit (Ackley-10 lost most to it).
                if n > ALWAYS_REFIT {
                    model.warm_refits += 1;
                    if s.restart_every == 0 || model.warm_refits < s.restart_every {
                        starts.clear();
                    } else {
                        model.warm_refits = 0;
                    }
                }
                starts.insert(0, h.clone());
            } else {
                // A second start with random length scales guards against a poor first local
                // optimum.
                let mut h = priors.centre(d);
                for l in h.log_inv_sq_len.iter_mut() {
                    *l += rng.random_range(-2.0..2.0);
                }
                starts.push(h);
            }
            if s.deterministic {
                for h in &mut starts {
                    h.log_noise = gp::LOG_NOISE.0;
                }
            }
            let fitted = gp::fit(&inputs, &fy, &priors, &starts, s.fit_iters, s.deterministic);
            if let Some((h, _)) = fitted {
                if model.hyper.as_ref() != Some(&h) {
                    model.post = None;
                }
                model.hyper = Some(h);
            }
            model.fitted_at = n;
        }
        let hyper = model.hyper.clone().unwrap_or_else(|| priors.centre(d));
        // Reuse the factorization when the rows only grew at the end.
        let reuse = match model.post.take() {
            Some((post, old)) if old.len() <= rows.len() && rows[..old.len()] == old[..] => {
                let tail: Vec<usize> = rows[old.len()..].to_vec();
                post.extend(&row_inputs(&tail), y)
            }
            _ => None,
        };
        let post = match reuse {
            Some(p) => p,
            None => Posterior::new(hyper.clone(), row_inputs(rows), y).or_else(|| {
                // Numerically singular: retry with more noise.
                let mut h = hyper;
                h.log_noise = (h.log_noise + 6.0).min(0.0);
                Posterior::new(h, row_inputs(rows), y)
            })?,
        };
        model.post = Some((post, rows.to_vec()));
        Some(())
    }

    /// Chooses the next point with the models built; `None` if no model could be built.
    fn suggest(&mut self, ctx: &AskContext<'_>, rng: &mut impl Rng) -> Option<Vec<f64>> {
        let d = self.enc.d();
        let m = self.m();
        let keys = self.rank_keys();
        let rows = self.model_rows(&keys);
        // Each objective standardized (and warped) on its own: both are monotone, so the
        // Pareto order of the rows is unchanged.
        let mut ys: Vec<Vec<f64>> = Vec::with_capacity(m);
        for j in 0..m {
            let losses: Vec<f64> = rows.iter().map(|&r| self.hist.loss[r * m + j]).collect();
            let (y, _) = warp::standardize(&losses, self.s.warp);
            Self::model(
                &self.s,
                &self.enc,
                &self.hist,
                &mut self.objectives[j],
                &rows,
                &y,
                rng,
            )?;
            ys.push(y);
        }
        let k = self.s.constraints.len();
        let mut thresholds = Vec::with_capacity(k);
        for c in 0..k {
            let vals: Vec<f64> = rows
                .iter()
                .map(|&r| {
                    let v = self.hist.cons[r * k + c];
                    // A NaN constraint counts as badly broken.
                    if v.is_nan() { f64::MAX.sqrt() } else { v }
                })
                .collect();
            let (cy, (mean, sd)) = warp::standardize(&vals, false);
            thresholds.push((0.0 - mean) / sd);
            Self::model(
                &self.s,
                &self.enc,
                &self.hist,
                &mut self.constraints[c],
                &rows,
                &cy,
                rng,
            )?;
        }
        // The incumbent, in model units: the best feasible row (one objective) or the feasible
        // rows whose Pareto front the improvement is measured against (several).
        let mut incumbent: Vec<Vec<f64>> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| self.feasible(**r))
            .map(|(i, _)| ys.iter().map(|y| y[i]).collect())
            .collect();

        // Running trials: believed at the mean, on copies of the posteriors.
        let mut running: Vec<Vec<f64>> = Vec::new();
        let mut row = Vec::new();
        for t in ctx.running {
            if self.enc.encode(&t.params, &mut row).is_some() {
                running.push(row.clone());
            }
        }
        // A believed trial also counts as observed at its mean for the incumbent: otherwise
        // LogEI would still see `best - μ` to gain right beside it, and parallel asks would
        // crowd around the same optimum of the mean.
        if self.s.batch == Batch::Believer && !running.is_empty() {
            let flat: Vec<f64> = running.concat();
            let (mut mean, mut var) = (Vec::new(), Vec::new());
            let mut believed_feasible = vec![true; running.len()];
            for (c, model) in self.constraints.iter().enumerate() {
                let (p, _) = model.post.as_ref()?;
                p.predict(&flat, &mut mean, &mut var);
                for (ok, mu) in believed_feasible.iter_mut().zip(&mean) {
                    *ok &= *mu <= thresholds[c];
                }
            }
            let mut believed = vec![Vec::with_capacity(m); running.len()];
            for model in &self.objectives {
                let (p, _) = model.post.as_ref()?;
                p.predict(&flat, &mut mean, &mut var);
                for (b, mu) in believed.iter_mut().zip(&mean) {
                    b.push(*mu);
                }
            }
            incumbent.extend(
                believed
                    .into_iter()
                    .zip(&believed_feasible)
                    .filter(|(_, ok)| **ok)
                    .map(|(b, _)| b),
            );
        }
        let best = incumbent.iter().map(|v| v[0]).fold(f64::INFINITY, f64::min);
        // Several objectives: the reference point just beyond the worst standardized loss of
        // each, as Optuna's GPSampler places it, and the boxes of what the front leaves free.
        let boxes = (m > 1 && !incumbent.is_empty()).then(|| {
            let reference: Vec<f64> = ys
                .iter()
                .map(|y| {
                    let worst = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    worst + 0.1 * worst.abs().max(1.0)
                })
                .collect();
            Boxes::new(&incumbent, &reference)
        });
        let mut posts: Vec<Posterior> = Vec::with_capacity(m + k);
        for model in self.objectives.iter().chain(&self.constraints) {
            let (p, _) = model.post.as_ref()?;
            let mut p = p.clone();
            if self.s.batch == Batch::Believer {
                for r in &running {
                    p.believe(r);
                }
            }
            posts.push(p);
        }
        let acq = Acq {
            s: &self.s,
            m,
            posts: &posts,
            best,
            boxes: boxes.as_ref(),
            thresholds: &thresholds,
        };

        // Candidates: half quasi-random over the space, half near the best rows (with several
        // objectives, near the rows of the Pareto front).
        let c = self.s.candidates;
        let mut cands: Vec<f64> = Vec::with_capacity(c * d);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| keys[rows[a]].total_cmp(&keys[rows[b]]));
        let mut scales = vec![f64::INFINITY; d];
        for p in &posts[..m] {
            for (s, l) in scales.iter_mut().zip(p.length_scales()) {
                *s = s.min(l);
            }
        }
        let top = if m == 1 {
            order.len().min(5)
        } else {
            order.iter().take_while(|&&i| keys[rows[i]] == 0.0).count()
        };
        let mut x = vec![0.0; d];
        for i in 0..c {
            if i < c / 2 || top == 0 {
                for (j, dim) in self.enc.dims.iter().enumerate() {
                    x[j] = match dim.choices {
                        Some(n) => rng.random_range(0..n) as f64,
                        None => rng.random::<f64>(),
                    };
                }
            } else {
                let base = &self.hist.x[rows[order[i % top]] * d..][..d];
                for (j, dim) in self.enc.dims.iter().enumerate() {
                    x[j] = match dim.choices {
                        Some(n) if rng.random::<f64>() < 1.0 / d as f64 => {
                            rng.random_range(0..n) as f64
                        }
                        Some(_) => base[j],
                        None if base[j] == INACTIVE => rng.random::<f64>(),
                        None => {
                            let scale = (0.25 * scales[j]).min(0.2);
                            base[j] + scale * normal(rng)
                        }
                    };
                }
            }
            self.canonical(ctx.space, &mut x);
            cands.extend_from_slice(&x);
        }
        let mut values = acq.batch(&cands);

        // Polish the best few distinct candidates by L-BFGS on their free coordinates.
        let mut idx: Vec<usize> = (0..c).collect();
        idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let mut polished: Vec<Vec<f64>> = Vec::new();
        for &i in idx.iter().take(self.s.polish) {
            let start = &cands[i * d..(i + 1) * d];
            let free: Vec<usize> = (0..d)
                .filter(|&j| {
                    let dim = &self.enc.dims[j];
                    dim.choices.is_none() && !dim.parent && start[j] != INACTIVE
                })
                .collect();
            if free.is_empty() || self.s.polish_iters == 0 {
                continue;
            }
            let mut point = start.to_vec();
            let mut f = |z: &[f64], g: &mut [f64]| {
                for (v, &j) in z.iter().zip(&free) {
                    point[j] = *v;
                }
                let (v, grad) = acq.with_grad(&point, &free);
                for (gi, gv) in g.iter_mut().zip(grad) {
                    *gi = -gv;
                }
                -v
            };
            let z0: Vec<f64> = free.iter().map(|&j| start[j]).collect();
            let (lo, hi) = (vec![0.0; free.len()], vec![1.0; free.len()]);
            let (z, _) = lbfgs::minimize(&mut f, &z0, &lo, &hi, self.s.polish_iters);
            let mut p = start.to_vec();
            for (v, &j) in z.iter().zip(&free) {
                p[j] = *v;
            }
            self.canonical(ctx.space, &mut p);
            polished.push(p);
        }
        for p in &polished {
            cands.extend_from_slice(p);
        }
        let more = acq.batch(&cands[c * d..]);
        values.extend(more);

        // The best candidate that is neither a finished nor a running trial, nor so close to a
        // running one (within `REDUNDANT` length scales of every objective's model: correlation
        // above 0.99) that its result would be redundant; if every candidate is that close,
        // the farthest one.
        let taken: HashSet<Vec<u64>> = running.iter().map(|r| key(r)).collect();
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let mut fallback: Option<(f64, usize)> = None;
        for i in order {
            let x = &cands[i * d..(i + 1) * d];
            let k = key(x);
            if self.hist.keys.contains(&k) || taken.contains(&k) {
                continue;
            }
            let near = running
                .iter()
                .map(|r| {
                    posts[..m]
                        .iter()
                        .map(|p| p.scaled_sq_dist(x, r))
                        .fold(0.0, f64::max)
                })
                .fold(f64::INFINITY, f64::min);
            if self.s.batch == Batch::None || near >= REDUNDANT * REDUNDANT {
                if !running.is_empty() {
                    log::debug!(
                        "gp: trial {}: {:.4} length scales from the nearest running trial",
                        ctx.number,
                        near.sqrt()
                    );
                }
                return Some(x.to_vec());
            }
            if fallback.is_none_or(|f| near > f.0) {
                fallback = Some((near, i));
            }
        }
        fallback.map(|(_, i)| cands[i * d..(i + 1) * d].to_vec())
    }

    /// Moves `x` onto the space: takeable values, inactive parameters imputed.
    fn canonical(&self, space: &Space, x: &mut Vec<f64>) {
        let params = self.enc.decode(space, x);
        // Decoded values belong to their domains, so this encodes; were one ever refused, `x`
        // stays as it was rather than cut short (the rest of the ask indexes all `d` of it).
        let mut out = Vec::with_capacity(x.len());
        if self.enc.encode(&params, &mut out).is_some() {
            *x = out;
        }
    }
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The acquisition function over the models: LogEI (one objective) or LogEHVI (several), plus
/// the log probability of feasibility of each constraint; or the negated lower confidence
/// bound.
struct Acq<'a> {
    s: &'a GpSettings,
    /// The objectives' count: `posts[..m]` model them, `posts[m..]` the constraints.
    m: usize,
    posts: &'a [Posterior],
    /// The best feasible loss in model units; infinite when no trial is feasible yet.
    best: f64,
    /// Several objectives: the region the feasible front leaves free; `None` when no trial is
    /// feasible yet.
    boxes: Option<&'a Boxes>,
    thresholds: &'a [f64],
}

impl Acq<'_> {
    fn objective_term(&self, mean: f64, var: f64) -> (f64, f64, f64) {
        let sd = var.sqrt();
        match self.s.acquisition {
            Acquisition::Lcb => {
                let b = self.s.beta.sqrt();
                // value, d/dmean, d/dvar
                (-(mean - b * sd), -1.0, b * 0.5 / sd)
            }
            Acquisition::LogEi if self.best.is_finite() => {
                let z = (self.best - mean) / sd;
                let (v, dz) = math::log_h(z);
                // a = ln h(z) + ln σ; dz/dμ = -1/σ, dz/dvar = -z / (2 var).
                (v + sd.ln(), -dz / sd, dz * -z / (2.0 * var) + 0.5 / var)
            }
            // Nothing feasible yet: only feasibility counts.
            Acquisition::LogEi => (0.0, 0.0, 0.0),
        }
    }

    fn constraint_term(&self, c: usize, mean: f64, var: f64) -> (f64, f64, f64) {
        let sd = var.sqrt();
        let u = (self.thresholds[c] - mean) / sd;
        let (v, du) = math::log_cdf(u);
        (v, -du / sd, du * -u / (2.0 * var))
    }

    fn batch(&self, cands: &[f64]) -> Vec<f64> {
        let m = self.m;
        let (mut mean, mut var) = (Vec::new(), Vec::new());
        let mut out: Vec<f64> = if m == 1 {
            self.posts[0].predict(cands, &mut mean, &mut var);
            mean.iter()
                .zip(&var)
                .map(|(m, v)| self.objective_term(*m, *v).0)
                .collect()
        } else {
            let (mut means, mut vars) = (Vec::with_capacity(m), Vec::with_capacity(m));
            for p in &self.posts[..m] {
                p.predict(cands, &mut mean, &mut var);
                means.push(mean.clone());
                vars.push(var.clone());
            }
            let (mut mu, mut v) = (vec![0.0; m], vec![0.0; m]);
            (0..means[0].len())
                .map(|i| match self.boxes {
                    Some(b) => {
                        for j in 0..m {
                            mu[j] = means[j][i];
                            v[j] = vars[j][i];
                        }
                        b.log_ehvi(&mu, &v, None)
                    }
                    None => 0.0,
                })
                .collect()
        };
        for c in 0..self.thresholds.len() {
            self.posts[m + c].predict(cands, &mut mean, &mut var);
            for (o, (mu, v)) in out.iter_mut().zip(mean.iter().zip(&var)) {
                *o += self.constraint_term(c, *mu, *v).0;
            }
        }
        // A numerically broken score (losses near f64::MAX) must not win the ranking.
        for o in &mut out {
            if o.is_nan() {
                *o = f64::NEG_INFINITY;
            }
        }
        out
    }

    fn with_grad(&self, x: &[f64], free: &[usize]) -> (f64, Vec<f64>) {
        let f = free.len();
        let m = self.m;
        let (mut dm, mut dv) = (vec![0.0; f], vec![0.0; f]);
        let mut grad = vec![0.0; f];
        let mut total = 0.0;
        if let Some(b) = self.boxes.filter(|_| m > 1) {
            let (mut mu, mut var) = (vec![0.0; m], vec![0.0; m]);
            let (mut dms, mut dvs) = (Vec::with_capacity(m), Vec::with_capacity(m));
            for (j, post) in self.posts[..m].iter().enumerate() {
                (mu[j], var[j]) = post.predict_grad(x, free, &mut dm, &mut dv);
                dms.push(dm.clone());
                dvs.push(dv.clone());
            }
            let mut g = vec![0.0; 2 * m];
            total += b.log_ehvi(&mu, &var, Some(&mut g));
            for j in 0..m {
                for i in 0..f {
                    grad[i] += g[j] * dms[j][i] + g[m + j] * dvs[j][i];
                }
            }
        }
        for (i, post) in self.posts.iter().enumerate() {
            if m > 1 && i < m {
                continue;
            }
            let (mu, v) = post.predict_grad(x, free, &mut dm, &mut dv);
            let (val, a, b) = if i < m {
                self.objective_term(mu, v)
            } else {
                self.constraint_term(i - m, mu, v)
            };
            total += val;
            for g in 0..f {
                grad[g] += a * dm[g] + b * dv[g];
            }
        }
        (total, grad)
    }
}

/// The values of the `constraints` attributes of `trial`; an error names a missing one.
fn constraint_values(trial: &Trial, constraints: &[String]) -> Result<Vec<f64>, Error> {
    constraints
        .iter()
        .map(|name| {
            trial
                .user_attrs
                .get(name)
                .and_then(|v| v.as_f64())
                .ok_or_else(|| {
                    let known: Vec<&str> = trial.user_attrs.keys().map(String::as_str).collect();
                    Error::Strategy(format!(
                        "gp: constraint `{name}` is not a numeric attribute of trial {} (its \
                         attributes: [{}]); the objective must report every name listed in \
                         `constraints`",
                        trial.number,
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

impl Strategy for GpStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        self.update(ctx)?;
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let d = self.enc.d();
        if self.n() >= self.s.startup.max(1) && d > 0 {
            if let Some(x) = self.suggest(ctx, &mut rng) {
                return Ok(self.enc.decode(ctx.space, &x));
            }
            log::debug!(
                "gp: no new point from the model at trial {}; drawing one at random",
                ctx.number
            );
        }
        // Start-up (and fallback): a scrambled Sobol point, as the `qmc` strategy draws.
        let seed = (ctx.seed ^ (ctx.seed >> 32)) as u32;
        let index = ctx.number.min(u64::from(u32::MAX)) as u32;
        let u: Vec<f64> = (0..d)
            .map(|j| {
                if d <= 256 && self.n() < self.s.startup {
                    f64::from(sobol_burley::sample(index, j as u32, seed))
                } else {
                    rng.random::<f64>()
                }
            })
            .collect();
        let params = ctx.space.params();
        let mut i = 0;
        Ok(ctx.space.assign(|param| {
            while params[i].name != param.name {
                i += 1;
            }
            param.domain.from_unit(u[i])
        }))
    }
}
