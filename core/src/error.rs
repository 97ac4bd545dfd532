//! The store's one error type: each variant is something a caller can act on.

use std::path::PathBuf;

/// Everything that can go wrong in the store. Opening a file that is not usable never changes
/// it: the variants that name a file leave it byte for byte as it was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is encrypted with another key (or is not a database at all: with SQLCipher the
    /// two look the same, since an encrypted file is indistinguishable from random bytes).
    #[error("{path}: the key does not open this store (wrong key, or not an encrypted database)")]
    WrongKey { path: PathBuf },

    /// The file is readable but is not a Minga store.
    #[error("{path}: not a Minga store: {reason}")]
    NotAStore { path: PathBuf, reason: String },

    /// The store was written by a newer Minga than this one.
    #[error(
        "{path}: store schema version {found} is newer than this code understands ({supported})"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },

    /// SQLite found damage in the file. It is kept as it is for recovery.
    #[error("the store file is damaged and was left untouched for recovery: {detail}")]
    Corrupt { detail: String },

    /// No submission (or document) with this id is in the store.
    #[error("no submission with id {id}")]
    NotFound { id: String },

    /// The repeat instance named by a path does not exist in the submission.
    #[error("submission {submission}: repeat {repeat} has no instance {instance}")]
    NoSuchInstance {
        submission: String,
        repeat: String,
        instance: String,
    },

    /// An instance to add carries an id its repeat already holds.
    #[error("submission {submission}: repeat {repeat} already has an instance {instance}")]
    InstanceExists {
        submission: String,
        repeat: String,
        instance: String,
    },

    /// A name in a path holds something other than what the call expects (a value where a
    /// repeat was expected, or the reverse).
    #[error("submission {submission}: {name} is not a {expected}")]
    WrongShape {
        submission: String,
        name: String,
        expected: &'static str,
    },

    /// A caller argument was invalid (an empty name, an index out of range...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// An answer no question can hold, typed here (a point off the globe, a decimal that is
    /// not a number): refused, and nothing was written. The same value arriving by sync is kept.
    #[error("invalid answer for {question}: {reason}")]
    InvalidAnswer { question: String, reason: String },

    /// Labels were asked for in a language the form does not have: choose one of `languages`
    /// (empty when the form gives its labels in no named language), or export names.
    #[error(
        "form `{form_id}` has no language `{language}`; its languages: {}",
        if languages.is_empty() { "none named".to_string() } else { languages.join(", ") }
    )]
    UnknownLanguage {
        form_id: String,
        language: String,
        languages: Vec<String>,
    },

    /// Bytes given as an automerge document or change could not be loaded.
    #[error("not a valid automerge document or change: {0}")]
    InvalidDocument(String),

    /// A received change by a keyed actor whose signature is missing or does not verify under
    /// its actor's key (forged, moved from another change, or stripped); nothing of its
    /// document was stored. The rest of a sync step is unaffected.
    #[error("document {document}: change {change} is refused: {reason}")]
    UnverifiedChange {
        document: String,
        change: String,
        reason: String,
    },

    /// A hub's enrolment credential that this store refuses to keep: it binds another key than
    /// the store's, or its signature does not verify under the hub key given (another hub, or
    /// altered). Nothing was kept; enrol again with a new code from the right hub.
    #[error("the enrolment credential is refused: {reason}")]
    CredentialRefused { reason: String },

    /// Received bytes would make a document that is not shaped as its kind and id say (see
    /// [`crate::check_structure`]); nothing was stored.
    #[error(transparent)]
    Malformed(#[from] crate::malformed::Malformed),

    /// No form with this id (and version, when one was asked for) is in the store.
    #[error("no form {form_id}{} in this store", version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default())]
    FormNotFound {
        form_id: String,
        version: Option<String>,
    },

    /// This form version is already published with another definition (a change to a form is a
    /// new version), or something other than Minga wrote rival definitions into its document.
    #[error("form {form_id} version {version} is already published with a different definition; publish the change as a new version")]
    FormVersionConflict { form_id: String, version: String },

    /// A form document that does not hold a readable form (written by something other than
    /// Minga). It is kept as it is.
    #[error("form document {document} is not a readable form: {reason}")]
    InvalidForm { document: String, reason: String },

    /// The form refused a step of a form session (an unknown item, a counted repeat, an
    /// impossible answer...); nothing was stored.
    #[error(transparent)]
    FormSession(#[from] minga_forms::eval::SessionError),

    /// A stored form session was started on a submission that already has answers: open it
    /// instead (`StoredFormSession::open`).
    #[error("submission {submission} was started already: open it instead")]
    AlreadyStarted { submission: String },

    /// A stored form session no longer shows what is stored (a step failed and the submission
    /// could not be read back, or a step panicked): open the submission again.
    #[error("{reason}")]
    SessionLost { reason: String },

    /// An automerge operation failed on a stored document.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),

    /// The device's storage is full (SQLite's SQLITE_FULL): the call's transaction was rolled
    /// back, so nothing of it was stored and everything stored before is as it was. Free space
    /// (or remove unused media) and try again.
    #[error("the device's storage is full; nothing of this change was stored: {detail}")]
    StorageFull { detail: String },

    /// Any other SQLite failure (an I/O error...).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),

    /// The sync agent's background thread could not be started.
    #[error("the sync agent's thread could not start: {0}")]
    AgentThread(std::io::Error),

    /// The store's file, or the folder it is in, cannot be written (a read-only file system, a
    /// file or folder made read-only or immutable). Nothing was changed.
    #[error("{path}: the store cannot be written: {reason}; move it to writable storage, or make the file and its folder writable")]
    ReadOnly { path: PathBuf, reason: String },

    /// An attachment is larger than the store's limit (`Store::set_attachment_limit`,
    /// default 100 MB); nothing of it was stored. `size` is how far it was read or declared.
    #[error("the attachment of {size} bytes or more is over the limit of {limit} bytes; nothing was stored")]
    AttachmentTooLarge { size: u64, limit: u64 },

    /// Received attachment bytes that are not the content the hash names (a tampered or
    /// damaged chunk, a wrong size, a chunk out of order); nothing of them was kept.
    #[error("attachment {sha256}: refused, {reason}; nothing of it was stored")]
    AttachmentMismatch { sha256: String, reason: String },

    /// The attachment asked for is not whole in this store (missing, or still partly
    /// received): sync it first.
    #[error("attachment {sha256} is not whole in this store ({stored} bytes of it held)")]
    AttachmentNotPresent { sha256: String, stored: u64 },

    /// An export could not read an attachment's content from where its holder keeps it (the
    /// hub's database failed); the export stopped.
    #[error("attachment {sha256} could not be read for the export: {reason}")]
    MediaUnreadable { sha256: String, reason: String },

    /// A photo to be changed before it is stored (scaled, or its location removed) could not
    /// be read as a JPEG or PNG photo; nothing was stored.
    #[error("the photo could not be read, so it was not stored: {reason}")]
    UnreadablePhoto { reason: String },

    /// The content given to `add_attachment_from` could not be read; nothing was stored.
    #[error("the attachment's content could not be read: {0}; nothing was stored")]
    AttachmentRead(std::io::Error),

    /// A form's media file is not there: a file the form names was not given to publish it
    /// (or does not read as the list it must be), or a version has no file of that name.
    /// Give the file (publishing), or ask for one the version's manifest names.
    #[error("form {form_id}: media file {file}: {reason}")]
    FormMediaMissing {
        form_id: String,
        file: String,
        reason: String,
    },

    /// The file could not be read or created.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Shorthand for the store's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether this is the storage failing (SQLite, the disk, the file) rather than what one
    /// document holds: a storage fault stops whatever was going on; a document's fault may be
    /// reported and the work go on with the other documents. `Corrupt` counts as the storage's
    /// (SQLite's damaged pages); a caller that decodes a document itself knows that a decoding
    /// failure is the document's.
    pub(crate) fn is_storage_fault(&self) -> bool {
        matches!(
            self,
            Error::Sqlite(_)
                | Error::Corrupt { .. }
                | Error::StorageFull { .. }
                | Error::Io { .. }
                | Error::ReadOnly { .. }
                | Error::WrongKey { .. }
                | Error::NotAStore { .. }
        )
    }
}

/// A stored kind number that names no kind: the file was written by something else or damaged.
impl From<minga_sync::UnknownKind> for Error {
    fn from(error: minga_sync::UnknownKind) -> Self {
        Error::Corrupt {
            detail: error.to_string(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    /// SQLite's corruption codes become [`Error::Corrupt`] wherever they surface, so that a
    /// damaged page found long after opening is still reported as damage; a full disk becomes
    /// [`Error::StorageFull`] the same way.
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => Error::Corrupt {
                detail: error.to_string(),
            },
            Some(rusqlite::ErrorCode::DiskFull) => Error::StorageFull {
                detail: error.to_string(),
            },
            _ => Error::Sqlite(error),
        }
    }
}
