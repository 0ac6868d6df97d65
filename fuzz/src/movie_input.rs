//! Arbitrary movies for the MP4 writer target.
//!
//! Values are drawn mostly from the ones that matter to the box layout (zero, the
//! 32-bit limits that switch box versions, common timescales) and sometimes at random,
//! so the fuzzer reaches both the valid layouts and the error paths quickly. The
//! movie types come from the plugin's `mp4` module, so `Arbitrary` is built by hand
//! rather than derived.
//!
//! What the writer copies without looking at it is drawn valid, as the plugin passes it:
//! one of the four visual entry types the plugin writes, with an avcC/hvcC record of its
//! codec around arbitrary parameter sets; Opus headers with at least one channel and
//! mapping tables that name existing channels; edit media times from -1 up. The strict
//! reader refuses anything else as outside the specifications; the writer's own unit tests
//! cover the media times below -1 it still encodes.

use arbitrary::{Arbitrary, Result, Unstructured};

use gstreplay::mp4::{
    AudioCodecConfig, AudioSampleEntry, Edit, Movie, OpusConfig, Sample, SampleEntry, Track,
    VideoSampleEntry,
};

/// Most tracks a generated movie has: enough for interleaving, small enough to stay fast.
const MAX_TRACKS: u32 = 4;

/// A movie with the file offsets to build its `moov` for and the order to write it in.
#[derive(Debug)]
pub struct MovieCase {
    pub movie: Movie,
    pub offsets: OffsetsChoice,
    /// For the streaming writer: which track's next sample to write, cycled.
    pub write_order: Vec<u8>,
    /// A faulty write callback: at (track, sample), write this many bytes more (or fewer).
    pub faulty_sample: Option<FaultySample>,
}

/// Which sample offsets `build_moov` gets.
#[derive(Debug)]
pub enum OffsetsChoice {
    /// Every sample after the previous one of its track, from a start offset: one
    /// chunk per track, or `co64` when the start is high.
    Contiguous { start: u64 },
    /// Arbitrary offsets (chunks split wherever samples are not adjacent), possibly
    /// with the wrong count, which must be an error.
    Arbitrary(Vec<Vec<u64>>),
}

#[derive(Debug, Clone, Copy)]
pub struct FaultySample {
    pub track: usize,
    pub sample: usize,
    /// Bytes written minus the sample's size; never 0.
    pub size_error: i8,
}

impl<'a> Arbitrary<'a> for MovieCase {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let movie = arbitrary_movie(u)?;
        let offsets = if u.arbitrary()? {
            OffsetsChoice::Contiguous {
                start: pick(u, &[0, 48, 0xffff_fff0, u64::from(u32::MAX), 1 << 40])?,
            }
        } else {
            let mut offsets = Vec::new();
            for track in &movie.tracks {
                let count = if u.ratio(1, 16)? {
                    u.int_in_range(0..=track.samples.len() + 1)?
                } else {
                    track.samples.len()
                };
                let mut track_offsets = Vec::with_capacity(count);
                for _ in 0..count {
                    track_offsets.push(pick(u, &[0, 1, 8, 0xffff_ffff, 1 << 32, u64::MAX])?);
                }
                offsets.push(track_offsets);
            }
            if u.ratio(1, 16)? {
                offsets.pop();
            }
            OffsetsChoice::Arbitrary(offsets)
        };
        let write_order = u.arbitrary()?;
        let faulty_sample = if u.ratio(1, 8)? {
            Some(FaultySample {
                track: u.int_in_range(0..=movie.tracks.len().max(1) - 1)?,
                sample: u.arbitrary::<u8>()?.into(),
                size_error: match u.arbitrary::<i8>()? {
                    0 => 1,
                    error => error,
                },
            })
        } else {
            None
        };
        Ok(Self {
            movie,
            offsets,
            write_order,
            faulty_sample,
        })
    }
}

