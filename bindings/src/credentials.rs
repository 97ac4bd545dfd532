//! Keeping a device's [`HubCredentials`]: saved as JSON (`to_json`, read back by
//! [`hub_credentials_from_json`]) in the platform's keystore, and printed with the token hidden,
//! since a print ends up in logs and crash reports. [`Store::enrol`] enrols a store, which then
//! writes as the device the hub enrolled.

use crate::error::{MingaError, Result};
use crate::guard::guarded;
use crate::hub::{credentials_from, enrol_with_key, HubCredentials};
use crate::store::Store;
use serde_json::{json, Value as Json};
use std::fmt;

/// The version of the saved JSON, so that a later layout can still read this one.
const FORMAT: u64 = 1;

/// What every print shows instead of the token.
const HIDDEN: &str = "<hidden>";

#[uniffi::export]
impl HubCredentials {
    /// The credentials as JSON, to keep in the Android Keystore or the iOS Keychain (the
    /// token is in it, in clear: store it as a secret).
    pub fn to_json(&self) -> String {
        json!({
            "format": FORMAT,
            "hub_url": self.hub_url,
            "project": self.project,
            "device_id": self.device_id,
            "role": self.role.as_str(),
            "token": self.token,
            "hub_id": self.hub_id,
        })
        .to_string()
    }
}

/// Reads credentials saved by `to_json`. Text that is not such JSON, lacks a field or comes
/// from a newer Minga is `InvalidArgument`, naming what is wrong (enrol again, or update).
#[uniffi::export]
pub fn hub_credentials_from_json(json: String) -> Result<HubCredentials> {
    guarded(|| {
        let saved: Json = serde_json::from_str(&json).map_err(|error| {
            MingaError::invalid_argument(format!("saved credentials are not JSON: {error}"))
        })?;
        match saved["format"].as_u64() {
            Some(FORMAT) => {}
            Some(newer) if newer > FORMAT => {
                return Err(MingaError::invalid_argument(format!(
                    "saved credentials of format {newer}: this Minga reads format {FORMAT}"
                )))
            }
            _ => {
                return Err(MingaError::invalid_argument(
                    "saved credentials have no format",
                ))
            }
        }
        credentials_from(&saved, None, |reason| {
            MingaError::invalid_argument(format!("saved credentials {reason}"))
        })
    })
}

/// Every field but the token, which shows as `<hidden>`.
impl fmt::Debug for HubCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubCredentials")
            .field("hub_url", &self.hub_url)
            .field("project", &self.project)
            .field("device_id", &self.device_id)
            .field("role", &self.role)
            .field("token", &format_args!("{HIDDEN}"))
            .field("hub_id", &self.hub_id)
            .finish()
    }
}

/// What a person reads: which device of which project at which hub; never the token.
impl fmt::Display for HubCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} of project {} at {} (token {HIDDEN})",
            self.role.as_str(),
            self.device_id,
            self.project,
            self.hub_url
        )
    }
}

#[uniffi::export]
impl Store {
    /// Enrols this store with the hub at `hub_url` with the one-time `code` (as `enrol`
    /// does, also binding the store's signing key to the device), keeps the credential the hub
    /// signed for it and the hub's key (a credential for another key, or one that does not
    /// verify under the hub's key, is `Unauthorized` and nothing is kept), and makes the
    /// device id the hub gave its own: every later change is signed with
    /// it, now and whenever the store is opened again, so that the hub and every report name
    /// one submitter. Changes made before keep the id they were made with. Keep the returned
    /// credentials in the platform's keystore. Errors as `enrol` (and `Closed` before the code
    /// is sent); the store changes only once the hub has enrolled it.
    #[uniffi::method(default(hub_key_fingerprint = None))]
    pub fn enrol(
        &self,
        hub_url: String,
        code: String,
        hub_key_fingerprint: Option<String>,
    ) -> Result<HubCredentials> {
        // A closed store is refused before the single-use code is spent.
        let key = self.call(|store| Ok(store.public_key().to_string()))?;
        let enrolment = enrol_with_key(hub_url, code, Some(key), hub_key_fingerprint)?;
        let credentials = enrolment.credentials;
        self.call(|store| match &enrolment.signed {
            Some((credential, hub_key)) => Ok(store.adopt_enrolment(credential, hub_key)?),
            // A hub of before credentials: the id only; direct syncs need a credential.
            None => Ok(store.adopt_device_id(&credentials.device_id)?),
        })?;
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Role;

    fn credentials() -> HubCredentials {
        HubCredentials {
            hub_url: "https://hub.example.org".into(),
            project: "imbabura".into(),
            device_id: "0190c7e4".into(),
            role: Role::Supervisor,
            token: "s3cret-token".into(),
            hub_id: "hub-1".into(),
        }
    }

    #[test]
    fn saved_credentials_load_back_equal() {
        let saved = credentials().to_json();
        assert_eq!(hub_credentials_from_json(saved).unwrap(), credentials());
    }

    #[test]
    fn no_print_shows_the_token() {
        let shown = [
            format!("{:?}", credentials()),
            format!("{:#?}", credentials()),
            credentials().to_string(),
        ];
        for text in shown {
            assert!(!text.contains("s3cret"), "{text}");
            assert!(
                text.contains("<hidden>") && text.contains("0190c7e4"),
                "{text}"
            );
        }
    }

    #[test]
    fn damaged_or_newer_saved_credentials_say_what_is_wrong() {
        let mut saved: Json = serde_json::from_str(&credentials().to_json()).unwrap();
        saved.as_object_mut().unwrap().remove("token");
        let newer = credentials()
            .to_json()
            .replace("\"format\":1", "\"format\":2");
        for (json, says) in [
            ("{not json".to_string(), "not JSON"),
            (saved.to_string(), "no token"),
            (newer, "format 2"),
            ("{}".to_string(), "no format"),
        ] {
            match hub_credentials_from_json(json) {
                Err(MingaError::InvalidArgument { reason }) => {
                    assert!(reason.contains(says), "{reason}")
                }
                other => panic!("{says}: {other:?}"),
            }
        }
    }
}
