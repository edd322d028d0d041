//! Tabular datasets: the five bundled ones and any CSV file with a header row.

use std::fmt;
use std::path::Path;

use crate::error::DataError;

/// What is predicted: a class among several, or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Task {
    /// Predict one of a finite set of labels; judged by accuracy or log loss.
    Classification,
    /// Predict a real number; judged by RMSE or R².
    Regression,
}

impl Task {
    /// `classification` or `regression`, as settings spell it.
    pub fn from_name(name: &str) -> Option<Task> {
        match name {
            "classification" => Some(Task::Classification),
            "regression" => Some(Task::Regression),
            _ => None,
        }
    }

    /// The name settings use.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The targets of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Class indices `0..names.len()`, one per sample, and each class's label as written.
    Classes {
        /// The class index of each sample.
        labels: Vec<u32>,
        /// The label of each class, in index order.
        names: Vec<String>,
    },
    /// One real value per sample.
    Values(Vec<f64>),
}

/// A table of numeric features (row-major, `f32` as the networks train in) with one target per
/// row.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    name: String,
    features: Vec<String>,
    x: Vec<f32>,
    targets: Targets,
}

impl Dataset {
    /// A dataset from its parts. `x` holds `targets`' length rows of `features.len()` values.
    pub fn new(
        name: impl Into<String>,
        features: Vec<String>,
        x: Vec<f32>,
        targets: Targets,
    ) -> Result<Dataset, DataError> {
        let name = name.into();
        let n = match &targets {
            Targets::Classes { labels, names } => {
                if let Some(&bad) = labels.iter().find(|&&l| l as usize >= names.len()) {
                    return Err(DataError::Invalid {
                        data: name,
                        message: format!(
                            "class index {bad} is out of range: there are {} classes",
                            names.len()
                        ),
                    });
                }
                labels.len()
            }
            Targets::Values(v) => v.len(),
        };
        if features.is_empty() || x.len() != n * features.len() {
            return Err(DataError::Invalid {
                data: name,
                message: format!(
                    "{} values do not make {n} rows of {} features",
                    x.len(),
                    features.len()
                ),
            });
        }
        if n < 2 {
            return Err(DataError::Invalid {
                data: name,
                message: format!("{n} row(s): at least 2 are needed to cross-validate"),
            });
        }
        Ok(Dataset {
            name,
            features,
            x,
            targets,
        })
    }

