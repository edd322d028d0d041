//! The report of a study: one self-contained HTML file, drawn from the study schema
//! ([`hyperplug_schema::StudyData`]) alone.
//!
//! [`render`] writes the page: a summary, the best trial or the Pareto front with its
//! hypervolume, the plots of `optuna.visualization` as SVG (optimization history, parameter
//! importances, parallel coordinates, slice, contour, Pareto front, intermediate values,
//! empirical distribution, timeline, rank), and a sortable, filterable trial table. The page
//! makes no network request: its style, script, data and plots are all inline, and it has no
//! link to anything outside itself. A small inline script adds hover details, zoom and pan
//! (mouse wheel, drag; double-click resets), legends that hide and show series, and the table.
//!
//! The parts are public for live views (a dashboard that redraws as trials finish): each plot
//! is a function in [`plots`] from the study's data to a [`Figure`] of SVG strings;
//! [`figures`] makes them all; [`trials_json`] is the compact trial data the script reads;
//! [`STYLE`] and [`SCRIPT`] are the page's stylesheet and script, which work on any page that
//! holds figures in the same markup ([`figure_html`]) and the data in a
//! `<script type="application/json" id="hp-data">` element.
//!
//! Parameter importances come from `hyperplug-importance` (fANOVA and PED-ANOVA). This crate
//! does no IO: it returns strings.
//!
//! ```
//! use hyperplug_core::{Direction, Domain, Param, Space, Trial, TrialState};
//! use hyperplug_schema::{StudyData, StudyInfo, TrialData};
//!
//! let space = Space::new(vec![Param::new("x", Domain::float(-1.0, 1.0))]).unwrap();
//! let trials = (0..20u32)
//!     .map(|i| {
//!         let x = f64::from(i) / 10.0 - 1.0;
//!         let params = [("x".to_owned(), x.into())].into_iter().collect();
//!         let mut t = Trial::running(u64::from(i), params, 1_700_000_000_000);
//!         t.state = TrialState::Complete;
//!         t.values = vec![x * x];
//!         TrialData::from(&t)
//!     })
//!     .collect();
//! let study = StudyData::new(StudyInfo::new("demo", vec![Direction::Minimize], space), trials);
//! let html = hyperplug_report::render(&study, &hyperplug_report::Options::default()).unwrap();
//! assert!(html.starts_with("<!doctype html>"));
//! assert!(html.contains("id=\"fig-history\"") && html.contains("<svg"));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod page;
pub mod plots;
mod svg;

use hyperplug_core::Direction;
use hyperplug_importance::{Fanova, Importance, PedAnova};
use hyperplug_schema::StudyData;

pub use crate::page::{MAX_MESSAGE_CHARS, TABLE, cut_message, figure_html, render, trials_json};
pub use crate::plots::Figure;

/// The page's stylesheet.
pub const STYLE: &str = include_str!("../assets/report.css");

/// The page's script: hover, zoom, legends and the trial table.
pub const SCRIPT: &str = include_str!("../assets/report.js");

/// What to report.
#[derive(Clone, Debug, PartialEq)]
pub struct Options {
    /// The objective the single-objective plots and importances are about (0 is the first).
    pub objective: usize,
    /// Whether to compute parameter importances (the costliest part on a large study).
    pub importance: bool,
    /// Trees in the fANOVA forest (default 32, half of Optuna's 64: see `max_samples`).
    pub trees: usize,
    /// Each fANOVA tree's bootstrap sample size, at most (see
    /// [`Fanova::max_samples`](hyperplug_importance::Fanova)): bounds the report's time on
    /// large studies. The default, 32 trees of at most 2,000 samples, costs half the 64 × 2,000
    /// it replaced, with the same ranking on the report bench's 10,000-trial study and the same
    /// or better counts on the held-out problems of `hyperplug-importance`'s ranking bench; a
    /// quarter (32 × 1,000) ranked irrelevant parameters last less often (docs/BENCHMARKS.md).
    pub max_samples: Option<usize>,
    /// What made the report, for the footer (e.g. `hyperplug 0.1.0`).
    pub generator: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            objective: 0,
            importance: true,
            trees: 32,
            max_samples: Some(2000),
            generator: "hyperplug".into(),
        }
    }
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The objective asked for does not exist.
    #[error(
        "objective {given} does not exist: the study has {count} objective(s), numbered from 0"
    )]
    Objective {
        /// The objective asked for.
        given: usize,
        /// How many there are.
        count: usize,
    },
}

