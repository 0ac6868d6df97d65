//! Test helpers: a small ISO BMFF reader that checks box sizes nest exactly,
//! sample-table expansion, a minimal JSON parser for ffprobe output, fixtures.

use super::{
    AudioCodecConfig, AudioSampleEntry, Edit, Movie, OpusConfig, Sample, SampleEntry, Track,
    VideoSampleEntry,
};

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// avcC from x264 (320x240, High profile, 4:2:0), as GStreamer's h264parse
/// reports it in `codec_data`.
pub const AVC_CONFIG_320X240_HEX: &str =
    "01640014ffe1001d67640014acd94141fb016a0c0c0d4a00000300020000\
     0300791e28532c01000568ebecb22c";

pub fn hex_bytes(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd-length hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn avc_entry(width: u16, height: u16) -> SampleEntry {
    SampleEntry::Video(VideoSampleEntry {
        fourcc: *b"avc1",
        width,
        height,
        config_fourcc: *b"avcC",
        config: hex_bytes(AVC_CONFIG_320X240_HEX),
        pixel_aspect_ratio: None,
    })
}

pub fn sample(size: u32, duration: u32, composition_offset: i32, sync: bool) -> Sample {
    Sample {
        size,
        duration,
        composition_offset,
        sync,
    }
}

pub fn video_track(timescale: u32, samples: Vec<Sample>, edit: Option<Edit>) -> Track {
    Track {
        timescale,
        entry: avc_entry(320, 240),
        samples,
        edit,
    }
}

/// The AudioSpecificConfig `avenc_aac` reports for 48 kHz stereo AAC LC.
pub const AAC_CONFIG_48K_STEREO: [u8; 5] = [0x11, 0x90, 0x56, 0xe5, 0x00];

pub fn aac_entry() -> SampleEntry {
    SampleEntry::Audio(AudioSampleEntry {
        channels: 2,
        sample_rate: 48_000,
        codec: AudioCodecConfig::Aac {
            audio_specific_config: AAC_CONFIG_48K_STEREO.to_vec(),
            avg_bitrate: 128_000,
            max_bitrate: 160_000,
            buffer_size: 6144,
        },
    })
}

/// Stereo Opus as `opusenc` describes it: family 0, 312 samples of pre-skip.
pub fn opus_stereo_config() -> OpusConfig {
    OpusConfig {
        output_channels: 2,
        pre_skip: 312,
        input_sample_rate: 48_000,
        output_gain: 0,
        channel_mapping_family: 0,
        stream_count: 1,
        coupled_count: 1,
        channel_mapping: Vec::new(),
    }
}

pub fn opus_entry(config: OpusConfig) -> SampleEntry {
    SampleEntry::Audio(AudioSampleEntry {
        channels: u16::from(config.output_channels),
        sample_rate: 48_000,
        codec: AudioCodecConfig::Opus(config),
    })
}

/// An audio track without an edit list.
pub fn audio_track(entry: SampleEntry, timescale: u32, samples: Vec<Sample>) -> Track {
    Track {
        timescale,
        entry,
        samples,
        edit: None,
    }
}

/// Frame duration of the 25 fps test tracks in their 12800 Hz timescale.
pub const FRAME: u32 = 512;

/// A decode-order I P B B ... stream: each group of four shows as I B B P, so
/// decode order I0 P3 B1 B2 with a one-frame delay: offsets 1, 3, 0, 0 frames.
/// Sizes differ per sample so that misplaced bytes show.
pub fn ipbb(count: usize) -> Vec<Sample> {
    (0..count)
        .map(|i| {
            let size = 6 + (i as u32 * 37) % 200;
            match i % 4 {
                0 => sample(size + 1000, FRAME, FRAME as i32, true),
                1 => sample(size + 300, FRAME, 3 * FRAME as i32, false),
                _ => sample(size, FRAME, 0, false),
            }
        })
        .collect()
}

/// Offsets that store every track's samples back to back from `start`, track after track.
pub fn sequential_offsets(movie: &Movie, start: u64) -> Vec<Vec<u64>> {
    let mut next = start;
    movie
        .tracks
        .iter()
        .map(|track| {
            track
                .samples
                .iter()
                .map(|sample| {
                    let offset = next;
                    next += u64::from(sample.size);
                    offset
                })
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Box reader
// ---------------------------------------------------------------------------

/// One parsed box: its type, where it starts in the parent data, its payload.
#[derive(Clone, Copy, Debug)]
pub struct Mp4Box<'a> {
    pub fourcc: [u8; 4],
    /// Offset of the box header within the data it was parsed from.
    pub start: usize,
    pub header_len: usize,
    /// Declared box size, header included.
    pub size: u64,
    pub payload: &'a [u8],
}

pub fn fourcc_str(fourcc: &[u8; 4]) -> String {
    String::from_utf8_lossy(fourcc).into_owned()
}

/// Splits `data` into boxes, asserting that their sizes tile it exactly.
pub fn parse_boxes(data: &[u8]) -> Vec<Mp4Box<'_>> {
    let mut boxes = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        assert!(data.len() - pos >= 8, "truncated box header at {pos}");
        let size32 = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap());
        let fourcc: [u8; 4] = data[pos + 4..pos + 8].try_into().unwrap();
        let (size, header_len) = match size32 {
            0 => ((data.len() - pos) as u64, 8),
            1 => {
                let large = u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap());
                (large, 16)
            }
            n => (u64::from(n), 8),
        };
        assert!(
            size >= header_len as u64,
            "box '{}' at {pos}: size {size} smaller than its header",
            fourcc_str(&fourcc)
        );
        let end = pos as u64 + size;
        assert!(
            end <= data.len() as u64,
            "box '{}' at {pos}: size {size} overruns its parent ({} bytes)",
            fourcc_str(&fourcc),
            data.len()
        );
        let end = end as usize;
        boxes.push(Mp4Box {
            fourcc,
            start: pos,
            header_len,
            size,
            payload: &data[pos + header_len..end],
        });
        pos = end;
    }
    boxes
}

