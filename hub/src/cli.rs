//! The command line (clap derive): `serve`, and the administration commands over the same data
//! folder. Each command prints what a supervisor needs and nothing secret but the one-time code,
//! through [`Printer`], which shows control characters escaped; every listing also prints JSON
//! (`--json`). Only `serve` and `project create` create a hub; the others refuse a folder that
//! holds none (`HubError::NoHub`).

use crate::access::Role;
use crate::admin;
use crate::error::{HubError, Result};
use crate::export::{CsvOptions, Format};
use crate::listings;
use crate::output::{self, Printer};
use crate::server::{self, AppState};
use crate::storage::{HubStorage, PostgresStorage, SqliteStorage, SubmissionQuery};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the hub's data is, given before the command (`minga-hub --data DIR serve`): the long
/// explanation lives here alone, in the top-level `--help`.
#[derive(Debug, Clone, Default, Args)]
pub struct HubLocation {
    /// The hub's data folder (default: minga-hub-data).
    #[arg(
        long,
        value_name = "DIR",
        env = "MINGA_HUB_DATA",
        hide_env_values = true,
        long_help = "The hub's data folder: its encrypted database (hub.sqlite3) and, unless \
            --key-file says otherwise, its key file live here. Default: minga-hub-data in the \
            current folder. Only `serve` and `project create` create a hub where there is none; \
            every other command refuses a folder that holds no hub."
    )]
    pub data: Option<PathBuf>,
    /// The key file of the hub's encrypted database (default: hub.sqlite3.key in --data).
    #[arg(
        long,
        value_name = "FILE",
        env = "MINGA_HUB_KEY_FILE",
        hide_env_values = true,
        long_help = "The key file of the hub's encrypted database: 64 hex digits, created \
            (mode 0600) with a random key when the database is new. Default: hub.sqlite3.key in \
            the data folder. Keep it elsewhere (another disk, a secrets mount) so that a copy of \
            the data folder alone reveals nothing; without it the database cannot be read."
    )]
    pub key_file: Option<PathBuf>,
    /// Keep the hub's data in this PostgreSQL database instead of --data.
    #[arg(
        long,
        value_name = "URL",
        env = "MINGA_HUB_DATABASE",
        hide_env_values = true,
        long_help = "Keep the hub's data in this PostgreSQL database \
            (postgres://user:password@host/database) instead of the SQLite file in --data, so \
            that several hub processes can serve one programme (behind a load balancer that \
            sends each sync session to one process; see the README). The hub creates and \
            upgrades its tables. --data and --key-file are then unused; back it up with \
            PostgreSQL's own pg_dump, not `minga-hub backup`."
    )]
    pub database: Option<String>,
}

/// The same options given after the command (`minga-hub serve --data DIR`), with short help:
/// `minga-hub --help` explains them once. No environment here, so that a value typed before
/// the command is not overridden by one from the environment.
#[derive(Debug, Clone, Default, Args)]
pub struct HubOptions {
    /// The hub's data folder (see `minga-hub --help`).
    #[arg(long = "data", id = "here_data", value_name = "DIR", global = true)]
    pub data: Option<PathBuf>,
    /// The database's key file (see `minga-hub --help`).
    #[arg(
        long = "key-file",
        id = "here_key_file",
        value_name = "FILE",
        global = true
    )]
    pub key_file: Option<PathBuf>,
    /// A PostgreSQL database instead of --data (see `minga-hub --help`).
    #[arg(
        long = "database",
        id = "here_database",
        value_name = "URL",
        global = true
    )]
    pub database: Option<String>,
}

impl HubOptions {
    /// Options given after the command win over those given before it (or in the environment).
    fn over(&self, before: &HubLocation) -> HubLocation {
        HubLocation {
            data: self.data.clone().or_else(|| before.data.clone()),
            key_file: self.key_file.clone().or_else(|| before.key_file.clone()),
            database: self.database.clone().or_else(|| before.database.clone()),
        }
    }
}

