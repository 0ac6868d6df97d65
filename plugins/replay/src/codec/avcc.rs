//! The H.264 decoder configuration record, avcC (ISO/IEC 14496-15 5.3.3.1).

use super::bits::{remove_emulation_prevention, FieldReader};
use super::{
    check_count, first_required, parameter_sets_of_type, write_length_prefixed_nals, CodecError,
    DecoderConfigSummary, RecordReader, VideoCodec,
};

const CODEC: VideoCodec = VideoCodec::H264;
const SPS: u8 = 7;
const PPS: u8 = 8;
const SPS_EXTENSION: u8 = 13;

/// Profiles whose avcC ends with the chroma format, bit depth and SPS
/// extension fields (ISO/IEC 14496-15 5.3.3.1.2). Their SPS carries those
/// values right after seq_parameter_set_id (H.264 7.3.2.1.1; 144 is the
/// withdrawn High 4:4:4 profile, which had the same syntax).
const PROFILES_WITH_AVCC_EXTENSION: [u8; 4] = [100, 110, 122, 144];

/// The SPS fields an avcC repeats.
#[derive(Debug, PartialEq, Eq)]
struct SpsSummary {
    profile_idc: u8,
    /// constraint_set0..5 flags and reserved_zero_2bits, the byte avcC calls profile_compatibility.
    profile_compatibility: u8,
    level_idc: u8,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
}

impl SpsSummary {
    fn parse(sps: &[u8]) -> Result<Self, CodecError> {
        let rbsp = remove_emulation_prevention(sps);
        let mut fields = FieldReader::new(&rbsp, CODEC, "SPS");
        fields.skip(8, "nal_unit_header")?;
        let profile_idc = fields.byte("profile_idc")?;
        let profile_compatibility = fields.byte("constraint_set_flags")?;
        let level_idc = fields.byte("level_idc")?;
        let mut summary = Self {
            profile_idc,
            profile_compatibility,
            level_idc,
            // The values the specification infers when the SPS leaves them out.
            chroma_format_idc: 1,
            bit_depth_luma_minus8: 0,
            bit_depth_chroma_minus8: 0,
        };
        // Other profiles need nothing past level_idc, so the rest of their
        // SPS is not read (and cannot make the record fail).
        if PROFILES_WITH_AVCC_EXTENSION.contains(&profile_idc) {
            fields.ue_at_most(31, "seq_parameter_set_id")?;
            summary.chroma_format_idc = fields.ue_at_most(3, "chroma_format_idc")?;
            if summary.chroma_format_idc == 3 {
                fields.flag("separate_colour_plane_flag")?;
            }
            // avcC stores the bit depths in 3 bits; the specification allows up to 6.
            summary.bit_depth_luma_minus8 = fields.ue_at_most(7, "bit_depth_luma_minus8")?;
            summary.bit_depth_chroma_minus8 = fields.ue_at_most(7, "bit_depth_chroma_minus8")?;
        }
        Ok(summary)
    }
}

