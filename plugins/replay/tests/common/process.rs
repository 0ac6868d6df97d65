//! What a process holds, from /proc: resident memory, open file descriptors, threads.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessUsage {
    pub rss_kib: u64,
    pub fds: usize,
    pub threads: usize,
}

impl ProcessUsage {
    pub fn of_self() -> ProcessUsage {
        ProcessUsage::of("self")
    }

    pub fn of_pid(pid: u32) -> ProcessUsage {
        ProcessUsage::of(&pid.to_string())
    }

    fn of(process: &str) -> ProcessUsage {
        let status = std::fs::read_to_string(format!("/proc/{process}/status"))
            .unwrap_or_else(|err| panic!("/proc/{process}/status: {err}"));
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        let count = |dir: &str| {
            std::fs::read_dir(format!("/proc/{process}/{dir}"))
                .unwrap_or_else(|err| panic!("/proc/{process}/{dir}: {err}"))
                .count()
        };
        ProcessUsage {
            rss_kib,
            // Counting opens one descriptor for the directory itself: subtract it.
            fds: count("fd").saturating_sub(usize::from(process == "self")),
            threads: count("task"),
        }
    }

    /// Asserts `self` (after) holds no more than `before` plus the allowances.
    pub fn assert_within(&self, before: &ProcessUsage, rss_mib: u64, fds: usize, threads: usize) {
        assert!(
            self.rss_kib <= before.rss_kib + rss_mib * 1024,
            "resident memory grew by more than {rss_mib} MiB: {before} -> {self}"
        );
        assert!(
            self.fds <= before.fds + fds,
            "open file descriptors grew by more than {fds}: {before} -> {self}"
        );
        assert!(
            self.threads <= before.threads + threads,
            "threads grew by more than {threads}: {before} -> {self}"
        );
    }
}

impl fmt::Display for ProcessUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB, {} fds, {} threads",
            self.rss_kib as f64 / 1024.0,
            self.fds,
            self.threads
        )
    }
}
