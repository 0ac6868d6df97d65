//! Reading the avcC (H.264) and hvcC (H.265) decoder configuration records that caps carry
//! as `codec_data`: enough to know the NAL length size and that the record is well formed,
//! since the record itself goes into the MP4 sample entry unchanged.

use super::{CodecError, VideoCodec};

/// The NAL length size (1, 2 or 4) an avcC or hvcC record announces; errors on a malformed
/// record.
///
/// The record's parameter-set arrays are walked to check they fit; bytes after them (such as
/// the optional avcC high-profile extension) are not checked.
pub fn nal_length_size(codec: VideoCodec, codec_data: &[u8]) -> Result<u8, CodecError> {
    let mut reader = RecordReader {
        record: codec_data,
        position: 0,
        name: codec.decoder_config_name(),
    };
    match codec {
        VideoCodec::H264 => reader.avcc(),
        VideoCodec::H265 => reader.hvcc(),
    }
}

/// Reads the parts of a record, naming the field that is cut short in its errors.
struct RecordReader<'a> {
    record: &'a [u8],
    position: usize,
    name: &'static str,
}

impl<'a> RecordReader<'a> {
    fn avcc(&mut self) -> Result<u8, CodecError> {
        let version = self.byte("configurationVersion")?;
        if version != 1 {
            return Err(self.unsupported_version(version));
        }
        self.bytes(3, "AVCProfileIndication")?;
        let nal_length_size = self.nal_length_size()?;
        let sps_count = self.byte("numOfSequenceParameterSets")? & 0x1f;
        self.length_prefixed_nals(usize::from(sps_count), "sequenceParameterSetNALUnit")?;
        let pps_count = self.byte("numOfPictureParameterSets")?;
        self.length_prefixed_nals(usize::from(pps_count), "pictureParameterSetNALUnit")?;
        Ok(nal_length_size)
    }

    fn hvcc(&mut self) -> Result<u8, CodecError> {
        let version = self.byte("configurationVersion")?;
        // Some early writers, following a draft of the format, wrote version 0 with the
        // same layout.
        if version > 1 {
            return Err(self.unsupported_version(version));
        }
        self.bytes(20, "profile, level and format")?;
        let nal_length_size = self.nal_length_size()?;
        let array_count = self.byte("numOfArrays")?;
        for _ in 0..array_count {
            self.byte("NAL_unit_type")?;
            let nal_count = self.u16("numNalus")?;
            self.length_prefixed_nals(usize::from(nal_count), "nalUnit")?;
        }
        Ok(nal_length_size)
    }

    fn unsupported_version(&self, version: u8) -> CodecError {
        CodecError::UnsupportedDecoderConfigVersion {
            record: self.name,
            version,
        }
    }

    fn bytes(&mut self, count: usize, field: &'static str) -> Result<&'a [u8], CodecError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|&end| end <= self.record.len())
            .ok_or(CodecError::TruncatedDecoderConfig {
                record: self.name,
                field,
                size: self.record.len(),
            })?;
        let bytes = &self.record[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, CodecError> {
        Ok(self.bytes(1, field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, CodecError> {
        let bytes = self.bytes(2, field)?;
        Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
    }

    /// Steps over `count` NAL units, each after its 16-bit length.
    fn length_prefixed_nals(
        &mut self,
        count: usize,
        field: &'static str,
    ) -> Result<(), CodecError> {
        for _ in 0..count {
            let length = usize::from(self.u16(field)?);
            self.bytes(length, field)?;
        }
        Ok(())
    }

    /// Reads the byte ending in the 2-bit lengthSizeMinusOne field.
    fn nal_length_size(&mut self) -> Result<u8, CodecError> {
        match self.byte("lengthSizeMinusOne")? & 0x03 {
            0 => Ok(1),
            1 => Ok(2),
            3 => Ok(4),
            _ => Err(CodecError::InvalidDecoderConfigLengthSize {
                record: self.name,
                size: 3,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avcc_records_are_read_and_malformed_ones_rejected() {
        let avc = VideoCodec::H264;
        // x264's baseline SPS and PPS, 4-byte lengths.
        let record = [
            1, 0x42, 0xc0, 0x0d, 0xff, 0xe1, 0, 10, 0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb,
            0x01, 0x10, 1, 0, 5, 0x68, 0xcb, 0x83, 0xcb, 0x20,
        ];
        assert_eq!(nal_length_size(avc, &record).unwrap(), 4);
        assert!(matches!(
            nal_length_size(avc, &record[..18]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "numOfPictureParameterSets",
                ..
            })
        ));
        assert!(matches!(
            nal_length_size(avc, &[]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "configurationVersion",
                ..
            })
        ));
        assert!(matches!(
            nal_length_size(avc, &[0, 0, 0, 1, 0x67]),
            Err(CodecError::UnsupportedDecoderConfigVersion { version: 0, .. })
        ));
        assert!(matches!(
            nal_length_size(avc, &[1, 0x42, 0, 0x1e, 0xfe, 0xe1, 0, 9, 0x67]),
            Err(CodecError::InvalidDecoderConfigLengthSize { size: 3, .. })
        ));
        assert!(matches!(
            nal_length_size(avc, &[1, 0x42, 0, 0x1e, 0xfd, 0xe1, 0, 9, 0x67]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "sequenceParameterSetNALUnit",
                ..
            })
        ));
        // Two-byte NAL lengths, no SPS or PPS: still a readable record.
        assert_eq!(
            nal_length_size(avc, &[1, 0x42, 0, 0x1e, 0xfd, 0xe0, 0]).unwrap(),
            2
        );
    }

    #[test]
    fn hvcc_records_are_read_and_malformed_ones_rejected() {
        let hevc = VideoCodec::H265;
        let mut record = vec![1; 23];
        record[21] = 0x0f;
        record[22] = 1; // one array, but nothing after it
        assert!(matches!(
            nal_length_size(hevc, &record),
            Err(CodecError::TruncatedDecoderConfig {
                field: "NAL_unit_type",
                ..
            })
        ));
        record.extend_from_slice(&[0xa0, 0, 1, 0, 4, 0x40, 0x01]);
        assert!(matches!(
            nal_length_size(hevc, &record),
            Err(CodecError::TruncatedDecoderConfig {
                field: "nalUnit",
                ..
            })
        ));
        record.extend_from_slice(&[0x0c, 0x01]);
        assert_eq!(nal_length_size(hevc, &record).unwrap(), 4);
        assert!(matches!(
            nal_length_size(hevc, &record[..22]),
            Err(CodecError::TruncatedDecoderConfig {
                field: "numOfArrays",
                ..
            })
        ));
        record[0] = 2;
        let error = nal_length_size(hevc, &record).unwrap_err();
        assert!(matches!(
            error,
            CodecError::UnsupportedDecoderConfigVersion { version: 2, .. }
        ));
        assert_eq!(
            error.to_string(),
            "the hvcC record has configurationVersion 2, which is not supported; the \
             codec_data is not an hvcC record"
        );
    }
}
