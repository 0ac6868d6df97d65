//! A strict reader for the MP4 files the plugin writes, for tests and fuzz targets to
//! compare what was written with what was asked for.
//!
//! It reads each file three ways, and all three must succeed:
//!
//! - [mp4-atom](https://docs.rs/mp4-atom), built with its `strict` feature, decodes every
//!   box: a box whose size disagrees with its content (UnderDecode, OverDecode), an
//!   unexpected box, a missing or repeated required box, an unknown version is an error.
//!   Its types are re-exported as [`mp4_atom`] for the fields tests check one by one.
//! - [`layout`] (hand-written) keeps what mp4-atom does not: positions, header lengths,
//!   child order, versions and flags, the raw bytes, and nesting to the byte.
//! - [`descriptors`] (hand-written) reads the descriptor nesting inside `esds`, which
//!   mp4-atom forgives.
//! - [`edits`] (hand-written) reads `elst` entries whose media time mp4-atom refuses, for
//!   the tests that check the writer still encodes them.
//!
//! [`MovieInfo`] then gives what tests compare: per track the timescales, handler, sample
//! entry, edit list and the sample tables expanded to one row per sample.
//!
//! It shares no code with the writer (`gstreplay::mp4`) on purpose: a reader built on the
//! writer's own layout code would agree with the writer's mistakes.
//!
//! What mp4-atom refuses is out of the specifications, so this refuses it too: an `elst`
//! media time below -1, a decoder configuration that is not an avcC/hvcC record, an Opus
//! channel mapping naming channels that do not exist.

pub mod descriptors;
pub mod edits;
pub mod layout;
mod movie;

use std::fmt;
use std::ops::Range;

pub use mp4_atom;
use mp4_atom::{Any, Decode};

pub use descriptors::{descriptor, descriptors, esds_descriptors, Descriptor, EsdsDescriptors};
pub use edits::{raw_edits, RawEdit};
pub use layout::{boxes, single_box, BoxLayout};
pub use movie::{
    AacInfo, AudioCodecInfo, AudioEntryInfo, EditEntry, EntryInfo, MovieInfo, TableSample,
    TrackInfo, VideoEntryInfo,
};

/// What is wrong with a file, as a sentence for the test's panic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub String);

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReadError {}

impl From<mp4_atom::Error> for ReadError {
    fn from(error: mp4_atom::Error) -> Self {
        ReadError(format!("mp4-atom: {error}"))
    }
}

pub type Result<T> = std::result::Result<T, ReadError>;

pub(crate) fn error<T>(message: impl Into<String>) -> Result<T> {
    Err(ReadError(message.into()))
}

/// A whole file: its top-level boxes, `ftyp` and `moov`.
#[derive(Debug)]
pub struct Mp4File<'a> {
    /// The top-level boxes in file order, with positions (`moov` with its children).
    pub boxes: Vec<BoxLayout<'a>>,
    pub ftyp: mp4_atom::Ftyp,
    pub moov: ReadMoov<'a>,
}

/// A `moov` box: its layout, mp4-atom's decoding of it, and the summary of its tracks.
#[derive(Debug)]
pub struct ReadMoov<'a> {
    pub layout: BoxLayout<'a>,
    pub decoded: mp4_atom::Moov,
    pub movie: MovieInfo,
}

/// A sample entry box on its own (`avc1`, `mp4a`, `Opus`, ...).
#[derive(Debug)]
pub struct ReadEntry<'a> {
    pub layout: BoxLayout<'a>,
    pub decoded: mp4_atom::Codec,
    pub entry: EntryInfo,
}

