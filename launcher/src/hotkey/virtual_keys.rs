//! A parsed [`Hotkey`] as `RegisterHotKey` takes it: modifier flags and a virtual-key code.
//! Pure, so its tests run on every platform; `hotkey::windows` checks at compile time that the
//! values here are the ones Windows' headers give.

use super::Hotkey;

/// `RegisterHotKey` modifier flags (WinUser.h).
pub const MOD_ALT: u32 = 0x0001;
pub const MOD_CONTROL: u32 = 0x0002;
pub const MOD_SHIFT: u32 = 0x0004;
pub const MOD_WIN: u32 = 0x0008;
/// Holding the keys down reports one press, not one per auto-repeat, as on X11.
pub const MOD_NOREPEAT: u32 = 0x4000;

/// Virtual-key codes (WinUser.h) of the keys that are not letters, digits or F-keys.
pub const VK_BACK: u16 = 0x08;
pub const VK_TAB: u16 = 0x09;
pub const VK_RETURN: u16 = 0x0D;
pub const VK_PAUSE: u16 = 0x13;
pub const VK_ESCAPE: u16 = 0x1B;
pub const VK_SPACE: u16 = 0x20;
pub const VK_PRIOR: u16 = 0x21;
pub const VK_NEXT: u16 = 0x22;
pub const VK_END: u16 = 0x23;
pub const VK_HOME: u16 = 0x24;
pub const VK_LEFT: u16 = 0x25;
pub const VK_UP: u16 = 0x26;
pub const VK_RIGHT: u16 = 0x27;
pub const VK_DOWN: u16 = 0x28;
pub const VK_SNAPSHOT: u16 = 0x2C;
pub const VK_INSERT: u16 = 0x2D;
pub const VK_DELETE: u16 = 0x2E;
/// The context-menu key, which X11 calls Menu.
pub const VK_APPS: u16 = 0x5D;
pub const VK_F1: u16 = 0x70;
pub const VK_F24: u16 = 0x87;
pub const VK_SCROLL: u16 = 0x91;

/// The arguments `RegisterHotKey` takes for one hotkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// `MOD_*` flags, `MOD_NOREPEAT` always among them.
    pub modifiers: u32,
    /// The key's virtual-key code.
    pub virtual_key: u32,
}

/// The registration for `hotkey`: Ctrl, Alt and Shift as themselves, Super as the Windows key.
/// None only for a key the parser never produces.
pub fn registration(hotkey: &Hotkey) -> Option<Registration> {
    let held = hotkey.modifiers;
    let modifiers = [
        (held.ctrl, MOD_CONTROL),
        (held.alt, MOD_ALT),
        (held.shift, MOD_SHIFT),
        (held.super_key, MOD_WIN),
    ]
    .into_iter()
    .filter(|(is_held, _)| *is_held)
    .fold(MOD_NOREPEAT, |flags, (_, flag)| flags | flag);
    Some(Registration {
        modifiers,
        virtual_key: virtual_key(&hotkey.key_name)?.into(),
    })
}

/// The virtual-key code of a key, by the canonical name the hotkey parser gives it (`F10`,
/// `S`, `5`, `Page_Up`). Letters and digits are their upper-case ASCII codes, F1-F24 follow
/// one another, the rest have codes of their own.
pub fn virtual_key(key_name: &str) -> Option<u16> {
    if let Some(number) = key_name
        .strip_prefix('F')
        .and_then(|n| n.parse::<u16>().ok())
    {
        return (1..=VK_F24 - VK_F1 + 1)
            .contains(&number)
            .then(|| VK_F1 + number - 1);
    }
    if let [character] = key_name.as_bytes() {
        if character.is_ascii_uppercase() || character.is_ascii_digit() {
            return Some(u16::from(*character));
        }
    }
    let code = match key_name {
        "Print" => VK_SNAPSHOT,
        "Pause" => VK_PAUSE,
        "Scroll_Lock" => VK_SCROLL,
        "Insert" => VK_INSERT,
        "Delete" => VK_DELETE,
        "Home" => VK_HOME,
        "End" => VK_END,
        "Page_Up" => VK_PRIOR,
        "Page_Down" => VK_NEXT,
        "Up" => VK_UP,
        "Down" => VK_DOWN,
        "Left" => VK_LEFT,
        "Right" => VK_RIGHT,
        "Space" => VK_SPACE,
        "Escape" => VK_ESCAPE,
        "Tab" => VK_TAB,
        "Return" => VK_RETURN,
        "BackSpace" => VK_BACK,
        "Menu" => VK_APPS,
        _ => return None,
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotkey::accepted_key_names;

    fn registration_of(text: &str) -> Registration {
        registration(&text.parse().unwrap()).unwrap()
    }

    #[test]
    fn the_default_hotkey_is_alt_f10() {
        assert_eq!(
            registration(&Hotkey::default()),
            Some(Registration {
                modifiers: MOD_ALT | MOD_NOREPEAT,
                virtual_key: 0x79,
            })
        );
    }

    #[test]
    fn each_modifier_maps_to_its_flag_and_super_is_the_windows_key() {
        for (text, modifiers) in [
            ("F10", 0),
            ("Ctrl+F10", MOD_CONTROL),
            ("Alt+F10", MOD_ALT),
            ("Shift+F10", MOD_SHIFT),
            ("Super+F10", MOD_WIN),
            ("Win+F10", MOD_WIN),
            (
                "Ctrl+Alt+Shift+Super+F10",
                MOD_CONTROL | MOD_ALT | MOD_SHIFT | MOD_WIN,
            ),
        ] {
            assert_eq!(
                registration_of(text).modifiers,
                modifiers | MOD_NOREPEAT,
                "{text}"
            );
        }
    }

    #[test]
    fn letters_digits_and_function_keys_have_their_windows_codes() {
        for (text, code) in [
            ("Alt+A", 0x41),
            ("Alt+s", 0x53),
            ("Alt+Z", 0x5A),
            ("Alt+0", 0x30),
            ("Alt+9", 0x39),
            ("Alt+F", 0x46),
            ("F1", 0x70),
            ("F12", 0x7B),
            ("F13", 0x7C),
            ("F24", 0x87),
        ] {
            assert_eq!(registration_of(text).virtual_key, code, "{text}");
        }
    }

    #[test]
    fn named_keys_have_their_windows_codes() {
        for (text, code) in [
            ("Print", 0x2C),
            ("Pause", 0x13),
            ("Scroll_Lock", 0x91),
            ("Insert", 0x2D),
            ("Delete", 0x2E),
            ("Home", 0x24),
            ("End", 0x23),
            ("PgUp", 0x21),
            ("PgDn", 0x22),
            ("Up", 0x26),
            ("Down", 0x28),
            ("Left", 0x25),
            ("Right", 0x27),
            ("Alt+Space", 0x20),
            ("Esc", 0x1B),
            ("Tab", 0x09),
            ("Enter", 0x0D),
            ("BackSpace", 0x08),
            ("Menu", 0x5D),
        ] {
            assert_eq!(registration_of(text).virtual_key, code, "{text}");
        }
    }

    #[test]
    fn every_accepted_key_has_a_distinct_virtual_key() {
        let mut codes: Vec<u16> = accepted_key_names()
            .iter()
            .map(|name| virtual_key(name).unwrap_or_else(|| panic!("{name} has no code")))
            .collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
    }

    #[test]
    fn names_the_parser_never_gives_have_no_code() {
        for name in ["F0", "F25", "f10", "s", "a", "Shift", "", "AB", "Page Up"] {
            assert_eq!(virtual_key(name), None, "{name}");
        }
    }
}
