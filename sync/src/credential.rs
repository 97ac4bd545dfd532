//! A device's credential: what a hub signs when it enrols a device (its id, project, role and
//! signing key, `signatures::credential_text`), kept by the device with the hub's public key,
//! so that it can prove to anyone who knows that hub's key who it is and what it may do.

use std::fmt;

use crate::access::{Principal, Role};
use crate::attachments::bytes_from_hex;
use crate::signatures::{credential_text, PublicKey, Signature};

/// A hub-signed binding of a device's key to its id, project and role.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub device_id: String,
    pub project: String,
    pub role: Role,
    /// The device's signing key.
    pub key: PublicKey,
    /// The hub's signature of [`Credential::text`].
    pub signature: Signature,
}

/// Why a credential is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFault {
    /// Its text is not a credential's (a field missing, a role unknown, a key not hex).
    #[error("the credential is malformed: {0}")]
    Malformed(String),
    /// It binds another key than the one it is presented for.
    #[error("the credential binds key {bound}, not this device's key {expected}")]
    NotThisKey {
        bound: PublicKey,
        expected: PublicKey,
    },
    /// The hub's signature does not verify under the hub key given: altered, or signed by
    /// another hub.
    #[error("the credential's signature does not verify under the hub key {hub}")]
    NotSignedByTheHub { hub: PublicKey },
}

impl Credential {
    /// What the hub signed.
    pub fn text(&self) -> Vec<u8> {
        credential_text(
            &self.device_id,
            &self.project,
            self.role.as_str(),
            &self.key,
        )
    }

    /// Whether the hub whose key is `hub` signed this credential, for `key`.
    pub fn verify(&self, hub: &PublicKey, key: &PublicKey) -> Result<(), CredentialFault> {
        if self.key != *key {
            return Err(CredentialFault::NotThisKey {
                bound: self.key,
                expected: *key,
            });
        }
        if !hub.verifies_credential(&self.text(), &self.signature) {
            return Err(CredentialFault::NotSignedByTheHub { hub: *hub });
        }
        Ok(())
    }

    /// The principal the access rules judge its holder as.
    pub fn principal(&self) -> Principal {
        Principal {
            device_id: self.device_id.clone(),
            project: self.project.clone(),
            role: self.role,
        }
    }

    /// The credential as kept and sent: [`Credential::text`] and the signature (hex), one
    /// field a line.
    pub fn encode(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.text()).into_owned();
        text.push('\n');
        self.signature
            .iter()
            .for_each(|byte| text.push_str(&format!("{byte:02x}")));
        text
    }

    /// Reads what [`Credential::encode`] wrote.
    pub fn decode(text: &str) -> Result<Self, CredentialFault> {
        let malformed = |what: &str| CredentialFault::Malformed(what.to_string());
        let fields: Vec<&str> = text.split('\n').collect();
        let [device_id, project, role, key, signature] = fields[..] else {
            return Err(malformed("it does not have five lines"));
        };
        Self::from_fields(device_id, project, role, key, signature)
    }

    /// A credential from its fields as a hub's enrolment answer gives them (the key and the
    /// signature as hex).
    pub fn from_fields(
        device_id: &str,
        project: &str,
        role: &str,
        key: &str,
        signature: &str,
    ) -> Result<Self, CredentialFault> {
        let malformed = |what: &str| CredentialFault::Malformed(what.to_string());
        if [device_id, project].iter().any(|field| field.is_empty()) {
            return Err(malformed("a device id and a project are required"));
        }
        Ok(Credential {
            device_id: device_id.into(),
            project: project.into(),
            role: role.parse().map_err(|_| malformed("its role is unknown"))?,
            key: PublicKey::from_hex(key)
                .ok_or_else(|| malformed("its key is not 64 hex digits"))?,
            signature: bytes_from_hex(signature)
                .ok_or_else(|| malformed("its signature is not 128 hex digits"))?,
        })
    }
}

impl PublicKey {
    /// The key whose 64 hex digits (either case) are `text`.
    pub fn from_hex(text: &str) -> Option<Self> {
        bytes_from_hex(text).map(PublicKey)
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credential({} {} of {}, key {})",
            self.role, self.device_id, self.project, self.key
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signatures::DeviceKey;

    fn issued(hub: &DeviceKey, device: &PublicKey) -> Credential {
        let text = credential_text("dev-1", "imbabura", "facilitator", device);
        let signature = hub.sign_credential(&text);
        let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
        Credential::from_fields(
            "dev-1",
            "imbabura",
            "facilitator",
            &device.to_string(),
            &hex,
        )
        .unwrap()
    }

    #[test]
    fn a_credential_reads_back_and_verifies_under_its_hubs_key_for_its_device_only() {
        let (hub, device, other) = (
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
            DeviceKey::generate().unwrap(),
        );
        let credential = issued(&hub, &device.public_key());
        let kept = Credential::decode(&credential.encode()).unwrap();
        assert_eq!(kept, credential);
        assert_eq!(kept.verify(&hub.public_key(), &device.public_key()), Ok(()));
        assert!(matches!(
            kept.verify(&hub.public_key(), &other.public_key()),
            Err(CredentialFault::NotThisKey { .. })
        ));
        assert!(matches!(
            kept.verify(&other.public_key(), &device.public_key()),
            Err(CredentialFault::NotSignedByTheHub { .. })
        ));
        let promoted = Credential {
            role: Role::Supervisor,
            ..kept
        };
        assert!(matches!(
            promoted.verify(&hub.public_key(), &device.public_key()),
            Err(CredentialFault::NotSignedByTheHub { .. })
        ));
    }

    #[test]
    fn damaged_credentials_say_what_is_wrong() {
        let key = DeviceKey::generate().unwrap().public_key().to_string();
        let sig = "ab".repeat(64);
        for (text, says) in [
            ("dev\nproj\nfacilitator".to_string(), "five lines"),
            (format!("dev\nproj\nboss\n{key}\n{sig}"), "role"),
            (format!("dev\nproj\nsupervisor\nxyz\n{sig}"), "key"),
            (format!("dev\nproj\nsupervisor\n{key}\nabc"), "signature"),
            (format!("\nproj\nsupervisor\n{key}\n{sig}"), "device id"),
        ] {
            let fault = Credential::decode(&text).unwrap_err();
            assert!(
                fault.to_string().contains(says),
                "{fault} should name {says}"
            );
        }
    }
}
