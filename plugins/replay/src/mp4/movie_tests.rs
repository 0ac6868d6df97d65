//! Tests of the `ftyp`/`moov` builders: each box is read back by the strict reader and its
//! fields checked where ISO/IEC 14496-12 puts them. mp4-atom decodes the fields; what it
//! reads past (reserved, pre_defined) and what it drops (versions, flags, sizes) is checked
//! on the box layout's bytes.

use proptest::prelude::*;
use test_support::mp4::mp4_atom::{self, Codec, Decode, FixedPoint, Matrix, StszSamples};
use test_support::mp4::{
    layout::BoxLayout, raw_edits, read_moov, single_box, EditEntry, EntryInfo, RawEdit, ReadMoov,
};

use super::super::testutil::{
    aac_entry, assert_audio_entry_constants, audio_track, avc_entry, edit as edit_of, hex_bytes,
    ipbb, offsets as offsets_of, opus_entry, opus_stereo_config, read, sample, samples,
    sequential_offsets, video_track, with_moov, AVC_CONFIG_320X240_HEX, HVC_CONFIG_320X240_HEX,
};
use super::super::{AudioCodecConfig, AudioEntryError};
use super::*;

const IDENTITY: [i32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

fn one_track_movie(samples: Vec<Sample>, edit: Option<Edit>) -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![video_track(12_800, samples, edit)],
    }
}

fn stbl_child_types(movie: &Movie) -> Vec<String> {
    with_moov(movie, |moov| {
        moov.trak(0).path("mdia/minf/stbl").child_types()
    })
}

fn matrix(m: &Matrix) -> [i32; 9] {
    [m.a, m.b, m.u, m.c, m.d, m.v, m.x, m.y, m.w]
}

/// (integer, fraction) of a fixed-point field.
fn fixed<T: Copy>(value: &FixedPoint<T>) -> (T, T) {
    (value.integer(), value.decimal())
}

/// A 16.16 field as the 32-bit word it is stored as.
fn fixed_16_16(value: &FixedPoint<u16>) -> u32 {
    u32::from(value.integer()) << 16 | u32::from(value.decimal())
}

fn stbl<'m>(moov: &'m ReadMoov<'_>, track: usize) -> &'m mp4_atom::Stbl {
    &moov.decoded.trak[track].mdia.minf.stbl
}

/// The full-box version of the first track's sample table `fourcc`.
fn table_version(moov: &ReadMoov<'_>, fourcc: &[u8; 4]) -> u8 {
    moov.trak(0).path("mdia/minf/stbl").child(fourcc).version()
}

#[test]
fn ftyp_lists_brands() {
    let bytes = ftyp();
    single_box(&bytes, b"ftyp").unwrap();
    // mp4-atom reads the brands to the end of the box: a partial brand is an error.
    let ftyp = mp4_atom::Ftyp::decode(&mut &bytes[..]).unwrap();
    assert_eq!(ftyp.major_brand, b"isom".into());
    assert_eq!(ftyp.minor_version, 512);
    for brand in [b"isom", b"iso2", b"avc1", b"mp41", b"iso4"] {
        assert!(
            ftyp.compatible_brands.contains(&brand.into()),
            "missing brand {brand:?}"
        );
    }
}

#[test]
fn moov_has_the_box_tree_players_expect() {
    let movie = one_track_movie(
        ipbb(8),
        Some(Edit {
            media_time: 512,
            segment_duration: 320,
            delay: 0,
        }),
    );
    with_moov(&movie, |moov| {
        assert_eq!(moov.layout.child_types(), ["mvhd", "trak"]);
        let trak = moov.trak(0);
        assert_eq!(trak.child_types(), ["tkhd", "edts", "mdia"]);
        assert_eq!(trak.child(b"edts").child_types(), ["elst"]);
        assert_eq!(trak.path("mdia").child_types(), ["mdhd", "hdlr", "minf"]);
        assert_eq!(
            trak.path("mdia/minf").child_types(),
            ["vmhd", "dinf", "stbl"]
        );
        assert_eq!(trak.path("mdia/minf/dinf").child_types(), ["dref"]);
        assert_eq!(
            trak.path("mdia/minf/stbl").child_types(),
            ["stsd", "stts", "ctts", "stss", "stsc", "stsz", "stco"]
        );
    });
}

