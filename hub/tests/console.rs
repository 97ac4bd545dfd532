//! The supervisor's console over real HTTP on loopback, with a real hub over a real SQLite file
//! and a facilitator's real phone store syncing into it: signing in and out, the growing wait
//! after wrong passwords, another project's pages refused, the table filtered and paged, a
//! submission flagged as invalid on arrival shown with its reasons, a review written from the
//! console reaching the phone, answers shown as text, and CSRF.

mod common;

use common::browser::{unescaped, Browser, Page};
use common::{Hub, SyncingPhone as Phone};
use minga_core::{AnswerPath, DocId, ReviewState, Value};
use minga_hub::access::Role;
use minga_hub::console::users::{add_user, Password};
use minga_hub::storage::{ConsoleSession, ConsoleStorage, HubStorage};
use std::collections::BTreeMap;

const PASSWORD: &str = "a long enough password";

/// A hub with Sara supervising `imbabura` (not `carchi`), and Ana's phone in `imbabura`.
fn hub_with_sara() -> (Hub, Phone) {
    let hub = Hub::start();
    let password = Password::Given(PASSWORD.into());
    add_user(
        hub.storage.as_ref(),
        "sara",
        &["imbabura".into()],
        &password,
    )
    .unwrap();
    let phone = Phone::enrol(hub.storage.as_ref(), &hub.running.url(), "imbabura", "Ana");
    (hub, phone)
}

