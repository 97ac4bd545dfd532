//! `minga-hub demo`: the whole story on one machine. A hub on a free loopback port over a
//! temporary store; two facilitators and a supervisor enrolled with one-time codes; both built-in
//! forms filled offline; one submission edited on two devices; sync; a review that flags an
//! answer; sync again; a readable account; exports left in a named folder.

use crate::access::Role;
use crate::admin;
use crate::client::{self, HubConnection};
use crate::error::{HubError, Result};
use crate::export::{CsvOptions, Format};
use crate::review::{read_review, write_review, Comment, Review, ReviewState};
use crate::server::sync::review_id;
use crate::server::RunningHub;
use crate::storage::{HubStorage, SqliteStorage};
use chrono::NaiveDate;
use minga_core::{
    AnswerPath, Answers, Conflict, DeviceIdentity, DocId, Encryption, FormRef, GeoPoint, Store,
    Value,
};
use minga_forms::{Form, Item, QuestionType};
use minga_sync::{Commit, DocKind, DocumentStore, IncomingDoc, MemoryStore, PeerId, SyncReport};
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
    /// The review as the facilitator received it.
    pub review: Review,
    /// Whether the hub refused a facilitator's attempt to write a review.
    pub facilitator_review_refused: bool,
}

fn fail<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> HubError {
    move |e| HubError::Demo(format!("{what}: {e}"))
}

/// One enrolled device: its phone store (the core) and its sync store, bridged by whole
/// documents, and its connection to the hub.
struct Device {
    name: String,
    _dir: tempfile::TempDir,
    phone: Store,
    sync_store: MemoryStore,
    connection: HubConnection,
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
            "  {name} ({role}) typed code {} and got a token (device {})",
            issued.code,
            short(&enrolled.device_id)
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
            sync_store: MemoryStore::new(),
            connection: HubConnection::new(&hub.url(), PROJECT, &enrolled.token),
            peer: PeerId::new(enrolled.device_id).map_err(fail("peer id"))?,
            hub: PeerId::new(enrolled.hub_id).map_err(fail("hub id"))?,
        })
    }

    fn keep(&self, id: &str, kind: DocKind, bytes: Vec<u8>) -> Result<()> {
        let mut commit = Commit::new(self.peer.clone());
        commit.docs.push(IncomingDoc {
            id: minga_sync::DocId::new(id).map_err(fail("doc id"))?,
            kind,
            changes: bytes,
            loaded: None,
        });
        self.sync_store
            .commit(commit)
            .map_err(fail("device store"))?;
        Ok(())
    }

    /// Hands the phone's latest copy of a submission to the sync store.
    fn share(&self, id: &DocId) -> Result<()> {
        self.keep(
            &id.to_string(),
            DocKind::Submission,
            self.phone.export_submission(id).map_err(fail("export"))?,
        )
    }

    /// Syncs with the hub, then brings every received submission into the phone.
    fn sync(&self, out: &mut dyn Write) -> Result<SyncReport> {
        let report = self
            .connection
            .sync(&self.sync_store, &self.peer, &self.hub)
            .map_err(fail("sync"))?;
        for id in self.sync_store.ids() {
            if let (Ok(Some((DocKind::Submission, _))), Some(doc)) =
                (self.sync_store.doc_heads(&id), self.sync_store.get(&id))
            {
                self.phone
                    .import_submission(&doc.save())
                    .map_err(fail("import"))?;
            }
        }
        let _ = writeln!(
            out,
            "  {} synced: sent {}, received {}, refused {}, {} round trip(s), {} bytes",
            self.name,
            report.sent,
            report.received,
            report.refused.len(),
            report.round_trips,
            report.bytes_sent + report.bytes_received
        );
        Ok(report)
    }

    fn set(&self, id: &DocId, name: &str, value: Value) -> Result<()> {
        self.phone
            .set_answer(id, &AnswerPath::new(name), &value)
            .map_err(fail("answer"))
    }
}

fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(8)..]
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
    let id = ana
        .phone
        .create_submission(&FormRef::new(&form.id, &form.version))
        .map_err(fail("create"))?;
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
    let id = ben
        .phone
        .create_submission(&FormRef::new(&form.id, &form.version))
        .map_err(fail("create"))?;
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
        "Hub listening on {} (store in {}); project {PROJECT} with both built-in forms.",
        hub.url(),
        data.path().display()
    );

    let _ = writeln!(out, "\n1. Enrolment with one-time codes");
    let ana = Device::enrol(&hub, storage.as_ref(), Role::Facilitator, "Ana", out)?;
    let ben = Device::enrol(&hub, storage.as_ref(), Role::Facilitator, "Ben", out)?;
    let sara = Device::enrol(&hub, storage.as_ref(), Role::Supervisor, "Sara", out)?;

    let _ = writeln!(
        out,
        "\n2. Filled offline: Ana a stakeholder dialogue, Ben a community safety assessment"
    );
    let dialogue_id = fill_dialogue(&ana, &dialogue)?;
    let assessment_id = fill_assessment(&ben, &assessment)?;
    ana.share(&dialogue_id)?;
    ben.share(&assessment_id)?;

    let _ = writeln!(
        out,
        "\n3. First sync (each facilitator receives only its own work; the supervisor everything)"
    );
    ana.sync(out)?;
    ben.sync(out)?;
    sara.sync(out)?;

    let _ = writeln!(out, "\n4. The dialogue edited on two devices while offline");
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
        "  Ana: parish = \"San Pablo del Lago\", adds a sentence to the notes"
    );
    let _ = writeln!(out, "  Sara: parish = \"San Pablo de Lago\", convening institution = \"Tenencia Política de San Pablo\"");
    ana.share(&dialogue_id)?;
    sara.share(&dialogue_id)?;
    ana.sync(out)?;
    sara.sync(out)?;
    ana.sync(out)?;
    let merged = ana.phone.answers(&dialogue_id).map_err(fail("answers"))?;
    let _ = writeln!(
        out,
        "  Merged on Ana's phone: convening institution = {}",
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
            "  Conflict for the supervisor to settle: {} has {}",
            conflict.path,
            values.join(" and ")
        );
    }

    let _ = writeln!(out, "\n5. Review");
    let ben_review = review_id(&assessment_id.to_string());
    let approve_own = write_review(ReviewState::Approved, &[], &[]).map_err(fail("review"))?;
    ben.keep(&ben_review, DocKind::Review, approve_own)?;
    let ben_report = ben.sync(out)?;
    let facilitator_review_refused =
        ben_report.refused.len() == 1 && storage.document_header(PROJECT, &ben_review)?.is_none();
    let _ = writeln!(
        out,
        "  Ben tried to approve his own assessment: the hub refused it ({} refusal)",
        ben_report.refused.len()
    );
    let judged: Vec<String> = storage
        .document_header(PROJECT, &dialogue_id.to_string())?
        .map(|h| h.heads)
        .unwrap_or_default();
    let comment = Comment {
        question: Some("parish".into()),
        text: "Two spellings of the parish; confirm with the convener.".into(),
        by: sara.name.clone(),
    };
    let review_doc = review_id(&dialogue_id.to_string());
    sara.keep(
        &review_doc,
        DocKind::Review,
        write_review(ReviewState::HasIssues, &judged, &[comment]).map_err(fail("review"))?,
    )?;
    sara.sync(out)?;
    ana.sync(out)?;
    let received = ana
        .sync_store
        .get(&minga_sync::DocId::new(&review_doc).map_err(fail("doc id"))?)
        .and_then(|doc| read_review(&doc.save()))
        .ok_or_else(|| HubError::Demo("Ana did not receive the review".into()))?;
    let _ = writeln!(
        out,
        "  Ana received the review: state {}, judging {} head(s)",
        received.state,
        received.judged_heads.len()
    );
    for c in &received.comments {
        let _ = writeln!(
            out,
            "    {} on {}: {}",
            c.by,
            c.question.as_deref().unwrap_or("the submission"),
            c.text
        );
    }

    let _ = writeln!(out, "\n6. Exports");
    let mut files = Vec::new();
    for format in [Format::Csv, Format::GeoJson, Format::Json] {
        files.extend(admin::export_project(
            storage.as_ref(),
            PROJECT,
            format,
            &CsvOptions::default(),
            exports,
            &|_, _| {},
        )?);
    }
    for file in &files {
        let _ = writeln!(out, "  {}", file.display());
    }
    hub.stop()?;
    let _ = writeln!(
        out,
        "\nThe hub stopped; the exports are in {}",
        exports.display()
    );
    Ok(DemoOutcome {
        exports: exports.to_path_buf(),
        files,
        merged,
        conflicts,
        review: received,
        facilitator_review_refused,
    })
}
