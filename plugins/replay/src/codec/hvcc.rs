//! The H.265 decoder configuration record, hvcC (ISO/IEC 14496-15 8.3.3.1).

use super::bits::{remove_emulation_prevention, FieldReader};
use super::{
    check_count, first_required, parameter_sets_of_type, write_length_prefixed_nals, CodecError,
    DecoderConfigSummary, RecordReader, VideoCodec,
};

const CODEC: VideoCodec = VideoCodec::H265;
const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;

/// The bytes of an hvcC before its arrays.
const HEADER_SIZE: usize = 23;

/// Bits of one sub_layer profile entry in profile_tier_level: profile space,
/// tier, profile_idc, 32 compatibility flags and 48 constraint bits.
const SUB_LAYER_PROFILE_BITS: usize = 2 + 1 + 5 + 32 + 48;

/// The general profile fields of profile_tier_level (H.265 7.3.3), which an
/// hvcC repeats in the same order.
#[derive(Debug, PartialEq, Eq)]
struct GeneralProfile {
    /// general_profile_space (2 bits), general_tier_flag (1) and general_profile_idc (5).
    space_tier_idc: u8,
    compatibility_flags: u32,
    /// The 48 bits from general_progressive_source_flag on.
    constraint_indicator_flags: u64,
    level_idc: u8,
}

/// The SPS fields an hvcC repeats.
#[derive(Debug, PartialEq, Eq)]
struct SpsSummary {
    max_sub_layers_minus1: u8,
    temporal_id_nesting: bool,
    profile: GeneralProfile,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
}

impl SpsSummary {
    fn parse(sps: &[u8]) -> Result<Self, CodecError> {
        let rbsp = remove_emulation_prevention(sps);
        let mut fields = FieldReader::new(&rbsp, CODEC, "SPS");
        fields.skip(16, "nal_unit_header")?;
        fields.bits(4, "sps_video_parameter_set_id")?;
        let max_sub_layers_minus1 = fields.bits(3, "sps_max_sub_layers_minus1")? as u8;
        // 7 is reserved; it would also overflow hvcC's 3-bit numTemporalLayers.
        if max_sub_layers_minus1 > 6 {
            return Err(fields.invalid("sps_max_sub_layers_minus1", max_sub_layers_minus1.into()));
        }
        let temporal_id_nesting = fields.flag("sps_temporal_id_nesting_flag")?;
        let profile = read_profile_tier_level(&mut fields, max_sub_layers_minus1)?;
        fields.ue_at_most(15, "sps_seq_parameter_set_id")?;
        let chroma_format_idc = fields.ue_at_most(3, "chroma_format_idc")?;
        if chroma_format_idc == 3 {
            fields.flag("separate_colour_plane_flag")?;
        }
        fields.ue("pic_width_in_luma_samples")?;
        fields.ue("pic_height_in_luma_samples")?;
        if fields.flag("conformance_window_flag")? {
            for field in [
                "conf_win_left_offset",
                "conf_win_right_offset",
                "conf_win_top_offset",
                "conf_win_bottom_offset",
            ] {
                fields.ue(field)?;
            }
        }
        // hvcC stores the bit depths in 3 bits; the specification allows up to 8.
        let bit_depth_luma_minus8 = fields.ue_at_most(7, "bit_depth_luma_minus8")?;
        let bit_depth_chroma_minus8 = fields.ue_at_most(7, "bit_depth_chroma_minus8")?;
        Ok(Self {
            max_sub_layers_minus1,
            temporal_id_nesting,
            profile,
            chroma_format_idc,
            bit_depth_luma_minus8,
            bit_depth_chroma_minus8,
        })
    }
}

