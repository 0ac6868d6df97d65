//! Property tests: arbitrary input never panics, and well-formed access units
//! survive conversion to MP4 samples.

use proptest::prelude::*;

use crate::codec::{
    decoder_config_from_parameter_sets, nal_length_size, nal_units,
    parameter_sets_in_decoder_config, plan_sample, NalFraming, Piece, VideoCodec,
};

/// Parameter sets of real streams (x264 High profile; x265 Main with two
/// temporal sub-layers), mutated below to reach deep into the SPS parsers.
const H264_SPS: &str = "67640014acd94141fb016a0c0c0d4a000003000200000300791e28532c";
const H264_PPS: &str = "68ebecb22c";
const H265_VPS: &str = "40010c02ffff01600000030090000003000003003f00009598acc048";
const H265_SPS: &str = "42010201600000030090000003000003003f0000a0208105965662b3492657ff80008000\
                        b5060606040000030004000003007820";
const H265_PPS: &str = "4401c172b42240";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&text[index..index + 2], 16).unwrap())
        .collect()
}

fn codec() -> impl Strategy<Value = VideoCodec> {
    prop_oneof![Just(VideoCodec::H264), Just(VideoCodec::H265)]
}

/// Any framing, including the unsupported length sizes.
fn framing() -> impl Strategy<Value = NalFraming> {
    prop_oneof![
        Just(NalFraming::ByteStream),
        (0u8..=5).prop_map(NalFraming::LengthPrefixed)
    ]
}

fn length_size() -> impl Strategy<Value = u8> {
    prop_oneof![Just(1u8), Just(2), Just(4)]
}

/// Random bytes that often look like start codes and small lengths.
fn access_unit_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 4 => any::<u8>()],
        0..300,
    )
}

/// A NAL header for `codec` with a random type, often a parameter set's.
fn nal_header(codec: VideoCodec) -> impl Strategy<Value = Vec<u8>> {
    let parameter_set_types: Vec<u8> = match codec {
        VideoCodec::H264 => vec![7, 8, 13],
        VideoCodec::H265 => vec![32, 33, 34],
    };
    let any_type = match codec {
        VideoCodec::H264 => 1u8..=23,
        VideoCodec::H265 => 0u8..=40,
    };
    prop_oneof![prop::sample::select(parameter_set_types), any_type].prop_map(move |nal_type| {
        match codec {
            VideoCodec::H264 => vec![0x60 | nal_type],
            VideoCodec::H265 => vec![nal_type << 1, 0x01],
        }
    })
}

/// A NAL unit as an encoder writes it: header, payload with emulation
/// prevention, never ending in a zero byte.
fn escaped_nal(codec: VideoCodec) -> impl Strategy<Value = Vec<u8>> {
    (nal_header(codec), access_unit_bytes()).prop_map(|(header, payload)| {
        let mut nal = Vec::new();
        let mut zero_run = 0;
        for byte in header.into_iter().chain(payload) {
            if zero_run >= 2 && byte <= 3 {
                nal.push(3);
                zero_run = 0;
            }
            zero_run = if byte == 0 { zero_run + 1 } else { 0 };
            nal.push(byte);
        }
        if nal.last() == Some(&0) {
            nal.push(0x80); // rbsp_stop_one_bit
        }
        nal
    })
}

/// One NAL unit of a byte-stream with its start code size and trailing zeros.
fn byte_stream_entry(codec: VideoCodec) -> impl Strategy<Value = (Vec<u8>, bool, usize)> {
    (escaped_nal(codec), any::<bool>(), 0usize..3)
}

fn is_parameter_set(codec: VideoCodec, nal: &[u8]) -> bool {
    codec
        .nal_type(nal)
        .is_some_and(|t| codec.is_parameter_set(t))
}

fn assemble(data: &[u8], pieces: &[Piece]) -> Vec<u8> {
    let mut sample = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Data(range) => sample.extend_from_slice(&data[range.clone()]),
            Piece::Length4(length) => sample.extend_from_slice(&length.to_be_bytes()),
        }
    }
    sample
}

fn parsed_nals(data: &[u8], framing: NalFraming) -> Vec<Vec<u8>> {
    nal_units(data, framing)
        .map(|unit| data[unit.expect("a well-formed access unit").nal].to_vec())
        .collect()
}

/// Replaces bytes of `nal` and cuts it short, keeping its header intact.
fn mutated(nal: &[u8], mutations: &[(usize, u8)], keep: usize) -> Vec<u8> {
    let mut nal = nal.to_vec();
    for &(index, byte) in mutations {
        let index = 2 + index % (nal.len() - 2);
        nal[index] = byte;
    }
    nal.truncate(keep.max(2));
    nal
}

