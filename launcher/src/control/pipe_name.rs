//! Names of the Windows control pipes. Pure string work, so its tests run on every platform.
//!
//! Named pipes live in one namespace for the whole machine, not in a per-user directory as
//! `$XDG_RUNTIME_DIR` is, so the default name carries the user name: two users each get their
//! own `gst-replay run`. The user name, not the SID, keeps the name one a person can read and
//! type (`gst-replay save --socket gst-replay-alice`).

/// What every local pipe name starts with.
pub(super) const PIPE_PREFIX: &str = r"\\.\pipe\";

/// Longest pipe name Windows accepts, prefix included, in UTF-16 units.
const MAX_PIPE_NAME_UNITS: usize = 256;

/// The pipe `gst-replay run` listens on for `user_name`: `\\.\pipe\gst-replay-<user name>`,
/// or `\\.\pipe\gst-replay` when the name is unknown.
///
/// A backslash (never part of a user name, but part of `DOMAIN\user`) or a control character
/// becomes `_`, since a pipe name cannot hold the first and should not hold the second; an
/// overlong name is cut to what Windows accepts.
pub(super) fn default_pipe_name(user_name: &str) -> String {
    let mut name = format!("{PIPE_PREFIX}gst-replay");
    if user_name.is_empty() {
        return name;
    }
    name.push('-');
    let mut units = name.encode_utf16().count();
    for character in user_name.chars() {
        let character = if character == '\\' || character.is_control() {
            '_'
        } else {
            character
        };
        units += character.len_utf16();
        if units > MAX_PIPE_NAME_UNITS {
            break;
        }
        name.push(character);
    }
    name
}

/// What `--socket` names on Windows, as the full pipe path: `\\.\pipe\NAME` is taken as it is
/// (the prefix in any letter case, as Windows matches it) and a bare `NAME` gets the prefix.
///
/// None for what cannot be a local pipe: an empty name, a backslash in the name (a file path
/// such as `C:\replay.sock`, or another machine's `\\host\pipe\x`), a NUL, or one too long.
pub(super) fn pipe_path(socket: &str) -> Option<String> {
    let name = match socket.get(..PIPE_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PIPE_PREFIX) => &socket[PIPE_PREFIX.len()..],
        _ => socket,
    };
    let full = format!("{PIPE_PREFIX}{name}");
    let acceptable = !name.is_empty()
        && !name.contains(['\\', '\0'])
        && full.encode_utf16().count() <= MAX_PIPE_NAME_UNITS;
    acceptable.then_some(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pipe_is_named_after_the_user() {
        assert_eq!(default_pipe_name("alice"), r"\\.\pipe\gst-replay-alice");
        assert_eq!(
            default_pipe_name("José Müller"),
            r"\\.\pipe\gst-replay-José Müller"
        );
        assert_eq!(default_pipe_name(""), r"\\.\pipe\gst-replay");
    }

    #[test]
    fn characters_a_pipe_name_cannot_hold_are_replaced() {
        assert_eq!(
            default_pipe_name(r"CORP\bob"),
            r"\\.\pipe\gst-replay-CORP_bob"
        );
        assert_eq!(default_pipe_name("a\tb\nc"), r"\\.\pipe\gst-replay-a_b_c");
    }

    #[test]
    fn a_default_pipe_name_is_never_too_long() {
        for user_name in ["x".repeat(300), "é".repeat(300), "😀".repeat(300)] {
            let name = default_pipe_name(&user_name);
            assert!(name.encode_utf16().count() <= MAX_PIPE_NAME_UNITS, "{name}");
            assert!(
                name.encode_utf16().count() >= MAX_PIPE_NAME_UNITS - 1,
                "{name}"
            );
            assert_eq!(pipe_path(&name).as_deref(), Some(name.as_str()));
        }
    }

    #[test]
    fn a_bare_name_gets_the_pipe_prefix() {
        assert_eq!(
            pipe_path("gst-replay-test").as_deref(),
            Some(r"\\.\pipe\gst-replay-test")
        );
        assert_eq!(pipe_path("a/b").as_deref(), Some(r"\\.\pipe\a/b"));
    }

    #[test]
    fn a_full_pipe_path_is_kept_whatever_the_case_of_its_prefix() {
        assert_eq!(
            pipe_path(r"\\.\pipe\gst-replay-test").as_deref(),
            Some(r"\\.\pipe\gst-replay-test")
        );
        assert_eq!(
            pipe_path(r"\\.\PIPE\gst-replay-test").as_deref(),
            Some(r"\\.\pipe\gst-replay-test")
        );
    }

    #[test]
    fn what_cannot_be_a_local_pipe_is_refused() {
        for socket in [
            "",
            r"\\.\pipe\",
            r"C:\Users\me\control.sock",
            r"\\server\pipe\gst-replay",
            r"\\.\pipe\a\b",
            "a\0b",
            &"x".repeat(250),
        ] {
            assert_eq!(pipe_path(socket), None, "{socket}");
        }
    }
}