/// Parses `data` as exactly one box.
pub fn parse_single_box(data: &[u8]) -> Mp4Box<'_> {
    let boxes = parse_boxes(data);
    assert_eq!(boxes.len(), 1, "expected exactly one box");
    boxes[0]
}

impl<'a> Mp4Box<'a> {
    pub fn children(&self) -> Vec<Mp4Box<'a>> {
        parse_boxes(self.payload)
    }

    pub fn child_types(&self) -> Vec<String> {
        self.children()
            .iter()
            .map(|b| fourcc_str(&b.fourcc))
            .collect()
    }

    pub fn find_child(&self, fourcc: &[u8; 4]) -> Option<Mp4Box<'a>> {
        let mut found = self.children().into_iter().filter(|b| &b.fourcc == fourcc);
        let first = found.next();
        assert!(found.next().is_none(), "two '{}' boxes", fourcc_str(fourcc));
        first
    }

    pub fn child(&self, fourcc: &[u8; 4]) -> Mp4Box<'a> {
        self.find_child(fourcc).unwrap_or_else(|| {
            panic!(
                "no '{}' in '{}' (has {:?})",
                fourcc_str(fourcc),
                fourcc_str(&self.fourcc),
                self.child_types()
            )
        })
    }

    /// Descends a slash-separated path of box types, e.g. `"mdia/minf/stbl"`.
    pub fn path(&self, path: &str) -> Mp4Box<'a> {
        path.split('/').fold(*self, |parent, name| {
            let fourcc: [u8; 4] = name.as_bytes().try_into().expect("4-char box type");
            parent.child(&fourcc)
        })
    }

    /// Version, flags and a reader over the rest of a full box.
    pub fn full_box(&self) -> (u8, u32, Fields<'a>) {
        let mut fields = Fields::new(self.payload);
        let version_and_flags = fields.u32();
        (
            (version_and_flags >> 24) as u8,
            version_and_flags & 0x00ff_ffff,
            fields,
        )
    }

    pub fn fields(&self) -> Fields<'a> {
        Fields::new(self.payload)
    }
}

