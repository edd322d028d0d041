//! [`TableObjective`] and its factory: a table as an objective, with its settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyperplug_core::{
    Capabilities, Domain, Error, Evaluation, Metric, Objective, ObjectiveFactory, Param, Params,
    PluginInfo, Settings, Space, TrialContext, TrialError, TrialOutcome, Value, trial_rng,
};
use rand::Rng;
use serde::Deserialize;

use crate::table::Table;

/// The name study files use for this objective.
pub const NAME: &str = "table";

/// What a trial's value is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The metric of one seed (repeated run) of the configuration, drawn from the trial's
    /// generator: noisy, like real training.
    #[default]
    Noisy,
    /// The mean of the metric over the configuration's seeds.
    Mean,
}

/// How numeric parameters appear in the search space.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Every parameter is a categorical choice of its values (numbers stay numbers).
    #[default]
    Categorical,
    /// Numeric parameters are integer indices `0..n` into their sorted values, so strategies
    /// that model order can use it; string and boolean parameters stay categorical.
    Ordinal,
}

/// The settings of a table objective, as a study file gives them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSettings {
    path: PathBuf,
    #[serde(default)]
    space: Option<PathBuf>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    mode: Mode,
    #[serde(default)]
    encoding: Encoding,
    #[serde(default)]
    noise_seed: u64,
    #[serde(default)]
    optimum: Option<f64>,
}

/// Makes table objectives. Settings:
///
/// - `path` (required): the CSV table, plain or gzip'd; relative paths resolve against the
///   working directory.
/// - `space`: its space.json; default `space.json` beside the table.
/// - `metric`: the metric column to optimize, in its direction from space.json; default
///   space.json's `main_metric`.
/// - `mode`: `"noisy"` (default: the metric of one seed drawn from
///   `trial_rng(noise_seed, trial number)`) or `"mean"` (the mean over seeds).
/// - `noise_seed`: the seed of those draws; default 0.
/// - `encoding`: `"categorical"` (default) or `"ordinal"` (numeric parameters as indices).
/// - `optimum`: the best reachable value; default the best mean over seeds in the table.
///
/// Each evaluation attaches `mean_<metric>` (the mean over seeds of the configuration, which
/// benchmark harnesses report as the quality of a run's chosen configuration) and, in noisy
/// mode, `table_seed` (the seed drawn) and the other metrics of that row.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableFactory;

impl ObjectiveFactory for TableFactory {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "a lookup-table benchmark (long CSV + space.json): one seed's metric, or the mean over seeds",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        let s: TableSettings = settings.parse(NAME)?;
        let space_path = match &s.space {
            Some(p) => p.clone(),
            None => beside(&s.path, "space.json"),
        };
        let table = Table::cached(&s.path, &space_path).map_err(|e| Error::Other(e.to_string()))?;
        let options = Options {
            metric: s.metric,
            mode: s.mode,
            encoding: s.encoding,
            noise_seed: s.noise_seed,
            optimum: s.optimum,
        };
        Ok(Box::new(TableObjective::new(table, options)?))
    }
}

fn beside(path: &Path, name: &str) -> PathBuf {
    match path.parent() {
        Some(dir) => dir.join(name),
        None => PathBuf::from(name),
    }
}

/// How to turn a [`Table`] into an objective; [`Options::default`] is the factory's default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// The metric to optimize; `None` takes space.json's `main_metric`.
    pub metric: Option<String>,
    /// Noisy seed draws or seed means.
    pub mode: Mode,
    /// How numeric parameters appear in the space.
    pub encoding: Encoding,
    /// The seed of the noisy draws.
    pub noise_seed: u64,
    /// Overrides the optimum computed from the table.
    pub optimum: Option<f64>,
}

/// A [`Table`] as an objective: the space is read from the table, a trial's value is looked
/// up.
pub struct TableObjective {
    table: Arc<Table>,
    metric: usize,
    options: Options,
    optimum: f64,
    space: Space,
}

