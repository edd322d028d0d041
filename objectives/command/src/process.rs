//! Running one trial: the program is started in its own process group with the parameters in its
//! arguments and environment; its output is read live by two threads, logged, and parsed; the
//! pruner, the timeout and the program's exit decide how the trial ends.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, LineWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
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
/// Lines in flight between the reader threads and the trial; a faster program waits for the
/// trial to catch up rather than filling memory.
const CHANNEL: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stream {
    Out,
    Err,
}

#[derive(Debug)]
enum Event {
    Line(Stream, String),
    Closed(Stream),
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

/// Runs one trial of `config` with `params`.
pub(crate) fn run(config: &Config, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
    let number = ctx.number();
    let study = ctx.study_name();
    let devices = ctx.devices();

    let argv = command_line(config, params)?;
    let mut extra_env = Vec::with_capacity(config.env.len());
    for (key, template) in &config.env {
        match template.render(params, false) {
            Ok(Some(value)) => extra_env.push((key, value)),
            Ok(None) => {}
            Err(missing) => {
                return Err(missing_param(&format!("env.{key}"), &missing.name, params));
            }
        }
    }
    let log_dir = log_dir(config, &study)?;
    let log_path = log_dir.join(format!("trial-{number}.log"));
    let params_path = log_dir.join(format!("trial-{number}.params.json"));
    let params_json = serde_json::to_string_pretty(params)
        .map_err(|e| TrialError::failed(format!("cannot write the parameters as JSON: {e}")))?;
    fs::write(&params_path, params_json + "\n").map_err(|e| {
        TrialError::failed(format!(
            "cannot write the parameters to {}: {e}",
            params_path.display()
        ))
    })?;
    let mut log = Log::create(&log_path)?;

    let shown = argv
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let shown = clip(&shown);
    log.note(&format!(
        "hyperplug trial {number} of study `{study}`: {shown}"
    ));

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
    command
        .env("HYPERPLUG_PARAMS", &params_path)
        .env("HYPERPLUG_TRIAL", number.to_string())
        .env("HYPERPLUG_STUDY", &study)
        .env("HYPERPLUG_LOG", &log_path);
    let device_list = devices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    command.env("HYPERPLUG_DEVICES", &device_list);
    if !devices.is_empty() {
        command.env("CUDA_VISIBLE_DEVICES", &device_list);
    }
    // Its own process group, so that stopping the trial stops whatever it started (data loader
    // workers, a shell's children), and a Ctrl-C at the terminal reaches the host alone, which
    // decides what happens to running trials.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);

    let started = Instant::now();
    let child = command.spawn().map_err(|e| {
        let message = format!("cannot start `{}`: {e}", argv[0]);
        log.note(&message);
        TrialError::failed(format!("{message} (log: {})", log_path.display()))
    })?;
    log.note(&format!("pid {}", child.id()));

    let mut trial = Running::start(child, config, log, shown, started)?;
    let ending = trial.watch(ctx, config.timeout);
    trial.finish(ending, config, ctx)
}

/// The program and its arguments for `params`: placeholders filled, optional ones dropped, and
/// with `shell`, the whole as one `sh -c` script with the values quoted.
fn command_line(config: &Config, params: &Params) -> Result<Vec<String>, TrialError> {
    let mut argv = Vec::with_capacity(config.cmd.len());
    for (i, template) in config.cmd.iter().enumerate() {
        match template.render(params, config.shell) {
            Ok(Some(arg)) => argv.push(arg),
            Ok(None) => {}
            Err(missing) => return Err(missing_param(&format!("cmd[{i}]"), &missing.name, params)),
        }
    }
    if config.shell {
        return Ok(vec!["sh".into(), "-c".into(), argv.join(" ")]);
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
        None => {
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
            let safe = match safe.trim_matches('.') {
                "" => "study".to_owned(),
                _ => safe,
            };
            std::path::absolute(Path::new("hyperplug-logs").join(safe))
                .map_err(|e| TrialError::failed(format!("cannot resolve the log directory: {e}")))?
        }
    };
    fs::create_dir_all(&dir).map_err(|e| {
        TrialError::failed(format!(
            "cannot create the log directory {}: {e}",
            dir.display()
        ))
    })?;
    Ok(dir)
}

/// The trial's log: stdout and stderr interleaved as they arrive, each line tagged `out|` or
/// `err|`, and hyperplug's own notes as `#` lines.
struct Log {
    path: PathBuf,
    file: Option<LineWriter<File>>,
}

impl Log {
    fn create(path: &Path) -> Result<Self, TrialError> {
        let file = File::create(path).map_err(|e| {
            TrialError::failed(format!("cannot create the log {}: {e}", path.display()))
        })?;
        Ok(Log {
            path: path.to_owned(),
            file: Some(LineWriter::new(file)),
        })
    }