#[test]
fn mvhd_fields() {
    let movie = Movie {
        timescale: 1000,
        tracks: vec![
            video_track(12_800, vec![sample(10, 512, 0, true); 50], None), // 2 s
            video_track(90_000, vec![sample(10, 3000, 0, true); 30], None), // 1 s
        ],
    };
    with_moov(&movie, |moov| {
        let mvhd = moov.layout.child(b"mvhd");
        assert_eq!(mvhd.size, 108);
        assert_eq!(mvhd.version_and_flags(), (0, 0));
        let f = &moov.decoded.mvhd;
        assert_eq!(
            (f.creation_time, f.modification_time),
            (0, 0),
            "creation/modification time"
        );
        assert_eq!(f.timescale, 1000, "timescale");
        assert_eq!(f.duration, 2000, "duration: the longest track");
        assert_eq!(fixed(&f.rate), (1, 0), "rate 1.0");
        assert_eq!(fixed(&f.volume), (1, 0), "volume 1.0");
        assert_eq!(matrix(&f.matrix), IDENTITY);
        assert_eq!(f.next_track_id, 3, "next_track_ID");
        // Version 0: times and timescale (16 bytes), rate (4), volume (2), then these.
        let body = mvhd.body();
        assert_eq!(&body[22..32], &[0; 10], "reserved");
        assert_eq!(&body[68..92], &[0; 24], "pre_defined");
    });
}

#[test]
fn tkhd_fields() {
    let movie = one_track_movie(vec![sample(10, 1000, 0, true); 3], None);
    with_moov(&movie, |moov| {
        let tkhd = moov.trak(0).child(b"tkhd");
        assert_eq!(tkhd.size, 92);
        assert_eq!(
            tkhd.version_and_flags(),
            (0, 7),
            "enabled | in_movie | in_preview"
        );
        let f = &moov.decoded.trak[0].tkhd;
        assert_eq!(
            (f.creation_time, f.modification_time),
            (0, 0),
            "creation/modification time"
        );
        assert_eq!(f.track_id, 1, "track_ID");
        // 3000 / 12800 s = 234.375 ms, rounded up in the movie timescale.
        assert_eq!(f.duration, 235, "duration");
        assert_eq!(
            (f.layer, f.alternate_group, fixed(&f.volume)),
            (0, 0, (0, 0)),
            "layer, group, volume"
        );
        assert_eq!(matrix(&f.matrix), IDENTITY);
        assert_eq!(fixed_16_16(&f.width), 320 << 16, "width 16.16");
        assert_eq!(fixed_16_16(&f.height), 240 << 16, "height 16.16");
        let body = tkhd.body();
        assert_eq!(&body[12..16], &[0; 4], "reserved");
        assert_eq!(&body[20..28], &[0; 8], "reserved");
        assert_eq!(&body[34..36], &[0; 2], "reserved");
    });
}

#[test]
fn tkhd_duration_is_the_edit_segment_when_there_is_an_edit() {
    let edit = Edit {
        media_time: 0,
        segment_duration: 777,
        delay: 0,
    };
    let movie = one_track_movie(vec![sample(10, 512, 0, true); 100], Some(edit));
    let (movie_duration, track) = with_moov(&movie, |moov| {
        (moov.movie.duration, moov.movie.tracks[0].clone())
    });
    assert_eq!(track.tkhd_duration, 777);
    assert_eq!(movie_duration, 777);
    assert_eq!(
        track.media_duration, 51_200,
        "mdhd keeps the media duration"
    );
}

fn entry_with_par(par: Option<(u32, u32)>) -> SampleEntry {
    let SampleEntry::Video(mut video) = avc_entry(720, 576) else {
        unreachable!("avc_entry is a video entry");
    };
    video.pixel_aspect_ratio = par;
    SampleEntry::Video(video)
}

fn par_movie(par: Option<(u32, u32)>) -> Movie {
    let mut movie = one_track_movie(vec![sample(10, 512, 0, true)], None);
    movie.tracks[0].entry = entry_with_par(par);
    movie
}

fn video_entry(moov: &ReadMoov<'_>, track: usize) -> test_support::mp4::VideoEntryInfo {
    match &moov.movie.tracks[track].entry {
        EntryInfo::Video(video) => video.clone(),
        other => panic!("track {track} has {other:?}"),
    }
}

#[test]
fn pasp_is_written_only_for_a_known_non_square_ratio() {
    for (par, expected_pasp) in [
        (None, None),
        (Some((1, 1)), None),
        (Some((7, 7)), None),
        (Some((0, 1)), None),
        (Some((16, 0)), None),
        (Some((16, 15)), Some((16, 15))),
    ] {
        with_moov(&par_movie(par), |moov| {
            let entry = video_entry(moov, 0);
            assert_eq!(entry.pasp, expected_pasp, "pasp for {par:?}");
            let boxes: &[[u8; 4]] = if expected_pasp.is_some() {
                &[*b"avcC", *b"pasp"]
            } else {
                &[*b"avcC"]
            };
            assert_eq!(entry.boxes, boxes, "for {par:?}");
            let expected_width = match expected_pasp {
                Some((h, v)) => ((720u64 << 16) * u64::from(h) + u64::from(v) / 2) / u64::from(v),
                None => 720 << 16,
            };
            let tkhd = &moov.decoded.trak[0].tkhd;
            assert_eq!(
                u64::from(fixed_16_16(&tkhd.width)),
                expected_width,
                "display width for {par:?}"
            );
            assert_eq!(fixed_16_16(&tkhd.height), 576 << 16);
        });
    }
}

