//! Where each box is: the hand-written part of the reader.
//!
//! mp4-atom decodes what boxes say but not where they are, and it is lenient in a few
//! places a test of our writer must not be. This module covers exactly that, and nothing
//! it decodes:
//!
//! - positions, declared sizes and header lengths (8, or 16 with a 64-bit size), which
//!   tests of `mdat` headers and chunk offsets need; mp4-atom keeps none of them;
//! - the order of the children of a box, which it does not keep;
//! - versions and flags: it drops them after choosing a layout (`vmhd` flags, `url `
//!   self-contained, `tkhd` in_preview, the version of `stts` and the like);
//! - exact nesting: every container, `dref`, `stsd` and sample entry must be filled by its
//!   children to the byte. mp4-atom skips up to 7 trailing bytes after the children of a
//!   container or sample entry, lets a second config box in a sample entry replace the
//!   first, and reads a size of 0 as "to the end", which a finished file never needs;
//! - `free` and `skip` boxes below the top level, which mp4-atom skips silently: the
//!   writers put none there, so one is an error here.

use super::{error, Result};

/// One box and, for the boxes that hold boxes, its children.
#[derive(Debug, Clone)]
pub struct BoxLayout<'a> {
    pub fourcc: [u8; 4],
    /// Offset of the box header in the data given to [`boxes`].
    pub start: u64,
    /// 8, or 16 for a 64-bit size.
    pub header_len: u64,
    /// The declared size, header included.
    pub size: u64,
    /// The whole box, header included.
    pub raw: &'a [u8],
    /// Everything after the header.
    pub payload: &'a [u8],
    /// The boxes inside, in order; empty for a box of fields only.
    pub children: Vec<BoxLayout<'a>>,
}

/// Bytes of fields before the first child, for every box the writers put boxes in.
fn children_at(fourcc: &[u8; 4]) -> Option<usize> {
    match fourcc {
        b"moov" | b"trak" | b"edts" | b"mdia" | b"minf" | b"dinf" | b"stbl" => Some(0),
        // Version and flags, then entry_count.
        b"dref" | b"stsd" => Some(8),
        // SampleEntry (8 bytes) and VisualSampleEntry (70).
        b"avc1" | b"avc3" | b"hvc1" | b"hev1" => Some(78),
        // SampleEntry (8 bytes) and a version-0 AudioSampleEntry (20).
        b"mp4a" | b"Opus" => Some(28),
        _ => None,
    }
}

/// Splits `data` into the boxes that fill it exactly, descending into the boxes that hold
/// boxes. Positions count from the start of `data`.
pub fn boxes(data: &[u8]) -> Result<Vec<BoxLayout<'_>>> {
    split(data, 0, None)
}

/// Parses `data` as exactly one box of type `fourcc`.
pub fn single_box<'a>(data: &'a [u8], fourcc: &[u8; 4]) -> Result<BoxLayout<'a>> {
    let mut found = boxes(data)?;
    match found.as_slice() {
        [only] if &only.fourcc == fourcc => Ok(found.remove(0)),
        _ => error(format!(
            "expected one '{}' box, found {:?}",
            String::from_utf8_lossy(fourcc),
            found.iter().map(BoxLayout::name).collect::<Vec<_>>()
        )),
    }
}

/// `parent` is the name of the box `data` is inside, `None` at the top level.
fn split<'a>(data: &'a [u8], base: u64, parent: Option<&str>) -> Result<Vec<BoxLayout<'a>>> {
    let mut boxes = Vec::new();
    let mut position = 0usize;
    while position < data.len() {
        let at = base + position as u64;
        let rest = &data[position..];
        let Some(header) = rest.get(..8) else {
            return error(format!(
                "{} bytes at {at} are too few for a box header",
                rest.len()
            ));
        };
        let fourcc: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        let name = String::from_utf8_lossy(&fourcc).into_owned();
        if let (Some(parent), b"free" | b"skip") = (parent, &fourcc) {
            return error(format!("'{name}' at {at} inside '{parent}'"));
        }
        let (size, header_len) = match u32::from_be_bytes(header[..4].try_into().expect("4")) {
            0 => {
                return error(format!(
                    "box '{name}' at {at} has size 0 (to the end of the file); a finished \
                     file gives every size"
                ))
            }
            1 => {
                let Some(large) = rest.get(8..16) else {
                    return error(format!("the 64-bit size of '{name}' at {at} is cut off"));
                };
                (
                    u64::from_be_bytes(large.try_into().expect("8 bytes")),
                    16u64,
                )
            }
            size => (u64::from(size), 8u64),
        };
        if size < header_len || size > rest.len() as u64 {
            return error(format!(
                "box '{name}' at {at} says it is {size} bytes, but {} bytes are left in its \
                 parent",
                rest.len()
            ));
        }
        let payload = &rest[header_len as usize..size as usize];
        let payload_start = at + header_len;
        let children = match children_at(&fourcc) {
            None => Vec::new(),
            Some(skip) => match payload.get(skip..) {
                Some(inner) => split(inner, payload_start + skip as u64, Some(&name))?,
                None => {
                    return error(format!(
                        "box '{name}' at {at} is {} bytes, shorter than its {skip} bytes of \
                         fields",
                        payload.len()
                    ))
                }
            },
        };
        boxes.push(BoxLayout {
            fourcc,
            start: at,
            header_len,
            size,
            raw: &rest[..size as usize],
            payload,
            children,
        });
        position += size as usize;
    }
    Ok(boxes)
}