    fn write(&mut self, prefix: &str, text: &str) {
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
}

/// A started program and everything read from it so far.
struct Running {
    /// `None` once it has been waited for and its group is gone.
    child: Option<Child>,
    rx: Receiver<Event>,
    open: [bool; 2],
    exit: Option<(ExitStatus, Instant)>,
    log: Log,
    tail: Tail,
    output: Output,
    shown: String,
    started: Instant,
    grace: Duration,
}

impl Running {
    fn start(
        mut child: Child,
        config: &Config,
        log: Log,
        shown: String,
        started: Instant,
    ) -> Result<Self, TrialError> {
        let (tx, rx) = mpsc::sync_channel(CHANNEL);
        let out = child.stdout.take();
        let err = child.stderr.take();
        let mut trial = Running {
            child: Some(child),
            rx,
            open: [out.is_some(), err.is_some()],
            exit: None,
            log,
            tail: Tail::default(),
            output: Output::new(
                config.metrics.iter().map(|m| m.name.clone()).collect(),
                config.intermediate.clone(),
            ),
            shown,
            started,
            grace: config.grace,
        };
        // On error `trial` is dropped here, which kills the program.
        if let Some(out) = out {
            spawn_reader(out, Stream::Out, tx.clone()).map_err(|e| trial.cannot(e))?;
        }
        if let Some(err) = err {
            spawn_reader(err, Stream::Err, tx).map_err(|e| trial.cannot(e))?;
        }
        Ok(trial)
    }

    fn cannot(&mut self, e: io::Error) -> TrialError {
        TrialError::failed(format!("cannot read the output of `{}`: {e}", self.shown))
    }