/// Sequential big-endian field reader that panics on overrun.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    pub fn bytes(&mut self, len: usize) -> &'a [u8] {
        assert!(
            self.pos + len <= self.data.len(),
            "field read past the end ({} + {len} > {})",
            self.pos,
            self.data.len()
        );
        let bytes = &self.data[self.pos..self.pos + len];
        self.pos += len;
        bytes
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        self.bytes(N).try_into().unwrap()
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes(self.array())
    }
    pub fn i16(&mut self) -> i16 {
        i16::from_be_bytes(self.array())
    }
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.array())
    }
    pub fn i32(&mut self) -> i32 {
        i32::from_be_bytes(self.array())
    }
    pub fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.array())
    }
    pub fn i64(&mut self) -> i64 {
        i64::from_be_bytes(self.array())
    }
    pub fn fourcc(&mut self) -> [u8; 4] {
        self.array()
    }
    /// Reads a 32-bit field in a version-0 box and a 64-bit one in version 1.
    pub fn versioned_u64(&mut self, version: u8) -> u64 {
        if version == 1 {
            self.u64()
        } else {
            u64::from(self.u32())
        }
    }
    pub fn versioned_i64(&mut self, version: u8) -> i64 {
        if version == 1 {
            self.i64()
        } else {
            i64::from(self.i32())
        }
    }
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    pub fn rest(&mut self) -> &'a [u8] {
        self.bytes(self.remaining())
    }
    pub fn assert_end(&self) {
        assert_eq!(self.remaining(), 0, "unread bytes at the end of a box");
    }
}

/// The fields of a version-0 AudioSampleEntry, then the boxes it holds.
#[derive(Clone, Debug)]
pub struct ParsedAudioEntry<'a> {
    pub fourcc: [u8; 4],
    pub data_reference_index: u16,
    pub channel_count: u16,
    pub sample_size: u16,
    /// 16.16 fixed point.
    pub sample_rate: u32,
    pub children: Vec<Mp4Box<'a>>,
}

/// Reads an `mp4a` or `Opus` entry, asserting that its reserved fields are zero.
pub fn parse_audio_entry<'a>(entry: &Mp4Box<'a>) -> ParsedAudioEntry<'a> {
    let mut f = entry.fields();
    assert_eq!(f.bytes(6), &[0; 6], "SampleEntry reserved");
    let data_reference_index = f.u16();
    assert_eq!(f.bytes(8), &[0; 8], "AudioSampleEntry reserved");
    let channel_count = f.u16();
    let sample_size = f.u16();
    assert_eq!(f.u16(), 0, "pre_defined");
    assert_eq!(f.u16(), 0, "reserved");
    let sample_rate = f.u32();
    ParsedAudioEntry {
        fourcc: entry.fourcc,
        data_reference_index,
        channel_count,
        sample_size,
        sample_rate,
        children: parse_boxes(f.rest()),
    }
}

/// One MPEG-4 descriptor (ISO/IEC 14496-1 §8.3.3): tag, length-field size, payload.
#[derive(Clone, Copy, Debug)]
pub struct Descriptor<'a> {
    pub tag: u8,
    pub length_bytes: usize,
    pub payload: &'a [u8],
}

