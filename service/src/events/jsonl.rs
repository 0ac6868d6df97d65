//! `DATA_DIR/events.jsonl`: one event a line, appended and synced.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// Appends each body as a line and syncs the file: once this returns, the lines survive a
/// crash. A body never holds a newline (it is serialized JSON).
pub fn append(path: &Path, bodies: &[&str]) -> std::io::Result<()> {
    let mut text = String::with_capacity(bodies.iter().map(|body| body.len() + 1).sum());
    for body in bodies {
        debug_assert!(!body.contains('\n'));
        text.push_str(body);
        text.push('\n');
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_appended_in_order() {
        let dir = test_support::TestDir::new("events-jsonl");
        let path = dir.join("events.jsonl");
        append(&path, &["{\"a\":1}", "{\"b\":2}"]).unwrap();
        append(&path, &["{\"c\":3}"]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"
        );
    }
}
