//! Sound against picture: a test source that flashes a white frame and ticks at every whole
//! second, and the decoding that finds both again in a saved clip.

use std::path::Path;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::*;

/// `audiotestsrc` ticks: a 10 ms burst of 1 kHz every 48000 samples from its start.
pub fn ticking_audio(seconds: u64, live: bool) -> String {
    format!(
        "audiotestsrc name=audio_source is-live={live} wave=ticks freq=1000 volume=0.8 tick-interval={SECOND} \
         samplesperbuffer=480 num-buffers={} ! audio/x-raw,rate=48000,channels=2",
        seconds * 100
    )
}

/// Black 160x120 frames at 30 fps, with a white one every 30 frames (the probe is
/// installed by [`flash_every_second`] on the element named `video_source`).
pub fn flashing_video(seconds: u64, live: bool) -> String {
    format!(
        "videotestsrc name=video_source is-live={live} pattern=black num-buffers={} \
         ! video/x-raw,format=I420,width=160,height=120,framerate=30/1",
        seconds * 30
    )
}

/// Running times at which the sources flashed and ticked, as captured.
#[derive(Clone, Default)]
pub struct CaptureLog {
    flashes: Arc<Mutex<Vec<gst::ClockTime>>>,
    ticks: Arc<Mutex<Vec<gst::ClockTime>>>,
}

impl CaptureLog {
    /// How much later the tick came than the flash of the same second, at capture (live
    /// sources start a few milliseconds apart). A clip in sync shows the same offsets.
    pub fn offsets(&self) -> Vec<f64> {
        let flashes = self.flashes.lock().unwrap();
        let ticks = self.ticks.lock().unwrap();
        flashes
            .iter()
            .zip(ticks.iter())
            .map(|(flash, tick)| (tick.nseconds() as f64 - flash.nseconds() as f64) / 1e9)
            .collect()
    }

    pub fn flash_count(&self) -> usize {
        self.flashes.lock().unwrap().len()
    }
}

/// Whitens every 30th frame of `video_source` and logs the running time of those frames
/// and of the buffers of `audio_source` (if any) that start a tick. Sources start at
/// running time 0, so their timestamps are running times.
pub fn flash_every_second(pipeline: &gst::Pipeline) -> CaptureLog {
    let log = CaptureLog::default();
    let video = pipeline
        .by_name("video_source")
        .unwrap()
        .static_pad("src")
        .unwrap();
    let flashes = Arc::clone(&log.flashes);
    video.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer_mut() {
            if buffer.offset() % 30 == 0 {
                flashes.lock().unwrap().push(buffer.pts().unwrap());
                let buffer = buffer.make_mut();
                buffer.map_writable().unwrap().fill(255);
            }
        }
        gst::PadProbeReturn::Ok
    });
    if let Some(audio) = pipeline.by_name("audio_source") {
        let ticks = Arc::clone(&log.ticks);
        audio
            .static_pad("src")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                // 480-sample buffers: a tick starts on the first sample of every 100th.
                let buffer = info.buffer().unwrap();
                if buffer.offset() % 48_000 == 0 {
                    ticks.lock().unwrap().push(buffer.pts().unwrap());
                }
                gst::PadProbeReturn::Ok
            });
    }
    log
}

/// (running time s, mono sample value) of every decoded audio sample.
type SampleLog = Arc<Mutex<Vec<(f64, i16)>>>;

/// What GStreamer presents of a clip: (running time s, mean luma) per video frame, and per
/// audio track (running time s of each sample, mono value).
pub struct Decoded {
    pub frames: Vec<(f64, f64)>,
    pub audio: Vec<Vec<(f64, i16)>>,
}

impl Decoded {
    /// Times of the white frames.
    pub fn flashes(&self) -> Vec<f64> {
        self.frames
            .iter()
            .filter(|(_, luma)| *luma > 128.0)
            .map(|(time, _)| *time)
            .collect()
    }

