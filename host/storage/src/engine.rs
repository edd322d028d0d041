//! The storage algorithms, written once over a small connection interface that SQLite and
//! PostgreSQL both implement.
//!
//! Concurrency rests on one rule: every write transaction that numbers a trial, or places one
//! in the finish order, first locks the study's row (SQLite: `BEGIN IMMEDIATE` locks the file;
//! PostgreSQL: the `UPDATE … RETURNING` or `SELECT … FOR UPDATE` on `studies`, which starting
//! and finishing a trial do in one statement, so one round trip) and holds it to commit. So numbers are never given twice, `limit` is checked against the committed count,
//! and finish positions are committed in increasing order: a reader that has seen position
//! `k` has seen every position before it, so `finished_since` never skips a late commit. One
//! lock, always taken first, also means no deadlock between these transactions.
//!
//! A call that the backend runs again after a lost connection may find its first run committed
//! (only the answer was lost). Starting a trial (`reserve`, `claim_queued`) and giving it its
//! parameters (`set_params`) then find what the first run did: a trial is named by its worker
//! and its start time, which is never the same twice in one process (`start_ms`). So a retry
//! never leaves a trial running that no worker owns, to be reaped as failed and counted against
//! the budget. Finishing a trial and releasing a reserved number, run again, succeed when they
//! find the first run's result stored or the number gone, instead of saying the trial is not
//! running (which a worker reports as a result that came too late, or an ask that failed).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyperplug_core::{Params, StudyId, StudyRecord, Trial, TrialState};

use crate::codec::{
    decode_intermediate, decode_params, decode_values, encode_intermediate, encode_params,
    encode_point, encode_values, parse_state, state_text,
};
use crate::error::StorageError;
use crate::liveness::Worker;
use crate::{Counts, SCHEMA_VERSION, StoredTrial, StudySummary};

/// A statement argument.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Arg<'a> {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<&'a str>),
}

impl<'a> Arg<'a> {
    pub fn int(i: i64) -> Self {
        Arg::Int(Some(i))
    }
    pub fn text(s: &'a str) -> Self {
        Arg::Text(Some(s))
    }
}

/// A result row, read by column index.
pub(crate) trait Row {
    fn int(&self, i: usize) -> Result<Option<i64>, StorageError>;
    fn real(&self, i: usize) -> Result<Option<f64>, StorageError>;
    fn text(&self, i: usize) -> Result<Option<String>, StorageError>;
}

