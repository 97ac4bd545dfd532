//! The enrolment link a hub prints as a QR code (`minga-hub device enrol --hub-url ...`):
//! `minga://enrol?v=2&hub=<hub address>&code=<one-time code>&key=<hub key fingerprint>`, its
//! values percent-encoded (version 1 had no `key`, and is still read). One module writes and
//! reads it, so that a phone's camera scan goes straight to enrolment, and the enrolment checks
//! that the hub that answers holds the key the supervisor's hub printed: a device enrolling
//! over plain HTTP on an office network cannot be handed another key.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// What every enrolment link begins with.
pub const ENROLMENT_LINK_PREFIX: &str = "minga://enrol?";

/// The link version this code writes (with a hub key's fingerprint) and reads, with version 1;
/// a link without `v` is version 1.
pub const ENROLMENT_LINK_VERSION: u32 = 2;

/// The longest link read, in bytes: a QR code holds less, so a longer text is no link.
const MAX_LINK_LEN: usize = 4096;

/// Everything but unreserved characters is encoded in a value, so that `&`, `=`, `#` and `%`
/// in an address never split the query.
const VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// What an enrolment link carries: the hub to enrol with (absent when the supervisor printed
/// the code without `--hub-url`: the app asks for it), the one-time code, and (version 2) the
/// fingerprint of the hub's key (`signatures::PublicKey::fingerprint`), which the enrolment
/// checks against the key the hub answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentLink {
    pub hub_url: Option<String>,
    pub code: String,
    pub hub_key_fingerprint: Option<String>,
}

/// Why a scanned text is not an enrolment link, named for what the app does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentLinkError {
    /// Some other text or QR code (a web address, a Wi-Fi code): keep scanning.
    #[error("not a Minga enrolment link (it does not begin with {ENROLMENT_LINK_PREFIX})")]
    NotAnEnrolmentLink,
    /// A link from a newer hub: update the app.
    #[error("an enrolment link of version {version}; this app reads version {ENROLMENT_LINK_VERSION}: update it")]
    NewerVersion { version: u32 },
    /// A Minga link that is damaged or incomplete: ask the supervisor for a new code.
    #[error("a damaged enrolment link: {reason}")]
    Malformed { reason: String },
}

impl EnrolmentLink {
    /// Reads a scanned link. Cost: one pass over its text.
    pub fn parse(text: &str) -> Result<Self, EnrolmentLinkError> {
        let text = text.trim();
        if text.len() > MAX_LINK_LEN {
            return Err(malformed(format!(
                "{} bytes is too long for a link",
                text.len()
            )));
        }
        let query = strip_prefix_ignoring_case(text, ENROLMENT_LINK_PREFIX)
            .ok_or(EnrolmentLinkError::NotAnEnrolmentLink)?;
        let (mut version, mut hub_url, mut code, mut key) = (None, None, None, None);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(name, value)?;
            let slot = match name {
                "v" => &mut version,
                "hub" => &mut hub_url,
                "code" => &mut code,
                "key" => &mut key,
                // Fields a later version adds within version 1 are left to it.
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(malformed(format!("`{name}` is given twice")));
            }
        }
        check_version(version.as_deref())?;
        let code = code.ok_or_else(|| malformed("it has no `code`".into()))?;
        check_code(&code)?;
        if let Some(url) = &hub_url {
            check_hub_url(url)?;
        }
        if let Some(fingerprint) = &key {
            check_fingerprint(fingerprint)?;
        }
        Ok(Self {
            hub_url,
            code,
            hub_key_fingerprint: key,
        })
    }

    /// The link as a hub prints it, every value percent-encoded.
    pub fn to_uri(&self) -> String {
        let encode = |value: &str| utf8_percent_encode(value, VALUE).to_string();
        let hub = self
            .hub_url
            .as_deref()
            .map(|url| format!("&hub={}", encode(url)))
            .unwrap_or_default();
        // Version 1 when there is no key to carry, so that apps of before read it too.
        let (version, key) = match &self.hub_key_fingerprint {
            Some(fingerprint) => (
                ENROLMENT_LINK_VERSION,
                format!("&key={}", encode(fingerprint)),
            ),
            None => (1, String::new()),
        };
        format!(
            "{ENROLMENT_LINK_PREFIX}v={version}{hub}&code={}{key}",
            encode(&self.code)
        )
    }
}

fn malformed(reason: String) -> EnrolmentLinkError {
    EnrolmentLinkError::Malformed { reason }
}

/// The scheme and host of a URI are case-insensitive; a QR reader may upper-case them.
fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn decode(name: &str, value: &str) -> Result<String, EnrolmentLinkError> {
    let decoded = percent_decode_str(value)
        .decode_utf8()
        .map_err(|_| malformed(format!("`{name}` is not UTF-8 once decoded")))?;
    if decoded.chars().any(char::is_control) {
        return Err(malformed(format!("`{name}` holds a control character")));
    }
    Ok(decoded.into_owned())
}

