//! Control-socket request lines through `parse_request`, as the server reads them.
//!
//! Checked: no panic; an accepted request goes back on the wire as one line that
//! parses to the same request.

#![no_main]

use gst_replay::control::{parse_request, MAX_REQUEST_LINE_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    // The server refuses longer lines before parsing them.
    if line.len() > MAX_REQUEST_LINE_BYTES {
        return;
    }
    let Ok(request) = parse_request(line) else {
        return;
    };
    let wire = request.to_line();
    assert_eq!(
        wire.find('\n'),
        Some(wire.len() - 1),
        "a request must be exactly one line: {wire:?}"
    );
    assert_eq!(
        parse_request(wire.as_bytes()).ok(),
        Some(request),
        "{wire:?} must parse back to the request"
    );
});
