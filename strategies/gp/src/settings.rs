//! The settings a study file gives `gp`, checked when the strategy is created.

use hyperplug_core::{Error, Settings};
use serde::Deserialize;

use crate::NAME;

/// Every key is optional; see the crate documentation for what each does and why its default.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpSettings {
    pub startup: usize,
    pub acquisition: Acquisition,
    pub beta: f64,
    pub candidates: usize,
    pub polish: usize,
    pub polish_iters: u64,
    pub fit_iters: u64,
    pub fit_points: usize,
    pub max_points: usize,
    pub refit_growth: f64,
    pub restart_every: usize,
    pub deterministic: bool,
    pub warp: bool,
    pub batch: Batch,
    pub constraints: Vec<String>,
}

/// What the next point maximizes.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Acquisition {
    /// The logarithm of expected improvement over the best trial (Ament et al. 2023).
    LogEi,
    /// The lower confidence bound of the loss, `μ - √β·σ` (UCB on the objective's side).
    Lcb,
}

/// How running trials shape the next suggestion.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Batch {
    /// Each running trial counts as observed at the model's mean there (the Kriging believer).
    Believer,
    /// Running trials are ignored.
    None,
}

impl Default for GpSettings {
    fn default() -> Self {
        GpSettings {
            startup: 10,
            acquisition: Acquisition::LogEi,
            beta: 4.0,
            candidates: 512,
            polish: 4,
            polish_iters: 25,
            fit_iters: 40,
            fit_points: 128,
            max_points: 400,
            refit_growth: 0.05,
            restart_every: 0,
            deterministic: false,
            warp: true,
            batch: Batch::Believer,
            constraints: Vec::new(),
        }
    }
}

impl GpSettings {
    /// Parses and checks `settings`; every error names the key.
    pub fn parse(settings: &Settings) -> Result<Self, Error> {
        let s: GpSettings = settings.parse(NAME)?;
        let bad = |key: &str, why: String| Err(Error::settings(NAME, format!("`{key}`: {why}")));
        if !(s.beta.is_finite() && s.beta >= 0.0) {
            return bad(
                "beta",
                format!("must be a finite number >= 0, got {}", s.beta),
            );
        }
        if !(1..=100_000).contains(&s.candidates) {
            return bad(
                "candidates",
                format!("must be between 1 and 100000, got {}", s.candidates),
            );
        }
        if s.polish > s.candidates {
            return bad(
                "polish",
                format!(
                    "must be at most `candidates` ({}), got {}",
                    s.candidates, s.polish
                ),
            );
        }
        if s.polish_iters > 10_000 || s.fit_iters > 10_000 {
            return bad(
                if s.fit_iters > 10_000 {
                    "fit_iters"
                } else {
                    "polish_iters"
                },
                "must be at most 10000".into(),
            );
        }
        // Kernel matrices are dense: 5,000 points already take 200 MB and seconds per ask.
        if !(2..=2_000).contains(&s.fit_points) {
            return bad(
                "fit_points",
                format!("must be between 2 and 2000, got {}", s.fit_points),
            );
        }
        if !(2..=5_000).contains(&s.max_points) {
            return bad(
                "max_points",
                format!("must be between 2 and 5000, got {}", s.max_points),
            );
        }
        if !(s.refit_growth.is_finite() && s.refit_growth >= 0.0) {
            return bad(
                "refit_growth",
                format!("must be a finite number >= 0, got {}", s.refit_growth),
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
        if !s.constraints.is_empty() && s.acquisition == Acquisition::Lcb {
            return bad(
                "constraints",
                "constraints weigh the improvement by the probability of feasibility, which \
                 needs `acquisition = \"logei\"`"
                    .into(),
            );
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        for (key, value, why) in [
            ("beta", serde_json::json!(-1.0), ">= 0"),
            ("candidates", serde_json::json!(0), "between 1"),
            ("polish", serde_json::json!(1_000_000), "at most"),
            ("fit_points", serde_json::json!(1), "between 2"),
            ("fit_points", serde_json::json!(100_000), "between 2"),
            ("max_points", serde_json::json!(1), "between 2"),
            ("max_points", serde_json::json!(20_000), "between 2"),
            ("refit_growth", serde_json::json!(-0.5), ">= 0"),
            ("constraints", serde_json::json!(["c", "c"]), "twice"),
            ("constraints", serde_json::json!([" "]), "empty"),
            ("startup", serde_json::json!("ten"), "invalid type"),
            ("acquisition", serde_json::json!("ei"), "unknown variant"),
            ("batch", serde_json::json!("liar"), "unknown variant"),
        ] {
            let e =
                GpSettings::parse(&Settings::default().with(key, value)).expect_err("a bad value");
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{key}`")) && text.contains(why),
                "{key}: {text}"
            );
        }
        let e = GpSettings::parse(
            &Settings::default()
                .with("acquisition", "lcb")
                .with("constraints", serde_json::json!(["c"])),
        )
        .expect_err("lcb with constraints");
        assert!(e.to_string().contains("logei"), "{e}");
        let ok = GpSettings::parse(&Settings::default().with("acquisition", "lcb")).expect("valid");
        assert_eq!(ok.acquisition, Acquisition::Lcb);
    }
}
