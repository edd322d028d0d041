//! The objective's settings: read from the `[objective]` table, checked once when the objective
//! is created, so that a mistake is refused before the first trial and names its key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyperplug_core::{Direction, Error, Metric, Params, Settings};
use indexmap::IndexMap;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

use crate::output::STEP_KEY;
use crate::template::{Template, parse_script};

/// The name of the objective, as study files write it.
pub(crate) const NAME: &str = "command";

/// The default time between SIGTERM and SIGKILL.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(5);
/// The longest `timeout` taken: a year (365.25 days). Longer ones are typos
/// (`"500000000000y"`) that would overflow the clock; leaving `timeout` out means no limit.
pub(crate) const MAX_TIMEOUT: Duration = Duration::from_secs(31_557_600);
/// The longest `grace` taken: a day.
pub(crate) const MAX_GRACE: Duration = Duration::from_secs(24 * 3600);
/// The default cap on one trial's log: its first and last 5 MiB are kept.
pub(crate) const DEFAULT_LOG_LIMIT: u64 = 10 << 20;
/// The smallest `log_limit` taken, so that the kept head and tail hold a few lines each.
pub(crate) const MIN_LOG_LIMIT: u64 = 4 << 10;

/// The keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(deserialize_with = "de_cmd")]
    cmd: RawCmd,
    #[serde(default)]
    shell: bool,
    #[serde(default, deserialize_with = "de_metric")]
    metric: Option<MetricSpec>,
    #[serde(default, deserialize_with = "de_metrics")]
    metrics: Option<Vec<MetricSpec>>,
    #[serde(default)]
    intermediate: Option<String>,
    #[serde(default, deserialize_with = "de_duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "de_duration")]
    grace: Option<Duration>,
    #[serde(default)]
    cwd: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_env")]
    env: IndexMap<String, String>,
    #[serde(default)]
    log_dir: Option<PathBuf>,
    #[serde(default, deserialize_with = "de_size")]
    log_limit: Option<u64>,
}

#[derive(Debug)]
enum RawCmd {
    Args(Vec<String>),
    Script(String),
}

/// One metric the program prints: its name and, when given, which way is better.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MetricSpec {
    pub name: String,
    pub direction: Option<Direction>,
}

/// The checked settings.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// The program and its arguments (with `shell`, pieces of one script).
    pub cmd: Vec<Template>,
    /// Whether `cmd` runs through `sh -c`.
    pub shell: bool,
    /// The values the program prints, in the order the study receives them; empty means one
    /// unnamed value.
    pub metrics: Vec<MetricSpec>,
    /// The key read from step lines; `None` means the step line's only other key.
    pub intermediate: Option<String>,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    /// Absolute, and known to exist when the objective was created.
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, Template)>,
    /// Absolute; `None` means `hyperplug-logs/<study>` under the directory hyperplug runs in.
    pub log_dir: Option<PathBuf>,
    /// The most bytes a trial's log keeps: the first and last half of that.
    pub log_limit: u64,
}

impl Config {
    /// The metrics as the study sees them: with their directions when every one has one, none
    /// otherwise (the study file's `direction`/`directions` then decide).
    pub(crate) fn study_metrics(&self) -> Vec<Metric> {
        self.metrics
            .iter()
            .map(|m| {
                m.direction.map(|direction| Metric {
                    name: m.name.clone(),
                    direction,
                })
            })
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    }

