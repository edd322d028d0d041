//! The benchmark harness behind `hyperplug bench`: strategies × problems × seeds × budgets,
//! run in parallel, written as JSON lines, and reported as markdown tables and SVG curves.
//!
//! - `hyperplug bench --suite bench/suites/synthetic.toml --out results.jsonl --md report.md
//!   --svg-dir figures` runs a suite ([`suite`]), one independent single-threaded study per run,
//!   on `--jobs` threads ([`runner`]), and writes one [`Record`] per run.
//! - `hyperplug bench report results.jsonl [more.jsonl …] --md report.md --svg-dir figures`
//!   renders any records, also those `bench/compare/*.py` writes for Optuna and Rustuna
//!   ([`report`], [`svg`]).
//! - `hyperplug bench overhead --strategies random,qmc --trials 100,500,1000,10000 --out o.jsonl`
//!   times each strategy per trial on a trivial 10-D float objective ([`overhead`]).
//!
//! Problems are objectives of the registry (bundled or plugins, the table objective included)
//! with settings, or study files (for objectives such as `command` that need a declared space).

pub mod overhead;
pub mod record;
pub mod report;
pub mod runner;
pub mod stats;
pub mod suite;
pub mod svg;

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use hyperplug_core::Settings;

pub use record::{Record, RecordKind};

use crate::registry::{Registry, Source};
use suite::{
    ProblemSpec, Suite, parse_budgets, parse_seeds, problems_from_flag, strategies_from_flag,
};

/// Arguments of `hyperplug bench`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    // Boxed: the CLI's command enum holds this inline, and it would dwarf the other commands.
    #[command(subcommand)]
    command: Option<Box<BenchCommand>>,
    #[command(flatten)]
    run: Box<RunArgs>,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Render JSON-lines results (from `hyperplug bench` or bench/compare) as markdown and SVG.
    Report {
        /// Results files; their records are reported together.
        #[arg(required = true, value_name = "RESULTS")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        render: RenderArgs,
    },
    /// Time each strategy per trial on a trivial float objective, up to many trials.
    Overhead(OverheadArgs),
}

/// Running a suite.
#[derive(Args, Debug)]
struct RunArgs {
    /// A suite file (TOML): strategies, problems, seeds, budgets. The flags below replace its
    /// lists.
    #[arg(long, value_name = "FILE")]
    suite: Option<PathBuf>,
    /// Strategies, comma-separated: NAME or NAME:KEY=VALUE:KEY=VALUE.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    strategies: Vec<String>,
    /// Problems (objectives), comma-separated: NAME or NAME:KEY=VALUE, e.g. rosenbrock:dim=10.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    problems: Vec<String>,
    /// Seeds: N (0 to N-1), A..B (B excluded) or A,B,C.
    #[arg(long, value_name = "SEEDS")]
    seeds: Option<String>,
    /// Trials per run, comma-separated; each budget runs separately.
    #[arg(long, value_name = "LIST")]
    budgets: Option<String>,
    /// Runs at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Where to write one JSON line per run.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Add to the results file instead of replacing it.
    #[arg(long)]
    append: bool,
    #[command(flatten)]
    render: RenderArgs,
}

/// Where a report goes.
#[derive(Args, Debug)]
struct RenderArgs {
    /// Write the markdown report here (default: standard output).
    #[arg(long, value_name = "FILE")]
    md: Option<PathBuf>,
    /// Write one SVG regret-curve figure per problem and budget into this folder.
    #[arg(long, value_name = "DIR")]
    svg_dir: Option<PathBuf>,
}

/// The overhead benchmark.
#[derive(Args, Debug)]
struct OverheadArgs {
    /// Strategies, comma-separated, as for a suite.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "random,qmc"
    )]
    strategies: Vec<String>,
    /// The trial counts at which the time per trial is read; the runs go to the largest.
    #[arg(long, value_name = "LIST", default_value = "100,500,1000,10000")]
    trials: String,
    /// Float parameters of the space.
    #[arg(long, default_value_t = 10)]
    dim: usize,
    /// Seeds, as for a suite; one run per strategy and seed, one run at a time.
    #[arg(long, default_value = "1")]
    seeds: String,
    /// Stop each run after this long (e.g. "120s"), whatever trial it reached.
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Where to write one JSON line per run.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Add to the results file instead of replacing it.
    #[arg(long)]
    append: bool,
    #[command(flatten)]
    render: RenderArgs,
}

/// Runs `hyperplug bench` with `plugin_dirs` as the `--plugin-dir` directories.
pub fn run_with(args: BenchArgs, plugin_dirs: &[PathBuf]) -> Result<()> {
    match args.command.map(|c| *c) {
        Some(BenchCommand::Report { files, render }) => {
            let records = report::read_records(&files)?;
            if records.is_empty() {
                bail!("the results files hold no record");
            }
            let sources: Vec<String> = files.iter().map(|f| format!("`{}`", f.display())).collect();
            render_report(&records, &sources, &render)
        }
        Some(BenchCommand::Overhead(o)) => run_overhead(o, plugin_dirs),
        None => run_suite(*args.run, plugin_dirs),
    }
}

/// The bundled registry, then plugins.
fn registry(plugin_dirs: &[PathBuf]) -> Registry {
    let mut registry = crate::bundled();
    registry.load_plugin_path(plugin_dirs);
    registry
}

