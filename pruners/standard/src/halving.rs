//! Successive halving, ASHA and Hyperband: rungs at `min_resource · η^k` steps, at each of which
//! only the best `1/η` of the trials that reached it go on.

use hyperplug_core::{
    Direction, Error, PluginInfo, PruneContext, Pruner, PrunerFactory, PrunerSetup, Settings,
    Trial, value_at,
};
use serde::Deserialize;

use crate::{first, loss, pruner_info};

/// Successive halving, synchronous in effect without making anyone wait: trials are judged in
/// cohorts of `cohort` consecutive trial numbers; at rung `k` (step `min_resource ·
/// η^(min_early_stopping_rate + k)`) a cohort keeps its best `cohort / η^(k+1)` (at least one),
/// and a trial stops as soon as that many of its cohort did better than it at a rung it
/// reached. Its fate never depends on reaching a rung before the others (ASHA, and Optuna's
/// `SuccessiveHalvingPruner`, promote the first arrivals of a rung for lack of rivals), so it
/// stays fair when many trials start together; the price is that a trial keeps running until
/// the evidence against it is in, and that with few workers a cohort's first trials run long.
///
/// Settings: `max_resource` (required: the steps of a full trial), `min_resource` (1),
/// `reduction_factor` η (3), `min_early_stopping_rate` (0), `cohort` (η^rungs, where rungs is
/// the number of rungs below `max_resource`: the classic bracket, which keeps one trial to the
/// end).
#[derive(Clone, Copy, Debug, Default)]
pub struct SuccessiveHalving;

/// Asynchronous successive halving (Li et al., 2020): when a trial reaches a rung it goes on
/// only if it is among the best `1/η` (at least the best one) of every trial that has reached
/// that rung so far, any worker's; it is judged once per rung and no one waits for a rung to
/// fill. Settings: `min_resource` (1), `reduction_factor` (3), `min_early_stopping_rate` (0),
/// `max_resource` (optional: no rungs at or beyond it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Asha;

/// Hyperband (Li et al., 2018): brackets of successive halving from the most aggressive (first
/// rung at `min_resource`) to none (every trial runs `max_resource`), each trial assigned to a
/// bracket by its number, in blocks of the sizes the paper gives each bracket (`⌈(s_max + 1) ·
/// η^s / (s + 1)⌉` for the bracket with `s` halvings), so that every worker and a resumed study
/// agree. Within its bracket a trial is judged by ASHA's rule against the bracket's trials
/// (`synchronous = false`, the default, as Optuna's `HyperbandPruner`), or by successive
/// halving's cohort rule, one cohort per bracket and round (`synchronous = true`). Settings:
/// `max_resource` (required), `min_resource` (1), `reduction_factor` (3), `synchronous`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hyperband;

/// Where the rungs are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rungs {
    min_resource: u64,
    eta: u64,
    rate: u32,
    max_resource: Option<u64>,
}

impl Rungs {
    /// The step of rung `k`, if there is one below the maximum.
    fn at(&self, k: u32) -> Option<u64> {
        let r = self
            .eta
            .checked_pow(self.rate.checked_add(k)?)?
            .checked_mul(self.min_resource)?;
        match self.max_resource {
            Some(max) if r >= max => None,
            _ => Some(r),
        }
    }