/// Builds an avcC with 4-byte NAL lengths; see [`super::decoder_config_from_parameter_sets`].
pub(crate) fn build(nals: &[&[u8]]) -> Result<Vec<u8>, CodecError> {
    let sequence_parameter_sets = parameter_sets_of_type(CODEC, nals, SPS);
    let picture_parameter_sets = parameter_sets_of_type(CODEC, nals, PPS);
    let sps_extensions = parameter_sets_of_type(CODEC, nals, SPS_EXTENSION);
    let first_sps = first_required(CODEC, &sequence_parameter_sets, "SPS", nals.len())?;
    first_required(CODEC, &picture_parameter_sets, "PPS", nals.len())?;
    // numOfSequenceParameterSets has 5 bits; the PPS and extension counts 8.
    check_count(CODEC, &sequence_parameter_sets, "SPS", 31)?;
    check_count(CODEC, &picture_parameter_sets, "PPS", 255)?;
    check_count(CODEC, &sps_extensions, "SPS extension", 255)?;
    let sps = SpsSummary::parse(first_sps)?;

    let mut record = vec![
        1, // configurationVersion
        sps.profile_idc,
        sps.profile_compatibility,
        sps.level_idc,
        0xfc | 3, // reserved bits, lengthSizeMinusOne = 3
        0xe0 | sequence_parameter_sets.len() as u8,
    ];
    write_length_prefixed_nals(&mut record, CODEC, "SPS", &sequence_parameter_sets)?;
    record.push(picture_parameter_sets.len() as u8);
    write_length_prefixed_nals(&mut record, CODEC, "PPS", &picture_parameter_sets)?;
    if PROFILES_WITH_AVCC_EXTENSION.contains(&sps.profile_idc) {
        record.extend_from_slice(&[
            0xfc | sps.chroma_format_idc,
            0xf8 | sps.bit_depth_luma_minus8,
            0xf8 | sps.bit_depth_chroma_minus8,
            sps_extensions.len() as u8,
        ]);
        write_length_prefixed_nals(&mut record, CODEC, "SPS extension", &sps_extensions)?;
    }
    Ok(record)
}

