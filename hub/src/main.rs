//! The `minga-hub` binary: logging, the command line, and an exit status.

fn main() -> std::process::ExitCode {
    let cli = minga_hub::cli::parse();
    // The demo prints its own account of what happened; request logs would drown it.
    let default_level = match cli.command {
        minga_hub::cli::Command::Demo { .. } => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match minga_hub::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "minga-hub: {}",
                minga_hub::output::escape(&error.to_string())
            );
            std::process::ExitCode::FAILURE
        }
    }
}
