//! The SQLite backend: one file that any number of processes on one machine share.
//!
//! The file is in WAL mode, so readers never wait for writers. Every write transaction starts
//! with `BEGIN IMMEDIATE`, which takes the write lock up front: concurrent writers queue for it
//! (a busy handler with short, jittered sleeps) instead of failing with "database is locked",
//! as deferred transactions that upgrade to writing do. `synchronous = NORMAL`: a crash of the
//! process or the machine never corrupts the file or splits a transaction; a power loss may
//! drop the last transactions before the WAL reaches the disk.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{Connection, ErrorCode, OpenFlags, ToSql};

use crate::engine::{
    Arg, Backend, Conn, Db, Dialect, MIGRATION_2, Row, migrate, storage_via_db, stored_version,
    write,
};
use crate::error::StorageError;
use crate::{Mode, SCHEMA_VERSION};

/// A study store in a SQLite file.
pub struct SqliteStorage {
    db: Db,
}

storage_via_db!(SqliteStorage);

const DIALECT: Dialect = Dialect {
    now_ms: "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
    for_update: "",
    append_point: "json_insert(intermediate, '$[#]', json({}))",
    number_in: "number IN (SELECT value FROM json_each({}))",
    first_value: "json_extract(trial_values, '$[0]')",
    first_is_number: "json_type(trial_values, '$[0]') IN ('real', 'integer')",
    tables: "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('meta', 'studies', 'trials', 'queue') AND $1 IS NOT NULL ORDER BY name = 'meta' DESC, name",
    migrations: &[MIGRATION_1, MIGRATION_2, MIGRATION_3],
    placeholders: question_marks,
    writing_with: false,
};

