//! The one error type every exported call returns. Its variants are what an app acts on
//! (show a message, ask for the key again, re-enrol, retry later), not where the error came from.

/// Everything that can go wrong in a Minga call. Kotlin sees `MingaException.NotFound` and so
/// on, Swift `MingaError.NotFound`, Python `MingaError.NotFound`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum MingaError {
    /// The submission, form, review or attachment named does not exist (or was deleted).
    #[error("not found: {what}")]
    NotFound { what: String },
    /// An answer that does not fit its question (wrong type, malformed date, out of range).
    #[error("invalid answer for {question}: {reason}")]
    InvalidAnswer { question: String, reason: String },
    /// An argument that is not well formed (an id that is not an id, an empty name, a key of
    /// the wrong length, bytes that are not a submission...).
    #[error("invalid argument: {reason}")]
    InvalidArgument { reason: String },
    /// A form definition with a mistake, located where the author can fix it. `sheet`, `row`
    /// and `column` are empty when the mistake is not in one cell (a JSON form, a missing sheet).
    #[error("invalid form ({sheet:?} row {row:?} column {column:?}): {message}")]
    InvalidForm {
        sheet: Option<String>,
        row: Option<u32>,
        column: Option<String>,
        message: String,
    },
    /// The key does not open this store. Nothing was changed; ask for the key again.
    #[error("wrong key for this store")]
    WrongKey,
    /// The file exists but is not a Minga store (another app's database, a random file).
    #[error("{path}: not a Minga store: {reason}")]
    NotAStore { path: String, reason: String },
    /// The store was written by a newer Minga: update the app. The file was not changed.
    #[error("{path}: written by a newer Minga (schema {found}, this one reads up to {supported})")]
    NewerStore {
        path: String,
        found: i64,
        supported: i64,
    },
    /// The store is damaged. It was not changed or deleted: keep it for recovery.
    #[error("store is corrupt: {reason}")]
    Corrupt { reason: String },
    /// The hub refused this device for this action (not enrolled, wrong role).
    #[error("unauthorized: {reason}")]
    Unauthorized { reason: String },
    /// The hub revoked this device: the app should wipe its local copy.
    #[error("this device was revoked")]
    Revoked,
    /// The hub could not be reached or the connection broke; what arrived is kept, retry later.
    #[error("network: {reason}")]
    Network { reason: String },
    /// The change conflicts with the current state (for example, editing a completed submission
    /// or settling a conflict that someone else already settled).
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// The store (or an object from it) was closed; open it again.
    #[error("the store is closed")]
    Closed,
    /// Reading or writing the store failed (disk full, permission denied, I/O error).
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// A bug in Minga (or an error a host callback threw). The store is left as it was.
    #[error("internal error: {reason}")]
    Internal { reason: String },
}

/// Shorthand for the result of every exported call.
pub type Result<T, E = MingaError> = std::result::Result<T, E>;

impl MingaError {
    pub(crate) fn invalid_argument(reason: impl ToString) -> Self {
        Self::InvalidArgument {
            reason: reason.to_string(),
        }
    }
}

/// A host callback (observer, transport, progress) threw, or returned something the library
/// cannot read: report it as an internal error of the call that invoked the callback.
impl From<uniffi::UnexpectedUniFFICallbackError> for MingaError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Internal {
            reason: format!("host callback failed: {}", error.reason),
        }
    }
}

impl From<minga_core::Error> for MingaError {
    fn from(error: minga_core::Error) -> Self {
        use minga_core::Error as E;
        let reason = error.to_string();
        match error {
            E::WrongKey { .. } => Self::WrongKey,
            E::NotAStore { path, reason } => Self::NotAStore {
                path: path.display().to_string(),
                reason,
            },
            E::NewerSchema {
                path,
                found,
                supported,
            } => Self::NewerStore {
                path: path.display().to_string(),
                found,
                supported,
            },
            E::Corrupt { detail } => Self::Corrupt { reason: detail },
            E::NotFound { id } => Self::NotFound {
                what: format!("submission {id}"),
            },
            E::NoSuchInstance { .. } => Self::NotFound { what: reason },
            E::WrongShape { .. } | E::InvalidArgument(_) | E::InvalidDocument(_) => {
                Self::InvalidArgument { reason }
            }
            E::Sqlite(_) | E::Io { .. } => Self::Storage { reason },
            E::Automerge(_) => Self::Internal { reason },
            // A variant the core gains later is reported, not lost, until it gets its own arm.
            #[allow(unreachable_patterns)]
            _ => Self::Internal { reason },
        }
    }
}
