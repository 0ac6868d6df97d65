//! The live status line on a terminal: buffered seconds, memory, encoder frame rate.

use std::io::Write;
use std::time::Instant;

pub struct StatusLine {
    /// The keys and what they do.
    key_help: String,
    last_frames: u64,
    last_time: Instant,
    shown: bool,
}

impl StatusLine {
    pub fn new(key_help: String) -> StatusLine {
        StatusLine {
            key_help,
            last_frames: 0,
            last_time: Instant::now(),
            shown: false,
        }
    }

    /// Redraws the line from the ring's stats.
    pub fn update(&mut self, stats: &gst::StructureRef) {
        let field = |name| stats.get::<u64>(name).unwrap_or_default();
        let received = field("frames") + field("evicted") + field("dropped");
        let now = Instant::now();
        let elapsed = now.duration_since(self.last_time).as_secs_f64();
        let fps = if elapsed > 0.0 {
            (received.saturating_sub(self.last_frames)) as f64 / elapsed
        } else {
            0.0
        };
        self.last_frames = received;
        self.last_time = now;
        let line = format!(
            "\r\x1b[2K● replay buffer {:.1} s · {:.1} MB · encoder {:.1} fps · saves {}   {}",
            field("duration") as f64 / 1e9,
            field("bytes") as f64 / 1e6,
            fps,
            field("saves"),
            self.key_help
        );
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(line.as_bytes());
        let _ = stderr.flush();
        self.shown = true;
    }

    /// Clears the line so a message can be printed in its place.
    pub fn clear(&mut self) {
        if self.shown {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            self.shown = false;
        }
    }
}
