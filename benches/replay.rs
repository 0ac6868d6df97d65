//! Benchmark driver for `replayring`; `benches/run.sh` runs it and `benches/report.py` turns
//! its output (one JSON object a line on stdout) into `docs/benchmarks.md` and plots.
//!
//! Frames are pushed straight into the element's sink pad from this process (no parser, no
//! queue), so what is timed is the element itself. Input: Annex B H.264/H.265 with access-unit
//! delimiters, made once by `benches/gen-input.sh`.
//!
//! ```text
//! replay save    --input F --dir D --ring-seconds S --runs R [--label L] [--mp4 M --concat C]
//! replay steady  --input F --ring-seconds S --warm-seconds W --loops N --runs R [--max-frames M]
//!                [--sinks fakesink,replayring,gopbuffer]
//! replay fill    --input F --sink replayring|fakesink --ring-seconds S
//! replay memory  --input F --ring-seconds S [--max-bytes B] [--sink replayring|gopbuffer]
//!                [--format avc]
//! replay stall   --input F --dir D --runs R
//! replay many    --input F --sink replayring|fakesink --rings N --ring-seconds S --live-seconds L
//! replay scan    --input F --runs R
//! ```
//!
//! `--size WxH` (default 1920x1080) sets the caps' dimensions. Sink `gopbuffer` is
//! `gopbuffer minimum-duration=S max-size-time=S ! fakesink` (gst-plugins-rs): it accepts only
//! avc/hvc1, so its rows use `--format avc`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

const FPS: u64 = 60;
const FRAME_NS: u64 = 1_000_000_000 / FPS;
const HUGE_BYTES: u64 = 1 << 40;

type Result<T> = std::result::Result<T, String>;

fn main() {
    if let Err(err) = run() {
        eprintln!("replay bench: {err}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    gst::init().map_err(|e| e.to_string())?;
    gstreplay::plugin_register_static().map_err(|e| e.to_string())?;
    // gst-plugins-rs `gopbuffer`, the reference measured beside replayring (`--sinks gopbuffer`).
    gstgopbuffer::plugin_register_static().map_err(|e| e.to_string())?;
    // `cargo bench` appends `--bench`; ignore it.
    let mut argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if argv.is_empty() {
        return Err("usage: replay save|steady|fill|memory|stall|many [--option value]...".into());
    }
    let command = argv.remove(0);
    let args = Args::parse(&argv)?;
    match command.as_str() {
        "save" => bench_save(&args),
        "steady" => bench_steady(&args),
        "fill" => bench_fill(&args),
        "memory" => bench_memory(&args),
        "stall" => bench_stall(&args),
        "many" => bench_many(&args),
        "scan" => bench_scan(&args),
        other => Err(format!("unknown command {other}")),
    }
}

struct Args(HashMap<String, String>);

impl Args {
    fn parse(argv: &[String]) -> Result<Args> {
        let mut map = HashMap::new();
        let mut it = argv.iter();
        while let Some(flag) = it.next() {
            let key = flag
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --option, got {flag}"))?;
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            map.insert(key.to_owned(), value.clone());
        }
        Ok(Args(map))
    }
    fn str(&self, key: &str) -> Result<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("--{key} is required"))
    }
    fn opt(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn num(&self, key: &str, default: f64) -> Result<f64> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{key}: not a number: {v}")),
        }
    }
}

/// One JSON object per line; values are numbers or strings.
struct Record(Vec<(String, String)>);

impl Record {
    fn new(bench: &str) -> Record {
        Record(vec![("bench".into(), format!("\"{bench}\""))])
    }
    fn s(mut self, key: &str, value: &str) -> Record {
        self.0
            .push((key.into(), format!("\"{}\"", value.replace('"', "'"))));
        self
    }
    fn n(mut self, key: &str, value: f64) -> Record {
        let v = if value.is_finite() {
            format!("{value}")
        } else {
            "null".into()
        };
        self.0.push((key.into(), v));
        self
    }
    fn emit(self) {
        let body: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        println!("{{{}}}", body.join(", "));
        let _ = std::io::stdout().flush();
    }
}

// ---------------------------------------------------------------------------------------
// Input

#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    H264,
    H265,
}

struct FrameIndex {
    offset: u64,
    len: usize,
    keyframe: bool,
}

struct Input {
    path: PathBuf,
    codec: Codec,
    frames: Vec<FrameIndex>,
    /// `avc`/`hvc1` (4-byte lengths, codec_data in the caps: what h264parse/h265parse
    /// negotiate with replayring) instead of the file's Annex B byte-stream.
    codec_data: Option<gst::Buffer>,
    /// Width and height in the caps (`--size WxH`).
    size: (i32, i32),
}

impl Input {
    /// `--input` and `--format byte-stream|avc` (avc means hvc1 for H.265).
    fn from_args(args: &Args, max_frames: Option<usize>) -> Result<Input> {
        let mut input = Input::open(args.str("input")?, max_frames)?;
        if let Some(size) = args.opt("size") {
            let (w, h) = size.split_once('x').ok_or("--size WxH")?;
            input.size = (
                w.parse().map_err(|_| "--size WxH")?,
                h.parse().map_err(|_| "--size WxH")?,
            );
        }
        match args.opt("format").unwrap_or("byte-stream") {
            "byte-stream" => {}
            "avc" => input.codec_data = Some(input.decoder_config()?),
            other => return Err(format!("unknown --format {other}")),
        }
        Ok(input)
    }