/// Reads profile_tier_level(1, max_sub_layers_minus1), keeping the general
/// fields and stepping over the sub-layer ones to reach the fields after it.
fn read_profile_tier_level(
    fields: &mut FieldReader<'_>,
    max_sub_layers_minus1: u8,
) -> Result<GeneralProfile, CodecError> {
    let profile = GeneralProfile {
        space_tier_idc: fields.byte("general_profile_idc")?,
        compatibility_flags: fields.bits(32, "general_profile_compatibility_flag")? as u32,
        constraint_indicator_flags: fields.bits(48, "general_constraint_flags")?,
        level_idc: fields.byte("general_level_idc")?,
    };
    let sub_layers = usize::from(max_sub_layers_minus1);
    let mut present = [(false, false); 7];
    for (profile_present, level_present) in present.iter_mut().take(sub_layers) {
        *profile_present = fields.flag("sub_layer_profile_present_flag")?;
        *level_present = fields.flag("sub_layer_level_present_flag")?;
    }
    if sub_layers > 0 {
        fields.skip(2 * (8 - sub_layers), "reserved_zero_2bits")?;
    }
    for &(profile_present, level_present) in present.iter().take(sub_layers) {
        if profile_present {
            fields.skip(SUB_LAYER_PROFILE_BITS, "sub_layer_profile_idc")?;
        }
        if level_present {
            fields.skip(8, "sub_layer_level_idc")?;
        }
    }
    Ok(profile)
}

/// Builds an hvcC with 4-byte NAL lengths; see [`super::decoder_config_from_parameter_sets`].
pub(crate) fn build(nals: &[&[u8]]) -> Result<Vec<u8>, CodecError> {
    let arrays = [
        (VPS, "VPS", parameter_sets_of_type(CODEC, nals, VPS)),
        (SPS, "SPS", parameter_sets_of_type(CODEC, nals, SPS)),
        (PPS, "PPS", parameter_sets_of_type(CODEC, nals, PPS)),
    ];
    for (_, name, parameter_sets) in &arrays {
        first_required(CODEC, parameter_sets, name, nals.len())?;
        // numNalus has 16 bits.
        check_count(CODEC, parameter_sets, name, usize::from(u16::MAX))?;
    }
    let sps = SpsSummary::parse(arrays[1].2[0])?;

    let mut record = header(&sps);
    record.push(arrays.len() as u8); // numOfArrays
    for (nal_type, name, parameter_sets) in &arrays {
        // array_completeness 1: every parameter set of this type is here,
        // none in the samples, as hvc1 sample entries require.
        record.push(0x80 | nal_type);
        record.extend_from_slice(&(parameter_sets.len() as u16).to_be_bytes());
        write_length_prefixed_nals(&mut record, CODEC, name, parameter_sets)?;
    }
    Ok(record)
}

/// The hvcC fields before numOfArrays.
fn header(sps: &SpsSummary) -> Vec<u8> {
    let profile = &sps.profile;
    let mut header = Vec::with_capacity(HEADER_SIZE);
    header.push(1); // configurationVersion
    header.push(profile.space_tier_idc);
    header.extend_from_slice(&profile.compatibility_flags.to_be_bytes());
    header.extend_from_slice(&profile.constraint_indicator_flags.to_be_bytes()[2..]);
    header.push(profile.level_idc);
    // Reserved bits are ones; the zeros are "unknown" or "unspecified".
    header.extend_from_slice(&[0xf0, 0x00]); // min_spatial_segmentation_idc 0
    header.push(0xfc); // parallelismType 0
    header.push(0xfc | sps.chroma_format_idc);
    header.push(0xf8 | sps.bit_depth_luma_minus8);
    header.push(0xf8 | sps.bit_depth_chroma_minus8);
    header.extend_from_slice(&[0x00, 0x00]); // avgFrameRate 0
    let num_temporal_layers = sps.max_sub_layers_minus1 + 1;
    let length_size_minus_one = 3;
    // constantFrameRate 0 (2 bits), numTemporalLayers (3), temporalIdNested (1),
    // lengthSizeMinusOne (2)
    header.push(
        (num_temporal_layers << 3)
            | (u8::from(sps.temporal_id_nesting) << 2)
            | length_size_minus_one,
    );
    header
}

