//! The crate's errors: data that cannot be used, and training that cannot go on.

use thiserror::Error;

/// A dataset that cannot be read or used. Each message names the file (or bundled dataset) and,
/// where it can, the line and column.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Io {
        /// The path as given.
        path: String,
        /// The system's reason.
        message: String,
    },
    /// The target column is not in the header.
    #[error("{data}: there is no column `{target}` to predict; the columns are: {columns}")]
    MissingTarget {
        /// The file.
        data: String,
        /// The column asked for.
        target: String,
        /// The columns there are, comma-separated.
        columns: String,
    },
    /// A cell that should hold a number does not.
    #[error("{data}: line {line}, column `{column}`: {}", describe_cell(value))]
    NonNumeric {
        /// The file.
        data: String,
        /// The 1-based line in the file (the header is line 1).
        line: usize,
        /// The column's name.
        column: String,
        /// The cell as written.
        value: String,
    },
    /// A row with more or fewer fields than the header.
    #[error("{data}: line {line} has {found} field(s) where the header has {expected}")]
    Ragged {
        /// The file.
        data: String,
        /// The 1-based line.
        line: usize,
        /// Fields in the header.
        expected: usize,
        /// Fields on the line.
        found: usize,
    },
    /// A whole-number target with too many values to guess the task.
    #[error(
        "{data}: column `{column}` holds {distinct} distinct whole numbers: set `task` to \"classification\" or \"regression\""
    )]
    AmbiguousTask {
        /// The file.
        data: String,
        /// The target column.
        column: String,
        /// How many distinct values it holds.
        distinct: usize,
    },
    /// Anything else wrong with the data.
    #[error("{data}: {message}")]
    Invalid {
        /// The file or dataset.
        data: String,
        /// What is wrong.
        message: String,
    },
}

fn describe_cell(value: &str) -> String {
    if value.is_empty() {
        "the cell is empty".to_owned()
    } else {
        format!("`{value}` is not a number")
    }
}

/// Training that cannot go on: a backend failure (out of memory, a device error) or a model
/// whose outputs are no longer finite numbers.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{0}")]
pub struct TrainError(pub String);

impl TrainError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        TrainError(message.into())
    }
}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError(format!("candle: {e}"))
    }
}
