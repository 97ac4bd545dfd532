//! A day in the field, end to end: Ana fills a dialogue record offline on her phone, Luis
//! corrects it on his tablet, the two copies merge, and the store shows the answers, the
//! conflict and the history. Run: `cargo run --release -p minga-core --example field_day`.

use minga_core::{
    Answer, AnswerPath, Answers, DeviceIdentity, Encryption, FormRef, GeoPoint, Status, Store,
    StoreKey, Value,
};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    // A real app takes this key from the Android Keystore or the iOS Keychain.
    let key = |seed| Encryption::Key(StoreKey::new([seed; 32]));
    let phone = Store::open(
        dir.path().join("phone.db"),
        key(7),
        DeviceIdentity::new("phone-7f3a", "ana"),
    )?;
    let tablet = Store::open(
        dir.path().join("tablet.db"),
        key(9),
        DeviceIdentity::new("tablet-02", "luis"),
    )?;

    let form = FormRef::new("stakeholder_dialogue", "2026-03");
    let id = phone.create_submission(&form)?;
    let at = AnswerPath::new;
    phone.set_answer(&id, &at("parish"), &Value::Text("Tumbaco".into()))?;
    phone.set_answer(
        &id,
        &at("meeting_date"),
        &Value::Date("2026-03-14".parse()?),
    )?;
    phone.set_answer(&id, &at("attendees"), &Value::Integer(38))?;
    phone.set_answer(
        &id,
        &at("location"),
        &Value::GeoPoint(GeoPoint {
            latitude: -0.2105,
            longitude: -78.4036,
            altitude: Some(2355.0),
            accuracy: Some(4.0),
        }),
    )?;
    phone.set_answer(
        &id,
        &at("concerns"),
        &Value::Choices(["street_lighting".into(), "extortion".into()].into()),
    )?;
    let participants = at("participants");
    let rosa = phone.add_repeat_instance(&id, &participants, None)?;
    phone.set_answer(
        &id,
        &at("role").inside("participants", &rosa),
        &Value::Choice("community_leader".into()),
    )?;
    phone.set_long_text(
        &id,
        &at("notes"),
        "Neighbours asked for patrols after 9 pm.",
    )?;
    phone.set_instance_name(&id, Some("Tumbaco, 14 March"))?;
    phone.set_status(&id, Status::Complete)?;

    // The phone hands the submission over (a file, here); both edit before they meet again.
    tablet.import_submission(&phone.export_submission(&id)?)?;
    phone.set_answer(&id, &at("attendees"), &Value::Integer(40))?;
    tablet.set_answer(&id, &at("attendees"), &Value::Integer(42))?;
    tablet.set_answer(
        &id,
        &at("concerns"),
        &Value::Choices(
            [
                "street_lighting".into(),
                "extortion".into(),
                "youth_recruitment".into(),
            ]
            .into(),
        ),
    )?;
    phone.import_submission(&tablet.export_submission(&id)?)?;

    let submission = phone.submission(&id)?;
    println!(
        "Submission {id} ({} v{}), {:?}",
        submission.meta.form.form_id, submission.meta.form.form_version, submission.status
    );
    println!("\nAnswers after the merge:");
    print_answers(&submission.answers, "  ");

    println!("\nConflicts:");
    for conflict in phone.conflicts(&id)? {
        println!("  {}:", conflict.path);
        for value in conflict.values {
            let who = value
                .author
                .map(|a| format!("{} on {}", a.user_name, a.device_id))
                .unwrap_or_else(|| "unknown".into());
            println!(
                "    {:?} by {who}{}",
                value.value,
                if value.shown { " (shown)" } else { "" }
            );
        }
    }

    println!("\nHistory:");
    for entry in phone.history(&id)? {
        let who = entry
            .author
            .map(|a| format!("{} on {}", a.user_name, a.device_id))
            .unwrap_or_else(|| "unknown".into());
        let what = [entry.answers, entry.fields].concat().join(", ");
        println!(
            "  {} {} {who}: {what}",
            entry.time.format("%Y-%m-%d %H:%M:%S"),
            &entry.hash[..8]
        );
    }

    let page = phone.list_submissions(&Default::default(), None, 20)?;
    println!(
        "\nList: {} submission(s); first: {:?}, at {:?}",
        page.items.len(),
        page.items[0].instance_name,
        page.items[0].location
    );
    Ok(())
}

fn print_answers(answers: &Answers, indent: &str) {
    for (name, answer) in &answers.fields {
        match answer {
            Answer::Value(value) => println!("{indent}{name}: {}", describe(value)),
            Answer::Repeat(instances) => {
                for (n, instance) in instances.iter().enumerate() {
                    println!("{indent}{name} #{} (id {}):", n + 1, instance.id);
                    print_answers(&instance.answers, &format!("{indent}    "));
                }
            }
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Text(text) | Value::Choice(text) => format!("{text:?}"),
        Value::Integer(n) => n.to_string(),
        Value::Decimal(n) => n.to_string(),
        Value::Choices(options) => options.iter().cloned().collect::<Vec<_>>().join(", "),
        Value::Date(date) => date.to_string(),
        Value::Time(time) => time.to_string(),
        Value::DateTime(moment) => moment.to_rfc3339(),
        Value::GeoPoint(p) => format!(
            "{}, {} (±{} m)",
            p.latitude,
            p.longitude,
            p.accuracy.unwrap_or(f64::NAN)
        ),
        Value::Attachment(file) => format!("{} ({})", file.file_name, file.media_type),
    }
}
