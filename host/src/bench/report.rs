//! The report: JSON lines in, a markdown table per problem and budget (and one for sampler
//! overhead) out, with SVG curves beside it.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::Direction;
use hyperplug_schema::{StudyData, TrialData};

use super::record::{Record, RecordKind, regret};
use super::stats::{iqr, mean, median, ranks, sig};

/// How many trials before a checkpoint the overhead table averages over.
pub const OVERHEAD_WINDOW: usize = 50;

/// Reads the records of `paths`: JSON lines, one record per non-blank line (from `hyperplug
/// bench` or bench/compare), or a study export (`hyperplug studies export NAME --format json`,
/// one objective), read as one run of its strategy on a problem named after the study. Errors
/// name the file and line.
pub fn read_records(paths: &[PathBuf]) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read results file {}", path.display()))?;
        if text.trim_start().starts_with('{') && text.contains("\"schema_version\"") {
            let study =
                StudyData::from_json(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            out.push(study_record(&study).with_context(|| {
                format!("{}: cannot be read as a benchmark run", path.display())
            })?);
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: Record = serde_json::from_str(line).map_err(|e| {
                anyhow!("{}:{}: not a benchmark record: {e}", path.display(), i + 1)
            })?;
            out.push(record);
        }
    }
    Ok(out)
}

/// A single-objective study as one benchmark run: its best value after each trial, and the
/// trials' durations.
fn study_record(study: &StudyData) -> Result<Record> {
    let info = &study.study;
    let [direction] = info.directions[..] else {
        bail!(
            "study `{}` has {} objectives; a benchmark report compares one (`hyperplug report` draws any study)",
            info.name,
            info.directions.len()
        );
    };
    let finished: Vec<&TrialData> = study
        .trials
        .iter()
        .filter(|t| t.state.is_finished())
        .collect();
    let mut r = Record::new(
        "hyperplug",
        info.strategy.as_deref().unwrap_or("study"),
        &info.name,
        direction,
        info.seed.unwrap_or(0),
        info.trial_budget.unwrap_or(finished.len() as u64),
    );
    r.strategy_name = info.strategy.clone().unwrap_or_default();
    r.objective = info.objective.clone().unwrap_or_default();
    r.trials = finished.len() as u64;
    r.complete = study.counts.complete;
    r.failed = study.counts.failed;
    r.pruned = study.counts.pruned;
    r.steps = finished.iter().map(|t| t.intermediate.len() as u64).sum();
    let mut best: Option<f64> = None;
    for t in &finished {
        if let (true, Some(&v)) = (t.is_complete(), t.values.first())
            && best.is_none_or(|b| direction.better(v, b))
        {
            best = Some(v);
            r.best_trial = Some(t.number);
        }
        r.best_so_far.push(best);
        r.trial_s.push(t.duration_s.unwrap_or(0.0));
    }
    r.best_value = best;
    r.best_observed = best;
    let start = finished
        .iter()
        .map(|t| t.started_ms)
        .filter(|&s| s > 0)
        .min();
    let end = finished.iter().filter_map(|t| t.finished_ms).max();
    if let (Some(a), Some(b)) = (start, end) {
        r.wall_s = b.saturating_sub(a) as f64 / 1000.0;
    }
    Ok(r)
}

/// One strategy of one system on one problem and budget: the runs and their statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `hyperplug`, `optuna`, …
    pub system: String,
    /// The strategy's label.
    pub strategy: String,
    /// The runs, in the order read.
    pub runs: Vec<Record>,
    /// Median of the best values of the runs that found one.
    pub median_best: Option<f64>,
    /// Their interquartile range.
    pub iqr_best: Option<f64>,
    /// Median regret, where the optimum is known.
    pub median_regret: Option<f64>,
    /// Its interquartile range.
    pub iqr_regret: Option<f64>,
    /// Mean rank over the seeds every row ran (1 = best).
    pub mean_rank: Option<f64>,
    /// Median over runs of the mean sampler milliseconds per trial.
    pub sampler_ms: Option<f64>,
    /// Median wall seconds per run.
    pub wall_s: Option<f64>,
    /// Median over runs of the resource all trials spent (`steps`: epochs for the `mlp`
    /// objective), where any run records one.
    pub steps: Option<f64>,
    /// Median over runs of the trials a pruner stopped, beside `steps`.
    pub pruned: Option<f64>,
}

