//! The authorisation matrix, one test each, against a real hub on loopback with a real client.

mod common;

use chrono::{Duration, Utc};
use common::{review_bytes, Enrolled, Hub, Phone};
use minga_core::ReviewState;
use minga_hub::access::Role;
use minga_hub::auth::EnrolmentCode;
use minga_hub::server::guessers::BURST;
use minga_hub::storage::{HubStorage, NewEnrolment};
use minga_sync::wire::open_signed_document;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};

/// An authenticated read of the project: what changed since the start.
const CHANGES: &str = "/v1/projects/imbabura/changes";

/// Fills a submission on `author`'s phone and uploads it; returns its id and bytes.
fn upload_submission(hub: &Hub, author: &Enrolled) -> (String, Vec<u8>) {
    let (id, bytes) = Phone::new(&author.id).fill("Rosa");
    let path = format!("/v1/projects/imbabura/submissions/{id}");
    assert_eq!(hub.put(&path, &author.token, &bytes).status, 200);
    (id, bytes)
}

#[test]
fn health_and_metrics_need_no_token() {
    let hub = Hub::start();
    let health = hub.get("/health", None);
    assert_eq!(
        (health.status, health.body.as_slice()),
        (200, b"ok\n".as_slice())
    );
    hub.get(CHANGES, None);
    let metrics = String::from_utf8(hub.get("/metrics", None).body).unwrap();
    assert!(
        metrics.contains("minga_hub_requests_refused_total 1\n"),
        "{metrics}"
    );
}

#[test]
fn an_enrolled_device_receives_its_projects_forms() {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    let reply = hub.get(CHANGES, Some(&ana.token));
    assert_eq!(reply.status, 200);
    let form = minga_core::form_document_id("safety_walk", "2026-11-01").to_string();
    assert_eq!(reply.json()["documents"][0]["id"], form.as_str());
    assert_eq!(reply.json()["documents"][0]["kind"], "form");
}

#[test]
fn no_token_is_refused() {
    let hub = Hub::start();
    let reply = hub.get(CHANGES, None);
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (401, "missing_token")
    );
}

#[test]
fn a_malformed_token_is_refused() {
    let hub = Hub::start();
    for header in [
        "Bearer not-a-token",
        "Basic YWxhZGRpbjpvcGVu",
        &format!("Bearer {}", "A".repeat(64)),
    ] {
        let reply = hub.get_with_header(CHANGES, header);
        assert_eq!(
            (reply.status, reply.error().as_str()),
            (401, "malformed_token"),
            "{header}"
        );
    }
    let unknown = hub.get(CHANGES, Some(&"0".repeat(64)));
    assert_eq!(
        (unknown.status, unknown.error().as_str()),
        (401, "unknown_token")
    );
}

#[test]
fn a_revoked_device_is_told_to_wipe() {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    assert_eq!(hub.get(CHANGES, Some(&ana.token)).status, 200);
    hub.storage.revoke_device(&ana.id).unwrap();
    let reply = hub.get(CHANGES, Some(&ana.token));
    assert_eq!(reply.status, 410);
    assert_eq!(reply.json()["error"], "revoked");
    assert_eq!(reply.json()["wipe"], true);
}

#[test]
fn a_device_of_another_project_is_refused() {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    let carlos = hub.enrol("carchi", Role::Supervisor, "Carlos");
    let (id, bytes) = upload_submission(&hub, &ana);
    let read = hub.get(
        &format!("/v1/projects/imbabura/submissions/{id}"),
        Some(&carlos.token),
    );
    assert_eq!((read.status, read.error().as_str()), (403, "other_project"));
    let listed = hub.get(CHANGES, Some(&carlos.token));
    assert_eq!(
        (listed.status, listed.error().as_str()),
        (403, "other_project")
    );
    let write = hub.put(
        &format!("/v1/projects/imbabura/submissions/{id}"),
        &carlos.token,
        &bytes,
    );
    assert_eq!(
        (write.status, write.error().as_str()),
        (403, "other_project")
    );
}

