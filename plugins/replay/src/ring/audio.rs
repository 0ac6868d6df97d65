//! One audio track of the ring: packets in order, trimmed to the video the ring keeps.
//!
//! Every audio packet decodes on its own (given the decoder's pre-roll), so there are no
//! GOPs: the track keeps packets back to a little before the oldest video keyframe and
//! records where its timestamps jump, so a source that stops delivering shows as a gap.

use std::collections::VecDeque;
use std::sync::Arc;

use super::Frame;
use crate::time::Nanos;

/// How far a packet may start after the previous one ended before it counts as a gap. Live
/// sources deliver in 10-20 ms blocks and encoders round timestamps to samples, so anything
/// under this is jitter, not lost audio.
pub const GAP_TOLERANCE: Nanos = Nanos::from_millis(100);

/// Audio kept before the oldest video keyframe, so a clip starting there can include the
/// decoder's pre-roll (one AAC packet; 80 ms of Opus).
pub const RETAINED_BEFORE_VIDEO: Nanos = Nanos::from_millis(200);

/// What the ring needs to know about an audio format.
pub trait AudioTrackFormat {
    /// How long packets must decode before the first presented sample so it is exact.
    fn decoder_preroll(&self) -> Nanos;
}

/// One encoded audio packet and the format it is coded in.
#[derive(Debug, PartialEq, Eq)]
pub struct Packet<P, A> {
    pub frame: Frame<P>,
    pub format: Arc<A>,
}

impl<P: Clone, A> Clone for Packet<P, A> {
    fn clone(&self) -> Self {
        Packet {
            frame: self.frame.clone(),
            format: Arc::clone(&self.format),
        }
    }
}

/// Where the track's timestamps jumped forward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GapCounters {
    pub gaps: u64,
    /// Total time missing across the gaps.
    pub missing: Nanos,
}

pub struct AudioTrack<P, A> {
    packets: VecDeque<Packet<P, A>>,
    bytes: u64,
    /// End of the newest packet ever pushed (kept across trimming).
    newest_end: Option<Nanos>,
    gaps: GapCounters,
    evicted_packets: u64,
}

impl<P, A> Default for AudioTrack<P, A> {
    fn default() -> Self {
        AudioTrack {
            packets: VecDeque::new(),
            bytes: 0,
            newest_end: None,
            gaps: GapCounters::default(),
            evicted_packets: 0,
        }
    }
}

impl<P: Clone, A> AudioTrack<P, A> {
    /// Appends one packet; returns the gap before it, when there is one.
    pub fn push(&mut self, frame: Frame<P>, format: &Arc<A>) -> Option<Nanos> {
        let gap = self
            .newest_end
            .map(|end| frame.pts - end)
            .filter(|&gap| gap > GAP_TOLERANCE);
        if let Some(gap) = gap {
            self.gaps.gaps += 1;
            self.gaps.missing += gap;
        }
        self.newest_end = Some(
            self.newest_end
                .map_or(frame.end(), |end| end.max(frame.end())),
        );
        self.bytes += frame.size;
        self.packets.push_back(Packet {
            frame,
            format: Arc::clone(format),
        });
        gap
    }

    /// Drops the packets that end at or before `time`.
    pub fn trim_before(&mut self, time: Nanos) {
        while self
            .packets
            .front()
            .is_some_and(|packet| packet.frame.end() <= time)
        {
            self.evict_oldest();
        }
    }

    /// Drops the oldest packet; false when there is none.
    pub fn evict_oldest(&mut self) -> bool {
        let Some(packet) = self.packets.pop_front() else {
            return false;
        };
        self.bytes -= packet.frame.size;
        self.evicted_packets += 1;
        true
    }

    /// Forgets the packets and the timeline (flush), keeping the counters.
    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
        self.newest_end = None;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn packet_count(&self) -> u64 {
        self.packets.len() as u64
    }

    pub fn evicted_packets(&self) -> u64 {
        self.evicted_packets
    }

    pub fn gaps(&self) -> GapCounters {
        self.gaps
    }

    pub fn oldest_start(&self) -> Option<Nanos> {
        self.packets.front().map(|packet| packet.frame.pts)
    }

    pub fn newest_end(&self) -> Option<Nanos> {
        self.newest_end
    }

    /// The packets, sharing their payloads.
    pub fn packets(&self) -> Vec<Packet<P, A>> {
        self.packets.iter().cloned().collect()
    }
}
