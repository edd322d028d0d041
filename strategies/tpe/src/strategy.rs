//! The TPE strategy: random start-up, then per group of parameters a good density `l(x)` and a
//! bad density `g(x)`, candidates drawn from `l`, and the one with the largest `l(x) / g(x)`.

use std::collections::HashSet;

use hyperplug_core::{AskContext, Error, Params, Space, Strategy, trial_rng};
use rand::Rng;

use crate::encode::{Coord, Kind};
use crate::groups::Groups;
use crate::history::History;
use crate::parzen::{Bandwidth, ExtraKernel, Mixture};
use crate::settings::{GoodWeights, Split, TpeSettings};

/// Marks a row as absent from a position table.
const NONE: u32 = u32::MAX;

pub struct TpeStrategy {
    s: TpeSettings,
    coords: Vec<Coord>,
    names: Vec<String>,
    /// Which parameters decide whether others exist.
    branches: Branches,
    hist: History,
    groups: Groups,
    ws: Workspace,
}

/// Buffers reused from one ask to the next, so that a warm ask allocates little.
#[derive(Default)]
struct Workspace {
    fallback: Vec<f64>,
    chosen: Vec<f64>,
    below: Vec<u32>,
    is_below: Vec<bool>,
    running: Vec<f64>,
    n_running: usize,
    model: Vec<Vec<usize>>,
    kinds: Vec<Kind>,
    obs: Vec<f64>,
    w: Vec<f64>,
    above: Vec<u32>,
    above_pos: Vec<u32>,
    kept: Vec<u32>,
    stamp: Vec<u32>,
    epoch: u32,
    cands: Vec<f64>,
    ll: Vec<f64>,
    lg: Vec<f64>,
    good: Mixture,
    bad: Mixture,
    extra: ExtraKernel,
    active: Vec<usize>,
    seen: HashSet<u64>,
    /// Independent TPE with `avoid_repeated_trials`: per parameter, its distinct candidates
    /// (best score first) as `(score, coordinate)`.
    alts: Vec<Vec<(f64, f64)>>,
}

impl TpeStrategy {
    pub fn new(space: &Space, n_objectives: usize, s: TpeSettings) -> Self {
        let coords: Vec<Coord> = space.params().iter().map(Coord::new).collect();
        let names = space.params().iter().map(|p| p.name.clone()).collect();
        let branches = Branches::new(space, &coords);
        TpeStrategy {
            branches,
            hist: History::new(&coords, n_objectives),
            coords,
            names,
            s,
            groups: Groups::default(),
            ws: Workspace::default(),
        }
    }

    /// Reads new trials into the history and the group partition.
    fn update(&mut self, ctx: &AskContext<'_>) -> Result<(), Error> {
        let groups = &mut self.groups;
        let branches = &mut self.branches;
        let active = &mut self.ws.active;
        self.hist.update(
            ctx.trials,
            &self.coords,
            &self.names,
            ctx.directions,
            &self.s.constraints,
            |h, row| {
                active.clear();
                active.extend((0..h.p).filter(|&j| !h.row(row)[j].is_nan()));
                groups.add(active);
                branches.add(h.row(row), active);
            },
        )
    }

    /// Marks the rows of `ws.below` among the `n` rows of the history.
    fn mark_below(&mut self, n: usize) {
        self.ws.is_below.clear();
        self.ws.is_below.resize(n, false);
        for &r in &self.ws.below {
            self.ws.is_below[r as usize] = true;
        }
    }

    /// The groups of parameters to model jointly, by the settings.
    fn plan(&mut self) {
        let ws = &mut self.ws;
        ws.model.clear();
        let seen = |j: &usize| self.hist.stats[*j].count > 0.0;
        if self.s.multivariate && self.s.group() {
            ws.model.extend(self.groups.groups().iter().cloned());
        } else if self.s.multivariate {
            let common = self.groups.common();
            if !common.is_empty() {
                ws.model.push(common.to_vec());
            }
            ws.model.extend(
                (0..self.hist.p)
                    .filter(|j| seen(j) && !common.contains(j))
                    .map(|j| vec![j]),
            );
        } else {
            ws.model
                .extend((0..self.hist.p).filter(seen).map(|j| vec![j]));
        }
    }

