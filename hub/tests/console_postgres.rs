//! The console over a PostgreSQL hub: signing in, a review and a settled conflict written from
//! the console reach the phones, as on SQLite (`console.rs`). Needs MINGA_TEST_POSTGRES_URL
//! (scripts/test sets it); skipped, saying so, without.

mod common;

use common::browser::Browser;
use common::{fixture_form, SyncingPhone as Phone};
use minga_core::{AnswerPath, ReviewState, Value};
use minga_hub::access::Role;
use minga_hub::admin;
use minga_hub::console::users::{add_user, Password};
use minga_hub::server::RunningHub;
use minga_hub::storage::postgres::testing::TestDatabase;
use minga_hub::storage::HubStorage;
use std::sync::Arc;

const PASSWORD: &str = "a long enough password";

#[test]
fn on_postgresql_the_consoles_review_and_settling_reach_both_phones() {
    let Some(database) = TestDatabase::for_test("console_on_postgresql") else {
        return;
    };
    let storage: Arc<dyn HubStorage> = Arc::new(database.open().unwrap());
    admin::create_project(storage.as_ref(), "imbabura", None).unwrap();
    admin::publish_form(storage.as_ref(), "imbabura", fixture_form()).unwrap();
    let password = Password::Given(PASSWORD.into());
    add_user(storage.as_ref(), "sara", &["imbabura".into()], &password).unwrap();
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0").unwrap();
    let base = hub.url();
    let ana = Phone::enrol(storage.as_ref(), &base, "imbabura", "Ana");
    let office = Phone::enrol_as(
        storage.as_ref(),
        &base,
        "imbabura",
        "Oficina",
        Role::Supervisor,
    );
    let id = ana.fill("Rosa");
    ana.sync();
    office.sync();
    let respondent = AnswerPath::new("respondent");
    for (phone, text) in [(&ana, "Rosa Pérez"), (&office, "Rosa Perez")] {
        let value = Value::Text(text.into());
        phone.store.set_answer(&id, &respondent, &value).unwrap();
        phone.sync();
    }

    let browser = Browser::new(&base);
    assert_eq!(browser.sign_in("sara", PASSWORD).status, 303);
    let path = format!("/console/p/imbabura/submissions/{id}");
    let page = browser.get(&path);
    let row_at = page
        .body
        .find("<td>Rosa Pérez</td>")
        .expect("the conflict shown");
    let field = r#"name="actor" value=""#;
    let start = page.body[row_at..].find(field).unwrap() + row_at + field.len();
    let actor = &page.body[start..start + page.body[start..].find('"').unwrap()];
    let csrf = page.csrf();
    let settle = [
        ("csrf", csrf.as_str()),
        ("path", "respondent"),
        ("actor", actor),
    ];
    assert_eq!(browser.post(&format!("{path}/settle"), &settle).status, 303);
    let review = [("csrf", csrf.as_str()), ("state", "approved")];
    assert_eq!(browser.post(&format!("{path}/review"), &review).status, 303);

    for phone in [&ana, &office] {
        phone.sync();
        let values = phone.store.answer_values(&id, &respondent).unwrap();
        let kept: Vec<Option<Value>> = values.into_iter().map(|v| v.value).collect();
        assert_eq!(kept, [Some(Value::Text("Rosa Pérez".into()))]);
    }
    let verdict = ana
        .store
        .review(&id)
        .unwrap()
        .expect("the review reached her");
    assert_eq!(verdict.state, ReviewState::Approved);
    let audit = storage.audit_log(Some("imbabura"), None, 10).unwrap();
    let actions: Vec<&str> = audit.iter().map(|r| r.entry.action.as_str()).collect();
    assert!(
        actions.contains(&"approve") && actions.contains(&"settle respondent"),
        "{actions:?}"
    );
    hub.stop().unwrap();
}
