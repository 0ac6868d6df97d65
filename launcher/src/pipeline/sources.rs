//! Capture and conversion up to the encoder's input, per platform.

use std::fmt;

use super::platform::{InputMemory, Platform, RawFormat};
use super::{Node, PipelineRequest};

/// What is captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A monitor: X11 (`ximagesrc`) on Linux, DXGI desktop duplication
    /// (`d3d11screencapturesrc`) on Windows.
    Screen { monitor: u32 },
    /// One X11 window, by name or id (Linux).
    Window { window: String },
    /// The moving test pattern.
    Test,
    /// A V4L2 device such as a capture card (Linux).
    V4l2 { device: String },
    /// A monitor shared through the desktop portal's ScreenCast (Wayland, Linux): the person
    /// picks it in the desktop's dialog. `stream` is known once the portal has answered.
    Portal { stream: Option<PortalStream> },
}

/// Where the portal's stream comes from: a PipeWire node, read through the PipeWire
/// connection the portal opened for this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortalStream {
    /// The connection's file descriptor: a number only this process can use.
    pub fd: i32,
    pub node_id: u32,
}

/// What a printed pipeline shows in place of the portal's file descriptor and node, which
/// exist only inside the `gst-replay run` that asked the portal for them.
pub const PORTAL_FD_PLACEHOLDER: &str = "PORTAL_FD";
pub const PORTAL_NODE_PLACEHOLDER: &str = "PORTAL_NODE_ID";
/// The `videocrop` that `run` re-aims when the portal's stream is not the size it announced.
pub const PORTAL_CROP_NAME: &str = "aspect-crop";
/// How long pipewiresrc waits for a frame before resending the last one, in milliseconds.
const PORTAL_KEEPALIVE_MS: u32 = 100;

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Screen { monitor } => write!(f, "screen (monitor {monitor})"),
            Source::Window { window } => write!(f, "window {window}"),
            Source::Test => f.write_str("test pattern"),
            Source::V4l2 { device } => write!(f, "V4L2 device {device}"),
            Source::Portal { stream: None } => {
                f.write_str("the screen shared through the desktop portal")
            }
            Source::Portal {
                stream: Some(stream),
            } => write!(
                f,
                "the screen shared through the desktop portal (PipeWire node {})",
                stream.node_id
            ),
        }
    }
}

/// The source, its raw caps and the conversion to what the encoder takes.
pub fn capture_nodes(request: &PipelineRequest) -> Vec<Node> {
    let input = request.encoder.input(request.platform);
    match request.platform {
        Platform::Linux => linux_capture(request, input.format),
        Platform::Windows => windows_capture(request, input.memory, input.format),
    }
}

fn raw_caps(format: RawFormat, size: Option<(u32, u32)>, fps: u32) -> Node {
    let mut caps = format!("video/x-raw,format={}", format.name());
    if let Some((width, height)) = size {
        caps.push_str(&format!(",width={width},height={height}"));
    }
    caps.push_str(&format!(",framerate={fps}/1"));
    Node::caps(caps)
}

fn linux_capture(request: &PipelineRequest, format: RawFormat) -> Vec<Node> {
    let region = request.region();
    let fps = request.fps;
    let source = match &request.source {
        Source::Test => {
            return vec![
                Node::element("videotestsrc")
                    .with("is-live", true)
                    .with("pattern", "ball"),
                raw_caps(format, Some((region.width, region.height)), fps),
            ];
        }
        Source::Screen { .. } => {
            let mut source = Node::element("ximagesrc")
                .with("use-damage", false)
                .with("show-pointer", true);
            let (origin_x, origin_y) = request.screen_origin;
            let whole_root = region.is_full(request.screen.0, request.screen.1)
                && (origin_x, origin_y) == (0, 0);
            if !whole_root {
                // endx/endy are inclusive.
                source = source
                    .with("startx", origin_x + region.x)
                    .with("starty", origin_y + region.y)
                    .with("endx", origin_x + region.x + region.width - 1)
                    .with("endy", origin_y + region.y + region.height - 1);
            }
            source
        }
        Source::Window { window } => {
            let source = Node::element("ximagesrc")
                .with("use-damage", false)
                .with("show-pointer", true);
            if window.starts_with("0x") || window.chars().all(|c| c.is_ascii_digit()) {
                source.with("xid", parse_window_id(window))
            } else {
                source.with("xname", window)
            }
        }
        Source::V4l2 { device } => Node::element("v4l2src").with("device", device),
        Source::Portal { stream } => return portal_capture(request, *stream, format),
    };
    vec![
        source,
        Node::caps(format!("video/x-raw,framerate={fps}/1")),
        Node::element("videoconvert"),
        raw_caps(format, None, fps),
    ]
}

