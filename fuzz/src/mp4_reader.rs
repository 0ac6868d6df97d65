//! A strict reader for the MP4 files the writers produce, so fuzz targets can compare
//! what was written with what was asked for.
//!
//! It is written independently of `mp4::movie` on purpose: reusing the writer's own
//! layout code would make every check agree with the writer's mistakes. It reads only
//! the boxes the writers emit, and every box must fill its parent exactly: a size
//! field that disagrees with the bytes around it is an error, never skipped.

use std::fmt;

/// What went wrong reading a file, as a sentence for the crash report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, ReadError>;

fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(ReadError(message.into()))
}

/// One box, located in the outermost buffer given to [`split_boxes`].
#[derive(Debug, Clone, Copy)]
pub struct Mp4Box<'a> {
    pub fourcc: [u8; 4],
    /// Offset of the box header within the buffer the file started in.
    pub start: u64,
    /// Offset of the payload within that buffer.
    pub payload_start: u64,
    pub payload: &'a [u8],
}

impl<'a> Mp4Box<'a> {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.fourcc).into_owned()
    }

    /// The box's children, which must fill its payload after `skip` bytes of fields.
    pub fn children(&self, skip: usize) -> Result<Vec<Mp4Box<'a>>> {
        let Some(rest) = self.payload.get(skip..) else {
            return error(format!(
                "box '{}' is {} bytes, shorter than its {skip} bytes of fields",
                self.name(),
                self.payload.len()
            ));
        };
        split_boxes(rest, self.payload_start + skip as u64)
    }

    pub fn fields(&self) -> Fields<'a> {
        Fields {
            data: self.payload,
            position: 0,
            context: self.fourcc,
        }
    }
}

/// Splits `data` into the boxes that fill it exactly. `base` is the offset of `data`
/// in the file, for the positions reported.
pub fn split_boxes(data: &[u8], base: u64) -> Result<Vec<Mp4Box<'_>>> {
    let mut boxes = Vec::new();
    let mut position = 0usize;
    while position < data.len() {
        let rest = &data[position..];
        let Some(header) = rest.get(..8) else {
            return error(format!(
                "{} bytes at {} are too few for a box header",
                rest.len(),
                base + position as u64
            ));
        };
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let fourcc = [header[4], header[5], header[6], header[7]];
        let (size, header_len) = match size32 {
            0 => {
                return error(format!(
                    "box '{}' at {} has size 0 (to the end of the file); finished files \
                     must give every size",
                    String::from_utf8_lossy(&fourcc),
                    base + position as u64
                ))
            }
            1 => {
                let Some(large) = rest.get(8..16) else {
                    return error("a 64-bit box size is cut off");
                };
                let large = u64::from_be_bytes(large.try_into().expect("8 bytes"));
                (large, 16u64)
            }
            size => (u64::from(size), 8u64),
        };
        if size < header_len || size > rest.len() as u64 {
            return error(format!(
                "box '{}' at {} says it is {size} bytes, but {} bytes are left in its parent",
                String::from_utf8_lossy(&fourcc),
                base + position as u64,
                rest.len()
            ));
        }
        let size = size as usize;
        boxes.push(Mp4Box {
            fourcc,
            start: base + position as u64,
            payload_start: base + (position as u64) + header_len,
            payload: &rest[header_len as usize..size],
        });
        position += size;
    }
    Ok(boxes)
}

/// Big-endian fields of one box; errors name the box.
pub struct Fields<'a> {
    data: &'a [u8],
    position: usize,
    context: [u8; 4],
}

impl<'a> Fields<'a> {
    pub fn bytes(&mut self, count: usize) -> Result<&'a [u8]> {
        match self
            .data
            .get(self.position..self.position.saturating_add(count))
        {
            Some(bytes) if bytes.len() == count => {
                self.position += count;
                Ok(bytes)
            }
            _ => error(format!(
                "box '{}' ends inside a field: {count} bytes wanted at {} of {}",
                String::from_utf8_lossy(&self.context),
                self.position,
                self.data.len()
            )),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.bytes(N)?.try_into().expect("N bytes"))
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Version and flags of a full box.
    pub fn version_and_flags(&mut self) -> Result<(u8, u32)> {
        let word = self.u32()?;
        Ok(((word >> 24) as u8, word & 0x00ff_ffff))
    }

    /// A 32- or 64-bit field, by full-box version.
    pub fn u32_or_u64(&mut self, version: u8) -> Result<u64> {
        match version {
            0 => Ok(u64::from(self.u32()?)),
            1 => self.u64(),
            other => error(format!(
                "box '{}' has version {other}",
                String::from_utf8_lossy(&self.context)
            )),
        }
    }