    /// The rungs' steps, lowest first.
    fn steps(&self) -> impl Iterator<Item = u64> + '_ {
        (0..).map_while(|k| self.at(k))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HalvingSettings {
    #[serde(default)]
    max_resource: Option<u64>,
    #[serde(default = "one")]
    min_resource: u64,
    #[serde(default = "three")]
    reduction_factor: u64,
    #[serde(default)]
    min_early_stopping_rate: u32,
    #[serde(default)]
    cohort: Option<u64>,
    #[serde(default)]
    synchronous: bool,
}

impl HalvingSettings {
    /// The rungs these settings place (successive halving's and ASHA's; Hyperband's brackets
    /// place their own).
    fn rungs(&self) -> Rungs {
        Rungs {
            min_resource: self.min_resource,
            eta: self.reduction_factor,
            rate: self.min_early_stopping_rate,
            max_resource: self.max_resource,
        }
    }
}

fn one() -> u64 {
    1
}
fn three() -> u64 {
    3
}

/// Reads `name`'s settings, refusing keys `name` does not take and values out of range.
fn settings(
    name: &str,
    settings: &Settings,
    allowed: &[&str],
    needs_max: bool,
) -> Result<HalvingSettings, Error> {
    let s: HalvingSettings = settings.parse(name)?;
    for (key, set) in [
        ("max_resource", s.max_resource.is_some()),
        ("min_early_stopping_rate", s.min_early_stopping_rate != 0),
        ("cohort", s.cohort.is_some()),
        ("synchronous", settings.get("synchronous").is_some()),
    ] {
        if set && !allowed.contains(&key) {
            return Err(Error::settings(
                name,
                format!(
                    "unknown field `{key}`, expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    let refuse = |m: String| Err(Error::settings(name, m));
    if s.reduction_factor < 2 {
        return refuse(format!(
            "`reduction_factor` is {}; give 2 or more (3 keeps the best third at each rung)",
            s.reduction_factor
        ));
    }
    if s.min_resource == 0 {
        return refuse("`min_resource` is 0; give the steps of the first rung, 1 or more".into());
    }
    match s.max_resource {
        None if needs_max => {
            return refuse(
                "give `max_resource`: the steps a trial runs in full (e.g. its epochs)".into(),
            );
        }
        Some(max) if max < s.min_resource => {
            return refuse(format!(
                "`max_resource` ({max}) is below `min_resource` ({})",
                s.min_resource
            ));
        }
        _ => {}
    }
    if s.cohort == Some(0) {
        return refuse("`cohort` is 0; give the number of trials judged together".into());
    }
    Ok(s)
}

const HALVING_KEYS: [&str; 5] = [
    "max_resource",
    "min_resource",
    "reduction_factor",
    "min_early_stopping_rate",
    "cohort",
];

impl PrunerFactory for SuccessiveHalving {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "successive-halving",
            "Successive halving in cohorts of trials: the best 1/η of each cohort go on at each rung.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let s = settings("successive-halving", setup.settings, &HALVING_KEYS, true)?;
        let rungs = s.rungs();
        let count = rungs.steps().count() as u32;
        let cohort = s
            .cohort
            .unwrap_or_else(|| s.reduction_factor.saturating_pow(count).max(1));
        Ok(Box::new(CohortRule { rungs, cohort }))
    }
}

impl PrunerFactory for Asha {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "asha",
            "Asynchronous successive halving: a trial goes on from a rung if in the best 1/η so far.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let keys = [
            "max_resource",
            "min_resource",
            "reduction_factor",
            "min_early_stopping_rate",
        ];
        let s = settings("asha", setup.settings, &keys, false)?;
        Ok(Box::new(AshaRule { rungs: s.rungs() }))
    }
}

impl PrunerFactory for Hyperband {
    fn info(&self) -> PluginInfo {
        pruner_info(
            "hyperband",
            "Hyperband: brackets of successive halving of every aggressiveness, trials assigned by number.",
        )
    }

    fn create(&self, setup: &PrunerSetup<'_>) -> Result<Box<dyn Pruner>, Error> {
        let keys = [
            "max_resource",
            "min_resource",
            "reduction_factor",
            "synchronous",
        ];
        let s = settings("hyperband", setup.settings, &keys, true)?;
        let max = s.max_resource.unwrap_or(s.min_resource);
        Ok(Box::new(HyperbandRule {
            brackets: Brackets::new(s.min_resource, max, s.reduction_factor),
            synchronous: s.synchronous,
        }))
    }
}

/// A trial's value at a rung's step as a loss; NaN when it reported NaN there.
fn rung_loss(trial: &Trial, step: u64, direction: Direction) -> Option<f64> {
    value_at(trial, step).map(|v| loss(direction, v))
}

/// ASHA's rule at the rungs `trial` crossed with the values reported since its `previous`
/// first ones (those the study had judged it on), against `rivals`.
fn asha_prunes<'a>(
    rungs: &Rungs,
    trial: &Trial,
    previous: usize,
    rivals: impl Iterator<Item = &'a Trial> + Clone,
    direction: Direction,
) -> bool {
    let Some(last) = trial.intermediate.iter().map(|&(s, _)| s).max() else {
        return false;
    };
    let before = trial.intermediate[..previous.min(trial.intermediate.len())]
        .iter()
        .map(|&(s, _)| s)
        .max();
    for step in rungs.steps().take_while(|&r| r <= last) {
        if before.is_some_and(|b| b >= step) {
            continue; // judged when it first got there
        }
        let Some(mine) = rung_loss(trial, step, direction) else {
            continue;
        };
        if mine.is_nan() {
            return true;
        }
        let (mut n, mut better) = (1u64, 0u64);
        for l in rivals.clone().filter_map(|t| rung_loss(t, step, direction)) {
            if l.is_nan() {
                continue;
            }
            n += 1;
            better += u64::from(l < mine);
        }
        if better >= (n / rungs.eta).max(1) {
            return true;
        }
    }
    false
}

/// Successive halving's cohort rule: `trial` stops once, at a rung it reached, as many of its
/// cohort `rivals` did better as the cohort of `size` keeps there. Ties go to the lower number.
fn cohort_prunes<'a>(
    rungs: &Rungs,
    trial: &Trial,
    rivals: impl Iterator<Item = &'a Trial> + Clone,
    size: u64,
    direction: Direction,
) -> bool {
    let Some(last) = trial.intermediate.iter().map(|&(s, _)| s).max() else {
        return false;
    };
    let mut keep = size;
    for step in rungs.steps().take_while(|&r| r <= last) {
        keep = (keep / rungs.eta).max(1);
        let Some(mine) = rung_loss(trial, step, direction) else {
            continue;
        };
        if mine.is_nan() {
            return true;
        }
        let better = rivals
            .clone()
            .filter_map(|t| rung_loss(t, step, direction).map(|l| (l, t.number)))
            .filter(|&(l, number)| l < mine || (l == mine && number < trial.number))
            .count() as u64;
        if better >= keep {
            return true;
        }
    }
    false
}

struct AshaRule {
    rungs: Rungs,
}

impl Pruner for AshaRule {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        Ok(asha_prunes(
            &self.rungs,
            ctx.trial,
            ctx.previous,
            ctx.others(),
            first(ctx.directions),
        ))
    }

