//! MPEG-4 descriptors (ISO/IEC 14496-1 §8.3.3) inside `esds`: the other hand-written part.
//!
//! mp4-atom decodes the values of an `esds` (object type, buffer size, bitrates, the
//! AudioSpecificConfig) but forgives its nesting: it skips bytes a descriptor does not use,
//! skips descriptors it does not know, and keeps neither how many bytes a length field
//! took nor the SLConfigDescriptor's value. This reads the nesting and those two.

use super::{error, Result};

/// One descriptor: its tag, how many bytes its length field took, its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor<'a> {
    pub tag: u8,
    pub length_bytes: usize,
    pub payload: &'a [u8],
}

/// Reads one descriptor from the start of `data`; returns it and the bytes after it.
pub fn descriptor(data: &[u8]) -> Result<(Descriptor<'_>, &[u8])> {
    let Some((&tag, mut rest)) = data.split_first() else {
        return error("a descriptor tag is missing");
    };
    let mut len = 0usize;
    let mut length_bytes = 0;
    loop {
        let Some((&byte, after)) = rest.split_first() else {
            return error(format!("the length of descriptor {tag:#x} is cut off"));
        };
        rest = after;
        length_bytes += 1;
        len = (len << 7) | usize::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            break;
        }
        if length_bytes == 4 {
            return error(format!(
                "descriptor {tag:#x} has a length longer than 4 bytes"
            ));
        }
    }
    if len > rest.len() {
        return error(format!(
            "descriptor {tag:#x} says {len} bytes, {} are left in its parent",
            rest.len()
        ));
    }
    let (payload, rest) = rest.split_at(len);
    Ok((
        Descriptor {
            tag,
            length_bytes,
            payload,
        },
        rest,
    ))
}

/// Splits `data` into descriptors whose lengths fill it exactly.
pub fn descriptors(mut data: &[u8]) -> Result<Vec<Descriptor<'_>>> {
    let mut found = Vec::new();
    while !data.is_empty() {
        let (one, rest) = descriptor(data)?;
        found.push(one);
        data = rest;
    }
    Ok(found)
}

/// The descriptors of an `esds` as the writers nest them: one ES_Descriptor filling the
/// box, holding a DecoderConfigDescriptor (with one DecoderSpecificInfo) and an
/// SLConfigDescriptor, each filled exactly.
#[derive(Clone, Copy, Debug)]
pub struct EsdsDescriptors<'a> {
    pub es: Descriptor<'a>,
    pub decoder_config: Descriptor<'a>,
    pub decoder_specific: Descriptor<'a>,
    pub sl_config: Descriptor<'a>,
    /// SLConfigDescriptor `predefined` (2: the one MP4 files use).
    pub sl_predefined: u8,
}

/// Reads the descriptors of an `esds` box body (after its version and flags).
pub fn esds_descriptors(body: &[u8]) -> Result<EsdsDescriptors<'_>> {
    let [es] = descriptors(body)?[..] else {
        return error("esds must hold exactly one descriptor");
    };
    if es.tag != 0x03 {
        return error(format!(
            "esds holds descriptor {:#x}, not an ES_Descriptor",
            es.tag
        ));
    }
    // ES_ID (2 bytes), then flags: none set, so no optional fields follow.
    let Some((&[_, _, flags], inner)) = es.payload.split_first_chunk::<3>() else {
        return error("the ES_Descriptor is too short for its fields");
    };
    if flags & 0xe0 != 0 {
        return error(format!(
            "ES_Descriptor flags {flags:#x} announce optional fields"
        ));
    }
    let [decoder_config, sl_config] = descriptors(inner)?[..] else {
        return error("the ES_Descriptor must hold exactly two descriptors");
    };
    if (decoder_config.tag, sl_config.tag) != (0x04, 0x06) {
        return error(format!(
            "the ES_Descriptor holds descriptors {:#x} and {:#x}, not 0x4 and 0x6",
            decoder_config.tag, sl_config.tag
        ));
    }
    let Some((fields, specific)) = decoder_config.payload.split_first_chunk::<13>() else {
        return error("the DecoderConfigDescriptor is too short for its fields");
    };
    // streamType (6 bits), upStream, then a reserved bit that is always 1.
    if fields[1] & 1 != 1 {
        return error("the DecoderConfigDescriptor's reserved bit is not 1");
    }
    let [decoder_specific] = descriptors(specific)?[..] else {
        return error("the DecoderConfigDescriptor must hold exactly one descriptor");
    };
    if decoder_specific.tag != 0x05 {
        return error(format!(
            "the DecoderConfigDescriptor holds {:#x}, not a DecoderSpecificInfo",
            decoder_specific.tag
        ));
    }
    let [sl_predefined] = sl_config.payload[..] else {
        return error("the SLConfigDescriptor must be one byte");
    };
    Ok(EsdsDescriptors {
        es,
        decoder_config,
        decoder_specific,
        sl_config,
        sl_predefined,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_take_up_to_four_bytes() {
        let (one, rest) = descriptor(&[5, 0x80, 0x80, 0x80, 0x03, 1, 2, 3, 9]).unwrap();
        assert_eq!(
            (one.tag, one.length_bytes, one.payload),
            (5, 4, &[1u8, 2, 3][..])
        );
        assert_eq!(rest, [9]);
        let long = [&[4u8, 0x81, 0x00][..], &[7; 128]].concat();
        assert_eq!(descriptor(&long).unwrap().0.payload.len(), 128);
        assert!(descriptor(&[5, 0x80, 0x80, 0x80, 0x80, 0]).is_err());
        assert!(descriptor(&[5, 2, 0]).is_err(), "overruns its parent");
        assert!(descriptors(&[6, 1, 2, 6]).is_err(), "a second one cut off");
    }
}
