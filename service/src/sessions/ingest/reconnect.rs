//! What to do when the source drops, and how long to wait before rebuilding it: pure logic,
//! no GStreamer types.

use std::time::{Duration, Instant};

/// Exponential backoff between rebuilds of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The first wait after a drop.
    pub initial: Duration,
    /// Waits double up to this.
    pub max: Duration,
    /// A source that delivered for this long is stable again: its next drop waits
    /// `initial` once more.
    pub stable_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(10),
            stable_after: Duration::from_secs(60),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Backoff {
    policy: BackoffPolicy,
    next: Duration,
    /// Since when data has been flowing, while it flows.
    up_since: Option<Instant>,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy) -> Backoff {
        Backoff {
            policy,
            next: policy.initial,
            up_since: None,
        }
    }

    /// Data flows (again). Repeated calls keep the first instant.
    pub fn connected(&mut self, now: Instant) {
        self.up_since.get_or_insert(now);
    }

    /// The source dropped, or a rebuild failed before data flowed: how long to wait before
    /// the next rebuild.
    pub fn dropped(&mut self, now: Instant) -> Duration {
        if let Some(since) = self.up_since.take() {
            if now.saturating_duration_since(since) >= self.policy.stable_after {
                self.next = self.policy.initial;
            }
        }
        let delay = self.next;
        self.next = (self.next * 2).min(self.policy.max);
        delay
    }
}

/// What kind of source a URI names, as far as dropping goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// Waits for a stream on a local port (`udp://`, `srt://...?mode=listener`).
    Listener,
    /// Connects to a server (`srt://` caller, `rtsp://`, `http(s)://`).
    Caller,
    /// A local file: finite, never reconnected.
    File,
}

/// How an error from the source reads, coarsely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source could not be opened (a port that cannot be bound, a refused connection).
    Open,
    /// The server says the resource does not exist.
    NotFound,
    /// The server refuses access.
    NotAuthorized,
    /// The data is not a stream GStreamer can demux.
    NotMedia,
    Other,
}

/// Why the source part stopped delivering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropCause {
    /// Every stream of the source reached its end.
    Ended,
    /// An error from the source part.
    Error(ErrorKind),
    /// No data for a while on a source that was delivering.
    Stalled,
    /// Timestamps jumped inside one connection: the sender restarted.
    Restarted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Rebuild the source after the backoff delay.
    Reconnect,
    /// The URI can never work: state `failed`.
    Fail,
    /// A finite source is done: state `ended`.
    End,
}

/// `never_delivered`: no data reached the ring since the session started (so an error is
/// about the URI itself, not about a connection that was working).
pub fn verdict(kind: SourceKind, cause: DropCause, never_delivered: bool) -> Verdict {
    match (kind, cause) {
        (SourceKind::File, DropCause::Ended) => Verdict::End,
        (SourceKind::File, _) => Verdict::Fail,
        (_, DropCause::Error(error)) if never_delivered => match (kind, error) {
            (SourceKind::Listener, _) => Verdict::Fail,
            (_, ErrorKind::NotFound | ErrorKind::NotAuthorized | ErrorKind::NotMedia) => {
                Verdict::Fail
            }
            _ => Verdict::Reconnect,
        },
        _ => Verdict::Reconnect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_from_half_a_second_to_ten() {
        let mut backoff = Backoff::new(BackoffPolicy::default());
        let now = Instant::now();
        let delays: Vec<Duration> = (0..8).map(|_| backoff.dropped(now)).collect();
        assert_eq!(
            delays,
            [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000].map(ms)
        );
    }

    #[test]
    fn a_stable_minute_resets_it() {
        let mut backoff = Backoff::new(BackoffPolicy::default());
        let start = Instant::now();
        for _ in 0..4 {
            backoff.dropped(start);
        }
        backoff.connected(start);
        // A later call while data flows does not move the start.
        backoff.connected(start + Duration::from_secs(50));
        assert_eq!(backoff.dropped(start + Duration::from_secs(60)), ms(500));
        assert_eq!(backoff.dropped(start + Duration::from_secs(60)), ms(1000));
    }

    #[test]
    fn a_short_connection_keeps_growing() {
        let mut backoff = Backoff::new(BackoffPolicy::default());
        let start = Instant::now();
        assert_eq!(backoff.dropped(start), ms(500));
        backoff.connected(start + Duration::from_secs(1));
        assert_eq!(backoff.dropped(start + Duration::from_secs(30)), ms(1000));
        assert_eq!(backoff.dropped(start + Duration::from_secs(31)), ms(2000));
    }

    #[test]
    fn files_end_or_fail() {
        for never in [true, false] {
            assert_eq!(
                verdict(SourceKind::File, DropCause::Ended, never),
                Verdict::End
            );
            assert_eq!(
                verdict(SourceKind::File, DropCause::Error(ErrorKind::Other), never),
                Verdict::Fail
            );
        }
    }

    #[test]
    fn a_listener_that_cannot_open_fails() {
        let open = DropCause::Error(ErrorKind::Open);
        assert_eq!(verdict(SourceKind::Listener, open, true), Verdict::Fail);
        // Once it worked, the port is ours to take again (libsrt frees it lazily).
        assert_eq!(
            verdict(SourceKind::Listener, open, false),
            Verdict::Reconnect
        );
    }

    #[test]
    fn a_caller_retries_unless_the_uri_is_wrong() {
        let caller = SourceKind::Caller;
        let error = |kind| DropCause::Error(kind);
        assert_eq!(
            verdict(caller, error(ErrorKind::Open), true),
            Verdict::Reconnect
        );
        assert_eq!(
            verdict(caller, error(ErrorKind::Other), true),
            Verdict::Reconnect
        );
        for permanent in [
            ErrorKind::NotFound,
            ErrorKind::NotAuthorized,
            ErrorKind::NotMedia,
        ] {
            assert_eq!(verdict(caller, error(permanent), true), Verdict::Fail);
            assert_eq!(verdict(caller, error(permanent), false), Verdict::Reconnect);
        }
    }

    #[test]
    fn network_sources_reconnect_after_an_end_a_stall_or_a_restart() {
        for kind in [SourceKind::Listener, SourceKind::Caller] {
            for cause in [DropCause::Ended, DropCause::Stalled, DropCause::Restarted] {
                for never in [true, false] {
                    assert_eq!(verdict(kind, cause, never), Verdict::Reconnect);
                }
            }
        }
    }
}
