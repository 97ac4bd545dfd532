//! The wall clock, as the store records times (`meta.created_at`, a list row's `updated_at`,
//! a deletion's tombstone): one function, so that every layer reads the same clock.

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Seconds since the epoch, as automerge stamps a change.
pub(crate) fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}
