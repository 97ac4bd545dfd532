//! What the store and sync log for an operator (`tracing`): a store opened and upgraded, a
//! sync started, finished and refused, a document refused, a wipe; and never an answer's text.

use minga_core::minga_sync::{
    run_session, AllowAll, Initiator, MemoryTransport, PeerId, SyncOptions,
};
use minga_core::{
    AnswerPath, DeviceIdentity, DocKind, Encryption, FormRef, ReceivedChanges, Store, Value,
};
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Where the subscriber writes: one buffer the test reads afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Runs `work` with every event of every level written to the returned text.
fn logged(work: impl FnOnce()) -> String {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, work);
    captured.text()
}

const SECRET: &str = "Rosa vive detrás de la iglesia";

fn peer(name: &str) -> PeerId {
    PeerId::new(name).unwrap()
}

#[test]
fn an_operator_sees_opening_syncing_refusals_and_wipes_but_no_answer_text() {
    let dir = tempfile::tempdir().unwrap();
    let open = |file: &str, user: &str| {
        Store::open(
            dir.path().join(file),
            Encryption::PlainFile,
            DeviceIdentity::new(file, user),
        )
        .unwrap()
    };
    let log = logged(|| {
        let phone = open("phone.db", "ana");
        let hub = open("hub.db", "luis");
        let id = phone
            .create_submission(&FormRef::new("dialogue", "1"))
            .unwrap();
        phone
            .set_answer(
                &id,
                &AnswerPath::new("address"),
                &Value::Text(SECRET.into()),
            )
            .unwrap();

        let options = SyncOptions::default();
        let transport = MemoryTransport::new(&hub, peer("hub"), options, Arc::new(AllowAll));
        let mut initiator = Initiator::new(peer("phone"), peer("hub"), options, Arc::new(AllowAll));
        run_session(&phone, &transport, &mut initiator, &options, &mut |_| {}).unwrap();
        // A session addressed to another hub is refused by this one.
        let mut astray = Initiator::new(
            peer("phone"),
            peer("elsewhere"),
            options,
            Arc::new(AllowAll),
        );
        assert!(run_session(&phone, &transport, &mut astray, &options, &mut |_| {}).is_err());

        // The submission, with its answer, offered as a form: refused by its kind.
        let refused = hub.apply_changes(&[ReceivedChanges {
            id,
            kind: DocKind::Form,
            bytes: phone.document_bytes(&id).unwrap(),
            signatures: phone.change_signatures(&id).unwrap(),
        }]);
        assert!(refused.is_err());
        phone.wipe_local_copy().unwrap();
    });
    for expected in [
        "store opened",
        "sync started",
        "sync session started by the peer",
        "sync finished",
        "sync request refused",
        "sync failed",
        "received document refused",
        "local copy wiped",
    ] {
        assert!(log.contains(expected), "{expected:?} missing from:\n{log}");
    }
    assert!(!log.contains(SECRET), "an answer's text was logged:\n{log}");
    assert!(
        !log.contains("iglesia"),
        "part of an answer was logged:\n{log}"
    );
}
