//! The HTTP server: axum routes over shared storage, request logging that never records bodies
//! or tokens, connections held to timeouts and a cap (see `connections`), and graceful shutdown
//! on SIGINT or SIGTERM (requests in flight finish; each write is one transaction, so one cut
//! short leaves nothing half-stored).

mod authorship;
mod bearer;
mod connections;
pub mod documents;
pub mod enrol;
pub mod error;
pub mod guessers;
pub mod metrics;
mod rights;
pub mod state;
pub mod sync;
mod sync_attachments;

pub use connections::{Listener, ServeLimits, FILES_KEPT};
pub use error::ApiError;
pub use state::{AppState, ConsoleConfig};

use crate::error::{HubError, Result};
use crate::storage::HubStorage;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use metrics::Metrics;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// The largest sync request body: one frame of the largest size the wire format accepts.
const SYNC_BODY_LIMIT: usize = minga_sync::wire::DEFAULT_MAX_FRAME as usize
    + minga_sync::wire::HEADER_LEN
    + minga_sync::wire::TRAILER_LEN;

/// Every route of the hub.
pub fn router(state: AppState) -> Router {
    let project = "/v1/projects/{project}";
    Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { state.metrics.render() }),
        )
        .route("/v1/enrol", post(enrol::enrol))
        .route(
            "/v1/sync/{project}",
            // axum's default 2 MiB would refuse a phone's ordinary 4 MiB page: the body is one
            // sync frame, which the wire format itself bounds.
            post(sync::sync).layer(DefaultBodyLimit::max(SYNC_BODY_LIMIT)),
        )
        .route(&format!("{project}/changes"), get(documents::changes))
        .route(
            &format!("{project}/submissions/{{id}}"),
            get(documents::get_submission).put(documents::put_submission),
        )
        .route(
            &format!("{project}/reviews/{{id}}"),
            get(documents::get_review).put(documents::put_review),
        )
        .merge(crate::console::routes())
        .layer(middleware::from_fn_with_state(state.clone(), log_and_count))
        .with_state(state)
}

/// Logs each request's method, route pattern, status and time, and counts it. The route
/// pattern (not the path) is logged, and never headers or bodies: no tokens, no answers.
async fn log_and_count(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = response.status();
    Metrics::add(&state.metrics.requests_total, 1);
    if status.is_client_error() {
        Metrics::add(&state.metrics.requests_refused_total, 1);
    } else if status.is_server_error() {
        Metrics::add(&state.metrics.requests_failed_total, 1);
    }
    tracing::info!(%method, %route, status = status.as_u16(), micros = started.elapsed().as_micros() as u64, "request");
    response
}

/// Serves `state` on an already bound listener under `limits` until `shutdown` completes, then
/// lets requests in flight finish (up to 30 seconds).
pub async fn serve(
    listener: Listener,
    state: AppState,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr()?;
    match listener {
        Listener::Plain(_) => tracing::info!(%addr, "hub listening"),
        Listener::Tls { .. } => tracing::info!(%addr, "hub listening (TLS)"),
    }
    connections::serve_connections(listener, router(state), limits, shutdown).await;
    tracing::info!("hub stopped");
    Ok(())
}

/// The certificate chain and private key (PEM files) to serve HTTPS with.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// Binds `listen`, with TLS when `tls` names the files.
pub async fn bind(listen: &str, tls: Option<&TlsFiles>) -> Result<Listener> {
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| HubError::io(listen, e))?;
    match tls {
        Some(tls) => Listener::tls(tcp, tls).await,
        None => Ok(Listener::Plain(tcp)),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT: shutting down"),
        _ = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Drops `runtime` before `storage`, so that the storage's last reference is never dropped on
/// an async thread: a PostgreSQL client shuts its own runtime down when dropped, which tokio
/// forbids inside another runtime.
pub fn outlive_runtime(runtime: tokio::runtime::Runtime, storage: Arc<dyn HubStorage>) {
    drop(runtime);
    drop(storage);
}

/// A hub running in the background of this process, for tests and the demo.
pub struct RunningHub {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl RunningHub {
    /// Starts a hub over `storage` on `listen` (use port 0 for a free port) on its own runtime.
    pub fn start(storage: Arc<dyn HubStorage>, listen: &str) -> Result<Self> {
        let std_listener =
            std::net::TcpListener::bind(listen).map_err(|e| HubError::io(listen, e))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| HubError::io(listen, e))?;
        let addr = std_listener
            .local_addr()
            .map_err(|e| HubError::io(listen, e))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(storage.clone())?;
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| HubError::io("runtime", e))?;
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .map_err(|e| HubError::io("listener", e))?;
                serve(
                    Listener::Plain(listener),
                    state,
                    ServeLimits::default(),
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await
            });
            outlive_runtime(runtime, storage);
            served
        });
        Ok(RunningHub {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(HubError::Corrupt("the hub's thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for RunningHub {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
