//! Request bodies: JSON of at most 64 KiB, unknown fields refused by name, every refusal a
//! problem document.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// The largest body a route reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body, read as [`Problem`]s say when it is not acceptable.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Problem> {
        let body: Body = request.into_body();
        let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "The request body is too large",
                format!("a request body may have at most {MAX_BODY_BYTES} bytes"),
            )
            .with("limit", MAX_BODY_BYTES)
        })?;
        parse(&bytes).map(ApiJson)
    }
}

pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|err| {
        let message = err.to_string();
        let mut problem = Problem::bad_request(
            "invalid-body",
            "The request body is not what this route takes",
            format!("{message}; see docs/service.md for the fields of this route"),
        );
        if let Some(field) = unknown_field(&message) {
            problem = problem.with("fields", vec![field]);
        }
        problem
    })
}

/// serde's "unknown field `x`, expected ..." names the field.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        source: String,
    }

    #[test]
    fn unknown_fields_are_named() {
        let problem = parse::<Body>(br#"{"source":"x","sorce":"y"}"#).unwrap_err();
        assert_eq!(problem.status, StatusCode::BAD_REQUEST);
        assert_eq!(problem.extensions["fields"], serde_json::json!(["sorce"]));
        assert!(problem.detail.contains("unknown field `sorce`"));
        let missing = parse::<Body>(b"{}").unwrap_err();
        assert!(missing.detail.contains("missing field `source`"));
        assert!(parse::<Body>(b"not json").is_err());
    }
}
