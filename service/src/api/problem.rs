//! Errors as RFC 9457 problem documents (`application/problem+json`): a `type` that names
//! the problem (a link to its entry in docs/service.md), a `title`, the HTTP `status`, a
//! `detail` that says what to do, and members of their own where a client can use them
//! (`limit` and `value` for a full service, `fields` for unknown fields).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

/// Where each problem type is explained.
const TYPE_BASE: &str =
    "https://github.com/gst-replay/gst-replay/blob/main/docs/service.md#problem-";

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    /// The problem type's short name: `missing-idempotency-key`, ...
    pub kind: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// Extension members.
    pub extensions: Map<String, Value>,
    /// Seconds, for 503s a client may retry.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(flatten)]
    extensions: &'a Map<String, Value>,
}

impl Problem {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            kind,
            title,
            detail: detail.into(),
            extensions: Map::new(),
            retry_after: None,
        }
    }

    pub fn with(mut self, member: &str, value: impl Into<Value>) -> Problem {
        self.extensions.insert(member.to_owned(), value.into());
        self
    }

    pub fn retry_after(mut self, seconds: u64) -> Problem {
        self.retry_after = Some(seconds);
        self
    }

    pub fn type_uri(&self) -> String {
        format!("{TYPE_BASE}{}", self.kind)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(Document {
            kind: self.type_uri(),
            title: self.title,
            status: self.status.as_u16(),
            detail: &self.detail,
            extensions: &self.extensions,
        })
        .expect("a problem document serializes")
    }

    pub fn bad_request(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, kind, title, detail)
    }

    pub fn not_found(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, kind, title, detail)
    }

    pub fn conflict(kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::CONFLICT, kind, title, detail)
    }

    /// Something on the service's side failed: storage, the database.
    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The service could not do that",
            detail,
        )
    }

    pub fn no_route(path: &str) -> Self {
        Problem::not_found(
            "no-route",
            "No such route",
            format!("{path} is not a route of this service; see docs/service.md for the API"),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = self.to_json().to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gst-replay\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_has_the_rfc_9457_members_and_its_extensions() {
        let problem = Problem::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "sessions-full",
            "The service holds as many sessions as it may",
            "stop a session or raise --max-sessions",
        )
        .with("limit", "max-sessions")
        .with("value", 2);
        assert_eq!(
            problem.to_json(),
            serde_json::json!({
                "type": "https://github.com/gst-replay/gst-replay/blob/main/docs/service.md#problem-sessions-full",
                "title": "The service holds as many sessions as it may",
                "status": 507,
                "detail": "stop a session or raise --max-sessions",
                "limit": "max-sessions",
                "value": 2,
            })
        );
    }

    #[test]
    fn the_response_is_problem_json_with_retry_after_when_set() {
        let response = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "save-queue-full",
            "Too many saves are waiting",
            "retry later",
        )
        .retry_after(2)
        .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
    }
}
