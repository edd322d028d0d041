//! [`Table`]: a long-form lookup table, read once from CSV (plain or gzip) and its space.json.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::SystemTime;

use hyperplug_core::{Direction, Value};
use indexmap::IndexMap;
use serde::Deserialize;

use crate::error::TableError;

/// The type space.json gives a parameter's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Strings (`"type": "str"`).
    Str,
    /// Integers (`"type": "int"`).
    Int,
    /// Floats (`"type": "float"`).
    Float,
    /// Booleans (`"type": "bool"`).
    Bool,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        match name {
            "str" | "string" | "categorical" => Some(Kind::Str),
            "int" | "integer" => Some(Kind::Int),
            "float" => Some(Kind::Float),
            "bool" => Some(Kind::Bool),
            _ => None,
        }
    }

    /// Whether values of this kind are ordered numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Float)
    }
}

/// One parameter of a table: its name, type and every value it takes, in space.json's order.
#[derive(Clone, Debug, PartialEq)]
pub struct TableParam {
    /// The column name.
    pub name: String,
    /// The type of its values.
    pub kind: Kind,
    /// Its values, as space.json lists them.
    pub choices: Vec<Value>,
}

/// One metric column and which way is better.
#[derive(Clone, Debug, PartialEq)]
pub struct TableMetric {
    /// The column name.
    pub name: String,
    /// Which way is better.
    pub direction: Direction,
}

/// A lookup table: every configuration of a discrete space with one row per repeated run
/// (`seed`) and one column per metric.
///
/// Configurations are keyed by the mixed-radix number of their choice indices, so a lookup is
/// one hash of a `u128`; the rows of a configuration are contiguous and ordered by seed.
#[derive(Debug)]
pub struct Table {
    csv_path: PathBuf,
    space_path: PathBuf,
    params: Vec<TableParam>,
    metrics: Vec<TableMetric>,
    main_metric: Option<usize>,
    index: HashMap<u128, usize>,
    /// Per configuration: its first row and number of rows.
    spans: Vec<(usize, usize)>,
    /// Per configuration: the choice index of each parameter.
    choices: Vec<u16>,
    /// Per row: the value of the `seed` column.
    seeds: Vec<i64>,
    /// Per row, per metric.
    values: Vec<f64>,
    /// Per configuration, per metric: the mean over its rows.
    means: Vec<f64>,
}

/// The part of space.json this crate reads; other keys (`benchmark`, `datasets`) are ignored.
#[derive(Deserialize)]
struct SpaceJson {
    params: IndexMap<String, ParamJson>,
    metrics: IndexMap<String, String>,
    #[serde(default)]
    main_metric: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamJson {
    #[serde(rename = "type")]
    kind: String,
    choices: Vec<serde_json::Value>,
}

/// The parsed space.json.
struct Spec {
    params: Vec<TableParam>,
    metrics: Vec<TableMetric>,
    main_metric: Option<usize>,
}

/// What the cache keys a table by: both files, and their lengths and modification times, so
/// that a file changed while the process runs is read again.
type CacheKey = (
    PathBuf,
    PathBuf,
    Option<(u64, SystemTime)>,
    Option<(u64, SystemTime)>,
);
type Slot = Arc<Mutex<Option<Arc<Table>>>>;

fn cache() -> &'static Mutex<HashMap<CacheKey, Slot>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Slot>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

fn stamp(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl Table {
    /// Reads the table at `csv` (gzip'd or plain, told apart by its first bytes) with the space
    /// `space`.
    pub fn load(csv: &Path, space: &Path) -> Result<Table, TableError> {
        // The table first: a wrong `path` is the likelier mistake, and names the file meant.
        let file = File::open(csv).map_err(|e| TableError::Read {
            path: csv.to_path_buf(),
            message: e.to_string(),
        })?;
        let text = std::fs::read_to_string(space).map_err(|e| TableError::Read {
            path: space.to_path_buf(),
            message: e.to_string(),
        })?;
        let spec = parse_space(space, &text)?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let gzip = reader
            .fill_buf()
            .map_err(|e| TableError::Read {
                path: csv.to_path_buf(),
                message: e.to_string(),
            })?
            .starts_with(&[0x1f, 0x8b]);
        let input: Box<dyn Read> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        read_rows(csv, space, spec, input)
    }

    /// [`Table::load`], once per process for each pair of files: later calls share the first
    /// table read (and read it again only if a file's length or modification time changed).
    /// Errors are not cached.
    pub fn cached(csv: &Path, space: &Path) -> Result<Arc<Table>, TableError> {
        let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let key = (canonical(csv), canonical(space), stamp(csv), stamp(space));
        let slot = cache()
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key)
            .or_default()
            .clone();
        // Held while loading, so that threads asking for the same table wait for one read
        // instead of each reading it; other tables load meanwhile.
        let mut table = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = &*table {
            return Ok(Arc::clone(t));
        }
        let loaded = Arc::new(Table::load(csv, space)?);
        *table = Some(Arc::clone(&loaded));
        Ok(loaded)
    }

    /// The CSV file it was read from.
    pub fn csv_path(&self) -> &Path {
        &self.csv_path
    }

    /// The space.json it was read with.
    pub fn space_path(&self) -> &Path {
        &self.space_path
    }

    /// The parameters, in space.json's order.
    pub fn params(&self) -> &[TableParam] {
        &self.params
    }

    /// The metrics, in space.json's order.
    pub fn metrics(&self) -> &[TableMetric] {
        &self.metrics
    }

    /// The index of the metric called `name`.
    pub fn metric_index(&self, name: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m.name == name)
    }

