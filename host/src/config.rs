//! Study files: TOML in, a validated [`StudyFile`] out, with errors that point at the line.
//!
//! ```toml
//! [study]
//! name = "quickstart"
//! direction = "minimize"        # or directions = ["maximize", "minimize"]
//! trials = 50                   # and/or timeout = "10m"
//! seed = 7
//! parallelism = 4               # trials at once, within the machine's cores and GPUs
//! storage = "sqlite://hyperplug.db"  # the default; or "postgres://user@host/db", or "memory"
//! retries = 1                   # queue a trial again when its worker is lost (default 0)
//! heartbeat_grace = "60s"       # how long a running trial may go without a heartbeat
//!
//! [strategy]
//! name = "random"               # its settings follow as keys
//!
//! [objective]
//! name = "rosenbrock"           # its settings follow as keys
//! dim = 10
//!
//! [resources]                   # what one trial needs (optional)
//! cpus = 1
//! gpus = 0                      # when left out: what the objective declares (mlp-gpu: 1)
//!
//! [space]                       # left out when the objective defines its own
//! lr = { float = [1e-5, 1e-1], log = true }
//! layers = { int = [1, 4] }
//! activation = { choice = ["relu", "tanh", "gelu"] }
//! units_2 = { int = [16, 512], log = true, when = { layers = [2, 3, 4] } }
//! # [space.block] repeat = [1, 6] ... and [space.cell] nodes = 4 ...: see config/arch.rs
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Value};
use hyperplug_storage::Location;
use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

mod arch;

/// A study file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyFile {
    /// The study's name (the file's stem when not given).
    pub name: String,
    /// Directions as written; `None` takes the objective's own.
    pub directions: Option<Vec<Direction>>,
    /// When to stop.
    pub budget: Budget,
    /// The seed; `None` draws one (and reports it).
    pub seed: Option<u64>,
    /// The strategy and its settings.
    pub strategy: Component,
    /// The objective and its settings.
    pub objective: Component,
    /// The space, when the file declares one.
    pub space: Option<Space>,
    /// How many trials may run at once (before the machine's limits).
    pub parallelism: usize,
    /// What one trial needs, and which devices the study may use.
    pub resources: Resources,
    /// The storage URL; `None` takes the default, [`hyperplug_storage::DEFAULT_URL`].
    pub storage: Option<String>,
    /// How often a trial whose worker is lost is queued again.
    pub retries: u32,
    /// How long a running trial may go without a heartbeat before it counts as lost.
    pub heartbeat_grace: Duration,
    /// Where the file was read from, as given.
    pub path: PathBuf,
    /// The file's text, stored with the study so that workers can rebuild it.
    pub text: String,
}

/// The grace period when the study file gives none.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// What one trial needs of the machine, and what the study may use of it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// CPU cores one trial keeps busy.
    pub cpus: usize,
    /// GPUs one trial needs, when the file says; `None` takes what the objective declares
    /// ([`hyperplug_core::Objective::resources`]).
    pub gpus: Option<usize>,
    /// The GPU ids the study may use; `None` detects them.
    pub devices: Option<Vec<u32>>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpus: 1,
            gpus: None,
            devices: None,
        }
    }
}

/// A named strategy or objective with its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    /// The name to look up in the registry.
    pub name: String,
    /// Every other key of its table.
    pub settings: Settings,
}

/// A study file that cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)
            }
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    study: Option<StudyToml>,
    strategy: Option<Spanned<toml::Table>>,
    objective: Option<Spanned<toml::Table>>,
    space: Option<IndexMap<String, Spanned<toml::Value>>>,
    resources: Option<Spanned<Resources>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct StudyToml {
    name: Option<String>,
    direction: Option<Spanned<String>>,
    directions: Option<Spanned<Vec<String>>>,
    trials: Option<u64>,
    timeout: Option<Spanned<String>>,
    seed: Option<u64>,
    parallelism: Option<Spanned<usize>>,
    storage: Option<Spanned<String>>,
    retries: Option<u32>,
    heartbeat_grace: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamToml {
    float: Option<[f64; 2]>,
    int: Option<[i64; 2]>,
    choice: Option<Vec<Value>>,
    log: Option<bool>,
    step: Option<f64>,
    when: Option<IndexMap<String, OneOrMany>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<Value>),
    One(Value),
}

