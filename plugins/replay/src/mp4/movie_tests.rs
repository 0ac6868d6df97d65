//! Tests of the `ftyp`/`moov` builders: each box is parsed back and its fields
//! checked where ISO/IEC 14496-12 puts them.

use proptest::prelude::*;

use super::super::testutil::{
    aac_entry, audio_track, avc_entry, expand_sample_tables, hex_bytes, ipbb, opus_entry,
    opus_stereo_config, parse_audio_entry, parse_moov, parse_single_box, sample,
    sequential_offsets, video_track, Mp4Box, AVC_CONFIG_320X240_HEX,
};
use super::super::{AudioCodecConfig, AudioEntryError};
use super::*;

const IDENTITY: [u32; 9] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000];

fn one_track_movie(samples: Vec<Sample>, edit: Option<Edit>) -> Movie {
    Movie {
        timescale: 1000,
        tracks: vec![video_track(12_800, samples, edit)],
    }
}

fn moov_bytes(movie: &Movie) -> Vec<u8> {
    build_moov(movie, &sequential_offsets(movie, 48)).expect("valid movie")
}

fn with_moov<R>(movie: &Movie, check: impl FnOnce(Mp4Box<'_>) -> R) -> R {
    let bytes = moov_bytes(movie);
    check(parse_single_box(&bytes))
}

fn stbl_child_types(movie: &Movie) -> Vec<String> {
    with_moov(movie, |moov| moov.path("trak/mdia/minf/stbl").child_types())
}

fn read_matrix(fields: &mut super::super::testutil::Fields<'_>) -> [u32; 9] {
    std::array::from_fn(|_| fields.u32())
}

#[test]
fn ftyp_lists_brands() {
    let bytes = ftyp();
    let ftyp = parse_single_box(&bytes);
    assert_eq!(&ftyp.fourcc, b"ftyp");
    let mut fields = ftyp.fields();
    assert_eq!(&fields.fourcc(), b"isom");
    assert_eq!(fields.u32(), 512);
    let brands: Vec<[u8; 4]> = (0..fields.remaining() / 4)
        .map(|_| fields.fourcc())
        .collect();
    fields.assert_end();
    for brand in [b"isom", b"iso2", b"avc1", b"mp41", b"iso4"] {
        assert!(brands.contains(brand), "missing brand {brand:?}");
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
        assert_eq!(moov.child_types(), ["mvhd", "trak"]);
        let trak = moov.child(b"trak");
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
        let mvhd = moov.child(b"mvhd");
        assert_eq!(mvhd.size, 108);
        let (version, flags, mut f) = mvhd.full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!((f.u32(), f.u32()), (0, 0), "creation/modification time");
        assert_eq!(f.u32(), 1000, "timescale");
        assert_eq!(f.u32(), 2000, "duration: the longest track");
        assert_eq!(f.u32(), 0x0001_0000, "rate 1.0");
        assert_eq!(f.i16(), 0x0100, "volume 1.0");
        assert_eq!(f.bytes(10), &[0; 10], "reserved");
        assert_eq!(read_matrix(&mut f), IDENTITY);
        assert_eq!(f.bytes(24), &[0; 24], "pre_defined");
        assert_eq!(f.u32(), 3, "next_track_ID");
        f.assert_end();
    });
}

