//! What a `moov` says, in the terms tests compare: per track its timescale, handler,
//! sample entry and edit list, and its sample tables expanded to one row per sample.
//!
//! Everything here comes from mp4-atom's decoding, except the decoder configuration
//! records (avcC, hvcC), which mp4-atom parses into parameter-set lists and does not keep
//! as bytes: their bytes come from the box layout, so a test can check they are the
//! caps' `codec_data` verbatim.

use mp4_atom::{Codec, Moov, StszSamples, Trak};

use super::descriptors::esds_descriptors;
use super::layout::BoxLayout;
use super::{error, ReadError, Result};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MovieInfo {
    /// `mvhd`.
    pub timescale: u32,
    pub duration: u64,
    pub next_track_id: u32,
    pub tracks: Vec<TrackInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackInfo {
    /// `tkhd`.
    pub track_id: u32,
    pub tkhd_duration: u64,
    /// `hdlr`: `vide` or `soun`.
    pub handler: [u8; 4],
    /// `mdhd`.
    pub timescale: u32,
    pub media_duration: u64,
    /// `elst`, when the track has an `edts`.
    pub edits: Option<Vec<EditEntry>>,
    pub entry: EntryInfo,
    pub samples: Vec<TableSample>,
    /// Entries in `stco` or `co64`.
    pub chunk_count: usize,
}

/// One `elst` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EditEntry {
    pub segment_duration: u64,
    /// -1 for an empty edit.
    pub media_time: i64,
    /// (integer, fraction) of the 16.16 rate.
    pub media_rate: (i16, i16),
}

/// One sample as the sample tables describe it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSample {
    /// File offset, from the chunk offsets, `stsc` and the sizes before it in its chunk.
    pub offset: u64,
    pub size: u32,
    pub duration: u32,
    pub composition_offset: i32,
    pub sync: bool,
}

