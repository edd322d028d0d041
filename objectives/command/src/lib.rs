//! Any program as an objective: parameters in, JSON results and intermediate values out.
//!
//! The [`Command`] objective runs one program per trial, in a study that declares its own
//! `[space]`:
//!
//! ```toml
//! [objective]
//! name = "command"
//! cmd = ["python3", "train.py", "--lr", "{learning_rate}", "--depth", "{max_depth}"]
//! metrics = [{ name = "accuracy", direction = "maximize" }, { name = "train_time", direction = "minimize" }]
//! timeout = "10m"
//! ```
//!
//! **Parameters in.** `{name}` in an argument becomes the parameter's value (`{name?}` drops the
//! argument when a conditional parameter is inactive; `{{` and `}}` are literal braces). Every
//! parameter is also in the environment as `HYPERPLUG_PARAM_<NAME>` (upper-cased, anything but
//! letters and digits as `_`; two names that give one variable, like `a-b` and `a_b`, fail the
//! trial), and all of them as a JSON file whose path is in `HYPERPLUG_PARAMS`: created for that
//! trial alone in a private temporary directory, and removed when it ends.
//! `HYPERPLUG_TRIAL`, `HYPERPLUG_STUDY`, `HYPERPLUG_LOG` and `HYPERPLUG_DEVICES` (the assigned
//! GPU ids, comma-separated; also as `CUDA_VISIBLE_DEVICES` when there are any) complete it.
//! When the study's pruner starts trials with a resource (Hyperband's `max_resource`), the
//! placeholder `{resource}` and `HYPERPLUG_RESOURCE` hold it: the most steps the program should
//! run, reporting a step line for each. `PYTHONUNBUFFERED=1` keeps Python's output live unless the environment says otherwise.
//!
//! **Shell.** With `shell = true`, `cmd` runs as `sh -c SCRIPT hyperplug VALUE…`: each
//! placeholder becomes a positional parameter (`"${1}"`, or `${1}` between double quotes) and its
//! value an argument of `sh`, so no value is ever read as shell code, whatever quotes, `$(…)` or
//! backquotes it holds (so the script should not use `$1`… for anything else). A placeholder
//! where the shell would not expand that as one word (between single quotes, in backquotes,
//! `$((…))` or `${…}`, after `\` or `$`) is refused with the settings.
//!
//! **Results out.** The result is the last stdout line that is a JSON object holding every
//! metric (`{"accuracy": 0.93, "train_time": 12.1}`; its other scalar keys become trial
//! attributes), or a bare number on the last line when there is one value. Lines such as
//! `{"step": 3, "accuracy": 0.81}` are intermediate values, reported while the program runs so the
//! pruner decides as it goes. Python's `NaN` and `Infinity` are understood. Output is read as
//! fast as the program prints it, however slowly the study stores intermediate values: when the
//! study falls more than 100 values behind, the oldest waiting ones are dropped (the log says how
//! many), and the last line is always read.
//!
//! **Ending.** A pruned (or interrupted) trial's process group gets SIGTERM, then SIGKILL after
//! `grace`; so does one that runs past `timeout`, or anything the program leaves running when it
//! exits. Should the hyperplug process itself be killed, the group is killed too (on Linux the
//! program by its parent-death signal, and everywhere the group by a watchdog `sh` waiting on a
//! pipe). A non-zero exit, a timeout, or no result fails the trial with the tail of stderr in its
//! message. Stdout and stderr go, interleaved and tagged, to `trial-<number>.log` in `log_dir`
//! (a new file: when that name is taken, by a study of the same name in another store, say,
//! `trial-<number>-2.log` and so on; never through a symbolic link), at most `log_limit` of it,
//! and the trial's `log` attribute holds its path, beside `exit_code` and `duration_s`.
//!
//! Settings (unknown keys are refused by name):
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `cmd` | the program and its arguments, with placeholders | required |
//! | `shell` | run `cmd` (an array joined by spaces, or a string) with `sh -c`, values as positional parameters | `false` |
//! | `metric` / `metrics` | the value(s) printed: `"accuracy"` or `{ name = "accuracy", direction = "maximize" }`; without directions the study's decide | one unnamed value: a bare number or a one-key object |
//! | `intermediate` | the key read from step lines | the first metric |
//! | `timeout` | per trial, like `"10m"`; at most a year | none |
//! | `grace` | from SIGTERM to SIGKILL; at most a day | `"5s"` |
//! | `cwd` | where the program runs | where hyperplug runs |
//! | `env` | extra variables; values may hold placeholders | none |
//! | `log_dir` | where trial logs go | `hyperplug-logs/<study>` |
//! | `log_limit` | the most a trial's log keeps (its first and last half, with a line saying what was cut), like `"10MiB"`; at least 4 KiB | `"10MiB"` |
//!
//! Architecture invariant: this crate depends on `hyperplug-core` and on the operating system
//! (processes, files, signals) only — never on the host, the ABI or a strategy. Everything a trial
//! needs from the study comes through its [`TrialContext`].
// One `unsafe` block, in `process::group`, sets the parent-death signal between fork and exec.
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod output;
mod process;
mod settings;
mod template;

use hyperplug_core::{
    Capabilities, Error, Metric, Objective, ObjectiveFactory, Params, PluginInfo, Settings, Space,
    TrialContext, TrialOutcome,
};

use crate::settings::{Config, NAME};

/// The `command` objective factory: runs any program per trial. See the [crate] documentation
/// for its settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Command;

impl ObjectiveFactory for Command {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "any program as an objective: parameters in its arguments and environment, JSON results and intermediate values from its output",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        Ok(Box::new(CommandObjective {
            config: Config::from_settings(settings)?,
        }))
    }
}

/// One configured command; each trial runs it once.
struct CommandObjective {
    config: Config,
}

impl Objective for CommandObjective {
    // `space` stays `None`: the study declares the parameters the program takes.

    fn metrics(&self) -> Vec<Metric> {
        self.config.study_metrics()
    }

    fn check_space(&self, space: &Space) -> Result<(), Error> {
        process::check_variable_names(space.params().iter().map(|p| p.name.as_str()))
            .map_err(Error::Other)?;
        // A placeholder naming no parameter would fail every trial; say so before the first.
        let cmd = self.config.cmd.iter().enumerate();
        let cmd = cmd.map(|(i, t)| (format!("cmd[{i}]"), t));
        let env = self.config.env.iter().map(|(k, t)| (format!("env.{k}"), t));
        for (key, template) in cmd.chain(env) {
            let unknown = |n: &&str| space.get(n).is_none() && *n != process::RESOURCE;
            if let Some(name) = template.names().find(unknown) {
                let known: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Other(format!(
                    "`{key}` refers to `{{{name}}}`, which is not a parameter of the [space] (parameters: {}); write `{{{{` and `}}}}` for literal braces",
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        process::run(&self.config, params, ctx)
    }
}
