//! The storage contract of the console's tables (users, sessions, sign-in failures, audit log):
//! bodies over `&dyn HubStorage`, run on each backend by [`console_contract_tests!`].

use crate::error::HubError;
use crate::storage::console::{AuditEntry, ConsoleSession, NewConsoleUser, COMMAND_LINE};
use crate::storage::contract::projection::Phone;
use crate::storage::{HubStorage, SubmissionQuery};
use chrono::{Duration, Utc};

/// One `#[test]` per console contract body, as `contract_tests!` does for the rest.
macro_rules! console_contract_tests {
    ($open:expr) => {
        $crate::storage::contract::contract_tests!(@each $open;
            console_users_are_unique_and_supervise_only_known_projects,
            a_new_password_ends_every_session_of_its_user,
            a_session_is_found_until_it_expires_or_ends,
            sign_in_failures_count_per_account_and_address_until_cleared,
            the_audit_log_of_a_project_holds_its_entries_and_its_supervisors_sign_ins,
            the_console_filters_by_device_time_and_text_and_pages_both_ways,
        );
    };
}
pub(crate) use console_contract_tests;

pub fn user(name: &str, projects: &[&str]) -> NewConsoleUser {
    NewConsoleUser {
        name: name.into(),
        projects: projects.iter().map(|p| p.to_string()).collect(),
        password_hash: format!("hash-of-{name}"),
        actor: "00112233".into(),
    }
}

fn session(token: &str, user: &str, lasts: Duration) -> ConsoleSession {
    let now = Utc::now();
    ConsoleSession {
        token_hash: token.into(),
        user: user.into(),
        csrf_secret: format!("csrf-{token}"),
        created_at: now,
        expires_at: now + lasts,
    }
}

pub fn console_users_are_unique_and_supervise_only_known_projects(storage: &dyn HubStorage) {
    storage.create_project("q", "Q").unwrap();
    storage
        .create_console_user(&user("ana", &["p", "q"]))
        .unwrap();
    assert!(matches!(
        storage.create_console_user(&user("ana", &["p"])),
        Err(HubError::DuplicateConsoleUser(name)) if name == "ana"
    ));
    assert!(matches!(
        storage.create_console_user(&user("ben", &["p", "nowhere"])),
        Err(HubError::UnknownProject(project)) if project == "nowhere"
    ));
    assert_eq!(storage.console_user("ben").unwrap(), None, "nothing stored");
    let ana = storage.console_user("ana").unwrap().unwrap();
    assert_eq!(ana.projects, ["p", "q"]);
    assert_eq!(ana.password_hash, "hash-of-ana");
    storage.create_console_user(&user("ben", &["q"])).unwrap();
    let names: Vec<String> = storage
        .console_users()
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["ana", "ben"]);
}

pub fn a_new_password_ends_every_session_of_its_user(storage: &dyn HubStorage) {
    storage.create_console_user(&user("ana", &["p"])).unwrap();
    storage.create_console_user(&user("ben", &["p"])).unwrap();
    for (token, who) in [("t1", "ana"), ("t2", "ana"), ("t3", "ben")] {
        storage
            .create_console_session(&session(token, who, Duration::hours(1)))
            .unwrap();
    }
    storage.set_console_password("ana", "new-hash").unwrap();
    let now = Utc::now();
    assert_eq!(storage.console_session("t1", now).unwrap(), None);
    assert_eq!(storage.console_session("t2", now).unwrap(), None);
    assert!(storage.console_session("t3", now).unwrap().is_some());
    let ana = storage.console_user("ana").unwrap().unwrap();
    assert_eq!(ana.password_hash, "new-hash");
    assert!(matches!(
        storage.set_console_password("ghost", "x"),
        Err(HubError::UnknownConsoleUser(name)) if name == "ghost"
    ));
}

pub fn a_session_is_found_until_it_expires_or_ends(storage: &dyn HubStorage) {
    storage.create_console_user(&user("ana", &["p"])).unwrap();
    let live = session("live", "ana", Duration::hours(1));
    storage.create_console_session(&live).unwrap();
    let found = storage
        .console_session("live", Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.user.as_str(), found.csrf_secret.as_str()),
        ("ana", "csrf-live")
    );
    assert_eq!(
        storage
            .console_session("live", live.expires_at + Duration::seconds(1))
            .unwrap(),
        None,
        "expired"
    );
    storage
        .create_console_session(&session("old", "ana", Duration::seconds(-1)))
        .unwrap();
    assert_eq!(storage.console_session("old", Utc::now()).unwrap(), None);
    storage.end_console_session("live").unwrap();
    storage.end_console_session("live").unwrap();
    assert_eq!(storage.console_session("live", Utc::now()).unwrap(), None);
}