    /// Chooses values for the parameters of `group` into `ws.chosen`.
    fn model_group<R: Rng>(&mut self, group: &[usize], rng: &mut R) {
        let hist = &self.hist;
        let ws = &mut self.ws;
        let s = &self.s;
        let p = hist.p;
        let g = group.len();
        let has = |row: &[f64]| group.iter().all(|&j| !row[j].is_nan());
        ws.kinds.clear();
        ws.kinds
            .extend(group.iter().map(|&j| self.coords[j].kind.clone()));
        let discrete = ws.kinds.iter().all(|k| !matches!(k, Kind::Continuous));
        let bw = s.bandwidth(discrete, g == 1);
        let prior_weight = s.group_prior_weight(group.iter().any(|&j| self.branches.decides(j)));

        // The good density: the good rows that have the group, weighted as set.
        ws.obs.clear();
        ws.w.clear();
        let n_good = ws
            .below
            .iter()
            .filter(|&&r| has(hist.row(r as usize)))
            .count();
        let mut rank = 0;
        for &r in &ws.below {
            let row = hist.row(r as usize);
            if !has(row) {
                continue;
            }
            ws.obs.extend(group.iter().map(|&j| row[j]));
            rank += 1;
            ws.w.push(match s.good_weights {
                GoodWeights::Uniform => 1.0,
                GoodWeights::Rank => (n_good as f64 + 0.5).ln() - (rank as f64).ln(),
            });
        }
        ws.good
            .build(&ws.kinds, &ws.obs, &ws.w, prior_weight, &bw, None);

        // The bad density: the other rows (and running trials under the constant liar) in
        // trial-number order, so that Optuna's weights can fade out the oldest. Rows of the
        // history have all of a group or none of it, so the first parameter tells.
        let first = group[0];
        ws.above.clear();
        ws.above_pos.clear();
        ws.above_pos.resize(hist.len(), NONE);
        for &r in &hist.by_number {
            if !ws.is_below[r as usize] && !hist.row(r as usize)[first].is_nan() {
                ws.above_pos[r as usize] = ws.above.len() as u32;
                ws.above.push(r);
            }
        }
        for k in 0..ws.n_running {
            if has(&ws.running[k * p..(k + 1) * p]) {
                ws.above.push((hist.len() + k) as u32);
            }
        }
        let n_above = ws.above.len();
        let weight = |pos: usize| optuna_weight(pos, n_above);
        ws.kept.clear();
        let merged = n_above > s.max_kernels;
        if !merged {
            ws.kept.extend(0..n_above as u32);
        } else {
            // Keep the most recent half (where the search has just been: next to the good
            // region) and the best-ranked other half (the edge of the good region); merge the
            // rest, far from where candidates are drawn, into one moment-matched kernel.
            ws.epoch = ws.epoch.wrapping_add(1);
            ws.stamp.resize(hist.len() + ws.n_running, 0);
            let recent = s.max_kernels / 2;
            for pos in n_above - recent..n_above {
                ws.stamp[ws.above[pos] as usize] = ws.epoch;
                ws.kept.push(pos as u32);
            }
            let mut budget = s.max_kernels - recent;
            if hist.m == 1 {
                for &r in &hist.sorted {
                    if budget == 0 {
                        break;
                    }
                    let pos = ws.above_pos[r as usize];
                    if pos != NONE && ws.stamp[r as usize] != ws.epoch {
                        ws.stamp[r as usize] = ws.epoch;
                        ws.kept.push(pos);
                        budget -= 1;
                    }
                }
            }
            // Several objectives (or too few ranked rows): fill up with the next most recent.
            for pos in (0..n_above - recent).rev() {
                if budget == 0 {
                    break;
                }
                let r = ws.above[pos] as usize;
                if ws.stamp[r] != ws.epoch {
                    ws.stamp[r] = ws.epoch;
                    ws.kept.push(pos as u32);
                    budget -= 1;
                }
            }
            ws.kept.sort_unstable();
        }
        ws.obs.clear();
        ws.w.clear();
        for &pos in &ws.kept {
            let r = ws.above[pos as usize] as usize;
            let row = if r < hist.len() {
                hist.row(r)
            } else {
                &ws.running[(r - hist.len()) * p..(r - hist.len() + 1) * p]
            };
            ws.obs.extend(group.iter().map(|&j| row[j]));
            ws.w.push(weight(pos as usize));
        }
        let dropped_w = (total_optuna_weight(n_above) - ws.w.iter().sum::<f64>()).max(0.0);
        let extra = if merged {
            merged_kernel(hist, ws, group, dropped_w, &bw);
            Some(&ws.extra)
        } else {
            None
        };
        ws.bad
            .build(&ws.kinds, &ws.obs, &ws.w, prior_weight, &bw, extra);

        // Candidates from l; the best ratio l / g wins (the first among ties).
        ws.good.sample(rng, s.candidates(discrete), &mut ws.cands);
        ws.good.log_pdf(&ws.cands, &mut ws.ll);
        ws.bad.log_pdf(&ws.cands, &mut ws.lg);
        // In a group of discrete values only, a candidate that repeats a trial already made
        // (or running) would add nothing: prefer the best new one when there is one.
        if discrete && s.avoid_repeats {
            let running = &ws.running[..ws.n_running * p];
            fill_seen(&mut ws.seen, &ws.kinds, group, hist, running);
        }
        let mut best = (f64::NEG_INFINITY, 0);
        let mut best_new = (f64::NEG_INFINITY, usize::MAX);
        for (c, (l, b)) in ws.ll.iter().zip(&ws.lg).enumerate() {
            let score = l - b;
            if score > best.0 {
                best = (score, c);
            }
            if discrete
                && s.avoid_repeats
                && score > best_new.0
                && !ws.seen.contains(&cell_key(
                    &ws.kinds,
                    ws.cands[c * g..(c + 1) * g].iter().copied(),
                ))
            {
                best_new = (score, c);
            }
        }
        if best_new.1 != usize::MAX {
            best = best_new;
        }
        for (j, &param) in group.iter().enumerate() {
            ws.chosen[param] = ws.cands[best.1 * g + j];
        }
        if s.avoid_repeated_trials && !s.multivariate && discrete && g == 1 {
            // Every distinct candidate value with its best score, the chosen one first.
            let alts = &mut ws.alts[first];
            alts.clear();
            alts.push((f64::INFINITY, ws.chosen[first]));
            let key = |x: f64| cell_key(&ws.kinds, std::iter::once(x));
            let chosen_key = key(ws.chosen[first]);
            for (c, (l, b)) in ws.ll.iter().zip(&ws.lg).enumerate() {
                let x = ws.cands[c];
                let k = key(x);
                if k == chosen_key {
                    continue;
                }
                match alts[1..].iter_mut().find(|a| key(a.1) == k) {
                    Some(a) if a.0 < l - b => *a = (l - b, x),
                    Some(_) => {}
                    None => alts.push((l - b, x)),
                }
            }
            alts[0].0 = ws.ll[best.1] - ws.lg[best.1];
        }
    }