    /// Reads and checks `settings`.
    pub(crate) fn from_settings(settings: &Settings) -> Result<Self, Error> {
        let raw: Raw = settings.parse(NAME)?;
        let fail = |message: String| Error::settings(NAME, message);

        let args = match (raw.cmd, raw.shell) {
            (RawCmd::Args(a), _) => a,
            (RawCmd::Script(s), true) => vec![s],
            (RawCmd::Script(s), false) => {
                return Err(fail(format!(
                    "`cmd` is the string `{s}`; write the program and its arguments as an array (`cmd = [\"python3\", \"train.py\", \"--lr\", \"{{lr}}\"]`), or set `shell = true` to run the string with `sh -c`"
                )));
            }
        };
        if args.is_empty() || args[0].trim().is_empty() {
            return Err(fail(
                "`cmd` is empty; give the program to run and its arguments, e.g. `cmd = [\"python3\", \"train.py\", \"--lr\", \"{lr}\"]`".into(),
            ));
        }
        let cmd = if raw.shell {
            parse_script(&args).map_err(fail)?
        } else {
            args.iter()
                .enumerate()
                .map(|(i, a)| Template::parse(a).map_err(|e| fail(format!("`cmd[{i}]`: {e}"))))
                .collect::<Result<Vec<_>, _>>()?
        };

        let metric_key = if raw.metric.is_some() {
            "metric"
        } else {
            "metrics"
        };
        let metrics = match (raw.metric, raw.metrics) {
            (Some(_), Some(_)) => {
                return Err(fail(
                    "`metric` and `metrics` are both set; use `metric` for one value or `metrics` for several".into(),
                ));
            }
            (Some(m), None) => vec![m],
            (None, Some(ms)) => ms,
            (None, None) => Vec::new(),
        };
        check_metrics(&metrics).map_err(|e| fail(format!("`{metric_key}`: {e}")))?;

        let intermediate = match raw.intermediate {
            Some(name) if name == STEP_KEY => {
                return Err(fail(
                    "`intermediate` cannot be `step`: that key holds the step number".into(),
                ));
            }
            Some(name) if !metrics.is_empty() && !metrics.iter().any(|m| m.name == name) => {
                return Err(fail(format!(
                    "`intermediate` is `{name}`, which is not one of the metrics ({}); name one of them",
                    metric_names(&metrics)
                )));
            }
            Some(name) if name.is_empty() => {
                return Err(fail(
                    "`intermediate` is empty; name the key step lines hold".into(),
                ));
            }
            Some(name) => Some(name),
            None => metrics.first().map(|m| m.name.clone()),
        };

        if raw.timeout == Some(Duration::ZERO) {
            return Err(fail(
                "`timeout` is zero; give a positive duration such as \"10m\", or leave it out for no limit".into(),
            ));
        }
        for (key, value, max, hint) in [
            (
                "timeout",
                raw.timeout,
                MAX_TIMEOUT,
                "leave it out for no limit",
            ),
            (
                "grace",
                raw.grace,
                MAX_GRACE,
                "a few seconds let most programs save and exit",
            ),
        ] {
            if let Some(d) = value.filter(|d| *d > max) {
                return Err(fail(format!(
                    "`{key}` is {}, longer than the {} it may be; {hint}",
                    humantime::format_duration(d),
                    humantime::format_duration(max)
                )));
            }
        }
        let log_limit = raw.log_limit.unwrap_or(DEFAULT_LOG_LIMIT);
        if log_limit < MIN_LOG_LIMIT {
            return Err(fail(format!(
                "`log_limit` is {log_limit} bytes, below the {} it must be at least; write a size such as \"10MiB\"",
                bytesize::ByteSize(MIN_LOG_LIMIT).display().iec()
            )));
        }

        let here = std::env::current_dir().map_err(|e| {
            fail(format!(
                "cannot read the current directory to resolve paths: {e}"
            ))
        })?;
        let cwd = match raw.cwd {
            Some(dir) => {
                let abs = here.join(&dir);
                if !abs.is_dir() {
                    return Err(fail(format!(
                        "`cwd`: `{}` is not a directory (relative paths start from where hyperplug runs: {})",
                        dir.display(),
                        here.display()
                    )));
                }
                Some(abs)
            }
            None => None,
        };
        let log_dir = raw.log_dir.map(|d| here.join(d));

        let mut env = Vec::with_capacity(raw.env.len());
        for (key, value) in raw.env {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(fail(format!(
                    "`env`: `{key}` cannot be an environment variable name (empty, or holds `=` or NUL)"
                )));
            }
            let t = Template::parse(&value).map_err(|e| fail(format!("`env.{key}`: {e}")))?;
            env.push((key, t));
        }

        // A program named by a placeholder can only be checked per trial, when it starts.
        if let (false, Ok(Some(program))) = (raw.shell, cmd[0].render(&Params::new())) {
            let path = env
                .iter()
                .find(|(k, _)| k == "PATH")
                .map(|(_, t)| t.source().to_owned())
                .or_else(|| std::env::var("PATH").ok());
            check_program(&program, cwd.as_deref().unwrap_or(&here), path.as_deref())
                .map_err(|e| fail(format!("`cmd[0]`: {e}")))?;
        }

        Ok(Config {
            cmd,
            shell: raw.shell,
            metrics,
            intermediate,
            timeout: raw.timeout,
            grace: raw.grace.unwrap_or(DEFAULT_GRACE),
            cwd,
            env,
            log_dir,
            log_limit,
        })
    }
}

