//! The bench process's own memory, from /proc (Linux; 0 elsewhere). Shared by the benches
//! through `#[path]`: each bench is its own crate.

/// The process's peak resident set (VmHWM), in bytes: what issue #17 goal 6's memory bound
/// is about.
#[allow(dead_code)] // not every bench reads both
pub fn peak_rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// The process's resident set now, in bytes.
#[allow(dead_code)]
pub fn rss_bytes() -> usize {
    // Second field of /proc/self/statm is resident pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<usize>().ok())
        })
        .map(|p| p * 4096)
        .unwrap_or(0)
}
