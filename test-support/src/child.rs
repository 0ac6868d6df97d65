//! A child process (a feeder, a test server) with its stdout and stderr collected, killed
//! when dropped so a failing test leaves nothing running.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct ChildProcess {
    name: String,
    child: Child,
    /// stdout and stderr lines, in the order they were read.
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(stream: impl Read + Send + 'static, output: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut output = output.lock().unwrap();
            output.push_str(&line);
            output.push('\n');
        }
    })
}

impl ChildProcess {
    /// Starts `command` with stdin closed and its output collected; `name` labels panics.
    pub fn spawn(name: &str, mut command: Command) -> ChildProcess {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("{name} does not start ({command:?}): {err}"));
        let output = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&output)),
            collect(child.stderr.take().unwrap(), Arc::clone(&output)),
        ];
        ChildProcess {
            name: name.to_owned(),
            child,
            output,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout and stderr so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the output shows `needle`; false when `limit` passed or the process
    /// ended first.
    pub fn wait_for_output(&mut self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.output().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline || !self.is_running() {
                // The readers may still hold the last lines.
                std::thread::sleep(Duration::from_millis(50));
                return self.output().contains(needle);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit by itself; None when `limit` passed first.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.join_readers();
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, as a crash or a pulled cable would end it; waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.join_readers();
    }

    /// SIGTERM, then SIGKILL if it has not exited within `limit`.
    pub fn terminate(&mut self, limit: Duration) {
        if !self.is_running() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        if self.wait(limit).is_none() {
            eprintln!("{} ignored SIGTERM for {limit:?}: killing it", self.name);
            self.kill();
        }
    }

    /// Gives the readers a moment to take the last lines; a grandchild that keeps the
    /// pipes open must not hold the test, so they are left running after that.
    fn join_readers(&mut self) {
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline && !self.readers.iter().all(|r| r.is_finished()) {
            std::thread::sleep(Duration::from_millis(10));
        }
        for reader in self.readers.drain(..) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if self.is_running() {
            self.kill();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_both_streams_and_the_exit() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; exit 3"]);
        let mut child = ChildProcess::spawn("sh", command);
        let status = child.wait(Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(3));
        let output = child.output();
        assert!(
            output.contains("out\n") && output.contains("err\n"),
            "{output}"
        );
    }

    #[test]
    fn waits_for_output_and_kills() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo ready; sleep 30"]);
        let mut child = ChildProcess::spawn("sh", command);
        assert!(child.wait_for_output("ready", Duration::from_secs(10)));
        assert!(child.is_running());
        child.kill();
        assert!(!child.is_running());
    }
}
