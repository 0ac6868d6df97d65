//! Running one save job: the ring writes the clip where storage says, the job follows its
//! states, and once the file is durable the job turns `ready` with its event in the outbox.

use std::sync::Arc;
use std::time::Instant;

use super::store::Store;
use super::{now_millis, rfc3339, ClipResult, Job, JobStatus};
use crate::app::App;
use crate::events::ReplayCreated;
use crate::log;
use crate::metrics::ErrorType;
use crate::sessions::ingest::{ClipEvent, ClipRequest, SavedClip};
use crate::sessions::registry::Session;

/// Runs `job` on `session` to `ready` or `failed`. `requested` is when the save was asked
/// for (request-to-ready is what the capture histogram measures).
pub async fn run(app: Arc<App>, job: Job, session: Arc<Session>, requested: Instant) {
    let _running = app.job_started();
    let outcome = save(&app, &job, &session).await;
    match outcome {
        Ok(clip) => ready(&app, &job, clip, requested).await,
        Err((error, kind)) => failed(&app, &job, &error, kind).await,
    }
}

async fn save(
    app: &Arc<App>,
    job: &Job,
    session: &Arc<Session>,
) -> Result<SavedClip, (String, ErrorType)> {
    set_status(&app.store, job, JobStatus::Extracting).await;
    let location = {
        let storage = app.storage.clone();
        let path = storage.path(&job.location);
        tokio::task::spawn_blocking(move || {
            path.parent().map(std::fs::create_dir_all).transpose()?;
            Ok::<_, std::io::Error>(path)
        })
        .await
        .map_err(|err| (err.to_string(), ErrorType::Storage))?
        .map_err(|err| {
            (
                format!("cannot create the clip's directory: {err}"),
                ErrorType::Storage,
            )
        })?
    };
    let request = ClipRequest {
        from_seconds: job.spec.from_seconds,
        to_seconds: job.spec.to_seconds,
        post_seconds: job.spec.post_seconds,
        clear: job.spec.clear,
        location,
    };
    let asking = Arc::clone(session);
    let events = tokio::task::spawn_blocking(move || asking.save(request))
        .await
        .map_err(|err| (err.to_string(), ErrorType::Session))?;
    let Some(mut events) = events else {
        return Err((
            "the session stopped before the save could start".to_owned(),
            ErrorType::Session,
        ));
    };
    while let Some(event) = events.recv().await {
        match event {
            ClipEvent::Writing => set_status(&app.store, job, JobStatus::Encoding).await,
            ClipEvent::Saved(clip) => return Ok(clip),
            ClipEvent::Failed(error) => {
                let kind = classify(&error);
                return Err((error, kind));
            }
        }
    }
    Err((
        "the session's pipeline went away before the clip was written".to_owned(),
        ErrorType::Session,
    ))
}

async fn ready(app: &Arc<App>, job: &Job, clip: SavedClip, requested: Instant) {
    let Some(sha256) = clip.sha256.clone() else {
        failed(
            app,
            job,
            "the ring did not report the clip's SHA-256",
            ErrorType::Storage,
        )
        .await;
        return;
    };
    let ready_at = now_millis();
    let result = ClipResult {
        storage_url: app.storage.url(&job.location),
        duration_seconds: clip.duration.as_secs_f64(),
        frames: clip.frames,
        bytes: clip.bytes,
        sha256,
    };
    let event = ReplayCreated {
        replay_id: job.replay_id.clone(),
        storage_url: result.storage_url.clone(),
        session_id: job.session_id.clone(),
        user_id: job.user_id.clone(),
        game_id: job.game_id.clone(),
        timestamp: rfc3339(ready_at),
        sha256: result.sha256.clone(),
        duration_seconds: result.duration_seconds,
        bytes: result.bytes,
    };
    let store = Arc::clone(&app.store);
    let replay_id = job.replay_id.clone();
    let targets = app.webhook_targets.clone();
    let body = event.body();
    let stored = tokio::task::spawn_blocking(move || {
        store.mark_ready(&replay_id, &result, ready_at, &body, &targets)
    })
    .await;
    match stored {
        Ok(Ok(Some(_))) => {
            app.events_ready.notify_one();
            app.metrics.captures.inc();
            app.metrics
                .capture_duration
                .observe(requested.elapsed().as_secs_f64());
            if let Ok(Ok(bytes)) = {
                let store = Arc::clone(&app.store);
                tokio::task::spawn_blocking(move || store.stored_bytes()).await
            } {
                app.metrics.set_storage_bytes("permanent", bytes);
            }
            log::event(serde_json::json!({
                "event": "replay-ready", "replayId": job.replay_id, "sessionId": job.session_id,
                "storageUrl": event.storage_url, "bytes": clip.bytes, "frames": clip.frames,
                "durationSeconds": event.duration_seconds,
            }));
        }
        // Already final (cannot happen for a job this run started).
        Ok(Ok(None)) => {}
        Ok(Err(error)) => {
            failed(
                app,
                job,
                &format!("the clip is saved but its record is not: {error}"),
                ErrorType::Storage,
            )
            .await
        }
        Err(join) => failed(app, job, &join.to_string(), ErrorType::Storage).await,
    }
}

async fn failed(app: &Arc<App>, job: &Job, error: &str, kind: ErrorType) {
    app.metrics.capture_failed(kind);
    let store = Arc::clone(&app.store);
    let replay_id = job.replay_id.clone();
    let message = error.to_owned();
    if let Ok(Err(err)) =
        tokio::task::spawn_blocking(move || store.mark_failed(&replay_id, &message)).await
    {
        eprintln!(
            "gst-replay serve: cannot record that {} failed: {err}",
            job.replay_id
        );
    }
    log::event(serde_json::json!({
        "event": "replay-failed", "replayId": job.replay_id, "sessionId": job.session_id,
        "error": error,
    }));
}

async fn set_status(store: &Arc<Store>, job: &Job, status: JobStatus) {
    let store = Arc::clone(store);
    let replay_id = job.replay_id.clone();
    if let Ok(Err(err)) =
        tokio::task::spawn_blocking(move || store.set_status(&replay_id, status)).await
    {
        eprintln!(
            "gst-replay serve: cannot record that {} is {status}: {err}",
            job.replay_id
        );
    }
}

/// The `error_type` of a ring's `replay-failed` error.
fn classify(error: &str) -> ErrorType {
    let writing = [
        "cannot write",
        "cannot create",
        "cannot finish",
        "No space",
        "Read-only",
    ];
    if writing.iter().any(|needle| error.contains(needle)) {
        ErrorType::Storage
    } else if error.contains("keyframe") || error.contains("range") || error.contains("presented") {
        ErrorType::Range
    } else {
        ErrorType::Session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_errors_are_classified_by_cause() {
        assert_eq!(
            classify("cannot write /data/x.mp4: No space left on device (os error 28)"),
            ErrorType::Storage
        );
        assert_eq!(
            classify("cannot create a file beside /data/x.mp4: Read-only file system"),
            ErrorType::Storage
        );
        assert_eq!(classify("no keyframe buffered yet"), ErrorType::Range);
        assert_eq!(
            classify("the requested range ended before the oldest buffered keyframe"),
            ErrorType::Range
        );
        assert_eq!(classify("the pipeline stopped"), ErrorType::Session);
    }
}
