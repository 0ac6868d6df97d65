//! The embedded database (SQLite, in `DATA_DIR/replay.db`): job records, idempotency keys
//! and the event outbox, so that a key answers the same after a restart and an event is
//! never lost between "the clip is ready" and "the world was told".
//!
//! Every call is short and blocking: callers on the async runtime go through
//! `spawn_blocking`. WAL with `synchronous=FULL`: a call that returned is on disk.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::idempotency::{self, Decision, RecordedKey};
use super::status::{self, JobStatus};
use super::{ClipResult, Job, SaveSpec};
use crate::ids::Id;

pub struct Store {
    connection: Mutex<Connection>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the job database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the job database holds a record it cannot read: {0}")]
    Corrupt(String),
}

/// What creating a job under an idempotency key came to.
#[derive(Debug, PartialEq)]
pub enum Created {
    New(Job),
    /// The key was used for the same request: its job.
    Repeat(Job),
    /// The key was used for another request.
    Mismatch(Id),
    /// As many saves as allowed are unfinished.
    QueueFull {
        unfinished: usize,
    },
}

/// An event waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxEvent {
    pub seq: i64,
    pub replay_id: Id,
    /// The JSON body, exactly as it is written and posted.
    pub body: String,
}

/// A webhook delivery that is due.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub seq: i64,
    pub target: String,
    pub attempts: u32,
    pub body: String,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    replay_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id TEXT,
    game_id TEXT,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL,
    location TEXT NOT NULL,
    storage_url TEXT,
    duration_seconds REAL,
    frames INTEGER,
    bytes INTEGER,
    sha256 TEXT,
    error TEXT,
    created_at INTEGER NOT NULL,
    ready_at INTEGER,
    spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (status) WHERE status NOT IN ('ready', 'failed');
CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    replay_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    replay_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    written_at INTEGER
);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER NOT NULL,
    target TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    delivered_at INTEGER,
    PRIMARY KEY (seq, target)
);
";

const JOB_COLUMNS: &str = "replay_id, session_id, user_id, game_id, status, progress, location, \
     storage_url, duration_seconds, frames, bytes, sha256, error, created_at, ready_at, spec";