fn metric_names(metrics: &[MetricSpec]) -> String {
    metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_metrics(metrics: &[MetricSpec]) -> Result<(), String> {
    for (i, m) in metrics.iter().enumerate() {
        if m.name.is_empty() {
            return Err("a metric has an empty name".into());
        }
        if m.name == STEP_KEY {
            return Err(
                "a metric cannot be named `step`: that key marks intermediate lines".into(),
            );
        }
        if metrics[..i].iter().any(|o| o.name == m.name) {
            return Err(format!("metric `{}` is named twice", m.name));
        }
    }
    let with = metrics.iter().filter(|m| m.direction.is_some()).count();
    if with != 0 && with != metrics.len() {
        return Err(format!(
            "give every metric a direction or none (then the study's `directions` decide); {} of {} have one",
            with,
            metrics.len()
        ));
    }
    Ok(())
}

/// Refuses a program that cannot be found, so that a typo does not fail every trial.
fn check_program(program: &str, cwd: &Path, path: Option<&str>) -> Result<(), String> {
    if program.contains('/') {
        // A relative program path is resolved from the directory the program runs in.
        let p = cwd.join(program);
        return if p.is_file() {
            Ok(())
        } else {
            Err(format!(
                "`{program}` does not exist (looked for {})",
                p.display()
            ))
        };
    }
    let found = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .any(|dir| cwd.join(dir).join(program).is_file());
    if found {
        Ok(())
    } else {
        Err(format!(
            "program `{program}` is not found on PATH; give its full path or install it"
        ))
    }
}

// Each key that takes more than one shape has its own reader, so that a wrong value is reported
// with an example of a right one.

fn de_cmd<'de, D: Deserializer<'de>>(d: D) -> Result<RawCmd, D::Error> {
    match Json::deserialize(d)? {
        Json::String(s) => Ok(RawCmd::Script(s)),
        Json::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Json::String(s) => Ok(s),
                other => Err(D::Error::custom(format!(
                    "element {i} is {other}, not a string; quote it (`\"{}\"`)",
                    other.to_string().trim_matches('"')
                ))),
            })
            .collect::<Result<_, _>>()
            .map(RawCmd::Args),
        other => Err(D::Error::custom(format!(
            "expected an array of strings such as [\"python3\", \"train.py\", \"--lr\", \"{{lr}}\"], got {other}"
        ))),
    }
}

fn metric_spec<E: serde::de::Error>(v: Json) -> Result<MetricSpec, E> {
    match v {
        Json::String(name) => Ok(MetricSpec {
            name,
            direction: None,
        }),
        Json::Object(map) => {
            let mut name = None;
            let mut direction = None;
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("name", Json::String(s)) => name = Some(s),
                    ("direction", Json::String(s)) => {
                        direction = Some(s.parse::<Direction>().map_err(E::custom)?);
                    }
                    ("name" | "direction", other) => {
                        return Err(E::custom(format!("`{k}` must be a string, got {other}")));
                    }
                    (other, _) => {
                        return Err(E::custom(format!(
                            "unknown key `{other}` in a metric; a metric has `name` and `direction`"
                        )));
                    }
                }
            }
            let name = name.ok_or_else(|| {
                E::custom("a metric needs a `name`, e.g. { name = \"accuracy\", direction = \"maximize\" }")
            })?;
            Ok(MetricSpec { name, direction })
        }
        other => Err(E::custom(format!(
            "expected a metric name (\"accuracy\") or {{ name = \"accuracy\", direction = \"maximize\" }}, got {other}"
        ))),
    }
}

fn de_metric<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MetricSpec>, D::Error> {
    metric_spec(Json::deserialize(d)?).map(Some)
}

fn de_metrics<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<MetricSpec>>, D::Error> {
    match Json::deserialize(d)? {
        Json::Array(items) if items.is_empty() => Err(D::Error::custom(
            "the list is empty; name at least one metric, or leave `metrics` out for one unnamed value",
        )),
        Json::Array(items) => items
            .into_iter()
            .map(metric_spec)
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(D::Error::custom(format!(
            "expected a list such as [\"accuracy\", \"train_time\"] or [{{ name = \"accuracy\", direction = \"maximize\" }}, …], got {other}"
        ))),
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Json::deserialize(d)? {
        Json::String(s) => humantime::parse_duration(&s).map(Some).map_err(|e| {
            D::Error::custom(format!(
                "`{s}` is not a duration ({e}); write it like \"90s\", \"10m\" or \"1h 30m\""
            ))
        }),
        other => Err(D::Error::custom(format!(
            "expected a duration such as \"90s\" or \"10m\", got {other}"
        ))),
    }
}

fn de_env<'de, D: Deserializer<'de>>(d: D) -> Result<IndexMap<String, String>, D::Error> {
    match Json::deserialize(d)? {
        Json::Object(map) => map
            .into_iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((k, s)),
                Json::Number(n) => Ok((k, n.to_string())),
                Json::Bool(b) => Ok((k, b.to_string())),
                other => Err(D::Error::custom(format!(
                    "`{k}` is {other}; an environment variable takes a string, number or boolean"
                ))),
            })
            .collect(),
        other => Err(D::Error::custom(format!(
            "expected a table of variables such as {{ OMP_NUM_THREADS = \"1\" }}, got {other}"
        ))),
    }
}

fn de_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let wrong = |what: &str| {
        D::Error::custom(format!(
            "{what} is not a size; write it like \"10MiB\", \"500kB\" or a number of bytes"
        ))
    };
    match Json::deserialize(d)? {
        Json::Number(n) => n.as_u64().map(Some).ok_or_else(|| wrong(&format!("`{n}`"))),
        Json::String(s) => s
            .trim()
            .parse::<bytesize::ByteSize>()
            .map(|b| Some(b.as_u64()))
            .map_err(|_| wrong(&format!("`{s}`"))),
        other => Err(wrong(&other.to_string())),
    }
}
