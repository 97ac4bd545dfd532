//! What every request handler shares, the hub's routes and its console's alike: storage, the
//! metrics, the sync responders, the enrolment-guess counters, and how the console is served.

use super::error::ApiError;
use super::guessers::Guessers;
use super::metrics::Metrics;
use super::sync::Responders;
use crate::error::{HubError, Result};
use crate::storage::HubStorage;
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<dyn HubStorage>,
    pub metrics: Arc<Metrics>,
    /// This hub's peer id in sync.
    pub hub_id: String,
    pub responders: Arc<Responders>,
    /// The addresses guessing enrolment codes, and how many tries each has left.
    pub guessers: Arc<Guessers>,
    /// How the supervisor's console is served (TLS, plain-HTTP sign-in).
    pub console: ConsoleConfig,
}

impl AppState {
    /// Reads the hub's id from storage: call it outside async code (storage calls block).
    pub fn new(storage: Arc<dyn HubStorage>) -> Result<Self> {
        Ok(AppState {
            hub_id: storage.hub_id()?,
            storage,
            metrics: Arc::new(Metrics::default()),
            responders: Arc::new(Responders::default()),
            guessers: Arc::new(Guessers::default()),
            console: ConsoleConfig::default(),
        })
    }

    /// This state with the console served as `config` says.
    pub fn with_console(self, config: ConsoleConfig) -> Self {
        AppState {
            console: config,
            ..self
        }
    }

    /// Runs a storage call off the async threads (SQLite and the PostgreSQL client block).
    pub async fn blocking<T, F>(&self, call: F) -> std::result::Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn HubStorage) -> Result<T> + Send + 'static,
    {
        let storage = self.storage.clone();
        match tokio::task::spawn_blocking(move || call(storage.as_ref())).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(HubError::Corrupt(format!("a storage call panicked: {join}")).into()),
        }
    }
}

/// How the console is served, from `serve`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// The hub serves HTTPS: cookies are marked `Secure`.
    pub tls: bool,
    /// Sign-in over plain HTTP is allowed from any address, not only from this machine (an
    /// office whose proxy adds TLS in front of the hub says so).
    pub plain_http_sign_in: bool,
}

impl ConsoleConfig {
    /// Whether a password may be sent from `client` on this hub: over TLS, from loopback, or
    /// where the configuration allows plain HTTP.
    pub fn sign_in_allowed_from(&self, client: std::net::IpAddr) -> bool {
        self.tls || self.plain_http_sign_in || client.is_loopback()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn passwords_over_plain_http_come_only_from_this_machine_unless_allowed() {
        let office: IpAddr = "192.168.1.20".parse().unwrap();
        let here: IpAddr = "127.0.0.1".parse().unwrap();
        let plain = ConsoleConfig::default();
        assert!(plain.sign_in_allowed_from(here));
        assert!(plain.sign_in_allowed_from("::1".parse().unwrap()));
        assert!(!plain.sign_in_allowed_from(office));
        let tls = ConsoleConfig { tls: true, ..plain };
        assert!(tls.sign_in_allowed_from(office));
        let proxied = ConsoleConfig {
            plain_http_sign_in: true,
            ..plain
        };
        assert!(proxied.sign_in_allowed_from(office));
    }
}