/// Reads the NAL length size and the NAL unit ranges of every array of an hvcC.
pub(crate) fn parse(codec_data: &[u8]) -> Result<DecoderConfigSummary, CodecError> {
    let mut reader = RecordReader::new(codec_data, CODEC);
    let version = reader.byte("configurationVersion")?;
    // Some early writers, following a draft of the format, wrote version 0
    // with the same layout.
    if version > 1 {
        return Err(CodecError::UnsupportedDecoderConfigVersion {
            record: "hvcC",
            version,
        });
    }
    reader.bytes(20, "profile, level and format")?;
    let nal_length_size = reader.nal_length_size()?;
    let array_count = reader.byte("numOfArrays")?;
    let mut parameter_sets = Vec::new();
    for _ in 0..array_count {
        reader.byte("NAL_unit_type")?;
        let nal_count = reader.u16("numNalus")?;
        reader.length_prefixed_nals(usize::from(nal_count), "nalUnit", &mut parameter_sets)?;
    }
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

    /// Writes bit fields, to build SPS variants the encoders do not produce.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bit_count: usize,
    }

    impl BitWriter {
        fn bits(&mut self, count: u32, value: u64) -> &mut Self {
            for shift in (0..count).rev() {
                if self.bit_count.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let bit = ((value >> shift) & 1) as u8;
                *self.bytes.last_mut().unwrap() |= bit << (7 - self.bit_count % 8);
                self.bit_count += 1;
            }
            self
        }

        fn ue(&mut self, value: u32) -> &mut Self {
            let coded = u64::from(value) + 1;
            let length = 64 - coded.leading_zeros();
            self.bits(length - 1, 0).bits(length, coded)
        }

        /// Adds the stop bit and the emulation prevention a real encoder would.
        fn into_nal(mut self) -> Vec<u8> {
            self.bits(1, 1);
            let mut nal = Vec::new();
            let mut zero_run = 0;
            for byte in self.bytes {
                if zero_run >= 2 && byte <= 3 {
                    nal.push(3);
                    zero_run = 0;
                }
                zero_run = if byte == 0 { zero_run + 1 } else { 0 };
                nal.push(byte);
            }
            nal
        }
    }

    /// An SPS with two sub-layers whose profile and level are present, so
    /// that reaching chroma_format_idc depends on stepping over them.
    fn sps_with_sub_layers(chroma_format_idc: u32, bit_depth_minus8: u32) -> Vec<u8> {
        let mut writer = BitWriter::default();
        writer.bits(16, 0x4201); // NAL header: SPS, layer 0, tid 1
        writer.bits(4, 0).bits(3, 2).bits(1, 1); // vps id, max_sub_layers_minus1 2, nesting
        writer
            .bits(8, 0x22)
            .bits(32, 0x2000_0000)
            .bits(48, 0x9000_0000_0000)
            .bits(8, 93);
        writer.bits(2, 0b11).bits(2, 0b01); // sub-layer 0: profile+level; sub-layer 1: level
        writer.bits(2 * 6, 0); // reserved_zero_2bits for the missing six entries
        writer.bits(44, 0).bits(44, 0).bits(8, 90); // sub-layer 0 profile (88 bits) and level
        writer.bits(8, 60); // sub-layer 1 level
        writer.ue(0).ue(chroma_format_idc);
        if chroma_format_idc == 3 {
            writer.bits(1, 0);
        }
        writer.ue(1920).ue(1080).bits(1, 1).ue(0).ue(0).ue(0).ue(4);
        writer.ue(bit_depth_minus8).ue(bit_depth_minus8);
        writer.into_nal()
    }

    const VPS_NAL: &[u8] = &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff];
    const PPS_NAL: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x22, 0x40];

    #[test]
    fn sub_layer_entries_are_stepped_over() {
        let sps = sps_with_sub_layers(2, 2);
        assert_eq!(
            SpsSummary::parse(&sps).unwrap(),
            SpsSummary {
                max_sub_layers_minus1: 2,
                temporal_id_nesting: true,
                profile: GeneralProfile {
                    space_tier_idc: 0x22,
                    compatibility_flags: 0x2000_0000,
                    constraint_indicator_flags: 0x9000_0000_0000,
                    level_idc: 93,
                },
                chroma_format_idc: 2,
                bit_depth_luma_minus8: 2,
                bit_depth_chroma_minus8: 2,
            }
        );
        assert_eq!(
            SpsSummary::parse(&sps_with_sub_layers(3, 0))
                .unwrap()
                .chroma_format_idc,
            3
        );
    }

    #[test]
    fn record_layout() {
        let sps = sps_with_sub_layers(1, 2);
        let record = decoder_config_from_parameter_sets(
            CODEC,
            &[&[0x26, 0x01, 0xaf], PPS_NAL, &sps, VPS_NAL],
        )
        .unwrap();
        let mut expected = vec![
            1,
            0x22,
            0x20,
            0,
            0,
            0,
            0x90,
            0,
            0,
            0,
            0,
            0,
            93,
            0xf0,
            0,
            0xfc,
            0xfd,
            0xfa,
            0xfa,
            0,
            0,
            // numTemporalLayers 3, temporalIdNested, lengthSizeMinusOne 3
            (3 << 3) | (1 << 2) | 3,
            3,
        ];
        for (nal_type, nal) in [(VPS, VPS_NAL), (SPS, &sps[..]), (PPS, PPS_NAL)] {
            expected.extend_from_slice(&[0x80 | nal_type, 0, 1]);
            expected.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            expected.extend_from_slice(nal);
        }
        assert_eq!(record, expected);
        assert_eq!(nal_length_size(CODEC, &record).unwrap(), 4);
        let ranges = parameter_sets_in_decoder_config(CODEC, &record).unwrap();
        let stored: Vec<&[u8]> = ranges.into_iter().map(|range| &record[range]).collect();
        assert_eq!(stored, vec![VPS_NAL, &sps[..], PPS_NAL]);
    }

    #[test]
    fn each_parameter_set_type_is_required() {
        let sps = sps_with_sub_layers(1, 0);
        for (nals, missing) in [
            (vec![&sps[..], PPS_NAL], "VPS"),
            (vec![VPS_NAL, PPS_NAL], "SPS"),
            (vec![VPS_NAL, &sps[..]], "PPS"),
        ] {
            let error = decoder_config_from_parameter_sets(CODEC, &nals).unwrap_err();
            let CodecError::MissingParameterSet {
                parameter_set,
                given,
                ..
            } = error
            else {
                panic!("expected a missing {missing}, got: {error}");
            };
            assert_eq!((parameter_set, given), (missing, 2));
        }
    }

    #[test]
    fn truncated_sps_names_the_field() {
        let sps = sps_with_sub_layers(1, 0);
        let error =
            decoder_config_from_parameter_sets(CODEC, &[VPS_NAL, &sps[..20], PPS_NAL]).unwrap_err();
        assert!(
            matches!(
                error,
                CodecError::TruncatedParameterSet {
                    field: "sub_layer_profile_idc",
                    ..
                }
            ),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains("H.265 SPS ends before its sub_layer_profile_idc field"));
    }

    #[test]
    fn malformed_records_are_rejected() {
        let mut record = vec![1; HEADER_SIZE];
        record[21] = 0x0f;
        record[22] = 1; // one array, but nothing after it
        assert!(matches!(
            nal_length_size(CODEC, &record),
            Err(CodecError::TruncatedDecoderConfig {
                field: "NAL_unit_type",
                ..
            })
        ));
        record.extend_from_slice(&[0xa0, 0, 1, 0, 4, 0x40, 0x01]);
        assert!(matches!(
            nal_length_size(CODEC, &record),
            Err(CodecError::TruncatedDecoderConfig {
                field: "nalUnit",
                ..
            })
        ));
        record.extend_from_slice(&[0x0c, 0x01]);
        assert_eq!(nal_length_size(CODEC, &record).unwrap(), 4);
        assert!(matches!(
            nal_length_size(CODEC, &record[..22]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "numOfArrays",
                ..
            })
        ));
        record[0] = 2;
        assert!(matches!(
            nal_length_size(CODEC, &record),
            Err(CodecError::UnsupportedDecoderConfigVersion { version: 2, .. })
        ));
    }
}
