//! Clips over HTTP: `GET /replays/{gameId}/{userId}/{replayId}.mp4` (the `storageUrl`) and
//! `GET /api/replay/v1/{replayId}/download`, with `Range` (206, `Accept-Ranges: bytes`),
//! `ETag` the clip's SHA-256 and `Content-Type: video/mp4`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::path_id;
use super::problem::Problem;
use super::saves::{blocking, no_such_replay};
use crate::app::App;
use crate::ids::Id;
use crate::jobs::{Job, JobStatus};

/// The storage URL's path: three ids, the last with `.mp4`.
pub async fn by_path(
    State(app): State<Arc<App>>,
    Path((game, user, file)): Path<(String, String, String)>,
    request: Request,
) -> Result<Response, Problem> {
    let not_found = || {
        Problem::not_found(
            "no-such-clip",
            "No such clip",
            format!("there is no clip at /replays/{game}/{user}/{file}"),
        )
    };
    let replay = file.strip_suffix(".mp4").ok_or_else(not_found)?;
    let replay_id = Id::parse("replayId", replay).map_err(|_| not_found())?;
    let job = ready_job(&app, &replay_id).await?;
    if job.location != format!("{game}/{user}/{file}") {
        return Err(not_found());
    }
    serve(&app, &job, request).await
}

pub async fn download(
    State(app): State<Arc<App>>,
    Path(replay_id): Path<String>,
    request: Request,
) -> Result<Response, Problem> {
    let replay_id = path_id("replayId", &replay_id)?;
    let job = ready_job(&app, &replay_id).await?;
    serve(&app, &job, request).await
}

async fn ready_job(app: &Arc<App>, replay_id: &Id) -> Result<Job, Problem> {
    let job = blocking({
        let (store, replay_id) = (Arc::clone(&app.store), replay_id.clone());
        move || store.job(&replay_id)
    })
    .await?
    .ok_or_else(|| no_such_replay(replay_id))?;
    if job.status != JobStatus::Ready {
        return Err(Problem::conflict(
            "replay-not-ready",
            "The clip is not ready",
            format!(
                "replay {replay_id} is {}; its file is served once it is ready (GET \
                 /api/replay/v1/{replay_id}/status)",
                job.status
            ),
        )
        .with("status", job.status.name()));
    }
    Ok(job)
}

async fn serve(app: &App, job: &Job, request: Request) -> Result<Response, Problem> {
    let etag = job
        .sha256
        .as_deref()
        .map(|sha256| format!("\"{sha256}\""))
        .unwrap_or_default();
    let matches_etag = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    if matches_etag && !etag.is_empty() {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        set_etag(&mut response, &etag);
        return Ok(response);
    }
    let path = app.storage.path(&job.location);
    let response = ServeFile::new_with_mime(&path, &mime_mp4())
        .oneshot(request)
        .await
        .map_err(|err| Problem::internal(format!("cannot read the clip: {err}")))?;
    if response.status() == StatusCode::NOT_FOUND {
        return Err(Problem::new(
            StatusCode::GONE,
            "clip-gone",
            "The clip's file is gone",
            format!(
                "the record of replay {} says ready, but {} is not there",
                job.replay_id,
                path.display()
            ),
        ));
    }
    let mut response = response.map(Body::new);
    set_etag(&mut response, &etag);
    Ok(response)
}

fn set_etag(response: &mut Response, etag: &str) {
    if let Ok(value) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
}

fn mime_mp4() -> mime::Mime {
    "video/mp4".parse().expect("a valid MIME type")
}
