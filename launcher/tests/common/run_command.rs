//! `gst-replay run` as the end-to-end tests start it, built up one change at a time.

use std::path::Path;
use std::time::Duration;

use super::{control_socket, Running, TestDir};

/// How long a run may take to build its pipeline (encoder probing included).
pub const START: Duration = Duration::from_secs(60);

/// A `gst-replay run` command line: by default the test pattern at 320x240 and 30 fps, a 10 s
/// ring, no hotkey, `--quiet`, clips in the test's `clips/` and its own control socket. Each
/// method replaces one flag or adds one.
pub struct RunCommand {
    flags: Vec<(String, Option<String>)>,
    env: Vec<(String, String)>,
}

impl RunCommand {
    pub fn test_pattern(dir: &TestDir) -> RunCommand {
        RunCommand {
            flags: Vec::new(),
            env: Vec::new(),
        }
        .set("--source", "test")
        .set("--screen-size", "320x240")
        .set("--fps", "30")
        .set("--duration", "10s")
        .set("--hotkey", "none")
        .flag("--quiet")
        .set("--output-dir", path_text(&dir.join("clips")))
        .set("--socket", path_text(&control_socket(dir)))
    }

    /// `--flag value`, in place of any value the flag had.
    pub fn set(mut self, flag: &str, value: impl Into<String>) -> RunCommand {
        let value = Some(value.into());
        match self.flags.iter_mut().find(|(name, _)| name == flag) {
            Some(existing) => existing.1 = value,
            None => self.flags.push((flag.to_owned(), value)),
        }
        self
    }

    /// A flag without a value, such as `--save-on-exit`.
    pub fn flag(mut self, flag: &str) -> RunCommand {
        if !self.flags.iter().any(|(name, _)| name == flag) {
            self.flags.push((flag.to_owned(), None));
        }
        self
    }

    /// Leaves a flag out (`without("--quiet")` for a run that talks).
    pub fn without(mut self, flag: &str) -> RunCommand {
        self.flags.retain(|(name, _)| name != flag);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> RunCommand {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The arguments after `run`.
    pub fn args(&self) -> Vec<String> {
        self.flags
            .iter()
            .flat_map(|(flag, value)| std::iter::once(flag.clone()).chain(value.clone()))
            .collect()
    }

    /// Starts the run without waiting for it.
    pub fn spawn(&self) -> Running {
        let args = self.args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        Running::start(&args, &env)
    }

    /// Starts the run and waits until its pipeline is up.
    pub fn start(&self) -> Running {
        let mut run = self.spawn();
        run.wait_for_stderr("Pipeline:", START);
        run
    }
}

fn path_text(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}