#[test]
fn elst_fields_version_0() {
    let edit = Edit {
        media_time: 1024,
        segment_duration: 5000,
        delay: 0,
    };
    let movie = one_track_movie(ipbb(4), Some(edit));
    with_moov(&movie, |moov| {
        let elst = moov.trak(0).path("edts/elst");
        assert_eq!(elst.size, 28);
        assert_eq!(elst.version_and_flags(), (0, 0));
        assert_eq!(
            moov.movie.tracks[0].edits,
            Some(vec![EditEntry {
                segment_duration: 5000,
                media_time: 1024,
                media_rate: (1, 0),
            }])
        );
    });
}

#[test]
fn elst_switches_to_version_1_for_wide_values() {
    for edit in [
        Edit {
            media_time: -1,
            segment_duration: u64::from(u32::MAX) + 5,
            delay: 0,
        },
        Edit {
            media_time: i64::from(i32::MAX) + 1,
            segment_duration: 5,
            delay: 0,
        },
    ] {
        let movie = one_track_movie(ipbb(4), Some(edit));
        with_moov(&movie, |moov| {
            let elst = moov.trak(0).path("edts/elst");
            assert_eq!(elst.version(), 1, "version for {edit:?}");
            assert_eq!(elst.size, 36);
            assert_eq!(edit_of(&moov.movie.tracks[0]), Some(edit));
        });
    }
    // Below -1 a media time is out of the specification, which mp4-atom refuses; the
    // writer still encodes what it was given, read here by hand.
    let below = Edit {
        media_time: i64::from(i32::MIN) - 1,
        segment_duration: 5,
        delay: 0,
    };
    let movie = one_track_movie(ipbb(4), Some(below));
    let bytes = build_moov(&movie, &sequential_offsets(&movie, 48)).unwrap();
    assert!(read_moov(&bytes).is_err(), "mp4-atom refuses it");
    let moov = single_box(&bytes, b"moov").unwrap();
    let elst = moov.path("trak/edts/elst");
    assert_eq!((elst.version(), elst.size), (1, 36));
    assert_eq!(
        raw_edits(elst).unwrap(),
        [RawEdit {
            segment_duration: 5,
            media_time: below.media_time,
            media_rate: 0x1_0000,
        }]
    );

    let negative = Edit {
        media_time: -1,
        segment_duration: 10,
        delay: 0,
    };
    let movie = one_track_movie(ipbb(4), Some(negative));
    with_moov(&movie, |moov| {
        let elst = moov.trak(0).path("edts/elst");
        assert_eq!(elst.version(), 0, "an empty edit (-1) fits version 0");
        assert_eq!(edit_of(&moov.movie.tracks[0]), Some(negative));
    });
}

#[test]
fn mdhd_fields() {
    let movie = one_track_movie(
        vec![sample(10, 512, 0, true), sample(10, 100, 0, true)],
        None,
    );
    with_moov(&movie, |moov| {
        let mdhd = moov.trak(0).path("mdia/mdhd");
        assert_eq!(mdhd.size, 32);
        assert_eq!(mdhd.version_and_flags(), (0, 0));
        let f = &moov.decoded.trak[0].mdia.mdhd;
        assert_eq!((f.creation_time, f.modification_time), (0, 0));
        assert_eq!(f.timescale, 12_800, "timescale");
        assert_eq!(f.duration, 612, "duration: sum of sample durations");
        assert_eq!(f.language, "und");
        assert_eq!(
            &mdhd.body()[16..],
            &[0x55, 0xc4, 0, 0],
            "'und', pre_defined"
        );
    });
}

/// `hdlr` of the first or second track: pre_defined, handler type, reserved, name.
fn assert_hdlr(moov: &ReadMoov<'_>, track: usize, handler: &[u8; 4], name: &str) {
    let hdlr = moov.trak(track).path("mdia/hdlr");
    assert_eq!(hdlr.version_and_flags(), (0, 0));
    let decoded = &moov.decoded.trak[track].mdia.hdlr;
    assert_eq!(decoded.handler, handler.into());
    assert_eq!(decoded.name, name);
    let body = hdlr.body();
    assert_eq!(&body[..4], &[0; 4], "pre_defined");
    assert_eq!(&body[8..20], &[0; 12], "reserved");
    assert_eq!(
        &body[20..],
        [name.as_bytes(), b"\0"].concat(),
        "the name, once"
    );
}