/// One connection. Statements use `$1`-style placeholders in both dialects.
pub(crate) trait Conn {
    fn execute(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StorageError>;
    /// Calls `each` per row until it returns `false`.
    fn query(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        each: &mut dyn FnMut(&dyn Row) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError>;
    /// Runs several statements without arguments (schema changes).
    fn batch(&mut self, sql: &str) -> Result<(), StorageError>;
    /// Starts a write transaction.
    fn begin(&mut self) -> Result<(), StorageError>;
    fn commit(&mut self) -> Result<(), StorageError>;
    fn rollback(&mut self) -> Result<(), StorageError>;
}

/// A connection with its locking, retries and reconnection.
pub(crate) trait Backend: Send + Sync {
    /// Runs `op` on the connection; may run it again after a transient failure. Each run is
    /// whole (a transaction that failed was rolled back), except that after a lost connection
    /// the first run may have been committed with only its answer lost: an `op` that starts or
    /// changes a trial looks for its own earlier work when run again (see `Db::own_trial`).
    fn with(
        &self,
        op: &mut dyn FnMut(&mut dyn Conn) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// [`Backend::with`] on a connection of the heartbeat's own, so that a beat never waits
    /// for this process's other work on the database (a worker blocked on a lock, a slow
    /// query) and trials stay alive through a stall.
    fn with_beat(
        &self,
        op: &mut dyn FnMut(&mut dyn Conn) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;
}

/// Version 2 of the schema, the same in both dialects: which machine and process ran a trial (to
/// fail it at once when that process is gone), and an index for running trials and counts by
/// state.
pub(crate) const MIGRATION_2: &str = "
ALTER TABLE trials ADD COLUMN worker_key TEXT;
CREATE INDEX trials_by_state ON trials (study_id, state);
";

/// What differs between the SQL dialects.
pub(crate) struct Dialect {
    /// The database's clock, in milliseconds since the Unix epoch.
    pub now_ms: &'static str,
    /// Appended to a SELECT that must lock the study row to commit (empty where the write
    /// transaction already locks everything).
    pub for_update: &'static str,
    /// The stored intermediate list with the one-point JSON text in placeholder `{}` appended.
    pub append_point: &'static str,
    /// A condition: `number` is one of the JSON array in placeholder `{}`.
    pub number_in: &'static str,
    /// The first objective value of `trial_values`, as a number.
    pub first_value: &'static str,
    /// A condition: the first objective value is a number (not a non-finite spelling).
    pub first_is_number: &'static str,
    /// Lists which of hyperplug's tables exist (one text column), given the schema as `$1`.
    pub tables: &'static str,
    /// Schema changes: entry `v` takes the schema from version `v` to `v + 1`.
    pub migrations: &'static [&'static str],
    /// Placeholders in the backend's own form.
    pub placeholders: fn(&str) -> String,
    /// Whether a statement may modify rows in a `WITH` clause. Then starting and finishing a
    /// trial are one statement each: one round trip, and the study row stays locked only while
    /// the server runs it, not while a client that holds it waits for a CPU.
    pub writing_with: bool,
}

const TRIAL_COLUMNS: &str = "number, state, params, trial_values, intermediate, attrs, message, started_ms, duration_s, finish_seq, heartbeat_ms, worker, retry_of";

/// Every statement, built once for a dialect.
pub(crate) struct Queries {
    find_study: String,
    insert_study: String,
    update_record: String,
    take_number: String,
    counted: String,
    reserve_one: Option<String>,
    set_params: String,
    set_params_again: String,
    own_trial: String,
    finished_as: String,
    trial_exists: String,
    release: String,
    uncount: String,
    finish_one: Option<String>,
    study_exists: String,
    insert_trial: String,
    peek: String,
    lock_study: String,
    queue_head: String,
    queue_delete: String,
    set_next: String,
    report: String,
    heartbeat: String,
    take_seq: String,
    finish_trial: String,
    finished_since: String,
    running: String,
    enqueue: String,
    stale: String,
    reap_trial: String,
    retries_of: String,
    set_seq: String,
    record_of: String,
    studies: String,
    study_named: String,
    counts: String,
    counts_of: String,
    queued: String,
    queued_of: String,
    best_min: String,
    best_max: String,
    all_trials: String,
    delete_queue: String,
    delete_trials: String,
    delete_study: String,
    meta_version: String,
    create_meta: String,
    set_version: String,
    tables: String,
}

impl Queries {
    pub fn new(d: &Dialect) -> Self {
        let now = d.now_ms;
        let lock = d.for_update;
        let p = d.placeholders;
        let best = |order: &str| {
            p(&format!(
                "SELECT number, trial_values FROM trials WHERE study_id = $1 AND state = 'complete' AND {} ORDER BY {} {order}, number LIMIT 1",
                d.first_is_number, d.first_value
            ))
        };
        Queries {
            find_study: p(&format!(
                "SELECT id, record FROM studies WHERE name = $1{lock}"
            )),
            insert_study: p(&format!(
                "INSERT INTO studies (name, record, next_number, finish_seq, created_ms, updated_ms) VALUES ($1, $2, 0, 0, {now}, {now}) ON CONFLICT (name) DO NOTHING RETURNING id"
            )),
            update_record: p(&format!(
                "UPDATE studies SET record = $2, updated_ms = {now} WHERE id = $1"
            )),
            counted: p("SELECT budgeted FROM studies WHERE id = $1"),
            take_number: p(&format!(
                "UPDATE studies SET next_number = next_number + 1, budgeted = budgeted + 1, updated_ms = {now} WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR budgeted < CAST($2 AS BIGINT)) RETURNING next_number - 1"
            )),
            // Numbering first, so the study row is locked before the trial row exists. The
            // parameters come later (`set_params`): NULL until then.
            reserve_one: d.writing_with.then(|| p(&format!(
                "WITH n AS (UPDATE studies SET next_number = next_number + 1, budgeted = budgeted + 1, updated_ms = {now} WHERE id = $1 AND (CAST($2 AS BIGINT) IS NULL OR budgeted < CAST($2 AS BIGINT)) RETURNING next_number - 1 AS number) \
                 INSERT INTO trials (study_id, number, state, params, trial_values, intermediate, attrs, started_ms, heartbeat_ms, worker, worker_key, retry_of) \
                 SELECT $1, n.number, 'running', NULL, '[]', '[]', '{{}}', $3, {now}, $4, $5, NULL FROM n RETURNING number"
            ))),
            set_params: p(
                "UPDATE trials SET params = $3 WHERE study_id = $1 AND number = $2 AND state = 'running' AND params IS NULL",
            ),
            // A re-run of `set_params` whose first run may have been committed.
            set_params_again: p(
                "UPDATE trials SET params = $3 WHERE study_id = $1 AND number = $2 AND state = 'running' AND (params IS NULL OR params = $3)",
            ),
            // The trial that one call of this worker started (see `start_ms`), if it still runs.
            own_trial: p(
                "SELECT number, params FROM trials WHERE study_id = $1 AND state = 'running' AND started_ms = $2 AND worker = $3 AND COALESCE(worker_key, '') = COALESCE(CAST($4 AS TEXT), '')",
            ),
            // A finish run again: whether its first run stored this very result.
            finished_as: p(
                "SELECT number FROM trials WHERE study_id = $1 AND number = $2 AND started_ms = $3 AND state = $4 AND trial_values = $5",
            ),
            // A release run again: whether its first run already deleted the trial.
            trial_exists: p("SELECT number FROM trials WHERE study_id = $1 AND number = $2"),
            release: p(
                "DELETE FROM trials WHERE study_id = $1 AND number = $2 AND state = 'running' AND params IS NULL",
            ),
            uncount: p(&format!(
                "UPDATE studies SET budgeted = budgeted - 1, updated_ms = {now} WHERE id = $1"
            )),
            // The study row is locked (and the finish position taken) only for a trial still
            // running; two workers finishing one trial at once may leave a gap in the positions,
            // which readers never notice: they ask for positions after the last one they saw.
            finish_one: d.writing_with.then(|| p(&format!(
                "WITH s AS (UPDATE studies SET finish_seq = finish_seq + 1, updated_ms = {now} WHERE id = $1 AND EXISTS (SELECT 1 FROM trials WHERE study_id = $1 AND number = $2 AND state = 'running' AND started_ms = $9) RETURNING finish_seq) \
                 UPDATE trials SET state = $3, trial_values = $4, intermediate = $5, attrs = $6, message = $7, duration_s = $8, finish_seq = s.finish_seq, heartbeat_ms = {now}, params = $10 \
                 FROM s WHERE trials.study_id = $1 AND trials.number = $2 AND trials.state = 'running' AND trials.started_ms = $9 RETURNING trials.finish_seq"
            ))),
            study_exists: p("SELECT id FROM studies WHERE id = $1"),
            insert_trial: p(&format!(
                "INSERT INTO trials (study_id, number, state, params, trial_values, intermediate, attrs, started_ms, heartbeat_ms, worker, worker_key, retry_of) VALUES ($1, $2, 'running', $3, '[]', '[]', '{{}}', $4, {now}, $5, $6, $7)"
            )),
            peek: p(
                "SELECT next_number, (SELECT id FROM queue WHERE study_id = $1 LIMIT 1) FROM studies WHERE id = $1",
            ),
            lock_study: p(&format!(
                "SELECT next_number, finish_seq, budgeted FROM studies WHERE id = $1{lock}"
            )),
            queue_head: p(
                "SELECT id, params, retry_of FROM queue WHERE study_id = $1 AND (CAST($2 AS BIGINT) = 1 OR retry_of IS NOT NULL) ORDER BY id LIMIT 1",
            ),
            queue_delete: p("DELETE FROM queue WHERE id = $1"),
            set_next: p(&format!(
                "UPDATE studies SET next_number = $2, budgeted = budgeted + $3, updated_ms = {now} WHERE id = $1"
            )),
            report: p(&format!(
                "UPDATE trials SET intermediate = {} WHERE study_id = $1 AND number = $2 AND state = 'running'",
                d.append_point.replace("{}", "$3")
            )),
            heartbeat: p(&format!(
                "UPDATE trials SET heartbeat_ms = {now} WHERE study_id = $1 AND state = 'running' AND {}",
                d.number_in.replace("{}", "$2")
            )),
            take_seq: p(&format!(
                "UPDATE studies SET finish_seq = finish_seq + 1, updated_ms = {now} WHERE id = $1 RETURNING finish_seq"
            )),
            finish_trial: p(&format!(
                "UPDATE trials SET state = $3, trial_values = $4, intermediate = $5, attrs = $6, message = $7, duration_s = $8, finish_seq = $11, heartbeat_ms = {now}, params = $10 WHERE study_id = $1 AND number = $2 AND state = 'running' AND started_ms = $9"
            )),
            // With the running trials, for the `running` call that follows (see `Stash`); two
            // index searches, since SQLite would answer an `OR` by walking the whole study.
            finished_since: p(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND finish_seq > $2 UNION ALL SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND state = 'running'"
            )),
            running: p(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 AND state = 'running'"
            )),
            enqueue: p(&format!(
                "INSERT INTO queue (study_id, params, retry_of, created_ms) VALUES ($1, $2, $3, {now})"
            )),
            stale: p(&format!(
                "SELECT number, heartbeat_ms, worker_key, {now} FROM trials WHERE study_id = $1 AND state = 'running' AND (heartbeat_ms < {now} - $2 OR worker_key LIKE $3)"
            )),
            reap_trial: p(&format!(
                "UPDATE trials SET state = 'failed', message = $3, duration_s = CAST(($4 - started_ms) AS DOUBLE PRECISION) / 1000.0, finish_seq = $5 WHERE study_id = $1 AND number = $2 AND state = 'running' AND heartbeat_ms = $6 RETURNING {TRIAL_COLUMNS}"
            )),
            retries_of: p(
                "SELECT (SELECT count(*) FROM trials WHERE study_id = $1 AND retry_of = $2) + (SELECT count(*) FROM queue WHERE study_id = $1 AND retry_of = $2)",
            ),
            set_seq: p(&format!(
                "UPDATE studies SET finish_seq = $2, updated_ms = {now} WHERE id = $1"
            )),
            record_of: p("SELECT record FROM studies WHERE id = $1"),
            studies: p("SELECT id, record, created_ms, updated_ms FROM studies ORDER BY name"),
            study_named: p(
                "SELECT id, record, created_ms, updated_ms FROM studies WHERE name = $1",
            ),
            counts: p("SELECT study_id, state, count(*) FROM trials GROUP BY study_id, state"),
            counts_of: p(
                "SELECT study_id, state, count(*) FROM trials WHERE study_id = $1 GROUP BY study_id, state",
            ),
            queued: p("SELECT study_id, count(*) FROM queue GROUP BY study_id"),
            queued_of: p(
                "SELECT study_id, count(*) FROM queue WHERE study_id = $1 GROUP BY study_id",
            ),
            best_min: best("ASC"),
            best_max: best("DESC"),
            all_trials: p(&format!(
                "SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = $1 ORDER BY number"
            )),
            delete_queue: p("DELETE FROM queue WHERE study_id = $1"),
            delete_trials: p("DELETE FROM trials WHERE study_id = $1"),
            delete_study: p("DELETE FROM studies WHERE id = $1"),
            meta_version: "SELECT value FROM meta WHERE key = 'schema_version'".into(),
            create_meta:
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)".into(),
            set_version: p(
                "INSERT INTO meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ),
            tables: p(d.tables),
        }
    }
}

/// The rows of a query, each mapped.
pub(crate) fn rows<T>(
    c: &mut dyn Conn,
    sql: &str,
    args: &[Arg<'_>],
    mut map: impl FnMut(&dyn Row) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    let mut out = Vec::new();
    c.query(sql, args, &mut |r| {
        out.push(map(r)?);
        Ok(true)
    })?;
    Ok(out)
}

/// The first row of a query, mapped.
pub(crate) fn first<T>(
    c: &mut dyn Conn,
    sql: &str,
    args: &[Arg<'_>],
    map: impl FnOnce(&dyn Row) -> Result<T, StorageError>,
) -> Result<Option<T>, StorageError> {
    let mut map = Some(map);
    let mut out = None;
    c.query(sql, args, &mut |r| {
        if let Some(m) = map.take() {
            out = Some(m(r)?);
        }
        Ok(false)
    })?;
    Ok(out)
}

/// Runs `f` in a write transaction: committed if it returns `Ok`, rolled back otherwise.
pub(crate) fn write<T>(
    c: &mut dyn Conn,
    f: impl FnOnce(&mut dyn Conn) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    c.begin()?;
    match f(c) {
        Ok(v) => match c.commit() {
            Ok(()) => Ok(v),
            Err(e) => {
                let _ = c.rollback();
                Err(e)
            }
        },
        Err(e) => {
            let _ = c.rollback();
            Err(e)
        }
    }
}

fn need_int(r: &dyn Row, i: usize) -> Result<i64, StorageError> {
    r.int(i)?
        .ok_or_else(|| StorageError::Corrupt(format!("column {i} is unexpectedly empty")))
}

fn need_text(r: &dyn Row, i: usize) -> Result<String, StorageError> {
    r.text(i)?
        .ok_or_else(|| StorageError::Corrupt(format!("column {i} is unexpectedly empty")))
}

fn u(i: i64) -> u64 {
    u64::try_from(i).unwrap_or(0)
}

fn i(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The start time of a trial this process starts: the clock, but never one millisecond twice in
/// the process, so that start time and worker name one trial, and a call run again after a
/// lost answer finds the trial its first run started.
fn start_ms() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = now_ms();
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

fn stored_trial(r: &dyn Row) -> Result<StoredTrial, StorageError> {
    let (intermediate, intermediate_values) = decode_intermediate(&need_text(r, 4)?)?;
    let trial = Trial {
        number: u(need_int(r, 0)?),
        state: parse_state(&need_text(r, 1)?)?,
        // NULL while the number is reserved and the strategy has not yet suggested.
        params: r
            .text(2)?
            .map(|p| decode_params(&p))
            .transpose()?
            .unwrap_or_default(),
        values: decode_values(&need_text(r, 3)?)?,
        intermediate,
        intermediate_values,
        started_ms: u(need_int(r, 7)?),
        duration_s: r.real(8)?,
        user_attrs: decode_params(&need_text(r, 5)?)?,
        message: r.text(6)?,
    };
    Ok(StoredTrial {
        trial,
        finish_seq: r.int(9)?.map(u),
        heartbeat_ms: r.int(10)?.map(u),
        worker: r.text(11)?,
        retry_of: r.int(12)?.map(u),
    })
}

fn record_json(text: &str) -> Result<StudyRecord, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Corrupt(format!("a stored study record cannot be read: {e}")))
}

/// Creates or migrates the schema; the caller holds whatever lock keeps two openers apart.
pub(crate) fn migrate(
    c: &mut dyn Conn,
    d: &Dialect,
    q: &Queries,
    location: &str,
    schema: &str,
) -> Result<(), StorageError> {
    let version = stored_version(c, q, location, schema)?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            location: location.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    c.batch(&q.create_meta)?;
    for (v, step) in d.migrations.iter().enumerate().skip(version as usize) {
        c.batch(step)?;
        log::debug!("{location}: schema migrated to version {}", v + 1);
    }
    c.execute(&q.set_version, &[Arg::text(&SCHEMA_VERSION.to_string())])?;
    Ok(())
}

/// The schema version stored in `schema`: 0 where hyperplug's tables are not there yet. Reads
/// only, so read-only commands can check a database before using it.
pub(crate) fn stored_version(
    c: &mut dyn Conn,
    q: &Queries,
    location: &str,
    schema: &str,
) -> Result<i64, StorageError> {
    let present = rows(c, &q.tables, &[Arg::text(schema)], |r| need_text(r, 0))?;
    if present.iter().any(|t| t == "meta") {
        Ok(first(c, &q.meta_version, &[], |r| need_text(r, 0))?
            .map(|v| {
                v.parse::<i64>().map_err(|_| StorageError::Foreign {
                    location: location.to_owned(),
                    reason: format!("its schema version `{v}` is not a number"),
                })
            })
            .transpose()?
            .unwrap_or(0))
    } else if let Some(t) = present.first() {
        Err(StorageError::Foreign {
            location: location.to_owned(),
            reason: format!("it holds a table `{t}` that hyperplug did not create"),
        })
    } else {
        Ok(0)
    }
}

/// A trial about to be inserted as running.
struct NewTrial<'a> {
    number: i64,
    /// Encoded; `None` for a reserved trial.
    params: Option<&'a str>,
    started_ms: u64,
    /// The first trial of the chain, for a retry.
    retry_of: Option<i64>,
}

/// What reaping needs to know of a study.
#[derive(Clone, Copy)]
struct Rules {
    grace_ms: i64,
    retries: u32,
}

/// A store over one backend: the `Storage` contract and the command line's extras.
pub(crate) struct Db {
    backend: Box<dyn Backend>,
    q: Queries,
    location: String,
    worker: Worker,
    rules: Mutex<HashMap<StudyId, Rules>>,
    last_reap: Mutex<HashMap<StudyId, Instant>>,
    stash: Mutex<Stash>,
    /// Study names by key, for warnings.
    names: Mutex<HashMap<StudyId, String>>,
    /// Unreadable trials already warned about, so that each is named once per process.
    warned: Mutex<HashSet<(StudyId, Option<u64>)>>,
}

/// Answers read together with an earlier one, for the call that the study makes right after
/// it: `running` after `finished_since`. One round trip instead of two, and the pair comes from
/// one snapshot. An answer is used once, within [`STASH_FOR`], and dropped by any write to its
/// study.
#[derive(Default)]
struct Stash {
    running: HashMap<StudyId, (Vec<Trial>, Instant)>,
}

const STASH_FOR: Duration = Duration::from_millis(100);

/// Reaping looks for dead trials at most this often per study and process.
const REAP_EVERY: Duration = Duration::from_secs(1);

impl Db {
    pub fn new(backend: Box<dyn Backend>, dialect: &Dialect, location: String) -> Self {
        Db {
            backend,
            q: Queries::new(dialect),
            location,
            worker: Worker::this_process(),
            rules: Mutex::new(HashMap::new()),
            last_reap: Mutex::new(HashMap::new()),
            stash: Mutex::new(Stash::default()),
            names: Mutex::new(HashMap::new()),
            warned: Mutex::new(HashSet::new()),
        }
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// Forgets the stashed answers about `study`: it is about to change.
    fn changing(&self, study: StudyId) {
        lock(&self.stash).running.remove(&study);
    }

    /// Runs `op` on the backend's connection.
    pub(crate) fn with<T>(
        &self,
        mut op: impl FnMut(&mut dyn Conn, &Queries) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let mut out = None;
        self.backend.with(&mut |c| {
            out = Some(op(c, &self.q)?);
            Ok(())
        })?;
        out.ok_or_else(|| StorageError::Database("the database returned nothing".into()))
    }

    fn no_study(&self, id: StudyId) -> StorageError {
        StorageError::NoStudy {
            location: self.location.clone(),
            id,
        }
    }

    fn remember(&self, id: StudyId, record: &StudyRecord) {
        let rules = Rules {
            grace_ms: (record.grace_s * 1000.0).round() as i64,
            retries: record.retries,
        };
        lock(&self.rules).insert(id, rules);
        lock(&self.names).insert(id, record.name.clone());
    }

    /// Reads a trial row; one that cannot be read is named in a warning (once) and left out,
    /// so that one damaged row does not make the whole study unusable. Gives the row's finish
    /// position either way, for the finish-order cursor.
    fn readable(
        &self,
        study: StudyId,
        r: &dyn Row,
    ) -> Result<(Option<StoredTrial>, Option<u64>), StorageError> {
        match stored_trial(r) {
            Ok(t) => {
                let seq = t.finish_seq;
                Ok((Some(t), seq))
            }
            Err(e) => {
                let number = r.int(0).ok().flatten().map(u);
                let seq = r.int(9).ok().flatten().map(u);
                if lock(&self.warned).insert((study, number)) {
                    let name = lock(&self.names)
                        .get(&study)
                        .map_or_else(|| format!("with id {study}"), |n| format!("`{n}`"));
                    let which = number.map_or_else(
                        || "a trial without a number".to_owned(),
                        |n| format!("trial {n}"),
                    );
                    log::warn!(
                        "{}: study {name}, {which} is unreadable and left out ({e}); repair or delete that row to use it",
                        self.location
                    );
                }
                Ok((None, seq))
            }
        }
    }

    fn rules(&self, id: StudyId) -> Result<Rules, StorageError> {
        if let Some(r) = lock(&self.rules).get(&id) {
            return Ok(*r);
        }
        let text = self
            .with(|c, q| first(c, &q.record_of, &[Arg::int(id)], |r| need_text(r, 0)))?
            .ok_or_else(|| self.no_study(id))?;
        let record = record_json(&text)?;
        self.remember(id, &record);
        Ok(lock(&self.rules)[&id])
    }

    /// Opens or creates the study in one transaction: the record kept is decided (see
    /// [`StudyRecord::updated_by`]) with the study row locked, so racing openers of a new study
    /// all get back the first creator's record, seed included.
    pub fn open_study(&self, record: &StudyRecord) -> Result<(StudyId, StudyRecord), StorageError> {
        // What a new study stores: the record as asked, its seed (proposed or not) included.
        let new = StudyRecord {
            seed_proposed: false,
            ..record.clone()
        };
        let text = serde_json::to_string(&new)
            .map_err(|e| StorageError::Database(format!("cannot encode the study record: {e}")))?;
        let (id, kept) = self.with(|c, q| {
            write(c, |c| {
                loop {
                    let found = first(c, &q.find_study, &[Arg::text(&record.name)], |r| {
                        Ok((need_int(r, 0)?, need_text(r, 1)?))
                    })?;
                    if let Some((id, stored)) = found {
                        let stored = record_json(&stored)?;
                        if let Some(why) = stored.incompatibility(record) {
                            return Err(StorageError::Incompatible(why));
                        }
                        // A worker joining opens with the record it read, so it writes nothing
                        // and needs no right to change the definition every worker runs.
                        let updated = stored.updated_by(record);
                        if !same_record(&stored, &updated) {
                            let text = serde_json::to_string(&updated).map_err(|e| {
                                StorageError::Database(format!(
                                    "cannot encode the study record: {e}"
                                ))
                            })?;
                            c.execute(&q.update_record, &[Arg::int(id), Arg::text(&text)])?;
                        }
                        return Ok((id, updated));
                    }
                    let made = first(
                        c,
                        &q.insert_study,
                        &[Arg::text(&record.name), Arg::text(&text)],
                        |r| need_int(r, 0),
                    )?;
                    if let Some(id) = made {
                        return Ok((id, new.clone()));
                    }
                    // Another worker created it since we looked; its row is committed now.
                }
            })
        })?;
        self.remember(id, &kept);
        Ok((id, kept))
    }

    /// How often trials should beat: a quarter of the shortest grace period of the studies
    /// opened here, so three beats may be lost before a trial counts as dead.
    pub fn heartbeat_interval(&self) -> Duration {
        let shortest = lock(&self.rules)
            .values()
            .map(|r| r.grace_ms)
            .min()
            .unwrap_or(60_000);
        Duration::from_millis((shortest / 4).clamp(50, 30_000) as u64)
    }

    /// Inserts a running trial started by this worker.
    fn insert_trial(
        &self,
        c: &mut dyn Conn,
        q: &Queries,
        study: StudyId,
        trial: NewTrial<'_>,
    ) -> Result<(), StorageError> {
        c.execute(
            &q.insert_trial,
            &[
                Arg::int(study),
                Arg::int(trial.number),
                Arg::Text(trial.params),
                Arg::int(i(trial.started_ms)),
                Arg::text(&self.worker.name),
                Arg::Text(self.worker.key.as_deref()),
                Arg::Int(trial.retry_of),
            ],
        )?;
        Ok(())
    }

    /// The number and parameters of the running trial this worker started at `started`.
    fn own_trial(
        &self,
        c: &mut dyn Conn,
        q: &Queries,
        study: StudyId,
        started: u64,
    ) -> Result<Option<(i64, Option<String>)>, StorageError> {
        first(
            c,
            &q.own_trial,
            &[
                Arg::int(study),
                Arg::int(i(started)),
                Arg::text(&self.worker.name),
                Arg::Text(self.worker.key.as_deref()),
            ],
            |r| Ok((need_int(r, 0)?, r.text(1)?)),
        )
    }

    pub fn reserve(
        &self,
        study: StudyId,
        limit: Option<u64>,
    ) -> Result<Option<Trial>, StorageError> {
        self.changing(study);
        let started = start_ms();
        // Whether the backend runs this again (after a lost connection, the first run may have
        // been committed without our hearing of it).
        let mut ran = false;
        let number = self.with(|c, q| {
            let again = std::mem::replace(&mut ran, true);
            if let (Some(sql), false) = (&q.reserve_one, again) {
                let number = first(
                    c,
                    sql,
                    &[
                        Arg::int(study),
                        limit_arg(limit),
                        Arg::int(i(started)),
                        Arg::text(&self.worker.name),
                        Arg::Text(self.worker.key.as_deref()),
                    ],
                    |r| need_int(r, 0),
                )?;
                return match number {
                    Some(n) => Ok(Some(n)),
                    None => match first(c, &q.study_exists, &[Arg::int(study)], |r| r.int(0))? {
                        Some(_) => Ok(None),
                        None => Err(self.no_study(study)),
                    },
                };
            }
            write(c, |c| {
                if again {
                    // The study row first: a lost statement still running holds it, so its
                    // trial is committed or rolled back before we look for it.
                    if first(c, &q.lock_study, &[Arg::int(study)], |r| need_int(r, 0))?.is_none() {
                        return Err(self.no_study(study));
                    }
                    if let Some((number, _)) = self.own_trial(c, q, study, started)? {
                        return Ok(Some(number));
                    }
                }
                let number = first(
                    c,
                    &q.take_number,
                    &[Arg::int(study), limit_arg(limit)],
                    |r| need_int(r, 0),
                )?;
                let Some(number) = number else {
                    return match first(c, &q.study_exists, &[Arg::int(study)], |r| r.int(0))? {
                        Some(_) => Ok(None),
                        None => Err(self.no_study(study)),
                    };
                };
                self.insert_trial(
                    c,
                    q,
                    study,
                    NewTrial {
                        number,
                        params: None,
                        started_ms: started,
                        retry_of: None,
                    },
                )?;
                Ok(Some(number))
            })
        })?;
        Ok(number.map(|n| Trial::running(u(n), Params::new(), started)))
    }

    pub fn set_params(
        &self,
        study: StudyId,
        number: u64,
        params: &Params,
    ) -> Result<(), StorageError> {
        self.changing(study);
        let encoded = encode_params(params);
        let mut ran = false;
        let changed = self.with(|c, q| {
            // Run again, it accepts the parameters its first run may have stored.
            let sql = if std::mem::replace(&mut ran, true) {
                &q.set_params_again
            } else {
                &q.set_params
            };
            c.execute(
                sql,
                &[Arg::int(study), Arg::int(i(number)), Arg::text(&encoded)],
            )
        })?;
        if changed == 0 {
            return Err(StorageError::NotRunning(number));
        }
        Ok(())
    }

    pub fn release(&self, study: StudyId, number: u64) -> Result<(), StorageError> {
        self.changing(study);
        let mut ran = false;
        self.with(|c, q| {
            let again = std::mem::replace(&mut ran, true);
            write(c, |c| {
                // The study row first, as every write that changes its counts.
                if first(c, &q.lock_study, &[Arg::int(study)], |r| need_int(r, 0))?.is_none() {
                    return Err(self.no_study(study));
                }
                if c.execute(&q.release, &[Arg::int(study), Arg::int(i(number))])? == 0 {
                    // Run again after a lost answer, a trial already gone was the first run's
                    // work (committed with its uncount).
                    let args = [Arg::int(study), Arg::int(i(number))];
                    if again && first(c, &q.trial_exists, &args, |r| need_int(r, 0))?.is_none() {
                        return Ok(());
                    }
                    return Err(StorageError::NotRunning(number));
                }
                c.execute(&q.uncount, &[Arg::int(study)])?;
                Ok(())
            })
        })
    }

    pub fn claim_queued(
        &self,
        study: StudyId,
        limit: Option<u64>,
    ) -> Result<Option<Trial>, StorageError> {
        // Most asks find the queue empty: say so without a write transaction, and keep the
        // next number for the study's question that follows.
        let peek = self.with(|c, q| {
            first(c, &q.peek, &[Arg::int(study)], |r| {
                Ok((need_int(r, 0)?, r.int(1)?))
            })
        })?;
        match peek {
            None => return Err(self.no_study(study)),
            Some((_, None)) => return Ok(None),
            Some((_, Some(_))) => self.changing(study),
        }
        let started = start_ms();
        let mut ran = false;
        let claimed = self.with(|c, q| {
            let again = std::mem::replace(&mut ran, true);
            write(c, |c| {
                let Some((next, budgeted)) = first(c, &q.lock_study, &[Arg::int(study)], |r| {
                    Ok((need_int(r, 0)?, need_int(r, 2)?))
                })?
                else {
                    return Err(self.no_study(study));
                };
                // Run again after a lost answer: the trial the first run started, if it did.
                if again
                    && let Some((number, Some(params))) = self.own_trial(c, q, study, started)?
                {
                    return Ok(Some((number, params)));
                }
                // Retries do not count: they replace a lost trial that did.
                let room = limit.is_none_or(|l| budgeted < i(l));
                let head = first(
                    c,
                    &q.queue_head,
                    &[Arg::int(study), Arg::int(i64::from(room))],
                    |r| Ok((need_int(r, 0)?, need_text(r, 1)?, r.int(2)?)),
                )?;
                let Some((id, params, retry_of)) = head else {
                    return Ok(None);
                };
                c.execute(&q.queue_delete, &[Arg::int(id)])?;
                c.execute(
                    &q.set_next,
                    &[
                        Arg::int(study),
                        Arg::int(next + 1),
                        Arg::int(i64::from(retry_of.is_none())),
                    ],
                )?;
                self.insert_trial(
                    c,
                    q,
                    study,
                    NewTrial {
                        number: next,
                        params: Some(&params),
                        started_ms: started,
                        retry_of,
                    },
                )?;
                Ok(Some((next, params)))
            })
        })?;
        claimed
            .map(|(n, params)| Ok(Trial::running(u(n), decode_params(&params)?, started)))
            .transpose()
    }

    pub fn counted(&self, study: StudyId) -> Result<u64, StorageError> {
        self.with(|c, q| first(c, &q.counted, &[Arg::int(study)], |r| need_int(r, 0)))?
            .map(u)
            .ok_or_else(|| self.no_study(study))
    }

    /// Appends an intermediate report: one value, or one per objective.
    pub fn report(
        &self,
        study: StudyId,
        number: u64,
        step: u64,
        values: &[f64],
    ) -> Result<(), StorageError> {
        self.changing(study);
        let point = encode_point(step, values);
        let changed = self.with(|c, q| {
            c.execute(
                &q.report,
                &[Arg::int(study), Arg::int(i(number)), Arg::text(&point)],
            )
        })?;
        if changed == 0 {
            return Err(StorageError::NotRunning(number));
        }
        Ok(())
    }

    pub fn finish(&self, study: StudyId, trial: &Trial) -> Result<(), StorageError> {
        self.changing(study);
        let values = encode_values(&trial.values);
        let intermediate = encode_intermediate(trial);
        let attrs = encode_params(&trial.user_attrs);
        // The parameters too: a define-by-run trial records only those its code suggested.
        let params = encode_params(&trial.params);
        let number = i(trial.number);
        let args = [
            Arg::int(study),
            Arg::int(number),
            Arg::text(state_text(trial.state)),
            Arg::text(&values),
            Arg::text(&intermediate),
            Arg::text(&attrs),
            Arg::Text(trial.message.as_deref()),
            Arg::Real(trial.duration_s),
            // The same trial, not another that took its number after a database crash lost the
            // commit that gave it.
            Arg::int(i(trial.started_ms)),
            Arg::text(&params),
        ];
        let mut ran = false;
        self.with(|c, q| {
            let again = std::mem::replace(&mut ran, true);
            let outcome = self.finish_once(c, q, study, trial.number, &args);
            if again && matches!(outcome, Err(StorageError::NotRunning(_))) {
                // Run again after a lost answer: this very result, stored by the first run, is
                // the call's success, not a trial that ended elsewhere.
                let args = [
                    Arg::int(study),
                    Arg::int(number),
                    Arg::int(i(trial.started_ms)),
                    Arg::text(state_text(trial.state)),
                    Arg::text(&values),
                ];
                if first(c, &q.finished_as, &args, |r| need_int(r, 0))?.is_some() {
                    return Ok(());
                }
            }
            outcome
        })
    }

    /// One run of [`Db::finish`] with its statement arguments (`finish_one`'s; `finish_trial`
    /// takes the finish position after them): the result stored, or `NotRunning`.
    fn finish_once(
        &self,
        c: &mut dyn Conn,
        q: &Queries,
        study: StudyId,
        number: u64,
        args: &[Arg<'_>; 10],
    ) -> Result<(), StorageError> {
        if let Some(sql) = &q.finish_one {
            return match first(c, sql, args, |r| need_int(r, 0))? {
                Some(_) => Ok(()),
                None => Err(StorageError::NotRunning(number)),
            };
        }
        write(c, |c| {
            let Some(seq) = first(c, &q.take_seq, &[Arg::int(study)], |r| need_int(r, 0))? else {
                return Err(self.no_study(study));
            };
            let mut with_seq = args.to_vec();
            with_seq.push(Arg::int(seq));
            if c.execute(&q.finish_trial, &with_seq)? == 0 {
                // Rolled back: the finish position goes to the next trial.
                return Err(StorageError::NotRunning(number));
            }
            Ok(())
        })
    }

    pub fn finished_since(
        &self,
        study: StudyId,
        cursor: u64,
    ) -> Result<(Vec<Trial>, u64), StorageError> {
        let found = self.with(|c, q| {
            rows(
                c,
                &q.finished_since,
                &[Arg::int(study), Arg::int(i(cursor))],
                |r| self.readable(study, r),
            )
        })?;
        // Unreadable rows are left out, but the cursor moves past their positions too.
        let cursor = found
            .iter()
            .filter_map(|(_, seq)| *seq)
            .max()
            .unwrap_or(cursor)
            .max(cursor);
        let (mut finished, running): (Vec<StoredTrial>, Vec<StoredTrial>) = found
            .into_iter()
            .filter_map(|(t, _)| t)
            .partition(|t| t.finish_seq.is_some());
        finished.sort_by_key(|t| t.finish_seq);
        let mut running: Vec<Trial> = running.into_iter().map(|t| t.trial).collect();
        running.sort_by_key(|t| t.number);
        lock(&self.stash)
            .running
            .insert(study, (running, Instant::now()));
        Ok((finished.into_iter().map(|t| t.trial).collect(), cursor))
    }

    pub fn running(&self, study: StudyId) -> Result<Vec<Trial>, StorageError> {
        if let Some((running, at)) = lock(&self.stash).running.remove(&study)
            && at.elapsed() < STASH_FOR
        {
            return Ok(running);
        }
        // Sorted here: `ORDER BY number` in SQL tempts SQLite to walk every trial of the study
        // by number instead of the few running ones by state.
        let found = self.with(|c, q| {
            rows(c, &q.running, &[Arg::int(study)], |r| {
                self.readable(study, r)
            })
        })?;
        let mut running: Vec<Trial> = found
            .into_iter()
            .filter_map(|(t, _)| t.map(|t| t.trial))
            .collect();
        running.sort_by_key(|t| t.number);
        Ok(running)
    }

    pub fn enqueue(
        &self,
        study: StudyId,
        params: &Params,
        retry_of: Option<u64>,
    ) -> Result<(), StorageError> {
        let encoded = encode_params(params);
        self.with(|c, q| {
            c.execute(
                &q.enqueue,
                &[
                    Arg::int(study),
                    Arg::text(&encoded),
                    Arg::Int(retry_of.map(i)),
                ],
            )
        })?;
        Ok(())
    }

    pub fn heartbeat(&self, study: StudyId, numbers: &[u64]) -> Result<(), StorageError> {
        if numbers.is_empty() {
            return Ok(());
        }
        let list = serde_json::Value::from(numbers.to_vec()).to_string();
        let sql = &self.q.heartbeat;
        self.backend.with_beat(&mut |c| {
            c.execute(sql, &[Arg::int(study), Arg::text(&list)])?;
            Ok(())
        })
    }

    /// Fails the running trials of `study` whose worker is gone: no heartbeat within the grace
    /// period, or (on this machine) a process that no longer exists. Those with retries left
    /// are queued again with the same parameters.
    pub fn reap(&self, study: StudyId) -> Result<Vec<Trial>, StorageError> {
        {
            let mut last = lock(&self.last_reap);
            if last.get(&study).is_some_and(|t| t.elapsed() < REAP_EVERY) {
                return Ok(Vec::new());
            }
            last.insert(study, Instant::now());
        }
        let rules = self.rules(study)?;
        let here = self.worker.machine_prefix().map(|p| format!("{p}%"));
        // Candidates first, without a lock: nearly always there are none.
        let candidates = self.with(|c, q| {
            rows(
                c,
                &q.stale,
                &[
                    Arg::int(study),
                    Arg::int(rules.grace_ms),
                    Arg::Text(here.as_deref()),
                ],
                |r| Ok((need_int(r, 0)?, r.int(1)?, r.text(2)?, need_int(r, 3)?)),
            )
        })?;
        let dead: Vec<(i64, i64, String)> = candidates
            .into_iter()
            .filter_map(|(number, beat, key, now)| {
                let beat = beat?;
                let silent = now - beat;
                if silent >= rules.grace_ms {
                    Some((
                        number,
                        beat,
                        format!(
                            "worker stopped responding (no heartbeat for {:.1}s; the grace period is {:.1}s)",
                            silent as f64 / 1000.0,
                            rules.grace_ms as f64 / 1000.0
                        ),
                    ))
                } else if key.as_deref().is_some_and(|k| self.worker.is_dead_here(k)) {
                    Some((
                        number,
                        beat,
                        format!(
                            "worker stopped responding (its process on this machine is gone; last heartbeat {:.1}s ago)",
                            silent as f64 / 1000.0
                        ),
                    ))
                } else {
                    None
                }
            })
            .collect();
        if dead.is_empty() {
            return Ok(Vec::new());
        }
        self.changing(study);
        let now = now_ms();
        let reaped = self.with(|c, q| {
            write(c, |c| {
                let Some(mut seq) =
                    first(c, &q.lock_study, &[Arg::int(study)], |r| need_int(r, 1))?
                else {
                    return Err(self.no_study(study));
                };
                let mut reaped = Vec::new();
                for (number, beat, message) in &dead {
                    // Only if it has not beaten or finished since we looked.
                    let failed = first(
                        c,
                        &q.reap_trial,
                        &[
                            Arg::int(study),
                            Arg::int(*number),
                            Arg::text(message),
                            Arg::int(i(now)),
                            Arg::int(seq + 1),
                            Arg::int(*beat),
                        ],
                        |r| {
                            Ok((
                                self.readable(study, r)?.0,
                                r.text(2).ok().flatten().is_some(),
                            ))
                        },
                    )?;
                    let Some((failed, has_params)) = failed else {
                        continue;
                    };
                    seq += 1;
                    // Failed either way; an unreadable row is not retried, nor a trial lost
                    // before it had parameters: there is nothing to run again.
                    let Some(failed) = failed else { continue };
                    if rules.retries > 0 && has_params {
                        let root = i(failed.retry_of.unwrap_or(failed.trial.number));
                        let done =
                            first(c, &q.retries_of, &[Arg::int(study), Arg::int(root)], |r| {
                                need_int(r, 0)
                            })?
                            .unwrap_or(0);
                        if done < i64::from(rules.retries) {
                            c.execute(
                                &q.enqueue,
                                &[
                                    Arg::int(study),
                                    Arg::text(&encode_params(&failed.trial.params)),
                                    Arg::int(root),
                                ],
                            )?;
                        }
                    }
                    reaped.push(failed.trial);
                }
                if !reaped.is_empty() {
                    c.execute(&q.set_seq, &[Arg::int(study), Arg::int(seq)])?;
                }
                Ok(reaped)
            })
        })?;
        for t in &reaped {
            log::warn!(
                "trial {} failed: {}",
                t.number,
                t.message.as_deref().unwrap_or("worker lost")
            );
        }
        Ok(reaped)
    }

    fn summaries(&self, name: Option<&str>) -> Result<Vec<StudySummary>, StorageError> {
        self.with(|c, q| {
            let head = |r: &dyn Row| {
                Ok((
                    need_int(r, 0)?,
                    need_text(r, 1)?,
                    need_int(r, 2)?,
                    need_int(r, 3)?,
                ))
            };
            let studies = match name {
                Some(n) => rows(c, &q.study_named, &[Arg::text(n)], head)?,
                None => rows(c, &q.studies, &[], head)?,
            };
            let (counts, queued) = match (name, studies.first()) {
                (Some(_), None) => return Ok(Vec::new()),
                (Some(_), Some(s)) => (
                    rows(c, &q.counts_of, &[Arg::int(s.0)], count_row)?,
                    rows(c, &q.queued_of, &[Arg::int(s.0)], queued_row)?,
                ),
                (None, _) => (
                    rows(c, &q.counts, &[], count_row)?,
                    rows(c, &q.queued, &[], queued_row)?,
                ),
            };
            let mut out = Vec::with_capacity(studies.len());
            for (id, record, created, updated) in studies {
                let record = record_json(&record)?;
                let mut summary = StudySummary {
                    id,
                    counts: Counts::default(),
                    queued: queued
                        .iter()
                        .find(|(s, _)| *s == id)
                        .map_or(0, |(_, n)| u(*n)),
                    best: None,
                    created_ms: u(created),
                    updated_ms: u(updated),
                    record,
                };
                lock(&self.names).insert(id, summary.record.name.clone());
                for (s, state, n) in &counts {
                    // A state no hyperplug writes is an unreadable row: counted nowhere.
                    if let (true, Some(state)) = (*s == id, state) {
                        summary.counts.add(*state, u(*n));
                    }
                }
                if let [direction] = summary.record.directions[..] {
                    let sql = match direction {
                        hyperplug_core::Direction::Minimize => &q.best_min,
                        hyperplug_core::Direction::Maximize => &q.best_max,
                    };
                    // Unreadable values leave the study without a best, not unlisted.
                    summary.best = first(c, sql, &[Arg::int(id)], |r| {
                        Ok(decode_values(&need_text(r, 1)?)
                            .ok()
                            .map(|v| (u(need_int(r, 0).unwrap_or(0)), v)))
                    })?
                    .flatten();
                }
                out.push(summary);
            }
            Ok(out)
        })
    }

    pub fn find(&self, name: &str) -> Result<Option<StudySummary>, StorageError> {
        Ok(self.summaries(Some(name))?.into_iter().next())
    }

    pub fn studies(&self) -> Result<Vec<StudySummary>, StorageError> {
        self.summaries(None)
    }

    pub fn each_trial(
        &self,
        study: StudyId,
        each: &mut dyn FnMut(StoredTrial) -> bool,
    ) -> Result<(), StorageError> {
        self.with(|c, q| {
            c.query(&q.all_trials, &[Arg::int(study)], &mut |r| {
                Ok(match self.readable(study, r)?.0 {
                    Some(t) => each(t),
                    None => true,
                })
            })
        })
    }

    pub fn delete(&self, study: StudyId) -> Result<u64, StorageError> {
        self.with(|c, q| {
            write(c, |c| {
                c.execute(&q.delete_queue, &[Arg::int(study)])?;
                let trials = c.execute(&q.delete_trials, &[Arg::int(study)])?;
                if c.execute(&q.delete_study, &[Arg::int(study)])? == 0 {
                    return Err(self.no_study(study));
                }
                Ok(trials)
            })
        })
    }
}

fn limit_arg(limit: Option<u64>) -> Arg<'static> {
    Arg::Int(limit.map(i))
}

fn count_row(r: &dyn Row) -> Result<(i64, Option<TrialState>, i64), StorageError> {
    Ok((
        need_int(r, 0)?,
        parse_state(&need_text(r, 1)?).ok(),
        need_int(r, 2)?,
    ))
}

fn queued_row(r: &dyn Row) -> Result<(i64, i64), StorageError> {
    Ok((need_int(r, 0)?, need_int(r, 1)?))
}

/// Whether two records store the same thing (compared as JSON, as the store keeps them).
fn same_record(a: &StudyRecord, b: &StudyRecord) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Implements `Storage` and `Store` for a type that derefs to a [`Db`].
macro_rules! storage_via_db {
    ($ty:ty) => {
        impl hyperplug_core::Storage for $ty {
            fn open(
                &self,
                record: &hyperplug_core::StudyRecord,
            ) -> Result<(hyperplug_core::StudyId, hyperplug_core::StudyRecord), hyperplug_core::Error>
            {
                Ok(self.db.open_study(record)?)
            }
            fn claim_queued(
                &self,
                study: hyperplug_core::StudyId,
                limit: Option<u64>,
            ) -> Result<Option<hyperplug_core::Trial>, hyperplug_core::Error> {
                Ok(self.db.claim_queued(study, limit)?)
            }
            fn reserve(
                &self,
                study: hyperplug_core::StudyId,
                limit: Option<u64>,
            ) -> Result<Option<hyperplug_core::Trial>, hyperplug_core::Error> {
                Ok(self.db.reserve(study, limit)?)
            }
            fn set_params(
                &self,
                study: hyperplug_core::StudyId,
                number: u64,
                params: &hyperplug_core::Params,
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.set_params(study, number, params)?)
            }
            fn release(
                &self,
                study: hyperplug_core::StudyId,
                number: u64,
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.release(study, number)?)
            }
            fn counted(
                &self,
                study: hyperplug_core::StudyId,
            ) -> Result<u64, hyperplug_core::Error> {
                Ok(self.db.counted(study)?)
            }
            fn report(
                &self,
                study: hyperplug_core::StudyId,
                number: u64,
                step: u64,
                value: f64,
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.report(study, number, step, &[value])?)
            }
            fn report_values(
                &self,
                study: hyperplug_core::StudyId,
                number: u64,
                step: u64,
                values: &[f64],
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.report(study, number, step, values)?)
            }
            fn finish(
                &self,
                study: hyperplug_core::StudyId,
                trial: &hyperplug_core::Trial,
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.finish(study, trial)?)
            }
            fn finished_since(
                &self,
                study: hyperplug_core::StudyId,
                cursor: u64,
            ) -> Result<(Vec<hyperplug_core::Trial>, u64), hyperplug_core::Error> {
                Ok(self.db.finished_since(study, cursor)?)
            }
            fn running(
                &self,
                study: hyperplug_core::StudyId,
            ) -> Result<Vec<hyperplug_core::Trial>, hyperplug_core::Error> {
                Ok(self.db.running(study)?)
            }
            fn enqueue(
                &self,
                study: hyperplug_core::StudyId,
                params: &hyperplug_core::Params,
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.enqueue(study, params, None)?)
            }
            fn heartbeat(
                &self,
                study: hyperplug_core::StudyId,
                numbers: &[u64],
            ) -> Result<(), hyperplug_core::Error> {
                Ok(self.db.heartbeat(study, numbers)?)
            }
            fn heartbeat_interval(&self) -> Option<std::time::Duration> {
                Some(self.db.heartbeat_interval())
            }
            fn reap(
                &self,
                study: hyperplug_core::StudyId,
            ) -> Result<Vec<hyperplug_core::Trial>, hyperplug_core::Error> {
                Ok(self.db.reap(study)?)
            }
        }

        impl $crate::Store for $ty {
            fn location(&self) -> String {
                self.db.location().to_owned()
            }
            fn find(&self, name: &str) -> Result<Option<$crate::StudySummary>, StorageError> {
                self.db.find(name)
            }
            fn studies(&self) -> Result<Vec<$crate::StudySummary>, StorageError> {
                self.db.studies()
            }
            fn each_trial(
                &self,
                study: hyperplug_core::StudyId,
                each: &mut dyn FnMut($crate::StoredTrial) -> bool,
            ) -> Result<(), StorageError> {
                self.db.each_trial(study, each)
            }
            fn delete(&self, study: hyperplug_core::StudyId) -> Result<u64, StorageError> {
                self.db.delete(study)
            }
        }
    };
}
pub(crate) use storage_via_db;
