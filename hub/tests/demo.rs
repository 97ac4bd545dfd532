//! The demo story end to end through a real hub on loopback, with assertions on the merged
//! answers, the conflict, the review and the exports. The phones are core stores syncing with
//! the hub over the core's HTTP transport; the reviews are written with the core's review calls.

use minga_core::{ReviewState, Value};

#[test]
fn the_demo_story_merges_conflicts_reviews_and_exports() {
    let exports = tempfile::tempdir().unwrap();
    let mut account = Vec::new();
    let outcome = minga_hub::demo::run(exports.path(), &mut account).unwrap();
    let account = String::from_utf8(account).unwrap();

    let text = |name: &str| outcome.merged.value(name).cloned();
    assert_eq!(
        text("convening_institution"),
        Some(Value::Text("Tenencia Política de San Pablo".into())),
        "Sara's edit merged"
    );
    assert_eq!(outcome.conflicts.len(), 1, "{account}");
    assert_eq!(outcome.conflicts[0].path.name, "parish");
    let values: Vec<_> = outcome.conflicts[0]
        .values
        .iter()
        .map(|v| v.value.clone())
        .collect();
    assert!(values.contains(&Some(Value::Text("San Pablo del Lago".into()))));
    assert!(values.contains(&Some(Value::Text("San Pablo de Lago".into()))));

    assert!(outcome.facilitator_review_refused, "{account}");
    let review = &outcome.review;
    assert_eq!(review.state, ReviewState::HasIssues, "{account}");
    assert_eq!(review.decided_by.as_deref(), Some("Sara"));
    assert_eq!(review.comments.len(), 1, "{account}");
    assert_eq!(review.comments[0].question.as_deref(), Some("parish"));
    assert_eq!(review.comments[0].by, "Sara");
    assert!(!review.judged_heads.is_empty());
    assert!(
        outcome.edited_after_review,
        "Ana's correction shows as an edit after the verdict"
    );

    let csv =
        std::fs::read_to_string(exports.path().join("minga_stakeholder_dialogue.csv")).unwrap();
    let (header, row) = csv.split_once("\r\n").unwrap();
    let column = |name: &str| {
        header
            .split(',')
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let cells: Vec<&str> = row.trim_end().split(',').collect();
    assert_eq!(cells[column("ReviewState")], "has_issues");
    assert_eq!(cells[column("dialogue_date")], "2026-11-20");
    // The interview's own fields, stored when the phone started the submission (`end` waits
    // for its completion, as in ODK).
    for name in ["start", "today", "deviceid", "username"] {
        assert!(!cells[column(name)].is_empty(), "{name} is empty: {row}");
    }
    assert_eq!(cells[column("username")], "Ana");
    assert!(cells[column("end")].is_empty(), "a draft has no end yet");
    let participants = std::fs::read_to_string(
        exports
            .path()
            .join("minga_stakeholder_dialogue-participants.csv"),
    )
    .unwrap();
    assert_eq!(participants.lines().count(), 3, "{participants}");
    assert!(participants.contains("/participants[2]"));
    let geojson: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            exports
                .path()
                .join("minga_community_safety_assessment.geojson"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        geojson["features"][0]["geometry"]["coordinates"][0],
        -78.1887
    );
    assert!(account.contains("exports are in"));
    // Written for a supervisor: sentences, not the protocol's counters.
    for jargon in ["(s)", "head", "round trip", "bytes", "refusal", "token"] {
        assert!(!account.contains(jargon), "`{jargon}` in {account}");
    }
    assert!(
        account.contains("Ana's phone sent 1 document to the hub"),
        "{account}"
    );
    assert!(
        account.contains("Ana received Sara's review of her dialogue: it has issues."),
        "{account}"
    );
    assert!(
        account.contains(
            "Ben's phone had 1 document turned down by the hub, which may not accept it."
        ),
        "{account}"
    );
}
