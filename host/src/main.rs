//! The `hyperplug` command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use hyperplug::config::StudyFile;
use hyperplug::format::{params_text, print_out, values_text};
use hyperplug::progress::{BarAwareLogger, Progress};
use hyperplug::registry::{PLUGIN_PATH_VAR, Registry};
use hyperplug::resources::Machine;
use hyperplug::run::{Prepared, join, prepare, run};
use hyperplug::studies::{self, Format, StateArg};
use hyperplug_schema::StudyData;
use hyperplug_storage::{DEFAULT_URL, Location, Mode, StorageError, redact};

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
    /// Run the study a TOML file describes; a stored study of that name is continued.
    Run {
        /// The study file.
        study: PathBuf,
        /// Print the finished study (every trial and the best) as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Where the study is stored, over the file's `storage`: sqlite://FILE,
        /// postgres://USER@HOST/DB or memory [default: sqlite://hyperplug.db].
        #[arg(long, value_name = "URL")]
        storage: Option<String>,
        /// The study's trial budget, over the file's `trials` (it counts earlier runs' trials).
        #[arg(long, value_name = "N", value_parser = at_least_one::<u64>)]
        trials: Option<u64>,
    },
    /// Join a stored study as one more worker, from this or another machine, until its budget
    /// is spent.
    Worker {
        /// The study's name.
        #[arg(long)]
        study: String,
        /// Where it is stored.
        #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
        storage: String,
        /// Trials at once in this worker, over the study file's `parallelism`.
        #[arg(long, value_name = "N", value_parser = at_least_one::<usize>)]
        parallelism: Option<usize>,
        /// Print the study as JSON on stdout when done.
        #[arg(long)]
        json: bool,
    },
    /// Queue trials with fixed parameters (a warm start); they run before the strategy's own.
    Enqueue {
        /// The study's name.
        #[arg(long)]
        study: String,
        /// Where it is stored.
        #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
        storage: String,
        /// One trial's parameters as a JSON object, e.g. '{"lr": 0.01, "act": "relu"}'; may be
        /// repeated.
        #[arg(long = "params", value_name = "JSON")]
        json: Vec<String>,
        /// One trial's parameters as NAME=VALUE pairs, e.g. lr=0.01 act=relu.
        #[arg(value_name = "NAME=VALUE")]
        pairs: Vec<String>,
    },
    /// List, inspect, export and delete stored studies.
    Studies {
        /// Where the studies are stored [default: `create`: the file's `storage`, then
        /// sqlite://hyperplug.db; the others: sqlite://hyperplug.db].
        #[arg(long, value_name = "URL", global = true)]
        storage: Option<String>,
        #[command(subcommand)]
        command: StudiesCommand,
    },
    /// Write a study's report: one HTML file of plots, parameter importances, the best trial or
    /// Pareto front and every trial, which opens without a network.
    Report {
        /// The study's name (or give --from).
        #[arg(value_name = "STUDY")]
        study: Option<String>,
        /// Where it is stored.
        #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
        storage: String,
        /// Read the study from a JSON export (`hyperplug studies export NAME --format json`)
        /// instead of a store.
        #[arg(long, value_name = "FILE", conflicts_with = "study")]
        from: Option<PathBuf>,
        /// The HTML file to write.
        #[arg(
            short,
            long = "out",
            value_name = "FILE",
            default_value = "report.html"
        )]
        out: PathBuf,
        /// The objective the single-objective plots and importances are about, from 0.
        #[arg(long, value_name = "N", default_value_t = 0)]
        objective: usize,
        /// Leave parameter importances out (the slowest part on a large study).
        #[arg(long)]
        no_importance: bool,
    },
    /// Run strategies against problems over seeds and budgets, and report.
    Bench(hyperplug::bench::BenchArgs),
    /// Serve a live dashboard of the stored studies, and ask/tell over HTTP (see docs/HTTP.md).
    Dashboard {
        /// Where the studies are stored.
        #[arg(long, value_name = "URL", default_value = DEFAULT_URL)]
        storage: String,
        /// The address to listen on; anything but loopback requires a token.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        bind: std::net::SocketAddr,
        /// The token clients must present (bearer header, or a `?token=` link once);
        /// required to bind beyond loopback.
        #[arg(long, env = "HYPERPLUG_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A lent trial no request touched for this long is told failed, e.g. 60s or 10m.
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
        lease_timeout: std::time::Duration,
        /// Requests per second each client address may make.
        #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = at_least_one::<u32>)]
        rate_limit: u32,
    },
    /// Inspect strategies and objectives.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
}