/// Reads one descriptor from the start of `data`; returns it and the bytes after it.
pub fn parse_descriptor(data: &[u8]) -> (Descriptor<'_>, &[u8]) {
    let (&tag, mut rest) = data.split_first().expect("descriptor tag");
    let mut len = 0usize;
    let mut length_bytes = 0;
    loop {
        let (&byte, after) = rest.split_first().expect("descriptor length");
        rest = after;
        length_bytes += 1;
        assert!(length_bytes <= 4, "descriptor length longer than 4 bytes");
        len = (len << 7) | usize::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            break;
        }
    }
    assert!(
        len <= rest.len(),
        "descriptor {tag} of {len} bytes overruns its parent ({} left)",
        rest.len()
    );
    let (payload, rest) = rest.split_at(len);
    (
        Descriptor {
            tag,
            length_bytes,
            payload,
        },
        rest,
    )
}

/// Splits `data` into descriptors, asserting that their lengths tile it exactly.
pub fn parse_descriptors(mut data: &[u8]) -> Vec<Descriptor<'_>> {
    let mut descriptors = Vec::new();
    while !data.is_empty() {
        let (descriptor, rest) = parse_descriptor(data);
        descriptors.push(descriptor);
        data = rest;
    }
    descriptors
}

// ---------------------------------------------------------------------------
// Sample-table expansion
// ---------------------------------------------------------------------------

/// Everything a reader learns about one track from its boxes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedTrack {
    pub track_id: u32,
    pub tkhd_duration: u64,
    pub timescale: u32,
    pub media_duration: u64,
    pub edit: Option<Edit>,
    pub samples: Vec<Sample>,
    pub offsets: Vec<u64>,
    pub chunk_count: usize,
}

/// Reads `mvhd` (timescale, duration, next_track_ID) and every track of a `moov`.
pub fn parse_moov(moov: &Mp4Box<'_>) -> (u32, u64, u32, Vec<ParsedTrack>) {
    assert_eq!(&moov.fourcc, b"moov");
    let (version, _, mut mvhd) = moov.child(b"mvhd").full_box();
    mvhd.versioned_u64(version);
    mvhd.versioned_u64(version);
    let timescale = mvhd.u32();
    let duration = mvhd.versioned_u64(version);
    mvhd.bytes(4 + 2 + 2 + 8 + 36 + 24);
    let next_track_id = mvhd.u32();
    mvhd.assert_end();
    let tracks = moov
        .children()
        .iter()
        .filter(|b| &b.fourcc == b"trak")
        .map(parse_trak)
        .collect();
    (timescale, duration, next_track_id, tracks)
}

pub fn parse_trak(trak: &Mp4Box<'_>) -> ParsedTrack {
    let (version, _, mut tkhd) = trak.child(b"tkhd").full_box();
    tkhd.versioned_u64(version);
    tkhd.versioned_u64(version);
    let track_id = tkhd.u32();
    tkhd.u32();
    let tkhd_duration = tkhd.versioned_u64(version);

    let edit = trak
        .find_child(b"edts")
        .map(|edts| parse_elst(&edts.child(b"elst")));

    let (version, _, mut mdhd) = trak.path("mdia/mdhd").full_box();
    mdhd.versioned_u64(version);
    mdhd.versioned_u64(version);
    let timescale = mdhd.u32();
    let media_duration = mdhd.versioned_u64(version);

    let stbl = trak.path("mdia/minf/stbl");
    let (samples, offsets, chunk_count) = expand_sample_tables(&stbl);
    ParsedTrack {
        track_id,
        tkhd_duration,
        timescale,
        media_duration,
        edit,
        samples,
        offsets,
        chunk_count,
    }
}

/// One edit, optionally after an empty edit (read back as `delay`).
pub fn parse_elst(elst: &Mp4Box<'_>) -> Edit {
    let (version, _, mut fields) = elst.full_box();
    let count = fields.u32();
    assert!(count == 1 || count == 2, "{count} edits");
    let mut entries = Vec::new();
    for _ in 0..count {
        let segment_duration = fields.versioned_u64(version);
        let media_time = fields.versioned_i64(version);
        assert_eq!(fields.i16(), 1, "media_rate_integer");
        assert_eq!(fields.i16(), 0, "media_rate_fraction");
        entries.push((segment_duration, media_time));
    }
    fields.assert_end();
    let delay = match entries.as_slice() {
        [(delay, -1), _] => *delay,
        [_] => 0,
        other => panic!("an empty edit then a media edit expected, got {other:?}"),
    };
    let (segment_duration, media_time) = entries[entries.len() - 1];
    Edit {
        media_time,
        segment_duration,
        delay,
    }
}

