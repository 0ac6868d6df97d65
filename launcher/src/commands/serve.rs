//! `gst-replay serve`: the replay service (docs/service.md), on a runtime of its own.

use gst_replay_service::ServeArgs;

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let config = args.resolve()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gst-replay-serve")
        .build()?;
    runtime.block_on(gst_replay_service::serve(config))?;
    Ok(())
}
