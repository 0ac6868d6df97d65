//! Sessions: a replay ring each, fed by a network stream.

pub mod ingest;
