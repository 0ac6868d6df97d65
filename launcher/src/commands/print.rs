//! `gst-replay pipeline` and `gst-replay ffmpeg-args`.

use crate::cli::{FfmpegArgs, PrintArgs};
use crate::ffmpeg;
use crate::pipeline::sources::{PORTAL_FD_PLACEHOLDER, PORTAL_NODE_PLACEHOLDER};
use crate::pipeline::{Platform, Source};
use crate::plan::{self, Plan};

fn plan_for(args: &PrintArgs) -> anyhow::Result<Plan> {
    let platform = args.platform.unwrap_or_else(Platform::current);
    plan::resolve(&args.capture, platform, plan::Purpose::Print)
}

/// The gst-launch-1.0 command, and notes about the defaults taken.
pub fn pipeline_text(args: &PrintArgs) -> anyhow::Result<(String, Vec<String>)> {
    let mut plan = plan_for(args)?;
    if matches!(plan.request.source, Source::Portal { .. }) {
        plan.notes.push(format!(
            "pipewiresrc's fd and path come from the desktop portal's ScreenCast session, which only \
             `gst-replay run` opens (after its dialog): the line shows {PORTAL_FD_PLACEHOLDER} and \
             {PORTAL_NODE_PLACEHOLDER} in their place and does not run as printed"
        ));
    }
    Ok((plan.request.launch_line().shell_command(), plan.notes))
}

/// The FFmpeg arguments, and notes about the defaults taken.
pub fn ffmpeg_text(args: &FfmpegArgs) -> anyhow::Result<(String, Vec<String>)> {
    let mut plan = plan_for(&args.print)?;
    let words = if args.full {
        plan.notes.extend(ffmpeg::windows_audio_note(&plan.request));
        plan.notes.extend(ffmpeg::portal_note(&plan.request));
        ffmpeg::full_command(&plan.request)
    } else {
        ffmpeg::encoder_arguments(&plan.request)
    };
    Ok((words.join(" "), plan.notes))
}

pub fn pipeline(args: &PrintArgs) -> anyhow::Result<()> {
    print(pipeline_text(args)?)
}

pub fn ffmpeg_args(args: &FfmpegArgs) -> anyhow::Result<()> {
    print(ffmpeg_text(args)?)
}

fn print((text, notes): (String, Vec<String>)) -> anyhow::Result<()> {
    for note in notes {
        eprintln!("note: {note}");
    }
    println!("{text}");
    Ok(())
}
