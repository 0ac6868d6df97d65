//! Tools the suite relies on.

use std::process::Command;

/// Fails (never skips) when a tool the suite relies on is missing: the README's test command
/// installs every one of them, so a missing tool is a broken setup, not a reason to pass.
pub fn require_tool(name: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is not installed; run the README's test command, which installs it"
    );
}
