//! The pipeline's bus: a sync handler, run on the thread that posts each message, turns the
//! messages the ingest cares about into controller events and drops them all. Nothing here
//! blocks, locks or touches element states.

use std::sync::mpsc::Sender;

use gst::glib;
use gst::prelude::*;

use super::controller::Event;
use super::generation::BIN_PREFIX;
use super::reconnect::ErrorKind;
use super::saves;

pub fn install(pipeline: &gst::Pipeline, ring: &gst::Element, events: Sender<Event>) {
    let ring = ring.downgrade();
    let bus = pipeline.bus().expect("a pipeline has a bus");
    bus.set_sync_handler(move |_, message| {
        if let Some(event) = translate(message, &ring) {
            let _ = events.send(event);
        }
        gst::BusSyncReply::Drop
    });
}

pub fn uninstall(pipeline: &gst::Pipeline) {
    if let Some(bus) = pipeline.bus() {
        bus.unset_sync_handler();
    }
}

fn translate(message: &gst::MessageRef, ring: &glib::WeakRef<gst::Element>) -> Option<Event> {
    let from_ring = || {
        let ring = ring.upgrade();
        message
            .src()
            .is_some_and(|src| ring.is_some_and(|ring| src == ring.upcast_ref::<gst::Object>()))
    };
    match message.view() {
        gst::MessageView::Element(element) => {
            let (id, event) = saves::event_from_message(element.structure()?)?;
            Some(Event::Save { id, event })
        }
        gst::MessageView::Error(error) => {
            let text = describe(message.src(), &error.error(), error.debug().as_deref());
            match message.src().and_then(generation_of) {
                Some(generation) => Some(Event::SourceError {
                    generation,
                    kind: kind_of(&error.error()),
                    text,
                }),
                None => Some(Event::PipelineError(text)),
            }
        }
        gst::MessageView::Warning(warning) if from_ring() => {
            Some(Event::Warning(warning.error().message().to_owned()))
        }
        _ => None,
    }
}

/// The generation whose bin `object` is in.
fn generation_of(object: &gst::Object) -> Option<u64> {
    let mut current = Some(object.clone());
    while let Some(object) = current {
        let parent = object.parent();
        if parent.as_ref().is_some_and(|p| p.is::<gst::Pipeline>()) {
            return object.name().strip_prefix(BIN_PREFIX)?.parse().ok();
        }
        current = parent;
    }
    None
}

/// "element: message (detail)", the detail being the debug text after its source location.
fn describe(src: Option<&gst::Object>, error: &glib::Error, debug: Option<&str>) -> String {
    let name = src.map_or_else(|| "pipeline".to_owned(), |src| src.name().to_string());
    let detail = debug
        .and_then(|debug| debug.split_once('\n'))
        .map(|(_, rest)| rest.trim().replace('\n', " "))
        .filter(|rest| !rest.is_empty());
    match detail {
        Some(detail) => format!("{name}: {} ({detail})", error.message()),
        None => format!("{name}: {}", error.message()),
    }
}

fn kind_of(error: &glib::Error) -> ErrorKind {
    if let Some(resource) = error.kind::<gst::ResourceError>() {
        return match resource {
            gst::ResourceError::NotFound => ErrorKind::NotFound,
            gst::ResourceError::NotAuthorized => ErrorKind::NotAuthorized,
            gst::ResourceError::OpenRead
            | gst::ResourceError::OpenReadWrite
            | gst::ResourceError::OpenWrite
            | gst::ResourceError::Settings
            | gst::ResourceError::Busy => ErrorKind::Open,
            _ => ErrorKind::Other,
        };
    }
    match error.kind::<gst::StreamError>() {
        Some(gst::StreamError::TypeNotFound | gst::StreamError::WrongType) => ErrorKind::NotMedia,
        _ => ErrorKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_generation_of_an_element() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let bin = gst::Bin::with_name(&format!("{BIN_PREFIX}7"));
        let inner = gst::Bin::with_name("urisourcebin0");
        let element = gst::ElementFactory::make("fakesrc").build().unwrap();
        inner.add(&element).unwrap();
        bin.add(&inner).unwrap();
        pipeline.add(&bin).unwrap();
        let ring = gst::ElementFactory::make("fakesink").build().unwrap();
        pipeline.add(&ring).unwrap();
        assert_eq!(generation_of(element.upcast_ref()), Some(7));
        assert_eq!(generation_of(ring.upcast_ref()), None);
    }

    #[test]
    fn describes_errors_with_their_detail() {
        gst::init().unwrap();
        let error = glib::Error::new(gst::ResourceError::OpenRead, "Could not open resource");
        let src = gst::ElementFactory::make("fakesrc")
            .name("srtsrc0")
            .build()
            .unwrap();
        let text = describe(
            Some(src.upcast_ref()),
            &error,
            Some("gstsrtsrc.c(123): start (): /pipeline:\nCannot bind to 127.0.0.1:7010"),
        );
        assert_eq!(
            text,
            "srtsrc0: Could not open resource (Cannot bind to 127.0.0.1:7010)"
        );
        assert_eq!(kind_of(&error), ErrorKind::Open);
        let not_media = glib::Error::new(gst::StreamError::TypeNotFound, "no type");
        assert_eq!(kind_of(&not_media), ErrorKind::NotMedia);
    }
}