    /// Onsets of the ticks of `track`: the first loud sample after at least 200 ms of quiet.
    pub fn tick_onsets(&self, track: usize) -> Vec<f64> {
        let mut onsets = Vec::new();
        let mut last_loud = f64::NEG_INFINITY;
        for &(time, value) in &self.audio[track] {
            if value.unsigned_abs() > 8_000 {
                if time - last_loud > 0.2 {
                    onsets.push(time);
                }
                last_loud = time;
            }
        }
        onsets
    }
}

/// Decodes every track of `path` with qtdemux and the default decoders, on the running
/// time the edit lists give.
pub fn decode(path: &Path, audio_tracks: usize) -> Decoded {
    let mut description = format!(
        "filesrc location=\"{}\" ! qtdemux name=demux \
         demux.video_0 ! queue ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 \
         ! appsink name=video sync=false",
        path.display()
    );
    for track in 0..audio_tracks {
        description.push_str(&format!(
            " demux.audio_{track} ! queue ! decodebin ! audioconvert ! audioresample \
             ! audio/x-raw,format=S16LE,channels=1,rate=48000 ! appsink name=audio_{track} sync=false"
        ));
    }
    let pipeline = parse(&description);
    let frames = Arc::new(Mutex::new(Vec::new()));
    collect(&pipeline, "video", {
        let frames = Arc::clone(&frames);
        move |time, data| {
            let mean = data.iter().map(|&v| f64::from(v)).sum::<f64>() / data.len() as f64;
            frames.lock().unwrap().push((time, mean));
        }
    });
    let audio: Vec<SampleLog> = (0..audio_tracks)
        .map(|track| {
            let samples = Arc::new(Mutex::new(Vec::new()));
            collect(&pipeline, &format!("audio_{track}"), {
                let samples = Arc::clone(&samples);
                move |time, data| {
                    let mut samples = samples.lock().unwrap();
                    for (index, pair) in data.chunks_exact(2).enumerate() {
                        let value = i16::from_le_bytes([pair[0], pair[1]]);
                        samples.push((time + index as f64 / 48_000.0, value));
                    }
                }
            });
            samples
        })
        .collect();
    run_to_eos(&pipeline);
    let frames = std::mem::take(&mut *frames.lock().unwrap());
    Decoded {
        frames,
        audio: audio
            .iter()
            .map(|samples| std::mem::take(&mut *samples.lock().unwrap()))
            .collect(),
    }
}

/// Calls `each(running time s, bytes)` for every buffer the appsink `name` receives.
fn collect(pipeline: &gst::Pipeline, name: &str, each: impl Fn(f64, &[u8]) + Send + 'static) {
    let sink = pipeline
        .by_name(name)
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let segment = sample
                    .segment()
                    .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned())
                    .unwrap();
                let buffer = sample.buffer().unwrap();
                let running_time = buffer
                    .pts()
                    .and_then(|pts| segment.to_running_time(pts))
                    .unwrap();
                let map = buffer.map_readable().unwrap();
                each(running_time.nseconds() as f64 / 1e9, map.as_slice());
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// (codec_type, codec_name) of every stream, as ffprobe reports them.
pub fn stream_codecs(path: &Path) -> Vec<(String, String)> {
    ffprobe::streams(path)
        .into_iter()
        .map(|stream| (stream.codec_type, stream.codec_name))
        .collect()
}

/// Duration in seconds of every stream, as the file's edit lists say (ffprobe).
pub fn stream_durations(path: &Path) -> Vec<f64> {
    ffprobe::streams(path)
        .iter()
        .map(|s| s.duration())
        .collect()
}

/// For every flash, the distance in seconds to the nearest tick onset.
pub fn av_offsets(flashes: &[f64], onsets: &[f64]) -> Vec<f64> {
    flashes
        .iter()
        .map(|flash| {
            onsets
                .iter()
                .map(|onset| onset - flash)
                .min_by(|a, b| a.abs().total_cmp(&b.abs()))
                .unwrap_or(f64::INFINITY)
        })
        .collect()
}