#[test]
fn hdlr_vmhd_dref_fields() {
    let movie = one_track_movie(ipbb(4), None);
    with_moov(&movie, |moov| {
        assert_hdlr(moov, 0, b"vide", "VideoHandler");

        let vmhd = moov.trak(0).path("mdia/minf/vmhd");
        assert_eq!(vmhd.size, 20);
        assert_eq!(vmhd.version_and_flags(), (0, 1));
        let decoded = moov.decoded.trak[0].mdia.minf.vmhd.as_ref().unwrap();
        assert_eq!(decoded.graphics_mode, 0, "graphicsmode");
        let colour = &decoded.op_color;
        assert_eq!(
            (colour.red, colour.green, colour.blue),
            (0, 0, 0),
            "opcolor"
        );

        let dref = moov.trak(0).path("mdia/minf/dinf/dref");
        assert_eq!(dref.version_and_flags(), (0, 0));
        assert_eq!(
            moov.decoded.trak[0].mdia.minf.dinf.dref.entries,
            [mp4_atom::Url::default().into()],
            "one entry"
        );
        assert_eq!(dref.child_types(), ["url "]);
        let url = dref.child(b"url ");
        assert_eq!(url.size, 12);
        assert_eq!(url.version_and_flags(), (0, 1), "self-contained");
    });
}

#[test]
fn stsd_holds_the_visual_sample_entry_and_config_verbatim() {
    let movie = one_track_movie(ipbb(4), None);
    with_moov(&movie, |moov| {
        let stsd = moov.trak(0).path("mdia/minf/stbl/stsd");
        assert_eq!(stsd.version_and_flags(), (0, 0));
        assert_eq!(stsd.child_types(), ["avc1"], "one entry");
        let [Codec::Avc1(avc1)] = stbl(moov, 0).stsd.codecs.as_slice() else {
            panic!("one avc1 entry: {:?}", stbl(moov, 0).stsd.codecs);
        };
        let visual = &avc1.visual;
        assert_eq!(visual.data_reference_index, 1, "data_reference_index");
        assert_eq!((visual.width, visual.height), (320, 240));
        assert_eq!(
            (
                fixed(&visual.horizresolution),
                fixed(&visual.vertresolution)
            ),
            ((72, 0), (72, 0)),
            "72 dpi"
        );
        assert_eq!(visual.frame_count, 1, "frame_count");
        assert_eq!(visual.depth, 0x18, "depth");
        let fields = stsd.child(b"avc1").fields();
        assert_eq!(&fields[..6], &[0; 6], "reserved");
        assert_eq!(&fields[8..24], &[0; 16], "pre_defined/reserved");
        assert_eq!(&fields[36..40], &[0; 4], "reserved");
        assert_eq!(&fields[42..74], &[0; 32], "compressorname");
        assert_eq!(&fields[76..78], &[0xff, 0xff], "pre_defined -1");
        let entry = video_entry(moov, 0);
        assert_eq!(entry.boxes, [*b"avcC"]);
        assert_eq!(entry.config, hex_bytes(AVC_CONFIG_320X240_HEX));
    });
}

#[test]
fn hevc_entry_keeps_its_fourccs() {
    let mut movie = one_track_movie(ipbb(4), None);
    movie.tracks[0].entry = SampleEntry::Video(VideoSampleEntry {
        fourcc: *b"hvc1",
        width: 1920,
        height: 1080,
        config_fourcc: *b"hvcC",
        config: hex_bytes(HVC_CONFIG_320X240_HEX),
        pixel_aspect_ratio: Some((1, 1)),
    });
    with_moov(&movie, |moov| {
        let entry = video_entry(moov, 0);
        assert_eq!((entry.fourcc, entry.config_fourcc), (*b"hvc1", *b"hvcC"));
        assert_eq!(entry.boxes, [*b"hvcC"]);
        assert_eq!(entry.config, hex_bytes(HVC_CONFIG_320X240_HEX));
    });
}

// ---------------------------------------------------------------------------
// Audio tracks
// ---------------------------------------------------------------------------

/// One second of 48 kHz AAC frames beside one second of 25 fps video.
fn video_and_audio_movie(audio: SampleEntry) -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![
            video_track(12_800, ipbb(25), None),
            audio_track(audio, 48_000, vec![sample(300, 1024, 0, true); 47]),
        ],
    }
}

/// The `trak` of the audio track (the second of two).
fn audio_trak<'a>(moov: &'a ReadMoov<'_>) -> &'a BoxLayout<'a> {
    assert_eq!(moov.layout.all(b"trak").len(), 2);
    moov.trak(1)
}

#[test]
fn audio_trak_has_the_sound_box_tree() {
    for entry in [aac_entry(), opus_entry(opus_stereo_config())] {
        with_moov(&video_and_audio_movie(entry.clone()), |moov| {
            let trak = audio_trak(moov);
            assert_eq!(trak.child_types(), ["tkhd", "mdia"]);
            assert_eq!(trak.path("mdia").child_types(), ["mdhd", "hdlr", "minf"]);
            assert_eq!(
                trak.path("mdia/minf").child_types(),
                ["smhd", "dinf", "stbl"]
            );
            // Every audio sample is a sync sample and none is reordered: no stss, no ctts.
            assert_eq!(
                trak.path("mdia/minf/stbl").child_types(),
                ["stsd", "stts", "stsc", "stsz", "stco"]
            );
            let stsd = trak.path("mdia/minf/stbl/stsd");
            assert_eq!(stsd.children.len(), 1, "entry_count");
            let expected_fourcc = match &entry {
                SampleEntry::Audio(audio) => match audio.codec {
                    AudioCodecConfig::Aac { .. } => *b"mp4a",
                    AudioCodecConfig::Opus(_) => *b"Opus",
                },
                SampleEntry::Video(_) => unreachable!("audio entries only"),
            };
            assert_audio_entry_constants(&stsd.children[0]);
            let EntryInfo::Audio(audio) = &moov.movie.tracks[1].entry else {
                panic!("an audio entry");
            };
            assert_eq!(audio.fourcc, expected_fourcc);
            assert_eq!(audio.channel_count, 2);
        });
    }
}

