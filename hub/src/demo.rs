//! `minga-hub demo`: the whole story on one machine. A hub on a free loopback port over a
//! temporary store; two facilitators and a supervisor enrolled with one-time codes; both built-in
//! forms filled offline; one submission edited on two devices; sync; a review that flags an
//! answer; sync again; a readable account; exports left in a named folder.

use crate::access::Role;
use crate::admin;
use crate::client::{self, sync_store};
use crate::error::{HubError, Result};
use crate::export::{export_project, CsvOptions, Format};
use crate::output::plural;
use crate::server::sync::review_of;
use crate::server::RunningHub;
use crate::storage::{HubStorage, SqliteStorage};
use chrono::NaiveDate;
use minga_core::{
    AnswerPath, Answers, Conflict, DeviceIdentity, DocId, Encryption, FormRef, GeoPoint, Review,
    ReviewState, Store, StoredFormSession, Value,
};
use minga_forms::eval::Context;
use minga_forms::{Form, Item, QuestionType};
use minga_sync::http::HttpTransport;
use minga_sync::{PeerId, SyncReport};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const PROJECT: &str = "imbabura-dialogues";

/// What the demo did, for its test.
pub struct DemoOutcome {
    pub exports: PathBuf,
    pub files: Vec<PathBuf>,
    /// The dialogue's answers on the facilitator's phone after the last sync.
    pub merged: Answers,
    /// Conflicts the supervisor sees on the dialogue.
    pub conflicts: Vec<Conflict>,
    /// The review as the facilitator's phone received it.
    pub review: Review,
    /// Whether the hub refused a facilitator's attempt to write a review.
    pub facilitator_review_refused: bool,
    /// Whether the supervisor's phone shows the dialogue edited after her verdict.
    pub edited_after_review: bool,
}

fn fail<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> HubError {
    move |e| HubError::Demo(format!("{what}: {e}"))
}

/// One enrolled device: a real phone store (the core, as an app holds it) that syncs with the
/// hub itself, over the core's HTTP transport with the device's token.
struct Device {
    name: String,
    _dir: tempfile::TempDir,
    phone: Store,
    transport: HttpTransport,
    peer: PeerId,
    hub: PeerId,
}

impl Device {
    fn enrol(
        hub: &RunningHub,
        storage: &dyn HubStorage,
        role: Role,
        name: &str,
        out: &mut dyn Write,
    ) -> Result<Device> {
        let issued = admin::enrol_device(storage, PROJECT, role, name)?;
        let enrolled =
            client::enrol(&hub.url(), &issued.code.to_string()).map_err(fail("enrolment"))?;
        let _ = writeln!(
            out,
            "  {name}'s phone ({role}) was enrolled with the one-time code {}.",
            issued.code
        );
        let dir = tempfile::tempdir().map_err(|e| HubError::io("a temporary folder", e))?;
        let phone = Store::open(
            dir.path().join("phone.sqlite3"),
            Encryption::PlainFile,
            DeviceIdentity::new(&enrolled.device_id, name),
        )
        .map_err(fail("phone store"))?;
        Ok(Device {
            name: name.into(),
            _dir: dir,
            phone,
            transport: client::phone_transport(&hub.url(), PROJECT, &enrolled.token)
                .map_err(fail("transport"))?,
            peer: PeerId::new(enrolled.device_id).map_err(fail("peer id"))?,
            hub: PeerId::new(enrolled.hub_id).map_err(fail("hub id"))?,
        })
    }

    /// One sync session of the phone's store with the hub.
    fn sync(&self, out: &mut dyn Write) -> Result<SyncReport> {
        let report = sync_store(&self.phone, &self.transport, &self.peer, &self.hub)
            .map_err(fail("sync"))?;
        let _ = writeln!(out, "  {}", sync_sentence(&self.name, &report));
        Ok(report)
    }

