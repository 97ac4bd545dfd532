//! The hub's own accept loop over hyper (HTTP/1.1), so that slow or idle clients cannot hold it:
//! a deadline on each request's head (which also closes connections idle between requests), a
//! limit on pauses in a request body and on a whole request, and a cap on open connections kept
//! below the process's file limit. At the cap a newcomer displaces the connection that has waited
//! longest without a request in flight (a half-sent head, an idle keep-alive), so whoever holds
//! connections open delays a phone by nothing; only when every connection is busy with a request
//! does the hub stop accepting until one ends.

use super::{ApiError, TlsFiles};
use crate::error::{HubError, Result};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// Files the hub keeps for itself under its file limit, whatever the connection cap: the
/// database and its journal, the key and lock files, logs, the runtime's own descriptors, a
/// PostgreSQL pool, and connections being closed.
pub const FILES_KEPT: u64 = 64;

/// How long in-flight requests may take to finish once shutdown is asked for.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How long the accept loop waits after an error such as EMFILE (no file left) before trying
/// again: long enough not to spin, short enough that a freed slot is used at once.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits `serve` holds every client to (`minga-hub serve --help` lists them).
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct ServeLimits {
    /// Seconds a client may take to send a request's line and headers, counted from when the hub
    /// waits for them; a connection idle between requests is closed after as long.
    #[arg(long = "header-timeout", value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    pub header_timeout: Duration,
    /// Seconds a request body may pause (no byte arriving) before the request is refused.
    #[arg(long = "body-pause-timeout", value_name = "SECONDS", default_value = "30", value_parser = seconds)]
    pub body_pause_timeout: Duration,
    /// Seconds one request may take from its head to its answer (HTTP 408 past it). A phone's
    /// 4 MiB sync page over a slow mobile link needs a few minutes.
    #[arg(long = "request-timeout", value_name = "SECONDS", default_value = "300", value_parser = seconds)]
    pub request_timeout: Duration,
    /// The most connections open at once. The hub lowers it to its file limit (`ulimit -n`) less
    /// 64 files it keeps for itself.
    #[arg(long = "max-connections", value_name = "COUNT", default_value = "4096")]
    pub max_connections: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_timeout: Duration::from_secs(10),
            body_pause_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(300),
            max_connections: 4096,
        }
    }
}

fn seconds(text: &str) -> std::result::Result<Duration, String> {
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(format!("{text:?} is not a whole number of seconds above 0")),
        Ok(n) => Ok(Duration::from_secs(n)),
    }
}

impl ServeLimits {
    /// The connection cap in force: the configured one, below the process's file limit.
    pub fn effective_max_connections(&self) -> usize {
        let room = open_file_limit().map(|limit| limit.saturating_sub(FILES_KEPT).max(1));
        match room {
            Some(room) => self
                .max_connections
                .min(usize::try_from(room).unwrap_or(usize::MAX)),
            None => self.max_connections,
        }
        .max(1)
    }
}

/// The soft limit on open files of this process, if it has one.
fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct it is given.
        let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        // rlim_t is not u64 on every unix.
        #[allow(clippy::unnecessary_cast)]
        (read == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
    }
    #[cfg(not(unix))]
    None
}

/// Where connections come from: plain TCP, or TLS over it.
pub enum Listener {
    Plain(TcpListener),
    Tls {
        tcp: TcpListener,
        acceptor: tokio_rustls::TlsAcceptor,
    },
}

