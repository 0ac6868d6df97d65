//! What a process holds, from /proc: resident memory, open file descriptors, threads.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessUsage {
    /// Resident memory (VmRSS), KiB.
    pub rss_kib: u64,
    /// Anonymous resident memory (RssAnon): the heap, without mapped files and libraries.
    pub rss_anon_kib: u64,
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
        let kib = |field: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(field))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("{field} in /proc/{process}/status"))
        };
        let count = |dir: &str| {
            std::fs::read_dir(format!("/proc/{process}/{dir}"))
                .unwrap_or_else(|err| panic!("/proc/{process}/{dir}: {err}"))
                .count()
        };
        ProcessUsage {
            rss_kib: kib("VmRSS:"),
            rss_anon_kib: kib("RssAnon:"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let usage = ProcessUsage::of_self();
        assert!(usage.rss_kib > 0 && usage.rss_anon_kib > 0 && usage.rss_anon_kib <= usage.rss_kib);
        assert!(usage.threads >= 1);
        let file = std::fs::File::open("/proc/self/status").unwrap();
        assert_eq!(ProcessUsage::of_self().fds, usage.fds + 1);
        drop(file);
    }
}