    /// A new submission of `form`, started as an app starts one: through a stored form session,
    /// which stores the form's defaults and the interview's own fields (`start`, `today`,
    /// `deviceid`, `username`), as ODK does, so that the exports have them.
    fn start(&self, form: &Form) -> Result<DocId> {
        let id = self
            .phone
            .create_submission(&FormRef::new(&form.id, &form.version))
            .map_err(fail("create"))?;
        let compiled = minga_forms::eval::compile(form)
            .map_err(|errors| HubError::Demo(format!("compile {}: {errors:?}", form.id)))?;
        let identity = self.phone.identity();
        let context = Context {
            language: None,
            now: chrono::Local::now().fixed_offset(),
            device_id: identity.device_id,
            user_name: identity.user_name,
        };
        StoredFormSession::start(&self.phone, id, Arc::new(compiled), context)
            .map_err(fail("start"))?;
        Ok(id)
    }

    fn set(&self, id: &DocId, name: &str, value: Value) -> Result<()> {
        self.phone
            .set_answer(id, &AnswerPath::new(name), &value)
            .map_err(fail("answer"))
    }
}

/// What one sync did, as a supervisor would say it: "Ana's phone sent 1 document to the hub
/// and received 2." (documents: submissions, forms and reviews alike).
fn sync_sentence(name: &str, report: &SyncReport) -> String {
    let mut parts = Vec::new();
    if report.sent > 0 {
        parts.push(format!(
            "sent {} to the hub",
            plural(report.sent, "document")
        ));
    }
    match report.received {
        0 => {}
        received if parts.is_empty() => parts.push(format!(
            "received {} from the hub",
            plural(received, "document")
        )),
        received => parts.push(format!("received {received}")),
    }
    let refused = report.refused.len();
    if refused > 0 {
        let which = if refused == 1 { "it" } else { "them" };
        parts.push(format!(
            "had {} turned down by the hub, which may not accept {which}",
            plural(refused, "document")
        ));
    }
    if parts.is_empty() {
        return format!("{name}'s phone had nothing new to send or receive.");
    }
    format!("{name}'s phone {}.", parts.join(" and "))
}

/// The choice list of question `name`, searching groups and repeats.
fn list_of<'a>(items: &'a [Item], name: &str) -> Option<&'a str> {
    items.iter().find_map(|item| match item {
        Item::Question(q) if q.name == name => match &q.kind {
            QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list) => {
                Some(list.as_str())
            }
            _ => None,
        },
        Item::Group(g) => list_of(&g.children, name),
        Item::Repeat(r) => list_of(&r.children, name),
        _ => None,
    })
}

/// The `n`th option of question `name`'s list (the demo answers with real option names).
fn option(form: &Form, name: &str, n: usize) -> Result<String> {
    list_of(&form.survey, name)
        .and_then(|list| form.choices.get(list))
        .and_then(|choices| choices.get(n))
        .map(|c| c.name.clone())
        .ok_or_else(|| HubError::Demo(format!("form {} has no option {n} for {name}", form.id)))
}

fn date(y: i32, m: u32, d: u32) -> Value {
    Value::Date(NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default())
}

fn fill_dialogue(ana: &Device, form: &Form) -> Result<DocId> {
    let id = ana.start(form)?;
    ana.set(&id, "dialogue_date", date(2026, 11, 20))?;
    ana.set(&id, "parish", Value::Text("San Pablo".into()))?;
    ana.set(
        &id,
        "convening_institution",
        Value::Text("GAD parroquial".into()),
    )?;
    ana.set(
        &id,
        "dialogue_type",
        Value::Choice(option(form, "dialogue_type", 0)?),
    )?;
    ana.set(
        &id,
        "concerns",
        Value::Choices([option(form, "concerns", 0)?, option(form, "concerns", 1)?].into()),
    )?;
    let participants = AnswerPath::new("participants");
    for (organisation, n) in [("Junta de agua", 0), ("Unidad educativa", 1)] {
        let instance = ana
            .phone
            .add_repeat_instance(&id, &participants, None)
            .map_err(fail("repeat"))?;
        let at = |name: &str| AnswerPath::new(name).inside("participants", instance.clone());
        let set = |name: &str, value: Value| {
            ana.phone
                .set_answer(&id, &at(name), &value)
                .map_err(fail("answer"))
        };
        set("organisation", Value::Text(organisation.into()))?;
        set("sector", Value::Choice(option(form, "sector", n)?))?;
        set("gender", Value::Choice(option(form, "gender", n)?))?;
    }
    ana.phone
        .set_long_text(
            &id,
            &AnswerPath::new("notes"),
            "Residents asked for street lighting.",
        )
        .map_err(fail("notes"))?;
    Ok(id)
}