impl StudyFile {
    /// Reads and checks the study file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            at: None,
            message: format!("cannot read the study file: {e}"),
        })?;
        Self::parse(path, &text)
    }

    /// Checks study-file text; `path` is used in messages and for the default name.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let fail = |span: Option<std::ops::Range<usize>>, message: String| ConfigError {
            path: path.to_path_buf(),
            at: span.map(|s| line_col(text, s.start)),
            message,
        };
        let file: FileToml = toml::from_str(text).map_err(|e| {
            fail(
                e.span(),
                format!("malformed study file: {}", e.message().trim()),
            )
        })?;
        let study = file.study.unwrap_or_default();

        let directions = match (study.direction, study.directions) {
            (Some(_), Some(d)) => {
                return Err(fail(
                    Some(d.span()),
                    "give either `direction` or `directions`, not both".into(),
                ));
            }
            (Some(d), None) => Some(vec![direction(&d).map_err(|m| fail(Some(d.span()), m))?]),
            (None, Some(ds)) => {
                let span = ds.span();
                let list = ds
                    .into_inner()
                    .iter()
                    .map(|d| d.parse::<Direction>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|m| fail(Some(span.clone()), m))?;
                if list.is_empty() {
                    return Err(fail(
                        Some(span),
                        "`directions` is empty; name one direction per objective".into(),
                    ));
                }
                Some(list)
            }
            (None, None) => None,
        };

        let timeout = match &study.timeout {
            Some(t) => Some(humantime::parse_duration(t.get_ref()).map_err(|e| {
                fail(
                    Some(t.span()),
                    format!("`timeout = \"{}\"` is not a duration ({e}); write e.g. \"90s\", \"10m\" or \"1h 30m\"", t.get_ref()),
                )
            })?),
            None => None,
        };
        if study.trials.is_none() && timeout.is_none() {
            return Err(fail(
                None,
                "[study] sets no budget; add `trials = N`, `timeout = \"10m\"`, or both".into(),
            ));
        }
        if study.trials == Some(0) {
            return Err(fail(
                None,
                "[study] `trials = 0` runs nothing; give at least 1".into(),
            ));
        }
        if timeout == Some(Duration::ZERO) {
            return Err(fail(
                None,
                "[study] the timeout is zero; give a positive duration".into(),
            ));
        }

        let strategy = match file.strategy {
            Some(table) => component(table, "strategy").map_err(|(s, m)| fail(s, m))?,
            None => Component {
                name: "random".into(),
                settings: Settings::default(),
            },
        };
        let objective = match file.objective {
            Some(table) => component(table, "objective").map_err(|(s, m)| fail(s, m))?,
            None => {
                return Err(fail(
                    None,
                    "the file has no [objective] table; add one with `name = \"...\"`".into(),
                ));
            }
        };

        let space = match file.space {
            None => None,
            Some(entries) => {
                let mut params = Vec::with_capacity(entries.len());
                for (name, spec) in entries {
                    let span = spec.span();
                    // Layer blocks and cells expand into several parameters (config/arch.rs).
                    let expanded = arch::expand(&name, spec.into_inner())
                        .map_err(|m| fail(Some(span.clone()), format!("space.{name}: {m}")))?;
                    params.extend(expanded.into_iter().map(|p| (p, span.clone())));
                }
                let spans: Vec<_> = params
                    .iter()
                    .map(|(p, s)| (p.name.clone(), s.clone()))
                    .collect();
                let space =
                    Space::new(params.into_iter().map(|(p, _)| p).collect()).map_err(|e| {
                        // Point at the parameter the error names, when it names one.
                        let text = e.to_string();
                        let span = spans
                            .iter()
                            .find(|(n, _)| text.contains(&format!("`{n}`")))
                            .map(|(_, s)| s.clone());
                        fail(span, format!("invalid search space: {text}"))
                    })?;
                Some(space)
            }
        };

        let parallelism = match study.parallelism {
            Some(p) if *p.get_ref() == 0 => {
                return Err(fail(
                    Some(p.span()),
                    "`parallelism` must be at least 1".into(),
                ));
            }
            Some(p) => p.into_inner(),
            None => 1,
        };
        let resources = match file.resources {
            Some(r) if r.get_ref().cpus == 0 => {
                return Err(fail(
                    Some(r.span()),
                    "[resources] `cpus` must be at least 1".into(),
                ));
            }
            Some(r) => r.into_inner(),
            None => Resources::default(),
        };

        let storage = match study.storage {
            Some(url) => {
                Location::parse(url.get_ref())
                    .map_err(|e| fail(Some(url.span()), e.to_string()))?;
                Some(url.into_inner())
            }
            None => None,
        };
        let heartbeat_grace = match &study.heartbeat_grace {
            Some(g) => match humantime::parse_duration(g.get_ref()) {
                Ok(d) if d >= Duration::from_millis(200) => d,
                Ok(_) => {
                    return Err(fail(
                        Some(g.span()),
                        "`heartbeat_grace` must be at least 200ms; a few beats must fit in it"
                            .into(),
                    ));
                }
                Err(e) => {
                    return Err(fail(
                        Some(g.span()),
                        format!(
                            "`heartbeat_grace = \"{}\"` is not a duration ({e}); write e.g. \"60s\" or \"5m\"",
                            g.get_ref()
                        ),
                    ));
                }
            },
            None => DEFAULT_GRACE,
        };

        let name = study.name.unwrap_or_else(|| {
            path.file_stem()
                .map_or_else(|| "study".into(), |s| s.to_string_lossy().into_owned())
        });
        Ok(StudyFile {
            name,
            directions,
            budget: Budget {
                trials: study.trials,
                timeout,
            },
            seed: study.seed,
            strategy,
            objective,
            space,
            parallelism,
            resources,
            storage,
            retries: study.retries.unwrap_or(0),
            heartbeat_grace,
            path: path.to_path_buf(),
            text: text.to_owned(),
        })
    }
}

