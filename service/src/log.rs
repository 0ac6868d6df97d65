//! stdout carries one JSON line per notable event (`listening`, sessions, saves), for
//! whatever supervises the service; stderr carries sentences for people.

use std::io::Write;

pub fn event(line: serde_json::Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