#[test]
fn the_history_says_which_device_and_which_console_user_signed_the_changes() {
    let (hub, ana) = hub_with_sara();
    let device = ana.store.identity().device_id;
    // What enrolment with the store's key (`Store.enrol`) binds.
    hub.storage
        .bind_device_key("imbabura", &device, &ana.store.public_key())
        .unwrap();
    let id = ana.fill("Rosa");
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let page = browser.get(&format!("/console/p/imbabura/submissions/{id}"));
    let csrf = page.csrf();
    let review = [("csrf", csrf.as_str()), ("state", "approved")];
    browser.post(
        &format!("/console/p/imbabura/submissions/{id}/review"),
        &review,
    );

    let after = browser.get(&format!("/console/p/imbabura/submissions/{id}"));
    let at = |table: &str| after.body.find(&format!(r#"id="{table}""#)).unwrap();
    let (history, review_history) = after.body.split_at(at("review-history"));
    let history = &history[at("history")..];
    assert!(
        history.contains(r#"<td class="signer">signed by device Ana</td>"#),
        "{history}"
    );
    assert!(
        review_history.contains(r#"<td class="signer">signed by console user sara</td>"#),
        "{review_history}"
    );
    // A review's fixed first change is written by no one (its actor is its id).
    assert!(
        review_history.contains(r#"<td class="signer">unsigned (before signing)</td>"#),
        "{review_history}"
    );
}

#[test]
fn a_review_from_the_console_reaches_the_phone_under_the_supervisors_name() {
    let (hub, ana) = hub_with_sara();
    let id = ana.fill("Rosa");
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    let signed = browser.sign_in("sara", PASSWORD);
    assert_eq!(
        (signed.status, signed.location.as_deref()),
        (303, Some("/console"))
    );
    let table = browser.get("/console/p/imbabura/submissions");
    assert!(table.body.contains(">Rosa</a>"), "{}", table.body);
    let page = browser.get(&format!("/console/p/imbabura/submissions/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Respondent"),
        "English labels: {}",
        page.body
    );
    let csrf = page.csrf();
    let reviewed = browser.post(
        &format!("/console/p/imbabura/submissions/{id}/review"),
        &[
            ("csrf", &csrf),
            ("state", "approved"),
            ("question", "respondent"),
            ("comment", "spell the surname"),
        ],
    );
    assert_eq!(reviewed.status, 303, "{}", reviewed.body);
    let after = browser.get(&format!("/console/p/imbabura/submissions/{id}"));
    let history = &after.body[after
        .body
        .find(r#"id="review-history""#)
        .expect("its history")..];
    assert!(
        history.contains("<td>sara</td><td>console:sara</td>"),
        "{history}"
    );
    assert!(after.body.contains("<td>Draft</td>"), "the status in words");

    ana.sync();
    let review = ana
        .store
        .review(&id)
        .unwrap()
        .expect("the phone has the review");
    assert_eq!(review.state, ReviewState::Approved);
    assert_eq!(review.decided_by.as_deref(), Some("sara"));
    assert_eq!(review.comments.len(), 1);
    assert_eq!(review.comments[0].question.as_deref(), Some("respondent"));
    assert_eq!(review.comments[0].text, "spell the surname");
    // Her changes arrived signed with a key of hers, and the phone checked them on receipt.
    let review_id = minga_core::review_id(&id);
    let signed = ana.store.change_signatures(&review_id).unwrap();
    assert!(!signed.is_empty(), "the console's changes are signed");
    use automerge::ReadDoc;
    let held = automerge::Automerge::load(&ana.store.document_bytes(&review_id).unwrap()).unwrap();
    for (hash, signature) in &signed {
        let change = held
            .get_change_by_hash(hash)
            .expect("a change the phone holds");
        let key = minga_sync::signatures::actor_key(change.actor_id()).expect("a keyed actor");
        assert!(key.verifies(hash, signature));
        assert_ne!(
            key,
            ana.store.public_key(),
            "signed by the console, not the phone"
        );
    }
    let audit = browser.get("/console/p/imbabura/audit");
    assert!(
        audit.body.contains("approve, flag answer respondent"),
        "{}",
        audit.body
    );
    assert!(audit.body.contains("sign-in"));
}

#[test]
fn an_answer_holding_markup_is_shown_as_text_under_a_policy_that_allows_no_script() {
    let (hub, ana) = hub_with_sara();
    let hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>";
    let id = ana.fill(hostile);
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    for path in [
        "/console/p/imbabura/submissions".to_string(),
        format!("/console/p/imbabura/submissions/{id}"),
    ] {
        let page = browser.get(&path);
        assert_eq!(page.status, 200);
        assert!(!page.body.contains("<script"), "{path}: {}", page.body);
        assert!(!page.body.contains("<img"), "{path}");
        assert!(
            unescaped(&page.body).contains(hostile),
            "{path}: shown as text"
        );
        let policy = page.policy.expect("a policy");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(
            !policy.contains("script-src"),
            "no script source at all: {policy}"
        );
    }
}

#[test]
fn a_post_without_the_sessions_token_is_refused_and_changes_nothing() {
    let (hub, ana) = hub_with_sara();
    let id = ana.fill("Rosa");
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let path = format!("/console/p/imbabura/submissions/{id}/review");
    for form in [
        vec![("state", "rejected")],
        vec![("state", "rejected"), ("csrf", "0123456789abcdef")],
    ] {
        assert_eq!(browser.post(&path, &form).status, 403);
    }
    let approve = [("id", id.to_string())];
    let approve: Vec<(&str, &str)> = approve.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let bulk = browser.post("/console/p/imbabura/submissions/approve", &approve);
    assert_eq!(bulk.status, 403);
    let row = hub
        .storage
        .submission_row("imbabura", &id.to_string())
        .unwrap()
        .unwrap();
    assert_eq!(row.review_state, "received", "nothing was written");
    let stranger = Browser::new(&hub.running.url());
    let no_cookie = stranger.post(
        "/console/sign-in",
        &[("name", "sara"), ("password", PASSWORD)],
    );
    assert_eq!(
        no_cookie.status, 403,
        "a sign-in form posted from elsewhere"
    );
}

#[test]
fn another_projects_pages_and_submissions_are_not_found() {
    let (hub, _ana) = hub_with_sara();
    let ben = Phone::enrol(hub.storage.as_ref(), &hub.running.url(), "carchi", "Ben");
    let theirs = ben.fill("Luis");
    ben.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    for path in [
        "/console/p/carchi/submissions".to_string(),
        format!("/console/p/carchi/submissions/{theirs}"),
        format!("/console/p/imbabura/submissions/{theirs}"),
        "/console/p/carchi/audit".to_string(),
        "/console/p/nowhere/submissions".to_string(),
    ] {
        let page = browser.get(&path);
        assert_eq!(page.status, 404, "{path}");
        assert!(!page.body.contains("Luis"), "{path}");
    }
}

#[test]
fn wrong_passwords_make_that_account_wait_at_that_address_and_nobody_else() {
    let (hub, _ana) = hub_with_sara();
    let password = Password::Given(PASSWORD.into());
    add_user(
        hub.storage.as_ref(),
        "tomas",
        &["imbabura".into()],
        &password,
    )
    .unwrap();
    let browser = Browser::new(&hub.running.url());
    for _ in 0..3 {
        let wrong = browser.sign_in("sara", "not her password");
        assert_eq!(wrong.status, 401);
        assert!(wrong.body.contains("Wrong name or password."));
    }
    let waiting = browser.sign_in("sara", PASSWORD);
    assert_eq!(waiting.status, 429, "the right password must wait too");
    let seconds: i64 = waiting.retry_after.unwrap().parse().unwrap();
    assert!((1..=5).contains(&seconds), "{seconds}");
    assert_eq!(
        browser.sign_in("tomas", PASSWORD).status,
        303,
        "another account"
    );
    assert_eq!(
        browser.sign_in("nobody", PASSWORD).status,
        401,
        "an unknown name reads as a wrong password"
    );
    let failures = hub.storage.signin_failures("sara", "127.0.0.1").unwrap();
    assert_eq!(failures.map(|f| f.failures), Some(3));
    let log = hub.storage.audit_log(Some("imbabura"), None, 20).unwrap();
    let refusals = log
        .iter()
        .filter(|r| r.entry.who == "sara" && r.entry.action.starts_with("sign-in refused"))
        .count();
    assert_eq!(refusals, 4, "three wrong passwords and one wait");
}

#[test]
fn signing_out_or_an_expired_session_sends_the_browser_to_the_sign_in() {
    let (hub, _ana) = hub_with_sara();
    let browser = Browser::new(&hub.running.url());
    assert_eq!(
        browser.get("/console").location.as_deref(),
        Some("/console/sign-in")
    );
    browser.sign_in("sara", PASSWORD);
    let home = browser.get("/console");
    assert_eq!(home.status, 200);
    let out = browser.post("/console/sign-out", &[("csrf", &home.csrf())]);
    assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
    assert_eq!(browser.get("/console").status, 303);

    let token = "expired-token";
    let long_ago = chrono::Utc::now() - chrono::Duration::hours(9);
    hub.storage
        .create_console_session(&ConsoleSession {
            token_hash: minga_hub::console::auth::token_hash(token),
            user: "sara".into(),
            csrf_secret: "x".into(),
            created_at: long_ago,
            expires_at: long_ago + minga_hub::console::auth::SESSION_LIFETIME,
        })
        .unwrap();
    browser
        .cookies
        .borrow_mut()
        .insert("minga_session".into(), token.into());
    assert_eq!(
        browser
            .get("/console/p/imbabura/submissions")
            .location
            .as_deref(),
        Some("/console/sign-in")
    );
}

#[test]
fn the_table_filters_searches_and_pages_by_the_last_row() {
    let (hub, ana) = hub_with_sara();
    let ids: Vec<DocId> = (0..55)
        .map(|n| ana.fill(&format!("visit-{n:02}")))
        .collect();
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let rows = |page: &Page| page.body.matches(r#"name="id" value=""#).count();
    let first = browser.get("/console/p/imbabura/submissions?sort=oldest");
    assert_eq!(rows(&first), 50);
    assert!(first.body.contains(">visit-00</a>") && !first.body.contains(">visit-50</a>"));
    let end = first.body.find(r#"" rel="next""#).expect("a next page");
    let start = first.body[..end].rfind(r#"href=""#).unwrap() + 6;
    let next = unescaped(&first.body[start..end]);
    let second = browser.get(&next);
    assert_eq!(rows(&second), 5, "{next}");
    assert!(second.body.contains(">visit-54</a>"));
    assert!(!second.body.contains(r#"rel="next""#));

    let search = browser.get("/console/p/imbabura/submissions?q=VISIT-1");
    assert_eq!(rows(&search), 10, "visit-10 to visit-19");
    let csrf = first.csrf();
    let selected = [ids[3].to_string(), ids[4].to_string()];
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend(selected.iter().map(|id| ("id", id.as_str())));
    let approved = browser.post("/console/p/imbabura/submissions/approve", &form);
    assert_eq!(approved.status, 303, "{}", approved.body);
    let filtered = browser.get("/console/p/imbabura/submissions?review=approved");
    assert_eq!(rows(&filtered), 2);
    assert!(filtered.body.contains(">visit-03</a>") && filtered.body.contains(">visit-04</a>"));
    let device = hub.storage.devices(Some("imbabura")).unwrap()[0].id.clone();
    let by_device = browser.get(&format!(
        "/console/p/imbabura/submissions?device={device}&review=approved&conflicts=1"
    ));
    assert_eq!(rows(&by_device), 0, "no conflicts among them");
}

#[test]
fn a_submission_breaking_its_form_is_flagged_in_the_table_and_its_page_says_why() {
    let (hub, ana) = hub_with_sara();
    let fine = ana.fill("Rosa");
    let wrong = ana.fill("Luis");
    // Ana's phone has not synced yet, so it lacks the form and nothing checked this answer.
    let colour = Value::Text("red".into());
    ana.store
        .set_answer(&wrong, &AnswerPath::new("colour"), &colour)
        .unwrap();
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let flagged = browser.get("/console/p/imbabura/submissions?invalid=1");
    assert!(flagged.body.contains(">Luis</a>"), "{}", flagged.body);
    assert!(!flagged.body.contains(">Rosa</a>"));
    assert!(flagged.body.contains("Flagged as invalid on arrival"));
    let back = format!("/console/p/imbabura/submissions/{wrong}");
    let page = browser.get(&back);
    assert!(page.body.contains(r#"id="invalid-reasons""#));
    assert!(
        page.body.contains("has no question colour"),
        "{}",
        page.body
    );
    let calm = browser.get(&format!("/console/p/imbabura/submissions/{fine}"));
    assert!(!calm.body.contains(r#"id="invalid-reasons""#));
    browser.get(&format!("/console/lang/es?back={back}"));
    let spanish = browser.get(&back);
    assert!(
        spanish.body.contains("Inválido al llegar"),
        "{}",
        spanish.body
    );
}

#[test]
fn the_language_follows_the_switch_and_the_forms_own_labels() {
    let (hub, ana) = hub_with_sara();
    let id = ana.fill("Rosa");
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let back = format!("/console/p/imbabura/submissions/{id}");
    let switched = browser.get(&format!("/console/lang/es?back={back}"));
    assert_eq!(switched.location.as_deref(), Some(back.as_str()));
    let page = browser.get(&back);
    assert!(page.body.contains(r#"<html lang="es">"#));
    assert!(page.body.contains("Persona"), "the form's Spanish label");
    assert!(page.body.contains("Cerrar sesión"));
    let elsewhere = browser.get("/console/lang/en?back=https://example.org/");
    assert_eq!(
        elsewhere.location.as_deref(),
        Some("/console"),
        "never off the console"
    );
}

#[test]
fn a_conflict_two_phones_made_is_settled_in_one_click_and_both_phones_receive_it() {
    let (hub, ana) = hub_with_sara();
    let office = Phone::enrol_as(
        hub.storage.as_ref(),
        &hub.running.url(),
        "imbabura",
        "Oficina",
        Role::Supervisor,
    );
    let id = ana.fill("Rosa");
    ana.sync();
    office.sync();
    let respondent = AnswerPath::new("respondent");
    let write = |phone: &Phone, text: &str| {
        let value = Value::Text(text.into());
        phone.store.set_answer(&id, &respondent, &value).unwrap();
    };
    write(&ana, "Rosa Pérez");
    write(&office, "Rosa Perez");
    ana.sync();
    office.sync();
    let row = |hub: &Hub| {
        hub.storage
            .submission_row("imbabura", &id.to_string())
            .unwrap()
            .unwrap()
    };
    assert!(row(&hub).has_conflicts);

    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let path = format!("/console/p/imbabura/submissions/{id}");
    let page = browser.get(&path);
    assert_eq!(
        page.body.matches("Keep this value").count(),
        3,
        "a header and two buttons"
    );
    // The actor field of the form in the row showing Ana's value.
    let row_at = page.body.find("<td>Rosa Pérez</td>").expect("Ana's value");
    let field = r#"name="actor" value=""#;
    let start = page.body[row_at..].find(field).unwrap() + row_at + field.len();
    let actor = &page.body[start..start + page.body[start..].find('"').unwrap()];
    assert!(page.body[row_at..].contains("<td>Ana ("), "who wrote it");
    let settled = browser.post(
        &format!("{path}/settle"),
        &[
            ("csrf", &page.csrf()),
            ("path", "respondent"),
            ("actor", actor),
        ],
    );
    assert_eq!(settled.status, 303, "{}", settled.body);
    assert!(!row(&hub).has_conflicts);

    for phone in [&ana, &office] {
        phone.sync();
        let values = phone.store.answer_values(&id, &respondent).unwrap();
        let texts: Vec<Option<Value>> = values.into_iter().map(|v| v.value).collect();
        assert_eq!(texts, [Some(Value::Text("Rosa Pérez".into()))]);
    }
    let settled_again = browser.get(&path);
    assert!(!settled_again.body.contains("Keep this value"));
    let audit = browser.get("/console/p/imbabura/audit");
    assert!(audit.body.contains("settle respondent"));
}

#[test]
fn a_device_enrolled_from_the_page_syncs_until_it_is_revoked_from_the_page() {
    let (hub, _ana) = hub_with_sara();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let devices = browser.get("/console/p/imbabura/devices");
    let enrolled = browser.post(
        "/console/p/imbabura/devices/enrol",
        &[
            ("csrf", &devices.csrf()),
            ("name", "Tablet 3"),
            ("role", "facilitator"),
        ],
    );
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    assert!(
        enrolled.body.contains(r#"<svg role="img""#),
        "the QR code drawn in the page"
    );
    let start = enrolled.body.find(r#"id="code" class="code">"#).unwrap() + 23;
    let code = &enrolled.body[start..start + enrolled.body[start..].find('<').unwrap()];
    let base = hub.running.url();
    let tablet = Phone::with_code(&base, "imbabura", "Tablet 3", code).expect("the code enrols");
    tablet.fill("Carmen");
    tablet.sync();
    assert!(
        Phone::with_code(&base, "imbabura", "again", code).is_err(),
        "used once"
    );

    let listed = browser.get("/console/p/imbabura/devices");
    let at = listed.body.find("<td>Tablet 3</td>").unwrap();
    let action = r#"action="/console/p/imbabura/devices/"#;
    let start = listed.body[at..].find(action).unwrap() + at + action.len();
    let id = &listed.body[start..start + listed.body[start..].find('/').unwrap()];
    let other = browser.post(
        &format!("/console/p/carchi/devices/{id}/revoke"),
        &[("csrf", &listed.csrf())],
    );
    assert_eq!(other.status, 404, "not her project");
    let revoked = browser.post(
        &format!("/console/p/imbabura/devices/{id}/revoke"),
        &[("csrf", &listed.csrf())],
    );
    assert_eq!(revoked.status, 303);
    let refused = tablet.try_sync().unwrap_err().to_string();
    assert!(
        refused.contains("HTTP 410"),
        "revoked (410 Gone): {refused}"
    );
    let audit = browser.get("/console/p/imbabura/audit");
    assert!(audit.body.contains("enrol device Tablet 3 (facilitator)"));
    assert!(audit.body.contains("revoke device Tablet 3"));
}

#[test]
fn a_broken_xlsform_shows_its_mistakes_and_a_good_form_is_published_once() {
    let (hub, _ana) = hub_with_sara();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let forms = browser.get("/console/p/imbabura/forms");
    assert!(forms
        .body
        .contains("<td>safety_walk</td><td>2026-11-01</td>"));
    let csrf = forms.csrf();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../forms/tests/fixtures");
    let broken = std::fs::read(fixtures.join("mistakes.xlsx")).unwrap();
    let refused = browser.upload(
        "/console/p/imbabura/forms",
        &csrf,
        ("mistakes.xlsx", &broken),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let table = &refused.body[refused.body.find(r#"id="mistakes""#).expect("the mistakes")..];
    assert!(
        table.contains("<td>survey</td><td>3</td><td>A (type)</td>"),
        "{table}"
    );
    assert!(table.contains("<td>choices</td><td>4</td>"), "{table}");

    let mut form: serde_json::Value =
        serde_json::from_slice(&std::fs::read(common::fixture_form()).unwrap()).unwrap();
    form["version"] = "2026-12-01".into();
    let json = serde_json::to_vec(&form).unwrap();
    let published = browser.upload("/console/p/imbabura/forms", &csrf, ("walk.json", &json));
    assert_eq!(published.status, 303, "{}", published.body);
    let listed = browser.get("/console/p/imbabura/forms");
    assert!(listed
        .body
        .contains("<td>safety_walk</td><td>2026-12-01</td>"));
    let again = browser.upload("/console/p/imbabura/forms", &csrf, ("walk.json", &json));
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already published"));
    let forged = browser.upload(
        "/console/p/imbabura/forms",
        "not-the-token",
        ("walk.json", &json),
    );
    assert_eq!(forged.status, 403);
    let audit = browser.get("/console/p/imbabura/audit");
    assert!(audit
        .body
        .contains("publish form safety_walk version 2026-12-01"));
}

#[test]
fn a_form_uploaded_with_its_media_files_is_published_and_one_without_them_is_refused_naming_the_file(
) {
    let (hub, _ana) = hub_with_sara();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let csrf = browser.get("/console/p/imbabura/forms").csrf();
    let form = serde_json::json!({
        "id": "cantons", "version": "1", "title": {"default": "Cantons"},
        "default_language": null, "languages": [], "instance_name": null, "choices": {},
        "survey": [{"kind": "question", "name": "canton",
                    "type": {"base": "select_one_from_file", "list": "cantons.csv"}}],
    });
    let json = serde_json::to_vec(&form).unwrap();
    let refused = browser.upload("/console/p/imbabura/forms", &csrf, ("cantons.json", &json));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("cantons.csv"), "{}", refused.body);
    let csv = b"name,label\nquito,Quito\n";
    let published = browser.upload_with_media(
        "/console/p/imbabura/forms",
        &csrf,
        ("cantons.json", &json),
        &[("cantons.csv", csv)],
    );
    assert_eq!(published.status, 303, "{}", published.body);
    let forms = hub.storage.forms("imbabura").unwrap();
    let stored = forms.iter().find(|f| f.id == "cantons").unwrap();
    assert_eq!(stored.media.len(), 1);
    let content = hub
        .storage
        .attachment("imbabura", &stored.media[0].sha256)
        .unwrap();
    assert!(content.is_some_and(|row| row.complete && row.size == csv.len() as u64));
}

/// The files of a zip, by name, as text.
fn unzipped(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text).unwrap();
            (file.name().unwrap().to_string(), text)
        })
        .collect()
}

#[test]
fn the_export_downloads_as_one_zip_of_every_submission_or_the_approved_ones() {
    let (hub, ana) = hub_with_sara();
    let (rosa, _luisa) = (ana.fill("Rosa"), ana.fill("Luisa"));
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);
    let page = browser.get(&format!("/console/p/imbabura/submissions/{rosa}"));
    browser.post(
        &format!("/console/p/imbabura/submissions/{rosa}/review"),
        &[("csrf", &page.csrf()), ("state", "approved")],
    );
    let (status, kind, bytes) = browser.download("/console/p/imbabura/export/download?format=csv");
    assert_eq!((status, kind.as_str()), (200, "application/zip"));
    let csv: String = unzipped(&bytes)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".csv"))
        .map(|(_, text)| text)
        .collect();
    assert!(csv.contains("Rosa") && csv.contains("Luisa"), "{csv}");
    let (_, _, approved) =
        browser.download("/console/p/imbabura/export/download?format=json&approved=1");
    let json: String = unzipped(&approved).into_values().collect();
    assert!(json.contains("Rosa") && !json.contains("Luisa"), "{json}");
    let audit = browser.get("/console/p/imbabura/audit");
    assert!(audit.body.contains("export csv") && audit.body.contains("export json (approved)"));
    let stranger = Browser::new(&hub.running.url());
    let (refused, _, _) = stranger.download("/console/p/imbabura/export/download?format=csv");
    assert_eq!(refused, 303, "signed-in users only");
}

/// `len` bytes no compression shrinks, as a photo's are.
fn photo_bytes(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn a_photo_answered_on_the_phone_is_shown_on_the_submission_page_and_an_svg_only_downloads() {
    let (hub, ana) = hub_with_sara();
    let id = ana.fill("Rosa");
    let photo = photo_bytes(600_000);
    let sketch = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (name, bytes, media_type, file_name) in [
        ("photo", &photo[..], "image/jpeg", "street.jpg"),
        ("sketch", &sketch[..], "image/svg+xml", "map.svg"),
    ] {
        let attachment = ana
            .store
            .add_attachment(bytes, media_type, file_name)
            .unwrap();
        let value = Value::Attachment(attachment);
        ana.store
            .set_answer(&id, &AnswerPath::new(name), &value)
            .unwrap();
    }
    ana.sync();
    let browser = Browser::new(&hub.running.url());
    browser.sign_in("sara", PASSWORD);

    let page = browser.get(&format!("/console/p/imbabura/submissions/{id}"));
    let photo_hash = minga_core::ContentHash::of(&photo).to_hex();
    let photo_url = format!("/console/p/imbabura/media/{photo_hash}?type=image%2Fjpeg");
    assert!(
        page.body
            .contains(&format!(r#"<img class="thumbnail" src="{photo_url}""#)),
        "{}",
        page.body
    );
    assert!(page.policy.unwrap().contains("img-src 'self'"));
    let (status, media_type, bytes) = browser.download(&photo_url);
    assert_eq!((status, media_type.as_str()), (200, "image/jpeg"));
    assert!(bytes == photo, "the photo's bytes, whole");

    let sketch_hash = minga_core::ContentHash::of(sketch).to_hex();
    assert!(!page.body.contains(&format!(
        "<img class=\"thumbnail\" src=\"/console/p/imbabura/media/{sketch_hash}"
    )));
    let (status, media_type, bytes) = browser.download(&format!(
        "/console/p/imbabura/media/{sketch_hash}?type=image%2Fsvg%2Bxml"
    ));
    assert_eq!(
        (status, media_type.as_str()),
        (200, "application/octet-stream")
    );
    assert_eq!(bytes, sketch);

    let unknown = minga_core::ContentHash::of(b"never sent").to_hex();
    for path in [
        format!("/console/p/carchi/media/{photo_hash}?type=image%2Fjpeg"),
        format!("/console/p/imbabura/media/{unknown}?type=image%2Fjpeg"),
        "/console/p/imbabura/media/not-a-hash".to_string(),
    ] {
        assert_eq!(browser.download(&path).0, 404, "{path}");
    }
}