/// Run-length table of (count, value) pairs, as in stts and ctts.
fn expand_runs(runs: &[(u32, i64)]) -> Vec<i64> {
    runs.iter()
        .flat_map(|&(count, value)| std::iter::repeat_n(value, count as usize))
        .collect()
}

/// Expands stts, ctts, stss, stsz, stsc and stco/co64 into per-sample values
/// and offsets. Returns (samples, offsets, chunk count).
pub fn expand_sample_tables(stbl: &Mp4Box<'_>) -> (Vec<Sample>, Vec<u64>, usize) {
    let sizes = read_stsz(&stbl.child(b"stsz"));
    let count = sizes.len();

    let (_, _, mut stts) = stbl.child(b"stts").full_box();
    let runs: Vec<(u32, i64)> = (0..stts.u32())
        .map(|_| (stts.u32(), i64::from(stts.u32())))
        .collect();
    stts.assert_end();
    let durations = expand_runs(&runs);
    assert_eq!(durations.len(), count, "stts sample count");

    let offsets_ct = match stbl.find_child(b"ctts") {
        Some(ctts) => {
            let (version, _, mut fields) = ctts.full_box();
            let runs: Vec<(u32, i64)> = (0..fields.u32())
                .map(|_| {
                    let n = fields.u32();
                    let offset = if version == 1 {
                        i64::from(fields.i32())
                    } else {
                        i64::from(fields.u32())
                    };
                    (n, offset)
                })
                .collect();
            fields.assert_end();
            let expanded = expand_runs(&runs);
            assert_eq!(expanded.len(), count, "ctts sample count");
            expanded
        }
        None => vec![0; count],
    };

    let sync: Vec<bool> = match stbl.find_child(b"stss") {
        Some(stss) => {
            let (_, _, mut fields) = stss.full_box();
            let numbers: Vec<u32> = (0..fields.u32()).map(|_| fields.u32()).collect();
            fields.assert_end();
            assert!(numbers.windows(2).all(|w| w[0] < w[1]), "stss increasing");
            (1..=count as u32).map(|n| numbers.contains(&n)).collect()
        }
        None => vec![true; count],
    };

    let chunk_offsets = read_chunk_offsets(stbl);
    let (_, _, mut stsc) = stbl.child(b"stsc").full_box();
    let stsc_entries: Vec<(u32, u32, u32)> = (0..stsc.u32())
        .map(|_| (stsc.u32(), stsc.u32(), stsc.u32()))
        .collect();
    stsc.assert_end();
    let samples_per_chunk = expand_stsc(&stsc_entries, chunk_offsets.len());

    let mut offsets = Vec::with_capacity(count);
    let mut sample_index = 0;
    for (chunk_offset, per_chunk) in chunk_offsets.iter().zip(&samples_per_chunk) {
        let mut offset = *chunk_offset;
        for _ in 0..*per_chunk {
            offsets.push(offset);
            offset += u64::from(sizes[sample_index]);
            sample_index += 1;
        }
    }
    assert_eq!(offsets.len(), count, "stsc/stco cover every sample");

    let samples = (0..count)
        .map(|i| Sample {
            size: sizes[i],
            duration: durations[i] as u32,
            composition_offset: offsets_ct[i] as i32,
            sync: sync[i],
        })
        .collect();
    (samples, offsets, chunk_offsets.len())
}