    fn format_name(&self) -> &'static str {
        match (self.codec_data.is_some(), self.codec) {
            (false, _) => "byte-stream",
            (true, Codec::H264) => "avc",
            (true, Codec::H265) => "hvc1",
        }
    }

    fn lib_codec(&self) -> gstreplay::codec::VideoCodec {
        match self.codec {
            Codec::H264 => gstreplay::codec::VideoCodec::H264,
            Codec::H265 => gstreplay::codec::VideoCodec::H265,
        }
    }

    /// avcC/hvcC from the parameter sets of the first keyframe.
    fn decoder_config(&self) -> Result<gst::Buffer> {
        use gstreplay::codec::{self, NalFraming};
        let first = read_frame(
            &File::open(&self.path).map_err(|e| e.to_string())?,
            &self.frames[0],
        )?;
        let map = first.map_readable().map_err(|e| e.to_string())?;
        let data = map.as_slice();
        let nals: Vec<&[u8]> = codec::nal_units(data, NalFraming::ByteStream)
            .filter_map(|unit| unit.ok())
            .map(|unit| &data[unit.nal])
            .collect();
        let record = codec::decoder_config_from_parameter_sets(self.lib_codec(), &nals)
            .map_err(|e| e.to_string())?;
        Ok(gst::Buffer::from_mut_slice(record))
    }

    /// A frame as this input's format carries it.
    fn convert(&self, annex_b: gst::Buffer) -> Result<gst::Buffer> {
        use gstreplay::codec::{self, NalFraming};
        if self.codec_data.is_none() {
            return Ok(annex_b);
        }
        let map = annex_b.map_readable().map_err(|e| e.to_string())?;
        let mut pieces = Vec::new();
        codec::plan_sample(
            self.lib_codec(),
            map.as_slice(),
            NalFraming::ByteStream,
            false,
            &mut pieces,
        )
        .map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(map.len());
        gstreplay::clip_writer::write_pieces(&mut out, map.as_slice(), &pieces)
            .map_err(|e| e.to_string())?;
        // avc can be a few bytes longer than Annex B: no doubled capacity left in the buffer.
        out.shrink_to_fit();
        Ok(gst::Buffer::from_mut_slice(out))
    }

    /// Splits the file into access units at the access-unit delimiters.
    fn open(path: &str, max_frames: Option<usize>) -> Result<Input> {
        let codec = if path.ends_with(".h265") || path.ends_with(".hevc") {
            Codec::H265
        } else {
            Codec::H264
        };
        let mut data = Vec::new();
        File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|e| format!("cannot read {path}: {e} (run benches/gen-input.sh)"))?;
        let mut starts: Vec<(usize, bool)> = Vec::new(); // (AU start, keyframe)
        let mut i = 0;
        while i + 3 < data.len() {
            if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                let header = data[i + 3];
                let (is_aud, is_key) = match codec {
                    Codec::H264 => (header & 0x1f == 9, header & 0x1f == 5),
                    Codec::H265 => {
                        let t = (header >> 1) & 0x3f;
                        (t == 35, (16..=21).contains(&t))
                    }
                };
                if is_aud {
                    if max_frames.is_some_and(|m| starts.len() == m) {
                        break;
                    }
                    let start = if i > 0 && data[i - 1] == 0 { i - 1 } else { i };
                    starts.push((start, false));
                } else if is_key {
                    if let Some(last) = starts.last_mut() {
                        last.1 = true;
                    }
                }
                i += 3;
            } else {
                i += 1;
            }
        }
        let end_of_last = if max_frames.is_some_and(|m| starts.len() == m) {
            i - usize::from(i > 0 && data[i - 1] == 0)
        } else {
            data.len()
        };
        let frames = starts
            .iter()
            .enumerate()
            .map(|(n, &(start, keyframe))| {
                let end = starts.get(n + 1).map_or(end_of_last, |next| next.0);
                FrameIndex {
                    offset: start as u64,
                    len: end - start,
                    keyframe,
                }
            })
            .collect::<Vec<_>>();
        if frames.is_empty() || !frames[0].keyframe {
            return Err(format!(
                "{path}: no access-unit delimiters or no leading keyframe"
            ));
        }
        Ok(Input {
            path: PathBuf::from(path),
            codec,
            frames,
            codec_data: None,
            size: (1920, 1080),
        })
    }

    fn caps(&self) -> gst::Caps {
        let name = match self.codec {
            Codec::H264 => "video/x-h264",
            Codec::H265 => "video/x-h265",
        };
        let mut caps = gst::Caps::builder(name)
            .field("stream-format", self.format_name())
            .field("alignment", "au")
            .field("width", self.size.0)
            .field("height", self.size.1)
            .field("framerate", gst::Fraction::new(FPS as i32, 1))
            .build();
        if let Some(record) = &self.codec_data {
            caps.make_mut().set("codec_data", record);
        }
        caps
    }

    /// Annex B bytes of the input file (the payload is 4 bytes a NAL shorter or longer in avc).
    fn bytes(&self) -> u64 {
        self.frames.iter().map(|f| f.len as u64).sum()
    }

    /// One buffer per frame, each with memory of its own (as encoder output is).
    fn load_payloads(&self) -> Result<Vec<gst::Buffer>> {
        let file = File::open(&self.path).map_err(|e| e.to_string())?;
        self.frames
            .iter()
            .map(|f| read_frame(&file, f).and_then(|b| self.convert(b)))
            .collect()
    }
}

