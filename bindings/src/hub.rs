//! Joining a hub: [`enrol`] trades the one-time code a supervisor printed (`minga-hub device
//! enrol`) for this device's [`HubCredentials`], with one `POST /v1/enrol`; [`sync_url`] is
//! where `Store::sync_http` then posts its sessions.

use crate::error::{MingaError, Result};
use crate::guard::guarded;
use minga_core::minga_sync::credential::Credential;
use minga_core::minga_sync::signatures::PublicKey;
use serde_json::{json, Value as Json};
use std::time::Duration;

/// How long enrolment waits for the hub.
const ENROL_TIMEOUT: Duration = Duration::from_secs(30);

/// A device's role in a hub project: a facilitator receives the forms, its own submissions and
/// their reviews; a supervisor receives everything and may review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    Facilitator,
    Supervisor,
}

impl Role {
    /// The role as the hub names it (`facilitator`, `supervisor`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::Facilitator => "facilitator",
            Role::Supervisor => "supervisor",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        [Role::Facilitator, Role::Supervisor]
            .into_iter()
            .find(|role| role.as_str() == name)
    }
}

/// What a device needs to sync with its hub, handed out once at enrolment. Keep it (the token
/// in the Android Keystore or the iOS Keychain): it is the device's only key to the hub.
/// `to_json` and `hub_credentials_from_json` save and load it; every print of it (`repr`,
/// `toString`, `description`, Rust's `Debug`) shows the token as `<hidden>`.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct HubCredentials {
    /// The hub's address (`https://hub.example.org`).
    pub hub_url: String,
    pub project: String,
    /// This device's id at the hub, which the hub knows its changes by.
    pub device_id: String,
    pub role: Role,
    /// The bearer token.
    pub token: String,
    /// The hub's peer id, to address sync sessions to.
    pub hub_id: String,
}

/// Trades the one-time enrolment `code` (`ABCD-EFGH-JKMN`) for this device's credentials at
/// the hub `hub_url` (`http://host:port` or `https://…`). A wrong, used or expired code is
/// `Unauthorized` (ask the supervisor for a new one), and so are too many wrong codes from this
/// address (wait, as the reason says), a malformed one `InvalidArgument`, a hub out of reach
/// `Network`.
/// With `hub_key_fingerprint` (the enrolment link's, `EnrolmentLink.hub_key_fingerprint`), a hub
/// that answers with another key is `Unauthorized` and nothing is kept: it is not the hub
/// that printed the code.
#[uniffi::export(default(hub_key_fingerprint = None))]
pub fn enrol(
    hub_url: String,
    code: String,
    hub_key_fingerprint: Option<String>,
) -> Result<HubCredentials> {
    Ok(enrol_with_key(hub_url, code, None, hub_key_fingerprint)?.credentials)
}

/// What enrolment answered: the credentials, and when the store's key was sent, the hub's
/// signed credential for it and the hub's key (`None` from a hub of before credentials).
pub(crate) struct Enrolment {
    pub credentials: HubCredentials,
    pub signed: Option<(Credential, PublicKey)>,
}

/// [`enrol`], binding the store's signing key (64 hex digits) to the new device, so that the hub
/// names the device the author of the submissions it creates, whoever relays them.
pub(crate) fn enrol_with_key(
    hub_url: String,
    code: String,
    public_key: Option<String>,
    hub_key_fingerprint: Option<String>,
) -> Result<Enrolment> {
    guarded(|| {
        let base = base_url(&hub_url)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(ENROL_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let body = match &public_key {
            Some(key) => json!({ "code": code, "public_key": key.as_str() }),
            None => json!({ "code": code }),
        }
        .to_string();
        let mut response = agent
            .post(&format!("{base}/v1/enrol"))
            .header("content-type", "application/json")
            .send(body.as_bytes())
            .map_err(network)?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 << 10)
            .read_to_vec()
            .map_err(network)?;
        // A body that is not JSON (a proxy's error page) reads as null: no fields.
        let reply: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
        if status != 200 {
            return Err(enrolment_refused(status, &reply));
        }
        if let Some(expected) = &hub_key_fingerprint {
            check_hub_key(expected, &reply)?;
        }
        let credentials = credentials(base, &reply)?;
        let signed = match &public_key {
            Some(key) => signed_credential(&reply, key)?,
            None => None,
        };
        Ok(Enrolment {
            credentials,
            signed,
        })
    })
}

/// The hub's credential for the device's `key` and the hub's key, from its enrolment answer;
/// `None` when it gave none (a hub of before credentials). A credential whose fields do not
/// read is `Network` (the answer is damaged).
fn signed_credential(reply: &Json, key: &str) -> Result<Option<(Credential, PublicKey)>> {
    let field = |name: &str| reply[name].as_str().unwrap_or_default();
    let (Some(signature), Some(hub_key)) =
        (reply["credential"].as_str(), reply["hub_key"].as_str())
    else {
        return Ok(None);
    };
    let damaged = |reason: String| MingaError::Network {
        reason: format!("the hub's enrolment answer carries a damaged credential: {reason}"),
    };
    let fields = (field("device_id"), field("project"), field("role"));
    let credential = Credential::from_fields(fields.0, fields.1, fields.2, key, signature)
        .map_err(|fault| damaged(fault.to_string()))?;
    let hub_key = PublicKey::from_hex(hub_key).ok_or_else(|| damaged("hub key".into()))?;
    Ok(Some((credential, hub_key)))
}

