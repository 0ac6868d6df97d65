//! Unix signals, as gpu-screen-recorder users know them: SIGUSR1 saves the last --duration;
//! SIGRTMIN+1..+6 save 10 s, 30 s, 1 min, 5 min, 10 min, 30 min; SIGINT and SIGTERM stop.

use std::sync::mpsc::Sender;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::run::clip::ClipRequest;
use crate::run::report::Trigger;
use crate::run::RunEvent;

/// Clip lengths of SIGRTMIN+1 .. SIGRTMIN+6, in seconds.
pub const REALTIME_SIGNAL_SECONDS: [f64; 6] = [10.0, 30.0, 60.0, 300.0, 600.0, 1800.0];

/// Keeps the signal handlers installed; the signal thread ends with the process.
pub type Handle = signal_hook::iterator::Handle;

/// How another shell asks this run for a save, for the run's opening lines.
pub fn save_command() -> Option<String> {
    Some(format!("`kill -USR1 {}`", std::process::id()))
}

pub fn spawn(events: Sender<RunEvent>) -> std::io::Result<Handle> {
    let realtime: Vec<i32> = (1..=6).map(|offset| libc::SIGRTMIN() + offset).collect();
    let mut wanted = vec![SIGUSR1, SIGINT, SIGTERM];
    wanted.extend(&realtime);
    let mut signals = Signals::new(&wanted)?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let event = match signal {
                    SIGINT => RunEvent::Stop("interrupted".into()),
                    SIGTERM => RunEvent::Stop("terminated".into()),
                    SIGUSR1 => RunEvent::save(ClipRequest::default(), Trigger::Signal),
                    other => match realtime.iter().position(|&s| s == other) {
                        Some(index) => RunEvent::save(
                            ClipRequest::last(Some(REALTIME_SIGNAL_SECONDS[index])),
                            Trigger::Signal,
                        ),
                        None => continue,
                    },
                };
                if events.send(event).is_err() {
                    break;
                }
            }
        })?;
    Ok(handle)
}
