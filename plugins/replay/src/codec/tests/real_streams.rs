//! Checks against real encoder output, made with GStreamer's command line
//! (x264enc, x265enc, h264parse, h265parse). Without gst-launch-1.0 these
//! tests fail with a message saying what to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::codec::{
    decoder_config_from_parameter_sets, nal_length_size, nal_units,
    parameter_sets_in_decoder_config, plan_sample, NalFraming, Piece, VideoCodec,
};

/// A directory for one test's files, removed when the test ends.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(test_name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "replay-codec-test-{}-{test_name}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        Self(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `gst-launch-1.0` with `arguments` (each a whole word of the pipeline)
/// and returns what it printed on standard output.
fn gst_launch(arguments: &[String]) -> String {
    let output = match Command::new("gst-launch-1.0").args(arguments).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run gst-launch-1.0 ({error}); the real-stream tests need GStreamer's \
             command line with x264enc, x265enc, h264parse and h265parse (on Debian: apt-get \
             install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
             gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)"
        ),
    };
    assert!(
        output.status.success(),
        "gst-launch-1.0 {} failed:\n{}\n{}",
        arguments.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn words(pipeline: &str) -> Vec<String> {
    pipeline.split_whitespace().map(str::to_owned).collect()
}

fn location(path: &Path) -> String {
    format!("location={}", path.display())
}

/// What to encode: raw format, encoder properties and caps after the encoder.
struct Source {
    raw_format: &'static str,
    encoder_settings: &'static str,
}

/// Encodes a few frames of test video to a byte-stream file with the
/// parameter sets in front of every keyframe, as the ring would receive it.
fn encode_byte_stream(codec: VideoCodec, source: &Source, output: &Path) {
    let (encoder, parser, media_type, size) = match codec {
        VideoCodec::H264 => ("x264enc", "h264parse", "video/x-h264", 160),
        // x265 is slow; tiny frames keep the test quick.
        VideoCodec::H265 => ("x265enc", "h265parse", "video/x-h265", 64),
    };
    let pipeline = format!(
        "-q videotestsrc num-buffers=5 ! video/x-raw,width={size},height={size},format={} \
         ! {encoder} {} ! {parser} config-interval=-1 \
         ! {media_type},stream-format=byte-stream,alignment=au ! filesink {}",
        source.raw_format,
        source.encoder_settings,
        location(output)
    );
    gst_launch(&words(&pipeline));
}

/// The caps GStreamer's parser gives `input` in length-prefixed form (avc or
/// hvc1), writing that stream to `output`. Returns the caps' codec_data.
fn gstreamer_length_prefixed(codec: VideoCodec, input: &Path, output: &Path) -> Vec<u8> {
    let (parser, caps) = match codec {
        VideoCodec::H264 => ("h264parse", "video/x-h264,stream-format=avc,alignment=au"),
        VideoCodec::H265 => ("h265parse", "video/x-h265,stream-format=hvc1,alignment=au"),
    };
    let pipeline = format!(
        "-v filesrc {} ! {parser} ! {caps} ! filesink {}",
        location(input),
        location(output)
    );
    let printed = gst_launch(&words(&pipeline));
    let marker = "codec_data=(buffer)";
    let start = printed
        .find(marker)
        .unwrap_or_else(|| panic!("no codec_data in the caps gst-launch-1.0 printed:\n{printed}"))
        + marker.len();
    let hex: String = printed[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(&hex[index..index + 2], 16).expect("hex codec_data"))
        .collect()
}

fn parameter_sets(codec: VideoCodec, stream: &[u8]) -> Vec<&[u8]> {
    nal_units(stream, NalFraming::ByteStream)
        .map(|unit| &stream[unit.expect("GStreamer's byte-stream parses").nal])
        .filter(|nal| {
            codec
                .nal_type(nal)
                .is_some_and(|t| codec.is_parameter_set(t))
        })
        .collect()
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

/// Everything these tests compare for one encoded stream.
struct EncodedStream {
    byte_stream: Vec<u8>,
    length_prefixed: Vec<u8>,
    gstreamer_codec_data: Vec<u8>,
    our_codec_data: Vec<u8>,
}

fn encode(codec: VideoCodec, source: &Source, test_name: &str) -> EncodedStream {
    let scratch = ScratchDir::new(test_name);
    let byte_stream_path = scratch.file("stream.byte-stream");
    let length_prefixed_path = scratch.file("stream.length-prefixed");
    encode_byte_stream(codec, source, &byte_stream_path);
    let gstreamer_codec_data =
        gstreamer_length_prefixed(codec, &byte_stream_path, &length_prefixed_path);
    let byte_stream = std::fs::read(&byte_stream_path).expect("read the encoded stream");
    let length_prefixed = std::fs::read(&length_prefixed_path).expect("read the parsed stream");
    let our_codec_data =
        decoder_config_from_parameter_sets(codec, &parameter_sets(codec, &byte_stream))
            .expect("a decoder configuration from real parameter sets");
    check_samples(codec, &byte_stream, &length_prefixed);
    check_record_round_trip(codec, &our_codec_data, &byte_stream);
    EncodedStream {
        byte_stream,
        length_prefixed,
        gstreamer_codec_data,
        our_codec_data,
    }
}

/// The whole file is planned as one access unit: converting the byte-stream
/// must give exactly the length-prefixed stream GStreamer's parser made, and
/// GStreamer's stream must plan as one unchanged piece.
fn check_samples(codec: VideoCodec, byte_stream: &[u8], length_prefixed: &[u8]) {
    let mut pieces = Vec::new();
    let size = plan_sample(
        codec,
        byte_stream,
        NalFraming::ByteStream,
        false,
        &mut pieces,
    )
    .unwrap();
    let converted = assemble(byte_stream, &pieces);
    assert_eq!(size as usize, converted.len());
    assert!(
        converted == length_prefixed,
        "converted byte-stream differs from GStreamer's"
    );

    pieces.clear();
    let framing = NalFraming::LengthPrefixed(4);
    let size = plan_sample(codec, length_prefixed, framing, false, &mut pieces).unwrap();
    assert_eq!(pieces, vec![Piece::Data(0..length_prefixed.len())]);
    assert_eq!(size as usize, length_prefixed.len());

    pieces.clear();
    plan_sample(codec, length_prefixed, framing, true, &mut pieces).unwrap();
    let stripped = assemble(length_prefixed, &pieces);
    let kept: Vec<&[u8]> = nal_units(&stripped, framing)
        .map(|unit| &stripped[unit.unwrap().nal])
        .collect();
    let expected: Vec<&[u8]> = nal_units(byte_stream, NalFraming::ByteStream)
        .map(|unit| &byte_stream[unit.unwrap().nal])
        .filter(|nal| !codec.is_parameter_set(codec.nal_type(nal).unwrap()))
        .collect();
    assert!(!kept.is_empty());
    assert!(
        kept == expected,
        "stripping kept other NAL units than the non-parameter-sets"
    );
}

/// Our record announces 4-byte lengths and holds the stream's parameter sets.
fn check_record_round_trip(codec: VideoCodec, record: &[u8], byte_stream: &[u8]) {
    assert_eq!(nal_length_size(codec, record).unwrap(), 4);
    let mut stored: Vec<&[u8]> = parameter_sets_in_decoder_config(codec, record)
        .unwrap()
        .into_iter()
        .map(|range| &record[range])
        .collect();
    let mut in_stream = parameter_sets(codec, byte_stream);
    in_stream.sort();
    in_stream.dedup();
    stored.sort();
    assert_eq!(stored, in_stream);
}

/// The avcC extension fields expected for a high profile: chroma_format,
/// bit_depth_luma_minus8, bit_depth_chroma_minus8 and no SPS extensions.
fn avcc_extension(chroma_format_idc: u8, bit_depth_minus8: u8) -> [u8; 4] {
    [
        0xfc | chroma_format_idc,
        0xf8 | bit_depth_minus8,
        0xf8 | bit_depth_minus8,
        0,
    ]
}

fn check_avcc(source: Source, test_name: &str, profile_idc: u8, extension: Option<[u8; 4]>) {
    let stream = encode(VideoCodec::H264, &source, test_name);
    let ours = &stream.our_codec_data;
    let gstreamer = &stream.gstreamer_codec_data;
    assert_eq!(ours[1], profile_idc, "AVCProfileIndication");
    match extension {
        None => assert_eq!(ours, gstreamer),
        Some(extension) => {
            let (core, our_extension) = ours.split_at(ours.len() - 4);
            assert_eq!(our_extension, extension);
            // GStreamer's h264parse (1.22 at least) leaves out the extension
            // fields that ISO/IEC 14496-15 5.3.3.1 requires for these
            // profiles; everything before them must match.
            if gstreamer.len() == ours.len() {
                assert_eq!(ours, gstreamer);
            } else {
                assert_eq!(core, &gstreamer[..]);
            }
        }
    }
    assert!(!stream.byte_stream.is_empty() && !stream.length_prefixed.is_empty());
}

#[test]
fn h264_high_profile_avcc_matches_gstreamer() {
    let source = Source {
        raw_format: "I420",
        encoder_settings: "",
    };
    check_avcc(source, "h264-high", 100, Some(avcc_extension(1, 0)));
}

#[test]
fn h264_high_422_avcc_matches_gstreamer() {
    let source = Source {
        raw_format: "Y42B",
        encoder_settings: "",
    };
    check_avcc(source, "h264-high422", 122, Some(avcc_extension(2, 0)));
}

#[test]
fn h264_high_10_avcc_matches_gstreamer() {
    let source = Source {
        raw_format: "I420_10LE",
        encoder_settings: "",
    };
    check_avcc(source, "h264-high10", 110, Some(avcc_extension(1, 2)));
}

#[test]
fn h264_high_444_avcc_matches_gstreamer() {
    // Profile 244 has no avcC extension in ISO/IEC 14496-15.
    let source = Source {
        raw_format: "Y444",
        encoder_settings: "",
    };
    check_avcc(source, "h264-high444", 244, None);
}

#[test]
fn h264_baseline_avcc_matches_gstreamer() {
    let source = Source {
        raw_format: "I420",
        encoder_settings: "! video/x-h264,profile=baseline",
    };
    check_avcc(source, "h264-baseline", 66, None);
}

/// GStreamer's record with array_completeness set on every array.
///
/// h265parse writes array_completeness 0; for hvc1 sample entries, where the
/// parameter sets are only in the record, ISO/IEC 14496-15 8.3.3.1 requires 1,
/// which is what we write. That bit is the only intended difference.
fn with_array_completeness(record: &[u8]) -> Vec<u8> {
    let mut record = record.to_vec();
    let array_count = record[22];
    let mut position = 23;
    for _ in 0..array_count {
        record[position] |= 0x80;
        let nal_count = u16::from_be_bytes([record[position + 1], record[position + 2]]);
        position += 3;
        for _ in 0..nal_count {
            let length = u16::from_be_bytes([record[position], record[position + 1]]);
            position += 2 + usize::from(length);
        }
    }
    assert_eq!(position, record.len(), "GStreamer's hvcC walks to its end");
    record
}

/// The hvcC bytes chromaFormat, bitDepthLumaMinus8, bitDepthChromaMinus8 and
/// the one holding numTemporalLayers/temporalIdNested/lengthSizeMinusOne.
struct HvccFormat {
    chroma_format_idc: u8,
    bit_depth_minus8: u8,
    num_temporal_layers: u8,
}

fn check_hvcc(source: Source, test_name: &str, format: HvccFormat) {
    let stream = encode(VideoCodec::H265, &source, test_name);
    let ours = &stream.our_codec_data;
    assert_eq!(ours[16], 0xfc | format.chroma_format_idc, "chromaFormat");
    assert_eq!(
        ours[17],
        0xf8 | format.bit_depth_minus8,
        "bitDepthLumaMinus8"
    );
    assert_eq!(
        ours[18],
        0xf8 | format.bit_depth_minus8,
        "bitDepthChromaMinus8"
    );
    assert_eq!(
        (ours[21] >> 3) & 0x07,
        format.num_temporal_layers,
        "numTemporalLayers"
    );
    assert_eq!(ours[21] & 0x03, 3, "lengthSizeMinusOne");
    assert_eq!(ours, &with_array_completeness(&stream.gstreamer_codec_data));
}

#[test]
fn h265_main_hvcc_matches_gstreamer() {
    let source = Source {
        raw_format: "I420",
        encoder_settings: "",
    };
    let format = HvccFormat {
        chroma_format_idc: 1,
        bit_depth_minus8: 0,
        num_temporal_layers: 1,
    };
    check_hvcc(source, "h265-main", format);
}

#[test]
fn h265_main_10_hvcc_matches_gstreamer() {
    let source = Source {
        raw_format: "I420_10LE",
        encoder_settings: "",
    };
    let format = HvccFormat {
        chroma_format_idc: 1,
        bit_depth_minus8: 2,
        num_temporal_layers: 1,
    };
    check_hvcc(source, "h265-main10", format);
}

#[test]
fn h265_422_hvcc_matches_gstreamer() {
    let source = Source {
        raw_format: "Y42B",
        encoder_settings: "",
    };
    let format = HvccFormat {
        chroma_format_idc: 2,
        bit_depth_minus8: 0,
        num_temporal_layers: 1,
    };
    check_hvcc(source, "h265-422", format);
}

#[test]
fn h265_444_hvcc_matches_gstreamer() {
    let source = Source {
        raw_format: "Y444",
        encoder_settings: "",
    };
    let format = HvccFormat {
        chroma_format_idc: 3,
        bit_depth_minus8: 0,
        num_temporal_layers: 1,
    };
    check_hvcc(source, "h265-444", format);
}

#[test]
fn h265_with_temporal_sub_layers_hvcc_matches_gstreamer() {
    // sps_max_sub_layers_minus1 = 1: profile_tier_level has sub-layer entries.
    let source = Source {
        raw_format: "I420",
        encoder_settings: "option-string=temporal-layers=1",
    };
    let format = HvccFormat {
        chroma_format_idc: 1,
        bit_depth_minus8: 0,
        num_temporal_layers: 2,
    };
    check_hvcc(source, "h265-sub-layers", format);
}
