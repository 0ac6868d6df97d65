//! The HTTP layer, in process: authentication, validation, idempotency answers and problem
//! documents, with a real service (its database in a test directory) and no session.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use test_support::TestDir;
use tower::ServiceExt;

use crate::app::{App, Service};
use crate::config::ServeArgs;
use crate::ids::Id;
use crate::jobs::store::Created;
use crate::jobs::{idempotency, Job, JobStatus, SaveSpec};

struct Api {
    app: Arc<App>,
    _dir: TestDir,
}

async fn api(name: &str, args: ServeArgs) -> Api {
    let dir = TestDir::new(name);
    let config = ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.join("data")),
        ..args
    }
    .resolve()
    .unwrap();
    let service = Service::open(config).await.unwrap();
    Api {
        app: Arc::clone(&service.app),
        _dir: dir,
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
        let response = super::router(Arc::clone(&self.app))
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body, headers)
    }

    async fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (status, body, _) = self
            .send(request.body(Body::from(body.to_owned())).unwrap())
            .await;
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }
}

fn problem_kind(body: &Value) -> &str {
    body["type"]
        .as_str()
        .and_then(|uri| uri.rsplit("#problem-").next())
        .unwrap_or_default()
}

#[tokio::test]
async fn with_a_token_every_api_route_needs_it_and_health_does_not() {
    let api = api(
        "api-auth",
        ServeArgs {
            token: Some("s3cret".into()),
            ..ServeArgs::default()
        },
    )
    .await;
    let (status, body, headers) = api.get("/api/replay/v1/sessions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_kind(&body), "unauthorized");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert!(headers[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (status, _) = api
        .post(
            "/api/replay/v1/save",
            "{}",
            &[("authorization", "Bearer wrong")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = api
        .post(
            "/api/replay/v1/session/s1/stop-buffer",
            "",
            &[("authorization", "bearer s3cret")],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::NOT_FOUND, "no-such-session")
    );
    let (status, body, _) = api.get("/health").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
}

#[tokio::test]
async fn ids_bodies_and_routes_are_checked_with_problem_documents() {
    let api = api("api-validation", ServeArgs::default()).await;
    let long = "x".repeat(129);
    for path in [
        format!("/api/replay/v1/session/{long}"),
        "/api/replay/v1/session/a%20b".to_owned(),
        "/api/replay/v1/session/a%2F..%2Fb".to_owned(),
        "/api/replay/v1/%2E%2E/status".to_owned(),
    ] {
        let (status, body, _) = api.get(&path).await;
        assert_eq!(
            (status, problem_kind(&body)),
            (StatusCode::BAD_REQUEST, "invalid-id"),
            "{path}"
        );
    }
    let (status, body) = api
        .post(
            "/api/replay/v1/session/s1/start-buffer",
            r#"{"source":"srt://:9000?mode=listener","maxBytez":1}"#,
            &[],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::BAD_REQUEST, "invalid-body")
    );
    assert_eq!(body["fields"], json!(["maxBytez"]));
    let (status, body) = api
        .post(
            "/api/replay/v1/session/s1/start-buffer",
            r#"{"source":"camera-1"}"#,
            &[],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::BAD_REQUEST, "invalid-session")
    );
    let huge = format!(r#"{{"source":"{}"}}"#, "x".repeat(70 * 1024));
    let (status, body) = api
        .post("/api/replay/v1/session/s1/start-buffer", &huge, &[])
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    let (status, body, headers) = api.get("/api/replay/v2/nothing").await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::NOT_FOUND, "no-route")
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let (status, body, _) = api.get("/api/replay/v1/save").await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    let (status, body, _) = api.get("/api/replay/v1/no-such-replay/status").await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::NOT_FOUND, "no-such-replay")
    );
    assert!(
        body["detail"].as_str().unwrap().len() > 20,
        "a detail that says what to do"
    );
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn saves_need_a_key_and_a_session_and_a_key_answers_as_it_did() {
    let api = api("api-saves", ServeArgs::default()).await;
    let save = r#"{"sessionId":"s1","fromSeconds":30}"#;
    let (status, body) = api.post("/api/replay/v1/save", save, &[]).await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::BAD_REQUEST, "missing-idempotency-key")
    );
    let long_key = "k".repeat(256);
    let (status, body) = api
        .post(
            "/api/replay/v1/save",
            save,
            &[("idempotency-key", &long_key)],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::BAD_REQUEST, "invalid-idempotency-key")
    );
    let (status, body) = api
        .post("/api/replay/v1/save", save, &[("idempotency-key", "k1")])
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::NOT_FOUND, "no-such-session")
    );
    let (status, body) = api
        .post(
            "/api/replay/v1/save",
            r#"{"sessionId":"s1","fromSeconds":5,"toSeconds":10}"#,
            &[("idempotency-key", "k1")],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::BAD_REQUEST, "invalid-save")
    );

    // A key recorded by an earlier run (whose session is gone since).
    let id = |text| Id::parse("id", text).unwrap();
    let job = Job {
        replay_id: id("r-earlier"),
        session_id: id("s1"),
        user_id: None,
        game_id: None,
        status: JobStatus::Queued,
        progress: 0,
        location: "_/_/r-earlier.mp4".into(),
        storage_url: None,
        duration_seconds: None,
        frames: None,
        bytes: None,
        sha256: None,
        error: None,
        created_at: crate::jobs::now_millis(),
        ready_at: None,
        spec: SaveSpec::new(id("s1"), Some(30.0), None, None, None).unwrap(),
    };
    let created = api
        .app
        .store
        .create_job(&idempotency::scope_of(None), "k-earlier", &job, 10)
        .unwrap();
    assert!(matches!(created, Created::New(_)));
    // Quoted or bare, the same key; the same request written differently, the same save.
    for key in ["k-earlier", "\"k-earlier\""] {
        let (status, body) = api
            .post(
                "/api/replay/v1/save",
                r#"{"fromSeconds":30.0,"sessionId":"s1","toSeconds":0}"#,
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        assert_eq!(body["replayId"], "r-earlier");
        assert_eq!(body["status"], "queued");
        assert!(body["statusUrl"]
            .as_str()
            .unwrap()
            .ends_with("/api/replay/v1/r-earlier/status"));
    }
    let (status, body) = api
        .post(
            "/api/replay/v1/save",
            r#"{"sessionId":"s1","fromSeconds":10}"#,
            &[("idempotency-key", "k-earlier")],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused")
    );
    assert_eq!(body["replayId"], "r-earlier");

    let (status, body, _) = api.get("/api/replay/v1/r-earlier/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "queued");
    for field in [
        "replayId",
        "sessionId",
        "userId",
        "gameId",
        "status",
        "progress",
        "storageUrl",
        "durationSeconds",
        "frames",
        "bytes",
        "sha256",
        "error",
        "createdAt",
        "readyAt",
    ] {
        assert!(body.get(field).is_some(), "{field} in {body}");
    }
    let (status, body, _) = api.get("/api/replay/v1/r-earlier/download").await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::CONFLICT, "replay-not-ready")
    );
}

