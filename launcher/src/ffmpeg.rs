//! The FFmpeg equivalent of a pipeline request: the same preset as FFmpeg encoder options.

use crate::pipeline::{Codec, EncoderFamily, PipelineRequest, Platform, Source};
use crate::presets::{Preset, RateControl, Tune};

/// Encoder arguments: `-c:v hevc_nvenc -preset p1 -tune ll -rc cbr -b:v 15000k ...`.
pub fn encoder_arguments(request: &PipelineRequest) -> Vec<String> {
    let preset = &request.preset;
    let codec = request.encoder.codec;
    let mut args: Vec<String> = match request.encoder.family {
        EncoderFamily::Nvenc => nvenc(codec, preset),
        EncoderFamily::Va => vaapi(codec, preset),
        EncoderFamily::Software => software(codec, preset),
    };
    args.extend([
        "-g".into(),
        preset.gop_frames(request.fps).to_string(),
        "-bf".into(),
        preset.bframes.to_string(),
    ]);
    if request.encoder.family != EncoderFamily::Software || codec == Codec::H264 {
        args.extend(["-refs".into(), preset.ref_frames.to_string()]);
    }
    args
}

fn rate_control(preset: &Preset, constant_qp: &str) -> Vec<String> {
    match preset.rate_control {
        RateControl::Cbr => {
            let kbps = preset.bitrate_kbps.unwrap_or_default();
            vec![
                "-rc".into(),
                "cbr".into(),
                "-b:v".into(),
                format!("{kbps}k"),
                "-maxrate".into(),
                format!("{kbps}k"),
                "-bufsize".into(),
                format!("{}k", preset.vbv_kbits().unwrap_or_default()),
            ]
        }
        RateControl::Constqp => vec![
            "-rc".into(),
            constant_qp.into(),
            "-qp".into(),
            preset.qp.unwrap_or_default().to_string(),
        ],
    }
}

fn nvenc(codec: Codec, preset: &Preset) -> Vec<String> {
    let tune = match preset.tune {
        Tune::LowLatency => "ll",
        Tune::UltraLowLatency => "ull",
        Tune::HighQuality => "hq",
    };
    let mut args = vec![
        "-c:v".into(),
        match codec {
            Codec::H264 => "h264_nvenc",
            Codec::Hevc => "hevc_nvenc",
        }
        .into(),
        "-preset".into(),
        preset.nvenc_preset.clone(),
        "-tune".into(),
        tune.into(),
    ];
    args.extend(rate_control(preset, "constqp"));
    args.extend(["-rc-lookahead".into(), preset.lookahead.to_string()]);
    args
}

fn vaapi(codec: Codec, preset: &Preset) -> Vec<String> {
    let mut args = vec![
        "-c:v".into(),
        match codec {
            Codec::H264 => "h264_vaapi",
            Codec::Hevc => "hevc_vaapi",
        }
        .into(),
    ];
    let mut rc = rate_control(preset, "CQP");
    rc[1] = rc[1].to_uppercase();
    args.extend(rc);
    args
}

fn software(codec: Codec, preset: &Preset) -> Vec<String> {
    let tune = match preset.tune {
        Tune::LowLatency | Tune::UltraLowLatency => "zerolatency",
        Tune::HighQuality => "ssim",
    };
    let mut args = vec![
        "-c:v".into(),
        match codec {
            Codec::H264 => "libx264",
            Codec::Hevc => "libx265",
        }
        .into(),
        "-preset".into(),
        "ultrafast".into(),
        "-tune".into(),
        tune.into(),
    ];
    match preset.rate_control {
        RateControl::Cbr => {
            let kbps = preset.bitrate_kbps.unwrap_or_default();
            args.extend([
                "-b:v".into(),
                format!("{kbps}k"),
                "-maxrate".into(),
                format!("{kbps}k"),
                "-bufsize".into(),
                format!("{}k", preset.vbv_kbits().unwrap_or_default()),
            ]);
        }
        RateControl::Constqp => {
            args.extend(["-qp".into(), preset.qp.unwrap_or_default().to_string()])
        }
    }
    args.extend(["-rc-lookahead".into(), preset.lookahead.to_string()]);
    args
}

/// A whole command: capture input, the encoder arguments, an MP4 output.
pub fn full_command(request: &PipelineRequest) -> Vec<String> {
    let region = request.region();
    let fps = request.fps.to_string();
    let mut args: Vec<String> = vec!["ffmpeg".into()];
    let input: Vec<String> = match (&request.source, request.platform) {
        (Source::Test, _) => vec![
            "-re".into(),
            "-f".into(),
            "lavfi".into(),
            "-i".into(),
            format!(
                "testsrc2=size={}x{}:rate={fps}",
                region.width, region.height
            ),
        ],
        (Source::V4l2 { device }, _) => {
            vec![
                "-f".into(),
                "v4l2".into(),
                "-framerate".into(),
                fps.clone(),
                "-i".into(),
                device.clone(),
            ]
        }
        (_, Platform::Windows) => vec![
            "-f".into(),
            "gdigrab".into(),
            "-framerate".into(),
            fps.clone(),
            "-offset_x".into(),
            region.x.to_string(),
            "-offset_y".into(),
            region.y.to_string(),
            "-video_size".into(),
            format!("{}x{}", region.width, region.height),
            "-i".into(),
            "desktop".into(),
        ],
        (_, Platform::Linux) => vec![
            "-f".into(),
            "x11grab".into(),
            "-framerate".into(),
            fps.clone(),
            "-video_size".into(),
            format!("{}x{}", region.width, region.height),
            "-i".into(),
            format!(
                ":0.0+{},{}",
                request.screen_origin.0 + region.x,
                request.screen_origin.1 + region.y
            ),
        ],
    };
    args.extend(input);
    args.extend(encoder_arguments(request));
    args.push("replay.mp4".into());
    args
}
