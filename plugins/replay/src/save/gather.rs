//! Writing a gather list (a file's bytes as slices of memory that already holds them) with
//! vectored writes, and its SHA-256 on the way.
//!
//! Each `writev` hands the kernel up to [`IOV_MAX`] slices straight from the ring's buffers:
//! no user-space copy of the payload, and a few hundred system calls for a two-minute clip.
//! The hash is computed from the same slices on a second thread while they are written, so
//! it costs wall time only when hashing is slower than writing.

use std::io::{self, IoSlice, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

/// Most slices one `writev` takes (POSIX guarantees at least 16; Linux, macOS and the BSDs
/// take 1024). A larger batch would fail with `EINVAL`.
pub const IOV_MAX: usize = 1024;

/// Writes every slice, in order, handling short writes. Empty slices are skipped.
pub fn write_all_vectored(out: &mut impl Write, slices: &[&[u8]]) -> io::Result<()> {
    let mut batch: Vec<IoSlice<'_>> = Vec::with_capacity(IOV_MAX.min(slices.len()));
    let mut rest = slices.iter().filter(|slice| !slice.is_empty()).peekable();
    while rest.peek().is_some() {
        batch.clear();
        batch.extend(rest.by_ref().take(IOV_MAX).map(|slice| IoSlice::new(slice)));
        let mut unwritten = &mut batch[..];
        while !unwritten.is_empty() {
            match out.write_vectored(unwritten) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the file took no more bytes",
                    ))
                }
                Ok(written) => IoSlice::advance_slices(&mut unwritten, written),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// The SHA-256 of the slices, in order.
pub fn sha256(slices: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for slice in slices {
        hasher.update(slice);
    }
    hasher.finalize().into()
}

/// Writes the slices and, with `hash`, returns their SHA-256, computed on a second thread
/// while they are written (inline when no thread can be started).
pub fn write_hashed(
    out: &mut (impl Write + Send),
    slices: &[&[u8]],
    hash: bool,
) -> io::Result<Option<[u8; 32]>> {
    if !hash {
        return write_all_vectored(out, slices).map(|()| None);
    }
    let failed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let hasher = std::thread::Builder::new()
            .name("replayring-sha256".into())
            .spawn_scoped(scope, || {
                let mut hasher = Sha256::new();
                for slice in slices {
                    // The file will not be published: stop early.
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    hasher.update(slice);
                }
                <[u8; 32]>::from(hasher.finalize())
            });
        let written = write_all_vectored(out, slices);
        failed.store(written.is_err(), Ordering::Relaxed);
        written?;
        match hasher {
            Ok(handle) => Ok(Some(handle.join().expect("hashing does not panic"))),
            Err(_) => Ok(Some(sha256(slices))),
        }
    })
}

/// Lower-case hexadecimal, as `sha256sum` prints it.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most `per_call` bytes per write and fails once `limit` bytes are written.
    struct Stingy {
        data: Vec<u8>,
        per_call: usize,
        limit: usize,
        calls: usize,
    }

    impl Write for Stingy {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }

        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            assert!(bufs.len() <= IOV_MAX, "{} slices in one call", bufs.len());
            self.calls += 1;
            if self.data.len() >= self.limit {
                return Err(io::Error::other("disk full"));
            }
            let mut budget = self.per_call.min(self.limit - self.data.len());
            let mut taken = 0;
            for buf in bufs {
                let part = &buf[..buf.len().min(budget)];
                self.data.extend_from_slice(part);
                budget -= part.len();
                taken += part.len();
                if budget == 0 {
                    break;
                }
            }
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn stingy(per_call: usize, limit: usize) -> Stingy {
        Stingy {
            data: Vec::new(),
            per_call,
            limit,
            calls: 0,
        }
    }

    fn pieces() -> Vec<Vec<u8>> {
        (0..3000u32)
            .map(|n| (0..n % 17).map(|i| (n + i) as u8).collect())
            .collect()
    }

    #[test]
    fn short_writes_and_batches_write_every_byte_in_order() {
        let owned = pieces();
        let slices: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let expected = slices.concat();
        for per_call in [1, 7, 1000, usize::MAX] {
            let mut out = stingy(per_call, usize::MAX);
            write_all_vectored(&mut out, &slices).unwrap();
            assert_eq!(out.data, expected, "{per_call} bytes per call");
        }
        let mut out = stingy(usize::MAX, usize::MAX);
        write_all_vectored(&mut out, &slices).unwrap();
        // 3000 slices, the empty ones left out: three batches.
        assert_eq!(out.calls, 3);
    }

    #[test]
    fn a_failing_write_is_reported_after_what_fit() {
        let owned = pieces();
        let slices: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let mut out = stingy(100, 5000);
        let error = write_hashed(&mut out, &slices, true).unwrap_err();
        assert_eq!(error.to_string(), "disk full");
        assert_eq!(out.data, slices.concat()[..5000]);
    }

    #[test]
    fn the_hash_is_that_of_the_bytes_written() {
        let owned = pieces();
        let slices: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let mut out = stingy(333, usize::MAX);
        let hash = write_hashed(&mut out, &slices, true).unwrap().unwrap();
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&out.data)));
        assert_eq!(
            write_hashed(&mut stingy(9, usize::MAX), &slices, false).unwrap(),
            None
        );
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1), as sha256sum prints it.
        assert_eq!(
            hex(&sha256(&[b"a", b"", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