fn read_frame(file: &File, frame: &FrameIndex) -> Result<gst::Buffer> {
    let mut buffer = gst::Buffer::with_size(frame.len).map_err(|e| e.to_string())?;
    {
        let b = buffer.get_mut().expect("new buffer is writable");
        let mut map = b.map_writable().map_err(|e| e.to_string())?;
        file.read_exact_at(map.as_mut_slice(), frame.offset)
            .map_err(|e| e.to_string())?;
    }
    Ok(buffer)
}

/// Stamps frame `n` of the (looped) stream: running time n/60 s, no B-frames.
fn stamp(buffer: &mut gst::BufferRef, n: u64, keyframe: bool) {
    let t = gst::ClockTime::from_nseconds(n * 1_000_000_000 / FPS);
    buffer.set_pts(t);
    buffer.set_dts(t);
    buffer.set_duration(gst::ClockTime::from_nseconds(FRAME_NS));
    if keyframe {
        buffer.unset_flags(gst::BufferFlags::DELTA_UNIT);
    } else {
        buffer.set_flags(gst::BufferFlags::DELTA_UNIT);
    }
}

/// `count` frames of the input looped, as shallow copies sharing the payloads.
fn looped(input: &Input, payloads: &[gst::Buffer], count: usize) -> Vec<gst::Buffer> {
    (0..count)
        .map(|n| {
            let i = n % payloads.len();
            let mut b = payloads[i].copy();
            stamp(b.make_mut(), n as u64, input.frames[i].keyframe);
            b
        })
        .collect()
}

/// A freshly allocated copy of frame `n` of the looped input, as an encoder would output it.
fn fresh(input: &Input, payloads: &[gst::Buffer], n: usize) -> gst::Buffer {
    let i = n % payloads.len();
    let src = payloads[i].map_readable().expect("readable");
    let mut b = gst::Buffer::from_mut_slice(src.as_slice().to_vec());
    stamp(b.get_mut().unwrap(), n as u64, input.frames[i].keyframe);
    b
}

// ---------------------------------------------------------------------------------------
// Feeding an element straight from this thread

struct Feed {
    pipeline: gst::Pipeline,
    src: gst::Pad,
    sink: gst::Element,
}

impl Feed {
    fn new(kind: &str, ring_seconds: f64, max_bytes: u64, caps: &gst::Caps) -> Result<Feed> {
        let pipeline = gst::Pipeline::new();
        Feed::in_pipeline(&pipeline, kind, ring_seconds, max_bytes, caps, 0)
    }

    fn in_pipeline(
        pipeline: &gst::Pipeline,
        kind: &str,
        ring_seconds: f64,
        max_bytes: u64,
        caps: &gst::Caps,
        n: usize,
    ) -> Result<Feed> {
        let fakesink = || {
            gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
        };
        let ring_ns = (ring_seconds * 1e9) as u64;
        let sink = match kind {
            "replayring" => gst::ElementFactory::make("replayring")
                .property("max-duration", ring_ns)
                .property("max-bytes", max_bytes)
                .build(),
            "fakesink" => fakesink(),
            // gopbuffer keeps only `minimum-duration` (default 1 s) and caps at
            // `max-size-time`; both at the ring's duration make it hold a full ring.
            "gopbuffer" => gst::ElementFactory::make("gopbuffer")
                .property("minimum-duration", ring_ns)
                .property("max-size-time", ring_ns)
                .build(),
            other => return Err(format!("unknown sink {other}")),
        }
        .map_err(|e| e.to_string())?;
        pipeline.add(&sink).map_err(|e| e.to_string())?;
        if kind == "gopbuffer" {
            let downstream = fakesink().map_err(|e| e.to_string())?;
            pipeline.add(&downstream).map_err(|e| e.to_string())?;
            sink.link(&downstream).map_err(|e| e.to_string())?;
        }
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| e.to_string())?;
        let src = gst::Pad::builder(gst::PadDirection::Src)
            .name(format!("bench_src_{n}"))
            .build();
        src.set_active(true).map_err(|e| e.to_string())?;
        let sinkpad = sink
            .static_pad("video")
            .or_else(|| sink.static_pad("video_sink"))
            .or_else(|| sink.static_pad("sink"))
            .ok_or("no sink pad")?;
        src.link(&sinkpad).map_err(|e| e.to_string())?;
        src.push_event(gst::event::StreamStart::new(&format!("bench-{n}")));
        src.push_event(gst::event::Caps::new(caps));
        src.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
            gst::ClockTime,
        >::new()));
        Ok(Feed {
            pipeline: pipeline.clone(),
            src,
            sink,
        })
    }

    fn push(&self, buffer: gst::Buffer) -> Result<()> {
        self.src
            .push(buffer)
            .map(|_| ())
            .map_err(|e| format!("push: {e:?}"))
    }

    fn stat(&self, field: &str) -> u64 {
        let s: gst::Structure = self.sink.property("stats");
        s.get::<u64>(field).unwrap_or(0)
    }

    /// Emits `save` of everything and waits for the answer; returns the file and its size.
    fn save(&self, location: &Path) -> Result<(PathBuf, u64)> {
        let bus = self.pipeline.bus().unwrap();
        let id: String = self.sink.emit_by_name(
            "save",
            &[&0u64, &Some(location.to_string_lossy().into_owned())],
        );
        loop {
            let msg = bus
                .timed_pop_filtered(
                    gst::ClockTime::from_seconds(600),
                    &[gst::MessageType::Element, gst::MessageType::Error],
                )
                .ok_or("no answer to save within 600 s")?;
            if let gst::MessageView::Error(e) = msg.view() {
                return Err(format!("pipeline error: {}", e.error()));
            }
            let Some(s) = msg.structure() else { continue };
            if s.get::<String>("id").ok().as_deref() != Some(&id) {
                continue;
            }
            if s.name() == "replay-saved" {
                let path = PathBuf::from(s.get::<String>("location").unwrap());
                return Ok((path, s.get::<u64>("bytes").unwrap_or(0)));
            }
            return Err(format!("save failed: {:?}", s.get::<String>("error")));
        }
    }

    fn stop(self) {}
}