/// `--json` on a listing.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct OutputFormat {
    /// Print JSON (an array of objects, times in UTC) for scripts, instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "minga-hub",
    version,
    about = "Minga's office hub: the server phones sync with, and the supervisor's command line",
    long_about = "Minga's office hub: the server phones sync with, and the supervisor's command \
        line. Times are shown in this computer's time zone (set TZ to show another, e.g. \
        TZ=America/Guayaquil)."
)]
pub struct Cli {
    #[command(flatten)]
    pub hub: HubLocation,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the hub's HTTP server until SIGINT or SIGTERM (creates the hub if there is none).
    Serve {
        #[command(flatten)]
        hub: HubOptions,
        /// The address and port to listen on: 0.0.0.0:8080 for every network of this machine,
        /// 127.0.0.1:8080 for this machine alone.
        #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM); needs --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        limits: server::ServeLimits,
        /// Let the console's sign-in accept passwords over plain HTTP from other machines (only
        /// behind a proxy that adds TLS); without it, plain HTTP sign-in works from this
        /// machine alone.
        #[arg(long)]
        console_plain_http: bool,
    },
    /// Console users: the supervisors who sign in to the console's web pages.
    User {
        #[command(flatten)]
        hub: HubOptions,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Projects: create one (which creates the hub if there is none) and list them.
    Project {
        #[command(flatten)]
        hub: HubOptions,
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Forms: publish a new version from an XLSForm or JSON file, and list the versions.
    Form {
        #[command(flatten)]
        hub: HubOptions,
        #[command(subcommand)]
        command: FormCommand,
    },
    /// Devices: enrol one with a one-time code, list them with their last sync, revoke one.
    Device {
        #[command(flatten)]
        hub: HubOptions,
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// Submissions: list them (filtered by form, status or review) and show one.
    Submissions {
        #[command(flatten)]
        hub: HubOptions,
        #[command(subcommand)]
        command: SubmissionsCommand,
    },
    /// Exports a project's submissions for analysis: CSV (ODK Central's layout), GeoJSON,
    /// JSON, or the CSV's tables as one Excel workbook (xlsx), one set of files per form.
    Export {
        #[command(flatten)]
        hub: HubOptions,
        /// The project to export.
        #[arg(long)]
        project: String,
        /// What to write.
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The folder to write the files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Write choice labels in this language (as the form names it, e.g. "Español (es)")
        /// instead of choice names (CSV). A language a form lacks is refused, naming the
        /// languages it has.
        #[arg(long, value_name = "LANGUAGE")]
        labels: Option<String>,
        /// Export only submissions whose review is in this state (`--review approved` for the
        /// approved ones); every submission by default.
        #[arg(long, value_enum, value_name = "STATE")]
        review: Option<ReviewArg>,
        /// The same as `--review approved`.
        #[arg(long, conflicts_with = "review")]
        approved_only: bool,
    },
    /// Copies a hub (its database, consistent even while `serve` writes, and its key file) into
    /// a new folder, with a manifest. For a PostgreSQL hub use pg_dump instead.
    Backup {
        #[command(flatten)]
        hub: HubOptions,
        /// The folder to write the backup into: new, or empty. Keep it as safe as the hub: it
        /// holds the key with the database.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Brings back a hub from a folder `minga-hub backup` wrote, into --data (which must hold
    /// no hub yet); then `serve` it as usual.
    Restore {
        #[command(flatten)]
        hub: HubOptions,
        /// The backup folder.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Gives the hub a new sync epoch, as `restore` does: run it after bringing a hub's database
    /// back by other means (a PostgreSQL hub from pg_dump). Each device then compares every
    /// document with the hub at its next sync, sending back what it synced after the copy
    /// was taken and receiving what it lacks.
    RenewSyncEpoch {
        #[command(flatten)]
        hub: HubOptions,
    },
    /// Runs the whole story on a temporary hub of its own (two facilitators, a supervisor,
    /// offline edits, a conflict, a review) and leaves the exports in --out.
    Demo {
        /// The folder to leave the demo's exports in.
        #[arg(long, value_name = "DIR", default_value = "minga-demo-exports")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Creates a project (and the hub itself, if the data folder holds none yet).
    Create {
        /// The project's name: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, as devices put
        /// it into the sync URL.
        name: String,
        /// A title for people to read (default: the name).
        #[arg(long)]
        title: Option<String>,
    },
    /// Lists the projects with their titles and when they were created.
    List {
        #[command(flatten)]
        output: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum FormCommand {
    /// Publishes a form as a new version; devices receive it at their next sync. An id and
    /// version already published are refused: raise the version in the form's settings.
    Publish {
        /// The XLSForm (.xlsx, .xls) or Minga JSON (.json) file.
        file: PathBuf,
        /// The project to publish it in.
        #[arg(long)]
        project: String,
        /// The folder of the form's media files (the CSV, XML or GeoJSON lists of
        /// select_one_from_file and pulldata(), the images and sounds of its labels): every
        /// file in it is published with the version. A form naming a file not there is refused.
        #[arg(long, value_name = "FOLDER")]
        media: Option<PathBuf>,
    },
    /// Lists the published form versions with their dates and submission counts.
    List {
        /// The project whose forms to list.
        #[arg(long)]
        project: String,
        #[command(flatten)]
        output: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a console user supervising the projects named. Her password is read from
    /// standard input with --password-stdin, or else generated and printed once.
    Add {
        /// A project she supervises (repeat for several).
        #[arg(long, required = true)]
        project: Vec<String>,
        /// The name she signs in with.
        #[arg(long)]
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Gives a console user a new password (read or generated as for `add`) and signs her out
    /// everywhere.
    Reset {
        /// The user's name.
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Lists the console users and the projects each supervises.
    List {
        #[command(flatten)]
        output: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Prints a one-time enrolment code (valid 15 minutes) and its QR code.
    Enrol {
        /// The project the device will sync.
        #[arg(long)]
        project: String,
        /// What the device may do: a facilitator receives her own submissions, a supervisor
        /// everything in the project and may review.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The name people know the device or its user by (e.g. "Ana" or "Tablet 3").
        #[arg(long)]
        name: String,
        /// The hub's address as devices reach it (e.g. http://192.168.1.10:8080), put into the
        /// QR code.
        #[arg(long, value_name = "URL")]
        hub_url: Option<String>,
    },
    /// Lists the devices with their role, project, last sync and state.
    List {
        /// Only this project's devices.
        #[arg(long)]
        project: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Revokes a device: its token stops working at once, and at its next sync it is told to
    /// wipe its copy.
    Revoke {
        /// The device's name or id, as `device list` shows them.
        device: String,
        /// Only look among this project's devices.
        #[arg(long)]
        project: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubmissionsCommand {
    /// Lists a project's submissions, newest change first.
    List {
        /// The project whose submissions to list.
        #[arg(long)]
        project: String,
        /// Only submissions of this form (its form id).
        #[arg(long, value_name = "FORM_ID")]
        form: Option<String>,
        /// Only submissions with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only submissions whose review is in this state (`received`: awaiting a verdict).
        #[arg(long, value_enum)]
        review: Option<ReviewArg>,
        /// Only submissions holding a conflict (two devices changed one answer).
        #[arg(long)]
        conflicts: bool,
        /// Only submissions flagged as invalid on arrival (answers that do not fit their form
        /// version; kept as sent).
        #[arg(long)]
        invalid: bool,
        /// Include deleted submissions.
        #[arg(long)]
        deleted: bool,
        #[command(flatten)]
        output: OutputFormat,
    },
    /// Shows one submission: its answers with the form's labels, its review and its history.
    Show {
        /// The submission's id, as `submissions list` shows it.
        id: String,
        /// The project it belongs to.
        #[arg(long)]
        project: String,
        /// Labels in this language, as the form names it (default: the form's own default).
        #[arg(long, value_name = "LANGUAGE")]
        language: Option<String>,
        #[command(flatten)]
        output: OutputFormat,
    },
}

/// A submission's status, for `submissions list --status`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Draft,
    Complete,
}

/// A review state, for `submissions list --review`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReviewArg {
    Received,
    HasIssues,
    Approved,
    Rejected,
}

impl ReviewArg {
    fn state(self) -> minga_core::ReviewState {
        match self {
            ReviewArg::Received => minga_core::ReviewState::Received,
            ReviewArg::HasIssues => minga_core::ReviewState::HasIssues,
            ReviewArg::Approved => minga_core::ReviewState::Approved,
            ReviewArg::Rejected => minga_core::ReviewState::Rejected,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Facilitator,
    Supervisor,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Facilitator => Role::Facilitator,
            RoleArg::Supervisor => Role::Supervisor,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Geojson,
    Json,
    /// The CSV's tables as sheets of one Excel workbook.
    Xlsx,
}

impl From<ExportFormat> for Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Geojson => Format::GeoJson,
            ExportFormat::Json => Format::Json,
            ExportFormat::Xlsx => Format::Xlsx,
        }
    }
}

/// Parses the command line, refusing hub options given before `demo`, which makes a temporary
/// hub of its own (it would silently ignore them).
pub fn parse() -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let typed = |id: &str| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
    if matches!(cli.command, Command::Demo { .. })
        && ["data", "key_file", "database"].iter().any(|id| typed(id))
    {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "`demo` runs a temporary hub of its own: --data, --key-file and --database are not for it",
            )
            .exit();
    }
    cli
}

/// Runs one parsed command, printing to standard output.
pub fn run(cli: Cli) -> Result<()> {
    run_printing_to(cli, &mut Printer::new(std::io::stdout()))
}

/// Runs one parsed command, printing to `out`.
pub fn run_printing_to(cli: Cli, out: &mut Printer<impl Write>) -> Result<()> {
    let before = cli.hub;
    match cli.command {
        // The demo's own account: fixed text about the data it makes itself.
        Command::Demo { out: folder } => {
            crate::demo::run(&folder, &mut std::io::stdout()).map(drop)
        }
        Command::Serve {
            hub,
            listen,
            tls_cert,
            tls_key,
            limits,
            console_plain_http,
        } => {
            let storage = open_storage(&hub.over(&before), Creating::Yes)?;
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| server::TlsFiles { cert, key });
            let console = crate::console::ConsoleConfig {
                tls: tls.is_some(),
                plain_http_sign_in: console_plain_http,
            };
            serve(storage, &listen, tls, limits, console)
        }
        Command::User { hub, command } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            user(storage.as_ref(), command, out)
        }
        Command::Project { hub, command } => {
            let creating = match &command {
                // A refused name creates no hub either.
                ProjectCommand::Create { name, .. } => {
                    admin::check_project_name(name)?;
                    Creating::Yes
                }
                ProjectCommand::List { .. } => Creating::No,
            };
            let storage = open_storage(&hub.over(&before), creating)?;
            project(storage.as_ref(), command, out)
        }
        Command::Form { hub, command } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            form(storage.as_ref(), command, out)
        }
        Command::Device { hub, command } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            device(storage.as_ref(), command, out)
        }
        Command::Submissions { hub, command } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            submissions(storage.as_ref(), command, out)
        }
        Command::Export {
            hub,
            project,
            format,
            out: folder,
            labels,
            review,
            approved_only,
        } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            let review = approved_only.then_some(ReviewArg::Approved).or(review);
            let options = CsvOptions {
                labels_in: labels,
                review_state: review.map(ReviewArg::state),
            };
            export(
                storage.as_ref(),
                &project,
                format.into(),
                &options,
                &folder,
                out,
            )
        }
        Command::Backup { hub, out: folder } => {
            let location = sqlite_location(&hub.over(&before), "backup")?;
            let written = crate::backup::backup(&location.0, &location.1, &folder)?;
            listings::backup_written(&written, out)
        }
        Command::Restore { hub, from } => {
            let location = sqlite_location(&hub.over(&before), "restore")?;
            let restored = crate::backup::restore(&from, &location.0, &location.1)?;
            listings::restored(&restored, out)
        }
        Command::RenewSyncEpoch { hub } => {
            let storage = open_storage(&hub.over(&before), Creating::No)?;
            let epoch = storage.renew_hub_epoch()?;
            out.line(format_args!(
                "the hub's sync epoch is now {epoch}: devices compare every document with it at their next sync"
            ))
        }
    }
}

/// Whether a command may create a hub where there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creating {
    Yes,
    No,
}

/// The storage the options name: PostgreSQL with --database, else SQLite in --data, created
/// there only by the commands that make a hub.
fn open_storage(location: &HubLocation, creating: Creating) -> Result<Arc<dyn HubStorage>> {
    if let Some(url) = &location.database {
        return Ok(Arc::new(PostgresStorage::open(url)?));
    }
    let (data, key_file) = sqlite_paths(location);
    Ok(Arc::new(match creating {
        Creating::Yes => SqliteStorage::open_with_key_file(&data, &key_file)?,
        Creating::No => SqliteStorage::open_existing(&data, &key_file)?,
    }))
}

/// The data folder and key file the options name.
fn sqlite_paths(location: &HubLocation) -> (PathBuf, PathBuf) {
    let data = location
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let key_file = location
        .key_file
        .clone()
        .unwrap_or_else(|| SqliteStorage::default_key_file(&data));
    (data, key_file)
}

/// [`sqlite_paths`] for a command that works on the SQLite files alone.
fn sqlite_location(location: &HubLocation, command: &str) -> Result<(PathBuf, PathBuf)> {
    if location.database.is_some() {
        let why = format!(
            "`{command}` copies a SQLite hub's files; for a PostgreSQL hub use pg_dump and pg_restore"
        );
        return Err(match command {
            "restore" => HubError::Restore(why),
            _ => HubError::Backup(why),
        });
    }
    Ok(sqlite_paths(location))
}

/// The data folder when none is named.
pub const DEFAULT_DATA: &str = "minga-hub-data";

fn serve(
    storage: Arc<dyn HubStorage>,
    listen: &str,
    tls: Option<server::TlsFiles>,
    limits: server::ServeLimits,
    console: crate::console::ConsoleConfig,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::io("runtime", e))?;
    let state = AppState::new(storage.clone())?.with_console(console);
    let served = runtime.block_on(async {
        let listener = server::bind(listen, tls.as_ref()).await?;
        server::serve(listener, state, limits, server::shutdown_signal()).await
    });
    server::outlive_runtime(runtime, storage);
    served
}

fn project(
    storage: &dyn HubStorage,
    command: ProjectCommand,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    match command {
        ProjectCommand::Create { name, title } => {
            let project = admin::create_project(storage, &name, title.as_deref())?;
            out.line(format_args!(
                "created project {} ({})",
                project.name, project.title
            ))
        }
        ProjectCommand::List { output } => {
            listings::projects(&storage.projects()?, output.json, out)
        }
    }
}

fn form(
    storage: &dyn HubStorage,
    command: FormCommand,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    match command {
        FormCommand::Publish {
            file,
            project,
            media,
        } => {
            let form = match media {
                Some(folder) => admin::publish_form_with_media(storage, &project, &file, &folder)?,
                None => admin::publish_form(storage, &project, &file)?,
            };
            out.line(format_args!(
                "published form {} version {} in project {project}{}",
                form.id,
                form.version,
                media_note(&form)
            ))
        }
        FormCommand::List { project, output } => {
            listings::forms(&admin::list_forms(storage, &project)?, output.json, out)
        }
    }
}

/// What `form publish` adds about the media files it published (nothing without).
fn media_note(form: &minga_forms::Form) -> String {
    match form.media.len() {
        0 => String::new(),
        1 => " with 1 media file".into(),
        n => format!(" with {n} media files"),
    }
}

/// The password given on standard input (its first line), or none to have one generated.
fn password_from(stdin: bool) -> Result<crate::console::users::Password> {
    let given = if stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| HubError::io("standard input", e))?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        None
    };
    crate::console::users::Password::given_or_generated(given)
}

