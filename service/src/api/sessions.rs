//! `POST .../session/{id}/start-buffer`, `GET .../session/{id}`, `GET .../sessions`,
//! `POST .../session/{id}/stop-buffer`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

use super::body::ApiJson;
use super::path_id;
use super::problem::Problem;
use crate::app::App;
use crate::log;
use crate::sessions::document::{SessionConfig, SessionDocument, StartBody};
use crate::sessions::registry::Started;

type Answer = Result<(StatusCode, Json<SessionDocument>), Problem>;

pub async fn start(
    State(app): State<Arc<App>>,
    Path(session_id): Path<String>,
    ApiJson(body): ApiJson<StartBody>,
) -> Answer {
    let session_id = path_id("sessionId", &session_id)?;
    let config = SessionConfig::from_body(body).map_err(|err| {
        Problem::bad_request(
            "invalid-session",
            "The session cannot be started",
            err.to_string(),
        )
    })?;
    match app.sessions.start(session_id.clone(), config).await {
        Started::New(document) => {
            log::event(serde_json::json!({
                "event": "session-started", "sessionId": session_id, "source": document.source,
            }));
            Ok((StatusCode::CREATED, Json(document)))
        }
        Started::Same(document) => Ok((StatusCode::OK, Json(document))),
        Started::Conflict(document) => Err(Problem::conflict(
            "session-exists",
            "A session with this id runs with other settings",
            format!(
                "session {session_id} already buffers {} with other settings; stop it first \
                 (POST .../stop-buffer) or use another session id",
                document.source
            ),
        )
        .with(
            "session",
            serde_json::to_value(document).unwrap_or_default(),
        )),
        Started::Refused(refusal) => Err(Problem::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "service-full",
            "The service has no room for another session",
            refusal.detail(),
        )
        .with("limit", refusal.limit())
        .with("value", refusal.value())),
        Started::Unusable(error) => Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "source-unusable",
            "The source cannot be ingested",
            error,
        )),
    }
}

pub async fn get(State(app): State<Arc<App>>, Path(session_id): Path<String>) -> Answer {
    let session_id = path_id("sessionId", &session_id)?;
    let document = app
        .sessions
        .document(&session_id)
        .ok_or_else(|| no_such_session(&session_id))?;
    Ok((StatusCode::OK, Json(document)))
}

pub async fn list(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "sessions": app.sessions.documents() }))
}

pub async fn stop(State(app): State<Arc<App>>, Path(session_id): Path<String>) -> Answer {
    let session_id = path_id("sessionId", &session_id)?;
    let document = app
        .sessions
        .stop(&session_id)
        .await
        .ok_or_else(|| no_such_session(&session_id))?;
    log::event(serde_json::json!({"event": "session-stopped", "sessionId": session_id}));
    Ok((StatusCode::OK, Json(document)))
}

pub fn no_such_session(session_id: &crate::ids::Id) -> Problem {
    Problem::not_found(
        "no-such-session",
        "No such session",
        format!(
            "there is no session {session_id}; start one with POST \
             /api/replay/v1/session/{session_id}/start-buffer"
        ),
    )
}