    /// Errors unless every byte was read: a table longer than its count is a wrong size.
    pub fn end(&self) -> Result<()> {
        if self.position == self.data.len() {
            Ok(())
        } else {
            error(format!(
                "box '{}' has {} bytes after its last field",
                String::from_utf8_lossy(&self.context),
                self.data.len() - self.position
            ))
        }
    }
}

/// Exactly one child of this type.
pub fn only<'b, 'a>(boxes: &'b [Mp4Box<'a>], fourcc: &[u8; 4]) -> Result<&'b Mp4Box<'a>> {
    match optional(boxes, fourcc)? {
        Some(found) => Ok(found),
        None => error(format!("no '{}' box", String::from_utf8_lossy(fourcc))),
    }
}

/// At most one child of this type.
pub fn optional<'b, 'a>(
    boxes: &'b [Mp4Box<'a>],
    fourcc: &[u8; 4],
) -> Result<Option<&'b Mp4Box<'a>>> {
    let mut found = boxes.iter().filter(|b| &b.fourcc == fourcc);
    let first = found.next();
    if found.next().is_some() {
        return error(format!("two '{}' boxes", String::from_utf8_lossy(fourcc)));
    }
    Ok(first)
}

/// One sample as the sample tables describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSample {
    pub offset: u64,
    pub size: u32,
    pub duration: u32,
    pub composition_offset: i32,
    pub sync: bool,
}

/// The sample entry of a track's `stsd`.
#[derive(Debug, Clone)]
pub struct EntryBox<'a> {
    pub fourcc: [u8; 4],
    /// The entry's fixed fields (SampleEntry and Visual/AudioSampleEntry).
    pub fields: &'a [u8],
    /// The boxes after them (avcC/hvcC and pasp; esds or dOps).
    pub children: Vec<Mp4Box<'a>>,
}

#[derive(Debug, Clone)]
pub struct TrackInfo<'a> {
    pub track_id: u32,
    pub tkhd_duration: u64,
    pub handler: [u8; 4],
    pub media_timescale: u32,
    pub media_duration: u64,
    /// (segment_duration, media_time) of each edit, in order.
    pub edits: Option<Vec<(u64, i64)>>,
    pub entry: EntryBox<'a>,
    pub samples: Vec<TableSample>,
}

#[derive(Debug, Clone)]
pub struct MovieInfo<'a> {
    pub timescale: u32,
    pub duration: u64,
    pub next_track_id: u32,
    pub tracks: Vec<TrackInfo<'a>>,
}

/// Bytes of the SampleEntry plus VisualSampleEntry fields before the child boxes.
const VISUAL_ENTRY_FIELDS: usize = 78;
/// Bytes of the SampleEntry plus version-0 AudioSampleEntry fields.
const AUDIO_ENTRY_FIELDS: usize = 28;

/// Reads a `moov` box (the box itself, header included, as `build_moov` returns it) at
/// `file_offset` in its file.
pub fn read_moov(moov_box: &[u8], file_offset: u64) -> Result<MovieInfo<'_>> {
    let top = split_boxes(moov_box, file_offset)?;
    match top.as_slice() {
        [moov] if &moov.fourcc == b"moov" => read_moov_box(moov),
        _ => error("build_moov did not return exactly one 'moov' box"),
    }
}

pub fn read_moov_box<'a>(moov: &Mp4Box<'a>) -> Result<MovieInfo<'a>> {
    let children = moov.children(0)?;
    let mvhd = only(&children, b"mvhd")?;
    let mut fields = mvhd.fields();
    let (version, _) = fields.version_and_flags()?;
    fields.u32_or_u64(version)?; // creation time
    fields.u32_or_u64(version)?; // modification time
    let timescale = fields.u32()?;
    let duration = fields.u32_or_u64(version)?;
    fields.bytes(4 + 2 + 10 + 36 + 24)?;
    let next_track_id = fields.u32()?;
    fields.end()?;
    let mut tracks = Vec::new();
    for child in &children {
        match &child.fourcc {
            b"mvhd" => {}
            b"trak" => tracks.push(read_trak(child)?),
            _ => return error(format!("unexpected '{}' in moov", child.name())),
        }
    }
    Ok(MovieInfo {
        timescale,
        duration,
        next_track_id,
        tracks,
    })
}

