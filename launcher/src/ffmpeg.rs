//! The FFmpeg equivalent of a pipeline request: the same preset as FFmpeg encoder options.

use crate::pipeline::audio::{AUDIO_CHANNELS, AUDIO_RATE};
use crate::pipeline::{
    AudioInput, AudioRequest, Codec, EncoderFamily, PipelineRequest, Platform, Source,
};
use crate::presets::{Preset, RateControl, Tune};

/// Encoder arguments: `-c:v hevc_nvenc -preset p1 -tune ll -rc cbr -b:v 15000k ...`, then
/// the audio codec's (`-c:a aac -b:a 160k ...`) when there are audio tracks.
pub fn encoder_arguments(request: &PipelineRequest) -> Vec<String> {
    let mut args = video_encoder_arguments(request);
    if let Some(audio) = &request.audio {
        args.extend(audio_encoder_arguments(audio));
    }
    args
}

fn audio_encoder_arguments(audio: &AudioRequest) -> Vec<String> {
    vec![
        "-c:a".into(),
        audio.encoder.codec().ffmpeg_encoder().into(),
        "-b:a".into(),
        format!("{}k", audio.bitrate_kbps),
        "-ar".into(),
        AUDIO_RATE.to_string(),
        "-ac".into(),
        AUDIO_CHANNELS.to_string(),
    ]
}

fn video_encoder_arguments(request: &PipelineRequest) -> Vec<String> {
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
        RateControl::Cbr => ["-rc".into(), "cbr".into()]
            .into_iter()
            .chain(constant_bitrate(preset))
            .collect(),
        RateControl::Constqp => vec![
            "-rc".into(),
            constant_qp.into(),
            "-qp".into(),
            preset.qp.unwrap_or_default().to_string(),
        ],
    }
}

/// Bitrate, peak and VBV buffer of a CBR preset; every encoder spells them the same way.
fn constant_bitrate(preset: &Preset) -> [String; 6] {
    let kbps = preset.bitrate_kbps.unwrap_or_default();
    [
        "-b:v".into(),
        format!("{kbps}k"),
        "-maxrate".into(),
        format!("{kbps}k"),
        "-bufsize".into(),
        format!("{}k", preset.vbv_kbits().unwrap_or_default()),
    ]
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
        RateControl::Cbr => args.extend(constant_bitrate(preset)),
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
    if let Some(audio) = &request.audio {
        for &track in &audio.inputs {
            args.extend(audio_input(track, request.platform));
        }
        // FFmpeg keeps one audio stream unless told to keep each.
        args.extend(["-map".into(), "0:v".into()]);
        for index in 1..=audio.inputs.len() {
            args.extend(["-map".into(), format!("{index}:a")]);
        }
    }
    args.extend(encoder_arguments(request));
    args.push("replay.mp4".into());
    args
}

/// FFmpeg's input for one audio track. On Windows FFmpeg has no WASAPI input: DirectShow
/// needs a device name (see [`windows_audio_note`]).
fn audio_input(input: AudioInput, platform: Platform) -> Vec<String> {
    let (format, device) = match (input, platform) {
        (AudioInput::Test, _) => {
            return vec![
                "-re".into(),
                "-f".into(),
                "lavfi".into(),
                "-i".into(),
                format!("sine=frequency=440:beep_factor=4:sample_rate={AUDIO_RATE}"),
            ]
        }
        (AudioInput::System, Platform::Linux) => ("pulse", "@DEFAULT_MONITOR@"),
        (AudioInput::Microphone, Platform::Linux) => ("pulse", "default"),
        (AudioInput::System, Platform::Windows) => ("dshow", "audio=virtual-audio-capturer"),
        (AudioInput::Microphone, Platform::Windows) => ("dshow", "audio=Microphone"),
    };
    vec!["-f".into(), format.into(), "-i".into(), device.into()]
}

/// What a whole Windows command with audio needs from the person running it.
pub fn windows_audio_note(request: &PipelineRequest) -> Option<String> {
    let audio = request.audio.as_ref()?;
    let devices = audio.inputs.iter().any(|input| *input != AudioInput::Test);
    (request.platform == Platform::Windows && devices).then(|| {
        "FFmpeg records Windows audio through DirectShow devices: virtual-audio-capturer (system audio) \
         comes with screen-capture-recorder, and `ffmpeg -list_devices true -f dshow -i dummy` lists \
         the name to put in place of Microphone"
            .to_owned()
    })
}

/// What a whole command cannot do for a portal capture.
pub fn portal_note(request: &PipelineRequest) -> Option<String> {
    matches!(request.source, Source::Portal { .. }).then(|| {
        "FFmpeg has no desktop-portal input: the command grabs the X11 display (x11grab), which \
         under Wayland shows only XWayland windows"
            .to_owned()
    })
}
