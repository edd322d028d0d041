use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::StorageError;
use crate::{Mode, PostgresStorage, SqliteStorage, Store};

/// The store used when neither the study file nor the command line names one.
pub const DEFAULT_URL: &str = "sqlite://hyperplug.db";

/// The PostgreSQL schema used when the URL names none: hyperplug's tables stay out of `public`,
/// where other programs (Optuna among them) keep tables of the same names.
const DEFAULT_SCHEMA: &str = "hyperplug";

/// Where a store is, parsed from a storage URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// In this process only.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres {
        /// The connection URL as the client reads it (without `schema=`).
        url: String,
        /// The schema that holds hyperplug's tables.
        schema: String,
    },
}

impl Location {
    /// Parses a storage URL: `sqlite://PATH`, `sqlite:///ABSOLUTE/PATH`, `postgres://…` or
    /// `postgresql://…` (with `schema=NAME` among its query options), or `memory`.
    pub fn parse(url: &str) -> Result<Location, StorageError> {
        let url = url.trim();
        if url == "memory" || url == "memory://" {
            return Ok(Location::Memory);
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == "/" {
                return Err(bad(url, "it names no file"));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return postgres(url);
        }
        let hint = if url.contains("://") {
            "its scheme is not one hyperplug knows".to_owned()
        } else {
            format!("for a SQLite file write sqlite://{url}")
        };
        Err(bad(url, &hint))
    }

    /// Opens the persistent store here. `memory` is refused: nothing in it outlives a process.
    pub fn open_store(&self, mode: Mode) -> Result<Arc<dyn Store>, StorageError> {
        match self {
            Location::Memory => Err(StorageError::Unsupported(
                "`memory` keeps a study only while one process runs it, so there is nothing stored to read or join; use sqlite://FILE or postgres://…".into(),
            )),
            Location::Sqlite(path) => Ok(Arc::new(SqliteStorage::open(path, mode)?)),
            Location::Postgres { url, schema } => Ok(Arc::new(PostgresStorage::open(url, schema)?)),
        }
    }
}

impl fmt::Display for Location {
    /// The URL again, with any password left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Memory => f.write_str("memory"),
            Location::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Location::Postgres { url, schema } => {
                write!(f, "{}", redact(url))?;
                if schema != DEFAULT_SCHEMA {
                    write!(f, " (schema {schema})")?;
                }
                Ok(())
            }
        }
    }
}

fn bad(url: &str, why: &str) -> StorageError {
    StorageError::BadUrl(format!(
        "`{}` is not a storage URL ({why}); use sqlite://PATH (a file; sqlite:///PATH when absolute), postgres://USER@HOST:PORT/DATABASE, or memory",
        redact(url)
    ))
}

/// Splits `schema=NAME` out of a PostgreSQL URL's query; the client refuses options it does
/// not know.
fn postgres(url: &str) -> Result<Location, StorageError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut schema = DEFAULT_SCHEMA.to_owned();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", name)) => {
                let valid = !name.is_empty()
                    && name.len() <= 63
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !name.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    return Err(bad(
                        url,
                        &format!(
                            "schema `{name}` must be letters, digits and `_`, not starting with a digit"
                        ),
                    ));
                }
                schema = name.to_owned();
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    url.parse::<::postgres::Config>()
        .map_err(|e| bad(&url, &format!("the PostgreSQL client cannot read it: {e}")))?;
    Ok(Location::Postgres { url, schema })
}

/// `scheme://user:secret@host` as `scheme://user:***@host`; also `password=` options.
pub(crate) fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = &out[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            let start = scheme_end + 3 + colon + 1;
            let end = scheme_end + 3 + at;
            out.replace_range(start..end, "***");
        }
    }
    if let Some(i) = out.find("password=") {
        let end = out[i..].find('&').map_or(out.len(), |e| i + e);
        out.replace_range(i + "password=".len()..end, "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_bad_ones_say_what_exists() {
        assert_eq!(Location::parse("memory").unwrap(), Location::Memory);
        assert_eq!(
            Location::parse("sqlite://hyperplug.db").unwrap(),
            Location::Sqlite("hyperplug.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:///tmp/x/s.db").unwrap(),
            Location::Sqlite("/tmp/x/s.db".into())
        );
        assert_eq!(
            Location::parse("postgresql://me@db:5432/test?schema=s_1&connect_timeout=3").unwrap(),
            Location::Postgres {
                url: "postgresql://me@db:5432/test?connect_timeout=3".into(),
                schema: "s_1".into()
            }
        );
        let Location::Postgres { schema, .. } = Location::parse("postgres://me@db/test").unwrap()
        else {
            panic!("not postgres")
        };
        assert_eq!(schema, "hyperplug");
        for (url, needle) in [
            ("studies.db", "sqlite://studies.db"),
            ("mysql://x/y", "scheme"),
            ("sqlite://", "names no file"),
            ("postgres://me@db/test?schema=1x", "schema `1x`"),
            ("postgres://me@db/test?schema=a;drop", "schema"),
            ("postgres://me@db/test?colour=red", "cannot read it"),
        ] {
            let e = Location::parse(url).unwrap_err().to_string();
            assert!(e.contains(needle), "{url}: {e}");
            assert!(e.contains("sqlite://PATH") && e.contains("memory"), "{e}");
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://me:hunter2@db:5432/test"),
            "postgres://me:***@db:5432/test"
        );
        assert_eq!(
            redact("postgres://db/test?password=hunter2&x=1"),
            "postgres://db/test?password=***&x=1"
        );
        let e = Location::parse("postgres://me:hunter2@db/test?colour=red")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        let loc = Location::parse("postgres://me:hunter2@db/test?schema=s").unwrap();
        assert_eq!(loc.to_string(), "postgres://me:***@db/test (schema s)");
    }
}
