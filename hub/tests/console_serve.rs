//! The console as `minga-hub serve` serves it: over TLS its cookies are `Secure` and a password
//! is accepted from anywhere; over plain HTTP the sign-in is refused to another machine unless
//! `--console-plain-http` says the office allows it (a proxy adds TLS in front).

mod common;

use common::Served;
use std::net::{IpAddr, UdpSocket};

/// This machine's address on its network (not loopback), if it has one: where a colleague's
/// browser would come from.
fn network_address() -> Option<IpAddr> {
    // Connecting a UDP socket sends nothing; it only picks the address a packet would leave by.
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

fn plain_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

#[test]
fn plain_http_sign_in_is_refused_to_another_machine_unless_the_office_allows_it() {
    let Some(ip) = network_address() else {
        eprintln!("SKIPPED: this machine has no network address besides loopback");
        return;
    };
    let data = tempfile::tempdir().unwrap();
    for (flags, expected) in [(&[][..], 403), (&["--console-plain-http"][..], 200)] {
        let mut args = vec!["--listen", "0.0.0.0:0"];
        args.extend_from_slice(flags);
        let served = Served::start(data.path(), &args);
        let port = served.port();
        let agent = plain_agent();
        let mut page = agent
            .get(&format!("http://{ip}:{port}/console/sign-in"))
            .header("Accept-Language", "en")
            .call()
            .unwrap();
        let body = page.body_mut().read_to_string().unwrap();
        assert_eq!(page.status().as_u16(), expected, "{flags:?}: {body}");
        assert_eq!(
            body.contains(r#"type="password""#),
            expected == 200,
            "{flags:?}"
        );
        // A password sent anyway: refused for the transport before anything else is checked
        // (with plain HTTP allowed, this form without its token is refused for CSRF instead).
        let mut posted = agent
            .post(&format!("http://{ip}:{port}/console/sign-in"))
            .header("Accept-Language", "en")
            .send_form([("name", "sara"), ("password", "whatever it is")])
            .unwrap();
        let said = posted.body_mut().read_to_string().unwrap();
        assert_eq!(posted.status().as_u16(), 403);
        assert_eq!(
            said.contains("sign in over HTTPS"),
            expected == 403,
            "{flags:?}: {said}"
        );
        let here = agent
            .get(&format!("http://127.0.0.1:{port}/console/sign-in"))
            .call()
            .unwrap();
        assert_eq!(
            here.status().as_u16(),
            200,
            "this machine may always sign in"
        );
    }
}

#[test]
fn over_tls_the_consoles_cookies_are_secure() {
    let data = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (data.path().join("hub.crt"), data.path().join("hub.key"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert_arg,
        "--tls-key",
        key_arg,
    ];
    let served = Served::start(data.path(), &args);
    let port = served.port();
    let trusted = ureq::tls::Certificate::from_der(certified.cert.der()).to_owned();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
            trusted,
        ])))
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let page = agent
        .get(&format!("https://127.0.0.1:{port}/console/sign-in"))
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let cookie = page.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("minga_signin="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let policy = page.headers().get("content-security-policy").unwrap();
    assert!(policy.to_str().unwrap().starts_with("default-src 'none'"));
}
