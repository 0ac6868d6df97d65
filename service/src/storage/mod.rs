//! Where clips are kept. Local storage (the default): `DATA_DIR/replays/{gameId}/{userId}/
//! {replayId}.mp4` (`_` for a missing id), served by the service itself at the same path
//! under its public URL.

pub mod local;

pub use local::LocalStorage;

/// The path component for an id that was not given.
pub const MISSING_ID: &str = "_";