impl Drop for Feed {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

// ---------------------------------------------------------------------------------------
// Process measurements

struct Usage {
    cpu: f64,
    minflt: f64,
}

fn usage() -> Usage {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Usage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        minflt: ru.ru_minflt as f64,
    }
}

fn thread_cpu() -> f64 {
    // SAFETY: clock_gettime writes into the zeroed struct we pass.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// (VmRSS, RssAnon) in bytes.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb * 1024.0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn fsync_path(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync {}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// 1. Save latency

fn bench_save(args: &Args) -> Result<()> {
    let input = Input::from_args(args, None)?;
    let dir = PathBuf::from(args.str("dir")?);
    let ring_seconds = args.num("ring-seconds", 120.0)?;
    let runs = args.num("runs", 3.0)? as usize;
    let label = args.opt("label").unwrap_or("");
    let target = args.opt("target").unwrap_or("");
    let mp4 = args.opt("mp4");
    let concat = args.opt("concat");
    let with_mp4mux = args.opt("mp4mux") == Some("1");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;

    let payloads = input.load_payloads()?;
    let count = ((ring_seconds + 2.0) * FPS as f64) as usize;
    let buffers = looped(&input, &payloads, count);
    let feed = Feed::new("replayring", ring_seconds, HUGE_BYTES, &input.caps())?;
    for b in &buffers {
        feed.push(b.clone())?;
    }
    let ring_bytes = feed.stat("bytes");
    let mbps = input.bytes() as f64 * 8.0 / (input.frames.len() as f64 / FPS as f64) / 1e6;
    // The copy baseline writes from one contiguous buffer, filled with real payload bytes.
    let mut contiguous: Vec<u8> = Vec::with_capacity(ring_bytes as usize + (64 << 20));
    'fill: loop {
        for b in &payloads {
            let m = b.map_readable().unwrap();
            contiguous.extend_from_slice(m.as_slice());
            if contiguous.len() as u64 >= ring_bytes + (32 << 20) {
                break 'fill;
            }
        }
    }

    let mut methods: Vec<&str> = vec!["ring", "copy"];
    if mp4.is_some() {
        methods.push("ffmpeg-faststart");
    }
    if concat.is_some() {
        methods.push("ffmpeg-concat");
    }
    if with_mp4mux {
        methods.push("mp4mux-faststart");
    }
    let mut file_bytes = 0u64;
    for run in 0..runs {
        // Rotate the order so no method always runs right after another one's writeback.
        let order: Vec<&str> = (0..methods.len())
            .map(|k| methods[(k + run) % methods.len()])
            .collect();
        let mut results: Vec<(&str, f64)> = Vec::new();
        for &method in &order {
            let out = dir.join(format!("bench-{method}-{run}.mp4"));
            let _ = std::fs::remove_file(&out);
            let t0 = Instant::now();
            match method {
                "ring" => {
                    let (path, bytes) = feed.save(&out)?;
                    file_bytes = bytes;
                    results.push((method, t0.elapsed().as_secs_f64()));
                    let _ = std::fs::remove_file(path);
                    continue;
                }
                "copy" => {
                    let n = if file_bytes > 0 {
                        file_bytes
                    } else {
                        ring_bytes + 100_000
                    } as usize;
                    let mut f = File::create(&out).map_err(|e| e.to_string())?;
                    for chunk in contiguous[..n].chunks(1 << 20) {
                        f.write_all(chunk).map_err(|e| e.to_string())?;
                    }
                    f.sync_all().map_err(|e| e.to_string())?;
                }
                "ffmpeg-faststart" => {
                    let ok = Command::new("ffmpeg")
                        .args(["-y", "-loglevel", "error", "-i", mp4.unwrap()])
                        .args(["-c", "copy", "-movflags", "+faststart"])
                        .arg(&out)
                        .status()
                        .map_err(|e| e.to_string())?;
                    if !ok.success() {
                        return Err("ffmpeg remux failed".into());
                    }
                    fsync_path(&out)?;
                }
                "ffmpeg-concat" => {
                    let ok = Command::new("ffmpeg")
                        .args(["-y", "-loglevel", "error", "-f", "concat", "-safe", "0"])
                        .args(["-i", concat.unwrap(), "-c", "copy"])
                        .args(["-movflags", "+faststart"])
                        .arg(&out)
                        .status()
                        .map_err(|e| e.to_string())?;
                    if !ok.success() {
                        return Err("ffmpeg concat failed".into());
                    }
                    fsync_path(&out)?;
                }
                "mp4mux-faststart" => {
                    mp4mux_faststart(&input, &buffers, &dir, &out)?;
                    fsync_path(&out)?;
                }
                _ => unreachable!(),
            }
            results.push((method, t0.elapsed().as_secs_f64()));
            let _ = std::fs::remove_file(&out);
        }
        let copy = results
            .iter()
            .find(|r| r.0 == "copy")
            .map_or(f64::NAN, |r| r.1);
        for (method, seconds) in results {
            Record::new("save")
                .s("label", label)
                .s("format", input.format_name())
                .s("target", target)
                .s("method", method)
                .n("ring_s", ring_seconds)
                .n("mbps", mbps)
                .n("run", run as f64)
                .n("seconds", seconds)
                .n("ratio_to_copy", seconds / copy)
                .n("bytes", file_bytes as f64)
                .emit();
        }
    }
    feed.stop();
    Ok(())
}