impl Listener {
    /// TLS with the certificate chain and key in `tls`, HTTP/1.1 only (as served).
    pub async fn tls(tcp: TcpListener, tls: &TlsFiles) -> Result<Listener> {
        // Only the ring provider is compiled in; installing it makes the choice explicit.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let loaded = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
            .await
            .map_err(|e| HubError::io(&tls.cert, e))?;
        let mut config = (*loaded.get_inner()).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Listener::Tls {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        })
    }

    fn tcp(&self) -> &TcpListener {
        match self {
            Listener::Plain(tcp) | Listener::Tls { tcp, .. } => tcp,
        }
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.tcp()
            .local_addr()
            .map_err(|e| HubError::io("listener", e))
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets requests in flight finish (up to 30 seconds) and closes idle connections.
pub async fn serve_connections(
    listener: Listener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let registry = Arc::new(Registry::new(limits.effective_max_connections()));
    tracing::info!(
        max_connections = registry.limit,
        header_timeout_s = limits.header_timeout.as_secs(),
        body_pause_timeout_s = limits.body_pause_timeout.as_secs(),
        request_timeout_s = limits.request_timeout.as_secs(),
        "connection limits"
    );
    let (stopping, stop) = watch::channel(false);
    let limits = Arc::new(limits);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = accept(listener.tcp()) => accepted,
            _ = &mut shutdown => break,
        };
        let slot = tokio::select! {
            slot = registry.admit() => slot,
            _ = &mut shutdown => break,
        };
        let acceptor = match &listener {
            Listener::Plain(_) => None,
            Listener::Tls { acceptor, .. } => Some(acceptor.clone()),
        };
        let connection = Connection {
            router: router.clone(),
            limits: limits.clone(),
            peer,
            slot,
            stop: stop.clone(),
        };
        tokio::spawn(connection.run(stream, acceptor));
    }
    drop(listener);
    let _ = stopping.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, registry.all_closed())
        .await
        .is_err()
    {
        tracing::warn!(
            open = registry.open(),
            "requests still running after the shutdown grace period are cut"
        );
    }
}

/// The next connection; an error such as EMFILE (no file left) is logged and retried after a
/// short wait, never spun on and never fatal.
async fn accept(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            // The client gave up before its connection was taken: nothing to wait for.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection; retrying shortly");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    router: Router,
    limits: Arc<ServeLimits>,
    peer: SocketAddr,
    slot: Slot,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(self, stream: TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        match tls {
            None => self.serve(stream).await,
            Some(acceptor) => {
                // The handshake counts as part of the first request's head.
                let handshake =
                    tokio::time::timeout(self.limits.header_timeout, acceptor.accept(stream));
                let stream = tokio::select! {
                    done = handshake => match done {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(peer = %self.peer, "TLS handshake too slow");
                            return;
                        }
                    },
                    _ = self.slot.evicted() => return,
                };
                self.serve(stream).await
            }
        }
    }

    async fn serve<IO>(self, io: IO)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            router,
            limits,
            peer,
            slot,
            mut stop,
        } = self;
        let state = slot.state.clone();
        let header_timeout = limits.header_timeout;
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            answer(router.clone(), limits.clone(), peer, state.clone(), request)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
            }
            // Dropping the connection closes its socket.
            _ = slot.evicted() => tracing::debug!(%peer, "idle connection closed for a newcomer"),
            _ = stopping(&mut stop) => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}

/// Completes once the hub is shutting down (or the sender is gone).
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// One request through the router: its body under the pause limit, the whole under the request
/// limit, the client's address for handlers (`ConnectInfo<SocketAddr>`), and the connection
/// marked busy until the answer's body is sent.
async fn answer(
    router: Router,
    limits: Arc<ServeLimits>,
    peer: SocketAddr,
    state: Arc<ConnectionState>,
    request: Request<Incoming>,
) -> std::result::Result<Response, std::convert::Infallible> {
    let busy = state.start_request();
    let mut request = request.map(|body| {
        Body::new(tower_http::timeout::TimeoutBody::new(
            limits.body_pause_timeout,
            body,
        ))
    });
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = match tokio::time::timeout(limits.request_timeout, router.oneshot(request)).await
    {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} s; send it again",
                limits.request_timeout.as_secs()
            ),
        )
        .into_response(),
    };
    // The connection stays busy until hyper drops the answer's body, once it is sent.
    Ok(response.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _ = &busy;
            frame
        }))
    }))
}

/// The open connections, and which may be closed for a newcomer.
struct Registry {
    limit: usize,
    slots: Mutex<Slots>,
    /// Signalled each time a connection closes.
    freed: Notify,
}

#[derive(Default)]
struct Slots {
    next_id: u64,
    open: HashMap<u64, Arc<ConnectionState>>,
    /// Connections told to close that have not closed yet: they no longer count to the limit.
    closing: usize,
}