/// Reads a finished file: `ftyp` first, then `free`, `moov` and `mdat` boxes in any order,
/// exactly one `moov` and one `mdat`; every box decoded by mp4-atom.
pub fn read_file(data: &[u8]) -> Result<Mp4File<'_>> {
    let boxes = boxes(data)?;
    let mut ftyp = None;
    let mut moov = None;
    let mut mdat_count = 0;
    for (index, top) in boxes.iter().enumerate() {
        let decoded = Any::decode(&mut &top.raw[..])?;
        match decoded {
            Any::Ftyp(decoded) if index == 0 => ftyp = Some(decoded),
            Any::Free(_) if index > 0 => {}
            Any::Mdat(_) if index > 0 => mdat_count += 1,
            Any::Moov(decoded) if index > 0 && moov.is_none() => {
                moov = Some(ReadMoov::new(top.clone(), decoded)?)
            }
            _ => {
                return error(format!(
                    "unexpected '{}' at {} (box {index} of the file)",
                    top.name(),
                    top.start
                ))
            }
        }
    }
    let (Some(ftyp), Some(moov), 1) = (ftyp, moov, mdat_count) else {
        return error(format!(
            "a file needs ftyp first, one moov and one mdat; it has {:?}",
            boxes.iter().map(BoxLayout::name).collect::<Vec<_>>()
        ));
    };
    Ok(Mp4File { boxes, ftyp, moov })
}

/// Reads a `moov` box given on its own (header included), as `build_moov` returns it or as
/// a test cuts it out of a file too large to keep.
pub fn read_moov(data: &[u8]) -> Result<ReadMoov<'_>> {
    let layout = single_box(data, b"moov")?;
    let decoded = mp4_atom::Moov::decode(&mut &data[..])?;
    ReadMoov::new(layout, decoded)
}

/// Reads one sample entry box given on its own.
pub fn read_sample_entry(data: &[u8]) -> Result<ReadEntry<'_>> {
    let [layout] = <[BoxLayout<'_>; 1]>::try_from(boxes(data)?).map_err(|found| {
        ReadError(format!(
            "expected one sample entry, found {} boxes",
            found.len()
        ))
    })?;
    let decoded = mp4_atom::Codec::decode(&mut &data[..])?;
    let entry = EntryInfo::new(&decoded, &layout)?;
    Ok(ReadEntry {
        layout,
        decoded,
        entry,
    })
}

impl<'a> ReadMoov<'a> {
    fn new(layout: BoxLayout<'a>, decoded: mp4_atom::Moov) -> Result<ReadMoov<'a>> {
        let movie = MovieInfo::new(&decoded, &layout)?;
        Ok(ReadMoov {
            layout,
            decoded,
            movie,
        })
    }

    /// The layout of track `index`'s `trak`.
    pub fn trak(&self, index: usize) -> &BoxLayout<'a> {
        self.layout.all(b"trak")[index]
    }
}

impl<'a> Mp4File<'a> {
    /// The top-level box types, in file order.
    pub fn box_types(&self) -> Vec<String> {
        self.boxes.iter().map(BoxLayout::name).collect()
    }

    /// The one top-level box of type `fourcc`.
    pub fn top(&self, fourcc: &[u8; 4]) -> &BoxLayout<'a> {
        match self
            .boxes
            .iter()
            .filter(|b| &b.fourcc == fourcc)
            .collect::<Vec<_>>()[..]
        {
            [one] => one,
            ref found => panic!(
                "{} top-level '{}' boxes in {:?}",
                found.len(),
                String::from_utf8_lossy(fourcc),
                self.box_types()
            ),
        }
    }

    /// Where the sample data is: the payload of `mdat`, as file offsets.
    pub fn mdat_payload(&self) -> Range<u64> {
        let mdat = self.top(b"mdat");
        mdat.payload_start()..mdat.end()
    }

    pub fn movie(&self) -> &MovieInfo {
        &self.moov.movie
    }
}

#[cfg(test)]
mod tests {
    use mp4_atom::*;

    use super::{read_file, EntryInfo, TableSample};