impl Store {
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        Ok(Store {
            connection: Mutex::new(connection),
        })
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        work(&mut connection)
    }

    /// Jobs an earlier run left unfinished (it was killed) become `failed` with the reason.
    /// Returns their ids.
    pub fn fail_unfinished(&self) -> Result<Vec<Id>, StoreError> {
        self.with(|connection| {
            let transaction = connection.transaction()?;
            let unfinished: Vec<(String, String)> = {
                let mut statement = transaction.prepare(
                    "SELECT replay_id, status FROM jobs WHERE status NOT IN ('ready', 'failed')",
                )?;
                let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut failed = Vec::with_capacity(unfinished.len());
            for (replay_id, was) in unfinished {
                let was: JobStatus = was.parse().map_err(StoreError::Corrupt)?;
                transaction.execute(
                    "UPDATE jobs SET status = 'failed', progress = 0, error = ?2 WHERE replay_id = ?1",
                    params![replay_id, status::interrupted_reason(was)],
                )?;
                failed.push(parse_id("replayId", &replay_id)?);
            }
            transaction.commit()?;
            Ok(failed)
        })
    }

    /// What `key` was used for in `scope`, if it was: the request's fingerprint and its job.
    pub fn recorded(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(RecordedKey, Job)>, StoreError> {
        self.with(|connection| {
            let found = connection
                .query_row(
                    "SELECT fingerprint, replay_id FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
                    params![scope, key],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?;
            let Some((fingerprint, replay_id)) = found else {
                return Ok(None);
            };
            let replay_id = parse_id("replayId", &replay_id)?;
            let job = job_in(connection, &replay_id)?.ok_or_else(|| {
                StoreError::Corrupt(format!("key {key} names the missing job {replay_id}"))
            })?;
            Ok(Some((RecordedKey { fingerprint, replay_id }, job)))
        })
    }

    /// Makes `job` unless `key` was used before in `scope` (then the first job, or a
    /// mismatch), in one transaction: two requests with one key make one job.
    pub fn create_job(
        &self,
        scope: &str,
        key: &str,
        job: &Job,
        capacity: usize,
    ) -> Result<Created, StoreError> {
        let fingerprint = idempotency::fingerprint(&job.spec.canonical());
        self.with(|connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let recorded = transaction
                .query_row(
                    "SELECT fingerprint, replay_id FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
                    params![scope, key],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
                )
                .optional()?
                .map(|(fingerprint, replay_id)| {
                    Ok::<_, StoreError>(RecordedKey {
                        fingerprint,
                        replay_id: parse_id("replayId", &replay_id)?,
                    })
                })
                .transpose()?;
            match idempotency::decide(recorded.as_ref(), &fingerprint) {
                Decision::Repeat(replay_id) => {
                    let job = job_in(&transaction, &replay_id)?.ok_or_else(|| {
                        StoreError::Corrupt(format!("key {key} names the missing job {replay_id}"))
                    })?;
                    Ok(Created::Repeat(job))
                }
                Decision::Mismatch(replay_id) => Ok(Created::Mismatch(replay_id)),
                Decision::New => {
                    let unfinished: i64 = transaction.query_row(
                        "SELECT COUNT(*) FROM jobs WHERE status NOT IN ('ready', 'failed')",
                        [],
                        |row| row.get(0),
                    )?;
                    if unfinished as usize >= capacity {
                        return Ok(Created::QueueFull {
                            unfinished: unfinished as usize,
                        });
                    }
                    insert_job(&transaction, job)?;
                    transaction.execute(
                        "INSERT INTO idempotency_keys (scope, key, fingerprint, replay_id, created_at) \
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![scope, key, fingerprint, job.replay_id.as_str(), job.created_at as i64],
                    )?;
                    transaction.commit()?;
                    Ok(Created::New(job.clone()))
                }
            }
        })
    }

    pub fn job(&self, replay_id: &Id) -> Result<Option<Job>, StoreError> {
        self.with(|connection| job_in(connection, replay_id))
    }

    /// Moves a job on, as the state machine allows (a move it does not allow is ignored:
    /// a late report cannot undo a final state).
    pub fn set_status(&self, replay_id: &Id, next: JobStatus) -> Result<(), StoreError> {
        self.with(|connection| {
            let current = current_status(connection, replay_id)?;
            if current.is_some_and(|current| current.can_become(next)) {
                connection.execute(
                    "UPDATE jobs SET status = ?2, progress = ?3 WHERE replay_id = ?1",
                    params![replay_id.as_str(), next.name(), next.progress()],
                )?;
            }
            Ok(())
        })
    }

    /// The job is ready, and its event goes into the outbox, with one delivery for each of
    /// `targets`, in the same transaction. Returns the event's sequence number.
    pub fn mark_ready(
        &self,
        replay_id: &Id,
        clip: &ClipResult,
        ready_at: u64,
        event_body: &str,
        targets: &[String],
    ) -> Result<Option<i64>, StoreError> {
        self.with(|connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = current_status(&transaction, replay_id)?;
            if !current.is_some_and(|current| current.can_become(JobStatus::Ready)) {
                return Ok(None);
            }
            transaction.execute(
                "UPDATE jobs SET status = 'ready', progress = 100, storage_url = ?2, \
                 duration_seconds = ?3, frames = ?4, bytes = ?5, sha256 = ?6, ready_at = ?7 \
                 WHERE replay_id = ?1",
                params![
                    replay_id.as_str(),
                    clip.storage_url,
                    clip.duration_seconds,
                    clip.frames as i64,
                    clip.bytes as i64,
                    clip.sha256,
                    ready_at as i64
                ],
            )?;
            transaction.execute(
                "INSERT INTO events (replay_id, kind, body, created_at) VALUES (?1, 'ReplayCreated', ?2, ?3)",
                params![replay_id.as_str(), event_body, ready_at as i64],
            )?;
            let seq = transaction.last_insert_rowid();
            for target in targets {
                transaction.execute(
                    "INSERT INTO deliveries (seq, target, next_attempt_at) VALUES (?1, ?2, ?3)",
                    params![seq, target, ready_at as i64],
                )?;
            }
            transaction.commit()?;
            Ok(Some(seq))
        })
    }

    pub fn mark_failed(&self, replay_id: &Id, error: &str) -> Result<(), StoreError> {
        self.with(|connection| {
            let current = current_status(connection, replay_id)?;
            if current.is_some_and(|current| current.can_become(JobStatus::Failed)) {
                connection.execute(
                    "UPDATE jobs SET status = 'failed', progress = 0, error = ?2 WHERE replay_id = ?1",
                    params![replay_id.as_str(), error],
                )?;
            }
            Ok(())
        })
    }

    /// Bytes of the clips stored (ready jobs).
    pub fn stored_bytes(&self) -> Result<u64, StoreError> {
        self.with(|connection| {
            let bytes: Option<i64> = connection.query_row(
                "SELECT SUM(bytes) FROM jobs WHERE status = 'ready'",
                [],
                |row| row.get(0),
            )?;
            Ok(bytes.unwrap_or(0) as u64)
        })
    }

    /// Forgets keys older than `before` (milliseconds since the epoch).
    pub fn forget_keys_before(&self, before: u64) -> Result<usize, StoreError> {
        self.with(|connection| {
            Ok(connection.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?1",
                params![before as i64],
            )?)
        })
    }

    /// Events not yet appended to events.jsonl, oldest first.
    pub fn unwritten_events(&self) -> Result<Vec<OutboxEvent>, StoreError> {
        self.with(|connection| {
            let mut statement = connection.prepare(
                "SELECT seq, replay_id, body FROM events WHERE written_at IS NULL ORDER BY seq",
            )?;
            let rows = statement.query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get(2)?))
            })?;
            rows.map(|row| {
                let (seq, replay_id, body) = row?;
                Ok(OutboxEvent {
                    seq,
                    replay_id: parse_id("replayId", &replay_id)?,
                    body,
                })
            })
            .collect()
        })
    }

    pub fn mark_written(&self, seqs: &[i64], at: u64) -> Result<(), StoreError> {
        self.with(|connection| {
            let transaction = connection.transaction()?;
            for seq in seqs {
                transaction.execute(
                    "UPDATE events SET written_at = ?2 WHERE seq = ?1",
                    params![seq, at as i64],
                )?;
            }
            transaction.commit()?;
            Ok(())
        })
    }

    /// Deliveries due at `now`, and when the next one that is not due yet is.
    pub fn due_deliveries(&self, now: u64) -> Result<(Vec<Delivery>, Option<u64>), StoreError> {
        self.with(|connection| {
            let mut statement = connection.prepare(
                "SELECT d.seq, d.target, d.attempts, e.body FROM deliveries d JOIN events e ON e.seq = d.seq \
                 WHERE d.delivered_at IS NULL AND d.next_attempt_at <= ?1 ORDER BY d.seq",
            )?;
            let due = statement
                .query_map(params![now as i64], |row| {
                    Ok(Delivery {
                        seq: row.get(0)?,
                        target: row.get(1)?,
                        attempts: row.get::<_, i64>(2)? as u32,
                        body: row.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let next: Option<i64> = connection.query_row(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE delivered_at IS NULL AND next_attempt_at > ?1",
                params![now as i64],
                |row| row.get(0),
            )?;
            Ok((due, next.map(|at| at as u64)))
        })
    }

    pub fn delivered(&self, seq: i64, target: &str, at: u64) -> Result<(), StoreError> {
        self.with(|connection| {
            connection.execute(
                "UPDATE deliveries SET delivered_at = ?3, attempts = attempts + 1 WHERE seq = ?1 AND target = ?2",
                params![seq, target, at as i64],
            )?;
            Ok(())
        })
    }

    pub fn delivery_failed(
        &self,
        seq: i64,
        target: &str,
        error: &str,
        next_attempt_at: u64,
    ) -> Result<(), StoreError> {
        self.with(|connection| {
            connection.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4 \
                 WHERE seq = ?1 AND target = ?2",
                params![seq, target, error, next_attempt_at as i64],
            )?;
            Ok(())
        })
    }

    /// Drops pending deliveries to targets no longer configured. Returns how many.
    pub fn drop_deliveries_except(&self, targets: &[String]) -> Result<usize, StoreError> {
        self.with(|connection| {
            let pending: Vec<(i64, String)> = {
                let mut statement = connection
                    .prepare("SELECT seq, target FROM deliveries WHERE delivered_at IS NULL")?;
                let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            let mut dropped = 0;
            for (seq, target) in pending {
                if !targets.contains(&target) {
                    dropped += connection.execute(
                        "DELETE FROM deliveries WHERE seq = ?1 AND target = ?2",
                        params![seq, target],
                    )?;
                }
            }
            Ok(dropped)
        })
    }
}

fn insert_job(connection: &Connection, job: &Job) -> Result<(), StoreError> {
    connection.execute(
        &format!("INSERT INTO jobs ({JOB_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"),
        params![
            job.replay_id.as_str(),
            job.session_id.as_str(),
            job.user_id.as_ref().map(Id::as_str),
            job.game_id.as_ref().map(Id::as_str),
            job.status.name(),
            job.progress,
            job.location,
            job.storage_url,
            job.duration_seconds,
            job.frames.map(|n| n as i64),
            job.bytes.map(|n| n as i64),
            job.sha256,
            job.error,
            job.created_at as i64,
            job.ready_at.map(|at| at as i64),
            job.spec.canonical().to_string(),
        ],
    )?;
    Ok(())
}

fn current_status(
    connection: &Connection,
    replay_id: &Id,
) -> Result<Option<JobStatus>, StoreError> {
    let status: Option<String> = connection
        .query_row(
            "SELECT status FROM jobs WHERE replay_id = ?1",
            params![replay_id.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    status
        .map(|status| status.parse().map_err(StoreError::Corrupt))
        .transpose()
}

fn job_in(connection: &Connection, replay_id: &Id) -> Result<Option<Job>, StoreError> {
    let row = connection
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE replay_id = ?1"),
            params![replay_id.as_str()],
            read_job_row,
        )
        .optional()?;
    row.map(JobRow::into_job).transpose()
}

/// A row as SQLite hands it out, before its text is checked.
struct JobRow {
    replay_id: String,
    session_id: String,
    user_id: Option<String>,
    game_id: Option<String>,
    status: String,
    progress: i64,
    location: String,
    storage_url: Option<String>,
    duration_seconds: Option<f64>,
    frames: Option<i64>,
    bytes: Option<i64>,
    sha256: Option<String>,
    error: Option<String>,
    created_at: i64,
    ready_at: Option<i64>,
    spec: String,
}

fn read_job_row(row: &Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        replay_id: row.get(0)?,
        session_id: row.get(1)?,
        user_id: row.get(2)?,
        game_id: row.get(3)?,
        status: row.get(4)?,
        progress: row.get(5)?,
        location: row.get(6)?,
        storage_url: row.get(7)?,
        duration_seconds: row.get(8)?,
        frames: row.get(9)?,
        bytes: row.get(10)?,
        sha256: row.get(11)?,
        error: row.get(12)?,
        created_at: row.get(13)?,
        ready_at: row.get(14)?,
        spec: row.get(15)?,
    })
}

impl JobRow {
    fn into_job(self) -> Result<Job, StoreError> {
        let spec: serde_json::Value =
            serde_json::from_str(&self.spec).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let session = parse_id("sessionId", &self.session_id)?;
        let spec = SaveSpec::new(
            session.clone(),
            spec["fromSeconds"].as_f64(),
            spec["toSeconds"].as_f64(),
            spec["postSeconds"].as_f64(),
            spec["clear"].as_bool(),
        )
        .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        Ok(Job {
            replay_id: parse_id("replayId", &self.replay_id)?,
            session_id: session,
            user_id: self.user_id.map(|id| parse_id("userId", &id)).transpose()?,
            game_id: self.game_id.map(|id| parse_id("gameId", &id)).transpose()?,
            status: self.status.parse().map_err(StoreError::Corrupt)?,
            progress: self.progress.clamp(0, 100) as u8,
            location: self.location,
            storage_url: self.storage_url,
            duration_seconds: self.duration_seconds,
            frames: self.frames.map(|n| n as u64),
            bytes: self.bytes.map(|n| n as u64),
            sha256: self.sha256,
            error: self.error,
            created_at: self.created_at as u64,
            ready_at: self.ready_at.map(|at| at as u64),
            spec,
        })
    }
}

fn parse_id(what: &'static str, text: &str) -> Result<Id, StoreError> {
    Id::parse(what, text).map_err(|err| StoreError::Corrupt(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::TestDir;

    fn id(text: &str) -> Id {
        Id::parse("id", text).unwrap()
    }

    fn job(replay: &str, from_seconds: f64) -> Job {
        let spec = SaveSpec::new(id("s1"), Some(from_seconds), None, None, None).unwrap();
        Job {
            replay_id: id(replay),
            session_id: id("s1"),
            user_id: Some(id("u")),
            game_id: None,
            status: JobStatus::Queued,
            progress: 0,
            location: format!("/data/replays/g/u/{replay}.mp4"),
            storage_url: None,
            duration_seconds: None,
            frames: None,
            bytes: None,
            sha256: None,
            error: None,
            created_at: 1_000,
            ready_at: None,
            spec,
        }
    }

    fn clip() -> ClipResult {
        ClipResult {
            storage_url: "http://127.0.0.1/replays/g/u/r1.mp4".into(),
            duration_seconds: 30.0,
            frames: 900,
            bytes: 1234,
            sha256: "ab".repeat(32),
        }
    }

    #[test]
    fn one_key_makes_one_job_across_reopening() {
        let dir = TestDir::new("store-keys");
        let path = dir.join("replay.db");
        {
            let store = Store::open(&path).unwrap();
            let first = store
                .create_job("scope", "key-1", &job("r1", 30.0), 10)
                .unwrap();
            assert!(matches!(first, Created::New(_)));
        }
        let store = Store::open(&path).unwrap();
        match store
            .create_job("scope", "key-1", &job("r2", 30.0), 10)
            .unwrap()
        {
            Created::Repeat(found) => assert_eq!(found.replay_id, id("r1")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store
                .create_job("scope", "key-1", &job("r3", 10.0), 10)
                .unwrap(),
            Created::Mismatch(id("r1"))
        );
        // Another client's key of the same name is another key.
        assert!(matches!(
            store
                .create_job("other", "key-1", &job("r4", 10.0), 10)
                .unwrap(),
            Created::New(_)
        ));
        assert!(store.job(&id("r2")).unwrap().is_none(), "no second job");
        let (recorded, first) = store.recorded("scope", "key-1").unwrap().unwrap();
        assert_eq!((recorded.replay_id, first.replay_id), (id("r1"), id("r1")));
        assert!(store.recorded("scope", "key-2").unwrap().is_none());
    }

    #[test]
    fn the_queue_bound_counts_unfinished_jobs() {
        let dir = TestDir::new("store-queue");
        let store = Store::open(&dir.join("replay.db")).unwrap();
        assert!(matches!(
            store.create_job("s", "a", &job("r1", 30.0), 2).unwrap(),
            Created::New(_)
        ));
        assert!(matches!(
            store.create_job("s", "b", &job("r2", 30.0), 2).unwrap(),
            Created::New(_)
        ));
        assert_eq!(
            store.create_job("s", "c", &job("r3", 30.0), 2).unwrap(),
            Created::QueueFull { unfinished: 2 }
        );
        store.mark_failed(&id("r1"), "disk full").unwrap();
        assert!(matches!(
            store.create_job("s", "c", &job("r3", 30.0), 2).unwrap(),
            Created::New(_)
        ));
    }

    #[test]
    fn a_ready_job_and_its_event_are_written_together_and_only_once() {
        let dir = TestDir::new("store-ready");
        let store = Store::open(&dir.join("replay.db")).unwrap();
        store.create_job("s", "k", &job("r1", 30.0), 10).unwrap();
        store.set_status(&id("r1"), JobStatus::Extracting).unwrap();
        store.set_status(&id("r1"), JobStatus::Encoding).unwrap();
        let targets = vec!["http://127.0.0.1:1/hook".to_owned()];
        let seq = store
            .mark_ready(&id("r1"), &clip(), 2_000, "{\"replayId\":\"r1\"}", &targets)
            .unwrap();
        assert!(seq.is_some());
        assert_eq!(
            store
                .mark_ready(&id("r1"), &clip(), 3_000, "{}", &targets)
                .unwrap(),
            None,
            "a ready job is not made ready twice"
        );
        let ready = store.job(&id("r1")).unwrap().unwrap();
        assert_eq!((ready.status, ready.progress), (JobStatus::Ready, 100));
        assert_eq!(
            (ready.frames, ready.bytes, ready.ready_at),
            (Some(900), Some(1234), Some(2_000))
        );
        // A late failure report cannot undo it.
        store.mark_failed(&id("r1"), "late").unwrap();
        assert_eq!(
            store.job(&id("r1")).unwrap().unwrap().status,
            JobStatus::Ready
        );
        assert_eq!(store.stored_bytes().unwrap(), 1234);

        let events = store.unwritten_events().unwrap();
        assert_eq!(events.len(), 1);
        store.mark_written(&[events[0].seq], 2_001).unwrap();
        assert!(store.unwritten_events().unwrap().is_empty());

        let (due, _) = store.due_deliveries(2_000).unwrap();
        assert_eq!(due.len(), 1);
        store
            .delivery_failed(due[0].seq, &due[0].target, "refused", 4_000)
            .unwrap();
        let (due, next) = store.due_deliveries(2_500).unwrap();
        assert!(due.is_empty());
        assert_eq!(next, Some(4_000));
        let (due, _) = store.due_deliveries(4_000).unwrap();
        assert_eq!(due[0].attempts, 1);
        store.delivered(due[0].seq, &due[0].target, 4_001).unwrap();
        assert!(store.due_deliveries(10_000).unwrap().0.is_empty());
    }

    #[test]
    fn jobs_left_unfinished_by_a_killed_run_fail_with_a_reason() {
        let dir = TestDir::new("store-restart");
        let path = dir.join("replay.db");
        {
            let store = Store::open(&path).unwrap();
            store.create_job("s", "a", &job("r1", 30.0), 10).unwrap();
            store.create_job("s", "b", &job("r2", 30.0), 10).unwrap();
            store.set_status(&id("r2"), JobStatus::Extracting).unwrap();
            store.set_status(&id("r2"), JobStatus::Encoding).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let mut failed = store.fail_unfinished().unwrap();
        failed.sort();
        assert_eq!(failed, [id("r1"), id("r2")]);
        let r2 = store.job(&id("r2")).unwrap().unwrap();
        assert_eq!(r2.status, JobStatus::Failed);
        assert!(r2.error.unwrap().contains("while this save was encoding"));
        // The key still answers with its job.
        match store.create_job("s", "b", &job("r9", 30.0), 10).unwrap() {
            Created::Repeat(found) => assert_eq!(found.replay_id, id("r2")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn old_keys_are_forgotten_and_removed_targets_dropped() {
        let dir = TestDir::new("store-forget");
        let store = Store::open(&dir.join("replay.db")).unwrap();
        store.create_job("s", "old", &job("r1", 30.0), 10).unwrap();
        assert_eq!(store.forget_keys_before(500).unwrap(), 0);
        assert_eq!(store.forget_keys_before(1_001).unwrap(), 1);
        store.set_status(&id("r1"), JobStatus::Encoding).unwrap();
        let targets = vec!["http://a/".to_owned(), "http://b/".to_owned()];
        store
            .mark_ready(&id("r1"), &clip(), 2_000, "{}", &targets)
            .unwrap();
        assert_eq!(store.drop_deliveries_except(&targets[..1]).unwrap(), 1);
        assert_eq!(store.due_deliveries(2_000).unwrap().0.len(), 1);
    }
}