/// GStreamer's own answer: h264parse ! mp4mux faststart=true ! filesink, fed from RAM.
fn mp4mux_faststart(input: &Input, buffers: &[gst::Buffer], dir: &Path, out: &Path) -> Result<()> {
    let parser = match input.codec {
        Codec::H264 => "h264parse",
        Codec::H265 => "h265parse",
    };
    let tmp = dir.join("bench-mp4mux-faststart.tmp");
    let desc = format!(
        "appsrc name=src format=time max-bytes=0 max-buffers=0 max-time=0 ! {parser} \
         ! mp4mux faststart=true faststart-file={} ! filesink location={}",
        tmp.display(),
        out.display()
    );
    let pipeline = gst::parse::launch(&desc)
        .map_err(|e| e.to_string())?
        .downcast::<gst::Pipeline>()
        .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gst_app::AppSrc>()
        .unwrap();
    src.set_caps(Some(&input.caps()));
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| e.to_string())?;
    for b in buffers {
        src.push_buffer(b.clone()).map_err(|e| format!("{e:?}"))?;
    }
    src.end_of_stream().map_err(|e| format!("{e:?}"))?;
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(600),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .ok_or("mp4mux: timeout")?;
    let _ = pipeline.set_state(gst::State::Null);
    let _ = std::fs::remove_file(&tmp);
    match msg.view() {
        gst::MessageView::Eos(_) => Ok(()),
        _ => Err(format!("mp4mux failed: {msg:?}")),
    }
}

// ---------------------------------------------------------------------------------------
// 2. Streaming-thread cost per frame (steady state: the ring is full and evicting)

fn bench_steady(args: &Args) -> Result<()> {
    let max_frames = args.opt("max-frames").and_then(|v| v.parse().ok());
    let input = Input::from_args(args, max_frames)?;
    let ring_seconds = args.num("ring-seconds", 10.0)?;
    let warm = (args.num("warm-seconds", 20.0)? * FPS as f64) as usize;
    let loops = args.num("loops", 1.0)? as usize;
    let runs = args.num("runs", 5.0)? as usize;
    let sinks: Vec<String> = args
        .opt("sinks")
        .unwrap_or("fakesink,replayring")
        .split(',')
        .map(str::to_owned)
        .collect();
    let payloads = input.load_payloads()?;
    let buffers = looped(&input, &payloads, payloads.len() * loops);
    if warm >= buffers.len() {
        return Err("warm-up longer than the input".into());
    }
    let measured = (buffers.len() - warm) as f64;
    for run in 0..runs {
        let mut per_run: Vec<(String, f64)> = Vec::new();
        for k in 0..sinks.len() {
            let sink = &sinks[(k + run) % sinks.len()];
            let feed = Feed::new(sink, ring_seconds, HUGE_BYTES, &input.caps())?;
            for b in &buffers[..warm] {
                feed.push(b.clone())?;
            }
            let (u0, t0, w0) = (usage(), thread_cpu(), Instant::now());
            measured_pushes(&feed, &buffers[warm..])?;
            let (u1, t1, wall) = (usage(), thread_cpu(), w0.elapsed().as_secs_f64());
            let evicted = if sink == "replayring" {
                feed.stat("evicted") as f64
            } else {
                0.0
            };
            feed.stop();
            let cpu = u1.cpu - u0.cpu;
            per_run.push((sink.clone(), cpu));
            Record::new("steady")
                .s("format", input.format_name())
                .s("sink", sink)
                .n("run", run as f64)
                .n("frames", measured)
                .n("cpu_ns_per_frame", cpu / measured * 1e9)
                .n("thread_ns_per_frame", (t1 - t0) / measured * 1e9)
                .n("wall_ns_per_frame", wall / measured * 1e9)
                .n("minflt_per_frame", (u1.minflt - u0.minflt) / measured)
                .n("evicted", evicted)
                .emit();
        }
        let fake = per_run.iter().find(|p| p.0 == "fakesink").map(|p| p.1);
        for (sink, cpu) in per_run.iter().filter(|p| p.0 != "fakesink") {
            if let Some(f) = fake {
                Record::new("steady-ratio")
                    .s("format", input.format_name())
                    .s("sink", sink)
                    .n("run", run as f64)
                    .n("ratio", cpu / f)
                    .emit();
            }
        }
    }
    Ok(())
}

