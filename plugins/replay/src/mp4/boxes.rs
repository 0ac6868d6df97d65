//! Low-level ISO BMFF box building.
//!
//! A [`BoxWriter`] appends big-endian fields to an in-memory buffer. Boxes are
//! opened through closures ([`BoxWriter::with_box`], [`BoxWriter::with_full_box`])
//! so that every box is closed exactly once; its 32-bit size field is written
//! as a placeholder and patched when the closure returns.

use std::fmt;

/// Size of a box header with a 32-bit size field: `size` + `type`.
pub const BOX_HEADER_LEN: usize = 8;

/// A box grew beyond what a 32-bit size field can describe.
///
/// Boxes built in memory (everything except `mdat`) never come close in
/// practice, but the sample tables are sized by caller input, so this is
/// reported instead of silently writing a wrong size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoxTooLarge {
    /// The type of the first box that overflowed.
    pub fourcc: [u8; 4],
}

impl fmt::Display for BoxTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "box '{}' is larger than 4 GiB",
            String::from_utf8_lossy(&self.fourcc)
        )
    }
}

impl std::error::Error for BoxTooLarge {}

/// Appends big-endian fields and nested boxes to a byte buffer.
#[derive(Debug)]
pub struct BoxWriter {
    buf: Vec<u8>,
    /// Largest size a box may have: what its 32-bit size field can hold.
    /// Only tests lower it, to reach the overflow path without 4 GiB of memory.
    max_box_size: usize,
    /// First box whose size did not fit; reported by [`BoxWriter::finish`].
    too_large: Option<BoxTooLarge>,
}

impl Default for BoxWriter {
    fn default() -> Self {
        Self {
            buf: Vec::new(),
            max_box_size: usize::try_from(u32::MAX).unwrap_or(usize::MAX),
            too_large: None,
        }
    }
}

impl BoxWriter {
    /// Creates an empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    #[cfg(test)]
    fn with_max_box_size(max_box_size: usize) -> Self {
        Self {
            max_box_size,
            ..Self::default()
        }
    }

    /// Number of bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Returns the bytes, or the first box whose size did not fit 32 bits.
    pub fn finish(self) -> Result<Vec<u8>, BoxTooLarge> {
        match self.too_large {
            Some(error) => Err(error),
            None => Ok(self.buf),
        }
    }

    /// Writes a box of type `fourcc` whose payload is whatever `body` writes.
    pub fn with_box(&mut self, fourcc: [u8; 4], body: impl FnOnce(&mut Self)) {
        let start = self.buf.len();
        self.u32(0); // size placeholder, patched below
        self.fourcc(fourcc);
        body(self);
        self.patch_size(start, fourcc);
    }

    /// Writes a "full box": a box whose payload starts with an 8-bit version
    /// and 24-bit flags.
    pub fn with_full_box(
        &mut self,
        fourcc: [u8; 4],
        version: u8,
        flags: u32,
        body: impl FnOnce(&mut Self),
    ) {
        self.with_box(fourcc, |w| {
            w.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
            body(w);
        });
    }

    fn patch_size(&mut self, start: usize, fourcc: [u8; 4]) {
        let size = self.buf.len() - start;
        match u32::try_from(size) {
            Ok(size_field) if size <= self.max_box_size => {
                self.buf[start..start + 4].copy_from_slice(&size_field.to_be_bytes());
            }
            // Inner boxes close first, so this records the innermost offender;
            // any later error is a consequence of it.
            _ => {
                self.too_large.get_or_insert(BoxTooLarge { fourcc });
            }
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Appends `count` zero bytes (reserved fields).
    pub fn zeros(&mut self, count: usize) {
        self.buf.resize(self.buf.len() + count, 0);
    }

    /// Appends a four-character code.
    pub fn fourcc(&mut self, fourcc: [u8; 4]) {
        self.bytes(&fourcc);
    }

    /// Appends a `u8`.
    pub fn u8(&mut self, value: u8) {
        self.buf.push(value);
    }

    /// Appends a big-endian `u16`.
    pub fn u16(&mut self, value: u16) {
        self.bytes(&value.to_be_bytes());
    }

    /// Appends a big-endian `i16`.
    pub fn i16(&mut self, value: i16) {
        self.bytes(&value.to_be_bytes());
    }

    /// Appends a big-endian `u32`.
    pub fn u32(&mut self, value: u32) {
        self.bytes(&value.to_be_bytes());
    }

    /// Appends a big-endian `i32`.
    pub fn i32(&mut self, value: i32) {
        self.bytes(&value.to_be_bytes());
    }

    /// Appends a big-endian `u64`.
    pub fn u64(&mut self, value: u64) {
        self.bytes(&value.to_be_bytes());
    }

    /// Appends a big-endian `i64`.
    pub fn i64(&mut self, value: i64) {
        self.bytes(&value.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_box_is_just_a_header() {
        let mut w = BoxWriter::new();
        w.with_box(*b"free", |_| {});
        assert_eq!(w.finish().unwrap(), b"\0\0\0\x08free");
    }

    #[test]
    fn nested_box_sizes_are_patched_on_close() {
        let mut w = BoxWriter::new();
        w.with_box(*b"moov", |w| {
            w.with_box(*b"abcd", |w| w.u16(0x0102));
            w.with_full_box(*b"efgh", 1, 0x0a0b0c, |w| w.u8(9));
        });
        let bytes = w.finish().unwrap();
        assert_eq!(
            bytes,
            [
                &[0, 0, 0, 31][..],
                b"moov",
                &[0, 0, 0, 10],
                b"abcd",
                &[1, 2],
                &[0, 0, 0, 13],
                b"efgh",
                &[1, 0x0a, 0x0b, 0x0c],
                &[9],
            ]
            .concat()
        );
    }

    #[test]
    fn oversized_box_is_reported_instead_of_written_with_a_wrong_size() {
        let mut w = BoxWriter::with_max_box_size(16);
        w.with_box(*b"moov", |w| w.with_box(*b"stsz", |w| w.zeros(9)));
        assert_eq!(w.finish(), Err(BoxTooLarge { fourcc: *b"stsz" }));

        let mut w = BoxWriter::with_max_box_size(16);
        w.with_box(*b"moov", |w| w.with_box(*b"stsz", |w| w.zeros(8)));
        assert_eq!(w.finish(), Err(BoxTooLarge { fourcc: *b"moov" }));
    }

    #[test]
    fn full_box_flags_are_truncated_to_24_bits() {
        let mut w = BoxWriter::new();
        w.with_full_box(*b"test", 0, 0xff00_0001, |_| {});
        assert_eq!(&w.finish().unwrap()[8..], &[0, 0, 0, 1]);
    }

    #[test]
    fn fields_are_big_endian() {
        let mut w = BoxWriter::new();
        w.u16(0x0102);
        w.i16(-2);
        w.u32(0x0304_0506);
        w.i32(-1);
        w.u64(0x0708_090a_0b0c_0d0e);
        w.i64(-3);
        w.zeros(2);
        w.fourcc(*b"avc1");
        let expected = [
            &[1, 2, 0xff, 0xfe, 3, 4, 5, 6, 0xff, 0xff, 0xff, 0xff][..],
            &[7, 8, 9, 10, 11, 12, 13, 14],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd],
            &[0, 0],
            b"avc1",
        ]
        .concat();
        assert_eq!(w.len(), expected.len());
        assert_eq!(w.finish().unwrap(), expected);
    }
}