#[test]
fn audio_tkhd_has_full_volume_and_no_size() {
    with_moov(&video_and_audio_movie(aac_entry()), |moov| {
        let tkhd = audio_trak(moov).child(b"tkhd");
        assert_eq!(
            tkhd.version_and_flags(),
            (0, 7),
            "enabled | in_movie | in_preview"
        );
        let f = &moov.decoded.trak[1].tkhd;
        assert_eq!(
            (f.creation_time, f.modification_time),
            (0, 0),
            "creation/modification time"
        );
        assert_eq!(f.track_id, 2, "track_ID");
        // 47 * 1024 / 48000 s = 1002.67 ms, rounded up.
        assert_eq!(f.duration, 1003, "duration");
        assert_eq!(
            (f.layer, f.alternate_group),
            (0, 0),
            "layer, alternate_group"
        );
        assert_eq!(fixed(&f.volume), (1, 0), "volume 1.0");
        assert_eq!(matrix(&f.matrix), IDENTITY);
        assert_eq!(
            (fixed_16_16(&f.width), fixed_16_16(&f.height)),
            (0, 0),
            "width, height"
        );
        let body = tkhd.body();
        assert_eq!(&body[12..16], &[0; 4], "reserved");
        assert_eq!(&body[20..28], &[0; 8], "reserved");
        assert_eq!(&body[34..36], &[0; 2], "reserved");
        assert_eq!(tkhd.size, 92);

        let video = &moov.decoded.trak[0].tkhd;
        assert_eq!(fixed(&video.volume), (0, 0), "video keeps volume 0");
    });
}

#[test]
fn audio_hdlr_and_smhd_fields() {
    with_moov(&video_and_audio_movie(aac_entry()), |moov| {
        assert_hdlr(moov, 1, b"soun", "SoundHandler");

        let smhd = audio_trak(moov).path("mdia/minf/smhd");
        assert_eq!(smhd.size, 16);
        assert_eq!(smhd.version_and_flags(), (0, 0));
        let decoded = moov.decoded.trak[1].mdia.minf.smhd.as_ref().unwrap();
        assert_eq!(fixed(&decoded.balance), (0, 0), "balance: centre");
        assert_eq!(&smhd.body()[2..], &[0; 2], "reserved");

        let track = &moov.movie.tracks[1];
        assert_eq!(track.timescale, 48_000);
        assert_eq!(track.media_duration, 47 * 1024);
    });
}

#[test]
fn audio_stss_lists_non_sync_samples_when_there_are_some() {
    let mut movie = video_and_audio_movie(aac_entry());
    movie.tracks[1].samples[3].sync = false;
    with_moov(&movie, |moov| {
        assert_eq!(samples(&moov.movie.tracks[1]), movie.tracks[1].samples);
    });
}

#[test]
fn invalid_audio_entries_are_rejected() {
    let mut config = opus_stereo_config();
    config.channel_mapping = vec![0, 1];
    let movie = video_and_audio_movie(opus_entry(config));
    let offsets = sequential_offsets(&movie, 0);
    let error = build_moov(&movie, &offsets).unwrap_err();
    assert_eq!(
        error,
        MovieError::InvalidAudioEntry {
            track: 1,
            error: AudioEntryError::OpusChannelMappingLength {
                family: 0,
                expected: 0,
                given: 2
            }
        }
    );
    assert_eq!(
        error.to_string(),
        "track 1: Opus channel mapping family 0 needs 0 channel mapping entries, 2 were given"
    );
}

#[test]
fn stts_is_run_length_encoded() {
    let durations = [10, 10, 10, 20, 20, 10];
    let samples = durations.iter().map(|&d| sample(1, d, 0, true)).collect();
    let movie = one_track_movie(samples, None);
    with_moov(&movie, |moov| {
        assert_eq!(table_version(moov, b"stts"), 0);
        let runs: Vec<(u32, u32)> = stbl(moov, 0)
            .stts
            .entries
            .iter()
            .map(|e| (e.sample_count, e.sample_delta))
            .collect();
        assert_eq!(runs, [(3, 10), (2, 20), (1, 10)]);
    });
}

#[test]
fn ctts_is_omitted_when_all_offsets_are_zero() {
    let movie = one_track_movie(vec![sample(1, 1, 0, true); 5], None);
    assert!(!stbl_child_types(&movie).contains(&"ctts".to_owned()));
}