    /// Where it came from: a bundled name or a file path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The feature names, in column order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The number of rows.
    pub fn n_samples(&self) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values(v) => v.len(),
        }
    }

    /// The number of feature columns.
    pub fn n_features(&self) -> usize {
        self.features.len()
    }

    /// All features, row-major.
    pub fn x(&self) -> &[f32] {
        &self.x
    }

    /// The features of row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.n_features();
        &self.x[i * d..(i + 1) * d]
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Classification when the targets are classes.
    pub fn task(&self) -> Task {
        match self.targets {
            Targets::Classes { .. } => Task::Classification,
            Targets::Values(_) => Task::Regression,
        }
    }

    /// The number of classes; 0 for regression.
    pub fn n_classes(&self) -> usize {
        match &self.targets {
            Targets::Classes { names, .. } => names.len(),
            Targets::Values(_) => 0,
        }
    }

    /// Reads a CSV file with a header row; `target` names the column to predict and `task`, when
    /// given, says how (see [`Dataset::from_csv_str`]).
    pub fn from_csv_path(
        path: &Path,
        target: &str,
        task: Option<Task>,
    ) -> Result<Dataset, DataError> {
        let text = std::fs::read_to_string(path).map_err(|e| DataError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Dataset::from_csv_str(&text, &path.display().to_string(), target, task)
    }

    /// Parses CSV text (comma-separated, a header row of column names, double quotes around
    /// fields that need them). Every column but `target` is a numeric feature (finite, within
    /// the ±3.4e38 of `f32`). Without `task`, a target of words is a classification, one of
    /// numbers with a fraction a regression, one of whole numbers a classification when it has
    /// at most [`MAX_INFERRED_CLASSES`] distinct values; numbers mixed with other cells (`NaN`,
    /// `NA`) and anything else ask for `task`.
    pub fn from_csv_str(
        text: &str,
        source: &str,
        target: &str,
        task: Option<Task>,
    ) -> Result<Dataset, DataError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            rows.push((i + 1, split_csv_line(line, source, i + 1)?));
        }
        let Some((_, header)) = rows.first() else {
            return Err(DataError::Invalid {
                data: source.to_owned(),
                message: "the file is empty; it needs a header row and data rows".into(),
            });
        };
        let header: Vec<String> = header.iter().map(|h| h.trim().to_owned()).collect();
        let Some(t) = header.iter().position(|h| h == target) else {
            return Err(DataError::MissingTarget {
                data: source.to_owned(),
                target: target.to_owned(),
                columns: header.join(", "),
            });
        };
        // A second column of the target's name would train as a feature: the answer leaking
        // into the inputs, and every score perfect.
        if let Some(again) = header.iter().skip(t + 1).position(|h| h == target) {
            return Err(DataError::Invalid {
                data: source.to_owned(),
                message: format!(
                    "the header names the target `{target}` twice (columns {} and {}); rename or remove one, or the copy would be a feature that gives the answer away",
                    t + 1,
                    t + again + 2
                ),
            });
        }
        let features: Vec<String> = header
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != t)
            .map(|(_, h)| h.clone())
            .collect();
        // Said here, before the target's inference reads nothing as "a single class".
        if features.is_empty() {
            return Err(DataError::Invalid {
                data: source.to_owned(),
                message: format!(
                    "the target `{target}` is the only column; the other columns are the features to predict it from"
                ),
            });
        }
        if rows.len() < 2 {
            return Err(DataError::Invalid {
                data: source.to_owned(),
                message: "the file has a header but no data rows".into(),
            });
        }
        let mut x = Vec::with_capacity((rows.len() - 1) * features.len());
        let mut raw_targets = Vec::with_capacity(rows.len() - 1);
        for (line, cells) in &rows[1..] {
            if cells.len() != header.len() {
                return Err(DataError::Ragged {
                    data: source.to_owned(),
                    line: *line,
                    expected: header.len(),
                    found: cells.len(),
                });
            }
            for (j, cell) in cells.iter().enumerate() {
                if j == t {
                    raw_targets.push(cell.trim().to_owned());
                    continue;
                }
                x.push(parse_number(cell, source, *line, &header[j])? as f32);
            }
        }
        let targets = targets_from_column(&raw_targets, task, source, target, &rows[1..])?;
        Dataset::new(source, features, x, targets)
    }
}

/// Whole-number targets with at most this many distinct values are taken for class labels when
/// `task` is not given.
pub const MAX_INFERRED_CLASSES: usize = 20;

fn parse_number(cell: &str, source: &str, line: usize, column: &str) -> Result<f64, DataError> {
    let s = cell.trim();
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (v as f32).is_finite() => Ok(v),
        // The network computes in f32, where such a value is infinite: every trial would diverge.
        Ok(v) if v.is_finite() => Err(DataError::Invalid {
            data: source.to_owned(),
            message: format!(
                "line {line}, column `{column}`: `{s}` is beyond the ±3.4e38 of the 32-bit floats the network computes in; rescale the column"
            ),
        }),
        _ => Err(DataError::NonNumeric {
            data: source.to_owned(),
            line,
            column: column.to_owned(),
            value: s.to_owned(),
        }),
    }
}

/// Splits one CSV line into fields; `"a,b"` is one field and `""` inside quotes is a quote.
fn split_csv_line(line: &str, source: &str, number: usize) -> Result<Vec<String>, DataError> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(DataError::Invalid {
            data: source.to_owned(),
            message: format!(
                "line {number}: a quoted field is not closed (fields cannot span lines)"
            ),
        });
    }
    fields.push(field);
    Ok(fields)
}

