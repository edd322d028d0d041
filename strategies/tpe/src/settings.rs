//! The settings a study file gives `tpe`, checked when the strategy is created.

use hyperplug_core::{Error, Settings};
use serde::Deserialize;

use crate::NAME;
use crate::parzen::Bandwidth;

/// The prior weight of a group that decides a branch, unless set (docs/benchmarks/tpe.md).
const DEFAULT_BRANCH_PRIOR_WEIGHT: f64 = 5.0;

/// Every key is optional; see the crate documentation for what each does and why its default.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TpeSettings {
    pub multivariate: bool,
    pub group: Option<bool>,
    pub startup: usize,
    pub candidates: Option<usize>,
    pub gamma: f64,
    pub gamma_max: usize,
    pub prior_weight: f64,
    pub branch_prior_weight: Option<f64>,
    pub categorical_smoothing: Option<f64>,
    pub consider_endpoints: bool,
    pub magic_clip: bool,
    pub magic_exponent: Option<f64>,
    pub min_bandwidth: f64,
    pub bandwidth_scale: f64,
    pub good_weights: GoodWeights,
    pub constant_liar: bool,
    pub avoid_repeats: bool,
    /// Independent TPE over a space of discrete parameters only: when the values chosen one
    /// parameter at a time make a configuration already tried, change the one value whose best
    /// other candidate scores least below it (docs/benchmarks/tpe.md, fourth round: on the ordinal
    /// and categorical HPOLib development tables, and confirmed on naval and protein).
    pub avoid_repeated_trials: bool,
    pub constraints: Vec<String>,
    pub max_kernels: usize,
    pub discrete_floor: f64,
    pub split: Split,
}

/// Which trials a conditional group's good and bad sets are drawn from.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The best `gamma` of all trials are good; a group sees those of them that have it
    /// (Optuna).
    Global,
    /// The best `gamma` of the trials that have the group are good for it, so a branch that is
    /// worse on the whole still learns where its own best values lie.
    Group,
}

/// How the good trials are weighted in `l(x)`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GoodWeights {
    /// All alike (Optuna).
    Uniform,
    /// Decreasing with rank, like CMA-ES's recombination weights: `ln(n + ½) - ln(rank)`.
    Rank,
}

impl Default for TpeSettings {
    fn default() -> Self {
        TpeSettings {
            multivariate: true,
            group: None,
            startup: 10,
            candidates: None,
            gamma: 0.1,
            gamma_max: 25,
            prior_weight: 1.0,
            branch_prior_weight: None,
            categorical_smoothing: None,
            consider_endpoints: false,
            magic_clip: true,
            magic_exponent: None,
            min_bandwidth: 0.01,
            bandwidth_scale: 1.0,
            good_weights: GoodWeights::Rank,
            constant_liar: true,
            avoid_repeats: true,
            avoid_repeated_trials: true,
            constraints: Vec::new(),
            max_kernels: 128,
            discrete_floor: 0.25,
            split: Split::Group,
        }
    }
}

