//! Persistent study storage: SQLite and PostgreSQL backends of the core [`Storage`] contract.
//!
//! A study stored here outlives the process that runs it, and any number of worker processes,
//! on one machine (SQLite) or many (PostgreSQL), run it together: a trial's number is reserved
//! in the database, in the same transaction that checks the budget and starts the trial, before
//! the strategy is asked for that number's parameters, a result is stored once (a trial
//! that is no longer running is refused), every worker reads the others' results in one finish
//! order, and trials whose worker stopped beating are failed and, when the study allows,
//! queued again with the same parameters.
//!
//! ```no_run
//! let store = hyperplug_storage::open("sqlite://studies.db")?;
//! // Hand `store` to `Study::open`; several processes may open the same file.
//! # Ok::<(), hyperplug_storage::StorageError>(())
//! ```
//!
//! Storage URLs: `sqlite://PATH` (relative to the working directory), `sqlite:///ABSOLUTE/PATH`,
//! `postgres://USER@HOST:PORT/DATABASE` (or `postgresql://`, with libpq's key/value options in
//! the query; `schema=NAME` picks the PostgreSQL schema, `hyperplug` by default) and `memory`.
//! A PostgreSQL password need not be in the URL: `password_file=PATH`, `password_env=NAME`,
//! `PGPASSWORD` and `~/.pgpass` are read when the URL holds none, and every URL shown goes
//! through [`redact`].
//!
//! Every write is one transaction. The schema is created on first use and carries a version:
//! an older one is migrated, a newer one refused. Beyond the core contract, [`Store`] lists,
//! reads back and deletes studies for the command line.
//!
//! Architecture invariant: this crate depends on `hyperplug-core` and the database clients
//! only: never on the host, the plugin ABI, a strategy or an objective. Core stays free of IO
//! because the IO lives here.
#![warn(missing_docs)]

mod codec;
mod engine;
mod error;
mod liveness;
mod location;
mod postgres;
mod sqlite;
#[cfg(test)]
mod suite;
pub mod testing;

use std::sync::Arc;

use hyperplug_core::{MemoryStorage, Storage, StudyId, StudyRecord, Trial, TrialState};

pub use error::StorageError;
pub use location::{DEFAULT_URL, Location, redact};
pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;

/// The schema version this build writes. Older databases are migrated up to it; newer ones are
/// refused.
pub const SCHEMA_VERSION: i64 = 3;

/// Whether opening a store may create it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Create the database (SQLite file, PostgreSQL schema) when it does not exist.
    Create,
    /// Refuse a SQLite file that does not exist, rather than leave an empty one behind.
    Existing,
    /// Read only, for the commands that only show a study: create, migrate and write nothing
    /// (a SQLite file is opened read-only, its journal mode left as it is), so that a
    /// read-only file or directory can be listed and a foreign database is left untouched.
    Read,
}

/// Opens the store at `url`, creating it if needed. `memory` gives a store that lives as long
/// as the process.
pub fn open(url: &str) -> Result<Arc<dyn Storage>, StorageError> {
    match Location::parse(url)? {
        Location::Memory => Ok(Arc::new(MemoryStorage::new())),
        location => Ok(location.open_store(Mode::Create)?),
    }
}

/// Opens the persistent store at `url` with the command line's extras. `memory` is refused: it
/// holds nothing another process could read.
pub fn open_store(url: &str, mode: Mode) -> Result<Arc<dyn Store>, StorageError> {
    Location::parse(url)?.open_store(mode)
}

/// What the command line needs of a persistent store beyond the core contract. Every method is
/// one query or one transaction.
pub trait Store: Storage {
    /// Where the store is, for messages (passwords left out).
    fn location(&self) -> String;

    /// The study called `name`, if the store holds one.
    fn find(&self, name: &str) -> Result<Option<StudySummary>, StorageError>;

    /// Every study, by name, with its counts and best value.
    fn studies(&self) -> Result<Vec<StudySummary>, StorageError>;

    /// Calls `each` with every trial of `study` by number, streaming them from one query; stops
    /// early when `each` returns `false`.
    fn each_trial(
        &self,
        study: StudyId,
        each: &mut dyn FnMut(StoredTrial) -> bool,
    ) -> Result<(), StorageError>;

    /// Deletes a study with its trials and queue; returns how many trials it held.
    fn delete(&self, study: StudyId) -> Result<u64, StorageError>;
}

/// A stored study at a glance.
#[derive(Clone, Debug, PartialEq)]
pub struct StudySummary {
    /// Its key.
    pub id: StudyId,
    /// What it is: name, space, directions, retries, grace, and the host's definition.
    pub record: StudyRecord,
    /// Trials by state.
    pub counts: Counts,
    /// Trials waiting in its queue (enqueued by a user, or retries).
    pub queued: u64,
    /// The best complete trial's number and values, for one objective.
    pub best: Option<(u64, Vec<f64>)>,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// When a trial last started or finished (or the study was opened), same clock.
    pub updated_ms: u64,
}

impl StudySummary {
    /// Every trial it holds, in any state.
    pub fn total(&self) -> u64 {
        self.counts.total()
    }
}

/// How many trials are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Running.
    pub running: u64,
    /// Complete.
    pub complete: u64,
    /// Pruned.
    pub pruned: u64,
    /// Failed.
    pub failed: u64,
}

impl Counts {
    /// Every trial.
    pub fn total(&self) -> u64 {
        self.running + self.complete + self.pruned + self.failed
    }

    fn add(&mut self, state: TrialState, n: u64) {
        match state {
            TrialState::Running => self.running += n,
            TrialState::Complete => self.complete += n,
            TrialState::Pruned => self.pruned += n,
            TrialState::Failed => self.failed += n,
        }
    }
}

/// A trial as stored: the trial, and who ran it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredTrial {
    /// The trial.
    pub trial: Trial,
    /// The worker that started it (`host:pid`).
    pub worker: Option<String>,
    /// For a retry of a trial lost with its worker: the number of the first trial of the chain.
    pub retry_of: Option<u64>,
    /// Its position in the study's finish order (from 1), once finished.
    pub finish_seq: Option<u64>,
    /// Its last heartbeat, in milliseconds since the Unix epoch (the database's clock).
    pub heartbeat_ms: Option<u64>,
}
