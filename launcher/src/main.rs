//! `gst-replay`: instant replay from the command line.

use clap::Parser;
use gst_replay::{cli, commands, run};

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = init_gstreamer().and_then(|()| dispatch(cli.command)) {
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

/// GStreamer plus the replay plugin, linked in: no GST_PLUGIN_PATH needed.
fn init_gstreamer() -> anyhow::Result<()> {
    gst::init()?;
    gstreplay::plugin_register_static()?;
    Ok(())
}

fn dispatch(command: cli::Command) -> anyhow::Result<()> {
    match command {
        cli::Command::Run(args) => run::run(args),
        #[cfg(all(unix, feature = "service"))]
        cli::Command::Save(args) if args.service.is_some() => commands::save_service::run(&args),
        cli::Command::Save(args) => commands::save::run(&args),
        cli::Command::Status(args) => commands::status::run(&args),
        cli::Command::Pipeline(args) => commands::print::pipeline(&args),
        cli::Command::FfmpegArgs(args) => commands::print::ffmpeg_args(&args),
        cli::Command::Presets(args) => commands::presets::run(&args),
        cli::Command::Doctor => commands::doctor::run(),
        #[cfg(all(unix, feature = "service"))]
        cli::Command::Serve(args) => commands::serve::run(&args),
    }
}
