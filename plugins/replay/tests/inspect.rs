//! The plugin as GStreamer tools load it: from the built shared library via GST_PLUGIN_PATH.

use std::path::PathBuf;
use std::process::Command;

/// The directory holding the libgstreplay.so that cargo built beside this test binary.
/// `cargo test` does not rebuild the shared library, so a stale one fails here.
fn plugin_dir() -> PathBuf {
    let test_binary = std::env::current_exe().unwrap();
    let profile_dir = test_binary.parent().unwrap().parent().unwrap().to_owned();
    let library = profile_dir.join("libgstreplay.so");
    let built = std::fs::metadata(&library)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} was not built: run `cargo build` before the tests",
                library.display()
            )
        });
    let newest_source = newest_modification(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        built >= newest_source,
        "{} is older than the sources: run `cargo build` before the tests",
        library.display()
    );
    profile_dir
}

fn newest_modification(dir: &std::path::Path) -> std::time::SystemTime {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                newest_modification(&entry.path())
            } else {
                entry.metadata().unwrap().modified().unwrap()
            }
        })
        .max()
        .unwrap_or(std::time::UNIX_EPOCH)
}

fn inspect(element: &str) -> String {
    let output = Command::new("gst-inspect-1.0")
        .arg(element)
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env(
            "GST_REGISTRY",
            std::env::temp_dir().join(format!("gst-replay-registry-{}.bin", std::process::id())),
        )
        .output()
        .expect("gst-inspect-1.0 runs (package gstreamer1.0-tools)");
    assert!(
        output.status.success(),
        "gst-inspect-1.0 {element}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn gst_inspect_documents_replayring() {
    let text = inspect("replayring");
    for expected in [
        "video",
        "max-duration",
        "max-bytes",
        "location",
        "save-on-eos",
        "stats",
        "\"save\"",
        "\"save-range\"",
        "\"save-clip\"",
        "post-roll",
        "clear-on-save",
        "audio_%u",
        "audio/mpeg",
        "audio/x-opus",
        "replay",
    ] {
        assert!(
            text.contains(expected),
            "gst-inspect-1.0 replayring lacks {expected}:\n{text}"
        );
    }
}

#[test]
fn gst_inspect_documents_mp4passmux() {
    let text = inspect("mp4passmux");
    for expected in ["video", "location", "video/x-h264", "video/x-h265"] {
        assert!(
            text.contains(expected),
            "gst-inspect-1.0 mp4passmux lacks {expected}:\n{text}"
        );
    }
}