fn targets_from_column(
    raw: &[String],
    task: Option<Task>,
    source: &str,
    column: &str,
    rows: &[(usize, Vec<String>)],
) -> Result<Targets, DataError> {
    let numbers: Option<Vec<f64>> = raw
        .iter()
        .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let task = match (task, &numbers) {
        (Some(task), _) => task,
        (None, None) => {
            // Numbers with a stray `NaN`, `NA` or `inf` are numbers with a missing value, not
            // each a class (which would silently turn a regression into a many-class problem).
            let is_number = |s: &String| s.parse::<f64>().is_ok_and(f64::is_finite);
            if raw.iter().any(is_number)
                && let Some(i) = raw.iter().position(|s| !s.is_empty() && !is_number(s))
            {
                return Err(DataError::Invalid {
                    data: source.to_owned(),
                    message: format!(
                        "line {}, column `{column}`: `{}` is not a finite number, while the column's other cells are numbers; fix or remove the row, or set `task` = \"classification\" if the column holds class labels",
                        rows[i].0, raw[i]
                    ),
                });
            }
            Task::Classification
        }
        (None, Some(v)) if v.iter().any(|x| x.fract() != 0.0) => Task::Regression,
        (None, Some(v)) => {
            let mut distinct = v.clone();
            distinct.sort_by(f64::total_cmp);
            distinct.dedup();
            if distinct.len() > MAX_INFERRED_CLASSES {
                return Err(DataError::AmbiguousTask {
                    data: source.to_owned(),
                    column: column.to_owned(),
                    distinct: distinct.len(),
                });
            }
            Task::Classification
        }
    };
    match task {
        Task::Regression => {
            // Name the first cell that is not a number.
            for (value, (line, _)) in raw.iter().zip(rows) {
                parse_number(value, source, *line, column)?;
            }
            Ok(Targets::Values(numbers.unwrap_or_default()))
        }
        Task::Classification => {
            if let Some(i) = raw.iter().position(String::is_empty) {
                return Err(DataError::NonNumeric {
                    data: source.to_owned(),
                    line: rows[i].0,
                    column: column.to_owned(),
                    value: String::new(),
                });
            }
            // Numeric labels sort as numbers (2 before 10), others as text.
            let mut names: Vec<&String> = raw.iter().collect();
            match &numbers {
                Some(_) => names.sort_by(|a, b| {
                    let (x, y) = (a.parse::<f64>(), b.parse::<f64>());
                    x.unwrap_or(0.0).total_cmp(&y.unwrap_or(0.0)).then(a.cmp(b))
                }),
                None => names.sort(),
            }
            names.dedup();
            // "1" and "1.0" are one class when the labels are numbers.
            if numbers.is_some() {
                names.dedup_by(|a, b| a.parse::<f64>().ok() == b.parse::<f64>().ok());
            }
            if names.len() < 2 {
                return Err(DataError::Invalid {
                    data: source.to_owned(),
                    message: format!(
                        "target column `{column}` holds a single class; classification needs at least two"
                    ),
                });
            }
            let labels = raw
                .iter()
                .map(|s| {
                    let i = match &numbers {
                        Some(_) => {
                            let v = s.parse::<f64>().ok();
                            names.iter().position(|n| n.parse::<f64>().ok() == v)
                        }
                        None => names.iter().position(|n| *n == s),
                    };
                    // Every label came from `raw`, so it is among the names.
                    i.unwrap_or(0) as u32
                })
                .collect();
            Ok(Targets::Classes {
                labels,
                names: names.into_iter().cloned().collect(),
            })
        }
    }
}