/// Version 1: studies, trials and the queue.
const MIGRATION_1: &str = "
CREATE TABLE studies (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    next_number INTEGER NOT NULL DEFAULT 0,
    finish_seq INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE trials (
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    trial_values TEXT NOT NULL DEFAULT '[]',
    intermediate TEXT NOT NULL DEFAULT '[]',
    attrs TEXT NOT NULL DEFAULT '{}',
    message TEXT,
    started_ms INTEGER NOT NULL,
    duration_s REAL,
    finish_seq INTEGER,
    heartbeat_ms INTEGER,
    worker TEXT,
    retry_of INTEGER,
    PRIMARY KEY (study_id, number)
);
CREATE INDEX trials_by_finish ON trials (study_id, finish_seq);
CREATE TABLE queue (
    id INTEGER PRIMARY KEY,
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    retry_of INTEGER,
    created_ms INTEGER NOT NULL
);
CREATE INDEX queue_by_study ON queue (study_id, id);
";

/// Version 3: `params` may be NULL while a trial's number is reserved (SQLite cannot drop a
/// column's NOT NULL, so the trials table is built again), and studies count the trials that
/// count toward their limit, every trial but retries.
const MIGRATION_3: &str = "
CREATE TABLE trials_v3 (
    study_id INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    state TEXT NOT NULL,
    params TEXT,
    trial_values TEXT NOT NULL DEFAULT '[]',
    intermediate TEXT NOT NULL DEFAULT '[]',
    attrs TEXT NOT NULL DEFAULT '{}',
    message TEXT,
    started_ms INTEGER NOT NULL,
    duration_s REAL,
    finish_seq INTEGER,
    heartbeat_ms INTEGER,
    worker TEXT,
    retry_of INTEGER,
    worker_key TEXT,
    PRIMARY KEY (study_id, number)
);
INSERT INTO trials_v3 (study_id, number, state, params, trial_values, intermediate, attrs, message, started_ms, duration_s, finish_seq, heartbeat_ms, worker, retry_of, worker_key)
    SELECT study_id, number, state, params, trial_values, intermediate, attrs, message, started_ms, duration_s, finish_seq, heartbeat_ms, worker, retry_of, worker_key FROM trials;
DROP TABLE trials;
ALTER TABLE trials_v3 RENAME TO trials;
CREATE INDEX trials_by_finish ON trials (study_id, finish_seq);
CREATE INDEX trials_by_state ON trials (study_id, state);
ALTER TABLE studies ADD COLUMN budgeted INTEGER NOT NULL DEFAULT 0;
UPDATE studies SET budgeted = (SELECT count(*) FROM trials WHERE trials.study_id = studies.id AND trials.retry_of IS NULL);
";

/// Writers wait for the lock this long before giving up.
const BUSY_FOR: Duration = Duration::from_secs(60);

impl SqliteStorage {
    /// Opens (or, with [`Mode::Create`], creates) the store in the file at `path`, creating or
    /// migrating its schema. With [`Mode::Read`] the file is only read: a hyperplug file of an
    /// older schema is migrated only where it can be written; one of no schema is refused.
    pub fn open(path: &Path, mode: Mode) -> Result<Self, StorageError> {
        let location = format!("sqlite://{}", path.display());
        let conn = connect(path, mode, &location)?;
        let backend = SqliteBackend {
            main: Mutex::new(SqliteConn {
                conn,
                location: location.clone(),
            }),
            path: path.to_owned(),
            beat: Mutex::new(None),
        };
        let db = Db::new(Box::new(backend), &DIALECT, location.clone());
        if mode == Mode::Read {
            let version = db.with(|c, q| stored_version(c, q, &location, "main"))?;
            if version == 0 {
                return Err(StorageError::Empty { location });
            }
            if version < SCHEMA_VERSION {
                // The file is hyperplug's own: bring it up to date once, where it may.
                drop(db);
                return Self::open(path, Mode::Existing);
            }
            if version > SCHEMA_VERSION {
                return Err(StorageError::NewerSchema {
                    location,
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            return Ok(SqliteStorage { db });
        }
        db.with(|c, q| write(c, |c| migrate(c, &DIALECT, q, &location, "main")))?;
        Ok(SqliteStorage { db })
    }
}

fn connect(path: &Path, mode: Mode, location: &str) -> Result<Connection, StorageError> {
    let open_error = |reason: String| StorageError::Open {
        location: location.to_owned(),
        reason,
    };
    if mode != Mode::Create && !path.exists() {
        return Err(open_error(
            "there is no such file; run a study there first, or give another --storage".into(),
        ));
    }
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
    flags |= match mode {
        Mode::Create => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Mode::Existing => OpenFlags::SQLITE_OPEN_READ_WRITE,
        Mode::Read => OpenFlags::SQLITE_OPEN_READ_ONLY,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        let hint = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
                format!("; the directory {} does not exist", dir.display())
            }
            _ => String::new(),
        };
        open_error(format!("{e}{hint}"))
    })?;
    let conn = match (mode, own_file(&conn)) {
        // A WAL file in a directory this process cannot write: its shared-memory file cannot
        // be made, so read it as a file nobody changes meanwhile.
        (Mode::Read, Err(e)) if e.sqlite_error_code() == Some(ErrorCode::CannotOpen) => {
            let conn = Connection::open_with_flags(
                immutable_uri(path),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(|e| open_error(e.to_string()))?;
            own_file(&conn).map_err(|e| open_error(e.to_string()))?;
            conn
        }
        (_, Err(e)) => {
            return Err(match e.sqlite_error_code() {
                Some(ErrorCode::NotADatabase) => open_error(
                    "the file is not a SQLite database; give hyperplug a file of its own".into(),
                ),
                _ => open_error(e.to_string()),
            });
        }
        (_, Ok(Some(table))) => {
            // Checked before anything is set: another program's file is left as it was.
            return Err(StorageError::Foreign {
                location: location.to_owned(),
                reason: format!("it holds a table `{table}` that hyperplug did not create"),
            });
        }
        (_, Ok(None)) => conn,
    };
    conn.busy_handler(Some(wait_when_busy))
        .map_err(|e| open_error(e.to_string()))?;
    conn.set_prepared_statement_cache_capacity(64);
    let setup = match mode {
        // The journal mode is stored in the file: a reader leaves it alone.
        Mode::Read => "PRAGMA query_only = ON; PRAGMA foreign_keys = ON;",
        Mode::Create | Mode::Existing => {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
        }
    };
    // Switching a new file to WAL takes its exclusive lock without asking the busy handler, so
    // a process opening it at the same moment gets "database is locked": wait as the handler
    // would. Every statement here may run again.
    let mut attempt = 0;
    loop {
        match conn.execute_batch(setup) {
            Ok(()) => break,
            Err(e) if is_busy(&e) && wait_when_busy(attempt) => attempt += 1,
            Err(e) => return Err(open_error(e.to_string())),
        }
    }
    Ok(conn)
}

/// The tables hyperplug's schema has from its first version on.
const OWN_TABLES: [&str; 4] = ["meta", "queue", "studies", "trials"];

/// Whether the file is empty or hyperplug's: `Some(table)` names a table of a file that is
/// not (some other program's), read before anything in the file is changed.
fn own_file(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )?;
    let tables = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    if tables.is_empty() || OWN_TABLES.iter().all(|t| tables.iter().any(|n| n == t)) {
        return Ok(None);
    }
    let other = tables.iter().find(|t| !OWN_TABLES.contains(&t.as_str()));
    Ok(other.or(tables.first()).cloned())
}

/// A `file:` URI for `path` opened as immutable (SQLite takes no locks and makes no
/// shared-memory file).
fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// SQLite's busy handler: sleep briefly and try again, for up to [`BUSY_FOR`]. Short sleeps with
/// jitter keep many waiting writers from waking together and keep the lock busy.
fn wait_when_busy(attempt: i32) -> bool {
    let attempt = attempt.max(0) as u64;
    // 50 µs doubling to 2 ms, plus up to 0.5 ms of jitter from the process and attempt.
    let base = (50u64 << attempt.min(6)).min(2_000);
    let jitter = (u64::from(std::process::id()).wrapping_mul(2_654_435_761)
        ^ attempt.wrapping_mul(40_503))
        % 500;
    let slept_ms = attempt * 2;
    if slept_ms > BUSY_FOR.as_millis() as u64 {
        return false;
    }
    std::thread::sleep(Duration::from_micros(base + jitter));
    true
}

struct SqliteBackend {
    main: Mutex<SqliteConn>,
    path: std::path::PathBuf,
    /// The heartbeat's own connection, opened on the first beat, so that beats do not queue
    /// behind this process's other calls (they still wait for another process's write lock,
    /// as every write does).
    beat: Mutex<Option<SqliteConn>>,
}

impl Backend for SqliteBackend {
    fn with(
        &self,
        op: &mut dyn FnMut(&mut dyn Conn) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut conn = self.main.lock().unwrap_or_else(|p| p.into_inner());
        op(&mut *conn)
    }

    fn with_beat(
        &self,
        op: &mut dyn FnMut(&mut dyn Conn) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut slot = self.beat.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match slot.take() {
            Some(c) => slot.insert(c),
            None => {
                let location = format!("sqlite://{}", self.path.display());
                let conn = connect(&self.path, Mode::Existing, &location)?;
                slot.insert(SqliteConn { conn, location })
            }
        };
        op(conn)
    }
}

struct SqliteConn {
    conn: Connection,
    location: String,
}

impl SqliteConn {
    fn error(&self, e: rusqlite::Error) -> StorageError {
        sqlite_error(&self.location, e)
    }
}

fn sqlite_error(location: &str, e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StorageError::Database(format!(
                "{location} stayed busy for over {}s ({e}); another process holds it: is one stuck?",
                BUSY_FOR.as_secs()
            ))
        }
        Some(ErrorCode::DiskFull) => {
            StorageError::Database(format!("{location}: the disk is full ({e})"))
        }
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => StorageError::Database(format!(
            "{location} cannot be written ({e}); check its permissions"
        )),
        _ => StorageError::Database(format!("SQLite error on {location}: {e}")),
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Arg::Int(v) => ToSqlOutput::Owned(v.map_or(SqlValue::Null, SqlValue::Integer)),
            Arg::Real(v) => ToSqlOutput::Owned(v.map_or(SqlValue::Null, SqlValue::Real)),
            Arg::Text(v) => match v {
                Some(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
                None => ToSqlOutput::Owned(SqlValue::Null),
            },
        })
    }
}

