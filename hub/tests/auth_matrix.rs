//! The authorisation matrix, one test each, against a real hub on loopback with a real client.

mod common;

use chrono::{Duration, Utc};
use common::{review_bytes, Enrolled, Hub, Phone};
use minga_core::ReviewState;
use minga_hub::access::Role;
use minga_hub::auth::{EnrolmentCode, MAX_WRONG_GUESSES};
use minga_hub::storage::{HubStorage, NewEnrolment};

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
        bytes,
        "the author reads it back"
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

#[test]
fn too_many_wrong_guesses_lock_the_code() {
    let hub = Hub::start();
    let code = issue_code(&hub, Duration::minutes(15));
    for _ in 0..MAX_WRONG_GUESSES {
        let wrong = EnrolmentCode {
            lookup: code.lookup.clone(),
            secret: "00000000".into(),
        };
        let reply = hub.try_code(&wrong.to_string());
        assert_eq!((reply.status, reply.error().as_str()), (403, "wrong_code"));
    }
    let right = hub.try_code(&code.to_string());
    assert_eq!((right.status, right.error().as_str()), (429, "code_locked"));
    let malformed = hub.try_code("not a code");
    assert_eq!(
        (malformed.status, malformed.error().as_str()),
        (400, "malformed_code")
    );
    assert!(hub.storage.devices(None).unwrap().is_empty());
}
