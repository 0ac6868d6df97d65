//! Posting events to webhooks: signed, retried with backoff.
//!
//! `X-Replay-Signature` is the HMAC-SHA256 of the body, as lower-case hex, keyed with the
//! service's token (an empty key when it has none: then it proves integrity, not origin).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const SIGNATURE_HEADER: &str = "X-Replay-Signature";
/// A webhook that does not answer within this is tried again later.
pub const TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const LONGEST_RETRY: Duration = Duration::from_secs(300);

pub fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// How long to wait before attempt number `attempts + 1`, after `attempts` failed: 1 s,
/// doubling, at most 5 min.
pub fn backoff(attempts: u32) -> Duration {
    let doubled = FIRST_RETRY.saturating_mul(1u32 << attempts.min(16));
    doubled.min(LONGEST_RETRY)
}

/// Posts one event; `Err` says why it did not arrive.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    key: &[u8],
    body: &str,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(key, body.as_bytes()))
        .body(body.to_owned())
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|err| format!("{url}: {err}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{url} answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(signature(b"", b"{}").len(), 64);
    }

    #[test]
    fn retries_back_off_to_five_minutes() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), Duration::from_secs(300));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
