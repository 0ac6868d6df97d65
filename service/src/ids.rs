//! Identifiers that name files and routes: session, user, game and replay ids.
//!
//! An id is 1 to 128 of `A-Z a-z 0-9 . _ -`, and not `.` or `..`, so an id used as a path
//! component can never leave the data directory.

use std::fmt;

pub const MAX_ID_LEN: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Id(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} is empty; use 1 to {MAX_ID_LEN} of A-Z a-z 0-9 . _ -")]
    Empty { what: &'static str },
    #[error("{what} is {len} characters long; the longest allowed is {MAX_ID_LEN}")]
    TooLong { what: &'static str, len: usize },
    #[error("{what} \"{id}\" has a character other than A-Z a-z 0-9 . _ -")]
    BadCharacter { what: &'static str, id: String },
    #[error("{what} may not be \".\" or \"..\"")]
    Dots { what: &'static str },
}

impl Id {
    /// `what` names the id in errors ("sessionId").
    pub fn parse(what: &'static str, text: &str) -> Result<Id, IdError> {
        if text.is_empty() {
            return Err(IdError::Empty { what });
        }
        if text.len() > MAX_ID_LEN {
            return Err(IdError::TooLong {
                what,
                len: text.chars().count(),
            });
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(IdError::BadCharacter {
                what,
                id: text.chars().take(MAX_ID_LEN).collect(),
            });
        }
        if text == "." || text == ".." {
            return Err(IdError::Dots { what });
        }
        Ok(Id(text.to_owned()))
    }

    /// A replay id of the service's own: a UUIDv7, so ids sort by creation time.
    pub fn new_replay() -> Id {
        Id(uuid::Uuid::now_v7().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_name_files_safely_are_accepted() {
        for id in [
            "a",
            "session-1",
            "user.name_2",
            "A-Z.a-z_0-9",
            &"x".repeat(128),
            "...",
        ] {
            assert_eq!(Id::parse("sessionId", id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn ids_that_could_leave_the_directory_are_refused() {
        let refused = |id: &str| Id::parse("sessionId", id).unwrap_err();
        assert_eq!(refused(""), IdError::Empty { what: "sessionId" });
        assert_eq!(refused("."), IdError::Dots { what: "sessionId" });
        assert_eq!(refused(".."), IdError::Dots { what: "sessionId" });
        assert!(matches!(refused("../etc"), IdError::BadCharacter { .. }));
        assert!(matches!(refused("a/b"), IdError::BadCharacter { .. }));
        assert!(matches!(refused("a b"), IdError::BadCharacter { .. }));
        assert!(matches!(refused("é"), IdError::BadCharacter { .. }));
        assert!(matches!(refused("a\0"), IdError::BadCharacter { .. }));
        assert_eq!(
            refused(&"x".repeat(129)),
            IdError::TooLong {
                what: "sessionId",
                len: 129
            }
        );
    }

    #[test]
    fn replay_ids_are_valid_ids_and_sort_by_creation() {
        let first = Id::new_replay();
        let second = Id::new_replay();
        assert!(Id::parse("replayId", first.as_str()).is_ok());
        assert!(first < second);
    }
}