pub fn read_stsz(stsz: &Mp4Box<'_>) -> Vec<u32> {
    let (_, _, mut fields) = stsz.full_box();
    let constant = fields.u32();
    let count = fields.u32() as usize;
    let sizes = if constant == 0 {
        (0..count).map(|_| fields.u32()).collect()
    } else {
        vec![constant; count]
    };
    fields.assert_end();
    sizes
}

pub fn read_chunk_offsets(stbl: &Mp4Box<'_>) -> Vec<u64> {
    let stco = stbl.find_child(b"stco");
    let co64 = stbl.find_child(b"co64");
    let (table, wide) = match (stco, co64) {
        (Some(table), None) => (table, false),
        (None, Some(table)) => (table, true),
        _ => panic!("exactly one of stco and co64 expected"),
    };
    let (_, _, mut fields) = table.full_box();
    let offsets = (0..fields.u32())
        .map(|_| {
            if wide {
                fields.u64()
            } else {
                u64::from(fields.u32())
            }
        })
        .collect();
    fields.assert_end();
    offsets
}

/// Samples per chunk from stsc (first_chunk, samples_per_chunk, description index) entries.
pub fn expand_stsc(entries: &[(u32, u32, u32)], chunk_count: usize) -> Vec<u32> {
    assert!(!entries.is_empty() || chunk_count == 0);
    assert_eq!(
        entries.first().map(|e| e.0),
        Some(1),
        "stsc starts at chunk 1"
    );
    let mut per_chunk = Vec::with_capacity(chunk_count);
    for (i, &(first_chunk, samples, description)) in entries.iter().enumerate() {
        assert_eq!(description, 1, "sample_description_index");
        let next_first = entries
            .get(i + 1)
            .map_or(chunk_count as u32 + 1, |next| next.0);
        assert!(next_first > first_chunk, "stsc first_chunk increasing");
        for _ in first_chunk..next_first {
            per_chunk.push(samples);
        }
    }
    assert_eq!(per_chunk.len(), chunk_count, "stsc covers every chunk");
    per_chunk
}

// ---------------------------------------------------------------------------
// Minimal JSON, enough for ffprobe's output
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The member `key`, panicking with the key name when absent.
    pub fn field(&self, key: &str) -> &Json {
        self.get(key)
            .unwrap_or_else(|| panic!("no '{key}' in {self:?}"))
    }

    pub fn as_array(&self) -> &[Json] {
        match self {
            Json::Array(items) => items,
            other => panic!("not an array: {other:?}"),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Json::String(text) => text,
            other => panic!("not a string: {other:?}"),
        }
    }

    /// A number, or a string holding one (ffprobe quotes some numbers).
    pub fn as_f64(&self) -> f64 {
        match self {
            Json::Number(n) => *n,
            Json::String(text) => text
                .parse()
                .unwrap_or_else(|_| panic!("not numeric: {text}")),
            other => panic!("not a number: {other:?}"),
        }
    }

    pub fn as_i64(&self) -> i64 {
        let n = self.as_f64();
        assert_eq!(n.fract(), 0.0, "not an integer: {n}");
        n as i64
    }
}

pub fn parse_json(text: &str) -> Json {
    let mut parser = JsonParser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let value = parser.value();
    parser.skip_whitespace();
    assert_eq!(
        parser.pos,
        parser.chars.len(),
        "trailing characters in JSON"
    );
    value
}

struct JsonParser {
    chars: Vec<char>,
    pos: usize,
}

impl JsonParser {
    fn skip_whitespace(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn next(&mut self) -> char {
        let c = *self.chars.get(self.pos).expect("unexpected end of JSON");
        self.pos += 1;
        c
    }

    fn expect(&mut self, expected: char) {
        self.skip_whitespace();
        let c = self.next();
        assert_eq!(
            c,
            expected,
            "JSON: expected '{expected}' at {}",
            self.pos - 1
        );
    }

    fn peek(&mut self) -> char {
        self.skip_whitespace();
        *self.chars.get(self.pos).expect("unexpected end of JSON")
    }

    fn literal(&mut self, word: &str, value: Json) -> Json {
        for expected in word.chars() {
            assert_eq!(self.next(), expected, "JSON: bad literal");
        }
        value
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            '{' => self.object(),
            '[' => self.array(),
            '"' => Json::String(self.string()),
            't' => self.literal("true", Json::Bool(true)),
            'f' => self.literal("false", Json::Bool(false)),
            'n' => self.literal("null", Json::Null),
            _ => self.number(),
        }
    }