struct SqliteRow<'a, 'b>(&'a rusqlite::Row<'b>);

impl Row for SqliteRow<'_, '_> {
    fn int(&self, i: usize) -> Result<Option<i64>, StorageError> {
        self.0.get(i).map_err(column_error)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, StorageError> {
        self.0.get(i).map_err(column_error)
    }
    fn text(&self, i: usize) -> Result<Option<String>, StorageError> {
        self.0.get(i).map_err(column_error)
    }
}

fn column_error(e: rusqlite::Error) -> StorageError {
    StorageError::Corrupt(format!("a stored value has an unexpected type: {e}"))
}

impl Conn for SqliteConn {
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StorageError> {
        let result = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut st| st.execute(rusqlite::params_from_iter(args.iter())));
        result.map(|n| n as u64).map_err(|e| self.error(e))
    }

    fn query(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        let location = &self.location;
        let mut st = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sqlite_error(location, e))?;
        let mut rows = st
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(|e| sqlite_error(location, e))?;
        while let Some(row) = rows.next().map_err(|e| sqlite_error(location, e))? {
            if !each(&SqliteRow(row))? {
                break;
            }
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StorageError> {
        self.conn.execute_batch(sql).map_err(|e| self.error(e))
    }

    fn begin(&mut self) -> Result<(), StorageError> {
        self.batch("BEGIN IMMEDIATE")
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.batch("ROLLBACK")
    }
}

/// `$1` as `?1`: SQLite numbers `$name` parameters by first appearance, `?N` by `N`.
fn question_marks(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::Store;

    fn fresh() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        (dir, path)
    }