/// The version and (count, offset) runs of the first track's ctts.
fn ctts_runs(movie: &Movie) -> (u8, Vec<(u32, i64)>) {
    with_moov(movie, |moov| {
        let ctts = stbl(moov, 0).ctts.as_ref().expect("a ctts");
        let runs = ctts
            .entries
            .iter()
            .map(|e| (e.sample_count, e.sample_offset))
            .collect();
        (table_version(moov, b"ctts"), runs)
    })
}

#[test]
fn ctts_is_run_length_encoded_version_0_when_non_negative() {
    let offsets = [1024, 1024, 0, 0, 0, 2048];
    let samples = offsets.iter().map(|&o| sample(1, 512, o, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(ctts_runs(&movie), (0, vec![(2, 1024), (3, 0), (1, 2048)]));
}

#[test]
fn ctts_uses_version_1_for_negative_offsets() {
    let offsets = [-512, -512, 512];
    let samples = offsets.iter().map(|&o| sample(1, 512, o, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(ctts_runs(&movie), (1, vec![(2, -512), (1, 512)]));
}

#[test]
fn stss_is_omitted_when_every_sample_is_sync() {
    let movie = one_track_movie(vec![sample(1, 1, 0, true); 5], None);
    assert!(!stbl_child_types(&movie).contains(&"stss".to_owned()));
}

#[test]
fn stss_lists_one_based_sync_sample_numbers() {
    let movie = one_track_movie(ipbb(9), None);
    with_moov(&movie, |moov| {
        assert_eq!(table_version(moov, b"stss"), 0);
        assert_eq!(stbl(moov, 0).stss.as_ref().unwrap().entries, [1, 5, 9]);
    });
}

fn stsz_of(movie: &Movie) -> StszSamples {
    with_moov(movie, |moov| {
        assert_eq!(table_version(moov, b"stsz"), 0);
        stbl(moov, 0).stsz.samples.clone()
    })
}

#[test]
fn stsz_uses_the_constant_form_when_all_sizes_are_equal() {
    let movie = one_track_movie(vec![sample(700, 1, 0, true); 4], None);
    assert_eq!(
        stsz_of(&movie),
        StszSamples::Identical {
            count: 4,
            size: 700
        }
    );
}

#[test]
fn stsz_lists_sizes_when_they_differ_or_are_all_zero() {
    let samples = [5, 6, 5].iter().map(|&s| sample(s, 1, 0, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(
        stsz_of(&movie),
        StszSamples::Different {
            sizes: vec![5, 6, 5]
        }
    );
    // A constant size of 0 would announce a table that is not there.
    let movie = one_track_movie(vec![sample(0, 1, 0, true); 2], None);
    assert_eq!(
        stsz_of(&movie),
        StszSamples::Different { sizes: vec![0, 0] }
    );
}

#[test]
fn chunks_are_contiguous_runs_and_stsc_is_run_length_encoded() {
    let movie = one_track_movie(vec![sample(10, 1, 0, true); 9], None);
    // Chunks of 2, 2, 3, 1, 1 samples, separated by gaps.
    let offsets = vec![vec![100, 110, 200, 210, 300, 310, 320, 400, 500]];
    let bytes = build_moov(&movie, &offsets).unwrap();
    let moov = read(&bytes);
    let stbl = stbl(&moov, 0);
    let stsc: Vec<(u32, u32, u32)> = stbl
        .stsc
        .entries
        .iter()
        .map(|e| {
            (
                e.first_chunk,
                e.samples_per_chunk,
                e.sample_description_index,
            )
        })
        .collect();
    assert_eq!(stsc, [(1, 2, 1), (3, 3, 1), (4, 1, 1)]);
    assert_eq!(
        stbl.stco.as_ref().unwrap().entries,
        [100, 200, 300, 400, 500]
    );
    let track = &moov.movie.tracks[0];
    assert_eq!(offsets_of(track), offsets[0]);
    assert_eq!(track.chunk_count, 5);
}

#[test]
fn chunk_offsets_switch_to_co64_beyond_4_gib() {
    let movie = one_track_movie(vec![sample(10, 1, 0, true); 3], None);
    let last_32_bit = u64::from(u32::MAX);
    let fits = vec![vec![0, 1000, last_32_bit]];
    assert!(stbl_types_for(&movie, &fits).contains(&"stco".to_owned()));
    let beyond = vec![vec![0, 1000, last_32_bit + 1]];
    let types = stbl_types_for(&movie, &beyond);
    assert!(types.contains(&"co64".to_owned()) && !types.contains(&"stco".to_owned()));
    let bytes = build_moov(&movie, &beyond).unwrap();
    assert_eq!(offsets_of(&read(&bytes).movie.tracks[0]), beyond[0]);
}

fn stbl_types_for(movie: &Movie, offsets: &[Vec<u64>]) -> Vec<String> {
    let bytes = build_moov(movie, offsets).unwrap();
    read(&bytes).trak(0).path("mdia/minf/stbl").child_types()
}

#[test]
fn headers_switch_to_version_1_when_durations_exceed_32_bits() {
    // Two samples of u32::MAX ticks: the media duration needs 33 bits.
    let samples = vec![sample(1, u32::MAX, 0, true); 2];
    let movie = Movie {
        timescale: 12_800,
        tracks: vec![video_track(12_800, samples, None)],
    };
    let expected = 2 * u64::from(u32::MAX);
    with_moov(&movie, |moov| {
        let mvhd = moov.layout.child(b"mvhd");
        let tkhd = moov.trak(0).child(b"tkhd");
        let mdhd = moov.trak(0).path("mdia/mdhd");
        assert_eq!((mvhd.size, tkhd.size, mdhd.size), (120, 104, 44));
        for header in [mvhd, tkhd, mdhd] {
            assert_eq!(header.version(), 1, "{}", header.name());
        }
        let read = &moov.movie;
        assert_eq!((read.timescale, read.duration), (12_800, expected));
        assert_eq!(read.tracks[0].tkhd_duration, expected);
        assert_eq!(read.tracks[0].media_duration, expected);
        assert_eq!(read.tracks[0].track_id, 1);
    });
}

#[test]
fn only_the_headers_that_need_it_use_version_1() {
    // Long media in a fast track timescale, short in the movie timescale.
    let samples = vec![sample(1, u32::MAX, 0, true); 2];
    let movie = Movie {
        timescale: 1000,
        tracks: vec![video_track(90_000, samples, None)],
    };
    with_moov(&movie, |moov| {
        assert_eq!(moov.layout.child(b"mvhd").version(), 0);
        assert_eq!(moov.trak(0).child(b"tkhd").version(), 0);
        assert_eq!(moov.trak(0).path("mdia/mdhd").version(), 1);
    });
}

#[test]
fn invalid_movies_are_rejected() {
    let good = one_track_movie(ipbb(4), None);
    let offsets = sequential_offsets(&good, 0);
    assert!(build_moov(&good, &offsets).is_ok());

    let no_tracks = Movie {
        timescale: 1000,
        tracks: vec![],
    };
    assert_eq!(build_moov(&no_tracks, &[]), Err(MovieError::NoTracks));

    let mut zero = good.clone();
    zero.timescale = 0;
    assert_eq!(
        build_moov(&zero, &offsets),
        Err(MovieError::ZeroMovieTimescale)
    );

    let mut zero = good.clone();
    zero.tracks[0].timescale = 0;
    assert_eq!(
        build_moov(&zero, &offsets),
        Err(MovieError::ZeroTrackTimescale { track: 0 })
    );

    let mut empty = good.clone();
    empty.tracks.push(video_track(1000, vec![], None));
    assert_eq!(
        build_moov(&empty, &[offsets[0].clone(), vec![]]),
        Err(MovieError::EmptyTrack { track: 1 })
    );

    assert_eq!(
        build_moov(&good, &[]),
        Err(MovieError::OffsetTrackCountMismatch {
            given: 0,
            expected: 1
        })
    );
    assert_eq!(
        build_moov(&good, &[vec![0; 3]]),
        Err(MovieError::OffsetCountMismatch {
            track: 0,
            given: 3,
            expected: 4
        })
    );

    // u32::MAX ticks at 1 Hz in a 2^32-1 Hz movie timescale still fits, but
    // many of them at the slowest track timescale do not.
    let huge = Movie {
        timescale: u32::MAX,
        tracks: vec![video_track(1, vec![sample(1, u32::MAX, 0, true); 3], None)],
    };
    assert_eq!(
        build_moov(&huge, &sequential_offsets(&huge, 0)),
        Err(MovieError::DurationOverflow { track: 0 })
    );

    let error: std::io::Error = MovieError::NoTracks.into();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn run_lengths_collapses_equal_neighbours() {
    assert_eq!(run_lengths(Vec::<u32>::new()), vec![]);
    assert_eq!(run_lengths([7, 7, 8, 7]), vec![(2, 7), (1, 8), (1, 7)]);
}

// ---------------------------------------------------------------------------
// Round trip: random sample tables survive build_moov + parsing unchanged.
// ---------------------------------------------------------------------------

fn arbitrary_sample() -> impl Strategy<Value = Sample> {
    // Small pools make runs (and constant-size stsz) likely; `any` covers extremes.
    let size = prop_oneof![Just(100u32), 0..3u32, any::<u32>()];
    let duration = prop_oneof![Just(512u32), 0..3u32, any::<u32>()];
    let offset = prop_oneof![Just(0i32), -2..3i32, Just(1024), any::<i32>()];
    (size, duration, offset, any::<bool>())
        .prop_map(|(size, duration, offset, sync)| sample(size, duration, offset, sync))
}

/// How a sample is placed: right after the previous one, or anywhere.
#[derive(Clone, Debug)]
enum Placement {
    Contiguous,
    At(u64),
}

fn arbitrary_placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        3 => Just(Placement::Contiguous),
        1 => (0..1u64 << 20).prop_map(Placement::At),
        1 => (u64::from(u32::MAX) - 1000..u64::from(u32::MAX) + 1000).prop_map(Placement::At),
        1 => (0..1u64 << 41).prop_map(Placement::At),
    ]
}

/// Media times from -1 (an empty edit) up: the specification defines no other, and the
/// reader refuses them; `media_times_below_minus_one_are_written_as_given` covers the rest.
fn arbitrary_edit() -> impl Strategy<Value = Option<Edit>> {
    let media_time = prop_oneof![Just(-1i64), 0..5000i64, -1..=i64::MAX];
    let segment = prop_oneof![0..100_000u64, any::<u64>()];
    proptest::option::of(
        (media_time, segment).prop_map(|(media_time, segment_duration)| Edit {
            media_time,
            segment_duration,
            delay: 0,
        }),
    )
}

fn arbitrary_entry() -> impl Strategy<Value = SampleEntry> {
    prop_oneof![
        Just(avc_entry(320, 240)),
        Just(aac_entry()),
        Just(opus_entry(opus_stereo_config())),
    ]
}

fn arbitrary_track() -> impl Strategy<Value = (Track, Vec<u64>)> {
    (
        1..=1_000_000u32,
        proptest::collection::vec((arbitrary_sample(), arbitrary_placement()), 1..60),
        arbitrary_edit(),
        arbitrary_entry(),
    )
        .prop_map(|(timescale, placed, edit, entry)| {
            let mut offsets = Vec::with_capacity(placed.len());
            let mut next = 0u64;
            for (sample, placement) in &placed {
                let offset = match placement {
                    Placement::Contiguous => next,
                    Placement::At(at) => *at,
                };
                offsets.push(offset);
                next = offset + u64::from(sample.size);
            }
            let samples = placed.into_iter().map(|(sample, _)| sample).collect();
            let track = Track {
                timescale,
                entry,
                samples,
                edit,
            };
            (track, offsets)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn sample_tables_round_trip(
        movie_timescale in 1..=1_000_000u32,
        tracks in proptest::collection::vec(arbitrary_track(), 1..4),
    ) {
        let (tracks, offsets): (Vec<Track>, Vec<Vec<u64>>) = tracks.into_iter().unzip();
        let movie = Movie { timescale: movie_timescale, tracks };
        let bytes = build_moov(&movie, &offsets).unwrap();
        let read = read(&bytes).movie;
        prop_assert_eq!(read.timescale, movie_timescale);
        prop_assert_eq!(read.next_track_id as usize, movie.tracks.len() + 1);
        prop_assert_eq!(read.tracks.len(), movie.tracks.len());
        let mut longest = 0;
        for (index, (track, parsed)) in movie.tracks.iter().zip(&read.tracks).enumerate() {
            prop_assert_eq!(parsed.track_id as usize, index + 1);
            prop_assert_eq!(parsed.timescale, track.timescale);
            prop_assert_eq!(&samples(parsed), &track.samples);
            prop_assert_eq!(&offsets_of(parsed), &offsets[index]);
            prop_assert_eq!(edit_of(parsed), track.edit);
            let media: u64 = track.samples.iter().map(|s| u64::from(s.duration)).sum();
            prop_assert_eq!(parsed.media_duration, media);
            let expected = match track.edit {
                Some(edit) => edit.segment_duration,
                None => (u128::from(media) * u128::from(movie_timescale))
                    .div_ceil(u128::from(track.timescale)) as u64,
            };
            prop_assert_eq!(parsed.tkhd_duration, expected);
            longest = longest.max(expected);
        }
        prop_assert_eq!(read.duration, longest);
    }

    #[test]
    fn media_times_below_minus_one_are_written_as_given(
        media_time in prop_oneof![Just(i64::MIN), i64::MIN..-1, -5000..-1i64],
        segment_duration in prop_oneof![0..100_000u64, any::<u64>()],
    ) {
        let edit = Edit { media_time, segment_duration, delay: 0 };
        let movie = one_track_movie(ipbb(4), Some(edit));
        let bytes = build_moov(&movie, &sequential_offsets(&movie, 48)).unwrap();
        prop_assert!(read_moov(&bytes).is_err(), "mp4-atom refuses media time {}", media_time);
        let moov = single_box(&bytes, b"moov").unwrap();
        let elst = moov.path("trak/edts/elst");
        let wide = segment_duration >= u64::from(u32::MAX) || i32::try_from(media_time).is_err();
        prop_assert_eq!(elst.version(), u8::from(wide));
        prop_assert_eq!(
            raw_edits(elst).unwrap(),
            vec![RawEdit { segment_duration, media_time, media_rate: 0x1_0000 }]
        );
    }
}
