//! From a URI to the source elements: what kind of source it is, whether this machine has
//! the elements it needs, and the settings the source and demuxer elements get.

use gst::glib;
use gst::prelude::*;

use super::error::IngestError;
use super::reconnect::SourceKind;

/// What the ingest knows of a session's URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePlan {
    pub uri: String,
    pub scheme: String,
    pub kind: SourceKind,
    /// Not live: played at the pace of its timestamps (`clocksync`) so it behaves like a
    /// live stream (files, HTTP).
    pub paced: bool,
}

/// The element a scheme needs and the Debian package that has it.
struct SchemeElement {
    schemes: &'static [&'static str],
    element: &'static str,
    package: &'static str,
}

const SCHEME_ELEMENTS: &[SchemeElement] = &[
    SchemeElement {
        schemes: &["srt"],
        element: "srtsrc",
        package: "gstreamer1.0-plugins-bad",
    },
    SchemeElement {
        schemes: &["udp"],
        element: "udpsrc",
        package: "gstreamer1.0-plugins-good",
    },
    SchemeElement {
        schemes: &["rtsp", "rtspu", "rtspt", "rtsph", "rtsps"],
        element: "rtspsrc",
        package: "gstreamer1.0-plugins-good",
    },
    SchemeElement {
        schemes: &["http", "https"],
        element: "souphttpsrc",
        package: "gstreamer1.0-plugins-good",
    },
    SchemeElement {
        schemes: &["file"],
        element: "filesrc",
        package: "libgstreamer1.0-0",
    },
];

/// Elements every session uses: (element, what for, Debian package).
const PIPELINE_ELEMENTS: &[(&str, &str, &str)] = &[
    ("urisourcebin", "opens the URI", "gstreamer1.0-plugins-base"),
    (
        "parsebin",
        "demuxes and parses without decoding",
        "gstreamer1.0-plugins-base",
    ),
    ("tsdemux", "demuxes MPEG-TS", "gstreamer1.0-plugins-bad"),
    (
        "h264parse",
        "gives the ring H.264 access units",
        "gstreamer1.0-plugins-bad",
    ),
    (
        "h265parse",
        "gives the ring H.265 access units",
        "gstreamer1.0-plugins-bad",
    ),
    (
        "aacparse",
        "gives the ring raw AAC",
        "gstreamer1.0-plugins-good",
    ),
    (
        "opusparse",
        "gives the ring framed Opus",
        "gstreamer1.0-plugins-bad",
    ),
    ("clocksync", "paces files in real time", "libgstreamer1.0-0"),
    (
        "capsfilter",
        "fixes the ring's formats",
        "libgstreamer1.0-0",
    ),
    (
        "fakesink",
        "takes the streams left out",
        "libgstreamer1.0-0",
    ),
];

/// Checks the URI and that the elements it needs are installed.
pub fn plan(uri: &str) -> Result<SourcePlan, IngestError> {
    let parts = UriParts::parse(uri).ok_or_else(|| IngestError::BadUri {
        uri: uri.to_owned(),
        reason: "it does not start with scheme://".to_owned(),
    })?;
    let scheme = parts.scheme.to_ascii_lowercase();
    let known = SCHEME_ELEMENTS
        .iter()
        .find(|s| s.schemes.contains(&&*scheme));
    if !protocol_supported(&scheme) {
        return Err(match known {
            Some(known) => IngestError::MissingElement {
                element: known.element,
                purpose: "reads this URI scheme",
                package: known.package,
            },
            None => IngestError::UnsupportedScheme { scheme },
        });
    }
    for &(element, purpose, package) in PIPELINE_ELEMENTS {
        if gst::ElementFactory::find(element).is_none() {
            return Err(IngestError::MissingElement {
                element,
                purpose,
                package,
            });
        }
    }
    let mode = parts
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("mode="));
    let host_empty = parts.host.is_empty();
    let kind = match scheme.as_str() {
        "file" => {
            let (path, _) = glib::filename_from_uri(uri).map_err(|err| IngestError::BadUri {
                uri: uri.to_owned(),
                reason: err.message().to_owned(),
            })?;
            if !path.is_file() {
                return Err(IngestError::FileNotFound {
                    path: path.display().to_string(),
                });
            }
            SourceKind::File
        }
        "udp" => SourceKind::Listener,
        // srtsrc listens when told to, and by default when no host is given.
        "srt" if mode == Some("listener") || (mode.is_none() && host_empty) => SourceKind::Listener,
        _ => SourceKind::Caller,
    };
    Ok(SourcePlan {
        uri: uri.to_owned(),
        paced: matches!(scheme.as_str(), "file" | "http" | "https"),
        scheme,
        kind,
    })
}

/// The parts of a URI the ingest looks at.
#[derive(Debug, PartialEq, Eq)]
struct UriParts<'a> {
    scheme: &'a str,
    host: &'a str,
    query: &'a str,
}