    fn resource(&self, _number: u64) -> Option<u64> {
        self.rungs.max_resource
    }
}

struct CohortRule {
    rungs: Rungs,
    cohort: u64,
}

impl Pruner for CohortRule {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let mine = ctx.trial.number / self.cohort;
        let rivals = ctx.others().filter(|t| t.number / self.cohort == mine);
        Ok(cohort_prunes(
            &self.rungs,
            ctx.trial,
            rivals,
            self.cohort,
            first(ctx.directions),
        ))
    }

    fn resource(&self, _number: u64) -> Option<u64> {
        self.rungs.max_resource
    }
}

/// Hyperband's brackets: for each, its number of halvings `s` and how many trials of a round
/// it takes, most aggressive first.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Brackets {
    min_resource: u64,
    max_resource: u64,
    eta: u64,
    sizes: Vec<(u32, u64)>,
}

impl Brackets {
    fn new(min_resource: u64, max_resource: u64, eta: u64) -> Self {
        let mut s_max = 0u32;
        while eta
            .checked_pow(s_max + 1)
            .and_then(|p| p.checked_mul(min_resource))
            .is_some_and(|r| r <= max_resource)
        {
            s_max += 1;
        }
        let sizes = (0..=s_max)
            .rev()
            .map(|s| {
                let n = (u64::from(s_max) + 1).saturating_mul(eta.saturating_pow(s));
                (s, n.div_ceil(u64::from(s) + 1))
            })
            .collect();
        Brackets {
            min_resource,
            max_resource,
            eta,
            sizes,
        }
    }