impl Row {
    /// How many runs failed outright: an error, or no trial completed.
    pub fn errors(&self) -> usize {
        self.runs.iter().filter(|r| failed(r)).count()
    }

    /// Failed trials over all runs, and trials run.
    pub fn failed_trials(&self) -> (u64, u64) {
        self.runs
            .iter()
            .fold((0, 0), |(f, t), r| (f + r.failed, t + r.trials))
    }
}

/// Whether a run failed: it reports an error, or found no value. Such a run has no quality to
/// rank: it is listed as failed, not counted as the worst.
fn failed(r: &Record) -> bool {
    r.error.is_some() || r.best_value.is_none()
}

/// All rows of one problem at one budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// The problem's label.
    pub problem: String,
    /// Trials per run.
    pub budget: u64,
    /// Which way is better.
    pub direction: Direction,
    /// The optimum, when the records know it.
    pub optimum: Option<f64>,
    /// The rows, in the order first read.
    pub rows: Vec<Row>,
    /// How many seeds every ranked row ran without failing (the ranks are over these).
    pub ranked_seeds: usize,
}

/// The overhead of one strategy of one system.
#[derive(Clone, Debug, PartialEq)]
pub struct OverheadRow {
    /// The system.
    pub system: String,
    /// The strategy's label.
    pub strategy: String,
    /// The problem it ran (names the space).
    pub problem: String,
    /// The most trials any of its runs finished.
    pub trials: usize,
    /// Per checkpoint: median over runs of the mean wall ms per trial in the window.
    pub trial_ms: Vec<Option<f64>>,
    /// Per checkpoint: the same for the strategy's own time.
    pub sampler_ms: Vec<Option<f64>>,
}

/// Everything a report shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Quality sections.
    pub sections: Vec<Section>,
    /// The checkpoints of the overhead table.
    pub checkpoints: Vec<u64>,
    /// Overhead rows.
    pub overhead: Vec<OverheadRow>,
}