impl<'a> UriParts<'a> {
    /// `scheme://[user@]host[:port][/path][?query][#fragment]`; None without a valid scheme.
    fn parse(uri: &'a str) -> Option<UriParts<'a>> {
        let (scheme, rest) = uri.split_once("://")?;
        let mut chars = scheme.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !valid {
            return None;
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = before_query.split('/').next().unwrap_or_default();
        let host_port = authority.rsplit('@').next().unwrap_or_default();
        let host = if let Some(bracketed) = host_port.strip_prefix('[') {
            bracketed.split(']').next().unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        Some(UriParts {
            scheme,
            host,
            query,
        })
    }
}

/// Some element here reads `scheme` URIs.
fn protocol_supported(scheme: &str) -> bool {
    gst::ElementFactory::factories_with_type(gst::ElementFactoryType::SRC, gst::Rank::NONE)
        .iter()
        .any(|factory| {
            factory.uri_type() == gst::URIType::Src
                && factory
                    .uri_protocols()
                    .iter()
                    .any(|protocol| protocol.eq_ignore_ascii_case(scheme))
        })
}

/// Settings for the element `urisourcebin` made for the URI (its `source-setup` signal):
/// drops and restarts are the ingest's to handle, so sources that would reconnect or wait
/// on their own are told not to.
pub fn configure_source(source: &gst::Element) {
    let Some(factory) = source.factory() else {
        return;
    };
    match factory.name().as_str() {
        "srtsrc" => {
            // A new connection is a new generation with a timeline of its own.
            source.set_property("auto-reconnect", false);
            source.set_property("keep-listening", false);
        }
        "rtspsrc" => {
            // Timestamps from the RTP clock as sent (no skew smoothing): frame-exact cuts.
            source.set_property_from_str("buffer-mode", "none");
            source.set_property("latency", 200u32);
            source.set_property("teardown-timeout", 100_000_000u64);
        }
        "udpsrc" => {
            // Bursts of a high-bitrate keyframe overflow the default socket buffer.
            source.set_property("buffer-size", 4 * 1024 * 1024i32);
        }
        _ => {}
    }
}

/// Settings for any element the source part grows (its `deep-element-added` signal).
/// `live`: a network stream, not a file or an HTTP download played at its own pace.
pub fn configure_element(element: &gst::Element, live: bool) {
    let Some(factory) = element.factory() else {
        return;
    };
    if factory.name() == "tsdemux" && live {
        // The encoder's PTS as sent, not smoothed by the PCR: 300 frames in 10 s exactly.
        // Not on files: there tsdemux leaves buffers without timestamps when told to, and
        // a file's timestamps come out exact anyway.
        element.set_property("ignore-pcr", true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn uri_parts() {
        let parts = |uri| UriParts::parse(uri).map(|p| (p.scheme, p.host, p.query));
        assert_eq!(
            parts("srt://127.0.0.1:9000?mode=listener&latency=200"),
            Some(("srt", "127.0.0.1", "mode=listener&latency=200"))
        );
        assert_eq!(
            parts("srt://:9000?mode=listener"),
            Some(("srt", "", "mode=listener"))
        );
        assert_eq!(
            parts("rtsp://user:pw@[::1]:8554/test"),
            Some(("rtsp", "::1", ""))
        );
        assert_eq!(parts("file:///tmp/a.mp4"), Some(("file", "", "")));
        assert_eq!(parts("not a uri"), None);
        assert_eq!(parts("1x://host"), None);
    }

    #[test]
    fn kinds_of_uri() {
        init();
        let kind = |uri: &str| plan(uri).unwrap().kind;
        assert_eq!(
            kind("srt://127.0.0.1:9000?mode=listener"),
            SourceKind::Listener
        );
        assert_eq!(kind("srt://:9000"), SourceKind::Listener);
        assert_eq!(kind("srt://example.com:9000"), SourceKind::Caller);
        assert_eq!(kind("udp://127.0.0.1:5000"), SourceKind::Listener);
        assert_eq!(kind("rtsp://127.0.0.1:8554/test"), SourceKind::Caller);
        assert!(plan("https://example.com/live.ts").unwrap().paced);
        assert!(!plan("udp://127.0.0.1:5000").unwrap().paced);
    }

    #[test]
    fn a_file_must_exist() {
        init();
        let cargo = std::env::current_dir().unwrap().join("Cargo.toml");
        let uri = glib::filename_to_uri(&cargo, None).unwrap();
        let planned = plan(&uri).unwrap();
        assert_eq!(planned.kind, SourceKind::File);
        assert!(planned.paced);
        assert!(matches!(
            plan("file:///nonexistent/clip.mp4"),
            Err(IngestError::FileNotFound { .. })
        ));
    }

    #[test]
    fn unknown_schemes_and_non_uris_are_refused() {
        init();
        let error = plan("bogus://127.0.0.1:1234").unwrap_err();
        assert_eq!(
            error,
            IngestError::UnsupportedScheme {
                scheme: "bogus".into()
            }
        );
        assert!(error.to_string().contains("use srt://"));
        assert!(matches!(plan("not a uri"), Err(IngestError::BadUri { .. })));
    }
}
