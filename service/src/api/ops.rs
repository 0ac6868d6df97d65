//! `GET /health` and `GET /metrics`: for load balancers and Prometheus, without a token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::app::App;
use crate::metrics;

/// 200 while the storage takes files, 503 when it does not.
pub async fn health(State(app): State<Arc<App>>) -> Response {
    let storage = app.storage.clone();
    let writable = tokio::task::spawn_blocking(move || storage.check_writable())
        .await
        .map_err(|err| std::io::Error::other(err.to_string()))
        .and_then(|result| result);
    let sessions = app.sessions.active();
    match writable {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "sessions": sessions, "storage": "writable"})),
        )
            .into_response(),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({
                "status": "unavailable", "sessions": sessions,
                "storage": format!("not writable: {err}"),
            })),
        )
            .into_response(),
    }
}

pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    app.metrics
        .active_sessions
        .set(app.sessions.active() as i64);
    let sessions = Arc::clone(&app.sessions);
    let temp = tokio::task::spawn_blocking(move || sessions.buffered_bytes())
        .await
        .unwrap_or(0);
    app.metrics.set_storage_bytes("temp", temp);
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
        .into_response()
}