/// Reads the NAL length size and the SPS and PPS ranges of an avcC.
pub(crate) fn parse(codec_data: &[u8]) -> Result<DecoderConfigSummary, CodecError> {
    let mut reader = RecordReader::new(codec_data, CODEC);
    let version = reader.byte("configurationVersion")?;
    if version != 1 {
        return Err(CodecError::UnsupportedDecoderConfigVersion {
            record: "avcC",
            version,
        });
    }
    reader.bytes(3, "AVCProfileIndication")?;
    let nal_length_size = reader.nal_length_size()?;
    let mut parameter_sets = Vec::new();
    let sps_count = reader.byte("numOfSequenceParameterSets")? & 0x1f;
    reader.length_prefixed_nals(
        usize::from(sps_count),
        "sequenceParameterSetNALUnit",
        &mut parameter_sets,
    )?;
    let pps_count = reader.byte("numOfPictureParameterSets")?;
    reader.length_prefixed_nals(
        usize::from(pps_count),
        "pictureParameterSetNALUnit",
        &mut parameter_sets,
    )?;
    Ok(DecoderConfigSummary {
        nal_length_size,
        parameter_sets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{
        decoder_config_from_parameter_sets, nal_length_size, parameter_sets_in_decoder_config,
    };

    /// Baseline profile SPS and PPS (x264, 320x240).
    const BASELINE_SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10];
    const PPS_NAL: &[u8] = &[0x68, 0xcb, 0x83, 0xcb, 0x20];

    /// High 4:2:2 profile (122) SPS: seq_parameter_set_id 0, chroma_format_idc 2,
    /// bit_depth_luma_minus8 2, bit_depth_chroma_minus8 2, then stop bit.
    /// Bits after level: 1 | 011 | 011 | 011 | 1 -> 1011 0110 1110 0000
    const HIGH_422_SPS: &[u8] = &[0x67, 122, 0x00, 0x1f, 0xb6, 0xe0];

    #[test]
    fn baseline_record_has_no_extension() {
        let record =
            decoder_config_from_parameter_sets(CODEC, &[PPS_NAL, &[0x65, 0x88], BASELINE_SPS])
                .unwrap();
        let mut expected = vec![1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, 10];
        expected.extend_from_slice(BASELINE_SPS);
        expected.extend_from_slice(&[1, 0, 5]);
        expected.extend_from_slice(PPS_NAL);
        assert_eq!(record, expected);
        assert_eq!(nal_length_size(CODEC, &record).unwrap(), 4);
        let ranges = parameter_sets_in_decoder_config(CODEC, &record).unwrap();
        let stored: Vec<&[u8]> = ranges.into_iter().map(|range| &record[range]).collect();
        assert_eq!(stored, vec![BASELINE_SPS, PPS_NAL]);
    }

    #[test]
    fn high_profile_record_has_extension_from_the_sps() {
        assert_eq!(
            SpsSummary::parse(HIGH_422_SPS).unwrap(),
            SpsSummary {
                profile_idc: 122,
                profile_compatibility: 0,
                level_idc: 0x1f,
                chroma_format_idc: 2,
                bit_depth_luma_minus8: 2,
                bit_depth_chroma_minus8: 2,
            }
        );
        let sps_extension: &[u8] = &[0x6d, 0x80];
        let record = decoder_config_from_parameter_sets(
            CODEC,
            &[HIGH_422_SPS, PPS_NAL, sps_extension, HIGH_422_SPS],
        )
        .unwrap();
        let tail = &record[record.len() - 8..];
        assert_eq!(tail, &[0xfe, 0xfa, 0xfa, 1, 0, 2, 0x6d, 0x80]);
        // The repeated SPS is stored once.
        assert_eq!(record[5], 0xe1);
    }

    #[test]
    fn missing_parameter_sets_are_named() {
        let error = decoder_config_from_parameter_sets(CODEC, &[PPS_NAL]).unwrap_err();
        assert!(matches!(
            error,
            CodecError::MissingParameterSet {
                parameter_set: "SPS",
                given: 1,
                ..
            }
        ));
        let error = decoder_config_from_parameter_sets(CODEC, &[BASELINE_SPS]).unwrap_err();
        assert!(matches!(
            error,
            CodecError::MissingParameterSet {
                parameter_set: "PPS",
                ..
            }
        ));
    }

    #[test]
    fn truncated_sps_names_the_field() {
        let error =
            decoder_config_from_parameter_sets(CODEC, &[&[0x67, 100, 0], PPS_NAL]).unwrap_err();
        assert!(matches!(
            error,
            CodecError::TruncatedParameterSet {
                field: "level_idc",
                ..
            }
        ));
        // High profile SPS cut before chroma_format_idc.
        let error =
            decoder_config_from_parameter_sets(CODEC, &[&[0x67, 100, 0, 0x1f, 0x80], PPS_NAL])
                .unwrap_err();
        assert!(matches!(
            error,
            CodecError::TruncatedParameterSet {
                field: "chroma_format_idc",
                ..
            }
        ));
        // chroma_format_idc 4 (00101) is out of range.
        let error =
            decoder_config_from_parameter_sets(CODEC, &[&[0x67, 100, 0, 0x1f, 0x94], PPS_NAL])
                .unwrap_err();
        assert!(matches!(
            error,
            CodecError::InvalidParameterSetField {
                field: "chroma_format_idc",
                value: 4,
                ..
            }
        ));
    }

    #[test]
    fn malformed_records_are_rejected() {
        assert!(matches!(
            nal_length_size(CODEC, &[]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "configurationVersion",
                ..
            })
        ));
        assert!(matches!(
            nal_length_size(CODEC, &[0, 0, 0, 1, 0x67]),
            Err(CodecError::UnsupportedDecoderConfigVersion { version: 0, .. })
        ));
        assert!(matches!(
            nal_length_size(CODEC, &[1, 0x42, 0, 0x1e, 0xfe, 0xe1, 0, 9, 0x67]),
            Err(CodecError::InvalidDecoderConfigLengthSize { size: 3, .. })
        ));
        assert!(matches!(
            nal_length_size(CODEC, &[1, 0x42, 0, 0x1e, 0xfd, 0xe1, 0, 9, 0x67]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "sequenceParameterSetNALUnit",
                ..
            })
        ));
        // Two-byte NAL lengths, no SPS or PPS: still a readable record.
        assert_eq!(
            nal_length_size(CODEC, &[1, 0x42, 0, 0x1e, 0xfd, 0xe0, 0]).unwrap(),
            2
        );
    }
}