#[test]
fn a_facilitator_cannot_read_another_facilitators_submission() {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    let ben = hub.enrol("imbabura", Role::Facilitator, "Ben");
    let sara = hub.enrol("imbabura", Role::Supervisor, "Sara");
    let (id, bytes) = upload_submission(&hub, &ana);
    let path = format!("/v1/projects/imbabura/submissions/{id}");

    let by_ben = hub.get(&path, Some(&ben.token));
    assert_eq!(
        (by_ben.status, by_ben.error().as_str()),
        (403, "not_the_author")
    );
    let ben_writes = hub.put(&path, &ben.token, &bytes);
    assert_eq!(
        (ben_writes.status, ben_writes.error().as_str()),
        (403, "not_the_author")
    );
    assert_eq!(
        hub.get(&path, Some(&ana.token)).body,
        open_signed_document(&bytes).unwrap().0,
        "the author reads it back (the automerge bytes)"
    );
    assert_eq!(
        hub.get(&path, Some(&sara.token)).status,
        200,
        "a supervisor reads everything"
    );

    let listed = |token: &str| {
        hub.get("/v1/projects/imbabura/changes?since=0", Some(token))
            .json()["documents"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(
        (listed(&ana.token), listed(&ben.token), listed(&sara.token)),
        (2, 1, 2),
        "everyone lists the published form; the submission only its author and a supervisor"
    );
}

#[test]
fn a_facilitator_cannot_write_a_review() {
    let hub = Hub::start();
    let ana = hub.enrol("imbabura", Role::Facilitator, "Ana");
    let sara = hub.enrol("imbabura", Role::Supervisor, "Sara");
    let (id, _) = upload_submission(&hub, &ana);
    let review = format!("/v1/projects/imbabura/reviews/{id}");

    let by_ana = hub.put(
        &review,
        &ana.token,
        &review_bytes(&id, ReviewState::Approved),
    );
    assert_eq!(
        (by_ana.status, by_ana.error().as_str()),
        (403, "reviews_are_for_supervisors")
    );
    assert_eq!(
        hub.get(&review, Some(&ana.token)).status,
        404,
        "nothing was stored"
    );

    let (other, _) = upload_submission(&hub, &ana);
    let misfiled = hub.put(
        &review,
        &sara.token,
        &review_bytes(&other, ReviewState::Rejected),
    );
    assert_eq!(
        (misfiled.status, misfiled.error().as_str()),
        (422, "derives_another_id"),
        "a review of another submission is not filed under this one"
    );
    assert_eq!(
        hub.put(
            &review,
            &sara.token,
            &review_bytes(&id, ReviewState::HasIssues)
        )
        .status,
        200
    );
    assert_eq!(
        hub.get(&review, Some(&ana.token)).status,
        200,
        "the author receives the review of its submission"
    );
}

fn issue_code(hub: &Hub, expires_in: Duration) -> EnrolmentCode {
    let code = EnrolmentCode::generate();
    hub.storage
        .create_enrolment(&NewEnrolment {
            lookup: code.lookup.clone(),
            secret_hash: code.secret_hash(),
            project: "imbabura".into(),
            role: Role::Facilitator,
            device_name: "Ana".into(),
            expires_at: Utc::now() + expires_in,
        })
        .unwrap();
    code
}

#[test]
fn a_reused_or_expired_code_is_refused() {
    let hub = Hub::start();
    let code = issue_code(&hub, Duration::minutes(15));
    assert_eq!(hub.try_code(&code.to_string()).status, 200);
    let again = hub.try_code(&code.to_string());
    assert_eq!((again.status, again.error().as_str()), (403, "code_used"));

    let expired = issue_code(&hub, Duration::seconds(-1));
    let late = hub.try_code(&expired.to_string());
    assert_eq!((late.status, late.error().as_str()), (403, "code_expired"));
    assert_eq!(hub.storage.devices(Some("imbabura")).unwrap().len(), 1);
}

/// The code with its secret replaced by a wrong one.
fn with_wrong_secret(code: &EnrolmentCode) -> EnrolmentCode {
    let secret = if code.secret == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    EnrolmentCode {
        lookup: code.lookup.clone(),
        secret: secret.into(),
    }
}

/// `POST /v1/enrol` with `code`, sent from the loopback address `from` (the whole of 127/8 is
/// this machine's, so 127.0.0.2 is a second client): status and body.
fn try_code_from(hub: &Hub, from: IpAddr, code: &str) -> (u16, Vec<u8>) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(from, 0).into()).unwrap();
    socket.connect(&hub.running.addr.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    let body = serde_json::json!({ "code": code }).to_string();
    write!(
        stream,
        "POST /v1/enrol HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let text = String::from_utf8(reply).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.as_bytes().to_vec())
}

#[test]
fn an_unknown_code_and_a_wrong_secret_get_the_same_answer() {
    let hub = Hub::start();
    let code = issue_code(&hub, Duration::minutes(15));
    let used = issue_code(&hub, Duration::minutes(15));
    assert_eq!(hub.try_code(&used.to_string()).status, 200);
    let expired = issue_code(&hub, Duration::seconds(-1));
    let unknown = loop {
        let other = EnrolmentCode::generate();
        if ![&code, &used, &expired]
            .iter()
            .any(|c| c.lookup == other.lookup)
        {
            break other;
        }
    };
    let answers: Vec<(u16, Vec<u8>)> = [&unknown, &code, &used, &expired]
        .into_iter()
        .map(|c| {
            let reply = hub.try_code(&with_wrong_secret(c).to_string());
            (reply.status, reply.body)
        })
        .collect();
    assert_eq!(answers[0].0, 403);
    for answer in &answers[1..] {
        assert_eq!(
            answer, &answers[0],
            "a known code with a wrong secret, used or expired or not, is told nothing more"
        );
    }
}

#[test]
fn a_guessing_address_is_refused_while_the_holder_still_enrols() {
    let hub = Hub::start();
    let code = issue_code(&hub, Duration::minutes(15));
    let guesser: IpAddr = "127.0.0.2".parse().unwrap();
    for _ in 0..BURST {
        let (status, body) = try_code_from(&hub, guesser, &with_wrong_secret(&code).to_string());
        assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    }
    let (status, body) = try_code_from(&hub, guesser, &code.to_string());
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("too_many_tries"))
    );
    assert!(hub.storage.devices(None).unwrap().is_empty());

    let holder = hub.try_code(&code.to_string());
    assert_eq!(
        holder.status,
        200,
        "the code is not locked: {}",
        String::from_utf8_lossy(&holder.body)
    );
    assert_eq!(hub.storage.devices(None).unwrap().len(), 1);
    let malformed = hub.try_code("not a code");
    assert_eq!(
        (malformed.status, malformed.error().as_str()),
        (400, "malformed_code")
    );
}
