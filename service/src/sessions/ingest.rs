//! One session's pipeline: its source, demuxed and parsed without decoding, into a
//! `replayring`.
