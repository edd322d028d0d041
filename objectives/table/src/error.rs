use std::fmt;
use std::path::PathBuf;

/// Why a table or its space.json cannot be used. Every message names the file and, where it can,
/// the line and the column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// The file cannot be opened or read.
    #[error("{}: cannot read the file: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The space.json is malformed or declares something unusable.
    #[error("{}{}: {message}", path.display(), at_line_col(*at))]
    Space {
        /// The space.json file.
        path: PathBuf,
        /// 1-based line and column, when known.
        at: Option<(usize, usize)>,
        /// What is wrong.
        message: String,
    },
    /// A row or the header of the CSV cannot be read.
    #[error("{}{}{}: {message}", path.display(), at_line(*line), Column(column.as_deref()))]
    Csv {
        /// The CSV file.
        path: PathBuf,
        /// 1-based line of the file (1 is the header), when known.
        line: Option<u64>,
        /// The column, when one is at fault.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
}

fn at_line_col(at: Option<(usize, usize)>) -> String {
    at.map_or_else(String::new, |(l, c)| format!(":{l}:{c}"))
}

fn at_line(line: Option<u64>) -> String {
    line.map_or_else(String::new, |l| format!(":{l}"))
}

struct Column<'a>(Option<&'a str>);

impl fmt::Display for Column<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(c) => write!(f, ": column `{c}`"),
            None => Ok(()),
        }
    }
}
