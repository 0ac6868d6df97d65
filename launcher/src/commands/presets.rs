//! `gst-replay presets`: the table, with the RAM the ring takes for a duration.

use crate::cli::PresetsArgs;
use crate::presets::{PresetTable, RateControl};
use crate::units::format_bytes;

pub fn run(args: &PresetsArgs) -> anyhow::Result<()> {
    let table = PresetTable::load(args.presets_file.as_deref())?;
    let (width, height) = args.size;
    if args.json {
        let rows: Vec<serde_json::Value> = table
            .presets()
            .iter()
            .map(|preset| {
                let estimate = preset.ring_bytes_estimate(args.duration, width, height, args.fps);
                let mut row = serde_json::to_value(preset).expect("presets serialize");
                row["gop_frames"] = preset.gop_frames(args.fps).into();
                row["ring_bytes"] = (estimate.bytes().round() as u64).into();
                row["ring_bytes_is_estimate"] = estimate.is_rough().into();
                row
            })
            .collect();
        let output = serde_json::json!({
            "duration": args.duration, "width": width, "height": height, "fps": args.fps, "presets": rows,
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(());
    }
    println!(
        "Presets for a {} s ring at {width}x{height}, {} fps (GOP {} frames):\n",
        args.duration,
        args.fps,
        table
            .presets()
            .first()
            .map_or(0, |p| p.gop_frames(args.fps))
    );
    println!(
        "{:<18} {:<31} {:<22} {:>9}  description",
        "name", "rate control", "tuning", "RAM"
    );
    for preset in table.presets() {
        let control = match preset.rate_control {
            RateControl::Cbr => format!(
                "CBR {} kbit/s, VBV {} kbit",
                preset.bitrate_kbps.unwrap_or_default(),
                preset.vbv_kbits().unwrap_or_default()
            ),
            RateControl::Constqp => format!("constant QP {}", preset.qp.unwrap_or_default()),
        };
        let estimate = preset.ring_bytes_estimate(args.duration, width, height, args.fps);
        let ram = format!(
            "{}{}",
            if estimate.is_rough() { "~" } else { "" },
            format_bytes(estimate.bytes())
        );
        println!(
            "{:<18} {:<31} {:<22} {:>9}  {}",
            preset.name,
            control,
            format!(
                "{} {}",
                preset.nvenc_preset.to_uppercase(),
                preset.tune.name()
            ),
            ram,
            preset.description
        );
    }
    println!(
        "\nAll presets: no B-frames, 1 reference frame, no lookahead. RAM includes one GOP of padding;\n\
         ~ marks constant-QP figures, which depend on the picture (the ring's --max-bytes caps them)."
    );
    Ok(())
}
