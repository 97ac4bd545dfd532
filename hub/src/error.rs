//! The hub's error type: every failure names what was wrong, so that an administrator or a
//! device can act on it.

use thiserror::Error;

/// What can go wrong in the hub, from storage to a refused request.
#[derive(Debug, Error)]
pub enum HubError {
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("PostgreSQL: {}", postgres_detail(.0))]
    Postgres(#[from] postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    PostgresPool(#[from] r2d2_postgres::r2d2::Error),
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    PostgresConnect { target: String, reason: String },
    #[error("`{url}` is not a PostgreSQL connection URL: {reason}")]
    BadDatabaseUrl { url: String, reason: String },
    #[error("I/O on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the hub database {database} does not open with the key in {key_file}: the key file is not the one this database was made with, or the file is not a hub database")]
    WrongKey { database: String, key_file: String },
    #[error("the hub database {path} cannot be written: {reason}; the hub needs to write it (move the data folder to writable storage, or make the file and its folder writable)")]
    ReadOnlyDatabase { path: String, reason: String },
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("key file {path} can be read or changed by other users (mode {mode:03o}), so the hub refuses it; make it the hub user's alone with `chmod 600 {path}`")]
    KeyFileNotPrivate { path: String, mode: u32 },
    #[error("an enrolment code with lookup `{0}` already exists")]
    LookupTaken(String),
    #[error("no project named `{0}`")]
    UnknownProject(String),
    #[error("a project named `{0}` already exists")]
    DuplicateProject(String),
    #[error("{name:?} cannot be a project name, as no device could sync with it: {reason}")]
    BadProjectName {
        name: String,
        reason: minga_sync::project::ProjectNameError,
    },
    #[error("form `{id}` version `{version}` is already published in project `{project}`; publish a new version instead")]
    DuplicateFormVersion {
        project: String,
        id: String,
        version: String,
    },
    #[error("no device named `{0}` or with that id; `minga-hub device list` shows every device")]
    UnknownDevice(String),
    #[error("{count} devices are named `{name}`: {matches}; give the id of the one you mean (`minga-hub device list` shows them)")]
    AmbiguousDevice {
        name: String,
        count: usize,
        matches: String,
    },
    #[error("no hub in {data}: it holds no hub database ({database}). Point to the hub's data folder with --data DIR (or MINGA_HUB_DATA=DIR), or create a hub there with `minga-hub --data DIR project create NAME` or `minga-hub --data DIR serve`")]
    NoHub { data: String, database: String },
    #[error("no submission `{id}` in project `{project}`; `minga-hub submissions list --project {project}` shows them")]
    UnknownSubmission { project: String, id: String },
    #[error("a console user named `{0}` already exists; `minga-hub user reset {0}` gives her a new password")]
    DuplicateConsoleUser(String),
    #[error("no console user named `{0}`; `minga-hub user list` shows them")]
    UnknownConsoleUser(String),
    #[error("a console password needs at least {0} characters; give a longer one, or none to have one generated")]
    ShortConsolePassword(usize),
    #[error("{name:?} cannot be a console user name: {reason}")]
    BadConsoleUserName { name: String, reason: String },
    #[error("backup: {0}")]
    Backup(String),
    #[error("restore: {0}")]
    Restore(String),
    #[error("form file `{path}`: {reason}")]
    BadFormFile { path: String, reason: String },
    #[error("form `{id}` version `{version}` cannot be published: {reason}")]
    UnpublishableForm {
        id: String,
        version: String,
        reason: String,
    },
    #[error("form `{form}`: media file `{file}`: {reason}; give it with the form (`form publish --media FOLDER`)")]
    FormMediaMissing {
        form: String,
        file: String,
        reason: String,
    },
    #[error("form media file `{file}` cannot be stored: {reason}")]
    FormMediaRefused { file: String, reason: String },
    #[error("`{0}` is not a role; use facilitator or supervisor")]
    BadRole(String),
    #[error("the stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("demo: {0}")]
    Demo(String),
    #[error("export: {0}")]
    Export(String),
}

/// A PostgreSQL error with what the server said (its own `Display` says only "db error").
pub(crate) fn postgres_detail(error: &postgres::Error) -> String {
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

impl HubError {
    /// Whether the hub's storage is full: SQLite's SQLITE_FULL (the disk, or the database's own
    /// page limit), PostgreSQL's `disk_full` (SQLSTATE 53100).
    pub fn is_storage_full(&self) -> bool {
        match self {
            HubError::Storage(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            HubError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::DISK_FULL),
            _ => false,
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        HubError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// The core's errors where the hub passes them on whole (an export's file or form mistake).
impl From<minga_core::Error> for HubError {
    fn from(error: minga_core::Error) -> Self {
        HubError::Export(error.to_string())
    }
}

pub type Result<T, E = HubError> = std::result::Result<T, E>;