#[tokio::test]
async fn a_session_over_the_memory_budget_is_refused_with_the_limit() {
    let api = api(
        "api-admission",
        ServeArgs {
            memory_budget: Some(1 << 20),
            ..ServeArgs::default()
        },
    )
    .await;
    let (status, body) = api
        .post(
            "/api/replay/v1/session/s1/start-buffer",
            r#"{"source":"srt://:9000?mode=listener","maxBytes":2097152}"#,
            &[],
        )
        .await;
    assert_eq!(
        (status, problem_kind(&body)),
        (StatusCode::INSUFFICIENT_STORAGE, "service-full")
    );
    assert_eq!(body["limit"], "memory-budget");
    assert_eq!(body["value"], 1 << 20);
    let (_, body, _) = api.get("/api/replay/v1/sessions").await;
    assert_eq!(body, json!({"sessions": []}), "nothing was started");
}

#[tokio::test]
async fn metrics_carry_the_seeds_names() {
    let api = api("api-metrics", ServeArgs::default()).await;
    let response = super::router(Arc::clone(&api.app))
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    for name in [
        "replay_buffer_active_sessions 0",
        "replay_buffer_storage_bytes{type=\"temp\"} 0",
        "replay_buffer_storage_bytes{type=\"permanent\"} 0",
        "replay_buffer_capture_attempts_total 0",
        "replay_buffer_captures_total 0",
        "# TYPE replay_buffer_capture_duration_seconds histogram",
    ] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
}