    /// A file of one H.264 track of three samples in two chunks, encoded by mp4-atom: the
    /// reader is tested here without the writer it is meant to check.
    fn file_with(edit: impl FnOnce(&mut Moov)) -> Vec<u8> {
        let sps = [0x67, 0x64, 0x00, 0x14, 0xac];
        let avc1 = Avc1 {
            visual: Visual {
                data_reference_index: 1,
                width: 320,
                height: 240,
                ..Default::default()
            },
            avcc: Avcc::new(&sps, &[0x68, 0xeb]).unwrap(),
            pasp: Some(Pasp::new(4, 3).unwrap()),
            ..Default::default()
        };
        let mut moov = Moov {
            mvhd: Mvhd {
                timescale: 1000,
                duration: 120,
                next_track_id: 2,
                ..Default::default()
            },
            trak: vec![Trak {
                tkhd: Tkhd {
                    track_id: 1,
                    duration: 120,
                    ..Default::default()
                },
                mdia: Mdia {
                    mdhd: Mdhd {
                        timescale: 12_800,
                        duration: 1536,
                        language: "und".into(),
                        ..Default::default()
                    },
                    hdlr: Hdlr {
                        handler: b"vide".into(),
                        name: "VideoHandler".into(),
                    },
                    minf: Minf {
                        vmhd: Some(Vmhd::default()),
                        dinf: Dinf {
                            dref: Dref {
                                entries: vec![Url::default().into()],
                            },
                        },
                        stbl: Stbl {
                            stsd: Stsd {
                                codecs: vec![avc1.into()],
                            },
                            stts: Stts {
                                entries: vec![SttsEntry {
                                    sample_count: 3,
                                    sample_delta: 512,
                                }],
                            },
                            ctts: Some(Ctts {
                                entries: vec![
                                    CttsEntry {
                                        sample_count: 1,
                                        sample_offset: 1024,
                                    },
                                    CttsEntry {
                                        sample_count: 2,
                                        sample_offset: 0,
                                    },
                                ],
                            }),
                            stss: Some(Stss {
                                entries: vec![1, 3],
                            }),
                            stsc: Stsc {
                                entries: vec![
                                    StscEntry {
                                        first_chunk: 1,
                                        samples_per_chunk: 2,
                                        sample_description_index: 1,
                                    },
                                    StscEntry {
                                        first_chunk: 2,
                                        samples_per_chunk: 1,
                                        sample_description_index: 1,
                                    },
                                ],
                            },
                            stsz: Stsz {
                                samples: StszSamples::Different {
                                    sizes: vec![10, 20, 30],
                                },
                            },
                            stco: Some(Stco {
                                entries: vec![100, 500],
                            }),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                },
                edts: Some(Edts {
                    elst: Some(Elst {
                        entries: vec![ElstEntry {
                            segment_duration: 120,
                            media_time: Some(1024),
                            media_rate: 1.into(),
                        }],
                    }),
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        edit(&mut moov);
        let mut file = Vec::new();
        Ftyp {
            major_brand: b"isom".into(),
            minor_version: 512,
            compatible_brands: vec![b"isom".into()],
        }
        .encode(&mut file)
        .unwrap();
        moov.encode(&mut file).unwrap();
        Mdat { data: vec![7; 8] }.encode(&mut file).unwrap();
        file
    }

    fn error_of(file: &[u8]) -> String {
        read_file(file).expect_err("must be refused").0
    }

    #[test]
    fn reads_tracks_entries_and_expanded_sample_tables() {
        let file = file_with(|_| {});
        let read = read_file(&file).unwrap();
        assert_eq!(read.box_types(), ["ftyp", "moov", "mdat"]);
        let mdat = read.mdat_payload();
        assert_eq!(mdat.end - mdat.start, 8);
        let movie = read.movie();
        assert_eq!(
            (movie.timescale, movie.duration, movie.next_track_id),
            (1000, 120, 2)
        );
        let track = &movie.tracks[0];
        assert_eq!((track.track_id, track.tkhd_duration), (1, 120));
        assert_eq!(
            (&track.handler, track.timescale, track.media_duration),
            (b"vide", 12_800, 1536)
        );
        let edits = track.edits.as_ref().unwrap();
        assert_eq!((edits[0].media_time, edits[0].media_rate), (1024, (1, 0)));
        let row = |offset, size, composition_offset, sync| TableSample {
            offset,
            size,
            duration: 512,
            composition_offset,
            sync,
        };
        assert_eq!(
            track.samples,
            [
                row(100, 10, 1024, true),
                row(110, 20, 0, false),
                row(500, 30, 0, true)
            ]
        );
        assert_eq!(track.chunk_count, 2);
        let EntryInfo::Video(video) = &track.entry else {
            panic!("a video entry");
        };
        assert_eq!(
            (&video.fourcc, video.width, video.height),
            (b"avc1", 320, 240)
        );
        assert_eq!(video.boxes, [*b"avcC", *b"pasp"]);
        assert_eq!(video.config[..2], [1, 0x64], "the avcC record's bytes");
        assert_eq!(video.pasp, Some((4, 3)));
    }

    #[test]
    fn refuses_tables_that_do_not_cover_the_samples() {
        let more_durations = file_with(|moov| {
            moov.trak[0].mdia.minf.stbl.stts.entries[0].sample_count = 4;
        });
        assert!(error_of(&more_durations).contains("stts"));
        let sync_past_the_end = file_with(|moov| {
            moov.trak[0].mdia.minf.stbl.stss = Some(Stss { entries: vec![4] });
        });
        assert!(error_of(&sync_past_the_end).contains("stss"));
        let chunks_short = file_with(|moov| {
            moov.trak[0].mdia.minf.stbl.stco = Some(Stco { entries: vec![100] });
        });
        assert!(
            error_of(&chunks_short).contains("stsc"),
            "{}",
            error_of(&chunks_short)
        );
        let samples_short = file_with(|moov| {
            moov.trak[0].mdia.minf.stbl.stsc.entries[1].samples_per_chunk = 2;
        });
        assert!(error_of(&samples_short).contains("more samples than stsz"));
        let both = file_with(|moov| {
            moov.trak[0].mdia.minf.stbl.co64 = Some(Co64 {
                entries: vec![100, 500],
            });
        });
        assert!(error_of(&both).contains("stco and co64"));
    }

    /// Grows the box at `fourccs` (box types from the top level down) by `extra`
    /// bytes at its end, fixing up the sizes of it and every box around it.
    fn grow(file: &[u8], fourccs: &[&[u8; 4]], extra: &[u8]) -> Vec<u8> {
        let mut starts = Vec::new();
        let mut level = super::boxes(file).unwrap();
        let mut end = 0;
        for fourcc in fourccs {
            let found = level.iter().find(|b| &b.fourcc == *fourcc).unwrap().clone();
            starts.push(found.start as usize);
            end = found.end() as usize;
            level = found.children;
        }
        let mut grown = [&file[..end], extra, &file[end..]].concat();
        for start in starts {
            let size = u32::from_be_bytes(grown[start..start + 4].try_into().unwrap());
            grown[start..start + 4].copy_from_slice(&(size + extra.len() as u32).to_be_bytes());
        }
        grown
    }

    #[test]
    fn sizes_must_match_contents_to_the_byte() {
        let file = file_with(|_| {});
        // Bytes inside a table after its entries: mp4-atom's UnderDecode.
        let stts = grow(
            &file,
            &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"],
            &[0; 8],
        );
        assert!(
            error_of(&stts).contains("under decode"),
            "{}",
            error_of(&stts)
        );
        // A few bytes after the last child of a container, which mp4-atom would skip.
        let stbl = grow(
            &file,
            &[b"moov", b"trak", b"mdia", b"minf", b"stbl"],
            &[0; 3],
        );
        assert!(
            error_of(&stbl).contains("too few for a box header"),
            "{}",
            error_of(&stbl)
        );
        // A free box inside a container, which mp4-atom would skip too.
        let free = grow(
            &file,
            &[b"moov", b"trak"],
            &[0, 0, 0, 8, b'f', b'r', b'e', b'e'],
        );
        assert!(
            error_of(&free).contains("inside 'trak'"),
            "{}",
            error_of(&free)
        );
        // A box mp4-atom does not expect where it is.
        let unknown = grow(&file, &[b"moov"], &[0, 0, 0, 8, b'x', b'y', b'z', b'w']);
        assert!(
            error_of(&unknown).contains("unexpected box"),
            "{}",
            error_of(&unknown)
        );
    }

    #[test]
    fn a_file_is_ftyp_first_and_one_moov_and_mdat() {
        let file = file_with(|_| {});
        let layout = super::boxes(&file).unwrap();
        let ftyp = layout[0].raw;
        let moov = layout[1].raw;
        let mdat = layout[2].raw;
        assert!(read_file(&[moov, ftyp, mdat].concat()).is_err());
        assert!(read_file(&[ftyp, moov].concat()).is_err());
        assert!(read_file(&[ftyp, moov, mdat, moov].concat()).is_err());
        let free = [0, 0, 0, 8, b'f', b'r', b'e', b'e'];
        let streamed = [ftyp, &free, mdat, moov].concat();
        assert_eq!(
            read_file(&streamed).unwrap().box_types(),
            ["ftyp", "free", "mdat", "moov"]
        );
    }
}