    #[test]
    fn the_contract_holds() {
        let (_dir, path) = fresh();
        crate::suite::contract(&|| {
            Arc::new(SqliteStorage::open(&path, Mode::Create).unwrap()) as Arc<dyn Store>
        });
    }

    #[test]
    fn a_trial_whose_process_here_is_gone_is_failed_without_waiting_for_the_grace() {
        use hyperplug_core::{Direction, Domain, Param, Space, Storage, StudyRecord, Value};
        let Some(prefix) = crate::liveness::Worker::this_process().machine_prefix() else {
            return; // only heartbeats count off Linux
        };
        let (_dir, path) = fresh();
        let store = SqliteStorage::open(&path, Mode::Create).unwrap();
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let mut record = StudyRecord::new("s", space, vec![Direction::Minimize]);
        record.retries = 1;
        let id = store.open(&record).unwrap().0;
        let params = [("x".to_owned(), Value::Float(0.5))].into_iter().collect();
        let t = store.reserve(id, None).unwrap().unwrap();
        store.set_params(id, t.number, &params).unwrap();
        assert!(store.reap(id).unwrap().is_empty(), "this process is alive");
        // As if a process of this machine, since exited, had started it.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        Connection::open(&path)
            .unwrap()
            .execute(
                "UPDATE trials SET worker_key = ?1 WHERE number = ?2",
                rusqlite::params![format!("{prefix}{pid}"), t.number as i64],
            )
            .unwrap();
        let other = SqliteStorage::open(&path, Mode::Existing).unwrap();
        let reaped = other.reap(id).unwrap();
        assert_eq!(reaped.len(), 1, "60 s of grace left, yet failed now");
        let message = reaped[0].message.clone().unwrap();
        assert!(
            message.contains("process on this machine is gone"),
            "{message}"
        );
        let retry = other.claim_queued(id, Some(1)).unwrap().unwrap();
        assert_eq!((retry.number, retry.params), (1, params));
    }

