//! avcC/hvcC records: reading arbitrary ones, and building them from parameter sets.
//!
//! Input: byte 0 bit 0 picks H.265 over H.264; the rest is read twice: as a decoder
//! configuration record (as caps' `codec_data`), and as a byte-stream whose NAL units
//! are the parameter sets to build a record from.
//!
//! Checked: reading never panics, announces a NAL length size of 1, 2 or 4 and parameter
//! sets inside the record; a record built from parameter sets reads back with 4-byte
//! lengths and exactly the distinct SPS and PPS (H.264) or VPS, SPS and PPS (H.265)
//! given, in order.

#![no_main]

use libfuzzer_sys::fuzz_target;
use replay_fuzz::codec::{
    decoder_config_from_parameter_sets, nal_length_size, nal_units,
    parameter_sets_in_decoder_config, NalFraming, VideoCodec,
};

fuzz_target!(|input: &[u8]| {
    let [flags, data @ ..] = input else {
        return;
    };
    let codec = if flags & 1 == 0 {
        VideoCodec::H264
    } else {
        VideoCodec::H265
    };
    check_reading(codec, data);
    check_building(codec, data);
});

fn check_reading(codec: VideoCodec, record: &[u8]) {
    let length_size = nal_length_size(codec, record);
    let parameter_sets = parameter_sets_in_decoder_config(codec, record);
    assert_eq!(
        length_size.is_ok(),
        parameter_sets.is_ok(),
        "both readers must agree on whether the record is valid"
    );
    if let Ok(size) = length_size {
        assert!(matches!(size, 1 | 2 | 4), "NAL length size {size}");
    }
    if let Ok(ranges) = parameter_sets {
        for range in ranges {
            assert!(
                range.start <= range.end && range.end <= record.len(),
                "{range:?}"
            );
        }
    }
}

fn check_building(codec: VideoCodec, stream: &[u8]) {
    let Ok(nals) = nal_units(stream, NalFraming::ByteStream)
        .map(|unit| unit.map(|unit| &stream[unit.nal]))
        .collect::<Result<Vec<&[u8]>, _>>()
    else {
        return;
    };
    let Ok(record) = decoder_config_from_parameter_sets(codec, &nals) else {
        return;
    };
    assert_eq!(
        nal_length_size(codec, &record).ok(),
        Some(4),
        "built records use 4-byte lengths"
    );
    let stored: Vec<&[u8]> = parameter_sets_in_decoder_config(codec, &record)
        .expect("a built record reads back")
        .into_iter()
        .map(|range| &record[range])
        .collect();
    // avcC lists its SPS and PPS arrays (SPS extensions are not reported); hvcC its
    // VPS, SPS and PPS arrays.
    let types: &[u8] = match codec {
        VideoCodec::H264 => &[7, 8],
        VideoCodec::H265 => &[32, 33, 34],
    };
    let mut expected: Vec<&[u8]> = Vec::new();
    for &nal_type in types {
        let mut of_type: Vec<&[u8]> = Vec::new();
        for &nal in &nals {
            if codec.nal_type(nal) == Some(nal_type) && !of_type.contains(&nal) {
                of_type.push(nal);
            }
        }
        expected.extend(of_type);
    }
    assert_eq!(
        stored, expected,
        "the record must hold the parameter sets given"
    );
}
