//! What this process spends: CPU time and page faults (getrusage), the calling thread's CPU
//! time, and resident memory.

use test_support::ProcessUsage;

/// CPU seconds (user + system) and minor page faults of the whole process so far.
pub struct Usage {
    pub cpu: f64,
    pub minflt: f64,
}

pub fn usage() -> Usage {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Usage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        minflt: ru.ru_minflt as f64,
    }
}

/// CPU seconds of the calling thread only (the streaming thread, when frames are pushed from it).
pub fn thread_cpu() -> f64 {
    // SAFETY: clock_gettime writes into the zeroed struct we pass.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Resident memory of this process, in bytes (report.py reads bytes).
pub struct Resident {
    /// VmRSS: everything resident, GStreamer and the libraries included.
    pub rss: f64,
    /// RssAnon: the heap and other anonymous memory, where the payload lives.
    pub anon: f64,
}

impl Resident {
    pub fn now() -> Resident {
        let usage = ProcessUsage::of_self();
        Resident {
            rss: usage.rss_kib as f64 * 1024.0,
            anon: usage.rss_anon_kib as f64 * 1024.0,
        }
    }
}
