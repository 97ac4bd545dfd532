//! Helpers shared by the integration tests: stores in temporary folders.
#![allow(dead_code)] // each test binary uses its own subset

use minga_core::{DeviceIdentity, Encryption, FormRef, Store, StoreKey};
use std::path::Path;

pub fn key(seed: u8) -> Encryption {
    Encryption::Key(StoreKey::new([seed; 32]))
}

pub fn ana() -> DeviceIdentity {
    DeviceIdentity::new("phone-ana", "ana")
}

pub fn luis() -> DeviceIdentity {
    DeviceIdentity::new("tablet-luis", "luis")
}

pub fn open(path: &Path, seed: u8, identity: DeviceIdentity) -> Store {
    Store::open(path, key(seed), identity).expect("open store")
}

pub fn dialogue() -> FormRef {
    FormRef::new("dialogue", "2026-03")
}
