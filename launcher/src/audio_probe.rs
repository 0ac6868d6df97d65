//! Whether this machine can record each audio input.

use gst::prelude::*;

use crate::pipeline::{AudioInput, Node, Platform};

/// Opens the input's source element (NULL to READY connects to the sound server or device)
/// and closes it again; the error says why it failed and what to do.
pub fn check_input(input: AudioInput) -> Result<(), String> {
    let platform = Platform::current();
    let node = input.source(platform);
    let Node::Element {
        factory,
        properties,
    } = &node
    else {
        unreachable!("an audio source is an element")
    };
    let Ok(element) = gst::ElementFactory::make(factory).build() else {
        return Err(format!(
            "{factory} is not installed (install {})",
            source_package(factory)
        ));
    };
    for (name, value) in properties {
        element.set_property_from_str(name, value);
    }
    // In a pipeline, so that the element's error message can be read from a bus.
    let pipeline = gst::Pipeline::new();
    pipeline
        .add(&element)
        .expect("a fresh pipeline takes an element");
    let opened = pipeline.set_state(gst::State::Ready);
    let reason = opened.is_err().then(|| first_error(&pipeline));
    let _ = pipeline.set_state(gst::State::Null);
    match reason {
        None => Ok(()),
        Some(reason) => Err(format!(
            "{factory} cannot open {} ({reason}); {}",
            input.name(),
            remedy(platform)
        )),
    }
}

pub fn is_installed(factory: &str) -> bool {
    gst::ElementFactory::find(factory).is_some()
}

fn first_error(pipeline: &gst::Pipeline) -> String {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    match bus.pop_filtered(&[gst::MessageType::Error]) {
        Some(message) => match message.view() {
            gst::MessageView::Error(err) => err.error().to_string(),
            _ => unreachable!("filtered for errors"),
        },
        None => "no reason given".to_owned(),
    }
}

fn source_package(factory: &str) -> &'static str {
    match factory {
        "pulsesrc" => "gstreamer1.0-plugins-good",
        "wasapi2src" => "GStreamer's wasapi2 plugin, part of gst-plugins-bad",
        _ => "gstreamer1.0-plugins-base",
    }
}

fn remedy(platform: Platform) -> &'static str {
    match platform {
        Platform::Linux => "start PulseAudio or PipeWire's pulse server (pipewire-pulse)",
        Platform::Windows => "check that Windows has a default playback and recording device",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
        gstreplay::plugin_register_static().unwrap();
    }

    #[test]
    fn the_test_input_opens_anywhere() {
        init();
        assert_eq!(check_input(AudioInput::Test), Ok(()));
    }

    #[test]
    fn a_failing_input_says_what_to_start() {
        init();
        // Whether a sound server runs here is not up to the test; what it reports is.
        if let Err(reason) = check_input(AudioInput::System) {
            assert!(reason.starts_with("pulsesrc "), "{reason}");
            assert!(
                reason.contains("install gstreamer1.0-plugins-good")
                    || reason.contains("start PulseAudio or PipeWire"),
                "{reason}"
            );
        }
    }
}