impl TableObjective {
    /// The objective of `table` under `options`. Fails, naming the file, when the metric is
    /// unknown or not given and space.json names no `main_metric`.
    pub fn new(table: Arc<Table>, options: Options) -> Result<Self, Error> {
        let space_file = table.space_path().display().to_string();
        let metric = match &options.metric {
            Some(name) => table.metric_index(name).ok_or_else(|| {
                Error::settings(
                    NAME,
                    format!(
                        "`metric` = \"{name}\" is not a metric of {space_file}; it has {}",
                        metric_names(&table)
                    ),
                )
            })?,
            None => table.main_metric().ok_or_else(|| {
                Error::settings(
                    NAME,
                    format!(
                        "{space_file} names no `main_metric`; choose one with `metric` ({})",
                        metric_names(&table)
                    ),
                )
            })?,
        };
        let optimum = match options.optimum {
            Some(x) if x.is_finite() => x,
            Some(x) => {
                return Err(Error::settings(
                    NAME,
                    format!("`optimum` must be a finite number, got {x}"),
                ));
            }
            None => {
                table
                    .optimum(metric)
                    .ok_or_else(|| {
                        Error::Other(format!(
                            "{}: no configuration has a finite mean of `{}`",
                            table.csv_path().display(),
                            table.metrics()[metric].name
                        ))
                    })?
                    .1
            }
        };
        let params = table
            .params()
            .iter()
            .map(|p| {
                let domain = match options.encoding {
                    Encoding::Ordinal if p.kind.is_numeric() => {
                        Domain::int(0, p.choices.len() as i64 - 1)
                    }
                    _ => Domain::Categorical {
                        choices: p.choices.clone(),
                    },
                };
                Param::new(p.name.clone(), domain)
            })
            .collect();
        let space = Space::new(params).map_err(|e| {
            Error::Other(format!(
                "{space_file}: the table's parameters do not form a valid space: {e}"
            ))
        })?;
        Ok(TableObjective {
            table,
            metric,
            options,
            optimum,
            space,
        })
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The configuration `params` names, or why there is none.
    pub fn config_of(&self, params: &Params) -> Result<usize, TrialError> {
        let table = &*self.table;
        let mut indices = Vec::with_capacity(table.params().len());
        for p in table.params() {
            let value = params.get(&p.name).ok_or_else(|| {
                TrialError::failed(format!(
                    "parameter `{}` is missing; the table {} has {}",
                    p.name,
                    table.csv_path().display(),
                    table
                        .params()
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            let index = match (self.options.encoding, value) {
                (Encoding::Ordinal, &Value::Int(i)) if p.kind.is_numeric() => {
                    usize::try_from(i).ok().filter(|&i| i < p.choices.len())
                }
                _ => p.choices.iter().position(|c| c == value),
            };
            let index = index.ok_or_else(|| {
                TrialError::failed(format!(
                    "parameter `{}` = {value} is not one of the table's values ({})",
                    p.name,
                    p.choices
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
            indices.push(index);
        }
        if let Some(extra) = params
            .keys()
            .find(|k| !table.params().iter().any(|p| &p.name == *k))
        {
            return Err(TrialError::failed(format!(
                "parameter `{extra}` is not a column of the table {}",
                table.csv_path().display()
            )));
        }
        table.find(&indices).ok_or_else(|| {
            let text: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            TrialError::failed(format!(
                "the configuration {} is not in the table {}",
                text.join(" "),
                table.csv_path().display()
            ))
        })
    }
}

fn metric_names(table: &Table) -> String {
    table
        .metrics()
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Objective for TableObjective {
    fn space(&self) -> Option<Space> {
        Some(self.space.clone())
    }

    fn metrics(&self) -> Vec<Metric> {
        let m = &self.table.metrics()[self.metric];
        vec![Metric {
            name: m.name.clone(),
            direction: m.direction,
        }]
    }

    fn optimum(&self) -> Option<Vec<f64>> {
        Some(vec![self.optimum])
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let table = &*self.table;
        let config = self.config_of(params)?;
        let name = &table.metrics()[self.metric].name;
        let mean = table.mean(config, self.metric);
        let mut evaluation = match self.options.mode {
            Mode::Mean => Evaluation::from(mean),
            Mode::Noisy => {
                let mut rng = trial_rng(self.options.noise_seed, ctx.number());
                let k = rng.random_range(0..table.seed_count(config));
                let (seed, value) = table.sample(config, k, self.metric);
                let mut e = Evaluation::from(value);
                e.attrs.insert("table_seed".into(), Value::Int(seed));
                for (m, other) in table.metrics().iter().enumerate() {
                    if m != self.metric {
                        e.attrs.insert(
                            other.name.clone(),
                            Value::Float(table.sample(config, k, m).1),
                        );
                    }
                }
                e
            }
        };
        evaluation
            .attrs
            .insert(format!("mean_{name}"), Value::Float(mean));
        Ok(evaluation)
    }
}