fn check_version(version: Option<&str>) -> Result<(), EnrolmentLinkError> {
    let Some(text) = version else {
        return Ok(());
    };
    match text.parse::<u32>() {
        Ok(1..=ENROLMENT_LINK_VERSION) => Ok(()),
        Ok(version) if version > ENROLMENT_LINK_VERSION => {
            Err(EnrolmentLinkError::NewerVersion { version })
        }
        _ => Err(malformed(format!("{text:?} is not a link version"))),
    }
}

fn check_fingerprint(fingerprint: &str) -> Result<(), EnrolmentLinkError> {
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if fingerprint.len() != 32 || !fingerprint.chars().all(hex) {
        return Err(malformed(format!(
            "{fingerprint:?} is not a hub key's fingerprint"
        )));
    }
    Ok(())
}

fn check_code(code: &str) -> Result<(), EnrolmentLinkError> {
    if code.is_empty() || code.len() > 64 || code.contains(char::is_whitespace) {
        return Err(malformed(format!("{code:?} is not a one-time code")));
    }
    Ok(())
}

fn check_hub_url(url: &str) -> Result<(), EnrolmentLinkError> {
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(malformed(format!(
            "{url:?} is not a hub address (http://host:port or https://host)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(hub: Option<&str>, code: &str) -> EnrolmentLink {
        EnrolmentLink {
            hub_url: hub.map(str::to_string),
            code: code.into(),
            hub_key_fingerprint: None,
        }
    }

    #[test]
    fn a_version_2_link_carries_the_hub_keys_fingerprint() {
        let key = crate::signatures::DeviceKey::generate()
            .unwrap()
            .public_key();
        let written = EnrolmentLink {
            hub_key_fingerprint: Some(key.fingerprint()),
            ..link(Some("http://10.0.0.2:8080"), "ABCD-EFGH-JKMN")
        };
        let uri = written.to_uri();
        assert!(uri.starts_with("minga://enrol?v=2&"), "{uri}");
        assert!(
            uri.ends_with(&format!("&key={}", key.fingerprint())),
            "{uri}"
        );
        assert_eq!(EnrolmentLink::parse(&uri), Ok(written));
        assert_eq!(key.fingerprint().len(), 32);
    }

    #[test]
    fn a_written_link_reads_back_even_with_an_address_that_needs_encoding() {
        for hub in [
            Some("http://192.168.1.10:8080"),
            Some("https://hub.example.org/minga?a=1&b=2#x"),
            Some("https://ñandú.example/100%"),
            None,
        ] {
            let written = link(hub, "ABCD-EFGH-JKMN");
            let uri = written.to_uri();
            assert!(uri.starts_with("minga://enrol?v=1&"), "{uri}");
            assert_eq!(uri.matches('&').count(), 1 + usize::from(hub.is_some()));
            assert_eq!(EnrolmentLink::parse(&uri), Ok(written));
        }
    }

    #[test]
    fn the_link_a_hub_prints_today_reads_without_version_or_encoding() {
        let parsed =
            EnrolmentLink::parse("minga://enrol?hub=http://10.0.0.2:8080&code=ABCD-EFGH-JKMN\n");
        assert_eq!(
            parsed,
            Ok(link(Some("http://10.0.0.2:8080"), "ABCD-EFGH-JKMN"))
        );
        let without_hub = EnrolmentLink::parse("MINGA://ENROL?code=ABCD-EFGH-JKMN");
        assert_eq!(without_hub, Ok(link(None, "ABCD-EFGH-JKMN")));
    }

    #[test]
    fn other_qr_codes_are_not_enrolment_links() {
        for text in [
            "https://example.org",
            "WIFI:S:office;;",
            "",
            "minga://sync?x=1",
        ] {
            assert_eq!(
                EnrolmentLink::parse(text),
                Err(EnrolmentLinkError::NotAnEnrolmentLink),
                "{text}"
            );
        }
    }

    #[test]
    fn a_newer_link_asks_for_an_update() {
        assert_eq!(
            EnrolmentLink::parse("minga://enrol?v=3&code=X&shape=new"),
            Err(EnrolmentLinkError::NewerVersion { version: 3 })
        );
    }

    #[test]
    fn damaged_links_say_what_is_wrong() {
        for (text, says) in [
            ("minga://enrol?hub=http://h", "no `code`"),
            ("minga://enrol?code=A&code=B", "twice"),
            ("minga://enrol?code=A%20B", "one-time code"),
            ("minga://enrol?code=A%0A", "control character"),
            ("minga://enrol?code=%FF", "UTF-8"),
            ("minga://enrol?v=one&code=A", "link version"),
            ("minga://enrol?hub=ftp%3A%2F%2Fh&code=A", "hub address"),
            ("minga://enrol?v=2&code=A&key=abc", "fingerprint"),
        ] {
            match EnrolmentLink::parse(text) {
                Err(EnrolmentLinkError::Malformed { reason }) => {
                    assert!(reason.contains(says), "{text}: {reason}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let long = format!("minga://enrol?code={}", "A".repeat(MAX_LINK_LEN));
        assert!(matches!(
            EnrolmentLink::parse(&long),
            Err(EnrolmentLinkError::Malformed { .. })
        ));
    }
}