    /// Independent TPE over a discrete space: the values were chosen one parameter at a time,
    /// so together they may repeat a trial already made (or running). Then change the one value
    /// whose best other candidate scores least below the chosen one and gives a new
    /// configuration; keep the repeat when none does.
    fn avoid_repeated_trial(&mut self) {
        let ws = &mut self.ws;
        let p = self.hist.p;
        if ws.chosen.iter().any(|x| x.is_nan()) || ws.alts.iter().any(|a| a.is_empty()) {
            return;
        }
        ws.kinds.clear();
        ws.kinds.extend(self.coords.iter().map(|c| c.kind.clone()));
        let all: Vec<usize> = (0..p).collect();
        let running = &ws.running[..ws.n_running * p];
        fill_seen(&mut ws.seen, &ws.kinds, &all, &self.hist, running);
        let kinds = &ws.kinds;
        if !ws
            .seen
            .contains(&cell_key(kinds, ws.chosen.iter().copied()))
        {
            return;
        }
        let mut swaps: Vec<(f64, usize, f64)> = Vec::new();
        for (j, alts) in ws.alts.iter().enumerate() {
            let top = alts[0].0;
            swaps.extend(alts[1..].iter().map(|&(score, x)| (top - score, j, x)));
        }
        swaps.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, j, x) in swaps {
            let old = ws.chosen[j];
            ws.chosen[j] = x;
            if !ws
                .seen
                .contains(&cell_key(kinds, ws.chosen.iter().copied()))
            {
                return;
            }
            ws.chosen[j] = old;
        }
    }
}

/// Fills `seen` with the cell keys, at the coordinates `cols`, of every finished and running
/// trial (`running`: their rows, back to back) that has all of them.
fn fill_seen(
    seen: &mut HashSet<u64>,
    kinds: &[Kind],
    cols: &[usize],
    hist: &History,
    running: &[f64],
) {
    seen.clear();
    let rows = (0..hist.len())
        .map(|r| hist.row(r))
        .chain(running.chunks_exact(hist.p.max(1)));
    for row in rows {
        if cols.iter().all(|&j| !row[j].is_nan()) {
            seen.insert(cell_key(kinds, cols.iter().map(|&j| row[j])));
        }
    }
}