fn run_suite(args: RunArgs, plugin_dirs: &[PathBuf]) -> Result<()> {
    let mut suite = match &args.suite {
        Some(path) => Suite::load(path)?,
        None => Suite {
            strategies: Vec::new(),
            problems: Vec::new(),
            seeds: Vec::new(),
            budgets: Vec::new(),
        },
    };
    if !args.strategies.is_empty() {
        suite.strategies = strategies_from_flag(&args.strategies)?;
    }
    if !args.problems.is_empty() {
        suite.problems = problems_from_flag(&args.problems)?;
    }
    if let Some(s) = &args.seeds {
        suite.seeds = parse_seeds(s).context("--seeds")?;
    }
    if let Some(b) = &args.budgets {
        suite.budgets = parse_budgets(b).context("--budgets")?;
    }
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| anyhow!("say where the results go: --out results.jsonl"))?;
    let registry = registry(plugin_dirs);
    let plan = runner::Plan::new(&suite, &registry)?;
    let threads = match args.jobs {
        Some(0) => bail!("--jobs 0 runs nothing; give at least 1"),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    log::info!(
        "{} runs: {} strategies × {} problems × {} seeds × {} budgets on {threads} threads",
        plan.jobs.len(),
        plan.strategies.len(),
        plan.problems.len(),
        suite.seeds.len(),
        suite.budgets.len()
    );
    let records = execute(&plan, threads, out, args.append)?;
    let sources = vec![format!("`{}`", out.display())];
    render_report(&records, &sources, &args.render)?;
    fail_on_errors(&records, out)
}

fn run_overhead(args: OverheadArgs, plugin_dirs: &[PathBuf]) -> Result<()> {
    let mut checkpoints = parse_budgets(&args.trials).context("--trials")?;
    checkpoints.sort_unstable();
    checkpoints.dedup();
    let most = *checkpoints
        .last()
        .ok_or_else(|| anyhow!("--trials is empty"))?;
    let timeout = args
        .timeout
        .as_deref()
        .map(|t| {
            humantime::parse_duration(t)
                .map_err(|e| anyhow!("--timeout `{t}` is not a duration ({e}); write e.g. 120s"))
        })
        .transpose()?;
    if timeout == Some(Duration::ZERO) {
        bail!("--timeout is zero; give a positive duration");
    }
    let mut registry = registry(plugin_dirs);
    registry.add_objective(Arc::new(overhead::SphereFactory), Source::Bundled);
    let suite = Suite {
        strategies: strategies_from_flag(&args.strategies)?,
        problems: vec![ProblemSpec {
            label: format!("sphere{}", args.dim),
            objective: overhead::SPHERE.into(),
            settings: Settings::default().with("dim", args.dim),
            space: None,
            direction: None,
            quality_attr: None,
        }],
        seeds: parse_seeds(&args.seeds).context("--seeds")?,
        budgets: vec![most],
    };
    let mut plan = runner::Plan::new(&suite, &registry)?;
    plan.kind = RecordKind::Overhead;
    plan.timeout = timeout;
    plan.checkpoints = checkpoints;
    // One run at a time: runs timed side by side would slow each other down.
    let records = execute(&plan, 1, &args.out, args.append)?;
    let sources = vec![format!("`{}`", args.out.display())];
    render_report(&records, &sources, &args.render)?;
    fail_on_errors(&records, &args.out)
}

/// Runs `plan`, writing each record to `out` as it arrives; returns the records.
fn execute(plan: &runner::Plan, threads: usize, out: &Path, append: bool) -> Result<Vec<Record>> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
    }
    let file = File::options()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(out)
        .with_context(|| format!("cannot write the results file {}", out.display()))?;
    let mut writer = BufWriter::new(file);
    let total = plan.jobs.len();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs, {elapsed} ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut records = Vec::with_capacity(total);
    runner::run_all(plan, threads, |record| {
        let line = serde_json::to_string(&record).context("cannot encode a record")?;
        writeln!(writer, "{line}")
            .and_then(|()| writer.flush())
            .with_context(|| format!("cannot write to {}", out.display()))?;
        let done = records.len() + 1;
        let what = format!(
            "{} on {}, seed {}, {} trials",
            record.strategy, record.problem, record.seed, record.budget
        );
        match &record.error {
            Some(e) => log::warn!("run {done}/{total}: {what}: failed: {e}"),
            None => log::info!(
                "run {done}/{total}: {what}: best {} in {:.2} s",
                record
                    .best_value
                    .map_or_else(|| "-".into(), crate::format::number),
                record.wall_s
            ),
        }
        bar.inc(1);
        records.push(record);
        Ok(())
    })?;
    bar.finish_and_clear();
    eprintln!("wrote {} records to {}", records.len(), out.display());
    Ok(records)
}

fn fail_on_errors(records: &[Record], out: &Path) -> Result<()> {
    let failed = records.iter().filter(|r| r.error.is_some()).count();
    if failed > 0 {
        bail!(
            "{failed} of {} runs failed; their records in {} carry the error",
            records.len(),
            out.display()
        );
    }
    Ok(())
}

fn render_report(records: &[Record], sources: &[String], render: &RenderArgs) -> Result<()> {
    let report = report::build(records);
    let figures = match &render.svg_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
            let mut written = 0;
            for section in &report.sections {
                if let Some(svg) = svg::figure(section) {
                    let path = dir.join(report::figure_name(section));
                    std::fs::write(&path, svg)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    written += 1;
                }
            }
            eprintln!("wrote {written} figures to {}", dir.display());
            Some(report::figure_link(render.md.as_deref(), dir))
        }
        None => None,
    };
    let md = report::markdown(&report, sources, figures.as_deref());
    match &render.md {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the folder {}", dir.display()))?;
            }
            std::fs::write(path, md)
                .with_context(|| format!("cannot write the report {}", path.display()))?;
            eprintln!("wrote the report to {}", path.display());
        }
        None => crate::format::print_out(&md)?,
    }
    Ok(())
}