fn fill_assessment(ben: &Device, form: &Form) -> Result<DocId> {
    let id = ben.start(form)?;
    ben.set(&id, "consent", Value::Choice(option(form, "consent", 0)?))?;
    ben.set(&id, "interview_date", date(2026, 11, 21))?;
    ben.set(&id, "respondent_age", Value::Integer(34))?;
    ben.set(
        &id,
        "respondent_gender",
        Value::Choice(option(form, "respondent_gender", 1)?),
    )?;
    ben.set(
        &id,
        "safety_night",
        Value::Choice(option(form, "safety_night", 3)?),
    )?;
    ben.set(
        &id,
        "incidents",
        Value::Choices([option(form, "incidents", 0)?].into()),
    )?;
    let here = GeoPoint {
        latitude: 0.1921,
        longitude: -78.1887,
        altitude: Some(2700.0),
        accuracy: Some(6.0),
    };
    ben.set(&id, "location", Value::GeoPoint(here))?;
    Ok(id)
}

fn describe(value: &Option<Value>) -> String {
    match value {
        Some(Value::Text(t)) | Some(Value::Choice(t)) => format!("{t:?}"),
        Some(other) => format!("{other:?}"),
        None => "(cleared)".into(),
    }
}

/// A verdict as a supervisor says it.
fn verdict(state: ReviewState) -> &'static str {
    match state {
        ReviewState::Received => "not judged yet",
        ReviewState::HasIssues => "it has issues",
        ReviewState::Approved => "approved",
        ReviewState::Rejected => "rejected",
    }
}

