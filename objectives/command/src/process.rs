//! Running one trial: the program is started in its own process group with the parameters in its
//! arguments and environment; two threads read its output as fast as it comes, log it and parse
//! it, and hand intermediate values to the trial's thread, which reports them at the study's pace;
//! the pruner, the timeout and the program's exit decide how the trial ends.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, LineWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use hyperplug_core::{Evaluation, Params, TrialContext, TrialError, TrialOutcome, Value};
use indexmap::IndexMap;

use crate::output::{Line, Output, Tail, clip};
use crate::settings::Config;
use crate::template::{render_value, shell_quote};

/// How long the loop waits for output before it looks at the clock, the program and the pruner.
const TICK: Duration = Duration::from_millis(50);
/// How often the pruner is asked while the program prints nothing.
const POLL: Duration = Duration::from_millis(100);
/// How long to wait for the output pipes to close once the program has exited, before whatever
/// still holds them is stopped.
const DRAIN: Duration = Duration::from_secs(1);
/// How long to wait for the pipes once everything in the process group is gone; a process that
/// left the group may still hold them, and is then left alone.
const FINAL_DRAIN: Duration = Duration::from_secs(2);
/// Lines longer than this are cut (a program that never prints a newline must not exhaust memory).
const MAX_LINE: usize = 1 << 20;
/// Intermediate values waiting for the study. A program that prints them faster than the study
/// stores them is never held back: past this many, the oldest waiting ones are dropped, so the
/// study hears the latest and the trial's end is never delayed by more than this many reports.
const PENDING: usize = 100;
/// The first placeholder value (`$0`) of a `shell = true` script, named in the shell's messages.
const SCRIPT_NAME: &str = "hyperplug";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

/// Why the main loop stopped.
enum Ending {
    Exited(ExitStatus),
    Pruned,
    TimedOut,
    WaitFailed(io::Error),
}

/// How the process group went away after SIGTERM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stopped {
    /// Everything exited within the grace period.
    Terminated,
    /// Something was still running after the grace period and got SIGKILL.
    Killed,
}

/// The placeholder (and, upper-cased, the environment variable `HYPERPLUG_RESOURCE`) for the
/// resource the pruner starts a trial with.
pub(crate) const RESOURCE: &str = "resource";

/// Runs one trial of `config` with `params`.
pub(crate) fn run(config: &Config, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
    let number = ctx.number();
    let study = ctx.study_name();
    let devices = ctx.devices();
    let resource = ctx.resource();

    check_variable_names(params.keys().map(String::as_str)).map_err(TrialError::failed)?;
    // `{resource}` is the resource the pruner starts the trial with, unless a parameter has
    // that name.
    let mut with_resource = params.clone();
    if let Some(r) = resource
        && !params.contains_key(RESOURCE)
    {
        with_resource.insert(
            RESOURCE.into(),
            Value::Int(i64::try_from(r).unwrap_or(i64::MAX)),
        );
    }
    let argv = command_line(config, &with_resource)?;
    let mut extra_env = Vec::with_capacity(config.env.len());
    for (key, template) in &config.env {
        match template.render(&with_resource) {
            Ok(Some(value)) => extra_env.push((key, value)),
            Ok(None) => {}
            Err(missing) => {
                return Err(missing_param(&format!("env.{key}"), &missing.name, params));
            }
        }
    }
    let params_json = serde_json::to_string(params)
        .map_err(|e| TrialError::failed(format!("cannot write the parameters as JSON: {e}")))?;
    let log_dir = log_dir(config, &study)?;
    let mut log = Log::create(&log_dir, number, config.log_limit)?;
    // The parameter file lives in a directory of its own, made for this trial alone (a fresh
    // name, mode 0700) and removed with it: no other trial, of this study or of one with the
    // same name in another store, can write or replace it.
    let params_file = write_params(&params_json)?;

    let shown = argv
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let shown = clip(&shown);
    log.note(&format!(
        "hyperplug trial {number} of study `{study}`: {shown}"
    ));
    log.note(&format!("parameters: {}", clip(&params_json)));

    let mut command = std::process::Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = &config.cwd {
        command.current_dir(dir);
    }
    // Python buffers stdout when it is a pipe, which would hold intermediate values back until
    // the end; a program or user that sets it otherwise keeps their choice.
    if std::env::var_os("PYTHONUNBUFFERED").is_none() {
        command.env("PYTHONUNBUFFERED", "1");
    }
    command.envs(extra_env);
    // The trial's own variables come last: the executor's device assignment wins over `env`.
    for (name, value) in params {
        command.env(param_var(name), render_value(value));
    }
    let params_path = params_file.path().join("params.json");
    command
        .env("HYPERPLUG_PARAMS", &params_path)
        .env("HYPERPLUG_TRIAL", number.to_string())
        .env("HYPERPLUG_STUDY", &study)
        .env("HYPERPLUG_LOG", &log.path);
    let device_list = devices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    command.env("HYPERPLUG_DEVICES", &device_list);
    if let Some(r) = resource {
        command.env("HYPERPLUG_RESOURCE", r.to_string());
    }
    if !devices.is_empty() {
        command.env("CUDA_VISIBLE_DEVICES", &device_list);
    }
    group::prepare(&mut command);

    let started = Instant::now();
    let child = command.spawn().map_err(|e| {
        let message = format!("cannot start `{}`: {e}", argv[0]);
        log.note(&message);
        TrialError::failed(format!("{message} (log: {})", log.path.display()))
    })?;
    log.note(&format!("pid {}", child.id()));
    let watchdog = match group::Watchdog::start(&child) {
        Ok(w) => Some(w),
        Err(e) => {
            log.note(&format!(
                "cannot start the watchdog that stops the program should this process be killed: {e}"
            ));
            None
        }
    };

    let mut trial = Running::start(child, watchdog, config, log, shown, started)?;
    let ending = trial.watch(ctx, config.timeout);
    let outcome = trial.finish(ending, config, ctx);
    drop(params_file);
    outcome
}

