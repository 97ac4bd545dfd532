//! cargo-fuzz target: `targets::expression` (see tests/support/targets.rs), panics and broken
//! invariants both abort.
#![no_main]

#[path = "../../tests/support/targets.rs"]
#[allow(dead_code)] // each target uses one of the functions
mod targets;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = targets::expression(data) {
        panic!("{broken}");
    }
});
