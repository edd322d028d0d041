//! The `hyperplug` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hyperplug::config::StudyFile;
use hyperplug::format::{params_text, values_text};
use hyperplug::progress::Progress;
use hyperplug::registry::{PLUGIN_PATH_VAR, Registry};
use hyperplug::resources::Machine;
use hyperplug::run::{Report, prepare, run};

#[derive(Parser)]
#[command(
    name = "hyperplug",
    version,
    about = "Hyperparameter optimization with pluggable strategies"
)]
struct Cli {
    /// A directory of plugin libraries; may be repeated. Later ones win over earlier ones, and
    /// all win over HYPERPLUG_PLUGIN_PATH and `plugins/` next to the executable.
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    plugin_dirs: Vec<PathBuf>,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the study a TOML file describes.
    Run {
        /// The study file.
        study: PathBuf,
        /// Print the finished study (every trial and the best) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run strategies against problems over seeds and budgets, and report.
    Bench(hyperplug::bench::BenchArgs),
    /// Inspect strategies and objectives.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Every strategy and objective available, bundled or loaded.
    List,
    /// Load one library and say what it holds, or what is wrong with it.
    Check {
        /// The library file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(&cli);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) {
    // On a terminal the progress bar shows what info lines would; elsewhere log every trial.
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) if std::io::stderr().is_terminal() => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
        .format_timestamp(None)
        .format_target(false)
        .init();
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Run { study, json } => {
            let file = StudyFile::load(&study)?;
            let mut registry = Registry::bundled();
            registry.load_plugin_path(&cli.plugin_dirs);
            let mut prepared = prepare(&file, &registry, &Machine::detect())?;
            log::info!(
                "study `{}`: strategy `{}`, objective `{}`, seed {}",
                file.name,
                file.strategy.name,
                file.objective.name,
                prepared.study.config().seed
            );
            let interrupts = ctrl_c_counter();
            let mut progress = Progress::new(&prepared.budget, interrupts.clone());
            let result = run(&mut prepared, &mut progress);
            progress.finish();
            result?;
            let report = Report::of(&prepared.study, &prepared.objective_name);
            summarize(&report);
            if json {
                let text = serde_json::to_string_pretty(&report).context("cannot write JSON")?;
                println!("{text}");
            }
            // Interrupted trials were cut short: say so in the exit status, as shells expect.
            Ok(if interrupts.load(Ordering::SeqCst) >= 2 {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Bench(args) => {
            hyperplug::bench::run_with(args, &cli.plugin_dirs).map(|()| ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::List,
        } => {
            let mut registry = Registry::bundled();
            registry.load_plugin_path(&cli.plugin_dirs);
            list(&registry);
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::Check { file },
        } => {
            let mut registry = Registry::new();
            if let Err(e) = registry.load_library(&file) {
                if let Some(details) = e.details() {
                    log::debug!("full report:\n{details}");
                }
                return Err(e.into());
            }
            println!(
                "{}: a valid hyperplug plugin (ABI {})",
                file.display(),
                hyperplug_abi::ABI_VERSION
            );
            list(&registry);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Counts Ctrl-C presses: the study stops after the first, interrupts its running trials after
/// the second; a third exits at once.
fn ctrl_c_counter() -> Arc<AtomicUsize> {
    let presses = Arc::new(AtomicUsize::new(0));
    let counter = presses.clone();
    let set = ctrlc::set_handler(move || {
        if counter.fetch_add(1, Ordering::SeqCst) + 1 >= 3 {
            eprintln!("interrupted three times: exiting without waiting for running trials");
            std::process::exit(130);
        }
    });
    if let Err(e) = set {
        log::warn!("Ctrl-C will end the process at once: cannot install a handler ({e})");
    }
    presses
}

fn summarize(report: &Report<'_>) {
    let c = &report.counts;
    eprintln!(
        "study `{}`: {} trials ({} complete, {} pruned, {} failed), seed {}",
        report.study,
        report.trials.len(),
        c.complete,
        c.pruned,
        c.failed,
        report.seed
    );
    match report.best_trials.as_slice() {
        [] => eprintln!("no trial completed"),
        [best] => eprintln!(
            "best: trial {} = {} with {}",
            best.number,
            values_text(&best.values),
            params_text(&best.params)
        ),
        front => {
            eprintln!("Pareto front: {} trials", front.len());
            for t in front {
                eprintln!(
                    "  trial {} = {} with {}",
                    t.number,
                    values_text(&t.values),
                    params_text(&t.params)
                );
            }
        }
    }
}

fn list(registry: &Registry) {
    println!(
        "{:<9} {:<16} {:<8} {:<58} source",
        "kind", "name", "version", "capabilities"
    );
    let row =
        |kind: &str, info: &hyperplug::PluginInfo, caps: String, source: &hyperplug::Source| {
            println!(
                "{kind:<9} {:<16} {:<8} {caps:<58} {source}",
                info.name, info.version
            );
            println!("{:<9} {}", "", info.description);
        };
    for e in registry.strategies() {
        row(
            "strategy",
            &e.info,
            e.info.capabilities.names().join(","),
            &e.source,
        );
    }
    for e in registry.objectives() {
        row("objective", &e.info, "-".into(), &e.source);
    }
    for f in registry.failures() {
        println!("\nfailed to load: {}", f.error);
    }
    if std::env::var_os(PLUGIN_PATH_VAR).is_none() {
        log::debug!("{PLUGIN_PATH_VAR} is not set");
    }
}
