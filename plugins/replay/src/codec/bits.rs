//! Bit-level reading of parameter sets: emulation-prevention removal and an
//! Exp-Golomb bit reader whose errors name the field being read.

use super::{CodecError, VideoCodec};

/// Returns the RBSP of a NAL unit: its bytes with every emulation-prevention
/// byte (the `03` of a `00 00 03` sequence) removed, so fields can be read bit by bit.
pub(crate) fn remove_emulation_prevention(nal: &[u8]) -> Vec<u8> {
    let mut rbsp = Vec::with_capacity(nal.len());
    let mut zero_run = 0usize;
    for &byte in nal {
        if zero_run >= 2 && byte == 0x03 {
            zero_run = 0;
            continue;
        }
        zero_run = if byte == 0 { zero_run + 1 } else { 0 };
        rbsp.push(byte);
    }
    rbsp
}

/// Why a bit read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BitReadError {
    /// The data ended before the field did.
    OutOfData,
    /// An Exp-Golomb code had more than 31 leading zero bits; no field of a
    /// valid parameter set needs that many, and the value would not fit a `u32`.
    ExpGolombTooLong,
}

/// Reads big-endian bit fields and unsigned Exp-Golomb codes from an RBSP.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    bit_position: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            bit_position: 0,
        }
    }

    fn remaining_bits(&self) -> usize {
        self.data
            .len()
            .saturating_mul(8)
            .saturating_sub(self.bit_position)
    }

    pub(crate) fn read_bit(&mut self) -> Result<bool, BitReadError> {
        let byte = self
            .data
            .get(self.bit_position / 8)
            .ok_or(BitReadError::OutOfData)?;
        let bit = (byte >> (7 - self.bit_position % 8)) & 1;
        self.bit_position += 1;
        Ok(bit == 1)
    }

    /// Reads `count` bits (at most 64) as a big-endian unsigned number.
    pub(crate) fn read_bits(&mut self, count: u32) -> Result<u64, BitReadError> {
        debug_assert!(count <= 64, "read_bits reads at most 64 bits");
        // Checking up front keeps the reader unchanged when a field is cut short.
        if self.remaining_bits() < count as usize {
            return Err(BitReadError::OutOfData);
        }
        let mut value = 0u64;
        for _ in 0..count {
            value = (value << 1) | u64::from(self.read_bit()?);
        }
        Ok(value)
    }

    pub(crate) fn skip_bits(&mut self, count: usize) -> Result<(), BitReadError> {
        if self.remaining_bits() < count {
            return Err(BitReadError::OutOfData);
        }
        self.bit_position += count;
        Ok(())
    }

    /// Reads an unsigned Exp-Golomb code, `ue(v)` in the H.264/H.265 specifications.
    pub(crate) fn read_ue(&mut self) -> Result<u32, BitReadError> {
        let mut leading_zeros = 0u32;
        while !self.read_bit()? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(BitReadError::ExpGolombTooLong);
            }
        }
        let suffix = self.read_bits(leading_zeros)?;
        // With at most 31 leading zeros the value is at most 2^32 - 2.
        let value = (1u64 << leading_zeros) - 1 + suffix;
        u32::try_from(value).map_err(|_| BitReadError::ExpGolombTooLong)
    }
}

/// A [`BitReader`] over one parameter set whose errors say which field of
/// which parameter set could not be read, so users can tell what is corrupt.
pub(crate) struct FieldReader<'a> {
    bits: BitReader<'a>,
    codec: VideoCodec,
    parameter_set: &'static str,
}

impl<'a> FieldReader<'a> {
    /// `rbsp` is the parameter set with emulation prevention already removed.
    pub(crate) fn new(rbsp: &'a [u8], codec: VideoCodec, parameter_set: &'static str) -> Self {
        Self {
            bits: BitReader::new(rbsp),
            codec,
            parameter_set,
        }
    }

    fn error(&self, error: BitReadError, field: &'static str) -> CodecError {
        match error {
            BitReadError::OutOfData => CodecError::TruncatedParameterSet {
                codec: self.codec,
                parameter_set: self.parameter_set,
                field,
            },
            BitReadError::ExpGolombTooLong => CodecError::MalformedExpGolomb {
                codec: self.codec,
                parameter_set: self.parameter_set,
                field,
            },
        }
    }

