//! The ScreenCast restore token: what lets the next run share the same screen without the
//! dialog, when the person allowed it there ("remember this selection").
//!
//! A token is good for one session: each successful start hands out the next one.

use std::path::{Path, PathBuf};

/// Where the token is kept: `$XDG_STATE_HOME/gst-replay/`, else `~/.local/state/gst-replay/`.
pub fn default_path() -> Option<PathBuf> {
    let non_empty = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    let state = non_empty("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty("HOME").map(|home| PathBuf::from(home).join(".local/state")))?;
    Some(state.join("gst-replay").join("screencast-restore-token"))
}

pub fn load(path: &Path) -> Option<String> {
    let token = std::fs::read_to_string(path).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| token.to_owned())
}

/// Keeps the new token, or forgets the used one when the portal gave none (the person did not
/// ask to be remembered). Best effort: without it the dialog simply shows next time.
pub fn store(path: &Path, token: Option<&str>) {
    match token {
        Some(token) => {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(path, format!("{token}\n"));
        }
        None => {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_token_loads_back_and_a_missing_one_is_forgotten() {
        let dir = std::env::temp_dir().join(format!("gst-replay-token-{}", std::process::id()));
        let path = dir.join("gst-replay").join("screencast-restore-token");
        assert_eq!(load(&path), None);
        store(&path, Some("a-token"));
        assert_eq!(load(&path).as_deref(), Some("a-token"));
        store(&path, None);
        assert_eq!(load(&path), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