/// Groups `records` into sections and rows and computes every statistic.
pub fn build(records: &[Record]) -> Report {
    let mut sections: Vec<Section> = Vec::new();
    let mut overhead_runs: Vec<(String, String, String, Vec<&Record>)> = Vec::new();
    let mut checkpoints = BTreeSet::new();
    for r in records {
        if r.kind == RecordKind::Overhead {
            checkpoints.extend(r.checkpoints.iter().copied());
            match overhead_runs
                .iter_mut()
                .find(|(s, t, p, _)| *s == r.system && *t == r.strategy && *p == r.problem)
            {
                Some(entry) => entry.3.push(r),
                None => overhead_runs.push((
                    r.system.clone(),
                    r.strategy.clone(),
                    r.problem.clone(),
                    vec![r],
                )),
            }
            continue;
        }
        let section = match sections
            .iter_mut()
            .position(|s| s.problem == r.problem && s.budget == r.budget)
        {
            Some(i) => &mut sections[i],
            None => {
                sections.push(Section {
                    problem: r.problem.clone(),
                    budget: r.budget,
                    direction: r.direction,
                    optimum: None,
                    rows: Vec::new(),
                    ranked_seeds: 0,
                });
                let last = sections.len() - 1;
                &mut sections[last]
            }
        };
        if section.optimum.is_none() {
            section.optimum = r.optimum;
        }
        match section
            .rows
            .iter_mut()
            .find(|row| row.system == r.system && row.strategy == r.strategy)
        {
            Some(row) => row.runs.push(r.clone()),
            None => section.rows.push(Row {
                system: r.system.clone(),
                strategy: r.strategy.clone(),
                runs: vec![r.clone()],
                median_best: None,
                iqr_best: None,
                median_regret: None,
                iqr_regret: None,
                mean_rank: None,
                sampler_ms: None,
                wall_s: None,
                steps: None,
                pruned: None,
            }),
        }
    }
    for section in &mut sections {
        fill(section);
    }
    let checkpoints: Vec<u64> = checkpoints.into_iter().collect();
    let overhead = overhead_runs
        .into_iter()
        .map(|(system, strategy, problem, runs)| {
            let window = |pick: fn(&Record) -> &[f64], m: u64| {
                let per_run: Vec<f64> = runs
                    .iter()
                    .filter_map(|r| window_mean(pick(r), m as usize))
                    .collect();
                median(&per_run).map(|s| s * 1e3)
            };
            OverheadRow {
                trials: runs.iter().map(|r| r.trial_s.len()).max().unwrap_or(0),
                trial_ms: checkpoints
                    .iter()
                    .map(|&m| window(|r| &r.trial_s, m))
                    .collect(),
                sampler_ms: checkpoints
                    .iter()
                    .map(|&m| window(|r| &r.sampler_s, m))
                    .collect(),
                system,
                strategy,
                problem,
            }
        })
        .collect();
    Report {
        sections,
        checkpoints,
        overhead,
    }
}

/// The mean of the `OVERHEAD_WINDOW` values ending at the `m`-th (fewer when `m` is smaller);
/// `None` when fewer than `m` values exist.
pub fn window_mean(values: &[f64], m: usize) -> Option<f64> {
    if m == 0 || values.len() < m {
        return None;
    }
    mean(&values[m.saturating_sub(OVERHEAD_WINDOW)..m])
}

fn fill(section: &mut Section) {
    let direction = section.direction;
    let optimum = section.optimum;
    for row in &mut section.rows {
        let best: Vec<f64> = row.runs.iter().filter_map(|r| r.best_value).collect();
        row.median_best = median(&best);
        row.iqr_best = iqr(&best);
        // Regret against the section's optimum, so that every system is measured alike.
        let regrets: Vec<f64> = match optimum {
            Some(o) => best.iter().map(|&b| regret(direction, b, o)).collect(),
            None => Vec::new(),
        };
        row.median_regret = median(&regrets);
        row.iqr_regret = iqr(&regrets);
        let sampler: Vec<f64> = row.runs.iter().filter_map(|r| mean(&r.sampler_s)).collect();
        row.sampler_ms = median(&sampler).map(|s| s * 1e3);
        let walls: Vec<f64> = row
            .runs
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.wall_s)
            .collect();
        row.wall_s = median(&walls);
        // Records of systems that do not count steps hold 0: no figure rather than a false one.
        if row.runs.iter().any(|r| r.steps > 0) {
            let ok = || row.runs.iter().filter(|r| r.error.is_none());
            row.steps = median(&ok().map(|r| r.steps as f64).collect::<Vec<_>>());
            row.pruned = median(&ok().map(|r| r.pruned as f64).collect::<Vec<_>>());
        }
    }
    // Rank over the seeds on which every row that has a successful run succeeded; a row's run
    // per seed is its first with that seed. A failed run is not a bad result but none: ranking
    // it last would blame the strategy for a crash, so its seed is left out for every row, and
    // a row whose every run failed gets no rank.
    let succeeded = |row: &Row| -> BTreeSet<u64> {
        let mut seeds = BTreeSet::new();
        let mut seen = BTreeSet::new();
        for r in &row.runs {
            if seen.insert(r.seed) && !failed(r) {
                seeds.insert(r.seed);
            }
        }
        seeds
    };
    let ranked: Vec<bool> = section
        .rows
        .iter()
        .map(|row| !succeeded(row).is_empty())
        .collect();
    let seeds: BTreeSet<u64> = section
        .rows
        .iter()
        .zip(&ranked)
        .filter(|(_, ranked)| **ranked)
        .map(|(row, _)| succeeded(row))
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default();
    section.ranked_seeds = seeds.len();
    let mut totals = vec![0.0; section.rows.len()];
    for &seed in &seeds {
        let losses: Vec<Option<f64>> = section
            .rows
            .iter()
            .zip(&ranked)
            .filter(|(_, ranked)| **ranked)
            .map(|(row, _)| {
                row.runs
                    .iter()
                    .find(|r| r.seed == seed)
                    .and_then(|r| r.best_value)
                    .map(|v| direction.to_loss(v))
            })
            .collect();
        let mut row_ranks = ranks(&losses).into_iter();
        for (total, _) in totals
            .iter_mut()
            .zip(&ranked)
            .filter(|(_, ranked)| **ranked)
        {
            *total += row_ranks.next().unwrap_or(0.0);
        }
    }
    for ((row, total), ranked) in section.rows.iter_mut().zip(totals).zip(ranked) {
        row.mean_rank = (ranked && !seeds.is_empty()).then(|| total / seeds.len() as f64);
    }
}

