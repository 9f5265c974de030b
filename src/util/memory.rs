//! The process's memory use, for the command line's reports.

/// The peak resident set size so far in bytes (Linux: `VmHWM`), or `None` where the system does
/// not tell.
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Hands the allocator's free memory back to the system (glibc: every thread's arena, also the
/// free pages between live blocks; elsewhere nothing). After work spread over threads of their own,
/// each thread's arena keeps what it freed, and the next phase allocates beside it instead.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a plain integer and only reorganises the allocator's free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_known_on_linux_and_covers_what_is_resident() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let before = super::peak_resident_bytes().unwrap();
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = super::peak_resident_bytes().unwrap();
        assert!(after >= before && after >= 64 << 20, "{before} → {after}");
    }
}
