//! `run` on a screen shared through the desktop portal: the dialog, then a pipeline on the
//! stream the portal hands out.

use std::os::fd::AsRawFd;
use std::time::Duration;

use gst::prelude::*;

use crate::pipeline::crop::centered_crop;
use crate::pipeline::sources::PORTAL_CROP_NAME;
use crate::pipeline::{Aspect, PipelineRequest, PortalStream, Region, Source};
use crate::portal::restore_token;
use crate::portal::screencast::{ScreenCastSession, StartOptions};

/// How long the person has to answer the screen-sharing dialog.
const DIALOG_TIMEOUT: Duration = Duration::from_secs(120);

/// Asks the portal for a screen when the request captures one, and points the request at the
/// stream. The session must outlive the pipeline: closing it ends the stream.
pub fn open(
    request: &mut PipelineRequest,
    screen_size_given: bool,
) -> anyhow::Result<Option<ScreenCastSession>> {
    if !matches!(request.source, Source::Portal { .. }) {
        return Ok(None);
    }
    // Before the dialog: agreeing to share a screen nothing can read would be for nothing.
    if gst::ElementFactory::find("pipewiresrc").is_none() {
        anyhow::bail!(
            "pipewiresrc is missing, which reads the screen the desktop portal shares: install \
             gstreamer1.0-pipewire (Debian, Ubuntu), pipewire-gstreamer (Fedora) or \
             gst-plugin-pipewire (Arch)"
        );
    }
    let options = StartOptions {
        restore_token: restore_token::default_path(),
        dialog_timeout: DIALOG_TIMEOUT,
    };
    let session = ScreenCastSession::start(&options, || {
        eprintln!(
            "Asking the desktop to share a screen: choose one in its dialog if it shows one \
             (waiting up to {} minutes).",
            DIALOG_TIMEOUT.as_secs() / 60
        );
    })?;
    let screen = &session.screen;
    request.source = Source::Portal {
        stream: Some(PortalStream {
            fd: screen.remote.as_raw_fd(),
            node_id: screen.node_id,
        }),
    };
    if let (Some(size), false) = (screen.size, screen_size_given) {
        request.screen = size;
    }
    Ok(Some(session))
}

/// Sets up the pipeline for the portal's stream once it is built.
pub fn prepare(pipeline: &gst::Pipeline, request: &PipelineRequest) {
    // pipewiresrc would offer a clock that follows the compositor's frame timing. The system
    // clock is the one the audio sources follow, and its monotonic time is what compositors
    // stamp frames with, which pipewiresrc turns into running time.
    pipeline.use_clock(Some(&gst::SystemClock::obtain()));
    follow_stream_size(pipeline, request.screen, request.aspect);
}

/// Crops what the compositor sends, which may not be the size the portal announced: the
/// portal counts logical pixels, which a scaled display multiplies, and a monitor can change
/// mode while it is shared. Says so when the sizes differ.
fn follow_stream_size(pipeline: &gst::Pipeline, announced: (u32, u32), aspect: Aspect) {
    let source = pipeline
        .iterate_sources()
        .into_iter()
        .flatten()
        .find(|element| {
            element
                .factory()
                .is_some_and(|factory| factory.name() == "pipewiresrc")
        });
    let Some(pad) = source.and_then(|source| source.static_pad("src")) else {
        return;
    };
    let crop = pipeline
        .by_name(PORTAL_CROP_NAME)
        .map(|crop| crop.downgrade());
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::PadProbeData::Event(event)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Caps(caps) = event.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some((width, height)) = frame_size(caps.caps()) else {
            return gst::PadProbeReturn::Ok;
        };
        let crop = crop.as_ref().and_then(|crop| crop.upgrade());
        let region = match crop {
            Some(_) => centered_crop(width, height, aspect),
            None => Region::full(width, height),
        };
        if (width, height) != announced {
            eprintln!(
                "note: the shared screen arrives at {width}x{height} (the portal announced {}x{}): \
                 capturing {}x{} of it",
                announced.0, announced.1, region.width, region.height
            );
        }
        if let Some(crop) = crop {
            let margins = region.margins(width, height);
            for (side, pixels) in [
                ("left", margins.left),
                ("right", margins.right),
                ("top", margins.top),
                ("bottom", margins.bottom),
            ] {
                crop.set_property(side, i32::try_from(pixels).unwrap_or(i32::MAX));
            }
        }
        gst::PadProbeReturn::Ok
    });
}

fn frame_size(caps: &gst::CapsRef) -> Option<(u32, u32)> {
    let structure = caps.structure(0)?;
    let width = structure.get::<i32>("width").ok()?;
    let height = structure.get::<i32>("height").ok()?;
    Some((u32::try_from(width).ok()?, u32::try_from(height).ok()?))
}