pub fn sign_in_failures_count_per_account_and_address_until_cleared(storage: &dyn HubStorage) {
    let at = Utc::now();
    assert_eq!(storage.signin_failures("ana", "10.0.0.1").unwrap(), None);
    for expected in 1..=3 {
        let counted = storage
            .record_signin_failure("ana", "10.0.0.1", at)
            .unwrap();
        assert_eq!(counted.failures, expected);
    }
    storage
        .record_signin_failure("ana", "10.0.0.2", at)
        .unwrap();
    let kept = storage.signin_failures("ana", "10.0.0.1").unwrap().unwrap();
    assert_eq!(kept.failures, 3);
    assert_eq!(
        kept.last_failure_at.timestamp_micros(),
        at.timestamp_micros()
    );
    storage.clear_signin_failures("ana", "10.0.0.1").unwrap();
    assert_eq!(storage.signin_failures("ana", "10.0.0.1").unwrap(), None);
    assert_eq!(
        storage
            .signin_failures("ana", "10.0.0.2")
            .unwrap()
            .map(|f| f.failures),
        Some(1),
        "another address keeps its own count"
    );
}

fn entry(who: &str, action: &str, project: Option<&str>) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        who: who.into(),
        action: action.into(),
        project: project.map(String::from),
        subject: Some("s".into()),
        address: Some("127.0.0.1".into()),
    }
}

pub fn the_audit_log_of_a_project_holds_its_entries_and_its_supervisors_sign_ins(
    storage: &dyn HubStorage,
) {
    storage.create_project("q", "Q").unwrap();
    storage.create_console_user(&user("ana", &["p"])).unwrap();
    storage.create_console_user(&user("ben", &["q"])).unwrap();
    let entries = [
        entry(COMMAND_LINE, "user add", Some("p")),
        entry("ana", "sign-in", None),
        entry("ben", "sign-in", None),
        entry("ana", "approve", Some("p")),
        entry("ben", "approve", Some("q")),
    ];
    for e in &entries {
        storage.record_audit(e).unwrap();
    }
    let of_p = storage.audit_log(Some("p"), None, 10).unwrap();
    let actions: Vec<(&str, &str)> = of_p
        .iter()
        .map(|r| (r.entry.who.as_str(), r.entry.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("ana", "approve"),
            ("ana", "sign-in"),
            (COMMAND_LINE, "user add")
        ]
    );
    assert_eq!(of_p[0].entry.address.as_deref(), Some("127.0.0.1"));
    let older = storage.audit_log(Some("p"), Some(of_p[0].id), 1).unwrap();
    assert_eq!(older[0].id, of_p[1].id, "the next page starts below");
    assert_eq!(storage.audit_log(None, None, 100).unwrap().len(), 5);
}

/// The filters the console's table adds to the command line's: the device that sent it, a time
/// range of the last change, text in the instance name or submitter, and the oldest first.
pub fn the_console_filters_by_device_time_and_text_and_pages_both_ways(storage: &dyn HubStorage) {
    let (ana, ben) = (Phone::new("dev-a", "Ana"), Phone::new("dev-b", "Ben"));
    let mut sent = Vec::new();
    for (phone, device, name) in [
        (&ana, "dev-a", "Casa 100%"),
        (&ben, "dev-b", "Escuela"),
        (&ana, "dev-a", "Mercado"),
    ] {
        let id = phone.fill("safety", name);
        let write = crate::storage::DocumentWrite {
            author: Some(device.into()),
            ..phone.write(&id)
        };
        storage.write_documents("p", &[write], None).unwrap();
        sent.push(id.to_string());
    }
    let page = |query: SubmissionQuery| -> Vec<String> {
        let query = SubmissionQuery { limit: 10, ..query };
        let rows = storage.submissions("p", &query).unwrap();
        rows.into_iter().map(|r| r.id).collect()
    };
    let by_ana = page(SubmissionQuery {
        author: Some("dev-a".into()),
        ..Default::default()
    });
    assert_eq!(by_ana, [sent[2].clone(), sent[0].clone()]);
    let oldest = page(SubmissionQuery {
        oldest_first: true,
        ..Default::default()
    });
    assert_eq!(oldest, sent);
    let after_first = page(SubmissionQuery {
        oldest_first: true,
        after: Some((
            storage
                .submission_row("p", &sent[0])
                .unwrap()
                .unwrap()
                .updated_at,
            sent[0].clone(),
        )),
        ..Default::default()
    });
    assert_eq!(after_first, sent[1..]);
    let text = |text: &str| {
        page(SubmissionQuery {
            text: Some(text.into()),
            ..Default::default()
        })
    };
    assert_eq!(text("ESCUELA"), [sent[1].clone()], "any case");
    assert_eq!(text("ben"), [sent[1].clone()], "the submitter too");
    assert_eq!(
        text("0%"),
        [sent[0].clone()],
        "% is a character, not a wildcard"
    );
    assert!(text("_").is_empty(), "_ is a character too");
    let second = storage.submission_row("p", &sent[1]).unwrap().unwrap();
    let window = page(SubmissionQuery {
        updated_from: Some(second.updated_at),
        updated_before: Some(second.updated_at + Duration::microseconds(1)),
        ..Default::default()
    });
    assert_eq!(window, [sent[1].clone()]);
}