impl<'a> BoxLayout<'a> {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.fourcc).into_owned()
    }

    pub fn payload_start(&self) -> u64 {
        self.start + self.header_len
    }

    pub fn end(&self) -> u64 {
        self.start + self.size
    }

    pub fn child_types(&self) -> Vec<String> {
        self.children.iter().map(BoxLayout::name).collect()
    }

    /// The children of type `fourcc`, in order.
    pub fn all(&self, fourcc: &[u8; 4]) -> Vec<&BoxLayout<'a>> {
        self.children
            .iter()
            .filter(|child| &child.fourcc == fourcc)
            .collect()
    }

    /// The child of type `fourcc`, if there is one; panics if there are two.
    pub fn find_child(&self, fourcc: &[u8; 4]) -> Option<&BoxLayout<'a>> {
        match self.all(fourcc).as_slice() {
            [] => None,
            [one] => Some(one),
            _ => panic!(
                "two '{}' boxes in '{}'",
                String::from_utf8_lossy(fourcc),
                self.name()
            ),
        }
    }

    /// The one child of type `fourcc`; panics naming what there is instead.
    pub fn child(&self, fourcc: &[u8; 4]) -> &BoxLayout<'a> {
        self.find_child(fourcc).unwrap_or_else(|| {
            panic!(
                "no '{}' in '{}' (it has {:?})",
                String::from_utf8_lossy(fourcc),
                self.name(),
                self.child_types()
            )
        })
    }

    /// Descends a slash-separated path of box types, e.g. `"mdia/minf/stbl"`.
    pub fn path(&self, path: &str) -> &BoxLayout<'a> {
        path.split('/').fold(self, |parent, name| {
            let fourcc: [u8; 4] = name.as_bytes().try_into().expect("4-character box type");
            parent.child(&fourcc)
        })
    }

    /// Version and flags of a full box.
    pub fn version_and_flags(&self) -> (u8, u32) {
        let word = u32::from_be_bytes(
            self.payload
                .get(..4)
                .unwrap_or_else(|| panic!("'{}' is too short for a full box", self.name()))
                .try_into()
                .expect("4 bytes"),
        );
        ((word >> 24) as u8, word & 0x00ff_ffff)
    }

    pub fn version(&self) -> u8 {
        self.version_and_flags().0
    }

    /// The payload of a full box after its version and flags.
    pub fn body(&self) -> &'a [u8] {
        self.version_and_flags();
        &self.payload[4..]
    }

    /// The fields before the children of a box that holds boxes (the fixed part of a
    /// sample entry, say); the whole payload of any other box.
    pub fn fields(&self) -> &'a [u8] {
        let end = children_at(&self.fourcc).unwrap_or(self.payload.len());
        &self.payload[..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_do_not_nest_are_errors() {
        let overrun = [0, 0, 0, 9, b'f', b'r', b'e', b'e'];
        assert!(boxes(&overrun).is_err());
        let undersized = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];
        assert!(boxes(&undersized).is_err());
        let to_the_end = [0, 0, 0, 0, b'm', b'd', b'a', b't', 1];
        assert!(boxes(&to_the_end).is_err());
        let cut_header = [0, 0, 0, 8, b'f', b'r', b'e', b'e', 0, 0];
        assert!(boxes(&cut_header).is_err());
    }

    #[test]
    fn reads_a_64_bit_size() {
        let large = [&[0, 0, 0, 1][..], b"mdat", &[0, 0, 0, 0, 0, 0, 0, 17], &[7]].concat();
        let mdat = single_box(&large, b"mdat").unwrap();
        assert_eq!(
            (mdat.header_len, mdat.size, mdat.payload),
            (16, 17, &[7u8][..])
        );
        assert_eq!(mdat.raw, large);
    }

    #[test]
    fn children_must_fill_their_parent() {
        let mvhd = [0, 0, 0, 8, b'm', b'v', b'h', b'd'];
        let moov = |extra: &[u8]| {
            let size = (8 + mvhd.len() + extra.len()) as u32;
            [&size.to_be_bytes()[..], b"moov", &mvhd, extra].concat()
        };
        let exact = moov(&[]);
        let parsed = single_box(&exact, b"moov").unwrap();
        assert_eq!(parsed.child_types(), ["mvhd"]);
        assert_eq!(
            (parsed.children[0].start, parsed.children[0].end()),
            (8, 16)
        );
        // mp4-atom skips a few trailing bytes after the children; this does not.
        assert!(boxes(&moov(&[0, 0, 0])).is_err());
    }

    #[test]
    fn free_boxes_are_only_for_the_top_level() {
        let free = [0, 0, 0, 8, b'f', b'r', b'e', b'e'];
        assert!(boxes(&free).is_ok());
        let moov = [&[0, 0, 0, 16][..], b"moov", &free].concat();
        assert!(boxes(&moov).is_err());
    }

    #[test]
    fn sample_entries_hold_boxes_after_their_fields() {
        let pasp = [&[0, 0, 0, 16][..], b"pasp", &[0, 0, 0, 4, 0, 0, 0, 3]].concat();
        let entry = [
            &(8u32 + 78 + 16).to_be_bytes()[..],
            b"avc1",
            &[0; 78],
            &pasp,
        ]
        .concat();
        let parsed = single_box(&entry, b"avc1").unwrap();
        assert_eq!(parsed.fields().len(), 78);
        assert_eq!(parsed.child(b"pasp").payload, &pasp[8..]);
        let short = [&(8u32 + 10).to_be_bytes()[..], b"avc1", &[0; 10]].concat();
        assert!(boxes(&short).is_err());
    }
}
