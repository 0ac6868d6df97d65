//! Clips as files under `DATA_DIR/replays/`.
//!
//! The ring writes each clip under a temporary name beside its final one and renames it
//! there once synced, so a file at a final path is always complete; what a killed process
//! leaves is a `.<name>.part` file, removed at start.

use std::path::{Path, PathBuf};

use super::MISSING_ID;
use crate::ids::Id;

/// The directory under the data directory, and the URL path prefix it is served at.
pub const REPLAYS: &str = "replays";

#[derive(Clone, Debug)]
pub struct LocalStorage {
    root: PathBuf,
    /// `http://host:port` that clients reach the service at, without a trailing slash.
    public_base: String,
}

impl LocalStorage {
    pub fn new(data_dir: &Path, public_base: &str) -> LocalStorage {
        LocalStorage {
            root: data_dir.join(REPLAYS),
            public_base: public_base.trim_end_matches('/').to_owned(),
        }
    }

    pub fn public_base(&self) -> &str {
        &self.public_base
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `{gameId}/{userId}/{replayId}.mp4`, relative to the root and to the URL prefix.
    pub fn key(game: Option<&Id>, user: Option<&Id>, replay: &Id) -> String {
        let part = |id: Option<&Id>| id.map_or(MISSING_ID.to_owned(), |id| id.to_string());
        format!("{}/{}/{replay}.mp4", part(game), part(user))
    }

    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// The file's path, its directory created.
    pub fn prepare(&self, key: &str) -> std::io::Result<PathBuf> {
        let path = self.path(key);
        if let Some(directory) = path.parent() {
            std::fs::create_dir_all(directory)?;
        }
        Ok(path)
    }

    pub fn url(&self, key: &str) -> String {
        format!("{}/{REPLAYS}/{key}", self.public_base)
    }

    /// Whether a file can be created in the storage now.
    pub fn check_writable(&self) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let probe = self
            .root
            .join(format!(".health-{}.part", std::process::id()));
        std::fs::write(&probe, b"ok")?;
        std::fs::remove_file(&probe)
    }

    /// Removes the temporary files of saves a killed process left. Returns how many.
    pub fn remove_partial_files(&self) -> usize {
        fn walk(directory: &Path, removed: &mut usize) {
            let Ok(entries) = std::fs::read_dir(directory) else {
                return;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let partial = kind.is_file() && name.starts_with('.') && name.ends_with(".part");
                if kind.is_dir() {
                    walk(&path, removed);
                } else if partial && std::fs::remove_file(&path).is_ok() {
                    *removed += 1;
                }
            }
        }
        let mut removed = 0;
        walk(&self.root, &mut removed);
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_go_under_game_and_user_with_placeholders_for_missing_ids() {
        let id = |text| Id::parse("id", text).unwrap();
        let replay = id("0190-r");
        assert_eq!(
            LocalStorage::key(Some(&id("g")), Some(&id("u")), &replay),
            "g/u/0190-r.mp4"
        );
        assert_eq!(LocalStorage::key(None, None, &replay), "_/_/0190-r.mp4");
        let storage = LocalStorage::new(Path::new("/data"), "http://127.0.0.1:8480/");
        assert_eq!(
            storage.path("g/u/r.mp4"),
            Path::new("/data/replays/g/u/r.mp4")
        );
        assert_eq!(
            storage.url("g/u/r.mp4"),
            "http://127.0.0.1:8480/replays/g/u/r.mp4"
        );
    }

    #[test]
    fn partial_files_of_a_killed_save_are_removed_and_clips_kept() {
        let dir = test_support::TestDir::new("storage-partial");
        let storage = LocalStorage::new(dir.path(), "http://x");
        let clip = storage.prepare("g/u/r1.mp4").unwrap();
        std::fs::write(&clip, b"clip").unwrap();
        let partial = clip.with_file_name(".r2.mp4.save-3.part");
        std::fs::write(&partial, b"half").unwrap();
        assert_eq!(storage.remove_partial_files(), 1);
        assert!(clip.exists() && !partial.exists());
        storage.check_writable().unwrap();
        assert_eq!(
            storage.remove_partial_files(),
            0,
            "the health probe leaves nothing"
        );
    }
}