impl TpeSettings {
    /// Parses and checks `settings`; every error names the key.
    pub fn parse(settings: &Settings) -> Result<Self, Error> {
        let s: TpeSettings = settings.parse(NAME)?;
        let bad = |key: &str, why: String| Err(Error::settings(NAME, format!("`{key}`: {why}")));
        if !(s.gamma > 0.0 && s.gamma <= 1.0) {
            return bad("gamma", format!("must be in (0, 1], got {}", s.gamma));
        }
        if s.gamma_max == 0 {
            return bad("gamma_max", "must be at least 1, got 0".into());
        }
        if let Some(c) = s.candidates.filter(|c| !(1..=100_000).contains(c)) {
            return bad(
                "candidates",
                format!("must be between 1 and 100000, got {c}"),
            );
        }
        if !(s.prior_weight.is_finite() && s.prior_weight >= 0.0) {
            return bad(
                "prior_weight",
                format!("must be a finite number >= 0, got {}", s.prior_weight),
            );
        }
        if let Some(x) = s
            .branch_prior_weight
            .filter(|x| !(x.is_finite() && *x >= 0.0))
        {
            return bad(
                "branch_prior_weight",
                format!("must be a finite number >= 0, got {x}"),
            );
        }
        if let Some(x) = s
            .categorical_smoothing
            .filter(|x| !(x.is_finite() && *x >= 0.0))
        {
            return bad(
                "categorical_smoothing",
                format!("must be a finite number >= 0, got {x}"),
            );
        }
        if let Some(x) = s.magic_exponent.filter(|x| !(x.is_finite() && *x > 0.0)) {
            return bad(
                "magic_exponent",
                format!("must be a positive number, got {x}"),
            );
        }
        if !(s.min_bandwidth > 0.0 && s.min_bandwidth <= 1.0) {
            return bad(
                "min_bandwidth",
                format!("must be in (0, 1], got {}", s.min_bandwidth),
            );
        }
        if !(s.bandwidth_scale.is_finite() && s.bandwidth_scale > 0.0) {
            return bad(
                "bandwidth_scale",
                format!("must be a positive number, got {}", s.bandwidth_scale),
            );
        }
        if !(s.discrete_floor.is_finite() && (0.0..=4.0).contains(&s.discrete_floor)) {
            return bad(
                "discrete_floor",
                format!(
                    "must be between 0 and 4 (cell widths), got {}",
                    s.discrete_floor
                ),
            );
        }
        if s.max_kernels < 2 {
            return bad(
                "max_kernels",
                format!("must be at least 2, got {}", s.max_kernels),
            );
        }
        for (i, name) in s.constraints.iter().enumerate() {
            if name.trim().is_empty() {
                return bad("constraints", "a constraint name is empty".into());
            }
            if s.constraints[..i].contains(name) {
                return bad("constraints", format!("`{name}` is listed twice"));
            }
        }
        if s.group == Some(true) && !s.multivariate {
            return bad(
                "group",
                "groups are modelled jointly, which needs `multivariate = true`; leave \
                 `group` out for independent TPE"
                    .into(),
            );
        }
        Ok(s)
    }

    /// Whether conditional spaces are split into groups: by default whenever multivariate.
    pub fn group(&self) -> bool {
        self.group.unwrap_or(self.multivariate)
    }

    /// The bandwidth rule these settings describe, for a group of discrete coordinates only or
    /// not (see [`TpeSettings::categorical_smoothing`]).
    pub fn bandwidth(&self, discrete: bool, lone: bool) -> Bandwidth {
        Bandwidth {
            consider_endpoints: self.consider_endpoints,
            magic_clip: self.magic_clip,
            magic_exponent: self.magic_exponent(discrete && lone),
            min_bandwidth: self.min_bandwidth,
            scale: self.bandwidth_scale,
            categorical_smoothing: self.categorical_smoothing(discrete),
            discrete_floor: self.discrete_floor,
        }
    }

    /// The exponent of the magic clip: as set, or 1 (Optuna's) for a discrete coordinate
    /// modelled on its own (independent TPE over ints and steps: measured on the ordinal HPOLib
    /// development tables, where the faster clip made its kernels point masses on the first
    /// good levels) and 1.5 otherwise (issue 6: the continuous problems and joint kernels).
    pub fn magic_exponent(&self, lone_discrete: bool) -> f64 {
        self.magic_exponent
            .unwrap_or(if lone_discrete { 1.0 } else { 1.5 })
    }

    /// The prior kernel's weight in a group with a parameter that decides which others exist
    /// (the choice of a branch): as set, or 5, so that the choice keeps trying every branch now
    /// and then (chosen on the development problems `plateau`, `branches` and `focus` of
    /// tests/conditional, confirmed on `models`); elsewhere `prior_weight`.
    pub fn group_prior_weight(&self, decides: bool) -> f64 {
        match self.branch_prior_weight {
            _ if !decides => self.prior_weight,
            Some(w) => w,
            None => DEFAULT_BRANCH_PRIOR_WEIGHT,
        }
    }