/// A hash of the values (cells, choices) of a point of a discrete group.
fn cell_key(kinds: &[Kind], xs: impl Iterator<Item = f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (kind, x) in kinds.iter().zip(xs) {
        let id = match kind {
            Kind::Discrete(cells) => cells.cell(x).0.to_bits(),
            _ => x.to_bits(),
        };
        // FNV-style mixing; a collision only makes a new point count as seen.
        h = (h ^ id).wrapping_mul(0x0100_0000_01b3);
        h ^= h >> 29;
    }
    h
}

/// Optuna's weights for a set in trial-number order: all 1 below 25 members; otherwise the 25
/// newest weigh 1 and the older ones ramp up linearly from `1 / n`.
fn optuna_weight(pos: usize, n: usize) -> f64 {
    const FLAT: usize = 25;
    if n < FLAT || pos + FLAT >= n {
        return 1.0;
    }
    let ramp = n - FLAT;
    if ramp == 1 {
        return 1.0 / n as f64;
    }
    let lo = 1.0 / n as f64;
    lo + (1.0 - lo) * pos as f64 / (ramp - 1) as f64
}

/// The sum of [`optuna_weight`] over a set of `n`.
fn total_optuna_weight(n: usize) -> f64 {
    (0..n.min(25)).map(|_| 1.0).sum::<f64>()
        + if n > 25 {
            let ramp = n - 25;
            let lo = 1.0 / n as f64;
            if ramp == 1 {
                lo
            } else {
                ramp as f64 * (lo + 1.0) / 2.0
            }
        } else {
            0.0
        }
}

/// The parameters whose value decides whether others exist: those the space's conditions name
/// as parents, or, in a space without conditions (define-by-run, where the objective's own
/// branches make them), the categorical parameters with a value under which some parameter has
/// never appeared that has appeared under another of its values.
struct Branches {
    declared: Option<Vec<bool>>,
    /// Per categorical parameter (`None` for the others), per choice: whether any trial with
    /// that choice had each parameter.
    seen: Vec<Option<Vec<Vec<bool>>>>,
}

impl Branches {
    fn new(space: &Space, coords: &[Coord]) -> Self {
        let params = space.params();
        let parent = |name: &str| {
            params
                .iter()
                .any(|p| p.condition.as_ref().is_some_and(|c| c.parent == name))
        };
        let declared = params
            .iter()
            .any(|p| p.condition.is_some())
            .then(|| params.iter().map(|p| parent(&p.name)).collect());
        let seen = coords
            .iter()
            .map(|c| match c.kind {
                Kind::Categorical(n) if declared.is_none() => Some(vec![Vec::new(); n]),
                _ => None,
            })
            .collect();
        Branches { declared, seen }
    }

    /// One trial's encoded row and the parameters it had.
    fn add(&mut self, row: &[f64], active: &[usize]) {
        let p = row.len();
        for (j, seen) in self.seen.iter_mut().enumerate() {
            let Some(seen) = seen else { continue };
            let Some(with) = (!row[j].is_nan())
                .then(|| seen.get_mut(row[j] as usize))
                .flatten()
            else {
                continue;
            };
            with.resize(p, false);
            for &k in active {
                with[k] = true;
            }
        }
    }

    fn decides(&self, j: usize) -> bool {
        if let Some(declared) = &self.declared {
            return declared[j];
        }
        let Some(seen) = &self.seen[j] else {
            return false;
        };
        // Only the choices that trials had: an untried choice says nothing yet.
        let tried = || seen.iter().filter(|w| !w.is_empty());
        tried().any(|a| {
            tried().any(|b| {
                a.iter()
                    .zip(b.iter())
                    .enumerate()
                    .any(|(k, (&x, &y))| k != j && x && !y)
            })
        })
    }
}