    /// The index of space.json's `main_metric`, if it names one.
    pub fn main_metric(&self) -> Option<usize> {
        self.main_metric
    }

    /// The number of configurations.
    pub fn configs(&self) -> usize {
        self.spans.len()
    }

    /// The number of rows (configurations × seeds).
    pub fn rows(&self) -> usize {
        self.seeds.len()
    }

    /// The configuration whose parameters take the choices at `indices` (one per parameter, in
    /// [`Table::params`] order), if the table has it.
    pub fn find(&self, indices: &[usize]) -> Option<usize> {
        if indices.len() != self.params.len() {
            return None;
        }
        let mut key: u128 = 0;
        for (p, &i) in self.params.iter().zip(indices) {
            if i >= p.choices.len() {
                return None;
            }
            key = key * p.choices.len() as u128 + i as u128;
        }
        self.index.get(&key).copied()
    }

    /// The choice index of each parameter of configuration `config`.
    pub fn choice_indices(&self, config: usize) -> &[u16] {
        let n = self.params.len();
        &self.choices[config * n..(config + 1) * n]
    }

    /// The parameter values of configuration `config`, by name.
    pub fn config_values(&self, config: usize) -> Vec<(&str, &Value)> {
        self.params
            .iter()
            .zip(self.choice_indices(config))
            .map(|(p, &i)| (p.name.as_str(), &p.choices[usize::from(i)]))
            .collect()
    }

    /// The number of rows (seeds) of configuration `config`.
    pub fn seed_count(&self, config: usize) -> usize {
        self.spans[config].1
    }

    /// The `seed` column and metric `metric` of the `k`-th row (in seed order) of `config`.
    pub fn sample(&self, config: usize, k: usize, metric: usize) -> (i64, f64) {
        let row = self.spans[config].0 + k;
        (
            self.seeds[row],
            self.values[row * self.metrics.len() + metric],
        )
    }

    /// The mean of metric `metric` over the rows of configuration `config`.
    pub fn mean(&self, config: usize, metric: usize) -> f64 {
        self.means[config * self.metrics.len() + metric]
    }

    /// The configuration with the best mean of `metric` in the metric's direction (the first in
    /// the file among ties) and that mean. Configurations whose mean is not a finite number (a
    /// seed logged as NaN or ±inf, whose trials fail) are skipped; `None` if none is left.
    pub fn optimum(&self, metric: usize) -> Option<(usize, f64)> {
        let direction = self.metrics[metric].direction;
        (0..self.configs())
            .map(|c| (c, self.mean(c, metric)))
            .filter(|(_, m)| m.is_finite())
            .fold(None, |best, (c, m)| match best {
                Some((_, b)) if !direction.better(m, b) => best,
                _ => Some((c, m)),
            })
    }
}

