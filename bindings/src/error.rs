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
    /// A form with mistakes, every one of them, each located where its author can fix it.
    #[error("the form has {} mistake(s), the first: {}", mistakes.len(), mistakes.first().map(|m| m.message.as_str()).unwrap_or(""))]
    InvalidForm { mistakes: Vec<FormMistake> },
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
    /// The hub's storage is full: nothing of the failed exchange was stored there, and this
    /// device keeps its copy. Not the network: tell the hub's administrator; sync again once the
    /// hub has room.
    #[error("the hub's storage is full: {reason}")]
    HubStorageFull { reason: String },
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

/// One mistake in a form: the sheet, row (as a spreadsheet numbers it) and column (letter and
/// header) where it is, when it is in one place, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FormMistake {
    pub sheet: Option<String>,
    pub row: Option<u32>,
    pub column: Option<String>,
    pub header: Option<String>,
    /// The question, group or repeat concerned, when the mistake is in its logic.
    pub item: Option<String>,
    pub message: String,
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
            E::NoSuchInstance { .. } | E::FormNotFound { .. } | E::FormMediaMissing { .. } => {
                Self::NotFound { what: reason }
            }
            E::FormVersionConflict { .. } | E::InstanceExists { .. } | E::AlreadyStarted { .. } => {
                Self::Conflict { reason }
            }
            E::FormSession(refused) => refused.into(),
            E::SessionLost { reason } => Self::Internal { reason },
            E::InvalidForm { document, reason } => Self::InvalidForm {
                mistakes: vec![FormMistake {
                    sheet: None,
                    row: None,
                    column: None,
                    header: None,
                    item: Some(document),
                    message: reason,
                }],
            },
            E::WrongShape { .. }
            | E::InvalidArgument(_)
            | E::UnknownLanguage { .. }
            | E::InvalidDocument(_)
            | E::UnverifiedChange { .. }
            | E::Malformed(_) => Self::InvalidArgument { reason },
            E::InvalidAnswer { question, reason } => Self::InvalidAnswer { question, reason },
            E::CredentialRefused { .. } => Self::Unauthorized { reason },
            E::AttachmentNotPresent { .. } => Self::NotFound { what: reason },
            E::AttachmentTooLarge { .. }
            | E::AttachmentMismatch { .. }
            | E::UnreadablePhoto { .. } => Self::InvalidArgument { reason },
            E::Sqlite(_)
            | E::StorageFull { .. }
            | E::Io { .. }
            | E::ReadOnly { .. }
            | E::AttachmentRead(_)
            | E::MediaUnreadable { .. } => Self::Storage { reason },
            E::Automerge(_) => Self::Internal { reason },
            // A variant the core gains later is reported, not lost, until it gets its own arm.
            #[allow(unreachable_patterns)]
            _ => Self::Internal { reason },
        }
    }
}

impl From<minga_forms::xlsform::ImportErrors> for MingaError {
    fn from(errors: minga_forms::xlsform::ImportErrors) -> Self {
        let mistake = |error: &minga_forms::xlsform::ImportError| {
            let location = error.location.as_ref();
            let column = location.and_then(|l| l.column.as_ref());
            FormMistake {
                sheet: location.map(|l| l.sheet.clone()),
                row: location.map(|l| l.row),
                column: column.map(|c| c.letter.clone()),
                header: column.map(|c| c.header.clone()),
                item: None,
                message: error.problem.to_string(),
            }
        };
        Self::InvalidForm {
            mistakes: errors.iter().map(mistake).collect(),
        }
    }
}

/// Mistakes in a form's logic, found when it is compiled: named by item and column.
impl From<Vec<minga_forms::eval::CompileError>> for MingaError {
    fn from(errors: Vec<minga_forms::eval::CompileError>) -> Self {
        let mistake = |error: minga_forms::eval::CompileError| FormMistake {
            sheet: Some(
                if error.item.is_some() {
                    "survey"
                } else {
                    "settings"
                }
                .to_string(),
            ),
            row: None,
            column: None,
            header: Some(error.column.header().to_string()),
            message: error.problem.to_string(),
            item: error.item,
        };
        Self::InvalidForm {
            mistakes: errors.into_iter().map(mistake).collect(),
        }
    }
}

/// A session asked about an item or instance the form or submission does not have, or was
/// given an answer no question can hold.
impl From<minga_forms::eval::SessionError> for MingaError {
    fn from(error: minga_forms::eval::SessionError) -> Self {
        match error {
            minga_forms::eval::SessionError::ImpossibleAnswer { question, problem } => {
                Self::InvalidAnswer {
                    question,
                    reason: problem.reason,
                }
            }
            other => Self::InvalidArgument {
                reason: other.to_string(),
            },
        }
    }
}