proptest! {
    #[test]
    fn nal_units_never_panic(data in access_unit_bytes(), framing in framing()) {
        let mut previous_end = 0;
        for unit in nal_units(&data, framing) {
            let Ok(unit) = unit else { break };
            prop_assert!(previous_end <= unit.unit.start);
            prop_assert!(unit.unit.start <= unit.nal.start && unit.nal.start < unit.nal.end);
            prop_assert!(unit.nal.end == unit.unit.end && unit.unit.end <= data.len());
            previous_end = unit.unit.end;
        }
    }

    #[test]
    fn plan_sample_never_panics(
        codec in codec(),
        data in access_unit_bytes(),
        framing in framing(),
        strip in any::<bool>(),
    ) {
        let mut pieces = Vec::new();
        if let Ok(size) = plan_sample(codec, &data, framing, strip, &mut pieces) {
            prop_assert_eq!(assemble(&data, &pieces).len(), size as usize);
        } else {
            prop_assert!(pieces.is_empty());
        }
    }

    #[test]
    fn nal_length_size_never_panics(
        codec in codec(),
        mut record in access_unit_bytes(),
        valid_version in any::<bool>(),
    ) {
        if valid_version && !record.is_empty() {
            record[0] = 1;
        }
        if let Ok(size) = nal_length_size(codec, &record) {
            prop_assert!(matches!(size, 1 | 2 | 4));
            prop_assert!(parameter_sets_in_decoder_config(codec, &record).is_ok());
        }
    }

    #[test]
    fn decoder_config_never_panics_on_random_nals(
        codec in codec(),
        nals in prop::collection::vec((any::<prop::sample::Index>(), access_unit_bytes()), 0..6),
    ) {
        // Give most NAL units a parameter set's header so the parsers run.
        let headers: &[&[u8]] = match codec {
            VideoCodec::H264 => &[&[0x67], &[0x68], &[0x6d], &[0x65]],
            VideoCodec::H265 => &[&[0x40, 0x01], &[0x42, 0x01], &[0x44, 0x01], &[0x26, 0x01]],
        };
        let nals: Vec<Vec<u8>> = nals
            .into_iter()
            .map(|(header, body)| [headers[header.index(headers.len())], &body].concat())
            .collect();
        let nal_refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        if let Ok(record) = decoder_config_from_parameter_sets(codec, &nal_refs) {
            prop_assert_eq!(nal_length_size(codec, &record).unwrap(), 4);
        }
    }

    #[test]
    fn decoder_config_never_panics_on_mutated_real_sps(
        mutations in prop::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        keep in 0usize..64,
    ) {
        let h264_sps = mutated(&hex(H264_SPS), &mutations, keep);
        let _ = decoder_config_from_parameter_sets(VideoCodec::H264, &[&h264_sps, &hex(H264_PPS)]);
        let h265_sps = mutated(&hex(H265_SPS), &mutations, keep);
        let nals = [hex(H265_VPS), h265_sps, hex(H265_PPS)];
        let nal_refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        if let Ok(record) = decoder_config_from_parameter_sets(VideoCodec::H265, &nal_refs) {
            prop_assert_eq!(nal_length_size(VideoCodec::H265, &record).unwrap(), 4);
        }
    }

    #[test]
    fn byte_stream_nals_survive_conversion(
        (codec, entries) in codec().prop_flat_map(|codec| {
            (Just(codec), prop::collection::vec(byte_stream_entry(codec), 0..8))
        }),
        leading_zeros in 0usize..3,
        strip in any::<bool>(),
    ) {
        let mut data = vec![0; leading_zeros];
        for (nal, four_byte_start_code, trailing_zeros) in &entries {
            if *four_byte_start_code {
                data.push(0);
            }
            data.extend_from_slice(&[0, 0, 1]);
            data.extend_from_slice(nal);
            data.extend(std::iter::repeat_n(0, *trailing_zeros));
        }
        prop_assert_eq!(
            parsed_nals(&data, NalFraming::ByteStream),
            entries.iter().map(|(nal, _, _)| nal.clone()).collect::<Vec<_>>()
        );

        let mut pieces = Vec::new();
        let size = plan_sample(codec, &data, NalFraming::ByteStream, strip, &mut pieces).unwrap();
        let sample = assemble(&data, &pieces);
        prop_assert_eq!(sample.len(), size as usize);
        let kept: Vec<Vec<u8>> = entries
            .into_iter()
            .map(|(nal, _, _)| nal)
            .filter(|nal| !(strip && is_parameter_set(codec, nal)))
            .collect();
        prop_assert_eq!(parsed_nals(&sample, NalFraming::LengthPrefixed(4)), kept);
    }

    #[test]
    fn length_prefixed_nals_survive_planning(
        codec in codec(),
        length_size in length_size(),
        nals in prop::collection::vec(prop::collection::vec(any::<u8>(), 2..200), 0..8),
        strip in any::<bool>(),
    ) {
        let framing = NalFraming::LengthPrefixed(length_size);
        let mut data = Vec::new();
        for nal in &nals {
            let length = (nal.len() as u32).to_be_bytes();
            data.extend_from_slice(&length[4 - usize::from(length_size)..]);
            data.extend_from_slice(nal);
        }
        let mut pieces = Vec::new();
        let size = plan_sample(codec, &data, framing, strip, &mut pieces).unwrap();
        let kept: Vec<Vec<u8>> = nals
            .into_iter()
            .filter(|nal| !(strip && is_parameter_set(codec, nal)))
            .collect();
        if !strip && !data.is_empty() {
            prop_assert_eq!(&pieces, &vec![Piece::Data(0..data.len())]);
        }
        // Pieces merge: no two Data pieces are adjacent in the input.
        for pair in pieces.windows(2) {
            if let [Piece::Data(first), Piece::Data(second)] = pair {
                prop_assert!(first.end < second.start);
            }
        }
        let sample = assemble(&data, &pieces);
        prop_assert_eq!(sample.len(), size as usize);
        prop_assert_eq!(parsed_nals(&sample, framing), kept);
    }
}