    /// Trials in one round of every bracket.
    fn round(&self) -> u64 {
        self.sizes.iter().map(|&(_, n)| n).sum::<u64>().max(1)
    }

    /// Trial `number`'s round and its bracket's index in `sizes`.
    fn of(&self, number: u64) -> (u64, usize) {
        let mut pos = number % self.round();
        for (i, &(_, n)) in self.sizes.iter().enumerate() {
            if pos < n {
                return (number / self.round(), i);
            }
            pos -= n;
        }
        (number / self.round(), self.sizes.len() - 1)
    }

    /// The rungs of bracket `i`: its first at `max_resource / η^s`, in steps of the grid that
    /// starts at `min_resource`.
    fn rungs(&self, i: usize) -> Rungs {
        let s_max = self.sizes.first().map_or(0, |&(s, _)| s);
        Rungs {
            min_resource: self.min_resource,
            eta: self.eta,
            rate: s_max - self.sizes[i].0,
            max_resource: Some(self.max_resource),
        }
    }
}

struct HyperbandRule {
    brackets: Brackets,
    synchronous: bool,
}

impl Pruner for HyperbandRule {
    fn prune(&mut self, ctx: &PruneContext<'_>) -> Result<bool, Error> {
        let b = &self.brackets;
        let (round, bracket) = b.of(ctx.trial.number);
        let rungs = b.rungs(bracket);
        let direction = first(ctx.directions);
        Ok(if self.synchronous {
            let rivals = ctx.others().filter(|t| b.of(t.number) == (round, bracket));
            cohort_prunes(&rungs, ctx.trial, rivals, b.sizes[bracket].1, direction)
        } else {
            let rivals = ctx.others().filter(|t| b.of(t.number).1 == bracket);
            asha_prunes(&rungs, ctx.trial, ctx.previous, rivals, direction)
        })
    }

    fn resource(&self, _number: u64) -> Option<u64> {
        Some(self.brackets.max_resource)
    }
}

#[cfg(test)]
mod tests {
    use hyperplug_core::TrialState::{self, *};

    use super::*;
    use crate::testing::{decide, pruner, trial};

    fn s() -> Settings {
        Settings::default()
    }

    #[test]
    fn rungs_sit_at_min_resource_times_powers_of_eta_below_the_maximum() {
        let r = Rungs {
            min_resource: 2,
            eta: 3,
            rate: 1,
            max_resource: Some(100),
        };
        assert_eq!(r.steps().collect::<Vec<_>>(), [6, 18, 54]);
        let open = Rungs {
            max_resource: None,
            ..r
        };
        assert_eq!(open.steps().count(), 39, "up to u64 overflow, no further");
    }

    /// The paper's table for R = 81, η = 3: five brackets of 81, 34, 15, 8 and 5 trials, and
    /// the first rung of each at 1, 3, 9, 27 and (none below) 81 steps.
    #[test]
    fn hyperband_brackets_follow_the_paper() {
        let b = Brackets::new(1, 81, 3);
        assert_eq!(b.sizes, [(4, 81), (3, 34), (2, 15), (1, 8), (0, 5)]);
        assert_eq!(b.round(), 143);
        let first_rungs: Vec<Option<u64>> = (0..5).map(|i| b.rungs(i).at(0)).collect();
        assert_eq!(first_rungs, [Some(1), Some(3), Some(9), Some(27), None]);
        assert_eq!(b.of(0), (0, 0));
        assert_eq!(b.of(80), (0, 0));
        assert_eq!(b.of(81), (0, 1));
        assert_eq!(b.of(142), (0, 4));
        assert_eq!(b.of(143 + 81), (1, 1));
    }