/// Whether the hub answered with the key whose fingerprint the enrolment link carries.
fn check_hub_key(expected: &str, reply: &Json) -> Result<()> {
    let answered = reply["hub_key"]
        .as_str()
        .and_then(PublicKey::from_hex)
        .map(|key| key.fingerprint());
    if answered.as_deref() == Some(expected) {
        return Ok(());
    }
    Err(MingaError::Unauthorized {
        reason: format!(
            "the hub answered with a key whose fingerprint is {}, not {expected} as the \
             enrolment code says: it is not the hub that printed the code",
            answered.as_deref().unwrap_or("absent")
        ),
    })
}

/// Where a session with the credentials' project is posted.
pub(crate) fn sync_url(hub: &HubCredentials) -> Result<String> {
    minga_sync::project::check_project_name(&hub.project).map_err(|fault| {
        MingaError::invalid_argument(format!(
            "{:?} is not a hub project name: {fault}",
            hub.project
        ))
    })?;
    Ok(format!(
        "{}/v1/sync/{}",
        base_url(&hub.hub_url)?,
        hub.project
    ))
}

/// The hub's address without a trailing slash; only HTTP(S) URLs are addresses.
fn base_url(hub_url: &str) -> Result<&str> {
    let base = hub_url.trim_end_matches('/');
    let scheme_ends = ["http://", "https://"]
        .iter()
        .find_map(|scheme| base.strip_prefix(scheme));
    match scheme_ends {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => Ok(base),
        _ => Err(MingaError::invalid_argument(format!(
            "{hub_url:?} is not a hub address (http://host:port or https://host)"
        ))),
    }
}

fn network(error: ureq::Error) -> MingaError {
    MingaError::Network {
        reason: error.to_string(),
    }
}

/// The hub's refusal (`{"error": code, "message": …}`) as what the app does next.
fn enrolment_refused(status: u16, reply: &Json) -> MingaError {
    let message = reply["message"].as_str().unwrap_or("no reason given");
    let reason = format!("{message} (HTTP {status})");
    match status {
        400 => MingaError::InvalidArgument { reason },
        403 | 429 => MingaError::Unauthorized { reason },
        410 => MingaError::Revoked,
        507 => MingaError::HubStorageFull { reason },
        _ => MingaError::Network { reason },
    }
}

fn credentials(hub_url: &str, reply: &Json) -> Result<HubCredentials> {
    credentials_from(reply, Some(hub_url), |reason| MingaError::Network {
        reason: format!("the hub's enrolment answer {reason}"),
    })
}

/// Reads credentials from JSON: the hub's enrolment answer (with `hub_url` given apart) or
/// saved credentials (which carry it). `fault` words what is missing as the caller's error.
pub(crate) fn credentials_from(
    reply: &Json,
    hub_url: Option<&str>,
    fault: impl Fn(String) -> MingaError,
) -> Result<HubCredentials> {
    let field = |name: &str| {
        reply[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| fault(format!("has no {name}")))
    };
    let role = field("role")?;
    let role =
        Role::parse(&role).ok_or_else(|| fault(format!("names an unknown role {role:?}")))?;
    Ok(HubCredentials {
        hub_url: hub_url.map_or_else(|| field("hub_url"), |url| Ok(url.to_string()))?,
        project: field("project")?,
        device_id: field("device_id")?,
        role,
        token: field("token")?,
        hub_id: field("hub_id")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(url: &str, project: &str) -> HubCredentials {
        HubCredentials {
            hub_url: url.into(),
            project: project.into(),
            device_id: "d".into(),
            role: Role::Facilitator,
            token: "t".into(),
            hub_id: "h".into(),
        }
    }

    #[test]
    fn the_sync_url_is_the_projects_and_bad_addresses_are_refused() {
        assert_eq!(
            sync_url(&hub("http://127.0.0.1:8080/", "imbabura")).unwrap(),
            "http://127.0.0.1:8080/v1/sync/imbabura"
        );
        for (url, project) in [
            ("ftp://h", "p"),
            ("h:80", "p"),
            ("http://", "p"),
            ("http://h", "a/b"),
            ("http://h", ""),
            ("http://h", "p?x=1"),
            ("http://h", ".."),
        ] {
            assert!(
                matches!(
                    sync_url(&hub(url, project)),
                    Err(MingaError::InvalidArgument { .. })
                ),
                "{url} {project}"
            );
        }
    }

    #[test]
    fn refusals_say_what_to_do() {
        let reply = json!({"error": "code_used", "message": "the code was already used"});
        assert!(matches!(
            enrolment_refused(403, &reply),
            MingaError::Unauthorized { reason } if reason.contains("already used")
        ));
        assert!(matches!(
            enrolment_refused(400, &json!({})),
            MingaError::InvalidArgument { .. }
        ));
        assert!(matches!(
            enrolment_refused(502, &json!({})),
            MingaError::Network { .. }
        ));
    }

    #[test]
    fn an_unreachable_hub_is_a_network_error() {
        // Port 9 (discard) on loopback: nothing listens there on a test machine.
        let result = enrol("http://127.0.0.1:9".into(), "ABCD-EFGH-JKMN".into(), None);
        assert!(
            matches!(result, Err(MingaError::Network { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn a_hub_answering_with_a_key_other_than_the_links_is_unauthorized() {
        use minga_core::minga_sync::signatures::DeviceKey;
        let hub = DeviceKey::generate().unwrap().public_key();
        let reply = json!({ "hub_key": hub.to_string() });
        assert!(check_hub_key(&hub.fingerprint(), &reply).is_ok());
        let another = DeviceKey::generate().unwrap().public_key().fingerprint();
        assert!(matches!(
            check_hub_key(&another, &reply),
            Err(MingaError::Unauthorized { reason }) if reason.contains(&another)
        ));
        assert!(matches!(
            check_hub_key(&hub.fingerprint(), &json!({})),
            Err(MingaError::Unauthorized { .. })
        ));
    }
}