fn parse_space(path: &Path, text: &str) -> Result<Spec, TableError> {
    let fail = |message: String| TableError::Space {
        path: path.to_path_buf(),
        at: None,
        message,
    };
    let raw: SpaceJson = serde_json::from_str(text).map_err(|e| TableError::Space {
        path: path.to_path_buf(),
        at: (e.line() > 0).then(|| (e.line(), e.column())),
        message: format!("not a valid space.json: {e}"),
    })?;
    if raw.params.is_empty() {
        return Err(fail(
            "`params` is empty; a table needs at least one parameter".into(),
        ));
    }
    let mut radix: u128 = 1;
    let mut params = Vec::with_capacity(raw.params.len());
    for (name, p) in raw.params {
        let kind = Kind::parse(&p.kind).ok_or_else(|| {
            fail(format!(
                "parameter `{name}`: unknown type \"{}\"; use \"str\", \"int\", \"float\" or \"bool\"",
                p.kind
            ))
        })?;
        if p.choices.is_empty() {
            return Err(fail(format!("parameter `{name}` has no choices")));
        }
        if p.choices.len() > usize::from(u16::MAX) {
            return Err(fail(format!(
                "parameter `{name}` has {} choices; at most {} are supported",
                p.choices.len(),
                u16::MAX
            )));
        }
        let mut choices = Vec::with_capacity(p.choices.len());
        for c in &p.choices {
            let v = match (kind, c) {
                (Kind::Str, serde_json::Value::String(s)) => Value::Str(s.clone()),
                (Kind::Int, serde_json::Value::Number(n)) if n.as_i64().is_some() => {
                    Value::Int(n.as_i64().unwrap_or_default())
                }
                (Kind::Float, serde_json::Value::Number(n)) => {
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
                (Kind::Bool, serde_json::Value::Bool(b)) => Value::Bool(*b),
                _ => {
                    return Err(fail(format!(
                        "parameter `{name}`: choice {c} is not a value of type \"{}\"",
                        p.kind
                    )));
                }
            };
            if matches!(v, Value::Float(x) if !x.is_finite()) {
                return Err(fail(format!(
                    "parameter `{name}`: choice {c} is not a finite number"
                )));
            }
            if choices.contains(&v) {
                return Err(fail(format!(
                    "parameter `{name}`: the choice {c} appears twice"
                )));
            }
            choices.push(v);
        }
        radix = radix.checked_mul(choices.len() as u128).ok_or_else(|| {
            fail("the parameters have more combinations than fit in 128 bits".into())
        })?;
        params.push(TableParam {
            name,
            kind,
            choices,
        });
    }
    if raw.metrics.is_empty() {
        return Err(fail(
            "`metrics` is empty; a table needs at least one metric".into(),
        ));
    }
    let mut metrics = Vec::with_capacity(raw.metrics.len());
    for (name, direction) in raw.metrics {
        let direction = direction
            .parse::<Direction>()
            .map_err(|m| fail(format!("metric `{name}`: {m}")))?;
        if params.iter().any(|p| p.name == name) || name == "seed" {
            return Err(fail(format!(
                "`{name}` is declared both as a metric and as a parameter or the seed"
            )));
        }
        metrics.push(TableMetric { name, direction });
    }
    let main_metric = match raw.main_metric {
        None => None,
        Some(m) => Some(metrics.iter().position(|x| x.name == m).ok_or_else(|| {
            fail(format!(
                "`main_metric` = \"{m}\" is not one of the metrics ({})",
                names(&metrics)
            ))
        })?),
    };
    if params.iter().any(|p| p.name == "seed") {
        return Err(fail(
            "`seed` cannot be a parameter: it is the column of repeated runs".into(),
        ));
    }
    Ok(Spec {
        params,
        metrics,
        main_metric,
    })
}

fn names(metrics: &[TableMetric]) -> String {
    metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where each column of the CSV goes.
#[derive(Clone, Copy)]
enum Column {
    Param(usize),
    Seed,
    Metric(usize),
}

/// One row before the rows are grouped by configuration.
struct Row {
    config: usize,
    seed: i64,
    line: u64,
}

fn read_rows(
    csv_path: &Path,
    space_path: &Path,
    spec: Spec,
    input: Box<dyn Read>,
) -> Result<Table, TableError> {
    let fail = |line: Option<u64>, column: Option<&str>, message: String| TableError::Csv {
        path: csv_path.to_path_buf(),
        line,
        column: column.map(str::to_owned),
        message,
    };
    let csv_error = |e: csv::Error| {
        let line = e.position().map(|p| p.line());
        let message = match e.kind() {
            csv::ErrorKind::Io(io) => format!("cannot read the table: {io}"),
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("the row has {len} fields but the header has {expected_len}")
            }
            _ => e.to_string(),
        };
        fail(line, None, message)
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(input);
    let header = reader.byte_headers().map_err(csv_error)?.clone();
    let mut columns = Vec::with_capacity(header.len());
    let mut seen_params = vec![false; spec.params.len()];
    let mut seen_metrics = vec![false; spec.metrics.len()];
    let mut seen_seed = false;
    for field in header.iter() {
        let name = String::from_utf8_lossy(field);
        let name = name.trim();
        let column = if name == "seed" {
            if std::mem::replace(&mut seen_seed, true) {
                return Err(fail(Some(1), Some(name), "appears twice".into()));
            }
            Column::Seed
        } else if let Some(i) = spec.params.iter().position(|p| p.name == name) {
            if std::mem::replace(&mut seen_params[i], true) {
                return Err(fail(Some(1), Some(name), "appears twice".into()));
            }
            Column::Param(i)
        } else if let Some(i) = spec.metrics.iter().position(|m| m.name == name) {
            if std::mem::replace(&mut seen_metrics[i], true) {
                return Err(fail(Some(1), Some(name), "appears twice".into()));
            }
            Column::Metric(i)
        } else {
            return Err(fail(
                Some(1),
                Some(name),
                format!(
                    "is neither a parameter, `seed`, nor a metric of {}",
                    space_path.display()
                ),
            ));
        };
        columns.push(column);
    }
    if let Some(i) = seen_params.iter().position(|s| !s) {
        return Err(fail(
            Some(1),
            None,
            format!(
                "the header has no column for parameter `{}`",
                spec.params[i].name
            ),
        ));
    }
    if let Some(i) = seen_metrics.iter().position(|s| !s) {
        return Err(fail(
            Some(1),
            None,
            format!(
                "the header has no column for metric `{}`",
                spec.metrics[i].name
            ),
        ));
    }
    if !seen_seed {
        return Err(fail(
            Some(1),
            None,
            "the header has no `seed` column (the index of the repeated run)".into(),
        ));
    }

    let n_params = spec.params.len();
    let n_metrics = spec.metrics.len();
    // Each raw field text is parsed once per parameter; tables repeat a handful of values.
    let mut memo: Vec<HashMap<Vec<u8>, u16>> = vec![HashMap::new(); n_params];
    let mut index: HashMap<u128, usize> = HashMap::new();
    let mut choices: Vec<u16> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut values: Vec<f64> = Vec::new();
    let mut record = csv::ByteRecord::new();
    let mut config_choice = vec![0u16; n_params];
    let mut row_values = vec![0.0f64; n_metrics];
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        let line = record.position().map_or(0, |p| p.line());
        let mut seed = None;
        for (field, column) in record.iter().zip(&columns) {
            match *column {
                Column::Param(i) => {
                    let choice = match memo[i].get(field) {
                        Some(&c) => c,
                        None => {
                            let p = &spec.params[i];
                            let c = choice_of(p, field).ok_or_else(|| {
                                fail(
                                    Some(line),
                                    Some(&p.name),
                                    format!(
                                        "\"{}\" is not one of the choices in space.json ({})",
                                        String::from_utf8_lossy(field),
                                        p.choices
                                            .iter()
                                            .map(ToString::to_string)
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                )
                            })?;
                            memo[i].insert(field.to_vec(), c);
                            c
                        }
                    };
                    config_choice[i] = choice;
                }
                Column::Seed => {
                    let text = std::str::from_utf8(field).unwrap_or("").trim();
                    seed = Some(text.parse::<i64>().map_err(|_| {
                        fail(
                            Some(line),
                            Some("seed"),
                            format!(
                                "\"{}\" is not a whole number",
                                String::from_utf8_lossy(field)
                            ),
                        )
                    })?);
                }
                Column::Metric(i) => {
                    let text = std::str::from_utf8(field).unwrap_or("").trim();
                    row_values[i] = text.parse::<f64>().map_err(|_| {
                        fail(
                            Some(line),
                            Some(&spec.metrics[i].name),
                            format!("\"{}\" is not a number", String::from_utf8_lossy(field)),
                        )
                    })?;
                }
            }
        }
        let key = spec
            .params
            .iter()
            .zip(&config_choice)
            .fold(0u128, |k, (p, &c)| {
                k * p.choices.len() as u128 + u128::from(c)
            });
        let next = index.len();
        let config = *index.entry(key).or_insert_with(|| {
            choices.extend_from_slice(&config_choice);
            next
        });
        rows.push(Row {
            config,
            // The header check guarantees the column, and the csv reader the field count.
            seed: seed.unwrap_or_default(),
            line,
        });
        values.extend_from_slice(&row_values);
    }
    if rows.is_empty() {
        return Err(fail(
            None,
            None,
            "the table has a header but no rows".into(),
        ));
    }

    // Group rows by configuration, in order of first appearance, seeds ascending.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&r| (rows[r].config, rows[r].seed));
    for pair in order.windows(2) {
        let (a, b) = (&rows[pair[0]], &rows[pair[1]]);
        if a.config == b.config && a.seed == b.seed {
            return Err(fail(
                Some(b.line),
                Some("seed"),
                format!(
                    "the same configuration and seed {} as line {}",
                    b.seed, a.line
                ),
            ));
        }
    }
    let n_configs = index.len();
    let mut spans = vec![(0usize, 0usize); n_configs];
    let mut seeds = Vec::with_capacity(rows.len());
    let mut sorted_values = Vec::with_capacity(values.len());
    for (at, &r) in order.iter().enumerate() {
        let span = &mut spans[rows[r].config];
        if span.1 == 0 {
            span.0 = at;
        }
        span.1 += 1;
        seeds.push(rows[r].seed);
        sorted_values.extend_from_slice(&values[r * n_metrics..(r + 1) * n_metrics]);
    }
    let mut means = vec![0.0; n_configs * n_metrics];
    for (c, &(start, len)) in spans.iter().enumerate() {
        for m in 0..n_metrics {
            let sum: f64 = (start..start + len)
                .map(|row| sorted_values[row * n_metrics + m])
                .sum();
            means[c * n_metrics + m] = sum / len as f64;
        }
    }
    Ok(Table {
        csv_path: csv_path.to_path_buf(),
        space_path: space_path.to_path_buf(),
        params: spec.params,
        metrics: spec.metrics,
        main_metric: spec.main_metric,
        index,
        spans,
        choices,
        seeds,
        values: sorted_values,
        means,
    })
}

/// The index of the choice of `p` that the CSV field `field` holds.
fn choice_of(p: &TableParam, field: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(field).ok()?.trim();
    let position = match p.kind {
        Kind::Str => p.choices.iter().position(|c| c.as_str() == Some(text)),
        Kind::Int => {
            // "16" and "16.0" both name the integer 16.
            let x: f64 = text.parse().ok()?;
            p.choices
                .iter()
                .position(|c| c.as_i64().is_some_and(|i| i as f64 == x))
        }
        Kind::Float => {
            let x: f64 = text.parse().ok()?;
            p.choices.iter().position(|c| {
                c.as_f64()
                    .is_some_and(|y| (x - y).abs() <= 1e-9 * y.abs().max(1e-300))
            })
        }
        Kind::Bool => {
            let b = match text {
                "true" | "True" | "TRUE" | "1" => true,
                "false" | "False" | "FALSE" | "0" => false,
                _ => return None,
            };
            p.choices.iter().position(|c| c.as_bool() == Some(b))
        }
    };
    position.and_then(|i| u16::try_from(i).ok())
}
