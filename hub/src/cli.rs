//! The command line (clap derive): `serve`, and the administration commands over the same data
//! folder. Each command prints what a supervisor needs and nothing secret but the one-time code,
//! through [`Printer`], which shows control characters escaped.

use crate::access::Role;
use crate::admin;
use crate::error::{HubError, Result};
use crate::export::{CsvOptions, Format};
use crate::output::Printer;
use crate::server::{self, AppState};
use crate::storage::{HubStorage, PostgresStorage, SqliteStorage};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "minga-hub",
    version,
    about = "Minga's office hub: sync server and administration"
)]
pub struct Cli {
    /// The hub's data folder (its encrypted database lives here).
    #[arg(
        long,
        global = true,
        default_value = "minga-hub-data",
        env = "MINGA_HUB_DATA",
        hide_env_values = true
    )]
    pub data: PathBuf,
    /// The key file of the hub's encrypted database: 64 hex digits, created (mode 0600) with a
    /// random key when the database is new. Default: hub.sqlite3.key in the data folder. Keep it
    /// elsewhere (another disk, a secrets mount) so that a copy of the data folder alone reveals
    /// nothing; without it the database cannot be read.
    #[arg(
        long,
        global = true,
        env = "MINGA_HUB_KEY_FILE",
        hide_env_values = true
    )]
    pub key_file: Option<PathBuf>,
    /// Keep the hub's data in this PostgreSQL database (postgres://user:password@host/database)
    /// instead of the SQLite file in --data, so that several hub processes can serve one
    /// programme (behind a load balancer that sends each sync session to one process; see the
    /// README). The hub creates and upgrades its tables. --data and --key-file are then unused.
    #[arg(
        long,
        global = true,
        env = "MINGA_HUB_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the hub's HTTP server until SIGINT or SIGTERM.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM); needs --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        #[command(flatten)]
        limits: server::ServeLimits,
    },
    /// Projects: create and list.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Forms: publish a new version from an XLSForm or JSON file.
    #[command(subcommand)]
    Form(FormCommand),
    /// Devices: enrol, list and revoke.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Submissions: list.
    #[command(subcommand)]
    Submissions(SubmissionsCommand),
    /// Runs the whole story on a temporary hub and leaves the exports in `--out`.
    Demo {
        #[arg(long, default_value = "minga-demo-exports")]
        out: PathBuf,
    },
    /// Exports a project's submissions for analysis.
    Export {
        #[arg(long)]
        project: String,
        #[arg(long, value_enum)]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        /// Write choice labels in this language instead of choice names (CSV).
        #[arg(long)]
        labels: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    Create {
        name: String,
        #[arg(long)]
        title: Option<String>,
    },
    List,
}

#[derive(Debug, Subcommand)]
pub enum FormCommand {
    Publish {
        file: PathBuf,
        #[arg(long)]
        project: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Prints a one-time enrolment code (valid 15 minutes) and its QR code.
    Enrol {
        #[arg(long)]
        project: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        name: String,
        /// The hub's address as devices reach it, put into the QR code.
        #[arg(long)]
        hub_url: Option<String>,
    },
    List {
        #[arg(long)]
        project: Option<String>,
    },
    Revoke {
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SubmissionsCommand {
    List {
        #[arg(long)]
        project: String,
    },
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
}

impl From<ExportFormat> for Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Geojson => Format::GeoJson,
            ExportFormat::Json => Format::Json,
        }
    }
}

/// Runs one parsed command, printing to standard output.
pub fn run(cli: Cli) -> Result<()> {
    run_printing_to(cli, &mut Printer::new(std::io::stdout()))
}

/// Runs one parsed command, printing to `out`.
pub fn run_printing_to(cli: Cli, out: &mut Printer<impl Write>) -> Result<()> {
    if let Command::Demo { out: folder } = &cli.command {
        // The demo's own account: fixed text about the data it makes itself.
        crate::demo::run(folder, &mut std::io::stdout())?;
        return Ok(());
    }
    let shared = open_storage(&cli)?;
    let storage = shared.as_ref();
    match cli.command {
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
            limits,
        } => {
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| server::TlsFiles { cert, key });
            serve(shared.clone(), &listen, tls, limits)
        }
        Command::Project(command) => project(storage, command, out),
        Command::Form(FormCommand::Publish { file, project }) => {
            let form = admin::publish_form(storage, &project, &file)?;
            out.line(format_args!(
                "published form {} version {} in project {project}",
                form.id, form.version
            ))
        }
        Command::Device(command) => device(storage, command, out),
        Command::Submissions(SubmissionsCommand::List { project }) => {
            for line in admin::list_submissions(storage, &project)? {
                let h = &line.header;
                let author = line.author_name.or(h.author.clone()).unwrap_or_default();
                out.line(format_args!(
                    "{}  seq {:>6}  {}  by {author}",
                    h.id,
                    h.seq,
                    h.updated_at.to_rfc3339()
                ))?;
            }
            Ok(())
        }
        Command::Demo { .. } => Ok(()),
        Command::Export {
            project,
            format,
            out: folder,
            labels,
        } => export(storage, &project, format.into(), labels, &folder, out),
    }
}

/// The storage the command line names: PostgreSQL with --database, else SQLite in --data.
fn open_storage(cli: &Cli) -> Result<Arc<dyn HubStorage>> {
    if let Some(url) = &cli.database {
        return Ok(Arc::new(PostgresStorage::open(url)?));
    }
    let key_file = cli
        .key_file
        .clone()
        .unwrap_or_else(|| SqliteStorage::default_key_file(&cli.data));
    Ok(Arc::new(SqliteStorage::open_with_key_file(
        &cli.data, &key_file,
    )?))
}

fn serve(
    storage: Arc<dyn HubStorage>,
    listen: &str,
    tls: Option<server::TlsFiles>,
    limits: server::ServeLimits,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| HubError::io("runtime", e))?;
    let state = AppState::new(storage.clone())?;
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
            ))?;
        }
        ProjectCommand::List => {
            for project in storage.projects()? {
                out.row(&[
                    &project.name,
                    &project.title,
                    &project.created_at.to_rfc3339(),
                ])?;
            }
        }
    }
    Ok(())
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
            let uri = admin::enrolment_uri(&issued.code, hub_url.as_deref());
            out.block(&admin::qr_for_terminal(&uri)?)?;
            out.line(format_args!(
                "Enrolment code for {name} ({} in {project}): {}",
                Role::from(role),
                issued.code
            ))?;
            out.line(format_args!(
                "Single use, valid until {}.",
                issued.expires_at.to_rfc3339()
            ))?;
        }
        DeviceCommand::List { project } => {
            for d in admin::list_devices(storage, project.as_deref())? {
                let state = d.revoked_at.map_or("active".to_string(), |t| {
                    format!("revoked {}", t.to_rfc3339())
                });
                out.row(&[&d.id, &d.project, &d.role, &d.name, &state])?;
            }
        }
        DeviceCommand::Revoke { id } => {
            let device = admin::revoke_device(storage, &id)?;
            out.line(format_args!(
                "revoked {} ({}); it will be told to wipe its copy at its next sync",
                device.id, device.name
            ))?;
        }
    }
    Ok(())
}

fn export(
    storage: &dyn HubStorage,
    project: &str,
    format: Format,
    labels: Option<String>,
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
    let report = crate::export::export_project(
        storage,
        project,
        format,
        &CsvOptions { labels_in: labels },
        folder,
        &progress,
    )?;
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
    Ok(())
}