/// One of `common`, or now and then any value at all.
fn pick<'a, T>(u: &mut Unstructured<'a>, common: &[T]) -> Result<T>
where
    T: Arbitrary<'a> + Copy,
{
    if u.ratio(1, 4)? {
        u.arbitrary()
    } else {
        u.choose(common).copied()
    }
}

fn timescale(u: &mut Unstructured<'_>) -> Result<u32> {
    pick(u, &[1, 2, 1000, 44_100, 48_000, 90_000, u32::MAX])
}

pub fn arbitrary_movie(u: &mut Unstructured<'_>) -> Result<Movie> {
    let timescale = timescale(u)?;
    let track_count = u.int_in_range(0..=MAX_TRACKS)?;
    let mut tracks = Vec::new();
    for _ in 0..track_count {
        tracks.push(arbitrary_track(u)?);
    }
    Ok(Movie { timescale, tracks })
}

fn arbitrary_track(u: &mut Unstructured<'_>) -> Result<Track> {
    let timescale = timescale(u)?;
    let entry = if u.arbitrary()? {
        SampleEntry::Video(arbitrary_video_entry(u)?)
    } else {
        SampleEntry::Audio(arbitrary_audio_entry(u)?)
    };
    let edit = if u.arbitrary()? {
        Some(Edit {
            media_time: pick(u, &[-1, 0, 1, 1024, i64::from(i32::MAX) + 1, i64::MAX])?.max(-1),
            segment_duration: pick(u, &[0, 1, 90_000, u64::from(u32::MAX), u64::MAX])?,
            delay: pick(u, &[0, 0, 1, 4800, u64::from(u32::MAX), u64::MAX])?,
        })
    } else {
        None
    };
    let mut samples = Vec::new();
    let sample_count = u.arbitrary_len::<[u8; 4]>()?;
    for _ in 0..sample_count {
        samples.push(arbitrary_sample(u, samples.last().copied())?);
    }
    Ok(Track {
        timescale,
        entry,
        samples,
        edit,
    })
}

/// Samples often repeat the previous one's fields, as real streams do, so the
/// run-length tables (stts, ctts, stsc) get runs longer than one.
fn arbitrary_sample(u: &mut Unstructured<'_>, previous: Option<Sample>) -> Result<Sample> {
    if let Some(previous) = previous {
        if u.ratio(1, 2)? {
            return Ok(Sample {
                sync: u.ratio(1, 4)?,
                ..previous
            });
        }
    }
    Ok(Sample {
        size: pick(u, &[0, 1, 7, 100, 4096, u32::MAX])?,
        duration: pick(u, &[0, 1, 1024, 3000, 3003, u32::MAX])?,
        composition_offset: pick(u, &[0, 0, 3000, -3000, i32::MIN, i32::MAX])?,
        sync: u.arbitrary()?,
    })
}

fn arbitrary_video_entry(u: &mut Unstructured<'_>) -> Result<VideoSampleEntry> {
    // The four the plugin writes; the strict reader knows no other visual entry.
    let fourcc = *u.choose(&[*b"avc1", *b"avc3", *b"hvc1", *b"hev1"])?;
    let (config_fourcc, config) = match &fourcc {
        b"avc1" | b"avc3" => (*b"avcC", avc_config(u)?),
        _ => (*b"hvcC", hevc_config(u)?),
    };
    Ok(VideoSampleEntry {
        fourcc,
        width: u.arbitrary()?,
        height: u.arbitrary()?,
        config_fourcc,
        config,
        pixel_aspect_ratio: if u.arbitrary()? {
            Some((
                pick(u, &[0, 1, 4, 3, u32::MAX])?,
                pick(u, &[0, 1, 3, 4, u32::MAX])?,
            ))
        } else {
            None
        },
    })
}

