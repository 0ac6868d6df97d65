//! Where a save happens, in the order a save goes through it:
//!
//! 1. [`request`]: what the `save`, `save-range` and `save-clip` signals ask for, and the
//!    window of stream time it covers.
//! 2. The element takes a [`Snapshot`](crate::ring::Snapshot) of the ring (refcounts, no
//!    copy) on the thread that asked, and the save waits in [`pending`] while its post-roll
//!    (or audio that trails the video) arrives.
//! 3. [`queue`]: a bounded number of save threads take the complete saves in turn.
//! 4. [`job`]: on a save thread, [`cut`] chooses the clip's frames from the snapshot (the
//!    cut rule: decode from a keyframe, present exactly the window), [`clip_writer`] lays
//!    out the MP4 (with the timing of [`sample_table`]) as a gather list of slices of the
//!    ring's buffers, [`gather`] hands them to the kernel in vectored writes (hashing them on
//!    the way when asked), and [`output_file`] writes under a temporary name and renames the
//!    file into place once it is synced.
//! 5. The queue reports the outcome, which the element posts as `replay-saved` or
//!    `replay-failed`.

pub mod clip_writer;
pub mod cut;
pub mod gather;
pub mod job;
pub mod output_file;
pub mod pending;
pub mod queue;
pub mod request;
pub mod sample_table;