/// The datasets bundled with the crate, from scikit-learn's copies of the UCI and LARS data (see
/// `data/README.md` for sources, licences and citations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bundled {
    /// 1,797 8×8 images of handwritten digits, 64 features of 0–16, 10 classes.
    Digits,
    /// 569 breast tumours, 30 features, 2 classes (malignant, benign).
    BreastCancer,
    /// 178 wines, 13 chemical features, 3 cultivars.
    Wine,
    /// 150 irises, 4 measurements, 3 species.
    Iris,
    /// 442 diabetes patients, 10 baseline features, disease progression after a year (regression).
    Diabetes,
}

impl Bundled {
    /// Every bundled dataset.
    pub const ALL: [Bundled; 5] = [
        Bundled::Digits,
        Bundled::BreastCancer,
        Bundled::Wine,
        Bundled::Iris,
        Bundled::Diabetes,
    ];

    /// The name settings use: `digits`, `breast_cancer`, `wine`, `iris`, `diabetes`.
    pub fn name(self) -> &'static str {
        match self {
            Bundled::Digits => "digits",
            Bundled::BreastCancer => "breast_cancer",
            Bundled::Wine => "wine",
            Bundled::Iris => "iris",
            Bundled::Diabetes => "diabetes",
        }
    }

    /// The dataset called `name`, if bundled.
    pub fn from_name(name: &str) -> Option<Bundled> {
        Bundled::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Parses the embedded copy.
    pub fn load(self) -> Result<Dataset, DataError> {
        let name = self.name();
        match self {
            // No header: 64 pixel counts and the digit per row.
            Bundled::Digits => {
                let header: Vec<String> = (0..64)
                    .map(|i| format!("pixel_{}_{}", i / 8, i % 8))
                    .chain(["digit".to_owned()])
                    .collect();
                let text = format!("{}\n{}", header.join(","), DIGITS);
                Dataset::from_csv_str(&text, name, "digit", Some(Task::Classification))
            }
            Bundled::BreastCancer => sklearn_csv(BREAST_CANCER, name),
            Bundled::Wine => sklearn_csv(WINE, name),
            Bundled::Iris => sklearn_csv(IRIS, name),
            Bundled::Diabetes => diabetes(),
        }
    }
}

const DIGITS: &str = include_str!("../data/digits.csv");
const BREAST_CANCER: &str = include_str!("../data/breast_cancer.csv");
const WINE: &str = include_str!("../data/wine_data.csv");
const IRIS: &str = include_str!("../data/iris.csv");
const DIABETES_X: &str = include_str!("../data/diabetes_data_raw.csv");
const DIABETES_Y: &str = include_str!("../data/diabetes_target.csv");

/// scikit-learn's format: a first line `n_samples,n_features,class names…`, then rows of
/// features with the class index last.
fn sklearn_csv(text: &str, name: &str) -> Result<Dataset, DataError> {
    let (first, body) = text.split_once('\n').unwrap_or((text, ""));
    let head: Vec<&str> = first.trim().split(',').collect();
    let bad = |message: String| DataError::Invalid {
        data: name.to_owned(),
        message,
    };
    let (n, d) = match head.as_slice() {
        [n, d, ..] => (
            n.parse::<usize>()
                .map_err(|_| bad(format!("bad sample count `{n}`")))?,
            d.parse::<usize>()
                .map_err(|_| bad(format!("bad feature count `{d}`")))?,
        ),
        _ => return Err(bad("missing the `n_samples,n_features` line".into())),
    };
    let class_names: Vec<String> = head[2..].iter().map(|s| s.to_string()).collect();
    let header: Vec<String> = (0..d)
        .map(|i| format!("x{i}"))
        .chain(["class".to_owned()])
        .collect();
    let text = format!("{}\n{body}", header.join(","));
    let mut data = Dataset::from_csv_str(&text, name, "class", Some(Task::Classification))?;
    if data.n_samples() != n {
        return Err(bad(format!(
            "{} rows where the file announces {n}",
            data.n_samples()
        )));
    }
    // The class column holds indices 0..k; give them the file's names.
    if let Targets::Classes { names, .. } = &mut data.targets
        && names.len() == class_names.len()
    {
        *names = class_names;
    }
    Ok(data)
}