    /// The error for a field whose value was read but is out of its allowed range.
    pub(crate) fn invalid(&self, field: &'static str, value: u64) -> CodecError {
        CodecError::InvalidParameterSetField {
            codec: self.codec,
            parameter_set: self.parameter_set,
            field,
            value,
        }
    }

    pub(crate) fn bits(&mut self, count: u32, field: &'static str) -> Result<u64, CodecError> {
        self.bits.read_bits(count).map_err(|e| self.error(e, field))
    }

    pub(crate) fn byte(&mut self, field: &'static str) -> Result<u8, CodecError> {
        // Eight bits always fit a u8.
        Ok(self.bits(8, field)? as u8)
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, CodecError> {
        self.bits.read_bit().map_err(|e| self.error(e, field))
    }

    pub(crate) fn skip(&mut self, count: usize, field: &'static str) -> Result<(), CodecError> {
        self.bits.skip_bits(count).map_err(|e| self.error(e, field))
    }

    pub(crate) fn ue(&mut self, field: &'static str) -> Result<u32, CodecError> {
        self.bits.read_ue().map_err(|e| self.error(e, field))
    }

    /// Reads `ue(v)` and checks it against the largest value the field may take.
    pub(crate) fn ue_at_most(
        &mut self,
        maximum: u8,
        field: &'static str,
    ) -> Result<u8, CodecError> {
        let value = self.ue(field)?;
        match u8::try_from(value) {
            Ok(small) if small <= maximum => Ok(small),
            _ => Err(self.invalid(field, u64::from(value))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        assert_eq!(
            remove_emulation_prevention(&[0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3]),
            vec![0x67, 0, 0, 1, 0, 0, 0, 0]
        );
        // A 03 not preceded by two zeros is data.
        assert_eq!(remove_emulation_prevention(&[0, 3, 0, 3]), vec![0, 3, 0, 3]);
        // After a removed 03 the zero count starts again.
        assert_eq!(
            remove_emulation_prevention(&[0, 0, 3, 0, 3]),
            vec![0, 0, 0, 3]
        );
    }

    #[test]
    fn bits_and_exp_golomb_codes_are_read_in_order() {
        // 1 | 010 | 011 | 00100 | 0001000 | 101 -> ue 0, 1, 2, 3, 7, then bits 101.
        let data = [0b1010_0110, 0b0100_0001, 0b0001_0100];
        let mut reader = BitReader::new(&data);
        assert_eq!(reader.read_ue(), Ok(0));
        assert_eq!(reader.read_ue(), Ok(1));
        assert_eq!(reader.read_ue(), Ok(2));
        assert_eq!(reader.read_ue(), Ok(3));
        assert_eq!(reader.read_ue(), Ok(7));
        assert_eq!(reader.read_bits(3), Ok(0b101));
        assert_eq!(reader.read_bits(3), Err(BitReadError::OutOfData));
        assert_eq!(reader.read_bits(2), Ok(0));
        assert_eq!(reader.read_bit(), Err(BitReadError::OutOfData));
    }

    #[test]
    fn largest_exp_golomb_code_fits_and_longer_ones_are_rejected() {
        // 31 zeros, a one, then 31 ones: 2^32 - 2.
        let mut data = vec![0u8, 0, 0, 0b0000_0001];
        data.extend([0xff; 4]);
        assert_eq!(BitReader::new(&data).read_ue(), Ok(u32::MAX - 1));
        let too_long = [0u8, 0, 0, 0, 0x80];
        assert_eq!(
            BitReader::new(&too_long).read_ue(),
            Err(BitReadError::ExpGolombTooLong)
        );
        assert_eq!(
            BitReader::new(&[0, 0]).read_ue(),
            Err(BitReadError::OutOfData)
        );
    }

    #[test]
    fn skip_past_the_end_fails_without_moving() {
        let mut reader = BitReader::new(&[0xff]);
        assert_eq!(reader.skip_bits(9), Err(BitReadError::OutOfData));
        assert_eq!(reader.read_bits(8), Ok(0xff));
    }
}