/// The default log directory's name for `study`: its name with anything but ASCII letters,
/// digits, `-`, `_` and `.` as `_`. A long name is cut and given a hash of the whole, so it stays
/// a valid file name (255 bytes at most on common file systems) and names stay apart.
fn log_dir_name(study: &str) -> String {
    const KEEP: usize = 100;
    let safe: String = study
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.trim_matches('.').is_empty() {
        return "study".to_owned();
    }
    if safe.len() <= KEEP {
        return safe;
    }
    // FNV-1a: stable across Rust versions, so a resumed study logs where it did before.
    let hash = study.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{hash:016x}", &safe[..KEEP])
}

/// Refuses parameters whose environment variables would be one and the same (`a-b` and `a_b`
/// are both `HYPERPLUG_PARAM_A_B`): the program would read one of them for the other.
/// The study checks its whole space with it before the first trial; each trial checks its own
/// parameters again, for hosts that do not.
pub(crate) fn check_variable_names<'n>(
    names: impl IntoIterator<Item = &'n str>,
) -> Result<(), String> {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for name in names {
        let var = param_var(name);
        if let Some(other) = seen.insert(var.clone(), name) {
            return Err(format!(
                "parameters `{other}` and `{name}` would both be passed as the environment variable `{var}` (names are upper-cased, with anything but ASCII letters and digits as `_`); rename one of them in [space]"
            ));
        }
    }
    Ok(())
}

/// The parameters as JSON, in a new private directory (removed when it is dropped).
fn write_params(json: &str) -> Result<tempfile::TempDir, TrialError> {
    let cannot = |e: io::Error| {
        TrialError::failed(format!(
            "cannot write the trial's parameter file in {}: {e}",
            std::env::temp_dir().display()
        ))
    };
    let dir = tempfile::Builder::new()
        .prefix("hyperplug-trial-")
        .tempdir()
        .map_err(cannot)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.path().join("params.json"))
        .map_err(cannot)?;
    file.write_all(json.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(cannot)?;
    Ok(dir)
}

/// The program and its arguments for `params`: placeholders filled, optional ones dropped. With
/// `shell`, `sh -c SCRIPT hyperplug VALUE…`: the script refers to the values as its positional
/// parameters, so that no value is ever read as shell code.
fn command_line(config: &Config, params: &Params) -> Result<Vec<String>, TrialError> {
    if config.shell {
        let mut values = Vec::new();
        let mut parts = Vec::with_capacity(config.cmd.len());
        for (i, template) in config.cmd.iter().enumerate() {
            match template.render_script(params, &mut values) {
                Ok(Some(part)) => parts.push(part),
                Ok(None) => {}
                Err(missing) => {
                    return Err(missing_param(&format!("cmd[{i}]"), &missing.name, params));
                }
            }
        }
        let mut argv = vec![
            "sh".into(),
            "-c".into(),
            parts.join(" "),
            SCRIPT_NAME.into(),
        ];
        argv.extend(values);
        return Ok(argv);
    }
    let mut argv = Vec::with_capacity(config.cmd.len());
    for (i, template) in config.cmd.iter().enumerate() {
        match template.render(params) {
            Ok(Some(arg)) => argv.push(arg),
            Ok(None) => {}
            Err(missing) => return Err(missing_param(&format!("cmd[{i}]"), &missing.name, params)),
        }
    }
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err(TrialError::failed(format!(
            "`cmd[0]` (`{}`) leaves no program to run for these parameters",
            config.cmd[0].source()
        )));
    }
    Ok(argv)
}

