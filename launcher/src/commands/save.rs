//! `gst-replay save`: asks the running `gst-replay run` for a clip and waits for it.

use std::time::Duration;

use anyhow::bail;

use crate::cli::SaveArgs;
use crate::control::{self, Request};
use crate::run::report;

pub fn run(args: &SaveArgs) -> anyhow::Result<()> {
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(control::default_socket_path);
    // The running instance may have another working directory.
    let path = match &args.path {
        Some(path) => Some(std::path::absolute(path)?.to_string_lossy().into_owned()),
        None => None,
    };
    let nanoseconds = |seconds: f64| (seconds * 1e9).round() as u64;
    let request = Request::Save {
        last_ns: args.last.map(nanoseconds),
        post_ns: args.post.map(nanoseconds),
        clear: args.clear_choice(),
        path,
    };
    // The clip cannot be written before its post-roll has been captured.
    let timeout =
        Duration::from_secs(args.timeout) + Duration::from_secs_f64(args.post.unwrap_or(0.0));
    let reply = control::client::send(&socket, &request, timeout)?;
    println!("{reply}");
    match reply["event"].as_str() {
        Some("saved") => {
            eprintln!("{}", report::human_line(&reply));
            Ok(())
        }
        Some("failed") => bail!("{}", report::human_line(&reply)),
        _ => bail!(
            "gst-replay answered with an error: {}",
            reply["error"].as_str().unwrap_or("unknown")
        ),
    }
}