/// What the registry knows of one connection.
struct ConnectionState {
    requests_in_flight: AtomicUsize,
    /// When the connection last had no request in flight (its start, or its last answer sent).
    idle_since: Mutex<Instant>,
    /// Told to close for a newcomer (counted in [`Slots::closing`] until it has).
    evicting: AtomicBool,
    evict: Notify,
}

impl ConnectionState {
    fn start_request(self: &Arc<Self>) -> BusyGuard {
        self.requests_in_flight.fetch_add(1, Ordering::SeqCst);
        BusyGuard(self.clone())
    }

    fn is_idle(&self) -> bool {
        self.requests_in_flight.load(Ordering::SeqCst) == 0
    }

    fn idle_since(&self) -> Instant {
        *lock(&self.idle_since)
    }
}

/// A request in flight on a connection; its drop marks the connection idle again.
struct BusyGuard(Arc<ConnectionState>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        *lock(&self.0.idle_since) = Instant::now();
        self.0.requests_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data guarded (counts and instants) is whole after any panic.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Registry {
    fn new(limit: usize) -> Self {
        Registry {
            limit,
            slots: Mutex::new(Slots::default()),
            freed: Notify::new(),
        }
    }

    fn open(&self) -> usize {
        lock(&self.slots).open.len()
    }

    /// A slot for a new connection: at once while under the limit; at the limit, by telling the
    /// connection idle the longest to close; when every connection is busy, once one closes.
    /// Cost: one pass over the open connections when at the limit.
    async fn admit(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            {
                let mut slots = lock(&self.slots);
                if slots.open.len() - slots.closing < self.limit
                    || self.evict_longest_idle(&mut slots)
                {
                    return self.insert(&mut slots);
                }
            }
            freed.await;
        }
    }

    fn evict_longest_idle(&self, slots: &mut Slots) -> bool {
        let victim = slots
            .open
            .values()
            .filter(|state| state.is_idle() && !state.evicting.load(Ordering::SeqCst))
            .min_by_key(|state| state.idle_since())
            .cloned();
        match victim {
            Some(victim) => {
                victim.evicting.store(true, Ordering::SeqCst);
                victim.evict.notify_one();
                slots.closing += 1;
                true
            }
            None => false,
        }
    }

    fn insert(self: &Arc<Self>, slots: &mut Slots) -> Slot {
        let id = slots.next_id;
        slots.next_id += 1;
        let state = Arc::new(ConnectionState {
            requests_in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            evicting: AtomicBool::new(false),
            evict: Notify::new(),
        });
        slots.open.insert(id, state.clone());
        Slot {
            id,
            state,
            registry: self.clone(),
        }
    }

    /// Completes once no connection is open.
    async fn all_closed(&self) {
        loop {
            let freed = self.freed.notified();
            if self.open() == 0 {
                return;
            }
            freed.await;
        }
    }
}

/// A connection's place in the registry, given back when the connection's task ends.
struct Slot {
    id: u64,
    state: Arc<ConnectionState>,
    registry: Arc<Registry>,
}

impl Slot {
    /// Completes when the registry has chosen this connection to close for a newcomer.
    async fn evicted(&self) {
        self.state.evict.notified().await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut slots = lock(&self.registry.slots);
        if let Some(state) = slots.open.remove(&self.id) {
            if state.evicting.load(Ordering::SeqCst) {
                slots.closing -= 1;
            }
        }
        drop(slots);
        self.registry.freed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        limits: ServeLimits,
    }

    #[test]
    fn the_command_line_defaults_are_the_documented_defaults() {
        assert_eq!(Flags::parse_from(["serve"]).limits, ServeLimits::default());
    }

    #[test]
    fn a_timeout_of_zero_seconds_is_refused() {
        assert!(Flags::try_parse_from(["serve", "--header-timeout", "0"]).is_err());
    }

    #[test]
    fn the_connection_cap_stays_below_the_file_limit() {
        let limits = ServeLimits {
            max_connections: usize::MAX,
            ..ServeLimits::default()
        };
        let cap = limits.effective_max_connections() as u64;
        match open_file_limit() {
            Some(files) => assert_eq!(cap, files.saturating_sub(FILES_KEPT).max(1)),
            None => assert_eq!(cap, usize::MAX as u64),
        }
    }
}
