//! `gst-replay status`: asks the running `gst-replay run` how its replay ring stands.

use std::time::Duration;

use anyhow::bail;

use crate::cli::StatusArgs;
use crate::control::{self, Request};

/// The run answers from its main loop, which never waits long: this only bounds a run that
/// has hung.
const STATUS_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(args: &StatusArgs) -> anyhow::Result<()> {
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(control::default_socket_path);
    let reply = control::client::send(&socket, &Request::Status, STATUS_TIMEOUT)?;
    if reply["event"] != "status" {
        bail!(
            "gst-replay answered with an error: {}",
            reply["error"].as_str().unwrap_or("unknown")
        );
    }
    if args.json {
        println!("{reply}");
    } else {
        println!("{}", summary(&reply));
    }
    Ok(())
}

/// The status reply as a person reads it: what the ring holds, the saves, the encoder.
fn summary(status: &serde_json::Value) -> String {
    let count = |field: &str| status[field].as_u64().unwrap_or_default();
    format!(
        "buffered: {:.1} s, {:.1} MB ({} frames, {} keyframes)\n\
         saves: {} written, {} failed, {} waiting to be written\n\
         encoder: {}",
        status["buffered_seconds"].as_f64().unwrap_or_default(),
        count("bytes") as f64 / 1e6,
        count("frames"),
        count("keyframes"),
        count("saves"),
        count("failed_saves"),
        count("pending_saves"),
        status["encoder"].as_str().unwrap_or("unknown"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_what_the_ring_holds_and_the_saves() {
        let status = serde_json::json!({
            "event": "status", "buffered_seconds": 118.26, "bytes": 221_400_000u64,
            "frames": 7095, "keyframes": 60, "saves": 3, "failed_saves": 1,
            "pending_saves": 2, "encoder": "x264enc",
        });
        assert_eq!(
            summary(&status),
            "buffered: 118.3 s, 221.4 MB (7095 frames, 60 keyframes)\n\
             saves: 3 written, 1 failed, 2 waiting to be written\n\
             encoder: x264enc"
        );
    }
}