fn missing_param(key: &str, name: &str, params: &Params) -> TrialError {
    if name == RESOURCE {
        return TrialError::failed(format!(
            "`{key}` refers to `{{resource}}`, the resource the study's pruner starts a trial with, and this study's pruner sets none; give the pruner a `max_resource` (successive-halving, asha, hyperband), or drop the placeholder"
        ));
    }
    let known = params
        .keys()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    TrialError::failed(format!(
        "`{key}` refers to `{{{name}}}`, which is not a parameter of this trial (parameters: {known}); \
         for a parameter that exists only under a condition, write `{{{name}?}}` to drop the argument when it is inactive"
    ))
}

/// `HYPERPLUG_PARAM_<NAME>`: the name upper-cased, anything but ASCII letters and digits as `_`.
pub(crate) fn param_var(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("HYPERPLUG_PARAM_{tail}")
}

/// The trial's log directory, created, as an absolute path (the program may run elsewhere).
fn log_dir(config: &Config, study: &str) -> Result<PathBuf, TrialError> {
    let dir = match &config.log_dir {
        Some(d) => d.clone(),
        None => std::path::absolute(Path::new("hyperplug-logs").join(log_dir_name(study)))
            .map_err(|e| TrialError::failed(format!("cannot resolve the log directory: {e}")))?,
    };
    fs::create_dir_all(&dir).map_err(|e| {
        TrialError::failed(format!(
            "cannot create the log directory {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// How many names a trial's log tries (`trial-3.log`, `trial-3-2.log`, …) before giving up.
const LOG_NAMES: u32 = 1000;

/// The trial's log: stdout and stderr interleaved as they arrive, each line tagged `out|` or
/// `err|`, and hyperplug's own notes as `#` lines. It keeps at most `limit` bytes: the first half
/// is written as it comes; past it, the last half is kept in memory and written, after a line
/// saying how much was cut, when the trial ends.
struct Log {
    path: PathBuf,
    file: Option<LineWriter<File>>,
    /// Bytes still allowed before the log starts keeping only its tail.
    head_left: u64,
    /// The kept tail, once the head is full.
    tail: VecDeque<String>,
    tail_bytes: u64,
    tail_max: u64,
    cut_lines: u64,
    cut_bytes: u64,
    cutting: bool,
}

impl Log {
    /// A new log for trial `number` in `dir`: a file that did not exist, never a link's target.
    /// A name already taken (a study of the same name in another store, an earlier study the
    /// store no longer has) is left alone and the next one tried.
    fn create(dir: &Path, number: u64, limit: u64) -> Result<Self, TrialError> {
        for k in 1..=LOG_NAMES {
            let name = match k {
                1 => format!("trial-{number}.log"),
                k => format!("trial-{number}-{k}.log"),
            };
            let path = dir.join(name);
            // `create_new` is O_CREAT|O_EXCL: it creates a file or fails, and never follows a
            // link, even a dangling one.
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Log {
                        path,
                        file: Some(LineWriter::new(file)),
                        head_left: limit / 2,
                        tail: VecDeque::new(),
                        tail_bytes: 0,
                        tail_max: limit - limit / 2,
                        cut_lines: 0,
                        cut_bytes: 0,
                        cutting: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                        let target = fs::read_link(&path)
                            .map(|t| format!(" (to {})", t.display()))
                            .unwrap_or_default();
                        return Err(TrialError::failed(format!(
                            "the trial's log {} is a symbolic link{target}; hyperplug never writes a log through a link: remove it, and keep `log_dir` writable by you alone",
                            path.display()
                        )));
                    }
                }
                Err(e) => {
                    return Err(TrialError::failed(format!(
                        "cannot create the log {}: {e}",
                        path.display()
                    )));
                }
            }
        }
        Err(TrialError::failed(format!(
            "trial-{number}.log and {} other names for it are taken in {}; clear the directory or set `log_dir`",
            LOG_NAMES - 1,
            dir.display()
        )))
    }

    fn write(&mut self, prefix: &str, text: &str) {
        if self.file.is_none() {
            return;
        }
        let len = (prefix.len() + text.len() + 1) as u64;
        if !self.cutting && len <= self.head_left {
            self.head_left -= len;
            self.put(prefix, text);
            return;
        }
        self.cutting = true;
        let mut line = format!("{prefix}{text}");
        if line.len() as u64 > self.tail_max {
            let mut end = usize::try_from(self.tail_max).unwrap_or(usize::MAX) - 1;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            self.cut_bytes += (line.len() - end) as u64;
            line.truncate(end);
        }
        self.tail_bytes += line.len() as u64 + 1;
        self.tail.push_back(line);
        while self.tail_bytes > self.tail_max {
            let Some(old) = self.tail.pop_front() else {
                break;
            };
            self.tail_bytes -= old.len() as u64 + 1;
            self.cut_lines += 1;
            self.cut_bytes += old.len() as u64 + 1;
        }
    }

    fn put(&mut self, prefix: &str, text: &str) {
        if let Some(f) = &mut self.file
            && let Err(e) = writeln!(f, "{prefix}{text}")
        {
            // A full disk must not fail a trial that is otherwise fine; the log just stops.
            log::warn!("cannot write the trial log {}: {e}", self.path.display());
            self.file = None;
        }
    }

    fn line(&mut self, stream: Stream, text: &str) {
        let prefix = match stream {
            Stream::Out => "out| ",
            Stream::Err => "err| ",
        };
        self.write(prefix, text);
    }

    fn note(&mut self, text: &str) {
        self.write("# ", text);
    }

    /// Writes the kept tail, after a line saying what was cut; later lines are written as they
    /// come (the few notes that end a trial).
    fn close(&mut self) {
        if !self.cutting {
            return;
        }
        self.cutting = false;
        self.head_left = u64::MAX;
        if self.cut_bytes > 0 {
            let note = format!(
                "… {} line(s), {} bytes, cut here: the log keeps its first and last {} (`log_limit`)",
                self.cut_lines,
                self.cut_bytes,
                bytesize::ByteSize(self.tail_max).display().iec()
            );
            self.put("# ", &note);
        }
        for line in std::mem::take(&mut self.tail) {
            self.put("", &line);
        }
        self.tail_bytes = 0;
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.close();
    }
}

/// What the reader threads and the trial's thread share.
struct Shared {
    state: Mutex<State>,
    /// Signalled when an intermediate value waits or a stream closes.
    wake: Condvar,
}

struct State {
    log: Log,
    tail: Tail,
    output: Output,
    /// Intermediate values read but not yet reported, oldest first.
    pending: VecDeque<(u64, Vec<f64>)>,
    /// Intermediate values dropped because the study was slower than the program.
    dropped: u64,
    open: [bool; 2],
    /// Whether the readers still log and parse; once the trial has ended they only empty the
    /// pipes, so that whatever still writes to them does not block.
    listening: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A reader that panicked leaves consistent state: each change is one statement.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A started program and everything read from it so far.
struct Running {
    /// `None` once it has been waited for and its group is gone.
    child: Option<Child>,
    watchdog: Option<group::Watchdog>,
    shared: Arc<Shared>,
    exit: Option<(ExitStatus, Instant)>,
    shown: String,
    started: Instant,
    grace: Duration,
}

impl Running {
    fn start(
        mut child: Child,
        watchdog: Option<group::Watchdog>,
        config: &Config,
        log: Log,
        shown: String,
        started: Instant,
    ) -> Result<Self, TrialError> {
        let out = child.stdout.take();
        let err = child.stderr.take();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                log,
                tail: Tail::default(),
                output: Output::new(
                    config.metrics.iter().map(|m| m.name.clone()).collect(),
                    config.intermediate.clone(),
                ),
                pending: VecDeque::new(),
                dropped: 0,
                open: [out.is_some(), err.is_some()],
                listening: true,
            }),
            wake: Condvar::new(),
        });
        let mut trial = Running {
            child: Some(child),
            watchdog,
            shared,
            exit: None,
            shown,
            started,
            grace: config.grace,
        };
        // On error `trial` is dropped here, which kills the program.
        if let Some(out) = out {
            spawn_reader(out, Stream::Out, trial.shared.clone()).map_err(|e| trial.cannot(e))?;
        }
        if let Some(err) = err {
            spawn_reader(err, Stream::Err, trial.shared.clone()).map_err(|e| trial.cannot(e))?;
        }
        Ok(trial)
    }

    fn cannot(&mut self, e: io::Error) -> TrialError {
        TrialError::failed(format!("cannot read the output of `{}`: {e}", self.shown))
    }

    fn note(&self, text: &str) {
        self.shared.lock().log.note(text);
    }

    /// Follows the program until it exits, the pruner stops it, or it runs out of time.
    fn watch(&mut self, ctx: &mut dyn TrialContext, timeout: Option<Duration>) -> Ending {
        // A deadline past what the clock can hold is no deadline.
        let deadline = timeout.and_then(|t| self.started.checked_add(t));
        let mut last_poll = Instant::now();
        loop {
            let wait = deadline.map_or(TICK, |d| {
                d.saturating_duration_since(Instant::now()).min(TICK)
            });
            let (values, closed) = self.next_values(wait);
            if !values.is_empty() {
                for (step, values) in values {
                    report(ctx, step, &values);
                }
                last_poll = Instant::now();
                if self.exit.is_none() && ctx.should_prune() {
                    return Ending::Pruned;
                }
            }
            if self.exit.is_none() {
                match self.child.as_mut().map(Child::try_wait) {
                    Some(Ok(Some(status))) => self.exit = Some((status, Instant::now())),
                    Some(Ok(None)) | None => {}
                    Some(Err(e)) => return Ending::WaitFailed(e),
                }
            }
            if let Some((status, at)) = self.exit {
                // Its output may still be in the pipes: read to the end first.
                if closed || at.elapsed() >= DRAIN {
                    return Ending::Exited(status);
                }
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ending::TimedOut;
            }
            if last_poll.elapsed() >= POLL {
                last_poll = Instant::now();
                if ctx.should_prune() {
                    return Ending::Pruned;
                }
            }
        }
    }

    /// Waits up to `wait` for intermediate values or the end of the output; returns the values
    /// waiting (oldest first) and whether both pipes have closed.
    fn next_values(&self, wait: Duration) -> (Vec<(u64, Vec<f64>)>, bool) {
        let mut state = self.shared.lock();
        if state.pending.is_empty() && state.open != [false, false] {
            state = self
                .shared
                .wake
                .wait_timeout_while(state, wait, |s| {
                    s.pending.is_empty() && s.open != [false, false]
                })
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        } else if state.pending.is_empty() {
            // Both pipes closed but the program still runs: nothing to wait on but the clock.
            drop(state);
            thread::sleep(wait);
            return (Vec::new(), true);
        }
        let values = state.pending.drain(..).collect();
        (values, state.open == [false, false])
    }

    /// Reads what is left in the pipes for up to `limit`, reporting intermediate values when a
    /// context is given.
    fn drain(&mut self, limit: Duration, mut ctx: Option<&mut dyn TrialContext>) {
        let until = Instant::now() + limit;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let (values, closed) = self.next_values(left.min(TICK));
            if let Some(ctx) = ctx.as_deref_mut() {
                for (step, values) in values {
                    report(ctx, step, &values);
                }
            }
            if closed {
                return;
            }
            if left.is_zero() {
                self.note("output still open after the program ended; the rest is not read");
                return;
            }
        }
    }

    /// Stops the program and its process group and says how, for the log and messages.
    fn stop(&mut self) -> Stopped {
        let grace = self.grace;
        let stopped = match self.child.as_mut() {
            Some(child) => group::stop(child, grace),
            None => Stopped::Terminated,
        };
        self.child = None;
        match stopped {
            Stopped::Terminated => self.note("stopped with SIGTERM"),
            Stopped::Killed => self.note(&format!(
                "still running {} after SIGTERM: sent SIGKILL",
                humantime::format_duration(grace)
            )),
        }
        stopped
    }

    fn finish(
        mut self,
        ending: Ending,
        config: &Config,
        ctx: &mut dyn TrialContext,
    ) -> TrialOutcome {
        let outcome = match ending {
            Ending::Pruned => {
                self.note("pruned");
                self.stop();
                self.drain(FINAL_DRAIN, None);
                Err(TrialError::Pruned)
            }
            Ending::TimedOut => {
                let after = config
                    .timeout
                    .map_or_else(String::new, |t| humantime::format_duration(t).to_string());
                self.note(&format!("timed out after {after}"));
                let how = match self.stop() {
                    Stopped::Terminated => "stopped with SIGTERM".to_owned(),
                    Stopped::Killed => format!(
                        "SIGKILLed after ignoring SIGTERM for {}",
                        humantime::format_duration(self.grace)
                    ),
                };
                self.drain(FINAL_DRAIN, None);
                Err(self.failure(format!("`{}` timed out after {after} ({how})", self.shown)))
            }
            Ending::WaitFailed(e) => {
                self.stop();
                self.drain(FINAL_DRAIN, None);
                Err(self.failure(format!("cannot wait for `{}`: {e}", self.shown)))
            }
            Ending::Exited(status) => {
                let duration = self.exit.map_or(self.started.elapsed(), |(_, at)| {
                    at.duration_since(self.started)
                });
                self.reap_leftovers();
                self.drain(FINAL_DRAIN, Some(ctx));
                self.exited(status, duration)
            }
        };
        if let Some(w) = self.watchdog.take() {
            w.dismiss();
        }
        let mut state = self.shared.lock();
        state.listening = false;
        if state.dropped > 0 {
            let dropped = state.dropped;
            state.log.note(&format!(
                "{dropped} intermediate value(s) were not reported: the program printed them faster than the study took them, and the latest were kept"
            ));
        }
        state.log.close();
        outcome
    }

    /// The program has exited; anything it left running in its process group (and holding the
    /// trial's devices or output) is stopped too.
    fn reap_leftovers(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if group::alive(child) {
            self.note("the program exited but left processes running; stopping them");
            self.stop();
        } else {
            self.child = None;
        }
    }

    fn exited(&mut self, status: ExitStatus, duration: Duration) -> TrialOutcome {
        self.note(&format!(
            "{} after {:.3} s",
            describe(status),
            duration.as_secs_f64()
        ));
        let unreadable = self.shared.lock().output.unreadable_steps;
        if unreadable > 0 {
            self.note(&format!(
                "{unreadable} step line(s) had no readable intermediate value"
            ));
        }
        if !status.success() {
            return Err(self.failure(format!("`{}` {}", self.shown, describe(status))));
        }
        let (found, log_path) = {
            let state = self.shared.lock();
            (state.output.result().cloned(), state.log.path.clone())
        };
        let Some(found) = found else {
            let hint = self.shared.lock().output.no_result_hint();
            return Err(self.failure(format!("`{}` printed no result: {hint}", self.shown)));
        };
        let mut attrs = IndexMap::new();
        attrs.insert("log".to_owned(), Value::Str(log_path.display().to_string()));
        if let Some(code) = status.code() {
            attrs.insert("exit_code".to_owned(), Value::Int(i64::from(code)));
        }
        attrs.insert(
            "duration_s".to_owned(),
            Value::Float(duration.as_secs_f64()),
        );
        for (k, v) in &found.extras {
            if !attrs.contains_key(k) {
                attrs.insert(k.clone(), v.clone());
            }
        }
        if found.values.iter().any(|v| v.is_nan()) {
            // The study fails a trial with a NaN; the line it came from is worth keeping.
            attrs.insert("result_line".to_owned(), Value::Str(clip(&found.raw)));
        }
        Ok(Evaluation {
            values: found.values,
            attrs,
        })
    }

    /// A failure message: what happened, where the log is, and how stderr ended.
    fn failure(&mut self, what: String) -> TrialError {
        let mut state = self.shared.lock();
        state.log.note(&what);
        let log = state.log.path.display();
        TrialError::Failed(match state.tail.text() {
            Some(tail) => format!("{what} (log: {log}); stderr ends with:\n{tail}"),
            None => format!("{what} (log: {log}); stderr was empty"),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached with a child still held when the trial is abandoned (a panic, a failed
        // thread start): never leave the program running.
        if let Some(child) = self.child.as_mut() {
            group::kill_now(child);
        }
        if let Some(w) = self.watchdog.take() {
            w.dismiss();
        }
        self.shared.lock().listening = false;
    }
}

/// Reports a step line: one value through `report`, a vector (one value per objective) through
/// `report_values`, so that contexts that keep single values see every single report as before.
fn report(ctx: &mut dyn TrialContext, step: u64, values: &[f64]) {
    match values {
        [v] => ctx.report(step, *v),
        _ => ctx.report_values(step, values),
    }
}

fn describe(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return if code == 0 {
            "exited with status 0".to_owned()
        } else {
            format!("exited with status {code}")
        };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return match nix::sys::signal::Signal::try_from(sig) {
                Ok(s) => format!("was killed by signal {sig} ({s})"),
                Err(_) => format!("was killed by signal {sig}"),
            };
        }
    }
    format!("ended ({status})")
}

