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
//! max_consecutive_failures = 20 # stop after this many failed trials in a row (0: never)
//!
//! [strategy]
//! name = "random"               # its settings follow as keys
//! # library = "libacme.so"      # pin the plugin library it comes from (path, file or crate name)
//!
//! [objective]
//! name = "rosenbrock"           # its settings follow as keys
//! dim = 10
//!
//! [pruner]                      # optional: stops trials early from their intermediate values
//! name = "median"               # its settings follow as keys; `library` pins it as above
//! n_startup_trials = 5
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
    /// The pruner and its settings, when the file names one.
    pub pruner: Option<Component>,
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
    /// Stop starting trials after this many failed in a row (0: never stop for failures).
    pub max_consecutive_failures: u32,
    /// Where the file was read from, as given.
    pub path: PathBuf,
    /// The file's text, stored with the study so that workers can rebuild it.
    pub text: String,
    /// Where in `text` the `storage` URL is written (quotes included), and the URL, to leave
    /// its password out of the stored copy (whatever store the study ends up in).
    storage_written: Option<(std::ops::Range<usize>, String)>,
}

/// The grace period when the study file gives none.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// Failed trials in a row after which a study stops, when the file does not say. A study whose
/// trials fail at random, one in two, goes 20 in a row with probability 2^-20 at each trial:
/// once in about a million trials; a study whose every trial fails (a crashing program, a
/// strategy that cannot ask) stops after 20 rather than spending its budget.
pub const DEFAULT_MAX_CONSECUTIVE_FAILURES: u32 = 20;

/// The longest study name, in bytes: it becomes part of file names (at most 255 bytes on common
/// file systems) and environment variables.
pub const MAX_NAME_BYTES: usize = 200;

/// Whether `name` can name a study: 1 to [`MAX_NAME_BYTES`] bytes, no control characters (a
/// name is printed in listings and log lines, where an escape sequence would drive the
/// terminal of whoever reads them), and neither `.` nor `..` (a browser reads them in the
/// dashboard's `/studies/NAME` as the current or parent folder, so the study's page could not
/// be opened). The error says what to change.
pub fn check_study_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the study's `name` is {} bytes long; give it 1 to {MAX_NAME_BYTES}",
            name.len()
        ));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the study's `name` {:?} holds the control character {:?}; use printable characters only",
            name, c
        ));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "the study's `name` cannot be `{name}` (a browser reads it as a folder in the dashboard's addresses); give it a name with another character"
        ));
    }
    Ok(())
}

/// A space given as data in the study file's `[space]` shape, one entry per parameter (or layer
/// block or cell), as TOML or converted from JSON: for front ends that take a space without a
/// study file (the HTTP server). Errors name the entry, `space.NAME: ...`.
pub fn space_of(entries: impl IntoIterator<Item = (String, toml::Value)>) -> Result<Space, String> {
    let mut params = Vec::new();
    for (name, spec) in entries {
        params.extend(arch::expand(&name, spec).map_err(|m| format!("space.{name}: {m}"))?);
    }
    Space::new(params).map_err(|e| format!("invalid search space: {e}"))
}

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

