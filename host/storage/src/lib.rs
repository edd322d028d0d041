//! Persistent study storage: SQLite and PostgreSQL backends of the core `Storage` contract.
