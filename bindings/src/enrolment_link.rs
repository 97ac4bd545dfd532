//! The enrolment link a hub prints as a QR code (`minga://enrol?v=2&hub=…&code=…&key=…`), read by
//! `minga_sync::enrolment_link`, so that an app's camera scan goes straight to `enrol`.

use minga_sync::enrolment_link as link;

/// What a scanned enrolment link carries: the hub (none when the supervisor printed the code
/// without `--hub-url`: ask for it), the one-time code and the fingerprint of the hub's key
/// (none in a version 1 link), all ready for `enrol`, which checks the fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrolmentLink {
    pub hub_url: Option<String>,
    pub code: String,
    #[uniffi(default = None)]
    pub hub_key_fingerprint: Option<String>,
}

/// Why a scanned text is not an enrolment link, named for what the app does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum EnrolmentLinkError {
    /// Some other text or QR code: keep scanning.
    #[error("not a Minga enrolment link")]
    NotAnEnrolmentLink,
    /// A link from a newer hub: update the app.
    #[error("an enrolment link of version {version}: update the app")]
    NewerVersion { version: u32 },
    /// A Minga link that is damaged or incomplete: ask the supervisor for a new code.
    #[error("a damaged enrolment link: {reason}")]
    Malformed { reason: String },
}

/// Reads a scanned enrolment link (`minga://enrol?v=2&hub=…&code=…&key=…`, values
/// percent-encoded; version 1, without `key`, too).
#[uniffi::export]
pub fn parse_enrolment_link(text: String) -> Result<EnrolmentLink, EnrolmentLinkError> {
    let parsed = link::EnrolmentLink::parse(&text)?;
    Ok(EnrolmentLink {
        hub_url: parsed.hub_url,
        code: parsed.code,
        hub_key_fingerprint: parsed.hub_key_fingerprint,
    })
}

/// The link a hub prints for `code` at `hub_url`, as its QR code carries it.
#[uniffi::export]
pub fn enrolment_link_uri(link: EnrolmentLink) -> String {
    link::EnrolmentLink {
        hub_url: link.hub_url,
        code: link.code,
        hub_key_fingerprint: link.hub_key_fingerprint,
    }
    .to_uri()
}

impl From<link::EnrolmentLinkError> for EnrolmentLinkError {
    fn from(error: link::EnrolmentLinkError) -> Self {
        match error {
            link::EnrolmentLinkError::NotAnEnrolmentLink => Self::NotAnEnrolmentLink,
            link::EnrolmentLinkError::NewerVersion { version } => Self::NewerVersion { version },
            // The reason is the core's own sentence, which already begins with what it is.
            link::EnrolmentLinkError::Malformed { reason } => Self::Malformed { reason },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scanned_link_gives_what_enrol_takes_and_errors_stay_typed() {
        let link = EnrolmentLink {
            hub_url: Some("http://10.0.0.2:8080".into()),
            code: "ABCD-EFGH-JKMN".into(),
            hub_key_fingerprint: Some("0123456789abcdef0123456789abcdef".into()),
        };
        assert_eq!(
            parse_enrolment_link(enrolment_link_uri(link.clone())),
            Ok(link)
        );
        assert_eq!(
            parse_enrolment_link("https://example.org".into()),
            Err(EnrolmentLinkError::NotAnEnrolmentLink)
        );
        assert!(matches!(
            parse_enrolment_link("minga://enrol?hub=x".into()),
            Err(EnrolmentLinkError::Malformed { .. })
        ));
    }
}
