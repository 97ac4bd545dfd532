//! Keeps panics on the Rust side of the boundary: every exported call runs inside [`guarded`],
//! so that a bug surfaces in the app as `MingaError::Internal` rather than as an abort or an
//! untyped exception.

use crate::error::{MingaError, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `call`, turning a panic into [`MingaError::Internal`] with the panic's message.
///
/// `AssertUnwindSafe` is sound here because the state a call can leave half-updated is behind
/// a `Mutex` (poisoned by the panic and reported by the store) or in SQLite, whose open
/// transaction rolls back when it is dropped during the unwind.
pub(crate) fn guarded<T>(call: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_string());
        Err(MingaError::Internal { reason })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let result: Result<()> = guarded(|| panic!("index {} out of range", 7));
        match result {
            Err(MingaError::Internal { reason }) => assert_eq!(reason, "index 7 out of range"),
            other => panic!("expected Internal, got {other:?}"),
        }
    }

    #[test]
    fn results_pass_through_unchanged() {
        assert_eq!(guarded(|| Ok(3)).unwrap(), 3);
        assert!(matches!(
            guarded::<()>(|| Err(MingaError::Closed)),
            Err(MingaError::Closed)
        ));
    }
}
