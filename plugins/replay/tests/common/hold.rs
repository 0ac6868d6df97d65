//! Driving a ring from the test thread: hold its stream still at a running time, read every
//! message of its bus, wait for the outcome of one save.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::*;

/// The video stream of a ring, stopped just before the first buffer at or after a running
/// time: the ring does not change while it is held (nothing arrives, nothing is evicted),
/// so stats taken before and after a save can be compared exactly.
pub struct Hold {
    reached: mpsc::Receiver<()>,
    release: Option<mpsc::Sender<()>>,
}

impl Hold {
    /// Installs the hold; the stream stops there once the pipeline plays.
    pub fn at(ring: &gst::Element, at: gst::ClockTime) -> Hold {
        let (reached_sender, reached) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        at_running_time(ring, at, move |_| {
            let _ = reached_sender.send(());
            // Blocks the streaming thread (a buffer probe runs on it) until released.
            let _ = released.recv();
        });
        Hold {
            reached,
            release: Some(release),
        }
    }

    /// Waits until the stream is held.
    pub fn wait(&self) {
        self.reached
            .recv_timeout(Duration::from_secs(120))
            .expect("the stream reached the hold within 120 s");
    }

    /// Lets the stream go on.
    pub fn release(mut self) {
        self.release.take();
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Dropping the sender wakes the blocked streaming thread.
        self.release.take();
    }
}

/// Everything a pipeline's bus said, read from the test thread.
pub struct BusLog {
    bus: gst::Bus,
    pub messages: Vec<gst::Message>,
}

impl BusLog {
    pub fn new(pipeline: &gst::Pipeline) -> BusLog {
        BusLog {
            bus: pipeline.bus().unwrap(),
            messages: Vec::new(),
        }
    }

    /// Reads what the bus has until `done` holds for the messages read so far.
    pub fn read_until(
        &mut self,
        limit: Duration,
        what: &str,
        done: impl Fn(&[gst::Message]) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !done(&self.messages) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {what} within {limit:?}; the bus said: {:#?}",
                self.summary()
            );
            if let Some(message) = self
                .bus
                .timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
            {
                self.messages.push(message);
            }
        }
    }

    /// The `replay-saved` or `replay-failed` of save `id` (waits up to 120 s for it).
    pub fn outcome(&mut self, id: &str) -> gst::Structure {
        self.read_until(Duration::from_secs(120), &format!("outcome of {id}"), |m| {
            outcomes(m).any(|s| get_str(s, "id") == id)
        });
        let mine: Vec<&gst::StructureRef> = outcomes(&self.messages)
            .filter(|s| get_str(s, "id") == id)
            .collect();
        assert_eq!(mine.len(), 1, "one outcome per save: {mine:?}");
        mine[0].to_owned()
    }

    /// Reads until EOS or an error.
    pub fn read_to_end(&mut self) {
        self.read_until(Duration::from_secs(300), "EOS or error", |m| {
            m.last().is_some_and(|m| {
                matches!(
                    m.view(),
                    gst::MessageView::Eos(_) | gst::MessageView::Error(_)
                )
            })
        });
    }

    /// The `replay-saved` and `replay-failed` bodies, in order.
    pub fn outcomes(&self) -> Vec<gst::Structure> {
        outcomes(&self.messages).map(|s| s.to_owned()).collect()
    }

    /// Warnings as "text (debug)".
    pub fn warnings(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter_map(|message| match message.view() {
                gst::MessageView::Warning(w) => Some(format!(
                    "{} ({})",
                    w.error(),
                    w.debug().map(|d| d.to_string()).unwrap_or_default()
                )),
                _ => None,
            })
            .collect()
    }

    /// Errors as "text (debug)".
    pub fn errors(&self) -> Vec<String> {
        self.messages
            .iter()
            .filter_map(|message| match message.view() {
                gst::MessageView::Error(e) => Some(format!(
                    "{} ({})",
                    e.error(),
                    e.debug().map(|d| d.to_string()).unwrap_or_default()
                )),
                _ => None,
            })
            .collect()
    }

    pub fn saw_eos(&self) -> bool {
        self.messages
            .iter()
            .any(|m| matches!(m.view(), gst::MessageView::Eos(_)))
    }

    fn summary(&self) -> Vec<String> {
        self.messages
            .iter()
            .map(|m| match m.view() {
                gst::MessageView::Element(e) => format!("{:?}", e.structure()),
                gst::MessageView::Error(e) => format!("error: {} ({:?})", e.error(), e.debug()),
                gst::MessageView::Warning(w) => {
                    format!("warning: {} ({:?})", w.error(), w.debug())
                }
                _ => format!("{:?}", m.type_()),
            })
            .filter(|line| !line.starts_with("StateChanged") && !line.starts_with("StreamStatus"))
            .collect()
    }
}

fn outcomes(messages: &[gst::Message]) -> impl Iterator<Item = &gst::StructureRef> {
    messages.iter().filter_map(|message| match message.view() {
        gst::MessageView::Element(element) => element
            .structure()
            .filter(|s| s.name() == "replay-saved" || s.name() == "replay-failed"),
        _ => None,
    })
}

/// The ring's stats without the counters a failed save is allowed to change.
pub fn ring_contents(ring: &gst::Element) -> Vec<(String, u64)> {
    let stats = ring.property::<gst::Structure>("stats");
    [
        "duration",
        "bytes",
        "frames",
        "keyframes",
        "evicted",
        "dropped",
        "saves",
    ]
    .iter()
    .map(|field| (field.to_string(), get_u64(&stats, field)))
    .collect()
}

pub fn stat(ring: &gst::Element, field: &str) -> u64 {
    get_u64(&ring.property::<gst::Structure>("stats"), field)
}

/// Asserts FFmpeg decodes `path` without a complaint; returns the frames it presented.
pub fn decodes_cleanly(path: &Path) -> usize {
    let (hashes, errors) = decoded_frame_hashes(path);
    assert_eq!(errors, "", "{}: decode errors", path.display());
    assert!(!hashes.is_empty(), "{}: no frames", path.display());
    hashes.len()
}
