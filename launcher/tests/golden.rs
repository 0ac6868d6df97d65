//! Golden tests: `gst-replay pipeline` and `ffmpeg-args` over the whole preset table, every
//! platform and every encoder, and the documented lines in `pipelines/`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p gst-replay --test golden` rewrites the golden files after an
//! intended change; review the diff before committing it.

use std::path::{Path, PathBuf};

use clap::Parser;
use gst_replay::cli::{Cli, Command};
use gst_replay::commands::print;
use gst_replay::presets::PresetTable;

fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstreplay::plugin_register_static().unwrap();
    });
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// What `gst-replay <args>` prints on stdout, computed in-process.
fn output_of(args: &str) -> String {
    init();
    let words = std::iter::once("gst-replay").chain(args.split_whitespace());
    let cli = Cli::try_parse_from(words).unwrap_or_else(|err| panic!("gst-replay {args}: {err}"));
    let result = match cli.command {
        Command::Pipeline(args) => print::pipeline_text(&args),
        Command::FfmpegArgs(args) => print::ffmpeg_text(&args),
        other => panic!("not a printing command: {other:?}"),
    };
    result
        .unwrap_or_else(|err| panic!("gst-replay {args}: {err:#}"))
        .0
}

/// Every (platform, encoder, codec, preset) of the table, with the screen source; then every
/// `--audio` on both platforms. Audio encoders are forced on Linux, where an automatic choice
/// would depend on what this machine has installed.
fn table_arguments(command: &str) -> Vec<String> {
    let mut all = Vec::new();
    for (platform, encoders) in [
        ("linux", &["nvenc", "va", "software"][..]),
        ("windows", &["nvenc", "software"][..]),
    ] {
        for encoder in encoders {
            for codec in ["h264", "hevc"] {
                for preset in PresetTable::built_in().names() {
                    all.push(format!(
                        "{command} --platform {platform} --source screen --screen-size 2560x1440 --fps 60 \
                         --encoder {encoder} --codec {codec} --preset {preset} --audio none --output-dir replays"
                    ));
                }
            }
        }
    }
    // Crops, monitors, frame rates, ring sizes and the other sources.
    for extra in [
        "--platform windows --source screen --screen-size 5120x1440 --aspect 16:9 --monitor 1 --encoder nvenc --codec hevc --quality high --fps 30 --audio none",
        "--platform linux --source screen --screen-size 5120x1440 --aspect 21:9 --encoder software --codec h264 --preset low --duration 5m --max-bytes 2G --audio none",
        "--platform linux --source test --screen-size 1280x720 --encoder software --codec hevc --preset medium --fps 30",
        "--platform linux --source v4l2 --device /dev/video2 --encoder va --codec h264 --preset high",
        "--platform linux --source window --window 0x3a00007 --encoder software --codec h264 --preset high --audio none",
        "--platform linux --source portal --screen-size 2560x1440 --aspect 4:3 --encoder va --codec hevc --preset high --fps 30 --audio none",
        "--platform windows --source test --screen-size 1920x1080 --encoder nvenc --codec h264 --preset low",
    ] {
        all.push(format!("{command} {extra} --output-dir replays"));
    }
    let video =
        "--source screen --screen-size 1920x1080 --encoder software --codec h264 --preset high";
    for (platform, aac) in [("linux", "--audio-encoder avenc_aac"), ("windows", "")] {
        for audio in ["system", "mic", "both", "test"] {
            all.push(format!(
                "{command} --platform {platform} {video} --audio {audio} {aac} --output-dir replays"
            ));
        }
        all.push(format!(
            "{command} --platform {platform} {video} --audio both --audio-codec opus --audio-bitrate 96 --output-dir replays"
        ));
    }
    for extra in [
        // Screen capture on another platform records its system audio unless told otherwise.
        "--platform windows --source screen --screen-size 1920x1080 --encoder nvenc --codec hevc --preset high",
        "--platform linux --source test --screen-size 1280x720 --encoder software --codec h264 --preset medium --fps 30 --audio test --audio-encoder fdkaacenc",
        "--platform linux --source v4l2 --device /dev/video2 --encoder va --codec h264 --preset high --audio mic --audio-encoder voaacenc --audio-bitrate 320",
    ] {
        all.push(format!("{command} {extra} --output-dir replays"));
    }
    if command == "ffmpeg-args" {
        for (platform, aac) in [("linux", "--audio-encoder avenc_aac"), ("windows", "")] {
            all.push(format!(
                "{command} --full --platform {platform} {video} --audio both {aac} --output-dir replays"
            ));
        }
        all.push(format!(
            "{command} --full --platform linux --source test --screen-size 640x360 --encoder software --codec h264 --preset high --audio test --audio-codec opus --output-dir replays"
        ));
    }
    all
}

