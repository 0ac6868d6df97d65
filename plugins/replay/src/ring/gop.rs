use std::sync::Arc;

use crate::time::Nanos;

/// One encoded frame (access unit). Times are stream times (running time in the element).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame<P> {
    pub pts: Nanos,
    /// Decode time; equal to `pts` for streams without reordering.
    pub dts: Nanos,
    pub duration: Nanos,
    pub keyframe: bool,
    /// Payload bytes, counted against the byte cap.
    pub size: u64,
    pub payload: P,
}

impl<P> Frame<P> {
    pub fn end(&self) -> Nanos {
        self.pts + self.duration
    }
}

/// A keyframe and the delta frames that follow it in decode order, all in one format.
#[derive(Debug)]
pub struct Gop<P, F> {
    frames: Vec<Frame<P>>,
    format: Arc<F>,
    bytes: u64,
    end: Nanos,
}

impl<P: Clone, F> Clone for Gop<P, F> {
    fn clone(&self) -> Self {
        Gop {
            frames: self.frames.clone(),
            format: Arc::clone(&self.format),
            bytes: self.bytes,
            end: self.end,
        }
    }
}

impl<P, F> Gop<P, F> {
    pub fn new(keyframe: Frame<P>, format: Arc<F>) -> Self {
        Gop {
            bytes: keyframe.size,
            end: keyframe.end(),
            frames: vec![keyframe],
            format,
        }
    }

    pub fn push(&mut self, frame: Frame<P>) {
        self.bytes += frame.size;
        self.end = self.end.max(frame.end());
        self.frames.push(frame);
    }

    pub fn frames(&self) -> &[Frame<P>] {
        &self.frames
    }

    pub fn keyframe(&self) -> &Frame<P> {
        &self.frames[0]
    }

    /// Presentation time of the keyframe.
    pub fn start(&self) -> Nanos {
        self.keyframe().pts
    }

    /// Latest presentation end of any frame in the GOP.
    pub fn end(&self) -> Nanos {
        self.end
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    pub fn format(&self) -> &Arc<F> {
        &self.format
    }
}