fn read_trak<'a>(trak: &Mp4Box<'a>) -> Result<TrackInfo<'a>> {
    let children = trak.children(0)?;
    let mut tkhd = only(&children, b"tkhd")?.fields();
    let (version, _) = tkhd.version_and_flags()?;
    tkhd.u32_or_u64(version)?;
    tkhd.u32_or_u64(version)?;
    let track_id = tkhd.u32()?;
    tkhd.u32()?; // reserved
    let tkhd_duration = tkhd.u32_or_u64(version)?;
    tkhd.bytes(8 + 8 + 36 + 8)?;
    tkhd.end()?;

    let edits = match optional(&children, b"edts")? {
        None => None,
        Some(edts) => Some(read_elst(only(&edts.children(0)?, b"elst")?)?),
    };

    let mdia = only(&children, b"mdia")?.children(0)?;
    let mut mdhd = only(&mdia, b"mdhd")?.fields();
    let (version, _) = mdhd.version_and_flags()?;
    mdhd.u32_or_u64(version)?;
    mdhd.u32_or_u64(version)?;
    let media_timescale = mdhd.u32()?;
    let media_duration = mdhd.u32_or_u64(version)?;
    mdhd.bytes(4)?;
    mdhd.end()?;

    let mut hdlr = only(&mdia, b"hdlr")?.fields();
    hdlr.bytes(8)?;
    let handler: [u8; 4] = hdlr.bytes(4)?.try_into().expect("4 bytes");

    let minf = only(&mdia, b"minf")?.children(0)?;
    let dinf = only(&minf, b"dinf")?.children(0)?;
    let dref = only(&dinf, b"dref")?;
    let dref_entries = dref.children(8)?;
    if dref_entries.len() != 1 || &dref_entries[0].fourcc != b"url " {
        return error("dref must hold exactly one 'url ' entry");
    }
    let stbl = only(&minf, b"stbl")?.children(0)?;
    let entry = read_stsd(only(&stbl, b"stsd")?, &handler)?;
    let samples = read_sample_tables(&stbl)?;
    Ok(TrackInfo {
        track_id,
        tkhd_duration,
        handler,
        media_timescale,
        media_duration,
        edits,
        entry,
        samples,
    })
}

fn read_elst(elst: &Mp4Box<'_>) -> Result<Vec<(u64, i64)>> {
    let mut fields = elst.fields();
    let (version, _) = fields.version_and_flags()?;
    let count = fields.u32()?;
    let mut edits = Vec::new();
    for _ in 0..count {
        let segment_duration = fields.u32_or_u64(version)?;
        let media_time = if version == 0 {
            i64::from(fields.i32()?)
        } else {
            fields.i64()?
        };
        fields.bytes(4)?; // media rate
        edits.push((segment_duration, media_time));
    }
    fields.end()?;
    Ok(edits)
}

fn read_stsd<'a>(stsd: &Mp4Box<'a>, handler: &[u8; 4]) -> Result<EntryBox<'a>> {
    let mut fields = stsd.fields();
    fields.version_and_flags()?;
    let count = fields.u32()?;
    let entries = stsd.children(8)?;
    if count != 1 || entries.len() != 1 {
        return error(format!(
            "stsd announces {count} entries and holds {}; the writers put one",
            entries.len()
        ));
    }
    let entry = entries[0];
    let fixed = match handler {
        b"vide" => VISUAL_ENTRY_FIELDS,
        b"soun" => AUDIO_ENTRY_FIELDS,
        other => {
            return error(format!(
                "unknown handler '{}'",
                String::from_utf8_lossy(other)
            ))
        }
    };
    Ok(EntryBox {
        fourcc: entry.fourcc,
        fields: entry.payload.get(..fixed).unwrap_or(entry.payload),
        children: entry.children(fixed)?,
    })
}

