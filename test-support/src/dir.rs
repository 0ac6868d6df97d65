//! A directory of one test's own.

use std::path::{Path, PathBuf};

/// A fresh directory for one test's files, under the system's temporary directory. It is
/// removed when the test passes and kept when it fails, so the files can be looked at.
pub struct TestDir {
    pub path: PathBuf,
}

impl TestDir {
    /// `name` must be unique among the tests of one process; the process id keeps test
    /// binaries that run at the same time apart.
    pub fn new(name: &str) -> TestDir {
        let path = std::env::temp_dir()
            .join("gst-replay-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|err| panic!("cannot create {}: {err}", path.display()));
        TestDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// [`TestDir::join`] as a string, for element properties and command lines.
    pub fn join_str(&self, name: &str) -> String {
        self.join(name).to_string_lossy().into_owned()
    }

    /// Names of the entries in the directory, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.path)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The files in subdirectory `sub` ("" for the directory itself) whose name ends in
    /// `.extension`, sorted; none when `sub` does not exist.
    pub fn files_with_extension(&self, sub: &str, extension: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path.join(sub))
            .map(|entries| entries.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == extension));
        files.sort();
        files
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