/// The merged kernel of the bad rows that were not kept: per coordinate, the mean and spread
/// of those rows (from the running sums less the rows that were kept or are good), with their
/// total weight.
fn merged_kernel(hist: &History, ws: &mut Workspace, group: &[usize], weight: f64, bw: &Bandwidth) {
    let extra = &mut ws.extra;
    extra.weight = weight;
    extra.num.clear();
    extra.cat.resize_with(group.len(), Vec::new);
    for (j, &param) in group.iter().enumerate() {
        let st = &hist.stats[param];
        let (mut count, mut sum, mut sum_sq) = (st.count, st.sum, st.sum_sq);
        let cat = &mut extra.cat[j];
        cat.clear();
        cat.extend_from_slice(&st.choices);
        let mut remove = |x: f64| {
            count -= 1.0;
            if cat.is_empty() {
                sum -= x;
                sum_sq -= x * x;
            } else {
                cat[x as usize] -= 1.0;
            }
        };
        for &r in &ws.below {
            let x = hist.row(r as usize)[param];
            if !x.is_nan() {
                remove(x);
            }
        }
        for &pos in &ws.kept {
            let r = ws.above[pos as usize] as usize;
            if r < hist.len() {
                remove(hist.row(r)[param]);
            }
        }
        let count = count.max(1.0);
        let mean = (sum / count).clamp(0.0, 1.0);
        let var = (sum_sq / count - mean * mean).max(0.0);
        let sigma = var.sqrt().clamp(bw.min_bandwidth, 1.0);
        extra.num.push((mean, sigma));
        if !cat.is_empty() {
            // A little of every choice, so that no category has zero mass.
            let n = cat.len() as f64;
            let total: f64 = cat.iter().map(|c| c.max(0.0)).sum::<f64>() + 1.0;
            for c in cat.iter_mut() {
                *c = (c.max(0.0) + 1.0 / n) / total;
            }
        }
    }
}

impl Strategy for TpeStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        self.update(ctx)?;
        let mut rng = trial_rng(ctx.seed, ctx.number);
        let p = self.coords.len();
        // One uniform draw per parameter first, as random search does: parameters that no
        // model covers (start-up, or never seen yet) take these.
        self.ws.fallback.clear();
        self.ws.fallback.extend((0..p).map(|_| rng.random::<f64>()));
        self.ws.chosen.clear();
        self.ws.chosen.resize(p, f64::NAN);

        let n = self.hist.len();
        if n >= self.s.startup.max(1) {
            let n_below = self.s.n_below(n);
            self.hist.split(n_below, &mut self.ws.below);
            self.mark_below(n);
            // Running trials count as bad ones: the constant liar.
            self.ws.running.clear();
            self.ws.n_running = 0;
            if self.s.constant_liar {
                for t in ctx.running {
                    for (c, name) in self.coords.iter().zip(&self.names) {
                        let x = t.params.get(name).and_then(|v| c.encode(v));
                        self.ws.running.push(x.unwrap_or(f64::NAN));
                    }
                    self.ws.n_running += 1;
                }
            }
            self.plan();
            self.ws.alts.clear();
            self.ws.alts.resize(p, Vec::new());
            let plan = std::mem::take(&mut self.ws.model);
            for group in &plan {
                let first = group[0];
                let n_group = self.hist.stats[first].count as usize;
                if self.s.split == Split::Group && n_group < n {
                    // The group's own good set: the best of the trials that have it.
                    let hist = &self.hist;
                    let n_below = self.s.n_below(n_group);
                    hist.split_among(
                        n_below,
                        |r| !hist.row(r)[first].is_nan(),
                        &mut self.ws.below,
                    );
                    self.mark_below(n);
                }
                self.model_group(group, &mut rng);
                if self.s.split == Split::Group && n_group < n {
                    // Back to the global good set for the next group.
                    self.hist.split(self.s.n_below(n), &mut self.ws.below);
                    self.mark_below(n);
                }
            }
            self.ws.model = plan;
            if self.s.avoid_repeated_trials && !self.s.multivariate {
                self.avoid_repeated_trial();
            }
        }

        let ws = &self.ws;
        let params = ctx.space.params();
        let mut i = 0;
        // `assign` visits the parameters in space order, skipping inactive ones.
        Ok(ctx.space.assign(|param| {
            while params[i].name != param.name {
                i += 1;
            }
            let x = ws.chosen[i];
            if x.is_nan() {
                param.domain.from_unit(ws.fallback[i])
            } else {
                self.coords[i].decode(x)
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optuna_weights_ramp_the_old_and_keep_the_newest_flat() {
        assert!((0..24).all(|i| optuna_weight(i, 24) == 1.0));
        // 30 members: 5 ramp from 1/30 to 1, then 25 at 1.
        let w: Vec<f64> = (0..30).map(|i| optuna_weight(i, 30)).collect();
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-15);
        assert!((w[4] - 1.0).abs() < 1e-15);
        assert!(w[1] > w[0] && w[2] > w[1] && w[3] > w[2]);
        assert!(w[5..].iter().all(|&x| x == 1.0));
        assert!((optuna_weight(0, 26) - 1.0 / 26.0).abs() < 1e-15);
        for n in [0, 1, 24, 25, 26, 27, 30, 1000] {
            let sum: f64 = (0..n).map(|i| optuna_weight(i, n)).sum();
            assert!((total_optuna_weight(n) - sum).abs() < 1e-9, "{n}");
        }
    }
}