    /// Follows the program until it exits, the pruner stops it, or it runs out of time.
    fn watch(&mut self, ctx: &mut dyn TrialContext, timeout: Option<Duration>) -> Ending {
        let deadline = timeout.map(|t| self.started + t);
        let mut last_poll = Instant::now();
        loop {
            let wait = deadline.map_or(TICK, |d| {
                d.saturating_duration_since(Instant::now()).min(TICK)
            });
            if let Some((step, value)) = self.next_event(wait) {
                ctx.report(step, value);
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
                if self.open == [false, false] || at.elapsed() >= DRAIN {
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

    /// Waits up to `wait` for one line and handles it; returns an intermediate value to report.
    fn next_event(&mut self, wait: Duration) -> Option<(u64, f64)> {
        if self.open == [false, false] {
            // Both pipes closed but the program still runs: nothing to wait on but the clock.
            thread::sleep(wait);
            return None;
        }
        match self.rx.recv_timeout(wait) {
            Ok(Event::Line(Stream::Out, text)) => {
                self.log.line(Stream::Out, &text);
                match self.output.line(&text) {
                    Line::Step { step, value } => Some((step, value)),
                    Line::Other => None,
                }
            }
            Ok(Event::Line(Stream::Err, text)) => {
                self.log.line(Stream::Err, &text);
                self.tail.push(&text);
                None
            }
            Ok(Event::Closed(stream)) => {
                self.open[stream as usize] = false;
                None
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => {
                self.open = [false, false];
                None
            }
        }
    }

    /// Reads what is left in the pipes for up to `limit`, reporting intermediate values when a
    /// context is given.
    fn drain(&mut self, limit: Duration, mut ctx: Option<&mut dyn TrialContext>) {
        let until = Instant::now() + limit;
        while self.open != [false, false] {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.log
                    .note("output still open after the program ended; the rest is not read");
                return;
            }
            if let Some((step, value)) = self.next_event(left)
                && let Some(ctx) = ctx.as_deref_mut()
            {
                ctx.report(step, value);
            }
        }
    }

    /// Stops the program and its process group and says how, for the log and messages.
    fn stop(&mut self) -> Stopped {
        let grace = self.grace;
        let stopped = match self.child.as_mut() {
            Some(child) => stop_group(child, grace),
            None => Stopped::Terminated,
        };
        self.child = None;
        match stopped {
            Stopped::Terminated => self.log.note("stopped with SIGTERM"),
            Stopped::Killed => self.log.note(&format!(
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
        match ending {
            Ending::Pruned => {
                self.log.note("pruned");
                self.stop();
                self.drain(FINAL_DRAIN, None);
                Err(TrialError::Pruned)
            }
            Ending::TimedOut => {
                let after = config
                    .timeout
                    .map_or_else(String::new, |t| humantime::format_duration(t).to_string());
                self.log.note(&format!("timed out after {after}"));
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
        }
    }

    /// The program has exited; anything it left running in its process group (and holding the
    /// trial's devices or output) is stopped too.
    fn reap_leftovers(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        if group_alive(child) {
            self.log
                .note("the program exited but left processes running; stopping them");
            self.stop();
        } else {
            self.child = None;
        }
    }

    fn exited(&mut self, status: ExitStatus, duration: Duration) -> TrialOutcome {
        self.log.note(&format!(
            "{} after {:.3} s",
            describe(status),
            duration.as_secs_f64()
        ));
        if self.output.unreadable_steps > 0 {
            self.log.note(&format!(
                "{} step line(s) had no readable intermediate value",
                self.output.unreadable_steps
            ));
        }
        if !status.success() {
            return Err(self.failure(format!("`{}` {}", self.shown, describe(status))));
        }
        let Some(found) = self.output.result() else {
            let hint = self.output.no_result_hint();
            return Err(self.failure(format!("`{}` printed no result: {hint}", self.shown)));
        };
        let mut attrs = IndexMap::new();
        attrs.insert(
            "log".to_owned(),
            Value::Str(self.log.path.display().to_string()),
        );
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
            values: found.values.clone(),
            attrs,
        })
    }

    /// A failure message: what happened, where the log is, and how stderr ended.
    fn failure(&mut self, what: String) -> TrialError {
        self.log.note(&what);
        let log = self.log.path.display();
        TrialError::Failed(match self.tail.text() {
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
            kill_now(child);
        }
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

/// Reads `stream` line by line into `tx` until it closes.
fn spawn_reader<R: Read + Send + 'static>(
    stream: R,
    which: Stream,
    tx: SyncSender<Event>,
) -> io::Result<()> {
    let name = match which {
        Stream::Out => "command-stdout",
        Stream::Err => "command-stderr",
    };
    thread::Builder::new().name(name.into()).spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        let mut forward = true;
        while let Ok(true) = read_line(&mut reader, &mut buf) {
            // Once the trial has stopped listening, keep emptying the pipe so that whatever still
            // writes to it does not block.
            if forward {
                let text = String::from_utf8_lossy(trim_newline(&buf)).into_owned();
                forward = tx.send(Event::Line(which, text)).is_ok();
            }
        }
        let _ = tx.send(Event::Closed(which));
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

fn trim_newline(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(unix)]
mod group {
    //! The program's process group: its id is the program's pid (it was started with
    //! `process_group(0)`), and it lives while any process in it does, whoever reaps the leader.

    use std::process::Child;
    use std::thread;
    use std::time::{Duration, Instant};

    use nix::errno::Errno;
    use nix::sys::signal::{Signal, killpg};
    use nix::unistd::Pid;

    use super::Stopped;

    fn pgid(child: &Child) -> Option<Pid> {
        // Never 0 or 1: those would signal our own group or every process.
        i32::try_from(child.id())
            .ok()
            .filter(|&p| p > 1)
            .map(Pid::from_raw)
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

    use std::process::Child;
    use std::time::Duration;

    use super::Stopped;

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

use group::{alive as group_alive, kill_now, stop as stop_group};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_variables_are_upper_case_words() {
        assert_eq!(param_var("learning_rate"), "HYPERPLUG_PARAM_LEARNING_RATE");
        assert_eq!(param_var("units-2.a"), "HYPERPLUG_PARAM_UNITS_2_A");
        assert_eq!(param_var("λ"), "HYPERPLUG_PARAM__");
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_still_read() {
        let mut data = vec![b'x'; MAX_LINE + 10];
        data.extend_from_slice(b"\r\nnext\nlast");
        let mut r = BufReader::with_capacity(4096, &data[..]);
        let mut buf = Vec::new();
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(buf.len(), MAX_LINE);
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(trim_newline(&buf), b"next");
        assert!(read_line(&mut r, &mut buf).unwrap());
        assert_eq!(trim_newline(&buf), b"last");
        assert!(!read_line(&mut r, &mut buf).unwrap());
    }
}