/// The measured loop, kept out of line so that `valgrind --tool=callgrind
/// --toggle-collect='*measured_pushes*'` counts exactly these pushes.
#[inline(never)]
fn measured_pushes(feed: &Feed, buffers: &[gst::Buffer]) -> Result<()> {
    for b in buffers {
        feed.push(b.clone())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 2b. Filling: freshly allocated frames (as an encoder outputs them), one process per run

fn bench_fill(args: &Args) -> Result<()> {
    let input = Input::from_args(args, None)?;
    let sink = args.str("sink")?;
    let ring_seconds = args.num("ring-seconds", 150.0)?;
    let payloads = input.load_payloads()?;
    let count = payloads.len();
    let feed = Feed::new(sink, ring_seconds, HUGE_BYTES, &input.caps())?;
    // Each frame is allocated and filled on the streaming thread, as an encoder would. The
    // frames until the ring is full (ring + 2 s) and the frames after are measured apart.
    let full_at = (((ring_seconds + 2.0) * FPS as f64) as usize).min(count);
    let u0 = usage();
    for n in 0..full_at {
        feed.push(fresh(&input, &payloads, n))?;
    }
    let (u1, w1) = (usage(), Instant::now());
    for n in full_at..count {
        feed.push(fresh(&input, &payloads, n))?;
    }
    let (u2, w2) = (usage(), Instant::now());
    feed.stop();
    let per = |a: f64, b: f64, frames: usize| {
        if frames == 0 {
            f64::NAN
        } else {
            (b - a) / frames as f64
        }
    };
    let (filling, full) = (full_at, count - full_at);
    Record::new("fill")
        .s("format", input.format_name())
        .s("sink", sink)
        .s(
            "malloc",
            &std::env::var("GLIBC_TUNABLES").unwrap_or_default(),
        )
        .n("ring_s", ring_seconds)
        .n("frames_filling", filling as f64)
        .n("frames_full", full as f64)
        .n("cpu_ns_filling", per(u0.cpu, u1.cpu, filling) * 1e9)
        .n("minflt_filling", per(u0.minflt, u1.minflt, filling))
        .n("cpu_ns_full", per(u1.cpu, u2.cpu, full) * 1e9)
        .n("minflt_full", per(u1.minflt, u2.minflt, full))
        .n(
            "wall_ns_full",
            per(0.0, (w2 - w1).as_secs_f64(), full) * 1e9,
        )
        .emit();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 3. Memory with a full ring (one process per run; frames read from the file one by one so
//    the ring's buffers are the only copy of the payload in this process)

fn bench_memory(args: &Args) -> Result<()> {
    let sink = args.opt("sink").unwrap_or("replayring");
    // `--format avc` (gopbuffer takes nothing else): each frame is converted into a new
    // buffer and the Annex B one freed at once.
    let input = Input::from_args(args, None)?;
    let ring_seconds = args.num("ring-seconds", 120.0)?;
    let max_bytes = args.num("max-bytes", HUGE_BYTES as f64)? as u64;
    let seconds = args.num("feed-seconds", input.frames.len() as f64 / FPS as f64)?;
    let count = (seconds * FPS as f64) as usize;
    let file = File::open(&input.path).map_err(|e| e.to_string())?;
    let feed = Feed::new(sink, ring_seconds, max_bytes, &input.caps())?;
    // gopbuffer has no stats: what it holds is what went in minus what came out of its src pad.
    let (bytes_in, frames_in) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (bytes_out, frames_out) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    if sink == "gopbuffer" {
        let (b, f) = (bytes_out.clone(), frames_out.clone());
        feed.sink
            .static_pad("video_src")
            .ok_or("gopbuffer without video_src")?
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    b.fetch_add(buffer.size() as u64, Ordering::Relaxed);
                    f.fetch_add(1, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            });
    }
    let held = |field: &str| -> u64 {
        if sink != "gopbuffer" {
            return feed.stat(field);
        }
        let (i, o) = match field {
            "bytes" => (&bytes_in, &bytes_out),
            _ => (&frames_in, &frames_out),
        };
        i.load(Ordering::Relaxed) - o.load(Ordering::Relaxed)
    };
    // Warm the allocator and the element with one GOP, then take the baseline.
    let (rss0, anon0) = rss();
    let mut max_seen = 0u64;
    let check_every = if max_bytes < HUGE_BYTES { 1 } else { 600 };
    for n in 0..count {
        let i = n % input.frames.len();
        let mut b = input.convert(read_frame(&file, &input.frames[i])?)?;
        stamp(b.make_mut(), n as u64, input.frames[i].keyframe);
        bytes_in.fetch_add(b.size() as u64, Ordering::Relaxed);
        frames_in.fetch_add(1, Ordering::Relaxed);
        feed.push(b)?;
        if n % check_every == 0 {
            max_seen = max_seen.max(held("bytes"));
        }
    }
    let payload = held("bytes");
    max_seen = max_seen.max(payload);
    let (rss1, anon1) = rss();
    let frames = held("frames");
    Record::new("memory")
        .s("sink", sink)
        .s("format", input.format_name())
        .n("ring_s", ring_seconds)
        .n("fed_s", seconds)
        .n("max_bytes", max_bytes as f64)
        .n("payload", payload as f64)
        .n("frames", frames as f64)
        .n("max_payload_seen", max_seen as f64)
        .n("rss_before", rss0)
        .n("rss", rss1)
        .n("anon_before", anon0)
        .n("anon", anon1)
        .n("rss_ratio", (rss1 - 16.0 * 1048576.0) / payload as f64)
        .n("anon_growth_ratio", (anon1 - anon0) / payload as f64)
        .emit();
    feed.stop();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 4. Stalls: a live 60 fps feed while a full-ring save runs

fn bench_stall(args: &Args) -> Result<()> {
    let input = Input::from_args(args, None)?;
    let dir = PathBuf::from(args.str("dir")?);
    let runs = args.num("runs", 3.0)? as usize;
    let label = args.opt("target").unwrap_or("");
    let ring_seconds = args.num("ring-seconds", 120.0)?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let payloads = Arc::new(input.load_payloads()?);
    let input = Arc::new(input);
    for run in 0..runs {
        let prefill = ((ring_seconds + 2.0) * FPS as f64) as usize;
        let feed = Arc::new(Feed::new(
            "replayring",
            ring_seconds,
            HUGE_BYTES,
            &input.caps(),
        )?);
        for b in looped(&input, &payloads, prefill) {
            feed.push(b)?;
        }
        // Live: frame n is due at start + (n - prefill) / 60 s; it is allocated and pushed then.
        let stop = Arc::new(AtomicBool::new(false));
        let log: Arc<Mutex<Vec<(f64, f64, f64)>>> = Arc::default(); // (due, pushed, done)
        let start = Instant::now();
        let pusher = {
            let (feed, stop, log, input, payloads) = (
                feed.clone(),
                stop.clone(),
                log.clone(),
                input.clone(),
                payloads.clone(),
            );
            std::thread::spawn(move || -> Result<()> {
                let mut n = prefill;
                while !stop.load(Ordering::Relaxed) {
                    let due = Duration::from_nanos((n - prefill) as u64 * FRAME_NS);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    let pushed = start.elapsed().as_secs_f64();
                    feed.push(fresh(&input, &payloads, n))?;
                    let done = start.elapsed().as_secs_f64();
                    log.lock().unwrap().push((due.as_secs_f64(), pushed, done));
                    n += 1;
                }
                Ok(())
            })
        };
        std::thread::sleep(Duration::from_secs(2));
        let save_start = start.elapsed().as_secs_f64();
        let (path, bytes) = feed.save(&dir.join(format!("bench-stall-{run}.mp4")))?;
        let save_end = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        pusher.join().map_err(|_| "pusher panicked")??;
        let _ = std::fs::remove_file(path);
        let log = log.lock().unwrap();
        let window = |from: f64, to: f64| {
            let mut max_gap = 0f64;
            let mut max_push = 0f64;
            let mut max_late = 0f64;
            for w in log.windows(2) {
                if w[1].2 >= from && w[1].2 <= to {
                    max_gap = max_gap.max(w[1].2 - w[0].2);
                    max_push = max_push.max(w[1].2 - w[1].1);
                    max_late = max_late.max(w[1].2 - w[1].0);
                }
            }
            (max_gap, max_push, max_late)
        };
        let before = window(0.1, save_start);
        let during = window(save_start, save_end);
        Record::new("stall")
            .s("target", label)
            .s("format", input.format_name())
            .n("run", run as f64)
            .n("save_seconds", save_end - save_start)
            .n("bytes", bytes as f64)
            .n("frame_interval_ms", FRAME_NS as f64 / 1e6)
            .n("gap_ms_before", before.0 * 1e3)
            .n("push_ms_before", before.1 * 1e3)
            .n("late_ms_before", before.2 * 1e3)
            .n("gap_ms_during", during.0 * 1e3)
            .n("push_ms_during", during.1 * 1e3)
            .n("late_ms_during", during.2 * 1e3)
            .emit();
        if run == 0 {
            // The arrival gaps over time, for the plot.
            let gaps: Vec<String> = log
                .windows(2)
                .map(|w| format!("[{:.4},{:.3}]", w[1].2, (w[1].2 - w[0].2) * 1e3))
                .collect();
            println!(
                "{{\"bench\": \"stall-trace\", \"target\": \"{label}\", \"save_start\": {save_start}, \"save_end\": {save_end}, \"gaps\": [{}]}}",
                gaps.join(",")
            );
        }
        drop(feed);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// 5. Many rings in one process, fed in real time

fn bench_many(args: &Args) -> Result<()> {
    let input = Input::from_args(args, None)?;
    let sink = args.str("sink")?;
    let rings = args.num("rings", 50.0)? as usize;
    let ring_seconds = args.num("ring-seconds", 120.0)?;
    let live = args.num("live-seconds", 20.0)?;
    let payloads = input.load_payloads()?;
    let pipeline = gst::Pipeline::new();
    let feeds = (0..rings)
        .map(|n| Feed::in_pipeline(&pipeline, sink, ring_seconds, HUGE_BYTES, &input.caps(), n))
        .collect::<Result<Vec<_>>>()?;
    let (rss0, _) = rss();
    // Fill every ring (each with payloads of its own) as fast as possible.
    let prefill = ((ring_seconds + 2.0) * FPS as f64) as usize;
    for n in 0..prefill {
        for feed in &feeds {
            feed.push(fresh(&input, &payloads, n))?;
        }
    }
    let (rss_full, _) = rss();
    // Then in real time: every 1/60 s one new frame to each ring.
    let frames = (live * FPS as f64) as usize;
    let (u0, w0) = (usage(), Instant::now());
    for k in 0..frames {
        let due = Duration::from_nanos(k as u64 * FRAME_NS);
        if let Some(wait) = due.checked_sub(w0.elapsed()) {
            std::thread::sleep(wait);
        }
        for feed in &feeds {
            feed.push(fresh(&input, &payloads, prefill + k))?;
        }
    }
    let (u1, wall) = (usage(), w0.elapsed().as_secs_f64());
    let (rss_end, _) = rss();
    let payload: u64 = if sink == "replayring" {
        feeds.iter().map(|f| f.stat("bytes")).sum()
    } else {
        0
    };
    let cpu = u1.cpu - u0.cpu;
    Record::new("many")
        .s("format", input.format_name())
        .s("sink", sink)
        .n("rings", rings as f64)
        .n("ring_s", ring_seconds)
        .n("live_s", wall)
        .n("cpu_s", cpu)
        .n("core_pct_per_ring", cpu / wall / rings as f64 * 100.0)
        .n("rss_before", rss0)
        .n("rss_full", rss_full)
        .n("rss_end", rss_end)
        .n("payload", payload as f64)
        .emit();
    let _ = pipeline.set_state(gst::State::Null);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Where a save's time goes besides write(2): the start-code scan of every payload

/// The save's planning pass (`codec::plan_sample` on every frame, as `clip_writer` does)
/// against a prototype scan that finds start codes with a SIMD byte search, and against a
/// plain read of every byte (the memory-bandwidth floor). Same payloads, same process.
fn bench_scan(args: &Args) -> Result<()> {
    use gstreplay::codec::{self, NalFraming, VideoCodec};
    let input = Input::open(args.str("input")?, None)?;
    let runs = args.num("runs", 5.0)? as usize;
    let payloads = input.load_payloads()?;
    let maps: Vec<_> = payloads
        .iter()
        .map(|b| b.map_readable().expect("readable"))
        .collect();
    let codec = match input.codec {
        Codec::H264 => VideoCodec::H264,
        Codec::H265 => VideoCodec::H265,
    };
    let bytes = input.bytes() as f64;
    // The same frames as `avc`/`hvc1` samples (4-byte lengths), as h264parse would output them.
    let length_prefixed: Vec<Vec<u8>> = maps
        .iter()
        .map(|m| {
            let mut pieces = Vec::new();
            codec::plan_sample(
                codec,
                m.as_slice(),
                NalFraming::ByteStream,
                false,
                &mut pieces,
            )
            .expect("valid access unit");
            let mut out = Vec::with_capacity(m.len());
            gstreplay::clip_writer::write_pieces(&mut out, m.as_slice(), &pieces).unwrap();
            out
        })
        .collect();
    for run in 0..runs {
        let t = Instant::now();
        let mut pieces = Vec::new();
        let mut planned = 0u64;
        for m in &maps {
            pieces.clear();
            planned += codec::plan_sample(
                codec,
                m.as_slice(),
                NalFraming::ByteStream,
                true,
                &mut pieces,
            )
            .map_err(|e| e.to_string())? as u64;
        }
        let plan = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for data in &length_prefixed {
            pieces.clear();
            planned += codec::plan_sample(
                codec,
                data,
                NalFraming::LengthPrefixed(4),
                true,
                &mut pieces,
            )
            .map_err(|e| e.to_string())? as u64;
        }
        let plan_avc = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut found = 0usize;
        for m in &maps {
            found += start_codes_memchr(m.as_slice());
        }
        let fast = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut sum = 0u64;
        for m in &maps {
            for chunk in m.as_slice().chunks_exact(8) {
                sum = sum.wrapping_add(u64::from_ne_bytes(chunk.try_into().unwrap()));
            }
        }
        std::hint::black_box(sum);
        let read = t.elapsed().as_secs_f64();
        Record::new("scan")
            .n("run", run as f64)
            .n("bytes", bytes)
            .n("plan_s", plan)
            .n("memchr_s", fast)
            .n("read_s", read)
            .n("plan_avc_s", plan_avc)
            .n("plan_over_memchr", plan / fast)
            .n("planned_bytes", planned as f64)
            .n("start_codes", found as f64)
            .emit();
    }
    Ok(())
}

/// Counts `00 00 01` start codes, finding candidate `01` bytes with memchr.
fn start_codes_memchr(data: &[u8]) -> usize {
    let mut count = 0;
    let mut from = 2;
    while from < data.len() {
        match memchr::memchr(1, &data[from..]) {
            Some(i) => {
                let at = from + i;
                if data[at - 1] == 0 && data[at - 2] == 0 {
                    count += 1;
                }
                from = at + 1;
            }
            None => break,
        }
    }
    count
}