/// Prints a generated password, the only time anyone sees it.
fn show_generated(
    password: &crate::console::users::Password,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    match password {
        crate::console::users::Password::Generated(text) => out.line(format_args!(
            "password (shown once; give it to her and let nobody else see it): {text}"
        )),
        crate::console::users::Password::Given(_) => Ok(()),
    }
}

fn user(
    storage: &dyn HubStorage,
    command: UserCommand,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    use crate::console::users;
    match command {
        UserCommand::Add {
            project,
            name,
            password_stdin,
        } => {
            let password = password_from(password_stdin)?;
            let user = users::add_user(storage, &name, &project, &password)?;
            out.line(format_args!(
                "created console user {} supervising {}",
                user.name,
                user.projects.join(", ")
            ))?;
            show_generated(&password, out)
        }
        UserCommand::Reset {
            name,
            password_stdin,
        } => {
            let password = password_from(password_stdin)?;
            users::reset_user(storage, &name, &password)?;
            out.line(format_args!(
                "{name} has a new password; her sessions have ended"
            ))?;
            show_generated(&password, out)
        }
        UserCommand::List { output } => {
            listings::console_users(&storage.console_users()?, output.json, out)
        }
    }
}

fn device(
    storage: &dyn HubStorage,
    command: DeviceCommand,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    match command {
        DeviceCommand::Enrol {
            project,
            role,
            name,
            hub_url,
        } => {
            let issued = admin::enrol_device(storage, &project, role.into(), &name)?;
            let hub_key = storage.hub_signing_key()?.public_key();
            let uri = admin::enrolment_uri(&issued.code, hub_url.as_deref(), Some(&hub_key));
            out.block(&admin::qr_for_terminal(&uri)?)?;
            out.line(format_args!(
                "Enrolment code for {name} ({} in {project}): {}",
                Role::from(role),
                issued.code
            ))?;
            out.line(format_args!(
                "Single use, valid until {}.",
                output::local_time(&issued.expires_at)
            ))
        }
        DeviceCommand::List { project, output } => listings::devices(
            &admin::list_devices(storage, project.as_deref())?,
            output.json,
            out,
        ),
        DeviceCommand::Revoke { device, project } => {
            let device = admin::revoke_device(storage, &device, project.as_deref())?;
            out.line(format_args!(
                "revoked {} ({}, {} in {}); it will be told to wipe its copy at its next sync",
                device.name, device.id, device.role, device.project
            ))
        }
    }
}