    /// `n` trials with values `f(i)` at steps 1..=`steps`, in `state`.
    fn field(n: u64, steps: u64, state: TrialState, f: impl Fn(u64) -> f64) -> Vec<Trial> {
        (0..n)
            .map(|i| {
                let values: Vec<(u64, f64)> = (1..=steps).map(|s| (s, f(i) / s as f64)).collect();
                trial(i, state, &values, f(i) / steps as f64)
            })
            .collect()
    }

    #[test]
    fn asha_keeps_the_best_third_of_those_that_reached_the_rung_so_far() {
        let mut p = pruner(&Asha, s().with("min_resource", 2));
        // Nine finished trials reached step 2 with values i (i / 2 at step 2).
        let finished = field(9, 4, Complete, |i| i as f64);
        let at_rung = |v: f64| trial(20, Running, &[(1, 9.0), (2, v)], 0.0);
        // Better than all but two of the nine (ten at the rung: keep three): goes on.
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[at_rung(0.9)],
            20
        ));
        // Three better: stops.
        assert!(decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[at_rung(1.1)],
            20
        ));
        // Before the rung, or past it already (judged when it got there): no decision.
        let early = trial(21, Running, &[(1, 99.0)], 0.0);
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[early],
            21
        ));
        let past = trial(22, Running, &[(1, 9.0), (2, 9.0), (3, 9.0)], 0.0);
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[past],
            22
        ));
        // The first trial at a rung has no rival and goes on.
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &[],
            &[at_rung(50.0)],
            20
        ));
    }

    /// Nine trials start together and report step 1 in a random order: successive halving
    /// keeps exactly the best three whatever the order, where ASHA keeps early arrivals.
    #[test]
    fn successive_halving_is_fair_to_trials_that_start_together() {
        let sha = s().with("max_resource", 9).with("cohort", 9);
        let asha = s().with("max_resource", 9);
        let loss = |i: u64| ((i * 5) % 9) as f64; // trial i's value, a permutation of 0..9
        // Arrival order: the worst first.
        let mut order: Vec<u64> = (0..9).collect();
        order.sort_by(|&a, &b| loss(b).total_cmp(&loss(a)));
        let run = |factory: &dyn PrunerFactory, settings: &Settings| -> Vec<u64> {
            let mut p = pruner(factory, settings.clone());
            let mut running: Vec<Trial> = (0..9).map(|i| trial(i, Running, &[], 0.0)).collect();
            let mut stopped = Vec::new();
            // Round 1: each reports step 1 in arrival order, judged as it does; round 2: every
            // survivor reports step 2 and is judged again.
            for step in 1..=2 {
                for &i in &order {
                    if stopped.contains(&i) {
                        continue;
                    }
                    running[i as usize].intermediate.push((step, loss(i)));
                    let live: Vec<Trial> = running
                        .iter()
                        .filter(|t| !stopped.contains(&t.number))
                        .cloned()
                        .collect();
                    if decide(&mut *p, Direction::Minimize, &[], &live, i) {
                        stopped.push(i);
                    }
                }
            }
            let mut kept: Vec<u64> = (0..9).filter(|i| !stopped.contains(i)).collect();
            kept.sort_by(|&a, &b| loss(a).total_cmp(&loss(b)));
            kept
        };
        let best_three: Vec<u64> = {
            let mut all: Vec<u64> = (0..9).collect();
            all.sort_by(|&a, &b| loss(a).total_cmp(&loss(b)));
            all[..3].to_vec()
        };
        assert_eq!(run(&SuccessiveHalving, &sha), best_three);
        // ASHA promoted the worst trials, which arrived first with no rivals.
        let asha = run(&Asha, &asha);
        assert!(asha.len() > 3 && asha.contains(&order[0]), "{asha:?}");
    }

    #[test]
    fn cohorts_are_judged_apart() {
        let mut p = pruner(&SuccessiveHalving, s().with("max_resource", 9));
        // Cohorts of 9 (η² for rungs at 1 and 3). Cohort 0 is strong, cohort 1 weak.
        let strong = field(9, 9, Complete, |i| i as f64);
        let mut weak = field(9, 9, Complete, |i| 100.0 + i as f64);
        for (k, t) in weak.iter_mut().enumerate() {
            t.number = 9 + k as u64;
        }
        let finished: Vec<Trial> = strong.into_iter().chain(weak).collect();
        // Trial 18 opens cohort 2: no rivals, goes on whatever its value.
        let lone = trial(18, Running, &[(1, 1000.0)], 0.0);
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[lone],
            18
        ));
        // Trial 17 (cohort 1) at 101.5: three of its cohort did better at step 1: stops.
        let mut mid = finished[17].clone();
        mid.state = Running;
        mid.intermediate = vec![(1, 103.5)];
        let rest: Vec<Trial> = finished
            .iter()
            .filter(|t| t.number != 17)
            .cloned()
            .collect();
        assert!(decide(
            &mut *p,
            Direction::Minimize,
            &rest,
            &[mid.clone()],
            17
        ));
        mid.intermediate = vec![(1, 101.5)];
        assert!(!decide(&mut *p, Direction::Minimize, &rest, &[mid], 17));
    }

    #[test]
    fn hyperband_judges_a_trial_within_its_bracket_only() {
        let mut p = pruner(
            &Hyperband,
            s().with("max_resource", 9).with("min_resource", 1),
        );
        assert_eq!(
            p.resource(0),
            Some(9),
            "every trial is started with the full budget"
        );
        // η = 3, R = 9: brackets of 9 (rungs 1, 3), 5 (rung 3) and 3 (none) trials.
        // Bracket 0's trials 0..9 are excellent; trial 9 is in bracket 1 (rung at 3).
        let finished = field(9, 9, Complete, |i| i as f64 * 0.01);
        let poor = trial(9, Running, &[(1, 50.0), (2, 50.0), (3, 50.0)], 0.0);
        assert!(
            !decide(&mut *p, Direction::Minimize, &finished, &[poor], 9),
            "bracket 1 has no one else at step 3"
        );
        // Trial 14 is in the last bracket: it never stops.
        let last = trial(14, Running, &[(1, 1e9), (3, 1e9), (8, 1e9)], 0.0);
        assert!(!decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[last],
            14
        ));
        // A poor trial of the next round's bracket 0 (number 17) is judged against bracket 0.
        let poor0 = trial(17, Running, &[(1, 50.0)], 0.0);
        assert!(decide(
            &mut *p,
            Direction::Minimize,
            &finished,
            &[poor0],
            17
        ));
    }

    #[test]
    fn settings_are_checked_and_foreign_keys_refused() {
        let err = |f: &dyn PrunerFactory, s: Settings| match f.create(&PrunerSetup {
            directions: &[Direction::Minimize],
            seed: 0,
            settings: &s,
        }) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err(&Hyperband, s()).contains("give `max_resource`"));
        assert!(err(&SuccessiveHalving, s()).contains("give `max_resource`"));
        let e = err(&Asha, s().with("reduction_factor", 1));
        assert!(e.contains("`reduction_factor` is 1"), "{e}");
        let e = err(&Asha, s().with("cohort", 4));
        assert!(e.contains("unknown field `cohort`"), "{e}");
        let e = err(
            &Hyperband,
            s().with("max_resource", 3).with("min_resource", 9),
        );
        assert!(e.contains("below `min_resource`"), "{e}");
        let e = err(&Asha, s().with("min_resource", -1));
        assert!(e.contains("min_resource"), "{e}");
    }
}