fn check_golden(name: &str, command: &str) {
    let golden_path = workspace().join("launcher/tests/golden").join(name);
    let mut rendered = String::new();
    for args in table_arguments(command) {
        rendered.push_str(&format!(
            "$ gst-replay {}\n{}\n\n",
            args.split_whitespace().collect::<Vec<_>>().join(" "),
            output_of(&args)
        ));
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, &rendered).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with UPDATE_GOLDEN=1",
            golden_path.display()
        )
    });
    for (line, (want, got)) in golden.lines().zip(rendered.lines()).enumerate() {
        assert_eq!(
            got,
            want,
            "{name} line {} differs (UPDATE_GOLDEN=1 after an intended change)",
            line + 1
        );
    }
    assert_eq!(
        golden.lines().count(),
        rendered.lines().count(),
        "{name} has a different number of lines"
    );
}

#[test]
fn pipeline_lines_match_the_golden_file() {
    check_golden("pipeline.txt", "pipeline");
}

#[test]
fn ffmpeg_arguments_match_the_golden_file() {
    check_golden("ffmpeg-args.txt", "ffmpeg-args");
}

#[test]
fn the_design_example_prints_the_d3d11_nvenc_line() {
    let line = output_of("pipeline --platform windows --codec hevc --preset high --screen-size 1920x1080 --output-dir replays");
    for expected in [
        "d3d11screencapturesrc",
        "'video/x-raw(memory:D3D11Memory),framerate=60/1' ! d3d11convert",
        "'video/x-raw(memory:D3D11Memory),format=NV12,interlace-mode=progressive'",
        "nvd3d11h265enc gop-size=120 zero-reorder-delay=true rate-control=cbr bitrate=15000 max-bitrate=15000 vbv-buffer-size=7500",
        "h265parse ! replayring",
        // Screen capture records what the computer plays, into the ring's first audio pad.
        "wasapi2src loopback=true provide-clock=false ! queue",
        "avenc_aac bitrate=160000 ! aacparse ! ring.audio_0",
    ] {
        assert!(line.contains(expected), "{expected} not in {line}");
    }
    assert!(
        !line.contains("d3d11download"),
        "zero copy: no system-memory round trip"
    );
    let ffmpeg =
        output_of("ffmpeg-args --platform windows --codec hevc --preset high --output-dir replays");
    assert_eq!(
        ffmpeg,
        "-c:v hevc_nvenc -preset p1 -tune ll -rc cbr -b:v 15000k -maxrate 15000k -bufsize 7500k -rc-lookahead 0 -g 120 -bf 0 -refs 1 \
         -c:a aac -b:a 160k -ar 48000 -ac 2"
    );
}

/// The documented line of each `pipelines/*.sh`, and the arguments that generate it.
pub fn documented_pipelines() -> Vec<(PathBuf, String, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace().join("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let generator = text
                .lines()
                .find_map(|l| l.strip_prefix("# Generated by: gst-replay "))
                .unwrap_or_else(|| {
                    panic!(
                        "{} has no '# Generated by: gst-replay ...' line",
                        path.display()
                    )
                })
                .to_owned();
            let command = text
                .lines()
                .find_map(|l| l.strip_prefix("exec "))
                .filter(|l| l.starts_with("gst-launch-1.0 "))
                .unwrap_or_else(|| {
                    panic!("{} has no `exec gst-launch-1.0 ...` line", path.display())
                })
                .to_owned();
            (path, generator, command)
        })
        .collect()
}

#[test]
fn every_documented_pipeline_is_what_gst_replay_prints() {
    let documented = documented_pipelines();
    assert!(
        documented.len() >= 8,
        "pipelines/ holds {} files",
        documented.len()
    );
    for (path, generator, command) in documented {
        assert_eq!(
            command,
            output_of(&generator),
            "{} is out of date",
            path.display()
        );
    }
}
