//! What a process uses, read from Linux's `/proc`: resident memory, its high-water mark and CPU
//! time, for the benchmarks that run a hub and a device as processes of their own.

/// A process's resident memory now and its high-water mark, from `/proc/<pid>/status`, and
/// the CPU time it has used so far, from `/proc/<pid>/stat`.
pub struct Usage {
    pub resident_kb: u64,
    pub peak_kb: u64,
    pub cpu_seconds: f64,
}

pub fn usage_of(pid: u32) -> Usage {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0)
    };
    Usage {
        resident_kb: field("VmRSS:"),
        peak_kb: field("VmHWM:"),
        cpu_seconds: cpu_seconds_of(pid),
    }
}

/// User and system time of process `pid` (fields 14 and 15 of its stat line, after the
/// parenthesised command name), in seconds at the usual 100 ticks a second.
fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<u64> = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect();
    (fields[0] + fields[1]) as f64 / 100.0
}

/// Kilobytes as megabytes (of 1,024 kB).
pub fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}
