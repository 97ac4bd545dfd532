//! Minga's core: survey submissions as automerge documents in one encrypted SQLite file per
//! device, and (as it lands) sync between stores. No FFI and no HTTP server here.

pub use minga_forms::{Answer, Answers, Attachment, GeoPoint, RepeatInstance, Value};
