//! `gst-replay pipeline` and `gst-replay ffmpeg-args`.

use crate::cli::{FfmpegArgs, PrintArgs};
use crate::ffmpeg;
use crate::pipeline::Platform;
use crate::plan;

pub fn pipeline(args: &PrintArgs) -> anyhow::Result<()> {
    let platform = args.platform.unwrap_or_else(Platform::current);
    let plan = plan::resolve(&args.capture, platform, plan::Purpose::Print)?;
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    println!("{}", plan.request.launch_line().shell_command());
    Ok(())
}

pub fn ffmpeg_args(args: &FfmpegArgs) -> anyhow::Result<()> {
    let platform = args.print.platform.unwrap_or_else(Platform::current);
    let plan = plan::resolve(&args.print.capture, platform, plan::Purpose::Print)?;
    for note in &plan.notes {
        eprintln!("note: {note}");
    }
    let words = if args.full {
        ffmpeg::full_command(&plan.request)
    } else {
        ffmpeg::encoder_arguments(&plan.request)
    };
    println!("{}", words.join(" "));
    Ok(())
}
