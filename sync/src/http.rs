//! The HTTP client transport: each request is one `POST` of a frame, the reply is the response
//! body. rustls for TLS, timeouts, a proxy (given, or from the environment), a bearer token, and
//! retries with exponential backoff for what may succeed when tried again.

use std::time::Duration;

use crate::error::TransportError;
use crate::transport::Transport;

/// The media type of sync frames over HTTP.
pub const CONTENT_TYPE: &str = "application/x-minga-sync";

/// How the HTTP transport connects.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// The longest one exchange may take, connecting included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// A proxy URL (`http://host:port`, `socks5://…`); `None` uses `HTTPS_PROXY`/`ALL_PROXY`
    /// from the environment, if set.
    pub proxy: Option<String>,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// How often a failed exchange is tried again (timeouts, connection failures, 408, 429 and
    /// 5xx but 507, the hub's full storage).
    pub retries: u32,
    /// The wait before the first retry; doubled before each next one.
    pub backoff: Duration,
    /// The largest reply accepted, in bytes.
    pub max_reply: u64,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            proxy: None,
            token: None,
            retries: 3,
            backoff: Duration::from_millis(500),
            max_reply: u64::from(crate::wire::DEFAULT_MAX_FRAME) + 64,
        }
    }
}

/// Syncs with a responder behind an HTTP(S) URL.
pub struct HttpTransport {
    agent: ureq::Agent,
    url: String,
    options: HttpOptions,
}

impl HttpTransport {
    /// A transport that posts to `url`; fails only on a malformed proxy URL.
    pub fn new(url: impl Into<String>, options: HttpOptions) -> Result<Self, TransportError> {
        let proxy = match &options.proxy {
            Some(proxy) => Some(
                ureq::Proxy::new(proxy)
                    .map_err(|error| TransportError::fatal(format!("proxy {proxy}: {error}")))?,
            ),
            None => ureq::Proxy::try_from_env(),
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(options.timeout))
            .timeout_connect(Some(options.connect_timeout))
            .proxy(proxy)
            .http_status_as_error(false)
            .build()
            .into();
        Ok(Self {
            agent,
            url: url.into(),
            options,
        })
    }

    fn post_once(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut post = self
            .agent
            .post(&self.url)
            .header("content-type", CONTENT_TYPE);
        if let Some(token) = &self.options.token {
            post = post.header("authorization", format!("Bearer {token}"));
        }
        let mut response = post.send(request).map_err(from_ureq)?;
        let status = response.status().as_u16();
        if status != 200 {
            let message = format!("{} answered HTTP {status}", self.url);
            return Err(match status {
                // Asked for by the hub itself: retrying within this exchange cannot help.
                507 => TransportError::hub_storage_full(format!(
                    "{message}: {}",
                    refusal(response.body_mut())["message"]
                        .as_str()
                        .unwrap_or("the hub's storage is full")
                )),
                408 | 429 | 500..=599 => TransportError::retryable(message),
                410 if refusal(response.body_mut())["wipe"] == serde_json::Value::Bool(true) => {
                    TransportError::revoked(message)
                }
                _ => TransportError::fatal(message),
            });
        }
        response
            .body_mut()
            .with_config()
            .limit(self.options.max_reply)
            .read_to_vec()
            .map_err(from_ureq)
    }
}

impl Transport for HttpTransport {
    fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut wait = self.options.backoff;
        let mut attempt = 0;
        loop {
            match self.post_once(request) {
                Err(error) if error.retryable && attempt < self.options.retries => {
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// A refusal's JSON body (`{"error": …, "message": …, "wipe": true}`); `null` for a body that is
/// not such JSON. Reads at most 64 KiB.
fn refusal(body: &mut ureq::Body) -> serde_json::Value {
    body.with_config()
        .limit(64 << 10)
        .read_to_vec()
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn from_ureq(error: ureq::Error) -> TransportError {
    use ureq::Error as E;
    let retryable = matches!(
        error,
        E::Timeout(_) | E::Io(_) | E::HostNotFound | E::ConnectionFailed | E::Protocol(_)
    );
    TransportError {
        message: error.to_string(),
        retryable,
        revoked: false,
        hub_storage_full: false,
    }
}