/// Reads `stream` line by line until it closes: logs and parses each line itself, so that the
/// program never waits for the study, and queues intermediate values for the trial's thread.
fn spawn_reader<R: Read + Send + 'static>(
    stream: R,
    which: Stream,
    shared: Arc<Shared>,
) -> io::Result<()> {
    let name = match which {
        Stream::Out => "command-stdout",
        Stream::Err => "command-stderr",
    };
    thread::Builder::new().name(name.into()).spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        while let Ok(true) = read_line(&mut reader, &mut buf) {
            let text = String::from_utf8_lossy(trim_newline(&buf));
            let mut state = shared.lock();
            if !state.listening {
                continue;
            }
            match cut_note(&buf) {
                Some(note) => state.log.line(which, &format!("{text}{note}")),
                None => state.log.line(which, &text),
            }
            match which {
                Stream::Out => {
                    let report = match state.output.line(&text) {
                        Line::Step { step, value } => Some((step, vec![value])),
                        Line::Values { step, values } => Some((step, values)),
                        Line::Other => None,
                    };
                    if let Some(report) = report {
                        if state.pending.len() >= PENDING {
                            state.pending.pop_front();
                            state.dropped += 1;
                        }
                        state.pending.push_back(report);
                        shared.wake.notify_all();
                    }
                }
                Stream::Err => state.tail.push(&text),
            }
        }
        shared.lock().open[which as usize] = false;
        shared.wake.notify_all();
    })?;
    Ok(())
}
/// One line into `buf` (without keeping more than [`MAX_LINE`] bytes of it); `false` at the end.
fn read_line<R: BufRead>(reader: &mut R, buf: &mut Vec<u8>) -> io::Result<bool> {
    buf.clear();
    let mut any = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any);
        }
        any = true;
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_LINE.saturating_sub(buf.len());
        buf.extend_from_slice(&available[..used.min(room)]);
        reader.consume(used);
        if done {
            return Ok(true);
        }
    }
}