/// Up to three NAL units of arbitrary bytes, each with its 16-bit length first.
fn parameter_sets(u: &mut Unstructured<'_>) -> Result<(u8, Vec<u8>)> {
    let count = u.int_in_range(0..=3)?;
    let mut bytes = Vec::new();
    for _ in 0..count {
        let mut nal: Vec<u8> = u.arbitrary()?;
        nal.truncate(usize::from(u16::MAX));
        bytes.extend_from_slice(&(nal.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&nal);
    }
    Ok((count, bytes))
}

/// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) without the extension.
fn avc_config(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let [profile, compatibility, level]: [u8; 3] = u.arbitrary()?;
    let length_size_minus_one: u8 = u.choose(&[0, 1, 3])?.to_owned();
    let (sps_count, sps) = parameter_sets(u)?;
    let (pps_count, pps) = parameter_sets(u)?;
    let mut record = vec![
        1,
        profile,
        compatibility,
        level,
        0xfc | length_size_minus_one,
        0xe0 | sps_count,
    ];
    record.extend_from_slice(&sps);
    record.push(pps_count);
    record.extend_from_slice(&pps);
    Ok(record)
}

/// An HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1): arbitrary fixed fields,
/// then up to three arrays of parameter sets.
fn hevc_config(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let fields: [u8; 21] = u.arbitrary()?;
    let mut record = vec![1];
    record.extend_from_slice(&fields);
    let arrays = u.int_in_range(0..=3)?;
    record.push(arrays);
    for _ in 0..arrays {
        let nal_type: u8 = u.arbitrary()?;
        let (count, nals) = parameter_sets(u)?;
        record.push(nal_type);
        record.extend_from_slice(&u16::from(count).to_be_bytes());
        record.extend_from_slice(&nals);
    }
    Ok(record)
}

fn arbitrary_audio_entry(u: &mut Unstructured<'_>) -> Result<AudioSampleEntry> {
    if u.arbitrary()? {
        Ok(AudioSampleEntry {
            channels: pick(u, &[1, 2, 6, 8])?,
            sample_rate: pick(u, &[8_000, 44_100, 48_000, 96_000, 65_535, 65_536])?,
            codec: AudioCodecConfig::Aac {
                audio_specific_config: u.arbitrary()?,
                avg_bitrate: u.arbitrary()?,
                max_bitrate: u.arbitrary()?,
                buffer_size: pick(u, &[0, 6144, 0x00ff_ffff, 0x0100_0000])?,
            },
        })
    } else {
        // At least one channel, as RFC 7845 asks and the plugin's OpusHead reader checks.
        let output_channels: u8 = pick(u, &[1, 2, 6, 8, 255])?.max(1);
        let channel_mapping_family: u8 = pick(u, &[0, 1, 255])?;
        let mapping_len = if u.ratio(7, 8)? {
            if channel_mapping_family == 0 {
                0
            } else {
                usize::from(output_channels)
            }
        } else {
            u.int_in_range(0..=usize::from(output_channels) + 1)?
        };
        // A table RFC 7845 allows: at least one stream, no more coupled streams than
        // streams, each entry a decoded channel or 255 (silence).
        let stream_count: u8 = u.int_in_range(1..=255)?;
        let coupled_count: u8 = u.int_in_range(0..=stream_count.min(255 - stream_count))?;
        let decoded = u16::from(stream_count) + u16::from(coupled_count);
        let mut channel_mapping = Vec::with_capacity(mapping_len);
        for _ in 0..mapping_len {
            let index: u8 = u.arbitrary()?;
            channel_mapping.push(if index == 255 || u16::from(index) < decoded {
                index
            } else {
                (u16::from(index) % decoded) as u8
            });
        }
        Ok(AudioSampleEntry {
            // Mostly consistent with the Opus header, so the entry gets written.
            channels: if u.ratio(7, 8)? {
                u16::from(output_channels)
            } else {
                u.arbitrary()?
            },
            sample_rate: 48_000,
            codec: AudioCodecConfig::Opus(OpusConfig {
                output_channels,
                pre_skip: u.arbitrary()?,
                input_sample_rate: u.arbitrary()?,
                output_gain: u.arbitrary()?,
                channel_mapping_family,
                stream_count,
                coupled_count,
                channel_mapping,
            }),
        })
    }
}