/// Runs the story, writing the account to `out`, and leaves the exports in `exports`.
pub fn run(exports: &Path, out: &mut dyn Write) -> Result<DemoOutcome> {
    let data = tempfile::tempdir().map_err(|e| HubError::io("a temporary folder", e))?;
    let storage = Arc::new(SqliteStorage::open(data.path())?);
    admin::create_project(
        storage.as_ref(),
        PROJECT,
        Some("Imbabura stakeholder dialogues"),
    )?;
    let dialogue = minga_forms::templates::stakeholder_dialogue();
    let assessment = minga_forms::templates::community_safety_assessment();
    for form in [&dialogue, &assessment] {
        storage.publish_form(PROJECT, form)?;
    }
    let hub = RunningHub::start(storage.clone(), "127.0.0.1:0")?;
    let _ = writeln!(
        out,
        "A hub is running at {} (its data in a temporary folder), with the project {PROJECT} and its two forms.",
        hub.url()
    );

    let _ = writeln!(out, "\n1. Enrolment with one-time codes");
    let ana = Device::enrol(&hub, storage.as_ref(), Role::Facilitator, "Ana", out)?;
    let ben = Device::enrol(&hub, storage.as_ref(), Role::Facilitator, "Ben", out)?;
    let sara = Device::enrol(&hub, storage.as_ref(), Role::Supervisor, "Sara", out)?;

    let _ = writeln!(
        out,
        "\n2. Offline in the field: Ana fills a stakeholder dialogue, Ben a community safety assessment"
    );
    let dialogue_id = fill_dialogue(&ana, &dialogue)?;
    let assessment_id = fill_assessment(&ben, &assessment)?;

    let _ = writeln!(
        out,
        "\n3. First sync (each facilitator receives only her own work; the supervisor everything)"
    );
    ana.sync(out)?;
    ben.sync(out)?;
    sara.sync(out)?;

    let _ = writeln!(out, "\n4. The dialogue changed on two phones while offline");
    ana.set(
        &dialogue_id,
        "parish",
        Value::Text("San Pablo del Lago".into()),
    )?;
    ana.phone
        .set_long_text(
            &dialogue_id,
            &AnswerPath::new("notes"),
            "Residents asked for street lighting. Next meeting at the school.",
        )
        .map_err(fail("notes"))?;
    sara.set(
        &dialogue_id,
        "parish",
        Value::Text("San Pablo de Lago".into()),
    )?;
    sara.set(
        &dialogue_id,
        "convening_institution",
        Value::Text("Tenencia Política de San Pablo".into()),
    )?;
    let _ = writeln!(
        out,
        "  Ana writes the parish as \"San Pablo del Lago\" and adds a sentence to the notes."
    );
    let _ = writeln!(out, "  Sara writes the parish as \"San Pablo de Lago\" and the convening institution as \"Tenencia Política de San Pablo\".");
    ana.sync(out)?;
    sara.sync(out)?;
    ana.sync(out)?;
    let merged = ana.phone.answers(&dialogue_id).map_err(fail("answers"))?;
    let _ = writeln!(
        out,
        "  Both changes reached Ana's phone: the convening institution is now {}.",
        describe(&merged.value("convening_institution").cloned())
    );
    let conflicts = sara
        .phone
        .conflicts(&dialogue_id)
        .map_err(fail("conflicts"))?;
    for conflict in &conflicts {
        let values: Vec<String> = conflict.values.iter().map(|v| describe(&v.value)).collect();
        let _ = writeln!(
            out,
            "  Both changed \"{}\", so the supervisor must choose between {}.",
            conflict.path,
            values.join(" and ")
        );
    }

    let _ = writeln!(out, "\n5. Review");
    ben.phone
        .set_review_state(&assessment_id, ReviewState::Approved)
        .map_err(fail("review"))?;
    let ben_report = ben.sync(out)?;
    let ben_review = review_of(&assessment_id.to_string()).unwrap_or_default();
    let facilitator_review_refused =
        ben_report.refused.len() == 1 && storage.document_header(PROJECT, &ben_review)?.is_none();
    let _ =
        writeln!(
        out,
        "  Ben tried to approve his own assessment; the hub refused{}, as only supervisors review.",
        if facilitator_review_refused { "" } else { " nothing" }
    );
    sara.phone
        .set_review_state(&dialogue_id, ReviewState::HasIssues)
        .map_err(fail("review"))?;
    sara.phone
        .add_review_comment(
            &dialogue_id,
            "Two spellings of the parish; confirm with the convener.",
            Some("parish"),
        )
        .map_err(fail("review"))?;
    sara.sync(out)?;
    ana.sync(out)?;
    let review = ana
        .phone
        .review(&dialogue_id)
        .map_err(fail("review"))?
        .ok_or_else(|| HubError::Demo("Ana did not receive the review".into()))?;
    let _ = writeln!(
        out,
        "  Ana received {}'s review of her dialogue: {}.",
        review.decided_by.as_deref().unwrap_or("the supervisor"),
        verdict(review.state)
    );
    for c in &review.comments {
        let on = c
            .question
            .as_deref()
            .map_or("the whole dialogue".to_string(), |q| format!("\"{q}\""));
        let _ = writeln!(out, "    {}'s comment on {on}: {}", c.by, c.text);
    }
    ana.set(
        &dialogue_id,
        "parish",
        Value::Text("San Pablo del Lago".into()),
    )?;
    ana.sync(out)?;
    sara.sync(out)?;
    let edited_after_review = sara
        .phone
        .review(&dialogue_id)
        .map_err(fail("review"))?
        .is_some_and(|review| review.edited_since_judged);
    let _ = writeln!(
        out,
        "  Ana settled the parish as \"San Pablo del Lago\"; Sara's phone shows the dialogue {} since her verdict.",
        if edited_after_review { "changed" } else { "unchanged" }
    );

    let _ = writeln!(out, "\n6. Exports for analysis");
    let mut files = Vec::new();
    for format in [Format::Csv, Format::GeoJson, Format::Json] {
        files.extend(
            export_project(
                storage.as_ref(),
                PROJECT,
                format,
                &CsvOptions::default(),
                exports,
                &|_, _| {},
            )?
            .files,
        );
    }
    for file in &files {
        let _ = writeln!(out, "  {}", file.display());
    }
    hub.stop()?;
    let _ = writeln!(
        out,
        "\nThe hub stopped; the exports are in {}.",
        exports.display()
    );
    Ok(DemoOutcome {
        exports: exports.to_path_buf(),
        files,
        merged,
        conflicts,
        review,
        facilitator_review_refused,
        edited_after_review,
    })
}
