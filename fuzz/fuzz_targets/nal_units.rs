//! Access units in either framing through `nal_units`, `plan_sample` and
//! `byte_stream_nals_before_picture`.
//!
//! Input: byte 0 picks the framing (0: byte-stream, n: n-byte length prefixes, where
//! only 1, 2 and 4 are valid); byte 1 bit 0 picks H.265 over H.264 and bit 1 strips
//! parameter sets; the rest is the access unit.
//!
//! Checked: every NAL unit lies inside the data, in order and without overlap; the
//! iterator stops after an error; the planned sample's size is the bytes its pieces
//! write, and reading that sample back as length-prefixed NAL units gives exactly the
//! NAL units kept from the input; a failed plan leaves the piece list as it was.

#![no_main]

use libfuzzer_sys::fuzz_target;
use replay_fuzz::codec::{
    byte_stream_nals_before_picture, nal_units, plan_sample, NalFraming, Piece, VideoCodec,
};

fuzz_target!(|input: &[u8]| {
    let [framing, flags, data @ ..] = input else {
        return;
    };
    let framing = match framing {
        0 => NalFraming::ByteStream,
        size => NalFraming::LengthPrefixed(*size),
    };
    let codec = if flags & 1 == 0 {
        VideoCodec::H264
    } else {
        VideoCodec::H265
    };
    let strip_parameter_sets = flags & 2 != 0;

    let nals = check_nal_units(data, framing);
    check_plan(codec, data, framing, strip_parameter_sets, nals.as_deref());
    if framing == NalFraming::ByteStream {
        check_nals_before_picture(codec, data, nals.as_deref());
    }
});

/// The NAL units found, or `None` after an error; panics on a property broken.
fn check_nal_units(data: &[u8], framing: NalFraming) -> Option<Vec<&[u8]>> {
    let mut nals = Vec::new();
    let mut previous_end = 0;
    let mut iterator = nal_units(data, framing);
    for item in iterator.by_ref() {
        let unit = match item {
            Ok(unit) => unit,
            Err(_) => {
                assert!(
                    iterator.next().is_none(),
                    "the iterator must end after an error"
                );
                return None;
            }
        };
        let (unit_range, nal_range) = (unit.unit.clone(), unit.nal.clone());
        assert!(
            unit_range.end <= data.len(),
            "{unit:?} runs past {} bytes",
            data.len()
        );
        assert!(
            unit_range.start <= nal_range.start && nal_range.end == unit_range.end,
            "{unit:?}: the NAL unit must end its unit"
        );
        assert!(!nal_range.is_empty(), "{unit:?}: empty NAL unit");
        assert!(
            unit_range.start >= previous_end,
            "{unit:?} overlaps the one before"
        );
        let nal = &data[nal_range.clone()];
        match framing {
            NalFraming::ByteStream => {
                assert_ne!(nal.last(), Some(&0), "{unit:?}: trailing zero bytes kept");
                assert!(
                    !nal.windows(3).any(|window| window == [0, 0, 1]),
                    "{unit:?}: a start code inside the NAL unit"
                );
                let start_code = &data[unit_range.start..nal_range.start];
                assert!(
                    start_code == [0, 0, 1] || start_code == [0, 0, 0, 1],
                    "{unit:?}: {start_code:?} is not a start code"
                );
            }
            NalFraming::LengthPrefixed(size) => {
                assert_eq!(unit_range.start, previous_end, "{unit:?}: a gap before it");
                let prefix = &data[unit_range.start..nal_range.start];
                assert_eq!(prefix.len(), usize::from(size), "{unit:?}: prefix size");
                let length = prefix
                    .iter()
                    .fold(0usize, |n, &b| (n << 8) | usize::from(b));
                assert_eq!(length, nal.len(), "{unit:?}: length prefix");
            }
        }
        previous_end = unit_range.end;
        nals.push(nal);
    }
    if let NalFraming::LengthPrefixed(_) = framing {
        assert_eq!(
            previous_end,
            data.len(),
            "length-prefixed data ended without an error"
        );
    }
    Some(nals)
}

fn is_parameter_set(codec: VideoCodec, nal: &[u8]) -> bool {
    codec
        .nal_type(nal)
        .is_some_and(|nal_type| codec.is_parameter_set(nal_type))
}

fn check_plan(
    codec: VideoCodec,
    data: &[u8],
    framing: NalFraming,
    strip_parameter_sets: bool,
    nals: Option<&[&[u8]]>,
) {
    // A piece from an earlier plan: it must be kept and never merged with.
    let earlier = Piece::Data(0..0);
    let mut pieces = vec![earlier.clone()];
    let planned = plan_sample(codec, data, framing, strip_parameter_sets, &mut pieces);
    let Ok(size) = planned else {
        assert_eq!(
            pieces,
            [earlier],
            "a failed plan must leave the pieces as they were"
        );
        // Only a malformed access unit or a sample over 4 GiB may fail.
        assert!(nals.is_none(), "plan_sample failed on data nal_units reads");
        return;
    };
    let nals = nals.expect("plan_sample succeeded where nal_units failed");
    assert_eq!(pieces[0], earlier, "an earlier piece was changed");

    let mut sample = Vec::new();
    for piece in &pieces[1..] {
        match piece {
            Piece::Data(range) => {
                assert!(range.end <= data.len(), "{piece:?} outside the data");
                sample.extend_from_slice(&data[range.clone()]);
            }
            Piece::Length4(length) => sample.extend_from_slice(&length.to_be_bytes()),
        }
    }
    assert_eq!(
        size as usize,
        sample.len(),
        "the size must be what the pieces write"
    );
    if pieces.len() > 1 {
        assert!(size > 0, "pieces planned for an empty sample");
    }

    let kept: Vec<&[u8]> = nals
        .iter()
        .copied()
        .filter(|nal| !(strip_parameter_sets && is_parameter_set(codec, nal)))
        .collect();
    let output_length_size = match framing {
        NalFraming::ByteStream => 4,
        NalFraming::LengthPrefixed(size) => size,
    };
    let written: Vec<&[u8]> = nal_units(&sample, NalFraming::LengthPrefixed(output_length_size))
        .map(|unit| &sample[unit.expect("the planned sample parses").nal])
        .collect();
    assert_eq!(
        written, kept,
        "the sample must hold exactly the kept NAL units"
    );
}

/// The quick scan for parameter sets must find what a full parse finds before the
/// first coded slice.
fn check_nals_before_picture(codec: VideoCodec, data: &[u8], nals: Option<&[&[u8]]>) {
    let found = byte_stream_nals_before_picture(codec, data);
    for nal in &found {
        let start = nal.as_ptr() as usize - data.as_ptr() as usize;
        assert!(
            start + nal.len() <= data.len(),
            "a NAL unit outside the data"
        );
    }
    let Some(nals) = nals else {
        return;
    };
    let expected: Vec<&[u8]> = nals
        .iter()
        .copied()
        .take_while(|nal| {
            !codec
                .nal_type(nal)
                .is_some_and(|nal_type| codec.is_picture_data(nal_type))
        })
        .collect();
    assert_eq!(found, expected, "the NAL units before the first slice");
}
