//! The helpers the fuzz targets share: arbitrary movies for the MP4 writer, and what a
//! `moov` built from one must say. The code under test comes from its own crates
//! (`gstreplay`, `gst_replay`), the strict MP4 reader from `test_support`.

pub mod movie_check;
pub mod movie_input;
