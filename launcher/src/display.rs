//! What screens there are to capture (X11 on Linux; Wayland's come through the portal).

/// A monitor's area on the X11 root window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub name: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Whether this session has a display to capture, and which kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayKind {
    X11,
    /// Wayland without an X server to fall back on.
    Wayland,
    None,
}

pub fn display_kind() -> DisplayKind {
    if cfg!(windows) {
        return DisplayKind::X11;
    }
    if is_set("DISPLAY") {
        DisplayKind::X11
    } else if is_set("WAYLAND_DISPLAY") {
        DisplayKind::Wayland
    } else {
        DisplayKind::None
    }
}

/// Whether the X display is XWayland's, inside a Wayland session: it shows X11 windows only.
pub fn is_xwayland() -> bool {
    cfg!(unix) && is_set("DISPLAY") && is_set("WAYLAND_DISPLAY")
}

fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|value| !value.is_empty())
}

/// The monitors of the X display (RandR), or the whole root window when RandR has none.
#[cfg(target_os = "linux")]
pub fn x11_monitors() -> Result<Vec<Monitor>, String> {
    use x11rb::connection::Connection;
    use x11rb::protocol::randr::ConnectionExt as _;
    use x11rb::protocol::xproto::ConnectionExt as _;

    let (connection, screen_number) =
        x11rb::connect(None).map_err(|err| format!("cannot open the X display: {err}"))?;
    let root = connection.setup().roots[screen_number].root;
    let from_randr = connection
        .randr_get_monitors(root, true)
        .ok()
        .and_then(|cookie| cookie.reply().ok())
        .map(|reply| {
            reply
                .monitors
                .iter()
                .map(|m| Monitor {
                    name: connection
                        .get_atom_name(m.name)
                        .ok()
                        .and_then(|c| c.reply().ok())
                        .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                        .unwrap_or_default(),
                    x: m.x.max(0) as u32,
                    y: m.y.max(0) as u32,
                    width: m.width as u32,
                    height: m.height as u32,
                })
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    if !from_randr.is_empty() {
        return Ok(from_randr);
    }
    let screen = &connection.setup().roots[screen_number];
    Ok(vec![Monitor {
        name: "screen".to_owned(),
        x: 0,
        y: 0,
        width: screen.width_in_pixels as u32,
        height: screen.height_in_pixels as u32,
    }])
}

#[cfg(not(target_os = "linux"))]
pub fn x11_monitors() -> Result<Vec<Monitor>, String> {
    Err("X11 monitors are only read on Linux".to_owned())
}