/// Expands the sample tables of one `stbl` into one [`TableSample`] per sample.
fn read_sample_tables(stbl: &[Mp4Box<'_>]) -> Result<Vec<TableSample>> {
    let sizes = read_stsz(only(stbl, b"stsz")?)?;
    let count = sizes.len();
    let durations = expand_runs(only(stbl, b"stts")?, count, |fields, _| fields.u32())?;
    let composition_offsets = match optional(stbl, b"ctts")? {
        None => vec![0; count],
        Some(ctts) => expand_runs(ctts, count, |fields, version| match version {
            0 => {
                let offset = fields.u32()?;
                i32::try_from(offset)
                    .or_else(|_| error(format!("ctts version 0 holds offset {offset} > i32::MAX")))
            }
            _ => fields.i32(),
        })?,
    };
    let sync = match optional(stbl, b"stss")? {
        None => vec![true; count],
        Some(stss) => read_stss(stss, count)?,
    };
    let offsets = sample_offsets(stbl, &sizes)?;
    Ok((0..count)
        .map(|index| TableSample {
            offset: offsets[index],
            size: sizes[index],
            duration: durations[index],
            composition_offset: composition_offsets[index],
            sync: sync[index],
        })
        .collect())
}

fn read_stsz(stsz: &Mp4Box<'_>) -> Result<Vec<u32>> {
    let mut fields = stsz.fields();
    fields.version_and_flags()?;
    let constant = fields.u32()?;
    let count = fields.u32()? as usize;
    let sizes = if constant != 0 {
        vec![constant; count]
    } else {
        // Bounded by the box: reading fails before a huge count allocates much.
        let mut sizes = Vec::new();
        for _ in 0..count {
            sizes.push(fields.u32()?);
        }
        sizes
    };
    fields.end()?;
    Ok(sizes)
}

/// Expands (count, value) runs (stts, ctts), which must cover exactly `sample_count` samples.
fn expand_runs<T: Copy>(
    table: &Mp4Box<'_>,
    sample_count: usize,
    mut value: impl FnMut(&mut Fields<'_>, u8) -> Result<T>,
) -> Result<Vec<T>> {
    let mut fields = table.fields();
    let (version, _) = fields.version_and_flags()?;
    let entries = fields.u32()?;
    let mut values = Vec::with_capacity(sample_count);
    for _ in 0..entries {
        let run = fields.u32()? as usize;
        let run_value = value(&mut fields, version)?;
        if run == 0 || values.len() + run > sample_count {
            return error(format!(
                "'{}' has a run of {run} with {} of {sample_count} samples already covered",
                table.name(),
                values.len()
            ));
        }
        values.extend(std::iter::repeat_n(run_value, run));
    }
    fields.end()?;
    if values.len() != sample_count {
        return error(format!(
            "'{}' covers {} samples, stsz has {sample_count}",
            table.name(),
            values.len()
        ));
    }
    Ok(values)
}

fn read_stss(stss: &Mp4Box<'_>, sample_count: usize) -> Result<Vec<bool>> {
    let mut fields = stss.fields();
    fields.version_and_flags()?;
    let entries = fields.u32()?;
    let mut sync = vec![false; sample_count];
    let mut previous = 0u32;
    for _ in 0..entries {
        let number = fields.u32()?;
        if number <= previous || number as usize > sample_count {
            return error(format!(
                "stss lists sample {number} after {previous} of {sample_count}"
            ));
        }
        sync[number as usize - 1] = true;
        previous = number;
    }
    fields.end()?;
    Ok(sync)
}

/// Each sample's file offset from stsc, stco/co64 and the sizes.
fn sample_offsets(stbl: &[Mp4Box<'_>], sizes: &[u32]) -> Result<Vec<u64>> {
    let chunk_offsets = match (optional(stbl, b"stco")?, optional(stbl, b"co64")?) {
        (Some(stco), None) => {
            let mut fields = stco.fields();
            fields.version_and_flags()?;
            let count = fields.u32()?;
            let offsets = (0..count)
                .map(|_| fields.u32().map(u64::from))
                .collect::<Result<Vec<_>>>()?;
            fields.end()?;
            offsets
        }
        (None, Some(co64)) => {
            let mut fields = co64.fields();
            fields.version_and_flags()?;
            let count = fields.u32()?;
            let offsets = (0..count)
                .map(|_| fields.u64())
                .collect::<Result<Vec<_>>>()?;
            fields.end()?;
            offsets
        }
        _ => return error("a track needs exactly one of stco and co64"),
    };

    let mut stsc = only(stbl, b"stsc")?.fields();
    stsc.version_and_flags()?;
    let entries = stsc.u32()?;
    let mut runs = Vec::new();
    for _ in 0..entries {
        let first_chunk = stsc.u32()?;
        let samples_per_chunk = stsc.u32()?;
        let description = stsc.u32()?;
        if description != 1 {
            return error(format!("stsc names sample description {description}"));
        }
        runs.push((first_chunk, samples_per_chunk));
    }
    stsc.end()?;
    if runs.first().map(|run| run.0) != Some(1) && !chunk_offsets.is_empty() {
        return error("stsc must start at chunk 1");
    }

    let mut offsets = Vec::with_capacity(sizes.len());
    for (chunk_index, &chunk_offset) in chunk_offsets.iter().enumerate() {
        let chunk_number = chunk_index as u64 + 1;
        let run = runs
            .iter()
            .rev()
            .find(|run| u64::from(run.0) <= chunk_number)
            .ok_or_else(|| ReadError("stsc does not cover every chunk".into()))?;
        let mut offset = chunk_offset;
        for _ in 0..run.1 {
            let Some(&size) = sizes.get(offsets.len()) else {
                return error("the chunks hold more samples than stsz lists");
            };
            offsets.push(offset);
            offset = offset.wrapping_add(u64::from(size));
        }
    }
    if offsets.len() != sizes.len() {
        return error(format!(
            "the chunks hold {} samples, stsz lists {}",
            offsets.len(),
            sizes.len()
        ));
    }
    Ok(offsets)
}
