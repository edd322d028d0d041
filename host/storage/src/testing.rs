//! For tests, here and in crates that use this one: a PostgreSQL schema of its own per test, on
//! whichever server answers.

use std::sync::OnceLock;

use crate::PostgresStorage;

/// A PostgreSQL schema of its own for one test, dropped when this is. `None` (with the reason
/// printed) when no server answers, except under `CI=true`, where that fails the test: CI must
/// never skip the PostgreSQL tests silently.
pub struct PgTestSchema {
    /// The schema's name.
    pub name: String,
    /// The store URL of the schema (the server's URL with `schema=` added).
    pub url: String,
    /// The server's URL, without a schema.
    pub base: String,
}

impl PgTestSchema {
    /// A fresh schema whose name holds `tag`, the process id and the time.
    pub fn new(tag: &str) -> Option<Self> {
        let base = server()?.clone();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("hp_test_{tag}_{}_{nanos}", std::process::id());
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(PgTestSchema {
            url: format!("{base}{sep}schema={name}"),
            name,
            base,
        })
    }
}

impl PgTestSchema {
    /// A plain client of the server with the schema as its search path, for tests that change
    /// or lock rows behind the store's back.
    pub fn client(&self) -> Result<postgres::Client, String> {
        let mut client = self
            .base
            .parse::<postgres::Config>()
            .map_err(|e| e.to_string())?
            .connect(postgres::NoTls)
            .map_err(|e| e.to_string())?;
        client
            .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
            .map_err(|e| e.to_string())?;
        Ok(client)
    }
}

impl Drop for PgTestSchema {
    fn drop(&mut self) {
        if let Err(e) = PostgresStorage::drop_schema(&self.url) {
            eprintln!("cannot drop test schema {}: {e}", self.name);
        }
    }
}

/// The URL of a PostgreSQL server that answers: `HYPERPLUG_TEST_POSTGRES`, or the local server
/// as user `postgres` or `root`. Asked once per process.
fn server() -> Option<&'static String> {
    static SERVER: OnceLock<Option<String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let candidates: Vec<String> = match std::env::var("HYPERPLUG_TEST_POSTGRES") {
                Ok(url) => vec![url],
                Err(_) => ["postgres", "root"]
                    .iter()
                    .map(|u| format!("postgres://{u}@127.0.0.1:5432/test?connect_timeout=5"))
                    .collect(),
            };
            let mut errors = Vec::new();
            for url in candidates {
                // Dropping a schema that does not exist: a harmless way to ask for an answer.
                let sep = if url.contains('?') { '&' } else { '?' };
                match PostgresStorage::drop_schema(&format!("{url}{sep}schema=hp_probe_absent")) {
                    Ok(()) => return Some(url),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            let why = errors.join("; ");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true and no PostgreSQL server answers, so the PostgreSQL tests cannot run: {why}"
                );
            }
            eprintln!(
                "skipping the PostgreSQL tests: no server answers ({why}); set HYPERPLUG_TEST_POSTGRES to a server's URL"
            );
            None
        })
        .as_ref()
}
