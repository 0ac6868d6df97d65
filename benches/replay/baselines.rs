//! What a save is compared with: other ways of getting the same clip into a file, each
//! timed until the file is fsynced.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use gst::prelude::*;

use crate::input::Input;
use crate::Result;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Method<'a> {
    /// replayring's own `save`.
    Ring,
    /// replayring's `save` with `sha256=true`: the file's hash computed while writing it.
    RingSha256,
    /// The same bytes from one contiguous buffer in RAM: 8 MiB writes, fsync, rename into
    /// place, fsync of the directory. What any durable save of bytes already in RAM costs at
    /// least: the limit.
    Limit,
    /// `cp` of a page-cached file of the same size, then fsync: what copying costs.
    Cp,
    /// The SHA-256 of the same bytes from one RAM buffer, on one thread, writing nothing:
    /// the fastest a save with `sha256=true` can be when hashing is slower than writing.
    Sha256,
    /// `ffmpeg -c copy -movflags +faststart` of the same stream as an MP4 (page-cached).
    FfmpegFaststart(&'a Path),
    /// FFmpeg concat of 10 s MP4 segments with faststart, as segment-based recorders do.
    FfmpegConcat(&'a Path),
    /// `h264parse ! mp4mux faststart=true ! filesink`, fed the ring's buffers from RAM.
    Mp4muxFaststart,
}

impl Method<'_> {
    /// As in the records.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ring => "ring",
            Method::RingSha256 => "ring-sha256",
            Method::Limit => "limit",
            Method::Cp => "cp",
            Method::Sha256 => "sha256",
            Method::FfmpegFaststart(_) => "ffmpeg-faststart",
            Method::FfmpegConcat(_) => "ffmpeg-concat",
            Method::Mp4muxFaststart => "mp4mux-faststart",
        }
    }
}

/// At least `bytes` of real payload in one buffer, for `limit` (repeating the input as needed).
pub fn contiguous_payload(payloads: &[gst::Buffer], bytes: u64) -> Vec<u8> {
    let mut contiguous: Vec<u8> = Vec::with_capacity(bytes as usize + (32 << 20));
    while (contiguous.len() as u64) < bytes {
        for b in payloads {
            let m = b.map_readable().unwrap();
            contiguous.extend_from_slice(m.as_slice());
            if contiguous.len() as u64 >= bytes {
                break;
            }
        }
    }
    contiguous
}

/// Writes `bytes` to `out` as a save must: under a temporary name, in 8 MiB writes, fsynced,
/// renamed into place, the directory fsynced.
pub fn limit(bytes: &[u8], out: &Path) -> Result<()> {
    let temp = out.with_extension("part");
    let mut f = File::create(&temp).map_err(|e| e.to_string())?;
    for chunk in bytes.chunks(8 << 20) {
        f.write_all(chunk).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())?;
    drop(f);
    std::fs::rename(&temp, out).map_err(|e| e.to_string())?;
    fsync_path(out.parent().unwrap_or(Path::new(".")))
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// The file `cp` copies: `bytes` written once beside the outputs, so it is in the page cache.
pub fn cp_source(bytes: &[u8], dir: &Path) -> Result<std::path::PathBuf> {
    let source = dir.join("bench-cp-source.bin");
    std::fs::write(&source, bytes).map_err(|e| e.to_string())?;
    fsync_path(&source)?;
    Ok(source)
}

pub fn cp(source: &Path, out: &Path) -> Result<()> {
    let status = Command::new("cp")
        .arg(source)
        .arg(out)
        .status()
        .map_err(|e| format!("cp: {e}"))?;
    if !status.success() {
        return Err(format!("cp failed: {status}"));
    }
    fsync_path(out)
}

pub fn ffmpeg_faststart(mp4: &Path, out: &Path) -> Result<()> {
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg
        .args(["-y", "-loglevel", "error", "-i"])
        .arg(mp4)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(out);
    run_ffmpeg(ffmpeg, "remux")?;
    fsync_path(out)
}

pub fn ffmpeg_concat(list: &Path, out: &Path) -> Result<()> {
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg
        .args([
            "-y",
            "-loglevel",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
        ])
        .arg(list)
        .args(["-c", "copy", "-movflags", "+faststart"])
        .arg(out);
    run_ffmpeg(ffmpeg, "concat")?;
    fsync_path(out)
}

fn run_ffmpeg(mut ffmpeg: Command, what: &str) -> Result<()> {
    let status = ffmpeg.status().map_err(|e| format!("ffmpeg: {e}"))?;
    if !status.success() {
        return Err(format!("ffmpeg {what} failed: {status}"));
    }
    Ok(())
}

/// GStreamer's own answer: h264parse ! mp4mux faststart=true ! filesink, fed from RAM. Its
/// temporary file goes to `dir`, the same filesystem as the output.
pub fn mp4mux_faststart(
    input: &Input,
    buffers: &[gst::Buffer],
    dir: &Path,
    out: &Path,
) -> Result<()> {
    let parser = input.codec.parser();
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
    src.set_caps(Some(&input.caps));
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
        gst::MessageView::Eos(_) => fsync_path(out),
        _ => Err(format!("mp4mux failed: {msg:?}")),
    }
}

fn fsync_path(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("fsync {}: {e}", path.display()))
}