fn cell(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".into(), |v| sig(v, digits))
}

fn fixed(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "–".into(), |v| format!("{v:.decimals$}"))
}

/// A file name for the figure of a section: `<problem>-<budget>.svg`, the label made safe.
pub fn figure_name(section: &Section) -> String {
    let safe: String = section
        .problem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{}.svg", section.budget)
}

/// The markdown of `report`. `figures` is the folder of the SVG files as the markdown should
/// link it (relative to the markdown file), when there are figures.
pub fn markdown(report: &Report, sources: &[String], figures: Option<&str>) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmark report\n");
    if !sources.is_empty() {
        let _ = writeln!(md, "From {}.\n", sources.join(", "));
    }
    if !report.sections.is_empty() {
        let _ = writeln!(
            md,
            "Best = the quality of the configuration each run believed best (its true value where the \
             problem is noisy: the mean over seeds for tables); regret = its distance to the optimum \
             (≥ 0); IQR = q75 − q25 over seeds; mean rank = each seed's runs ranked across rows \
             (1 = best), averaged; sampler ms/trial = the strategy's own time per trial, median over runs; \
             steps/run (where recorded) = the resource all its trials spent, pruned ones included (epochs \
             for `mlp`), and pruned/run = trials a pruner stopped, medians over runs.\n"
        );
    }
    if report.sections.len() > 1 {
        summary(&mut md, &report.sections);
    }
    for section in &report.sections {
        let _ = writeln!(md, "## {} · {} trials\n", section.problem, section.budget);
        let optimum = section.optimum.map_or_else(
            || "optimum unknown".into(),
            |o| format!("optimum {}", sig(o, 6)),
        );
        let _ = writeln!(
            md,
            "{}; {optimum}; ranks over {} seed(s) on which every ranked row's run succeeded (failed runs are listed, not ranked).\n",
            section.direction, section.ranked_seeds
        );
        // The resource columns only where some run spent steps, so other tables keep their shape.
        let steps = section.rows.iter().any(|row| row.steps.is_some());
        let _ = writeln!(
            md,
            "| system | strategy | runs | median best | IQR best | median regret | IQR regret | mean rank | sampler ms/trial | wall s/run | {}failed trials |",
            if steps {
                "steps/run | pruned/run | "
            } else {
                ""
            }
        );
        let _ = writeln!(
            md,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|{}---:|",
            if steps { "---:|---:|" } else { "" }
        );
        for row in &section.rows {
            let runs = match row.errors() {
                0 => row.runs.len().to_string(),
                e => format!("{} ({e} failed)", row.runs.len()),
            };
            let failed_trials = match row.failed_trials() {
                (0, _) => "0".to_owned(),
                (f, t) => format!("{f} of {t}"),
            };
            let resource = if steps {
                format!("{} | {} | ", cell(row.steps, 6), cell(row.pruned, 3))
            } else {
                String::new()
            };
            let _ = writeln!(
                md,
                "| {} | {} | {runs} | {} | {} | {} | {} | {} | {} | {} | {resource}{failed_trials} |",
                row.system,
                row.strategy,
                cell(row.median_best, 5),
                cell(row.iqr_best, 3),
                cell(row.median_regret, 5),
                cell(row.iqr_regret, 3),
                fixed(row.mean_rank, 2),
                cell(row.sampler_ms, 3),
                cell(row.wall_s, 3),
            );
        }
        let failures: Vec<String> = section
            .rows
            .iter()
            .flat_map(|row| row.runs.iter().filter(|r| failed(r)).map(move |r| (row, r)))
            .map(|(row, r)| {
                let why = r.error.as_deref().unwrap_or("no trial completed");
                // One line per run: the first line of the message, without table pipes.
                let why = why.lines().next().unwrap_or("").replace('|', "/");
                format!("- {} {} seed {}: {why}", row.system, row.strategy, r.seed)
            })
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(md, "\nFailed runs (not ranked):\n\n{}", failures.join("\n"));
        }
        if let Some(dir) = figures {
            let _ = writeln!(
                md,
                "\n![{} at {} trials: median and IQR over seeds]({}/{})",
                section.problem,
                section.budget,
                dir.trim_end_matches('/'),
                figure_name(section)
            );
        }
        md.push('\n');
    }
    if !report.overhead.is_empty() {
        let problems: BTreeSet<&str> = report.overhead.iter().map(|r| r.problem.as_str()).collect();
        let _ = writeln!(
            md,
            "## Sampler overhead ({})\n",
            problems.into_iter().collect::<Vec<_>>().join(", ")
        );
        let _ = writeln!(
            md,
            "Milliseconds per trial, mean of the {OVERHEAD_WINDOW} trials ending at each count: the whole \
             trial (ask, trivial objective, tell, bookkeeping), then the strategy alone (hyperplug: its \
             ask and tell; Python systems: the trial minus the objective). Median over runs; – where a \
             run stopped earlier.\n"
        );
        let heads: Vec<String> = report.checkpoints.iter().map(|c| format!("@{c}")).collect();
        let _ = writeln!(
            md,
            "| system | strategy | trials run | {} | {} |",
            heads
                .iter()
                .map(|h| format!("trial ms {h}"))
                .collect::<Vec<_>>()
                .join(" | "),
            heads
                .iter()
                .map(|h| format!("sampler ms {h}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(
            md,
            "|---|---|---:|{}",
            "---:|".repeat(2 * report.checkpoints.len())
        );
        for row in &report.overhead {
            let cells = |v: &[Option<f64>]| {
                v.iter()
                    .map(|x| cell(*x, 3))
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                row.system,
                row.strategy,
                row.trials,
                cells(&row.trial_ms),
                cells(&row.sampler_ms)
            );
        }
        md.push('\n');
    }
    md
}

/// One table over all sections: per row (system, strategy), the median regret on each problem
/// (the median best value where the optimum is unknown, marked `*`).
fn summary(md: &mut String, sections: &[Section]) {
    let mut rows: Vec<(&str, &str)> = Vec::new();
    for s in sections {
        for r in &s.rows {
            if !rows.contains(&(r.system.as_str(), r.strategy.as_str())) {
                rows.push((&r.system, &r.strategy));
            }
        }
    }
    let _ = writeln!(
        md,
        "## Summary: median regret\n\nPer problem and budget; `*` marks a median best value where the optimum is unknown.\n"
    );
    let heads: Vec<String> = sections
        .iter()
        .map(|s| format!("{} · {}", s.problem, s.budget))
        .collect();
    let _ = writeln!(md, "| system | strategy | {} |", heads.join(" | "));
    let _ = writeln!(md, "|---|---|{}", "---:|".repeat(sections.len()));
    for (system, strategy) in rows {
        let cells: Vec<String> = sections
            .iter()
            .map(|s| {
                let row = s
                    .rows
                    .iter()
                    .find(|r| r.system == system && r.strategy == strategy);
                match row {
                    None => "".into(),
                    Some(r) if s.optimum.is_some() => cell(r.median_regret, 3),
                    Some(r) => format!("{}*", cell(r.median_best, 3)),
                }
            })
            .collect();
        let _ = writeln!(md, "| {system} | {strategy} | {} |", cells.join(" | "));
    }
    md.push('\n');
}

/// The folder `figures` as a link from a markdown file written to `md`: relative when it lies
/// under the markdown file's folder, absolute otherwise.
pub fn figure_link(md: Option<&Path>, figures: &Path) -> String {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let figures = abs(figures);
    let base = md
        .and_then(|m| m.parent())
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .map_or_else(|| abs(Path::new(".")), abs);
    match figures.strip_prefix(&base) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => figures.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(system: &str, strategy: &str, seed: u64, best: Option<f64>) -> Record {
        Record {
            best_value: best,
            optimum: Some(1.0),
            sampler_s: vec![0.001, 0.003],
            wall_s: 0.5,
            best_so_far: vec![best.map(|b| b + 1.0), best],
            ..Record::new(system, strategy, "f", Direction::Minimize, seed, 2)
        }
    }

    /// Two systems, three seeds; `b` wins seeds 0 and 1, `a` wins seed 2; `c` lacks seed 2
    /// and fails seed 1.
    fn records() -> Vec<Record> {
        vec![
            rec("hyperplug", "a", 0, Some(3.0)),
            rec("hyperplug", "a", 1, Some(5.0)),
            rec("hyperplug", "a", 2, Some(1.5)),
            rec("optuna", "b", 0, Some(2.0)),
            rec("optuna", "b", 1, Some(2.0)),
            rec("optuna", "b", 2, Some(4.0)),
            rec("hyperplug", "c", 0, Some(9.0)),
            Record {
                error: Some("boom".into()),
                ..rec("hyperplug", "c", 1, None)
            },
        ]
    }

    #[test]
    fn rows_get_medians_iqrs_regrets_and_ranks() {
        let report = build(&records());
        assert_eq!(report.sections.len(), 1);
        let s = &report.sections[0];
        assert_eq!(
            (s.problem.as_str(), s.budget, s.optimum),
            ("f", 2, Some(1.0))
        );
        let names: Vec<&str> = s.rows.iter().map(|r| r.strategy.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let a = &s.rows[0];
        assert_eq!(a.median_best, Some(3.0));
        assert_eq!(a.iqr_best, Some(1.75)); // q25 = 2.25, q75 = 4.0
        assert_eq!(a.median_regret, Some(2.0));
        assert_eq!(a.iqr_regret, Some(1.75));
        assert_eq!(a.sampler_ms, Some(2.0));
        assert_eq!(a.wall_s, Some(0.5));
        // Seeds on which a, b and c all succeeded: 0 only (c failed seed 1 and lacks seed 2).
        // Seed 0: b 1, a 2, c 3. Seed 1 is not ranked: c's failure is no result, not the worst.
        assert_eq!(s.ranked_seeds, 1);
        let r: Vec<Option<f64>> = s.rows.iter().map(|r| r.mean_rank).collect();
        assert_eq!(r, [Some(2.0), Some(1.0), Some(3.0)]);
        assert_eq!(s.rows[2].errors(), 1);
        assert_eq!(s.rows[2].median_best, Some(9.0));
    }

    #[test]
    fn maximizing_sections_rank_high_values_first() {
        let mut rs = records();
        for r in &mut rs {
            r.direction = Direction::Maximize;
            r.optimum = Some(10.0);
        }
        let s = &build(&rs).sections[0];
        let r: Vec<Option<f64>> = s.rows.iter().map(|r| r.mean_rank).collect();
        // Seed 0 only: c 9 > a 3 > b 2 (seed 1, which c failed, is not ranked).
        assert_eq!(r, [Some(2.0), Some(3.0), Some(1.0)]);
        assert_eq!(s.rows[0].median_regret, Some(7.0));
    }

    #[test]
    fn the_markdown_has_a_row_per_strategy_and_links_the_figure() {
        let md = markdown(&build(&records()), &["r.jsonl".into()], Some("figures"));
        assert!(md.contains("## f · 2 trials"), "{md}");
        assert!(
            md.contains("minimize; optimum 1; ranks over 1 seed(s) on which every ranked row's run succeeded"),
            "{md}"
        );
        assert!(
            md.contains("| hyperplug | a | 3 | 3 | 1.75 | 2 | 1.75 | 2.00 | 2 | 0.5 | 0 |"),
            "{md}"
        );
        assert!(
            md.contains("Failed runs (not ranked):\n\n- hyperplug c seed 1: boom\n"),
            "{md}"
        );
        assert!(
            md.contains("| optuna | b | 3 | 2 | 1 | 1 | 1 | 1.00 |"),
            "{md}"
        );
        assert!(md.contains("| hyperplug | c | 2 (1 failed) | 9 |"), "{md}");
        assert!(md.contains("](figures/f-2.svg)"), "{md}");
    }

    #[test]
    fn steps_spent_get_their_columns_only_where_recorded() {
        // Without steps (every record above), the table keeps its shape.
        let md = markdown(&build(&records()), &[], None);
        assert!(!md.contains("steps/run |"), "{md}");
        // A pruned row's runs spent 40, 60 and 50 steps, stopping 7, 9 and 8 trials; a row of
        // a system that does not count steps shows none rather than 0.
        let mut rs = records();
        for (r, (steps, pruned)) in rs.iter_mut().take(3).zip([(40, 7), (60, 9), (50, 8)]) {
            r.steps = steps;
            r.pruned = pruned;
        }
        let s = &build(&rs).sections[0];
        assert_eq!((s.rows[0].steps, s.rows[0].pruned), (Some(50.0), Some(8.0)));
        assert_eq!((s.rows[1].steps, s.rows[1].pruned), (None, None));
        let md = markdown(&build(&rs), &[], None);
        assert!(
            md.contains("| wall s/run | steps/run | pruned/run | failed trials |"),
            "{md}"
        );
        assert!(md.contains("| 0.5 | 50 | 8 | 0 |"), "{md}");
        assert!(md.contains("| 1.00 | 2 | 0.5 | – | – | 0 |"), "{md}");
    }

    #[test]
    fn a_row_whose_runs_all_failed_is_shown_failed_not_ranked_last() {
        // `d` crashed on every seed (its records carry the failed trials); a and b still rank
        // over all three seeds, and the table says what happened to d.
        let mut rs: Vec<Record> = records()
            .into_iter()
            .filter(|r| r.strategy != "c")
            .collect();
        for seed in 0..3 {
            rs.push(Record {
                error: Some(
                    "no trial completed; the first failed with: exit status 3\nmore".into(),
                ),
                trials: 30,
                failed: 30,
                ..rec("hyperplug", "d", seed, None)
            });
        }
        // One failed run of `a` with some trials done: 4 of its 10 trials failed.
        rs.push(Record {
            trials: 10,
            failed: 4,
            ..rec("hyperplug", "a", 3, None)
        });
        let report = build(&rs);
        let s = &report.sections[0];
        assert_eq!(s.ranked_seeds, 3);
        let r: Vec<Option<f64>> = s.rows.iter().map(|r| r.mean_rank).collect();
        // Seed 0: b 2 < a 3; seed 1: b 2 < a 5; seed 2: a 1.5 < b 4.
        assert_eq!(r, [Some(5.0 / 3.0), Some(4.0 / 3.0), None]);
        let md = markdown(&report, &[], None);
        assert!(md.contains("| hyperplug | d | 3 (3 failed) | – |"), "{md}");
        assert!(md.contains("| 2 | – | 90 of 90 |"), "{md}");
        assert!(md.contains("| hyperplug | a | 4 (1 failed) |"), "{md}");
        assert!(md.contains("| 4 of 10 |"), "{md}");
        assert!(
            md.contains(
                "- hyperplug d seed 2: no trial completed; the first failed with: exit status 3\n"
            ),
            "{md}"
        );
        assert!(
            md.contains("- hyperplug a seed 3: no trial completed"),
            "{md}"
        );
    }

    #[test]
    fn several_problems_get_a_summary_of_median_regrets() {
        let mut rs = records();
        for r in records() {
            // A second problem without an optimum, run by `a` only.
            if r.strategy == "a" {
                rs.push(Record {
                    problem: "g".into(),
                    optimum: None,
                    ..r
                });
            }
        }
        let md = markdown(&build(&rs), &[], None);
        assert!(md.contains("| system | strategy | f · 2 | g · 2 |"), "{md}");
        assert!(md.contains("| hyperplug | a | 2 | 3* |"), "{md}");
        assert!(md.contains("| optuna | b | 1 |  |"), "{md}");
        let single = markdown(&build(&records()), &[], None);
        assert!(
            !single.contains("## Summary"),
            "one problem needs no summary"
        );
    }

    #[test]
    fn overhead_rows_average_the_window_before_each_checkpoint() {
        let mut r = Record::new(
            "hyperplug",
            "random",
            "overhead-10d",
            Direction::Minimize,
            0,
            120,
        );
        r.kind = RecordKind::Overhead;
        r.checkpoints = vec![100, 200];
        // 0.001 s for the first 60 trials, 0.003 s after: trials 51..100 average
        // (10 × 0.001 + 40 × 0.003) / 50 = 0.0026.
        r.trial_s = (0..120)
            .map(|i| if i < 60 { 0.001 } else { 0.003 })
            .collect();
        r.sampler_s = vec![0.0005; 120];
        let report = build(&[r]);
        assert!(report.sections.is_empty());
        let row = &report.overhead[0];
        assert_eq!(row.trials, 120);
        assert!(
            (row.trial_ms[0].unwrap() - 2.6).abs() < 1e-9,
            "{:?}",
            row.trial_ms
        );
        assert_eq!(row.trial_ms[1], None, "only 120 trials ran");
        assert!((row.sampler_ms[0].unwrap() - 0.5).abs() < 1e-9);
        let md = markdown(&report, &[], None);
        assert!(
            md.contains("| hyperplug | random | 120 | 2.6 | – | 0.5 | – |"),
            "{md}"
        );
        assert_eq!(window_mean(&[1.0, 2.0, 3.0], 2), Some(1.5));
    }

    #[test]
    fn unreadable_lines_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        let good = serde_json::to_string(&records()[0]).unwrap();
        std::fs::write(&path, format!("{good}\n\n{{\"system\": 1}}\n")).unwrap();
        let e = read_records(std::slice::from_ref(&path))
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.jsonl:3: not a benchmark record"), "{e}");
        std::fs::write(&path, format!("{good}\n{good}\n")).unwrap();
        assert_eq!(read_records(&[path]).unwrap().len(), 2);
        let e = read_records(&[dir.path().join("none.jsonl")]).unwrap_err();
        assert!(e.to_string().contains("cannot read results file"), "{e}");
    }
}
