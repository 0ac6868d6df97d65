//! The rules of `Idempotency-Key` (IETF httpapi draft and Stripe's practice): one key, one
//! job. The same key with the same request answers the first response again, also after a
//! restart and for at least [`RETENTION`]; the same key with another request is refused. Keys
//! are scoped per client token, so two clients never share one.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ids::Id;

/// How long a key is remembered at least: 24 h promised, kept twice that.
pub const RETENTION: Duration = Duration::from_secs(48 * 3600);
pub const MAX_KEY_LEN: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the Idempotency-Key header is missing: send one (a UUID is a good choice) so that \
         a retried request cannot save the clip twice"
    )]
    Missing,
    #[error("the Idempotency-Key is empty: send 1 to {MAX_KEY_LEN} characters")]
    Empty,
    #[error("the Idempotency-Key has {0} characters; at most {MAX_KEY_LEN} are allowed")]
    TooLong(usize),
    #[error(
        "the Idempotency-Key is not a string: send it bare (printable ASCII without spaces) or \
         quoted as a structured-field string (\"...\", with \\\" and \\\\ escapes)"
    )]
    Malformed,
}

/// Reads the header's value: a structured-field string (`"8e03..."`, the draft's form) or a
/// bare token (Stripe's form).
pub fn parse_key(header: Option<&[u8]>) -> Result<IdempotencyKey, KeyError> {
    let raw = header.ok_or(KeyError::Missing)?;
    let text = std::str::from_utf8(raw)
        .map_err(|_| KeyError::Malformed)?
        .trim_matches(' ');
    let key = match text.strip_prefix('"') {
        Some(quoted) => unquote(quoted)?,
        None => {
            if !text.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(KeyError::Malformed);
            }
            text.to_owned()
        }
    };
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong(key.len()));
    }
    Ok(IdempotencyKey(key))
}

/// The inside of an sf-string after its opening quote (RFC 8941, 3.3.3).
fn unquote(rest: &str) -> Result<String, KeyError> {
    let mut key = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                return if chars.next().is_none() {
                    Ok(key)
                } else {
                    Err(KeyError::Malformed)
                }
            }
            '\\' => match chars.next() {
                Some(escaped @ ('"' | '\\')) => key.push(escaped),
                _ => return Err(KeyError::Malformed),
            },
            ' '..='~' => key.push(c),
            _ => return Err(KeyError::Malformed),
        }
    }
    Err(KeyError::Malformed)
}

/// Whose keys these are: a hash of the bearer token, so the database holds no token.
pub fn scope_of(token: Option<&str>) -> String {
    match token {
        Some(token) => hex(&Sha256::digest(token.as_bytes())),
        None => "anonymous".to_owned(),
    }
}

/// A fingerprint of the request as the service understood it (defaults filled in, in one
/// canonical form), so the same request written differently is still the same.
pub fn fingerprint(canonical_request: &serde_json::Value) -> String {
    hex(&Sha256::digest(canonical_request.to_string().as_bytes()))
}

/// What a key recorded earlier says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedKey {
    pub fingerprint: String,
    pub replay_id: Id,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A key not seen: make a job.
    New,
    /// The same request again: answer with the first one's job.
    Repeat(Id),
    /// Another request under a key already used: 422.
    Mismatch(Id),
}

pub fn decide(recorded: Option<&RecordedKey>, fingerprint: &str) -> Decision {
    match recorded {
        None => Decision::New,
        Some(recorded) if recorded.fingerprint == fingerprint => {
            Decision::Repeat(recorded.replay_id.clone())
        }
        Some(recorded) => Decision::Mismatch(recorded.replay_id.clone()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Result<String, KeyError> {
        parse_key(Some(text.as_bytes())).map(|key| key.0)
    }

    #[test]
    fn bare_and_quoted_keys_are_the_same_key() {
        assert_eq!(
            key("8e03978e-40d5-43e8-bc93-6894a57f9324").unwrap(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(key("\"8e03978e-40d5\"").unwrap(), "8e03978e-40d5");
        assert_eq!(key("\"a \\\"quoted\\\" key\"").unwrap(), "a \"quoted\" key");
        assert_eq!(key("\"back\\\\slash\"").unwrap(), "back\\slash");
        assert_eq!(key("  padded  ").unwrap(), "padded");
    }

    #[test]
    fn keys_that_are_not_strings_or_too_long_are_refused() {
        assert_eq!(parse_key(None), Err(KeyError::Missing));
        assert_eq!(key(""), Err(KeyError::Empty));
        assert_eq!(key("\"\""), Err(KeyError::Empty));
        assert_eq!(key(&"k".repeat(255)).unwrap().len(), 255);
        assert_eq!(key(&"k".repeat(256)), Err(KeyError::TooLong(256)));
        assert_eq!(
            key(&format!("\"{}\"", "k".repeat(256))),
            Err(KeyError::TooLong(256))
        );
        for malformed in [
            "\"unterminated",
            "\"bad \\n escape\"",
            "\"x\"y",
            "two words",
            "tab\there",
        ] {
            assert_eq!(key(malformed), Err(KeyError::Malformed), "{malformed}");
        }
        assert_eq!(parse_key(Some(&[0xff, 0xfe])), Err(KeyError::Malformed));
    }

    #[test]
    fn one_key_one_job() {
        let replay = Id::parse("replayId", "r1").unwrap();
        let recorded = RecordedKey {
            fingerprint: fingerprint(&serde_json::json!({"sessionId": "s", "fromSeconds": 30.0})),
            replay_id: replay.clone(),
        };
        assert_eq!(decide(None, "f"), Decision::New);
        let same = fingerprint(&serde_json::json!({"sessionId": "s", "fromSeconds": 30.0}));
        assert_eq!(
            decide(Some(&recorded), &same),
            Decision::Repeat(replay.clone())
        );
        let other = fingerprint(&serde_json::json!({"sessionId": "s", "fromSeconds": 10.0}));
        assert_eq!(decide(Some(&recorded), &other), Decision::Mismatch(replay));
    }

    #[test]
    fn scopes_hide_the_token_and_differ_per_token() {
        let scope = scope_of(Some("secret"));
        assert!(!scope.contains("secret") && scope.len() == 64);
        assert_ne!(scope, scope_of(Some("other")));
        assert_eq!(scope_of(None), "anonymous");
    }
}
