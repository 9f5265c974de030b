//! Background work that yields the CPU to requests: a full rebuild computes on every core for
//! minutes, and the API's requests must not queue behind it for CPU.

/// The nice value of background threads (0 is normal, 19 the lowest priority).
const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority (and that of the threads it starts later, which inherit
/// it). Best effort: where it cannot, nothing changes. Only on threads of their own: an unprivileged
/// process cannot raise a thread's priority back.
pub fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take plain integers and touch no memory of ours; on Linux,
        // PRIO_PROCESS with a thread id applies to that thread alone.
        let result = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, BACKGROUND_NICE)
        };
        if result != 0 {
            tracing::debug!("could not lower a background thread's priority");
        }
    }
}