    /// What a categorical kernel spreads over the other choices: as set, or 0.7 in a group of
    /// discrete coordinates only (measured on the all-categorical tabular benchmarks, where it
    /// beats Optuna's 1.0) and `prior_weight` (Optuna's) in a group with a continuous one, where
    /// the lighter smoothing has not shown a gain.
    pub fn categorical_smoothing(&self, discrete: bool) -> f64 {
        self.categorical_smoothing
            .unwrap_or(if discrete { 0.7 } else { self.prior_weight })
    }

    /// Candidates drawn from `l(x)` for a group: as set, or 24 (Optuna's) when the group has a
    /// continuous coordinate and 48 when it has discrete ones only, whose draws often fall on
    /// the same values (and repeats of earlier trials are skipped).
    pub fn candidates(&self, discrete: bool) -> usize {
        self.candidates.unwrap_or(if discrete { 48 } else { 24 })
    }

    /// The size of the good set among `n` usable trials.
    pub fn n_below(&self, n: usize) -> usize {
        ((self.gamma * n as f64).ceil() as usize).min(self.gamma_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_good_set_grows_with_gamma_up_to_its_cap() {
        let s = TpeSettings::default();
        let sizes: Vec<usize> = [0, 1, 10, 11, 100, 249, 250, 251, 10_000]
            .into_iter()
            .map(|n| s.n_below(n))
            .collect();
        assert_eq!(sizes, [0, 1, 1, 2, 10, 25, 25, 25, 25]);
    }

    #[test]
    fn categorical_smoothing_defaults_by_group_kind_unless_set() {
        let s = TpeSettings::parse(&Settings::default().with("prior_weight", 2.0)).unwrap();
        assert_eq!(s.categorical_smoothing(true), 0.7);
        assert_eq!(s.categorical_smoothing(false), 2.0);
        assert_eq!(s.bandwidth(false, false).categorical_smoothing, 2.0);
        let set = TpeSettings::parse(&Settings::default().with("categorical_smoothing", 0.4));
        let set = set.unwrap();
        assert_eq!(set.categorical_smoothing(true), 0.4);
        assert_eq!(set.categorical_smoothing(false), 0.4);
    }

    #[test]
    fn a_branch_choice_has_its_own_prior_weight() {
        let s = TpeSettings::parse(&Settings::default().with("prior_weight", 2.0)).unwrap();
        assert_eq!(s.group_prior_weight(false), 2.0);
        assert_eq!(s.group_prior_weight(true), 5.0);
        let set = TpeSettings::parse(&Settings::default().with("branch_prior_weight", 1.0));
        assert_eq!(set.unwrap().group_prior_weight(true), 1.0);
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (key, value, why) in [
            ("gamma", serde_json::json!(0.0), "(0, 1]"),
            ("gamma", serde_json::json!(1.5), "(0, 1]"),
            ("candidates", serde_json::json!(0), "between 1"),
            ("prior_weight", serde_json::json!(-1.0), ">= 0"),
            ("branch_prior_weight", serde_json::json!(-2.0), ">= 0"),
            ("categorical_smoothing", serde_json::json!(-0.5), ">= 0"),
            ("min_bandwidth", serde_json::json!(0.0), "(0, 1]"),
            ("max_kernels", serde_json::json!(1), "at least 2"),
            ("discrete_floor", serde_json::json!(-0.1), "between 0 and 4"),
            ("split", serde_json::json!("branch"), "unknown variant"),
            ("constraints", serde_json::json!(["c", "c"]), "twice"),
            ("startup", serde_json::json!("ten"), "invalid type"),
            ("good_weights", serde_json::json!("ei"), "unknown variant"),
        ] {
            let e =
                TpeSettings::parse(&Settings::default().with(key, value)).expect_err("a bad value");
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{key}`")) && text.contains(why),
                "{key}: {text}"
            );
        }
        let e = TpeSettings::parse(
            &Settings::default()
                .with("multivariate", false)
                .with("group", true),
        )
        .expect_err("group needs multivariate");
        assert!(e.to_string().contains("`group`"), "{e}");
        let independent = TpeSettings::parse(&Settings::default().with("multivariate", false))
            .expect("independent TPE");
        assert!(!independent.group());
        assert!(TpeSettings::default().group());
    }
}
