//! Files that appear only when complete, and never over an existing file.
//!
//! A clip is written to a hidden temporary file in the target directory, synced, and then
//! renamed to its final name without replacing anything already there (a `-2`, `-3`, ...
//! suffix is added instead). A failure removes the temporary file; a process killed
//! mid-write leaves only a `.<name>.<id>.part` file, never a partial file at the final path.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// How many suffixed names are tried before giving up.
const MAX_NAME_ATTEMPTS: u32 = 10_000;

/// Expands the strftime-style fields of a location template (`%Y%m%d-%H%M%S`, see
/// `g_date_time_format`) with the local time. A template without `%` is used as is.
pub fn expand_template(template: &str) -> Result<String, String> {
    if !template.contains('%') {
        return Ok(template.to_owned());
    }
    let now = gst::glib::DateTime::now_local()
        .map_err(|err| format!("cannot read the local time: {err}"))?;
    now.format(template)
        .map(|formatted| formatted.to_string())
        .map_err(|_| format!("location template \"{template}\" has an unknown %-field"))
}

/// A file being written under a temporary name beside its final path.
pub struct PendingFile {
    file: Option<File>,
    temp_path: PathBuf,
    final_path: PathBuf,
}

impl PendingFile {
    /// Creates the temporary file. `tag` makes the temporary name unique (the save id).
    pub fn create(final_path: &Path, tag: &str) -> io::Result<PendingFile> {
        let file_name = final_path.file_name().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "the location names no file")
        })?;
        let directory = parent_dir(final_path);
        if !directory.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("directory {} does not exist", directory.display()),
            ));
        }
        let temp_name = format!(".{}.{}.part", file_name.to_string_lossy(), sanitize(tag));
        let temp_path = directory.join(temp_name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)?;
        Ok(PendingFile {
            file: Some(file),
            temp_path,
            final_path: final_path.to_owned(),
        })
    }

    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("open until published")
    }

    /// Syncs the data and renames the file into place without replacing an existing one.
    /// Returns the path it now has.
    pub fn publish(mut self) -> io::Result<PathBuf> {
        self.sync_and_close()?;
        for attempt in 1..=MAX_NAME_ATTEMPTS {
            let candidate = numbered(&self.final_path, attempt);
            match rename_no_replace(&self.temp_path, &candidate) {
                Ok(()) => {
                    sync_directory(parent_dir(&candidate));
                    return Ok(candidate);
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} and {MAX_NAME_ATTEMPTS} numbered variants exist already",
                self.final_path.display()
            ),
        ))
    }
}

impl PendingFile {
    /// Syncs the data and renames the file into place, atomically replacing any file there
    /// (what `filesink` users expect of an explicit location).
    pub fn publish_replacing(mut self) -> io::Result<PathBuf> {
        self.sync_and_close()?;
        std::fs::rename(&self.temp_path, &self.final_path)?;
        sync_directory(parent_dir(&self.final_path));
        Ok(self.final_path.clone())
    }

    fn sync_and_close(&mut self) -> io::Result<()> {
        let file = self.file.take().expect("open until published");
        file.sync_all()
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        // After a successful publish the temporary name no longer exists.
        let _ = std::fs::remove_file(&self.temp_path);
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn sanitize(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `clip.mp4`, then `clip-2.mp4`, `clip-3.mp4`, ...
fn numbered(path: &Path, attempt: u32) -> PathBuf {
    if attempt == 1 {
        return path.to_owned();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(extension) => format!("{stem}-{attempt}.{}", extension.to_string_lossy()),
        None => format!("{stem}-{attempt}"),
    };
    path.with_file_name(name)
}

#[cfg(target_os = "linux")]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c_path = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path has a NUL byte"))
    };
    let (from_c, to_c) = (c_path(from)?, c_path(to)?);
    // SAFETY: both arguments are valid NUL-terminated paths that outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from_c.as_ptr(),
            libc::AT_FDCWD,
            to_c.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if result == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // Filesystems without RENAME_NOREPLACE: fall back to link + unlink.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => link_then_unlink(from, to),
        _ => Err(err),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    link_then_unlink(from, to)
}

/// A hard link fails atomically when the target exists.
fn link_then_unlink(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::hard_link(from, to)?;
    std::fs::remove_file(from)
}

fn sync_directory(directory: &Path) {
    // Makes the rename durable; not every platform or filesystem allows opening a directory.
    if let Ok(dir) = File::open(directory) {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use test_support::TestDir;

    #[test]
    fn a_published_file_never_replaces_an_existing_one() {
        let dir = TestDir::new("output-noclobber");
        let target = dir.join("clip.mp4");
        std::fs::write(&target, b"first").unwrap();
        let mut pending = PendingFile::create(&target, "a").unwrap();
        pending.file().write_all(b"second").unwrap();
        let published = pending.publish().unwrap();
        assert_eq!(published, dir.join("clip-2.mp4"));
        assert_eq!(std::fs::read(&target).unwrap(), b"first");
        assert_eq!(std::fs::read(&published).unwrap(), b"second");
        assert_eq!(
            dir.listing(),
            ["clip-2.mp4", "clip.mp4"],
            "no temporary file left"
        );
    }

    #[test]
    fn a_dropped_file_leaves_nothing() {
        let dir = TestDir::new("output-dropped");
        let target = dir.join("clip.mp4");
        let mut pending = PendingFile::create(&target, "b").unwrap();
        pending.file().write_all(b"partial").unwrap();
        drop(pending);
        assert!(dir.listing().is_empty());
    }

    #[test]
    fn a_missing_directory_is_reported() {
        let err = PendingFile::create(Path::new("/nonexistent-dir-for-test/clip.mp4"), "c")
            .err()
            .unwrap();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }

    #[test]
    fn templates_expand_the_local_time() {
        let name = expand_template("replay-%Y%m%d-%H%M%S.mp4").unwrap();
        assert_eq!(name.len(), "replay-20261122-003102.mp4".len());
        assert!(name.starts_with("replay-20"));
        assert_eq!(expand_template("plain.mp4").unwrap(), "plain.mp4");
    }
}