/// The one sample entry of a track's `stsd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryInfo {
    Video(VideoEntryInfo),
    Audio(AudioEntryInfo),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoEntryInfo {
    /// avc1, avc3, hvc1 or hev1.
    pub fourcc: [u8; 4],
    pub data_reference_index: u16,
    pub width: u16,
    pub height: u16,
    /// The boxes inside the entry, in order.
    pub boxes: Vec<[u8; 4]>,
    /// avcC or hvcC, and its payload.
    pub config_fourcc: [u8; 4],
    pub config: Vec<u8>,
    /// `pasp` (h_spacing, v_spacing).
    pub pasp: Option<(u32, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioEntryInfo {
    /// mp4a or Opus.
    pub fourcc: [u8; 4],
    pub data_reference_index: u16,
    pub channel_count: u16,
    pub sample_size: u16,
    /// 16.16 fixed point, as the field holds it.
    pub sample_rate: u32,
    /// The boxes inside the entry, in order.
    pub boxes: Vec<[u8; 4]>,
    pub codec: AudioCodecInfo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCodecInfo {
    Aac(AacInfo),
    Opus(mp4_atom::Dops),
}

/// The `esds` of an `mp4a` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AacInfo {
    pub object_type_indication: u8,
    pub stream_type: u8,
    pub up_stream: bool,
    pub buffer_size: u32,
    pub max_bitrate: u32,
    pub avg_bitrate: u32,
    /// The DecoderSpecificInfo, verbatim.
    pub audio_specific_config: Vec<u8>,
    pub sl_predefined: u8,
}

impl MovieInfo {
    /// Summarizes a decoded `moov`; `layout` is the same box's layout.
    pub fn new(moov: &Moov, layout: &BoxLayout<'_>) -> Result<MovieInfo> {
        let trak_layouts = layout.all(b"trak");
        if trak_layouts.len() != moov.trak.len() {
            return error("the layout and mp4-atom disagree on the number of tracks");
        }
        let tracks = moov
            .trak
            .iter()
            .zip(trak_layouts)
            .enumerate()
            .map(|(index, (trak, trak_layout))| {
                TrackInfo::new(trak, trak_layout)
                    .map_err(|ReadError(message)| ReadError(format!("track {index}: {message}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MovieInfo {
            timescale: moov.mvhd.timescale,
            duration: moov.mvhd.duration,
            next_track_id: moov.mvhd.next_track_id,
            tracks,
        })
    }
}

impl TrackInfo {
    fn new(trak: &Trak, layout: &BoxLayout<'_>) -> Result<TrackInfo> {
        let edits = match &trak.edts {
            None => None,
            Some(edts) => match &edts.elst {
                None => return error("edts without elst"),
                Some(elst) => Some(
                    elst.entries
                        .iter()
                        .map(|entry| EditEntry {
                            segment_duration: entry.segment_duration,
                            media_time: entry.media_time.map_or(-1, |time| time as i64),
                            media_rate: (entry.media_rate.integer(), entry.media_rate.decimal()),
                        })
                        .collect(),
                ),
            },
        };

        let dref = &trak.mdia.minf.dinf.dref.entries;
        if !matches!(dref.as_slice(), [mp4_atom::DrefEntry::Url(url)] if url.location.is_empty()) {
            return error(format!(
                "dref must hold one 'url ' entry for this file: {dref:?}"
            ));
        }

        let stbl = &trak.mdia.minf.stbl;
        let [codec] = stbl.stsd.codecs.as_slice() else {
            return error(format!(
                "stsd holds {} sample entries; the writers put one",
                stbl.stsd.codecs.len()
            ));
        };
        let [entry_layout] = layout.path("mdia/minf/stbl/stsd").children.as_slice() else {
            return error("the stsd layout does not hold one entry");
        };
        let handler: [u8; 4] = trak.mdia.hdlr.handler.into();
        let entry = EntryInfo::new(codec, entry_layout)?;
        match (&handler, &entry) {
            (b"vide", EntryInfo::Video(_)) | (b"soun", EntryInfo::Audio(_)) => {}
            _ => {
                return error(format!(
                    "handler '{}' for a {} sample entry",
                    String::from_utf8_lossy(&handler),
                    entry_layout.name()
                ))
            }
        }
        let (samples, chunk_count) = expand_sample_tables(stbl)?;
        Ok(TrackInfo {
            track_id: trak.tkhd.track_id,
            tkhd_duration: trak.tkhd.duration,
            handler,
            timescale: trak.mdia.mdhd.timescale,
            media_duration: trak.mdia.mdhd.duration,
            edits,
            entry,
            samples,
            chunk_count,
        })
    }
}

impl EntryInfo {
    /// Summarizes a decoded sample entry; `layout` is the same box's layout.
    pub fn new(codec: &Codec, layout: &BoxLayout<'_>) -> Result<EntryInfo> {
        let boxes: Vec<[u8; 4]> = layout.children.iter().map(|b| b.fourcc).collect();
        let video = |visual: &mp4_atom::Visual, config_fourcc: &[u8; 4], pasp: &Option<_>| {
            let config = match layout.all(config_fourcc).as_slice() {
                [config] => config.payload.to_vec(),
                other => {
                    return error(format!(
                        "{} holds {} '{}' boxes",
                        layout.name(),
                        other.len(),
                        String::from_utf8_lossy(config_fourcc)
                    ))
                }
            };
            let pasp: &Option<mp4_atom::Pasp> = pasp;
            Ok(EntryInfo::Video(VideoEntryInfo {
                fourcc: layout.fourcc,
                data_reference_index: visual.data_reference_index,
                width: visual.width,
                height: visual.height,
                boxes: boxes.clone(),
                config_fourcc: *config_fourcc,
                config,
                pasp: pasp.as_ref().map(|p| (p.h_spacing, p.v_spacing)),
            }))
        };
        let audio = |audio: &mp4_atom::Audio, codec: AudioCodecInfo| {
            EntryInfo::Audio(AudioEntryInfo {
                fourcc: layout.fourcc,
                data_reference_index: audio.data_reference_index,
                channel_count: audio.channel_count,
                sample_size: audio.sample_size,
                sample_rate: u32::from(audio.sample_rate.integer()) << 16
                    | u32::from(audio.sample_rate.decimal()),
                boxes: boxes.clone(),
                codec,
            })
        };
        match codec {
            Codec::Avc1(avc) => video(&avc.visual, b"avcC", &avc.pasp),
            Codec::Avc3(avc) => video(&avc.visual, b"avcC", &avc.pasp),
            Codec::Hvc1(hevc) => video(&hevc.visual, b"hvcC", &hevc.pasp),
            Codec::Hev1(hevc) => video(&hevc.visual, b"hvcC", &hevc.pasp),
            Codec::Mp4a(mp4a) => {
                let config = &mp4a.esds.es_desc.dec_config;
                let Some(specific) = &config.dec_specific else {
                    return error("esds without a DecoderSpecificInfo");
                };
                let nesting = esds_descriptors(layout.child(b"esds").body())?;
                Ok(audio(
                    &mp4a.audio,
                    AudioCodecInfo::Aac(AacInfo {
                        object_type_indication: config.object_type_indication,
                        stream_type: config.stream_type,
                        up_stream: config.up_stream != 0,
                        buffer_size: config.buffer_size_db.into(),
                        max_bitrate: config.max_bitrate,
                        avg_bitrate: config.avg_bitrate,
                        audio_specific_config: specific.raw.clone(),
                        sl_predefined: nesting.sl_predefined,
                    }),
                ))
            }
            Codec::Opus(opus) => Ok(audio(&opus.audio, AudioCodecInfo::Opus(opus.dops.clone()))),
            _ => error(format!("unexpected sample entry '{}'", layout.name())),
        }
    }
}

/// Expands stts, ctts, stss, stsz, stsc and stco/co64 into one row per sample; returns the
/// rows and the number of chunks. Every table must cover exactly the samples `stsz` lists.
fn expand_sample_tables(stbl: &mp4_atom::Stbl) -> Result<(Vec<TableSample>, usize)> {
    let sizes: Vec<u32> = match &stbl.stsz.samples {
        StszSamples::Identical { count, size } => vec![*size; *count as usize],
        StszSamples::Different { sizes } => sizes.clone(),
    };
    let count = sizes.len();
    let runs = |name: &str, runs: Vec<(u32, i64)>| -> Result<Vec<i64>> {
        let mut values = Vec::with_capacity(count);
        for (run, value) in runs {
            if run == 0 || values.len() + run as usize > count {
                return error(format!(
                    "{name} has a run of {run} with {} of {count} samples already covered",
                    values.len()
                ));
            }
            values.extend(std::iter::repeat_n(value, run as usize));
        }
        if values.len() != count {
            return error(format!(
                "{name} covers {} samples, stsz lists {count}",
                values.len()
            ));
        }
        Ok(values)
    };
    let durations = runs(
        "stts",
        stbl.stts
            .entries
            .iter()
            .map(|e| (e.sample_count, i64::from(e.sample_delta)))
            .collect(),
    )?;
    let composition_offsets = match &stbl.ctts {
        None => vec![0; count],
        Some(ctts) => runs(
            "ctts",
            ctts.entries
                .iter()
                .map(|e| (e.sample_count, e.sample_offset))
                .collect(),
        )?,
    };
    let sync = match &stbl.stss {
        None => vec![true; count],
        Some(stss) => {
            let mut sync = vec![false; count];
            let mut previous = 0;
            for &number in &stss.entries {
                if number <= previous || number as usize > count {
                    return error(format!(
                        "stss lists sample {number} after {previous} of {count}"
                    ));
                }
                sync[number as usize - 1] = true;
                previous = number;
            }
            sync
        }
    };

    let chunk_offsets: Vec<u64> = match (&stbl.stco, &stbl.co64) {
        (Some(stco), None) => stco.entries.iter().map(|&o| u64::from(o)).collect(),
        (None, Some(co64)) => co64.entries.clone(),
        _ => return error("a track needs exactly one of stco and co64"),
    };
    let stsc = &stbl.stsc.entries;
    if stsc.first().map(|e| e.first_chunk) != Some(1) && !chunk_offsets.is_empty() {
        return error("stsc must start at chunk 1");
    }
    let mut offsets = Vec::with_capacity(count);
    for (index, entry) in stsc.iter().enumerate() {
        if entry.sample_description_index != 1 {
            return error(format!(
                "stsc names sample description {}",
                entry.sample_description_index
            ));
        }
        let next_first = stsc
            .get(index + 1)
            .map_or(chunk_offsets.len() as u64 + 1, |next| {
                u64::from(next.first_chunk)
            });
        if next_first <= u64::from(entry.first_chunk) || next_first > chunk_offsets.len() as u64 + 1
        {
            return error(format!(
                "stsc entry {index} (first chunk {}) is out of order or past the {} chunks",
                entry.first_chunk,
                chunk_offsets.len()
            ));
        }
        for chunk in u64::from(entry.first_chunk)..next_first {
            let mut offset = chunk_offsets[chunk as usize - 1];
            for _ in 0..entry.samples_per_chunk {
                let Some(&size) = sizes.get(offsets.len()) else {
                    return error("the chunks hold more samples than stsz lists");
                };
                offsets.push(offset);
                offset = offset.wrapping_add(u64::from(size));
            }
        }
    }
    if offsets.len() != count {
        return error(format!(
            "the chunks hold {} samples, stsz lists {count}",
            offsets.len()
        ));
    }

    let samples = (0..count)
        .map(|i| {
            Ok(TableSample {
                offset: offsets[i],
                size: sizes[i],
                duration: durations[i] as u32,
                composition_offset: i32::try_from(composition_offsets[i]).or_else(|_| {
                    error(format!(
                        "ctts offset {} of sample {i} does not fit 32 signed bits",
                        composition_offsets[i]
                    ))
                })?,
                sync: sync[i],
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((samples, chunk_offsets.len()))
}
