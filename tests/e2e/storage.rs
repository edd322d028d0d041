//! Persistent studies: SQLite and PostgreSQL, many workers, heartbeats, resuming.