fn direction(d: &Spanned<String>) -> Result<Direction, String> {
    d.get_ref().parse()
}

type Located = (Option<std::ops::Range<usize>>, String);

fn component(table: Spanned<toml::Table>, kind: &str) -> Result<Component, Located> {
    let span = table.span();
    let mut table = table.into_inner();
    let name = match table.remove("name") {
        Some(toml::Value::String(s)) => s,
        Some(_) => return Err((Some(span), format!("[{kind}] `name` must be a string"))),
        None => return Err((Some(span), format!("[{kind}] needs `name = \"...\"`"))),
    };
    let settings = match serde_json::to_value(&table) {
        Ok(serde_json::Value::Object(map)) => Settings::new(map),
        _ => {
            return Err((
                Some(span),
                format!("[{kind}] settings cannot be read as plain values"),
            ));
        }
    };
    Ok(Component { name, settings })
}

fn param(name: &str, p: ParamToml) -> Result<Param, String> {
    let kinds = [p.float.is_some(), p.int.is_some(), p.choice.is_some()];
    let domain = match kinds {
        [true, false, false] => {
            let [low, high] = p.float.unwrap_or_default();
            let mut d = Domain::float(low, high);
            if let Some(step) = p.step {
                d = d.step(step);
            }
            d
        }
        [false, true, false] => {
            let [low, high] = p.int.unwrap_or_default();
            let mut d = Domain::int(low, high);
            if let Some(step) = p.step {
                if step.fract() != 0.0 {
                    return Err(format!("an int parameter needs a whole step, got {step}"));
                }
                d = d.step(step);
            }
            d
        }
        [false, false, true] => {
            if p.log.is_some() || p.step.is_some() {
                return Err("`log` and `step` apply to numbers, not to a `choice`".into());
            }
            Domain::choice(p.choice.unwrap_or_default())
        }
        [false, false, false] => {
            return Err(
                "say what values it takes: `float = [low, high]`, `int = [low, high]` or `choice = [...]`"
                    .into(),
            );
        }
        _ => return Err("give only one of `float`, `int` and `choice`".into()),
    };
    let domain = if p.log == Some(true) {
        domain.log()
    } else {
        domain
    };
    let mut param = Param::new(name, domain);
    if let Some(when) = p.when {
        let mut conds = when.into_iter();
        let (Some((parent, values)), None) = (conds.next(), conds.next()) else {
            return Err(
                "`when` must name exactly one parent, e.g. `when = { layers = [2, 3] }`".into(),
            );
        };
        let values = match values {
            OneOrMany::Many(v) => v,
            OneOrMany::One(v) => vec![v],
        };
        param = param.when(parent, values);
    }
    Ok(param)
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StudyFile, ConfigError> {
        StudyFile::parse(Path::new("s.toml"), text)
    }

    #[test]
    fn reads_the_documented_example() {
        let f = parse(
            r#"
[study]
name = "quickstart"
direction = "minimize"
trials = 50
timeout = "10m"
seed = 7

[strategy]
name = "random"

[objective]
name = "rosenbrock"
dim = 10

[space]
lr = { float = [1e-5, 1e-1], log = true }
layers = { int = [1, 4] }
activation = { choice = ["relu", "tanh", "gelu"] }
units_2 = { int = [16, 512], log = true, when = { layers = [2, 3, 4] } }
"#,
        )
        .unwrap();
        assert_eq!(f.name, "quickstart");
        assert_eq!(f.directions, Some(vec![Direction::Minimize]));
        assert_eq!(f.budget.trials, Some(50));
        assert_eq!(f.budget.timeout, Some(Duration::from_secs(600)));
        assert_eq!(
            f.objective.settings.get("dim"),
            Some(&serde_json::json!(10))
        );
        let space = f.space.unwrap();
        assert_eq!(space.len(), 4);
        assert_eq!(
            space
                .get("units_2")
                .unwrap()
                .condition
                .as_ref()
                .unwrap()
                .values,
            vec![Value::Int(2), Value::Int(3), Value::Int(4)]
        );
    }

    #[test]
    fn errors_point_at_the_line() {
        let e = parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\n[space]\nlr = { float = [0.1, 0.01] }\n")
            .unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(6), "{e}");
        assert!(e.message.contains("inverted"), "{e}");

        let e = parse("[study]\ntrials = 5\n[objective\nname = \"x\"\n").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");

        let e = parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\n[space]\nu = { int = [1, 3], when = { depth = [1] } }\n")
            .unwrap_err();
        assert!(e.message.contains("`depth`"), "{e}");
        assert_eq!(e.at.map(|a| a.0), Some(6));

        let e = parse("[study]\ndirection = \"minimise\"\ntrials = 5\n[objective]\nname = \"x\"\n")
            .unwrap_err();
        assert!(e.message.contains("minimize"), "{e}");

        let e = parse("[objective]\nname = \"x\"\n").unwrap_err();
        assert!(e.message.contains("budget"), "{e}");

        let e = parse("[study]\ntrials = 5\ntimeout = \"soon\"\n[objective]\nname = \"x\"\n")
            .unwrap_err();
        assert!(e.message.contains("not a duration"), "{e}");

        let e = parse("[study]\ntrials = 5\nstorage = \"studies.db\"\n[objective]\nname = \"x\"\n")
            .unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
        assert!(e.message.contains("sqlite://studies.db"), "{e}");

        let e = parse("[study]\ntrials = 5\nheartbeat_grace = \"0s\"\n[objective]\nname = \"x\"\n")
            .unwrap_err();
        assert!(e.message.contains("at least 200ms"), "{e}");
    }

    #[test]
    fn gpus_left_out_is_told_apart_from_gpus_zero() {
        let base = "[study]\ntrials = 5\n[objective]\nname = \"x\"\n";
        assert_eq!(parse(base).unwrap().resources, Resources::default());
        assert_eq!(parse(base).unwrap().resources.gpus, None);
        let f = parse(&format!("{base}[resources]\ncpus = 2\n")).unwrap();
        assert_eq!((f.resources.cpus, f.resources.gpus), (2, None));
        let f = parse(&format!("{base}[resources]\ngpus = 0\n")).unwrap();
        assert_eq!((f.resources.cpus, f.resources.gpus), (1, Some(0)));
    }

    #[test]
    fn storage_keys_are_read_with_defaults() {
        let text = "[study]\ntrials = 5\n[objective]\nname = \"x\"\n";
        let f = parse(text).unwrap();
        assert_eq!(
            (f.storage, f.retries, f.heartbeat_grace),
            (None, 0, DEFAULT_GRACE)
        );
        assert_eq!((f.path, f.text), (PathBuf::from("s.toml"), text.to_owned()));
        let f = parse(
            "[study]\ntrials = 5\nstorage = \"postgres://me@db/test\"\nretries = 2\nheartbeat_grace = \"90s\"\n[objective]\nname = \"x\"\n",
        )
        .unwrap();
        assert_eq!(f.storage.as_deref(), Some("postgres://me@db/test"));
        assert_eq!((f.retries, f.heartbeat_grace), (2, Duration::from_secs(90)));
    }
}