/// The diabetes data: ten space-separated raw features per row, and the target in its own file.
fn diabetes() -> Result<Dataset, DataError> {
    let name = "diabetes";
    let features: Vec<String> = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut x = Vec::new();
    for (i, line) in DIABETES_X.lines().enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() != features.len() {
            return Err(DataError::Ragged {
                data: name.into(),
                line: i + 1,
                expected: features.len(),
                found: cells.len(),
            });
        }
        for (cell, column) in cells.iter().zip(&features) {
            x.push(parse_number(cell, name, i + 1, column)? as f32);
        }
    }
    let y = DIABETES_Y
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_number(l, name, i + 1, "progression"))
        .collect::<Result<Vec<f64>, _>>()?;
    Dataset::new(name, features, x, Targets::Values(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_datasets_have_their_published_shapes() {
        let shapes: Vec<(usize, usize, usize)> = Bundled::ALL
            .iter()
            .map(|b| {
                let d = b.load().expect("bundled data parses");
                (d.n_samples(), d.n_features(), d.n_classes())
            })
            .collect();
        assert_eq!(
            shapes,
            [
                (1797, 64, 10),
                (569, 30, 2),
                (178, 13, 3),
                (150, 4, 3),
                (442, 10, 0)
            ]
        );
        let iris = Bundled::Iris.load().unwrap();
        assert_eq!(iris.row(0), [5.1, 3.5, 1.4, 0.2]);
        let Targets::Classes { labels, names } = iris.targets() else {
            panic!("iris is a classification");
        };
        assert_eq!(names, &["setosa", "versicolor", "virginica"]);
        assert_eq!(
            (0..3)
                .map(|c| labels.iter().filter(|&&l| l == c).count())
                .collect::<Vec<_>>(),
            [50, 50, 50]
        );
        let diabetes = Bundled::Diabetes.load().unwrap();
        assert_eq!(diabetes.row(0)[..3], [59.0, 2.0, 32.1]);
        let Targets::Values(y) = diabetes.targets() else {
            panic!("diabetes is a regression")
        };
        assert_eq!(y[..3], [151.0, 75.0, 141.0]);
    }

    #[test]
    fn csv_parses_quotes_labels_and_infers_the_task() {
        let text = "a,\"b, c\",label\n1,2,cat\n3,\"4\",dog\n5,6,cat\n";
        let d = Dataset::from_csv_str(text, "t.csv", "label", None).unwrap();
        assert_eq!(d.features(), ["a", "b, c"]);
        assert_eq!(d.x(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(
            d.targets(),
            &Targets::Classes {
                labels: vec![0, 1, 0],
                names: vec!["cat".into(), "dog".into()]
            }
        );
        // Numeric labels sort as numbers and 1 = 1.0.
        let d = Dataset::from_csv_str("x,y\n0,10\n1,2\n2,2.0\n", "t", "y", None).unwrap();
        assert_eq!(
            d.targets(),
            &Targets::Classes {
                labels: vec![1, 0, 0],
                names: vec!["2".into(), "10".into()]
            }
        );
        let d = Dataset::from_csv_str("x,y\n0,1.5\n1,2\n", "t", "y", None).unwrap();
        assert_eq!(d.task(), Task::Regression);
        let d = Dataset::from_csv_str("x,y\n0,1\n1,2\n", "t", "y", Some(Task::Regression)).unwrap();
        assert_eq!(d.targets(), &Targets::Values(vec![1.0, 2.0]));
    }

    #[test]
    fn csv_errors_name_what_and_where() {
        let e = Dataset::from_csv_str("a,b\n1,2\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: there is no column `y` to predict; the columns are: a, b"
        );
        let e = Dataset::from_csv_str("a,b,y\n1,2,0\n3,x3,1\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 3, column `b`: `x3` is not a number"
        );
        let e = Dataset::from_csv_str("a,y\n1,0\n,1\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 3, column `a`: the cell is empty"
        );
        let e = Dataset::from_csv_str("a,y\n1,0\n2\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 3 has 1 field(s) where the header has 2"
        );
        let e = Dataset::from_csv_str("a,y\n1,0.5\n2,abc\n", "f.csv", "y", Some(Task::Regression))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 3, column `y`: `abc` is not a number"
        );
        let rows: String = (0..30).map(|i| format!("{i},{i}\n")).collect();
        let e = Dataset::from_csv_str(&format!("a,y\n{rows}"), "f.csv", "y", None).unwrap_err();
        assert!(
            e.to_string().contains(
                "column `y` holds 30 distinct whole numbers: set `task` to \"classification\" or \"regression\""
            ),
            "{e}"
        );
        let e = Dataset::from_csv_str("a,y\n1,a\n2,a\n", "f.csv", "y", None).unwrap_err();
        assert!(e.to_string().contains("single class"), "{e}");
        let e = Dataset::from_csv_path(Path::new("/no/such/file.csv"), "y", None).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot read /no/such/file.csv: "),
            "{e}"
        );
    }

    #[test]
    fn a_target_column_named_twice_is_refused() {
        // The second copy would otherwise train as a feature: the answer leaks into the inputs.
        let e =
            Dataset::from_csv_str("a,y,y\n1,0,0\n2,1,1\n3,0,0\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: the header names the target `y` twice (columns 2 and 3); rename or remove one, or the copy would be a feature that gives the answer away"
        );
    }

    #[test]
    fn a_numeric_target_with_a_missing_or_non_finite_cell_is_refused() {
        // Inferred: these are numbers with one missing value, not three or more classes.
        for (cell, shown) in [("NaN", "NaN"), ("NA", "NA"), ("inf", "inf"), ("?", "?")] {
            for others in ["1.5\n2.5", "0\n1"] {
                let text = format!("a,y\n1,{}\n3,{cell}\n", others.replace('\n', "\n2,"));
                let e = Dataset::from_csv_str(&text, "f.csv", "y", None).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    format!(
                        "f.csv: line 4, column `y`: `{shown}` is not a finite number, while the column's other cells are numbers; fix or remove the row, or set `task` = \"classification\" if the column holds class labels"
                    ),
                    "{text}"
                );
            }
        }
        // Asked for, such a label is a class like any other.
        let d = Dataset::from_csv_str(
            "a,y\n1,0\n2,1\n3,NA\n",
            "f.csv",
            "y",
            Some(Task::Classification),
        )
        .unwrap();
        assert_eq!(d.n_classes(), 3);
    }

    #[test]
    fn values_beyond_32_bit_floats_are_refused() {
        // The network computes in f32: 1e39 would become infinity and every trial diverge.
        let e = Dataset::from_csv_str("a,y\n1e39,0\n2,1\n3,0\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 2, column `a`: `1e39` is beyond the ±3.4e38 of the 32-bit floats the network computes in; rescale the column"
        );
        let e =
            Dataset::from_csv_str("a,y\n1,0.5\n2,-4e38\n3,0\n", "f.csv", "y", None).unwrap_err();
        assert!(
            e.to_string()
                .contains("line 3, column `y`: `-4e38` is beyond"),
            "{e}"
        );
        // The largest f32 is fine.
        let d = Dataset::from_csv_str("a,y\n3e38,0.5\n2,1e38\n", "f.csv", "y", None).unwrap();
        assert_eq!(d.x()[0], 3e38);
    }

    #[test]
    fn files_without_data_rows_or_features_say_so() {
        for task in [None, Some(Task::Classification), Some(Task::Regression)] {
            let e = Dataset::from_csv_str("a,y\n\n", "f.csv", "y", task).unwrap_err();
            assert_eq!(
                e.to_string(),
                "f.csv: the file has a header but no data rows"
            );
        }
        let e = Dataset::from_csv_str("y\n1\n2\n", "f.csv", "y", None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: the target `y` is the only column; the other columns are the features to predict it from"
        );
    }
}
