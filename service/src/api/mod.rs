//! The HTTP API (docs/service.md): routes, authentication, request parsing and problem
//! documents. Handlers stay thin: they check what they get and call the sessions, the jobs
//! and the storage.

pub mod auth;
pub mod body;
pub mod files;
pub mod ops;
pub mod problem;
pub mod saves;
pub mod sessions;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{middleware, Router};

use crate::app::App;
use crate::ids::Id;
use problem::Problem;

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/session/{session_id}/start-buffer", post(sessions::start))
        .route("/session/{session_id}/stop-buffer", post(sessions::stop))
        .route("/session/{session_id}", get(sessions::get))
        .route("/sessions", get(sessions::list))
        .route("/save", post(saves::save))
        .route("/{replay_id}/status", get(saves::status))
        .route("/{replay_id}/download", get(files::download))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            auth::require_token,
        ));
    Router::new()
        .nest("/api/replay/v1", api)
        .route("/replays/{game_id}/{user_id}/{file}", get(files::by_path))
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        // Bodies are read by `body::ApiJson` with its own limit and problem document.
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

/// An id from a path or a body, or the problem that says what is wrong with it.
pub fn path_id(what: &'static str, text: &str) -> Result<Id, Problem> {
    Id::parse(what, text)
        .map_err(|err| Problem::bad_request("invalid-id", "An id is not valid", err.to_string()))
}

async fn no_route(uri: Uri) -> Problem {
    Problem::no_route(uri.path())
}

async fn wrong_method(uri: Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "This route does not take that method",
        format!("{} takes another method; see docs/service.md", uri.path()),
    )
}