/// Both evaluators' importances for one objective, or why each could not be computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Importances {
    /// fANOVA's, most important first.
    pub fanova: Result<Vec<Importance>, String>,
    /// PED-ANOVA's, most important first.
    pub ped_anova: Result<Vec<Importance>, String>,
}

impl Importances {
    /// The importances of `study`'s parameters for objective `k`, from its complete trials,
    /// with a fANOVA forest of `trees` trees, each grown on at most `max_samples` trials.
    pub fn of(
        study: &StudyData,
        k: usize,
        trees: usize,
        max_samples: Option<usize>,
    ) -> Importances {
        let direction = study
            .study
            .directions
            .get(k)
            .copied()
            .unwrap_or(Direction::Minimize);
        let samples: Vec<(&hyperplug_core::Params, f64)> = study
            .complete()
            .filter_map(|t| t.values.get(k).map(|v| (&t.params, *v)))
            .collect();
        let space = &study.study.space;
        let fanova = Fanova {
            trees,
            max_samples,
            ..Fanova::default()
        }
        .evaluate(space, &samples)
        .map_err(|e| e.to_string());
        let ped_anova = PedAnova {
            direction,
            ..PedAnova::default()
        }
        .evaluate(space, &samples)
        .map_err(|e| e.to_string());
        Importances { fanova, ped_anova }
    }

    /// Importances not computed, saying why.
    pub fn skipped(why: &str) -> Importances {
        Importances {
            fanova: Err(why.to_owned()),
            ped_anova: Err(why.to_owned()),
        }
    }

    /// The parameters most important first: by fANOVA, else by PED-ANOVA, else in the space's
    /// order (and any the ranking lacks after it, in the space's order).
    pub fn order(&self, study: &StudyData) -> Vec<String> {
        let ranked = self.fanova.as_ref().or(self.ped_anova.as_ref());
        let mut order: Vec<String> = ranked
            .map(|l| l.iter().map(|i| i.param.clone()).collect())
            .unwrap_or_default();
        for p in study.study.space.params() {
            if !order.contains(&p.name) {
                order.push(p.name.clone());
            }
        }
        order
    }
}

/// Every figure that applies to `study`, in the report's order, with the importances they
/// were ordered by.
pub fn figures(
    study: &StudyData,
    options: &Options,
) -> Result<(Vec<Figure>, Importances), ReportError> {
    let k = options.objective;
    let count = study.study.directions.len();
    if k >= count {
        return Err(ReportError::Objective { given: k, count });
    }
    let importances = if options.importance {
        Importances::of(study, k, options.trees, options.max_samples)
    } else {
        Importances::skipped("not computed (importance was turned off)")
    };
    let order = importances.order(study);
    let mut out = vec![plots::history(study, k)];
    out.extend(plots::pareto(study));
    if options.importance {
        out.push(plots::importance(study, k, &importances));
    }
    out.push(plots::parallel_coordinates(study, k, &order));
    out.push(plots::slice(study, k, &order));
    out.extend(plots::contour(study, k, &order));
    out.extend(plots::rank(study, k, &order));
    out.extend(plots::intermediate(study));
    out.push(plots::edf(study, k));
    out.push(plots::timeline(study));
    Ok((out, importances))
}

#[cfg(test)]
mod tests;
