//! Small filesystems made by a test: a full disk is a tmpfs of a few hundred KiB, an
//! unwritable directory a read-only one. Mounting needs root; without it a test runs itself
//! again inside a user and mount namespace where it is root
//! (`unshare --user --map-root-user --mount`). When neither works the test fails: a fault
//! test that silently skips proves nothing.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the environment of a test run again inside a namespace.
const IN_NAMESPACE: &str = "REPLAY_TESTS_IN_MOUNT_NAMESPACE";

/// A tmpfs mounted on a directory, unmounted when dropped.
pub struct Mount {
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` (as `mount -o size=` takes it: 512k, 1m) on `path`,
    /// read-only with `read_only`.
    pub fn tmpfs(path: &Path, size: &str, read_only: bool) -> io::Result<Mount> {
        let c_string = |bytes: &[u8]| CString::new(bytes).expect("no NUL byte");
        let target = c_string(path.as_os_str().as_bytes());
        let data = c_string(format!("size={size},mode=0755").as_bytes());
        let flags = if read_only { libc::MS_RDONLY } else { 0 };
        // SAFETY: every pointer is a NUL-terminated string that outlives the call.
        let result = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                target.as_ptr(),
                c"tmpfs".as_ptr(),
                flags,
                data.as_ptr().cast(),
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Mount {
            path: path.to_owned(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let target = CString::new(self.path.as_os_str().as_bytes()).expect("no NUL byte");
        // SAFETY: a NUL-terminated path that outlives the call. Detached, so a file a failed
        // test left open cannot keep the mount.
        unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Whether this process may mount. When it may not, runs the test named `test` again in a
/// namespace where it may, asserts that it passed there, and returns false: the caller then
/// returns at once.
pub fn may_mount_or_rerun(test: &str) -> bool {
    static PROBES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    // One directory per call: tests run in parallel threads.
    let probe = std::env::temp_dir().join(format!(
        "replay-mount-probe-{}-{}",
        std::process::id(),
        PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&probe).unwrap();
    let mounted = Mount::tmpfs(&probe, "64k", false).map(drop);
    let _ = std::fs::remove_dir(&probe);
    let mount_error = match mounted {
        Ok(()) => return true,
        Err(err) => err,
    };
    assert!(
        std::env::var_os(IN_NAMESPACE).is_none(),
        "cannot mount a tmpfs even as root of a user namespace ({mount_error}); the fault tests \
         need root or unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    );
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount"])
        .arg(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(IN_NAMESPACE, "1")
        .output()
        .unwrap_or_else(|err| {
            panic!(
                "cannot mount a tmpfs ({mount_error}) and cannot run unshare to get a namespace \
                 where that works ({err}); run the tests as root or install util-linux"
            )
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} in a user namespace (mounting here failed: {mount_error}):\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    false
}