/// `pipewiresrc` on the portal's connection and node, at a steady rate, cropped to the aspect.
fn portal_capture(
    request: &PipelineRequest,
    stream: Option<PortalStream>,
    format: RawFormat,
) -> Vec<Node> {
    let fps = request.fps;
    let (fd, node) = match stream {
        Some(stream) => (stream.fd.to_string(), stream.node_id.to_string()),
        None => (
            PORTAL_FD_PLACEHOLDER.to_owned(),
            PORTAL_NODE_PLACEHOLDER.to_owned(),
        ),
    };
    let mut nodes = vec![
        // `path` is the node id, as the portal gives it (`target-object` wants a serial or a name).
        Node::element("pipewiresrc")
            .with("fd", fd)
            .with("path", node)
            .with("do-timestamp", true)
            // The compositor sends a frame only when the screen changes: resending the last
            // one keeps frames, and so keyframes, coming while it is still.
            .with("keepalive-time", PORTAL_KEEPALIVE_MS),
        // Encoders count their GOP in frames: a steady rate keeps a keyframe every 2 s.
        Node::element("videorate"),
        Node::caps(format!("video/x-raw,framerate={fps}/1")),
    ];
    let (width, height) = request.screen;
    let region = request.region();
    if !region.is_full(width, height) {
        let margins = region.margins(width, height);
        nodes.push(
            Node::element("videocrop")
                .with("name", PORTAL_CROP_NAME)
                .with("left", margins.left)
                .with("right", margins.right)
                .with("top", margins.top)
                .with("bottom", margins.bottom),
        );
    }
    nodes.push(Node::element("videoconvert"));
    nodes.push(raw_caps(format, None, fps));
    nodes
}

fn parse_window_id(window: &str) -> u64 {
    match window.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap_or(0),
        None => window.parse().unwrap_or(0),
    }
}

/// Desktop duplication hands out D3D11 textures; `d3d11convert` turns BGRA into NV12 on the
/// GPU and the NVENC D3D11 encoder takes that texture as is: no system-memory round trip.
fn windows_capture(request: &PipelineRequest, memory: InputMemory, format: RawFormat) -> Vec<Node> {
    let region = request.region();
    let fps = request.fps;
    let mut nodes = match &request.source {
        Source::Test => vec![
            Node::element("videotestsrc")
                .with("is-live", true)
                .with("pattern", "ball"),
            raw_caps(format, Some((region.width, region.height)), fps),
        ],
        _ => {
            let monitor = match request.source {
                Source::Screen { monitor } => monitor,
                _ => 0,
            };
            let mut capture = Node::element("d3d11screencapturesrc")
                .with("monitor-index", monitor)
                .with("show-cursor", true);
            if !region.is_full(request.screen.0, request.screen.1) {
                capture = capture
                    .with("crop-x", region.x)
                    .with("crop-y", region.y)
                    .with("crop-width", region.width)
                    .with("crop-height", region.height);
            }
            vec![
                capture,
                Node::caps(format!("video/x-raw(memory:D3D11Memory),framerate={fps}/1")),
                Node::element("d3d11convert"),
                // interlace-mode: 1.22.0-1.22.5's NVENC D3D11 encoders reject caps without it.
                Node::caps(format!(
                    "video/x-raw(memory:D3D11Memory),format={},interlace-mode=progressive",
                    format.name()
                )),
            ]
        }
    };
    if memory == InputMemory::System && !matches!(request.source, Source::Test) {
        // Software encoders read system memory.
        nodes.push(Node::element("d3d11download"));
        nodes.push(raw_caps(format, None, fps));
    }
    nodes
}
