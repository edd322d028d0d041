use hyperplug_core::Error;

/// What went wrong with a store. Each message names the store and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    /// A storage URL that fits none of the forms.
    #[error("{0}")]
    BadUrl(String),
    /// The database could not be opened or reached.
    #[error("cannot open {location}: {reason}")]
    Open {
        /// Where.
        location: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The database was written by a newer hyperplug.
    #[error(
        "{location} holds schema version {found}, written by a newer hyperplug; this one reads versions up to {supported}. Upgrade hyperplug, or give another --storage"
    )]
    NewerSchema {
        /// Where.
        location: String,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database holds tables that hyperplug did not create.
    #[error(
        "{location} is not a hyperplug database: {reason}; give hyperplug a database of its own"
    )]
    Foreign {
        /// Where.
        location: String,
        /// What was found.
        reason: String,
    },
    /// A database without hyperplug's tables, opened only to read (nothing is created).
    #[error("{location} holds no study yet")]
    Empty {
        /// Where.
        location: String,
    },
    /// A stored study whose definition differs from the one given.
    #[error("{0}")]
    Incompatible(String),
    /// A trial that is no longer running (finished elsewhere, or failed for a lost heartbeat).
    #[error("trial {0} is not running in this study")]
    NotRunning(u64),
    /// A study key the store does not hold (deleted while in use).
    #[error("{location} holds no study with id {id}; was it deleted?")]
    NoStudy {
        /// Where.
        location: String,
        /// The key.
        id: i64,
    },
    /// The database refused or failed a statement.
    #[error("{0}")]
    Database(String),
    /// A conflict with another worker (deadlock, serialization failure) that retrying may
    /// resolve; surfaced only when retries did not.
    #[error("{0}")]
    Conflict(String),
    /// The connection to the database was lost; reconnecting may resolve it.
    #[error("{0}")]
    Disconnected(String),
    /// Stored data that cannot be read back.
    #[error("{0}")]
    Corrupt(String),
    /// An operation this store cannot do.
    #[error("{0}")]
    Unsupported(String),
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotRunning(n) => Error::NotRunning(n),
            // Like the in-memory store: the message says what changed.
            StorageError::Incompatible(m) => Error::Other(m),
            other => Error::Storage(other.to_string()),
        }
    }
}
