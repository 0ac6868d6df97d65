//! Tools the suite relies on.

use std::process::{Command, Output};

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

/// The file's SHA-256 as `sha256sum` computes it: a tool of its own, not the project's code.
pub fn sha256sum(path: &std::path::Path) -> String {
    require_tool("sha256sum");
    let output = run_ok(Command::new("sha256sum").arg(path));
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Runs `command` to its end and returns what it printed; panics, with the command line and
/// its stderr, when it cannot start or exits with a failure.
pub fn run_ok(command: &mut Command) -> Output {
    let line = format!("{command:?}");
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{line} could not start: {err}"));
    assert!(
        output.status.success(),
        "{line} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