    fn object(&mut self) -> Json {
        self.expect('{');
        let mut members = Vec::new();
        if self.peek() == '}' {
            self.pos += 1;
            return Json::Object(members);
        }
        loop {
            self.skip_whitespace();
            let key = self.string();
            self.expect(':');
            members.push((key, self.value()));
            self.skip_whitespace();
            match self.next() {
                ',' => continue,
                '}' => return Json::Object(members),
                c => panic!("JSON: unexpected '{c}' in object"),
            }
        }
    }

    fn array(&mut self) -> Json {
        self.expect('[');
        let mut items = Vec::new();
        if self.peek() == ']' {
            self.pos += 1;
            return Json::Array(items);
        }
        loop {
            items.push(self.value());
            self.skip_whitespace();
            match self.next() {
                ',' => continue,
                ']' => return Json::Array(items),
                c => panic!("JSON: unexpected '{c}' in array"),
            }
        }
    }

    fn string(&mut self) -> String {
        self.expect('"');
        let mut text = String::new();
        loop {
            match self.next() {
                '"' => return text,
                '\\' => match self.next() {
                    'n' => text.push('\n'),
                    't' => text.push('\t'),
                    'r' => text.push('\r'),
                    'b' => text.push('\u{8}'),
                    'f' => text.push('\u{c}'),
                    'u' => {
                        let hex: String = (0..4).map(|_| self.next()).collect();
                        let code = u32::from_str_radix(&hex, 16).expect("JSON: \\u escape");
                        text.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => text.push(other), // \" \\ \/
                },
                c => text.push(c),
            }
        }
    }

    fn number(&mut self) -> Json {
        self.skip_whitespace();
        let start = self.pos;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        Json::Number(
            text.parse()
                .unwrap_or_else(|_| panic!("JSON: bad number '{text}' at {start}")),
        )
    }
}

#[test]
fn json_parser_reads_ffprobe_like_output() {
    let json = parse_json(
        r#"{ "packets": [ { "pts": -1024, "flags": "K__", "x": 1.5e3, "t": true, "n": null } ],
             "streams": [], "s": "a\"b\u0041" }"#,
    );
    let packet = &json.field("packets").as_array()[0];
    assert_eq!(packet.field("pts").as_i64(), -1024);
    assert_eq!(packet.field("flags").as_str(), "K__");
    assert_eq!(packet.field("x").as_f64(), 1500.0);
    assert_eq!(packet.field("t"), &Json::Bool(true));
    assert_eq!(packet.field("n"), &Json::Null);
    assert!(json.field("streams").as_array().is_empty());
    assert_eq!(json.field("s").as_str(), "a\"bA");
}

#[test]
fn box_reader_rejects_sizes_that_do_not_nest() {
    let overrun = [0, 0, 0, 9, b'f', b'r', b'e', b'e'];
    assert!(std::panic::catch_unwind(|| parse_boxes(&overrun)).is_err());
    let undersized = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];
    assert!(std::panic::catch_unwind(|| parse_boxes(&undersized)).is_err());
    let large = [&[0, 0, 0, 1][..], b"mdat", &[0, 0, 0, 0, 0, 0, 0, 17], &[7]].concat();
    let parsed = parse_single_box(&large);
    assert_eq!(
        (parsed.header_len, parsed.size, parsed.payload),
        (16, 17, &[7u8][..])
    );
}
