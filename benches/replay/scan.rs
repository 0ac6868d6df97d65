//! Where a byte-stream save's time goes besides write(2): the start-code scan of every
//! payload.

use std::path::PathBuf;
use std::time::Instant;

use crate::input::{Codec, Input};
use crate::record::Record;
use crate::Result;

#[derive(clap::Args)]
pub struct Args {
    /// Annex B H.264 (.h264) or H.265 (.h265) with access-unit delimiters.
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// The save's planning pass (`codec::plan_sample` on every frame, as `clip_writer` does)
/// against a prototype scan that finds start codes with a SIMD byte search, and against a
/// plain read of every byte (the memory-bandwidth floor). Same payloads, same process.
pub fn run(args: &Args) -> Result<()> {
    use gstreplay::codec::{self, NalFraming, VideoCodec};
    let input = Input::open(&args.input, None)?;
    let runs = args.runs;
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