fn submissions(
    storage: &dyn HubStorage,
    command: SubmissionsCommand,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    match command {
        SubmissionsCommand::List {
            project,
            form,
            status,
            review,
            conflicts,
            invalid,
            deleted,
            output,
        } => {
            let query = SubmissionQuery {
                form_id: form,
                status: status.map(|s| match s {
                    StatusArg::Draft => "draft".into(),
                    StatusArg::Complete => "complete".into(),
                }),
                review_state: review.map(|r| r.state().as_str().into()),
                conflicted_only: conflicts,
                invalid_only: invalid,
                include_deleted: deleted,
                ..SubmissionQuery::default()
            };
            let rows = admin::list_submissions(storage, &project, &query)?;
            listings::submissions(&rows, output.json, out)
        }
        SubmissionsCommand::Show {
            id,
            project,
            language,
            output,
        } => {
            let detail =
                crate::show::submission_detail(storage, &project, &id, language.as_deref())?;
            listings::submission(&detail, output.json, out)
        }
    }
}

fn export(
    storage: &dyn HubStorage,
    project: &str,
    format: Format,
    options: &CsvOptions,
    folder: &std::path::Path,
    out: &mut Printer<impl Write>,
) -> Result<()> {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("reading {pos}/{len} submissions {wide_bar} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let report =
        crate::export::export_project(storage, project, format, options, folder, &progress)?;
    bar.finish_and_clear();
    for file in &report.files {
        out.line(format_args!("wrote {}", file.display()))?;
    }
    for skipped in &report.skipped {
        out.line(format_args!(
            "skipped {}: {}",
            skipped.document, skipped.reason
        ))?;
    }
    for point in &report.bad_points {
        out.line(format_args!("no location for {point}"))?;
    }
    for missing in &report.missing_media {
        out.line(format_args!("missing attachment: {missing}"))?;
    }
    Ok(())
}