#[derive(Subcommand)]
enum StudiesCommand {
    /// Every study: trials by state, best value, directions, last activity.
    List,
    /// One study: its definition, counts and best trial.
    Show {
        /// The study's name.
        name: String,
    },
    /// The best trial, or the Pareto front of a study with several objectives.
    Best {
        /// The study's name.
        name: String,
        /// Print it as JSON (the study schema, without the trial list).
        #[arg(long)]
        json: bool,
    },
    /// The study's trials, one line each.
    Trials {
        /// The study's name.
        name: String,
        /// Only trials in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
    },
    /// Every trial with parameters, values, state, intermediate values and timings.
    Export {
        /// The study's name.
        name: String,
        /// The format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Write to this file rather than stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Delete a study and its trials.
    Delete {
        /// The study's name.
        name: String,
        /// Really delete it.
        #[arg(long)]
        yes: bool,
    },
    /// Store the study a file describes without running a trial, so that workers can join it.
    Create {
        /// The study file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// Every strategy and objective available, bundled or loaded.
    List,
    /// Load one library and say what it holds, or what is wrong with it.
    Check {
        /// The library file: a path, relative to the current directory (never looked up on the
        /// system's library path).
        file: PathBuf,
        /// Also run the conformance suite on every strategy and objective in it, through the
        /// library as loaded (what `hyperplug_testkit::check_library` runs).
        #[arg(long)]
        conformance: bool,
    },
}

fn main() -> ExitCode {
    limit_candle_threads();
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
        // `hyperplug studies export x | head`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `e` is a write into a pipe whose reader has gone, however it was wrapped.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let kind = c
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| c.downcast_ref::<serde_json::Error>()?.io_error_kind());
        kind == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Sets `RAYON_NUM_THREADS=1` unless the user set it. candle (the `mlp` objectives) splits
/// every matrix product over all cores unless this variable says otherwise, even inside a trial's
/// own thread pool: that doubled an epoch's time and made parallel trials contend. Trials get
/// their cores from `parallelism` and the objective's `threads` instead. It is set here, first
/// thing, because changing the environment is sound only while no other thread can read it.
fn limit_candle_threads() {
    const VAR: &str = "RAYON_NUM_THREADS";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: no other thread exists yet: nothing has run but the start-up of `main`.
        unsafe { std::env::set_var(VAR, "1") };
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
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
            .format_timestamp(None)
            .format_target(false)
            .build();
    let max = logger.filter();
    if log::set_boxed_logger(Box::new(BarAwareLogger::new(logger))).is_ok() {
        log::set_max_level(max);
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    // A directory named on the command line is meant to be read: a typo must not leave its
    // plugins out without a word (the implicit ones may well not exist).
    for dir in &cli.plugin_dirs {
        if !dir.is_dir() {
            bail!(
                "--plugin-dir {}: not a directory; give a directory that holds plugin libraries",
                dir.display()
            );
        }
    }
    match cli.command {
        Command::Run {
            study,
            json,
            storage,
            trials,
        } => {
            let mut file = StudyFile::load(&study)?;
            if storage.is_some() {
                file.storage = storage;
            }
            if trials.is_some() {
                file.budget.trials = trials;
            }
            let registry = registry(&cli.plugin_dirs);
            let prepared = prepare(&file, &registry, &Machine::detect())?;
            drive(prepared, json)
        }
        Command::Worker {
            study,
            storage,
            parallelism,
            json,
        } => {
            let registry = registry(&cli.plugin_dirs);
            let prepared = join(&storage, &study, &registry, &Machine::detect(), parallelism)?;
            drive(prepared, json)
        }
        Command::Enqueue {
            study,
            storage,
            json,
            pairs,
        } => {
            let store = hyperplug_storage::open_store(&storage, Mode::Existing)?;
            let summary = hyperplug::run::find(&*store, &study)?;
            let trials = studies::parse_params(&summary.record.space, &json, &pairs)?;
            for params in &trials {
                store.enqueue(summary.id, params)?;
            }
            eprintln!(
                "queued {} trial(s) in study `{study}`; they run before the strategy's own",
                trials.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Studies { storage, command } => {
            studies_command(&cli.plugin_dirs, storage, command)
        }
        Command::Dashboard {
            storage,
            bind,
            token,
            lease_timeout,
            rate_limit,
        } => {
            let mut config = hyperplug_server::Config::new(storage);
            config.bind = bind;
            config.token = token.map(hyperplug_server::Token::new).transpose()?;
            config.lease_timeout = lease_timeout;
            config.rate_limit = rate_limit;
            hyperplug_server::serve(config, registry(&cli.plugin_dirs))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            study,
            storage,
            from,
            out,
            objective,
            no_importance,
        } => {
            let data = match (study, from) {
                (_, Some(path)) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    StudyData::from_json(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?
                }
                (Some(name), None) => {
                    let store = hyperplug_storage::open_store(&storage, Mode::Read)?;
                    let summary = hyperplug::run::find(&*store, &name)?;
                    hyperplug_engine::studies::study_data(&*store, &summary)?
                }
                (None, None) => bail!(
                    "say which study: `hyperplug report STUDY [--storage URL]`, or `hyperplug report --from FILE` for a JSON export"
                ),
            };
            let options = hyperplug_report::Options {
                objective,
                importance: !no_importance,
                generator: format!("hyperplug {}", env!("CARGO_PKG_VERSION")),
                ..hyperplug_report::Options::default()
            };
            let html = hyperplug_report::render(&data, &options)?;
            refuse_to_overwrite(&out, &storage)?;
            std::fs::write(&out, html)
                .with_context(|| format!("cannot write {}", out.display()))?;
            eprintln!(
                "wrote the report of study `{}` ({} trials) to {}",
                data.study.name,
                data.trials.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(args) => {
            hyperplug::bench::run_with(args, &cli.plugin_dirs).map(|()| ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::List,
        } => {
            print_out(&list(&registry(&cli.plugin_dirs)))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugins {
            command: PluginsCommand::Check { file, conformance },
        } => {
            let mut registry = Registry::new();
            let lib = match registry.load_library(&file) {
                Ok(lib) => lib,
                Err(e) => {
                    if let Some(details) = e.details() {
                        log::debug!("full report:\n{details}");
                    }
                    return Err(e.into());
                }
            };
            print_out(&format!(
                "{}: a valid hyperplug plugin: {} (this hyperplug speaks plugin ABI {})\n{}",
                file.display(),
                lib.description,
                hyperplug_abi::ABI_VERSION,
                list(&registry)
            ))?;
            if conformance {
                return check_conformance(&file);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs the conformance suite on every strategy and objective of the library at `file`, with
/// default settings, and prints one line each. The suite reports a failure by panicking, as it
/// does in an author's tests: here each panic is caught, its message kept, and the default
/// panic output silenced.
fn check_conformance(file: &std::path::Path) -> Result<ExitCode> {
    let messages = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let keep = messages.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut m) = keep.lock() {
            m.push(hyperplug::panic_message(info.payload()));
        }
    }));
    let results = hyperplug_testkit::run_library_checks(file, &|_| hyperplug::Settings::default());
    std::panic::set_hook(previous);
    let results = results?;
    let mut text = String::from("\n");
    let mut failed = 0;
    for r in &results {
        match &r.outcome {
            Ok(()) => text.push_str(&format!("conformance: {} `{}`: passed\n", r.kind, r.name)),
            Err(e) => {
                failed += 1;
                text.push_str(&format!(
                    "conformance: {} `{}`: FAILED: {e}\n",
                    r.kind, r.name
                ));
            }
        }
    }
    print_out(&text)?;
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} failed the conformance suite (run with default settings)",
            results.len()
        );
    }
    print_out(&format!(
        "conformance: all {} passed through {}\n",
        results.len(),
        file.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// A count that must be at least 1, with the study file's wording for 0.
fn at_least_one<T: std::str::FromStr + PartialEq + From<u8>>(text: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let n: T = text.trim().parse().map_err(|e| format!("{e}"))?;
    if n == T::from(0) {
        return Err("0 runs nothing; give at least 1".into());
    }
    Ok(n)
}

fn registry(plugin_dirs: &[PathBuf]) -> Registry {
    let mut registry = hyperplug::bundled();
    registry.load_plugin_path(plugin_dirs);
    registry
}

/// Runs a prepared study (a new one, a resumed one, or one joined as a worker) and reports.
fn drive(mut prepared: Prepared, json: bool) -> Result<ExitCode> {
    let config = prepared.study.config();
    log::info!(
        "study `{}` in {}: strategy `{}`, objective `{}`, seed {}",
        config.name,
        prepared.location,
        prepared.study.strategy_name(),
        prepared.objective_name,
        config.seed
    );
    if prepared.existing > 0 {
        log::info!(
            "continuing with {} trials already stored{}",
            prepared.existing,
            prepared
                .budget
                .trials
                .map_or_else(String::new, |n| format!(", up to {n}"))
        );
    }
    let done = prepared.already_done();
    let interrupts = ctrl_c_counter();
    let mut progress = Progress::new(&prepared.remaining(), interrupts.clone());
    let result = run(&mut prepared, &mut progress);
    progress.finish();
    let failure_stop = result?;
    if let Some(message) = done
        && prepared.started == 0
    {
        eprintln!("{message}");
    }
    let data = prepared.study_data();
    summarize(&data);
    if json {
        let text = serde_json::to_string_pretty(&data).context("cannot write JSON")?;
        print_out(&format!("{text}\n"))?;
    }
    // A run stopped by Ctrl-C did not do what it was asked: say so in the exit status, as
    // shells expect (a script would otherwise go on as if the budget had been spent).
    if interrupts.load(Ordering::SeqCst) >= 1 {
        if prepared.store.is_some() {
            eprintln!(
                "stopped by Ctrl-C; the trials above are stored in {}: run it again to continue the study",
                prepared.location
            );
        } else {
            eprintln!("stopped by Ctrl-C");
        }
        return Ok(ExitCode::from(130));
    }
    // A study that produced nothing, or gave up, failed: scripts and CI must see it.
    if let Some(stop) = failure_stop {
        eprintln!("error: study `{}` {stop}", data.study.name);
        return Ok(ExitCode::FAILURE);
    }
    if data.counts.complete == 0 {
        let last = data
            .trials
            .iter()
            .rev()
            .find_map(|t| t.message.as_deref())
            .map_or_else(String::new, |m| format!("; the last failed with: {m}"));
        eprintln!(
            "error: study `{}` has no complete trial ({} failed, {} pruned){last}",
            data.study.name, data.counts.failed, data.counts.pruned
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn studies_command(
    plugin_dirs: &[PathBuf],
    storage: Option<String>,
    command: StudiesCommand,
) -> Result<ExitCode> {
    if let StudiesCommand::Create { file } = &command {
        // As `run`: --storage, then the file's `storage`, then the default.
        let mut file = StudyFile::load(file)?;
        if storage.is_some() {
            file.storage = storage;
        }
        let url = file
            .storage
            .clone()
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        if matches!(Location::parse(&url)?, Location::Memory) {
            anyhow::bail!(
                "`memory` keeps a study only while one process runs it, so workers could not join it; give --storage sqlite://FILE or postgres://…"
            );
        }
        let prepared = prepare(&file, &registry(plugin_dirs), &Machine::detect())?;
        let shown = redact(&url);
        let password_note = if shown == url {
            ""
        } else {
            " (the password is not shown: give workers theirs with PGPASSWORD, ~/.pgpass, or password_file=PATH in the URL)"
        };
        // Quoted for the shell, as people paste it: a study name or path is anyone's text.
        let join = shlex::try_join([
            "hyperplug",
            "worker",
            "--storage",
            &shown,
            "--study",
            &file.name,
        ])
        .map_or_else(
            |_| {
                "`hyperplug worker` (its name holds a NUL byte, which no command line can pass)"
                    .to_owned()
            },
            |line| format!("`{line}`"),
        );
        eprintln!(
            "study `{}` is stored in {} with {} trials; workers join it with {join}{password_note}",
            file.name, prepared.location, prepared.existing
        );
        return Ok(ExitCode::SUCCESS);
    }
    let storage = storage.as_deref().unwrap_or(DEFAULT_URL);
    // Only `delete` writes; the others open the store read-only and change nothing in it.
    let mode = match command {
        StudiesCommand::Delete { .. } => Mode::Existing,
        _ => Mode::Read,
    };
    let store = match hyperplug_storage::open_store(storage, mode) {
        Ok(store) => store,
        // Nothing stored yet is an answer for a listing, not a failure.
        Err(e @ StorageError::Empty { .. }) if matches!(command, StudiesCommand::List) => {
            print_out(&format!("{e}\n"))?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e.into()),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match command {
        StudiesCommand::List => studies::list(&*store, &mut out)?,
        StudiesCommand::Show { name } => studies::show(&*store, &name, &mut out)?,
        StudiesCommand::Best { name, json } => studies::best(&*store, &name, json, &mut out)?,
        StudiesCommand::Trials { name, state } => {
            studies::trials(&*store, &name, state.map(Into::into), &mut out)?;
        }
        StudiesCommand::Export {
            name,
            format,
            out: None,
        } => {
            studies::export(&*store, &name, format, &mut out)?;
        }
        StudiesCommand::Export {
            name,
            format,
            out: Some(path),
        } => {
            refuse_to_overwrite(&path, storage)?;
            // The whole export first: a study that is not there, or a store that fails midway,
            // leaves the file as it was rather than emptied.
            let mut text = Vec::new();
            studies::export(&*store, &name, format, &mut text)?;
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        StudiesCommand::Delete { name, yes } => {
            let n = studies::delete(&*store, &name, yes)?;
            eprintln!("deleted study `{name}` and its {n} trials");
        }
        StudiesCommand::Create { .. } => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// Refuses to write `out` when it is the SQLite file of the store at `storage` (by any path: a
/// link, `./`), or one of SQLite's files beside it: creating it empties the study store that is
/// being read.
fn refuse_to_overwrite(out: &std::path::Path, storage: &str) -> Result<()> {
    let Ok(Location::Sqlite(db)) = Location::parse(storage) else {
        return Ok(());
    };
    let Ok(target) = std::fs::canonicalize(out) else {
        // Nothing there yet (or nothing to follow): not the store, which exists.
        return Ok(());
    };
    let same = |a: &std::path::Path| {
        std::fs::canonicalize(a).is_ok_and(|a| a == target) || same_inode(a, &target)
    };
    let mut names = vec![db.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        names.push(name.into());
    }
    if names.iter().any(|n| same(n)) {
        bail!(
            "{} is the store {} itself; writing it would destroy every study in it: give --out another file",
            out.display(),
            redact(storage)
        );
    }
    Ok(())
}

/// Two names of one file (a hard link) have different paths but one inode.
#[cfg(unix)]
fn same_inode(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: &std::path::Path, _: &std::path::Path) -> bool {
    false
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

fn summarize(data: &StudyData) {
    let c = &data.counts;
    eprintln!(
        "study `{}`: {} trials ({} complete, {} pruned, {} failed), seed {}",
        data.study.name,
        data.trials.len(),
        c.complete,
        c.pruned,
        c.failed,
        data.study.seed.unwrap_or(0)
    );
    match data.best_trials.as_slice() {
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

/// The registry's contents as `plugins list` prints them.
fn list(registry: &Registry) -> String {
    use std::fmt::Write as _;
    // Writing to a String cannot fail.
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<9} {:<16} {:<8} {:<58} source",
        "kind", "name", "version", "capabilities"
    );
    let mut row = |kind: &str,
                   info: &hyperplug::PluginInfo,
                   caps: String,
                   source: &hyperplug::Source,
                   replaced: &[hyperplug::Source]| {
        let _ = writeln!(
            s,
            "{kind:<9} {:<16} {:<8} {caps:<58} {source}",
            info.name, info.version
        );
        let _ = writeln!(s, "{:<9} {}", "", info.description);
        for old in replaced {
            let _ = writeln!(s, "{:<9} (replaces `{}` from {old})", "", info.name);
        }
    };
    for e in registry.strategies() {
        row(
            "strategy",
            &e.info,
            e.info.capabilities.names().join(","),
            &e.source,
            &e.replaced,
        );
    }
    for e in registry.objectives() {
        row("objective", &e.info, "-".into(), &e.source, &e.replaced);
    }
    for e in registry.pruners() {
        let caps = if e.info.capabilities.multi_objective {
            "multi-objective"
        } else {
            "-"
        };
        row("pruner", &e.info, caps.into(), &e.source, &e.replaced);
    }
    if !registry.libraries().is_empty() {
        let _ = writeln!(s, "\nlibraries:");
        for l in registry.libraries() {
            let _ = writeln!(s, "  {}: {}", l.path.display(), l.description);
        }
    }
    for f in registry.failures() {
        let _ = writeln!(s, "\nfailed to load: {}", f.error);
    }
    if std::env::var_os(PLUGIN_PATH_VAR).is_none() {
        log::debug!("{PLUGIN_PATH_VAR} is not set");
    }
    s
}
