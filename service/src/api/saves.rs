//! `POST /api/replay/v1/save` and `GET /api/replay/v1/{replayId}/status`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::body::ApiJson;
use super::path_id;
use super::problem::Problem;
use super::sessions::no_such_session;
use crate::app::App;
use crate::ids::Id;
use crate::jobs::idempotency::{self, Decision, KeyError};
use crate::jobs::store::Created;
use crate::jobs::{now_millis, rfc3339, runner, Job, JobStatus, SaveSpec};
use crate::sessions::registry::Unavailable;
use crate::storage::LocalStorage;

/// The body of `POST /api/replay/v1/save`, as sent.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SaveBody {
    pub session_id: String,
    pub from_seconds: Option<f64>,
    pub to_seconds: Option<f64>,
    pub post_seconds: Option<f64>,
    pub clear: Option<bool>,
}

/// The 202, the same for every request with the same key and body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    replay_id: Id,
    status: JobStatus,
    status_url: String,
}

/// `GET .../status`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    replay_id: Id,
    session_id: Id,
    user_id: Option<Id>,
    game_id: Option<Id>,
    status: JobStatus,
    progress: u8,
    storage_url: Option<String>,
    duration_seconds: Option<f64>,
    frames: Option<u64>,
    bytes: Option<u64>,
    sha256: Option<String>,
    error: Option<String>,
    created_at: String,
    ready_at: Option<String>,
}

pub async fn save(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SaveBody>,
) -> Result<(StatusCode, Json<Accepted>), Problem> {
    let requested = Instant::now();
    let key = idempotency::parse_key(headers.get("idempotency-key").map(|value| value.as_bytes()))
        .map_err(key_problem)?;
    let session_id = path_id("sessionId", &body.session_id)?;
    let spec = SaveSpec::new(
        session_id.clone(),
        body.from_seconds,
        body.to_seconds,
        body.post_seconds,
        body.clear,
    )
    .map_err(|err| {
        Problem::bad_request("invalid-save", "The save cannot be done", err.to_string())
    })?;
    let scope = idempotency::scope_of(app.config.token.as_deref());
    let fingerprint = idempotency::fingerprint(&spec.canonical());

    // A key used before answers as it did, whatever became of the session since.
    let recorded = blocking({
        let (store, scope, key) = (
            Arc::clone(&app.store),
            scope.clone(),
            key.as_str().to_owned(),
        );
        move || store.recorded(&scope, &key)
    })
    .await?;
    if let Some((recorded, job)) = recorded {
        return match idempotency::decide(Some(&recorded), &fingerprint) {
            Decision::Mismatch(replay_id) => Err(mismatch(&replay_id)),
            _ => Ok(accepted(&app, &job.replay_id)),
        };
    }

    let session = app
        .sessions
        .for_save(&session_id)
        .map_err(|refusal| match refusal {
            Unavailable::NoSuchSession => no_such_session(&session_id),
            Unavailable::Over => Problem::conflict(
                "session-over",
                "The session holds no ring",
                format!(
                    "session {session_id} has stopped (or never started): start it again with \
                 POST .../session/{session_id}/start-buffer, then save"
                ),
            ),
        })?;
    let replay_id = Id::new_replay();
    let job = Job {
        location: LocalStorage::key(
            session.config.game_id.as_ref(),
            session.config.user_id.as_ref(),
            &replay_id,
        ),
        replay_id,
        session_id,
        user_id: session.config.user_id.clone(),
        game_id: session.config.game_id.clone(),
        status: JobStatus::Queued,
        progress: JobStatus::Queued.progress(),
        storage_url: None,
        duration_seconds: None,
        frames: None,
        bytes: None,
        sha256: None,
        error: None,
        created_at: now_millis(),
        ready_at: None,
        spec,
    };
    let capacity = app.config.save_queue;
    let created = blocking({
        let (store, job, key) = (Arc::clone(&app.store), job.clone(), key.as_str().to_owned());
        move || store.create_job(&scope, &key, &job, capacity)
    })
    .await?;
    match created {
        Created::New(job) => {
            app.metrics.capture_attempts.inc();
            let answer = accepted(&app, &job.replay_id);
            tokio::spawn(runner::run(Arc::clone(&app), job, session, requested));
            Ok(answer)
        }
        Created::Repeat(job) => Ok(accepted(&app, &job.replay_id)),
        Created::Mismatch(replay_id) => Err(mismatch(&replay_id)),
        Created::QueueFull { unfinished } => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "save-queue-full",
            "Too many saves are unfinished",
            format!(
                "{unfinished} saves are unfinished, as many as --save-queue allows; send the \
                 save again after Retry-After (with the same Idempotency-Key)"
            ),
        )
        .with("limit", "save-queue")
        .with("value", capacity)
        .retry_after(1)),
    }
}

pub async fn status(
    State(app): State<Arc<App>>,
    Path(replay_id): Path<String>,
) -> Result<Json<StatusDocument>, Problem> {
    let replay_id = path_id("replayId", &replay_id)?;
    let job = blocking({
        let (store, replay_id) = (Arc::clone(&app.store), replay_id.clone());
        move || store.job(&replay_id)
    })
    .await?
    .ok_or_else(|| no_such_replay(&replay_id))?;
    Ok(Json(StatusDocument {
        replay_id: job.replay_id,
        session_id: job.session_id,
        user_id: job.user_id,
        game_id: job.game_id,
        status: job.status,
        progress: job.progress,
        storage_url: job.storage_url,
        duration_seconds: job.duration_seconds,
        frames: job.frames,
        bytes: job.bytes,
        sha256: job.sha256,
        error: job.error,
        created_at: rfc3339(job.created_at),
        ready_at: job.ready_at.map(rfc3339),
    }))
}

fn accepted(app: &App, replay_id: &Id) -> (StatusCode, Json<Accepted>) {
    let answer = Accepted {
        replay_id: replay_id.clone(),
        status: JobStatus::Queued,
        status_url: format!(
            "{}/api/replay/v1/{replay_id}/status",
            app.storage.public_base()
        ),
    };
    (StatusCode::ACCEPTED, Json(answer))
}

fn key_problem(error: KeyError) -> Problem {
    let kind = match error {
        KeyError::Missing => "missing-idempotency-key",
        _ => "invalid-idempotency-key",
    };
    Problem::bad_request(kind, "The Idempotency-Key is not usable", error.to_string())
}

fn mismatch(replay_id: &Id) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "The Idempotency-Key was used for another save",
        format!(
            "this Idempotency-Key was sent with another body (its save is {replay_id}); send \
             a new key for a new save"
        ),
    )
    .with("replayId", replay_id.as_str())
}

pub fn no_such_replay(replay_id: &Id) -> Problem {
    Problem::not_found(
        "no-such-replay",
        "No such replay",
        format!("there is no replay {replay_id}; the replayId comes from POST /api/replay/v1/save"),
    )
}

/// Runs a database call off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, crate::jobs::store::StoreError> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Problem::internal(format!("a database task failed: {err}")))?
        .map_err(|err| Problem::internal(err.to_string()))
}