/// A named strategy, objective or pruner with its settings.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Component {
    /// The name to look up in the registry.
    pub name: String,
    /// The plugin library it must come from (`library = "..."`), or `bundled`.
    pub library: Option<String>,
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
    pruner: Option<Spanned<toml::Table>>,
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
    max_consecutive_failures: Option<u32>,
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
                library: None,
                settings: Settings::default(),
            },
        };
        let pruner = match file.pruner {
            Some(table) => Some(component(table, "pruner").map_err(|(s, m)| fail(s, m))?),
            None => None,
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

        let storage_written = study
            .storage
            .as_ref()
            .map(|url| (url.span(), url.get_ref().clone()));
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
        // Names travel into file names, environment variables and every log line.
        check_study_name(&name).map_err(|m| fail(None, m))?;
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
            pruner,
            space,
            parallelism,
            resources,
            storage,
            retries: study.retries.unwrap_or(0),
            heartbeat_grace,
            max_consecutive_failures: study
                .max_consecutive_failures
                .unwrap_or(DEFAULT_MAX_CONSECUTIVE_FAILURES),
            path: path.to_path_buf(),
            text: text.to_owned(),
            storage_written,
        })
    }

    /// The file's text as it is stored with the study: its `storage` URL with any password
    /// left out (as [`hyperplug_storage::redact`] shows it). Workers take their store from
    /// their own command line, so nothing they need is lost, and whoever can read the store
    /// does not learn the password.
    pub fn stored_text(&self) -> String {
        let Some((span, url)) = &self.storage_written else {
            return self.text.clone();
        };
        let redacted = hyperplug_storage::redact(url);
        if redacted == *url || self.text.get(span.clone()).is_none() {
            return self.text.clone();
        }
        let mut text = self.text.clone();
        // A JSON string is a valid TOML basic string: the same quotes and escapes.
        let quoted = serde_json::Value::String(redacted).to_string();
        text.replace_range(span.clone(), &quoted);
        text
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
    let library = match table.remove("library") {
        Some(toml::Value::String(s)) => Some(s),
        Some(_) => {
            return Err((
                Some(span),
                format!(
                    "[{kind}] `library` must be a string: a library's path, file name or crate name, or \"bundled\""
                ),
            ));
        }
        None => None,
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
    Ok(Component {
        name,
        library,
        settings,
    })
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
    let mut offset = offset.min(text.len());
    // A span inside a character (a parser's byte offset) counts from that character.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
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
    fn a_study_name_must_fit_in_a_file_name() {
        let study = |name: &str| {
            parse(&format!(
                "[study]\nname = \"{name}\"\ntrials = 5\n[objective]\nname = \"x\"\n"
            ))
        };
        assert_eq!(study(&"n".repeat(MAX_NAME_BYTES)).unwrap().name.len(), 200);
        for bad in [String::new(), "n".repeat(MAX_NAME_BYTES + 1)] {
            let e = study(&bad).unwrap_err();
            assert!(
                e.message
                    .contains(&format!("is {} bytes long; give it 1 to 200", bad.len())),
                "{e}"
            );
        }
        // An escape sequence in a name would reach every terminal that lists the study.
        let e = study("a\\u001b[2Jb").unwrap_err();
        assert!(
            e.message
                .contains("holds the control character '\\u{1b}'; use printable characters only"),
            "{e}"
        );
        assert!(study("résumé-α β").is_ok());
        for dots in [".", ".."] {
            let e = study(dots).unwrap_err();
            assert!(e.message.contains(&format!("cannot be `{dots}`")), "{e}");
        }
        assert!(study("...").is_ok() && study(".a").is_ok());
    }

    #[test]
    fn a_pruner_table_names_the_pruner_and_its_settings() {
        let f = parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\n[pruner]\nname = \"hyperband\"\nmax_resource = 27\nreduction_factor = 3\n")
            .unwrap();
        let p = f.pruner.unwrap();
        assert_eq!(p.name, "hyperband");
        assert_eq!(
            p.settings.to_json(),
            r#"{"max_resource":27,"reduction_factor":3}"#
        );
        assert_eq!(
            parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\n")
                .unwrap()
                .pruner,
            None
        );
        let e =
            parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\n[pruner]\nmax_resource = 3\n")
                .unwrap_err();
        assert!(
            e.message.contains("[pruner] needs `name = \"...\"`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_component_may_pin_its_library_and_the_pin_is_no_setting() {
        let f = parse("[study]\ntrials = 5\n[strategy]\nname = \"acme/de\"\nlibrary = \"libacme.so\"\nf = 0.5\n[objective]\nname = \"x\"\n")
            .unwrap();
        assert_eq!(f.strategy.name, "acme/de");
        assert_eq!(f.strategy.library.as_deref(), Some("libacme.so"));
        assert_eq!(f.strategy.settings.to_json(), r#"{"f":0.5}"#);
        assert_eq!(f.objective.library, None);
        let e = parse("[study]\ntrials = 5\n[objective]\nname = \"x\"\nlibrary = 3\n").unwrap_err();
        assert!(
            e.message.contains("[objective] `library` must be a string"),
            "{e}"
        );
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
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

    #[test]
    fn failures_in_a_row_stop_a_study_after_a_default_or_the_file_s_count() {
        let base = "[study]\ntrials = 5\n[objective]\nname = \"x\"\n";
        assert_eq!(
            parse(base).unwrap().max_consecutive_failures,
            DEFAULT_MAX_CONSECUTIVE_FAILURES
        );
        let f =
            parse(&base.replace("trials = 5", "trials = 5\nmax_consecutive_failures = 0")).unwrap();
        assert_eq!(f.max_consecutive_failures, 0);
        let e = parse(&base.replace("trials = 5", "trials = 5\nmax_consecutive_failures = -1"))
            .unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(3), "{e}");
    }

    #[test]
    fn the_stored_copy_of_a_study_file_holds_no_password() {
        for (written, stored) in [
            (
                "storage = \"postgres://me:s3/cr?et@db/test?schema=s\"",
                "storage = \"postgres://me:***@db/test?schema=s\"",
            ),
            (
                "storage = 'postgresql://me@db/test?password=s3cret&password=s3cret2'",
                "storage = \"postgresql://me@db/test?password=***&password=***\"",
            ),
            ("storage = \"sqlite://s.db\"", "storage = \"sqlite://s.db\""),
        ] {
            let text = format!(
                "# a comment\n[study]\ntrials = 5\n{written}   # where\n[objective]\nname = \"x\"\n"
            );
            let f = parse(&text).unwrap();
            let kept = f.stored_text();
            assert_eq!(kept, text.replace(written, stored));
            assert!(!kept.contains("s3"), "{kept}");
            // The stored copy is a study file that reads as the original, less the password.
            let back = parse(&kept).unwrap();
            assert_eq!((back.name, back.budget), (f.name, f.budget));
        }
    }

    mod fuzz {
        //! Study files as an attacker writes them: random text, and valid files mutated with
        //! tokens that break parsers and floating point. The parser and validator must never
        //! panic, and every refusal names the file, and a line and column where one exists.

        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

        use super::*;

        const VALID: [&str; 3] = [
            "[study]\nname = \"q\"\ndirection = \"minimize\"\ntrials = 50\ntimeout = \"10m\"\nseed = 7\nparallelism = 4\nstorage = \"sqlite://h.db\"\nretries = 1\nheartbeat_grace = \"60s\"\nmax_consecutive_failures = 3\n[strategy]\nname = \"tpe\"\n[objective]\nname = \"command\"\ncmd = [\"echo\", \"{lr}\"]\n[resources]\ncpus = 1\ngpus = 0\n[space]\nlr = { float = [1e-5, 1e-1], log = true }\nlayers = { int = [1, 4] }\nact = { choice = [\"relu\", \"tanh\", 3, true] }\nu2 = { int = [16, 512], log = true, when = { layers = [2, 3] } }\nd = { float = [0, 0.5], step = 0.1, when = { act = \"relu\" } }\n",
            "[study]\ndirections = [\"maximize\", \"minimize\"]\ntrials = 5\nstorage = \"postgres://me:pw@db:5432/test?schema=s&password_file=/p\"\n[objective]\nname = \"zdt1\"\ndim = 3\n",
            "[study]\ntimeout = \"1h 30m\"\n[objective]\nname = \"x\"\n[space]\nn = { int = [-9223372036854775808, 9223372036854775807], step = 1 }\nf = { float = [-8e307, 8e307] }\n",
        ];

        /// Tokens spliced into files: structure, extreme numbers, odd text.
        const TOKENS: [&str; 40] = [
            "=",
            "[",
            "]",
            "{",
            "}",
            "\"",
            "'",
            "\n",
            ",",
            ".",
            "#",
            "\\",
            "1e308",
            "-1e308",
            "1e-300",
            "5e-324",
            "nan",
            "inf",
            "-inf",
            "-0.0",
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551616",
            "\"é€𝄞\"",
            "\u{0}",
            "\u{feff}",
            "log = true",
            "step = 1e-300",
            "step = 0",
            "when = { nope = 1 }",
            "[space]",
            "[study]",
            "trials = 0",
            "parallelism = 0",
            "timeout = \"500000000000y\"",
            "float = [1, 1]",
            "choice = []",
            "x = { int = [5, 1] }",
        ];

        /// Values put in place of a key's value: wrong types, extremes, empty and inverted
        /// ranges, durations that overflow.
        const VALUES: [&str; 24] = [
            "0",
            "-1",
            "1e308",
            "-1e308",
            "nan",
            "inf",
            "18446744073709551615",
            "-9223372036854775808",
            "\"\"",
            "\"memory\"",
            "\"sqlite://\"",
            "\"mysql://x\"",
            "\"500000000000y\"",
            "\"0s\"",
            "[]",
            "[1e308, -1e308]",
            "[-1e308, 1e308]",
            "{ float = [0, 1e300], step = 1e-300 }",
            "{ float = [-1e308, 1e308] }",
            "{ int = [1, 10], step = 3 }",
            "{ float = [1, 1] }",
            "{ choice = [1, 1] }",
            "true",
            "{ int = [-9223372036854775808, 9223372036854775807], log = true }",
        ];

        #[derive(Debug, Clone)]
        enum Edit {
            Insert(usize, usize),
            Delete(usize, usize),
            Replace(usize, usize, usize),
            /// The value of the line-th `key = value` line becomes `VALUES[v]`.
            Value(usize, usize),
        }

        fn edit() -> impl Strategy<Value = Edit> {
            prop_oneof![
                (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
                (any::<usize>(), 1usize..20).prop_map(|(at, n)| Edit::Delete(at, n)),
                (any::<usize>(), 1usize..8, 0..TOKENS.len())
                    .prop_map(|(at, n, t)| Edit::Replace(at, n, t)),
                (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Edit::Value(l, v)),
                (any::<usize>(), 0..VALUES.len()).prop_map(|(l, v)| Edit::Value(l, v)),
            ]
        }

        /// A byte offset of `text` on a character boundary, from any number.
        fn boundary(text: &str, at: usize) -> usize {
            let mut i = at % (text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        }

        fn apply(text: &str, edits: &[Edit]) -> String {
            let mut t = text.to_owned();
            for e in edits {
                match *e {
                    Edit::Insert(at, tok) => {
                        let i = boundary(&t, at);
                        t.insert_str(i, TOKENS[tok]);
                    }
                    Edit::Value(line, v) => {
                        let lines: Vec<&str> = t.split('\n').collect();
                        let keyed: Vec<usize> = (0..lines.len())
                            .filter(|&i| lines[i].contains(" = "))
                            .collect();
                        if let Some(&i) = keyed.get(line % keyed.len().max(1)) {
                            let key = lines[i].split(" = ").next().unwrap_or("");
                            let new = format!("{key} = {}", VALUES[v]);
                            let mut out: Vec<String> =
                                lines.iter().map(|l| (*l).to_owned()).collect();
                            out[i] = new;
                            t = out.join("\n");
                        }
                    }
                    Edit::Delete(at, n) | Edit::Replace(at, n, _) => {
                        let i = boundary(&t, at);
                        let j = boundary(&t, i + n.min(t.len() - i));
                        let with = match *e {
                            Edit::Replace(_, _, tok) => TOKENS[tok],
                            _ => "",
                        };
                        t.replace_range(i..j.max(i), with);
                    }
                }
            }
            t
        }

        /// What one file came to.
        #[derive(Default, Debug)]
        struct Tally {
            accepted: usize,
            refused_at: usize,
            refused_file: usize,
        }

        /// Parses `text` and checks the outcome is well formed.
        fn check(text: &str, tally: &mut Tally) -> Result<(), TestCaseError> {
            match StudyFile::parse(Path::new("s.toml"), text) {
                Ok(f) => {
                    tally.accepted += 1;
                    // The copy stored with the study reads back.
                    let kept = f.stored_text();
                    prop_assert!(
                        StudyFile::parse(Path::new("s.toml"), &kept).is_ok(),
                        "the stored copy of an accepted file is refused:\n{kept}"
                    );
                }
                Err(e) => {
                    let shown = e.to_string();
                    prop_assert!(shown.starts_with("s.toml"), "{shown}");
                    prop_assert!(e.message.trim().len() >= 10, "a bare message: {shown}");
                    match e.at {
                        Some((line, col)) => {
                            tally.refused_at += 1;
                            prop_assert!(line >= 1 && col >= 1, "{shown}");
                            prop_assert!(line <= text.split('\n').count(), "{shown}");
                            let prefix = format!("s.toml:{line}:{col}: ");
                            prop_assert!(shown.starts_with(&prefix), "{}", shown);
                        }
                        None => tally.refused_file += 1,
                    }
                }
            }
            Ok(())
        }

        /// The same cases every run, so that CI is repeatable; change the seed to explore.
        fn runner(cases: u32) -> TestRunner {
            let config = Config {
                cases,
                failure_persistence: None,
                ..Config::default()
            };
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
        }

        #[test]
        fn mutated_study_files_never_panic_and_refusals_say_where() {
            let tally = std::cell::RefCell::new(Tally::default());
            let files = (0..VALID.len(), proptest::collection::vec(edit(), 1..6));
            runner(1000)
                .run(&files, |(base, edits)| {
                    check(&apply(VALID[base], &edits), &mut tally.borrow_mut())
                })
                .unwrap();
            let t = tally.into_inner();
            eprintln!("mutated study files: {t:?}");
            // The mutations reach both sides: some files stay valid, most are refused.
            assert!(t.accepted > 0 && t.refused_at > 0, "{t:?}");
        }

        #[test]
        fn arbitrary_text_never_panics_the_parser() {
            let tally = std::cell::RefCell::new(Tally::default());
            runner(300)
                .run(&"(\\PC|\n|=|\\[|\\]|\"){0,200}", |text| {
                    check(&text, &mut tally.borrow_mut())
                })
                .unwrap();
            eprintln!("arbitrary text: {:?}", tally.into_inner());
        }

        #[test]
        fn every_valid_template_is_accepted() {
            for v in VALID {
                if let Err(e) = StudyFile::parse(Path::new("s.toml"), v) {
                    panic!("{e}\n{v}");
                }
            }
        }
    }
}