    /// `hyperplug run` and workers started together on a file that does not exist yet: each
    /// waits for the others' switch to WAL instead of failing with "database is locked".
    #[test]
    fn processes_opening_a_new_file_at_once_all_open_it() {
        for round in 0..50 {
            let (_dir, path) = fresh();
            let start = std::sync::Barrier::new(4);
            std::thread::scope(|scope| {
                for _ in 0..4 {
                    scope.spawn(|| {
                        start.wait();
                        if let Err(e) = SqliteStorage::open(&path, Mode::Create) {
                            panic!("round {round}: {e}");
                        }
                    });
                }
            });
        }
    }

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            question_marks("SELECT '$[#]' FROM t WHERE a = $1 AND b = $12"),
            "SELECT '$[#]' FROM t WHERE a = ?1 AND b = ?12"
        );
    }

    #[test]
    fn a_newer_schema_is_refused_and_an_older_one_migrated() {
        let (_dir, path) = fresh();
        // Version 1, as an older hyperplug left it, with a study and a running trial.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '1');
             {MIGRATION_1}
             INSERT INTO studies (name, record, next_number, finish_seq, created_ms, updated_ms)
                 VALUES ('old', '{}', 1, 0, 0, 0);
             INSERT INTO trials (study_id, number, state, params, started_ms, heartbeat_ms)
                 VALUES (1, 0, 'running', '{{\"x\":0.5}}', 5, 5);",
            crate::suite::record_json("old")
        ))
        .unwrap();
        drop(conn);
        crate::suite::migrated(&SqliteStorage::open(&path, Mode::Existing).unwrap());
        let conn = Connection::open(&path).unwrap();
        let version: String = conn
            .query_row("SELECT value FROM meta", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, crate::SCHEMA_VERSION.to_string());

        conn.execute("UPDATE meta SET value = '99'", []).unwrap();
        drop(conn);
        let err = SqliteStorage::open(&path, Mode::Create)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("schema version 99")
                && err.contains("newer hyperplug")
                && err.contains(&format!("up to {}", crate::SCHEMA_VERSION)),
            "{err}"
        );
    }

    #[test]
    fn files_that_are_not_ours_or_not_there_are_refused_clearly() {
        let (dir, path) = fresh();
        let err = SqliteStorage::open(&path, Mode::Existing)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        assert!(!path.exists(), "nothing left behind");

        std::fs::write(
            &path,
            "not a database at all, just some text that is long enough to matter",
        )
        .unwrap();
        let err = SqliteStorage::open(&path, Mode::Create)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("not a SQLite database"), "{err}");

        let other = dir.path().join("optuna.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE studies (study_id INTEGER PRIMARY KEY)")
            .unwrap();
        let err = SqliteStorage::open(&other, Mode::Create)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("not a hyperplug database") && err.contains("`studies`"),
            "{err}"
        );

        let err = SqliteStorage::open(&dir.path().join("no/such/dir/s.db"), Mode::Create)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("does not exist"), "{err}");
    }

    #[test]
    fn a_foreign_file_is_refused_byte_for_byte_untouched_in_every_mode() {
        let (dir, _) = fresh();
        let other = dir.path().join("app.db");
        Connection::open(&other)
            .unwrap()
            .execute_batch(
                "CREATE TABLE users (id INTEGER PRIMARY KEY); INSERT INTO users VALUES (7);",
            )
            .unwrap();
        let before = std::fs::read(&other).unwrap();
        for mode in [Mode::Create, Mode::Existing, Mode::Read] {
            let err = SqliteStorage::open(&other, mode).err().unwrap().to_string();
            assert!(
                err.contains("not a hyperplug database") && err.contains("`users`"),
                "{mode:?}: {err}"
            );
            assert_eq!(
                std::fs::read(&other).unwrap(),
                before,
                "{mode:?} changed the file"
            );
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["app.db"], "no journal or WAL file left beside it");
    }

    #[test]
    fn reading_writes_nothing_and_works_on_a_read_only_file() {
        let (_dir, path) = fresh();
        let store = SqliteStorage::open(&path, Mode::Create).unwrap();
        drop(store);
        let before = std::fs::read(&path).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
        let store = SqliteStorage::open(&path, Mode::Read).unwrap();
        assert!(crate::Store::studies(&store).unwrap().is_empty());
        drop(store);
        assert_eq!(std::fs::read(&path).unwrap(), before);

        // An empty SQLite file is no study store; reading it says so and leaves it empty.
        let (_dir, empty) = fresh();
        std::fs::write(&empty, b"").unwrap();
        let err = SqliteStorage::open(&empty, Mode::Read)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("holds no study yet"), "{err}");
        assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
        let err = SqliteStorage::open(&_dir.path().join("none.db"), Mode::Read)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
    }
}