/// What the log says after a line [`read_line`] cut short, so that a log never loses text
/// silently.
fn cut_note(buf: &[u8]) -> Option<String> {
    (buf.len() >= MAX_LINE && !buf.ends_with(b"\n"))
        .then(|| format!(" … (hyperplug cut this line at {MAX_LINE} bytes)"))
}

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(unix)]
mod group {
    //! The program's process group: its id is the program's pid (it was started with
    //! `process_group(0)`), and it lives while any process in it does, whoever reaps the leader.
    //!
    //! Should this process die without stopping the trial (SIGKILL, the OOM killer), the group
    //! goes with it twice over: on Linux the program itself gets SIGKILL from the kernel (its
    //! parent-death signal), and a watchdog, a `sh` outside the group waiting on a pipe only this
    //! process holds, sends SIGKILL to the whole group when that pipe closes. A retry of the trial
    //! therefore never runs beside the orphan of an earlier attempt.

    use std::io;
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};
    use std::thread;
    use std::time::{Duration, Instant};

    use nix::errno::Errno;
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    use super::Stopped;

    /// Starts the program in a process group of its own, so that stopping the trial stops
    /// whatever it started (data loader workers, a shell's children), and a Ctrl-C at the
    /// terminal reaches the host alone, which decides what happens to running trials. On Linux
    /// the program also dies with this process.
    pub(super) fn prepare(command: &mut Command) {
        command.process_group(0);
        #[cfg(target_os = "linux")]
        die_with_parent(command);
    }

    /// PR_SET_PDEATHSIG: SIGKILL to the program when the thread that started it ends. That
    /// thread is the trial's own: it waits for the program (or kills it) before it returns from
    /// `evaluate`, so it ends before the program only when the whole process dies.
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    fn die_with_parent(command: &mut Command) {
        let parent = nix::unistd::getpid();
        let hook = move || -> io::Result<()> {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(io::Error::from)?;
            // The parent may have died between the fork and the line above, too early for the
            // signal: then the program must not start at all.
            if nix::unistd::getppid() != parent {
                return Err(io::Error::from(Errno::ESRCH));
            }
            Ok(())
        };
        // SAFETY: the hook runs in the child between fork and exec, where only async-signal-safe
        // calls are allowed: it makes two system calls (prctl, getppid) and builds an
        // `io::Error` from an errno, which does not allocate; it touches no lock or shared state.
        unsafe {
            command.pre_exec(hook);
        }
    }

    fn pgid(child: &Child) -> Option<Pid> {
        // Never 0 or 1: those would signal our own group or every process.
        i32::try_from(child.id())
            .ok()
            .filter(|&p| p > 1)
            .map(Pid::from_raw)
    }

    /// Sends SIGKILL to the program's group if this process dies first; dismissed once the
    /// trial is over.
    pub(super) struct Watchdog {
        sh: Child,
    }

    impl Watchdog {
        pub(super) fn start(child: &Child) -> io::Result<Watchdog> {
            let Some(g) = pgid(child) else {
                return Err(io::Error::other("the program has no process id to watch"));
            };
            // `read` returns at the end of its input: when this process closes the pipe, by
            // dying. Its own group, so that a terminal's signals do not end it early.
            let sh = Command::new("sh")
                .args([
                    "-c",
                    "read _line; kill -s KILL -- \"-$1\" 2>/dev/null",
                    "hyperplug-watchdog",
                ])
                .arg(g.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()?;
            Ok(Watchdog { sh })
        }

        /// Ends the watchdog without letting it signal: the group is gone or being stopped, and
        /// its id may soon belong to someone else.
        pub(super) fn dismiss(mut self) {
            let _ = self.sh.kill();
            let _ = self.sh.wait();
        }
    }

    pub(super) fn alive(child: &mut Child) -> bool {
        // Reap the leader first, or its zombie would count as alive.
        if matches!(child.try_wait(), Ok(None)) {
            return true;
        }
        pgid(child).is_some_and(|g| !matches!(killpg(g, None), Err(Errno::ESRCH)))
    }

    /// SIGTERM to the group, up to `grace` for all of it to exit, then SIGKILL.
    pub(super) fn stop(child: &mut Child, grace: Duration) -> Stopped {
        let Some(g) = pgid(child) else {
            let _ = child.kill();
            let _ = child.wait();
            return Stopped::Killed;
        };
        let _ = killpg(g, Signal::SIGTERM);
        let since = Instant::now();
        loop {
            if !alive(child) {
                let _ = child.wait();
                return Stopped::Terminated;
            }
            if since.elapsed() >= grace {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = killpg(g, Signal::SIGKILL);
        // The leader directly as well, should it have left its group.
        let _ = child.kill();
        let _ = child.wait();
        Stopped::Killed
    }

    pub(super) fn kill_now(child: &mut Child) {
        if let Some(g) = pgid(child) {
            let _ = killpg(g, Signal::SIGKILL);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[cfg(not(unix))]
mod group {
    //! Without process groups and signals, the program alone is stopped, at once.

    use std::io;
    use std::process::{Child, Command};
    use std::time::Duration;

    use super::Stopped;

    pub(super) fn prepare(_command: &mut Command) {}

    /// Nothing watches the program should this process die.
    pub(super) struct Watchdog;

    impl Watchdog {
        pub(super) fn start(_child: &Child) -> io::Result<Watchdog> {
            Ok(Watchdog)
        }

        pub(super) fn dismiss(self) {}
    }

    pub(super) fn alive(child: &mut Child) -> bool {
        matches!(child.try_wait(), Ok(None))
    }

    pub(super) fn stop(child: &mut Child, _grace: Duration) -> Stopped {
        kill_now(child);
        Stopped::Killed
    }

    pub(super) fn kill_now(child: &mut Child) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_directories_are_file_names_whatever_the_study_is_called() {
        assert_eq!(log_dir_name("mlp v2/ü"), "mlp_v2__");
        assert_eq!(log_dir_name(".."), "study");
        let long = "x".repeat(10_000);
        let name = log_dir_name(&long);
        assert_eq!(name.len(), 117, "{name}");
        assert!(name.starts_with(&"x".repeat(100)), "{name}");
        assert_eq!(
            name,
            log_dir_name(&long),
            "the same study, the same directory"
        );
        let other = format!("{}y", "x".repeat(9_999));
        assert_ne!(
            log_dir_name(&other),
            name,
            "names that share a prefix stay apart"
        );
    }

    #[test]
    fn parameter_variables_are_upper_case_words() {
        assert_eq!(param_var("learning_rate"), "HYPERPLUG_PARAM_LEARNING_RATE");
        assert_eq!(param_var("units-2.a"), "HYPERPLUG_PARAM_UNITS_2_A");
        assert_eq!(param_var("λ"), "HYPERPLUG_PARAM__");
    }

    proptest::proptest! {
        /// Any bytes, read through any buffer size, come out as the lines between newlines.
        #[test]
        fn any_bytes_split_into_their_lines(
            data in proptest::collection::vec(
                proptest::prop_oneof![proptest::prelude::any::<u8>(), proptest::prelude::Just(b'\n'), proptest::prelude::Just(b'\r')],
                0..400,
            ),
            capacity in 1usize..64,
        ) {
            let mut r = BufReader::with_capacity(capacity, &data[..]);
            let mut buf = Vec::new();
            let mut lines = Vec::new();
            while read_line(&mut r, &mut buf).expect("in memory") {
                lines.push(trim_newline(&buf).to_vec());
            }
            let mut expected: Vec<Vec<u8>> = data
                .split(|&b| b == b'\n')
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
                .collect();
            if data.last().is_none_or(|&b| b == b'\n') {
                expected.pop();
            }
            proptest::prop_assert_eq!(lines, expected);
        }
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_still_read() {
        let mut data = vec![b'x'; MAX_LINE + 10];
        data.extend_from_slice(b"\r\nnext\nlast");
        let mut r = BufReader::with_capacity(4096, &data[..]);
        let mut buf = Vec::new();
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        assert!(cut_note(&buf).is_some_and(|n| n.contains("cut this line")));
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(trim_newline(&buf), b"next");
        assert_eq!(cut_note(&buf), None);
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(trim_newline(&buf), b"last");
        assert!(!read_line(&mut r, &mut buf).unwrap());
    }
}
