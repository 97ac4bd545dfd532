//! Helpers shared by Minga's cross-crate scenarios: seeded randomness, a real hub on loopback
//! (in process or as the `minga-hub` binary), phones with their own encrypted stores, child
//! processes to SIGKILL, a fault-injecting TCP proxy, the fuzz targets and hostile workbooks.

pub mod child;
pub mod hub;
pub mod phone;
pub mod proxy;
pub mod seed;
pub mod targets;
pub mod usage;
pub mod workbooks;

/// Whether the long variants run (`MINGA_LONG=1`): more trials, devices and cases.
pub fn long_run() -> bool {
    std::env::var("MINGA_LONG").is_ok_and(|v| v == "1")
}

/// `short` in the default run, `long` with `MINGA_LONG=1`.
pub fn scale(short: usize, long: usize) -> usize {
    if long_run() {
        long
    } else {
        short
    }
}
