//! A private D-Bus session bus for one test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::require_tool;

/// A `dbus-daemon --session` of its own; killed on drop.
pub struct PrivateBus {
    pub address: String,
    daemon: Child,
}

impl PrivateBus {
    pub fn start() -> PrivateBus {
        require_tool("dbus-daemon");
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(
            address.starts_with("unix:"),
            "dbus-daemon printed {address:?}; run the README's test command, which installs it"
        );
        PrivateBus { address, daemon }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