#[test]
fn tkhd_fields() {
    let movie = one_track_movie(vec![sample(10, 1000, 0, true); 3], None);
    with_moov(&movie, |moov| {
        let tkhd = moov.path("trak/tkhd");
        assert_eq!(tkhd.size, 92);
        let (version, flags, mut f) = tkhd.full_box();
        assert_eq!((version, flags), (0, 7), "enabled | in_movie | in_preview");
        assert_eq!((f.u32(), f.u32()), (0, 0), "creation/modification time");
        assert_eq!(f.u32(), 1, "track_ID");
        assert_eq!(f.u32(), 0, "reserved");
        // 3000 / 12800 s = 234.375 ms, rounded up in the movie timescale.
        assert_eq!(f.u32(), 235, "duration");
        assert_eq!(f.bytes(8), &[0; 8], "reserved");
        assert_eq!(
            (f.i16(), f.i16(), f.i16()),
            (0, 0, 0),
            "layer, group, volume"
        );
        assert_eq!(f.u16(), 0, "reserved");
        assert_eq!(read_matrix(&mut f), IDENTITY);
        assert_eq!(f.u32(), 320 << 16, "width 16.16");
        assert_eq!(f.u32(), 240 << 16, "height 16.16");
        f.assert_end();
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
    let (_, movie_duration, _, tracks) = with_moov(&movie, |moov| parse_moov(&moov));
    assert_eq!(tracks[0].tkhd_duration, 777);
    assert_eq!(movie_duration, 777);
    assert_eq!(
        tracks[0].media_duration, 51_200,
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

/// The sample entries of the first track's `stsd`, after its one-entry count.
fn stsd_entries<'a>(moov: &Mp4Box<'a>) -> &'a [u8] {
    let (_, _, mut fields) = moov.path("trak/mdia/minf/stbl/stsd").full_box();
    assert_eq!(fields.u32(), 1, "entry_count");
    fields.rest()
}

fn par_movie(par: Option<(u32, u32)>) -> Movie {
    let mut movie = one_track_movie(vec![sample(10, 512, 0, true)], None);
    movie.tracks[0].entry = entry_with_par(par);
    movie
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
            let entry = parse_single_box(stsd_entries(&moov));
            let mut inner = entry.fields();
            inner.bytes(78);
            let children = super::super::testutil::parse_boxes(inner.rest());
            let pasp = children.iter().find(|b| &b.fourcc == b"pasp").map(|b| {
                let mut f = b.fields();
                let value = (f.u32(), f.u32());
                f.assert_end();
                value
            });
            assert_eq!(pasp, expected_pasp, "pasp for {par:?}");
            let expected_width = match expected_pasp {
                Some((h, v)) => ((720u64 << 16) * u64::from(h) + u64::from(v) / 2) / u64::from(v),
                None => 720 << 16,
            };
            let mut tkhd = moov.path("trak/tkhd").full_box().2;
            tkhd.bytes(20 + 8 + 8 + 36);
            assert_eq!(
                u64::from(tkhd.u32()),
                expected_width,
                "display width for {par:?}"
            );
            assert_eq!(tkhd.u32(), 576 << 16);
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
        let elst = moov.path("trak/edts/elst");
        assert_eq!(elst.size, 28);
        let (version, flags, mut f) = elst.full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!(f.u32(), 1, "entry_count");
        assert_eq!(f.u32(), 5000, "segment_duration");
        assert_eq!(f.i32(), 1024, "media_time");
        assert_eq!((f.i16(), f.i16()), (1, 0), "media_rate 1.0");
        f.assert_end();
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
        Edit {
            media_time: i64::from(i32::MIN) - 1,
            segment_duration: 5,
            delay: 0,
        },
    ] {
        let movie = one_track_movie(ipbb(4), Some(edit));
        with_moov(&movie, |moov| {
            let elst = moov.path("trak/edts/elst");
            assert_eq!(elst.full_box().0, 1, "version for {edit:?}");
            assert_eq!(elst.size, 36);
            assert_eq!(super::super::testutil::parse_elst(&elst), edit);
        });
    }
    let negative = Edit {
        media_time: -1,
        segment_duration: 10,
        delay: 0,
    };
    let movie = one_track_movie(ipbb(4), Some(negative));
    with_moov(&movie, |moov| {
        let elst = moov.path("trak/edts/elst");
        assert_eq!(elst.full_box().0, 0, "an empty edit (-1) fits version 0");
        assert_eq!(super::super::testutil::parse_elst(&elst), negative);
    });
}

#[test]
fn mdhd_fields() {
    let movie = one_track_movie(
        vec![sample(10, 512, 0, true), sample(10, 100, 0, true)],
        None,
    );
    with_moov(&movie, |moov| {
        let mdhd = moov.path("trak/mdia/mdhd");
        assert_eq!(mdhd.size, 32);
        let (version, flags, mut f) = mdhd.full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!((f.u32(), f.u32()), (0, 0));
        assert_eq!(f.u32(), 12_800, "timescale");
        assert_eq!(f.u32(), 612, "duration: sum of sample durations");
        assert_eq!(f.u16(), 0x55c4, "language 'und'");
        assert_eq!(f.u16(), 0, "pre_defined");
        f.assert_end();
    });
}

#[test]
fn hdlr_vmhd_dref_fields() {
    let movie = one_track_movie(ipbb(4), None);
    with_moov(&movie, |moov| {
        let (version, flags, mut f) = moov.path("trak/mdia/hdlr").full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!(f.u32(), 0, "pre_defined");
        assert_eq!(&f.fourcc(), b"vide");
        assert_eq!(f.bytes(12), &[0; 12]);
        assert_eq!(f.rest(), b"VideoHandler\0");

        let vmhd = moov.path("trak/mdia/minf/vmhd");
        assert_eq!(vmhd.size, 20);
        let (version, flags, mut f) = vmhd.full_box();
        assert_eq!((version, flags), (0, 1));
        assert_eq!(f.bytes(8), &[0; 8], "graphicsmode, opcolor");
        f.assert_end();

        let dref = moov.path("trak/mdia/minf/dinf/dref");
        let (version, flags, mut f) = dref.full_box();
        assert_eq!((version, flags, f.u32()), (0, 0, 1));
        let url = parse_single_box(f.rest());
        assert_eq!(&url.fourcc, b"url ");
        assert_eq!(url.size, 12);
        assert_eq!(url.full_box().0, 0);
        assert_eq!(url.full_box().1, 1, "self-contained");
    });
}

#[test]
fn stsd_holds_the_visual_sample_entry_and_config_verbatim() {
    let movie = one_track_movie(ipbb(4), None);
    with_moov(&movie, |moov| {
        let (version, flags, mut f) = moov.path("trak/mdia/minf/stbl/stsd").full_box();
        assert_eq!((version, flags, f.u32()), (0, 0, 1), "one entry");
        let entry = parse_single_box(f.rest());
        assert_eq!(&entry.fourcc, b"avc1");
        let mut f = entry.fields();
        assert_eq!(f.bytes(6), &[0; 6], "reserved");
        assert_eq!(f.u16(), 1, "data_reference_index");
        assert_eq!(f.bytes(16), &[0; 16], "pre_defined/reserved");
        assert_eq!((f.u16(), f.u16()), (320, 240));
        assert_eq!((f.u32(), f.u32()), (0x48_0000, 0x48_0000), "72 dpi");
        assert_eq!(f.u32(), 0, "reserved");
        assert_eq!(f.u16(), 1, "frame_count");
        assert_eq!(f.bytes(32), &[0; 32], "compressorname");
        assert_eq!(f.u16(), 0x18, "depth");
        assert_eq!(f.i16(), -1, "pre_defined");
        let config = parse_single_box(f.rest());
        assert_eq!(&config.fourcc, b"avcC");
        assert_eq!(config.payload, hex_bytes(AVC_CONFIG_320X240_HEX));
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
        config: vec![1, 2, 3],
        pixel_aspect_ratio: Some((1, 1)),
    });
    with_moov(&movie, |moov| {
        let entry = parse_single_box(stsd_entries(&moov));
        assert_eq!(&entry.fourcc, b"hvc1");
        let mut f = entry.fields();
        f.bytes(78);
        let config = parse_single_box(f.rest());
        assert_eq!(
            (&config.fourcc, config.payload),
            (b"hvcC", &[1u8, 2, 3][..])
        );
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

/// The `trak` boxes of a two-track moov: (video, audio).
fn video_and_audio_traks<'a>(moov: &Mp4Box<'a>) -> (Mp4Box<'a>, Mp4Box<'a>) {
    let traks: Vec<Mp4Box<'a>> = moov
        .children()
        .into_iter()
        .filter(|b| &b.fourcc == b"trak")
        .collect();
    assert_eq!(traks.len(), 2);
    (traks[0], traks[1])
}

fn audio_trak<'a>(moov: &Mp4Box<'a>) -> Mp4Box<'a> {
    video_and_audio_traks(moov).1
}

#[test]
fn audio_trak_has_the_sound_box_tree() {
    for entry in [aac_entry(), opus_entry(opus_stereo_config())] {
        with_moov(&video_and_audio_movie(entry.clone()), |moov| {
            let trak = audio_trak(&moov);
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
            let (_, _, mut stsd) = trak.path("mdia/minf/stbl/stsd").full_box();
            assert_eq!(stsd.u32(), 1, "entry_count");
            let expected_fourcc = match &entry {
                SampleEntry::Audio(audio) => match audio.codec {
                    AudioCodecConfig::Aac { .. } => *b"mp4a",
                    AudioCodecConfig::Opus(_) => *b"Opus",
                },
                SampleEntry::Video(_) => unreachable!("audio entries only"),
            };
            let audio_entry = parse_audio_entry(&parse_single_box(stsd.rest()));
            assert_eq!(audio_entry.fourcc, expected_fourcc);
            assert_eq!(audio_entry.channel_count, 2);
        });
    }
}

#[test]
fn audio_tkhd_has_full_volume_and_no_size() {
    with_moov(&video_and_audio_movie(aac_entry()), |moov| {
        let (version, flags, mut f) = audio_trak(&moov).child(b"tkhd").full_box();
        assert_eq!((version, flags), (0, 7), "enabled | in_movie | in_preview");
        assert_eq!((f.u32(), f.u32()), (0, 0), "creation/modification time");
        assert_eq!(f.u32(), 2, "track_ID");
        assert_eq!(f.u32(), 0, "reserved");
        // 47 * 1024 / 48000 s = 1002.67 ms, rounded up.
        assert_eq!(f.u32(), 1003, "duration");
        assert_eq!(f.bytes(8), &[0; 8], "reserved");
        assert_eq!((f.i16(), f.i16()), (0, 0), "layer, alternate_group");
        assert_eq!(f.i16(), 0x0100, "volume 1.0");
        assert_eq!(f.u16(), 0, "reserved");
        assert_eq!(read_matrix(&mut f), IDENTITY);
        assert_eq!((f.u32(), f.u32()), (0, 0), "width, height");
        f.assert_end();

        let video_tkhd = video_and_audio_traks(&moov).0.child(b"tkhd");
        let mut f = video_tkhd.full_box().2;
        f.bytes(20 + 8 + 4);
        assert_eq!(f.i16(), 0, "video keeps volume 0");
    });
}

#[test]
fn audio_hdlr_and_smhd_fields() {
    with_moov(&video_and_audio_movie(aac_entry()), |moov| {
        let trak = audio_trak(&moov);
        let (version, flags, mut f) = trak.path("mdia/hdlr").full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!(f.u32(), 0, "pre_defined");
        assert_eq!(&f.fourcc(), b"soun");
        assert_eq!(f.bytes(12), &[0; 12]);
        assert_eq!(f.rest(), b"SoundHandler\0");

        let smhd = trak.path("mdia/minf/smhd");
        assert_eq!(smhd.size, 16);
        let (version, flags, mut f) = smhd.full_box();
        assert_eq!((version, flags), (0, 0));
        assert_eq!(f.i16(), 0, "balance: centre");
        assert_eq!(f.u16(), 0, "reserved");
        f.assert_end();

        let (_, _, _, tracks) = parse_moov(&moov);
        assert_eq!(tracks[1].timescale, 48_000);
        assert_eq!(tracks[1].media_duration, 47 * 1024);
    });
}

#[test]
fn audio_stss_lists_non_sync_samples_when_there_are_some() {
    let mut movie = video_and_audio_movie(aac_entry());
    movie.tracks[1].samples[3].sync = false;
    with_moov(&movie, |moov| {
        let stbl = audio_trak(&moov).path("mdia/minf/stbl");
        let (samples, _, _) = expand_sample_tables(&stbl);
        assert_eq!(samples, movie.tracks[1].samples);
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

fn table(movie: &Movie, fourcc: &[u8; 4]) -> (u8, Vec<u32>) {
    with_moov(movie, |moov| {
        let (version, _, mut f) = moov.path("trak/mdia/minf/stbl").child(fourcc).full_box();
        let mut words = Vec::new();
        while f.remaining() > 0 {
            words.push(f.u32());
        }
        (version, words)
    })
}

#[test]
fn stts_is_run_length_encoded() {
    let durations = [10, 10, 10, 20, 20, 10];
    let samples = durations.iter().map(|&d| sample(1, d, 0, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(table(&movie, b"stts"), (0, vec![3, 3, 10, 2, 20, 1, 10]));
}

#[test]
fn ctts_is_omitted_when_all_offsets_are_zero() {
    let movie = one_track_movie(vec![sample(1, 1, 0, true); 5], None);
    assert!(!stbl_child_types(&movie).contains(&"ctts".to_owned()));
}

#[test]
fn ctts_is_run_length_encoded_version_0_when_non_negative() {
    let offsets = [1024, 1024, 0, 0, 0, 2048];
    let samples = offsets.iter().map(|&o| sample(1, 512, o, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(table(&movie, b"ctts"), (0, vec![3, 2, 1024, 3, 0, 1, 2048]));
}

#[test]
fn ctts_uses_version_1_for_negative_offsets() {
    let offsets = [-512, -512, 512];
    let samples = offsets.iter().map(|&o| sample(1, 512, o, true)).collect();
    let movie = one_track_movie(samples, None);
    let minus_512 = (-512i32) as u32;
    assert_eq!(table(&movie, b"ctts"), (1, vec![2, 2, minus_512, 1, 512]));
}

#[test]
fn stss_is_omitted_when_every_sample_is_sync() {
    let movie = one_track_movie(vec![sample(1, 1, 0, true); 5], None);
    assert!(!stbl_child_types(&movie).contains(&"stss".to_owned()));
}

#[test]
fn stss_lists_one_based_sync_sample_numbers() {
    let movie = one_track_movie(ipbb(9), None);
    assert_eq!(table(&movie, b"stss"), (0, vec![3, 1, 5, 9]));
}

#[test]
fn stsz_uses_the_constant_form_when_all_sizes_are_equal() {
    let movie = one_track_movie(vec![sample(700, 1, 0, true); 4], None);
    assert_eq!(table(&movie, b"stsz"), (0, vec![700, 4]));
}

#[test]
fn stsz_lists_sizes_when_they_differ_or_are_all_zero() {
    let samples = [5, 6, 5].iter().map(|&s| sample(s, 1, 0, true)).collect();
    let movie = one_track_movie(samples, None);
    assert_eq!(table(&movie, b"stsz"), (0, vec![0, 3, 5, 6, 5]));
    // A constant size of 0 would announce a table that is not there.
    let movie = one_track_movie(vec![sample(0, 1, 0, true); 2], None);
    assert_eq!(table(&movie, b"stsz"), (0, vec![0, 2, 0, 0]));
}

#[test]
fn chunks_are_contiguous_runs_and_stsc_is_run_length_encoded() {
    let movie = one_track_movie(vec![sample(10, 1, 0, true); 9], None);
    // Chunks of 2, 2, 3, 1, 1 samples, separated by gaps.
    let offsets = vec![vec![100, 110, 200, 210, 300, 310, 320, 400, 500]];
    let bytes = build_moov(&movie, &offsets).unwrap();
    let moov = parse_single_box(&bytes);
    let stbl = moov.path("trak/mdia/minf/stbl");
    let words = |fourcc: &[u8; 4]| {
        let mut f = stbl.child(fourcc).full_box().2;
        (0..f.remaining() / 4).map(|_| f.u32()).collect::<Vec<_>>()
    };
    assert_eq!(words(b"stsc"), [3, 1, 2, 1, 3, 3, 1, 4, 1, 1]);
    assert_eq!(words(b"stco"), [5, 100, 200, 300, 400, 500]);
    let (_, expanded_offsets, chunk_count) = expand_sample_tables(&stbl);
    assert_eq!(expanded_offsets, offsets[0]);
    assert_eq!(chunk_count, 5);
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
    let moov = parse_single_box(&bytes);
    let (_, offsets, _) = expand_sample_tables(&moov.path("trak/mdia/minf/stbl"));
    assert_eq!(offsets, beyond[0]);
}

fn stbl_types_for(movie: &Movie, offsets: &[Vec<u64>]) -> Vec<String> {
    let bytes = build_moov(movie, offsets).unwrap();
    parse_single_box(&bytes)
        .path("trak/mdia/minf/stbl")
        .child_types()
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
        let mvhd = moov.child(b"mvhd");
        let tkhd = moov.path("trak/tkhd");
        let mdhd = moov.path("trak/mdia/mdhd");
        assert_eq!((mvhd.size, tkhd.size, mdhd.size), (120, 104, 44));
        for header in [mvhd, tkhd, mdhd] {
            assert_eq!(header.full_box().0, 1, "{:?}", header.fourcc);
        }
        let (timescale, duration, _, tracks) = parse_moov(&moov);
        assert_eq!((timescale, duration), (12_800, expected));
        assert_eq!(tracks[0].tkhd_duration, expected);
        assert_eq!(tracks[0].media_duration, expected);
        assert_eq!(tracks[0].track_id, 1);
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
        assert_eq!(moov.child(b"mvhd").full_box().0, 0);
        assert_eq!(moov.path("trak/tkhd").full_box().0, 0);
        assert_eq!(moov.path("trak/mdia/mdhd").full_box().0, 1);
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

fn arbitrary_edit() -> impl Strategy<Value = Option<Edit>> {
    let media_time = prop_oneof![Just(-1i64), 0..5000i64, any::<i64>()];
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
        let moov = parse_single_box(&bytes);
        let (timescale, movie_duration, next_track_id, parsed) = parse_moov(&moov);
        prop_assert_eq!(timescale, movie_timescale);
        prop_assert_eq!(next_track_id as usize, movie.tracks.len() + 1);
        prop_assert_eq!(parsed.len(), movie.tracks.len());
        let mut longest = 0;
        for (index, (track, parsed)) in movie.tracks.iter().zip(&parsed).enumerate() {
            prop_assert_eq!(parsed.track_id as usize, index + 1);
            prop_assert_eq!(parsed.timescale, track.timescale);
            prop_assert_eq!(&parsed.samples, &track.samples);
            prop_assert_eq!(&parsed.offsets, &offsets[index]);
            prop_assert_eq!(parsed.edit, track.edit);
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
        prop_assert_eq!(movie_duration, longest);
    }
}
