//! The `Store` object: one open store file, as apps hold it. Each method is one `minga-core`
//! call, run behind the panic guard and the closed check.

use crate::error::{MingaError, Result};
use crate::guard::guarded;
use crate::observer::{self, ChangeObserver, ObserverHandle};
use crate::records::{
    doc_id, index, Answers, Conflict, ConflictingValue, HistoryEntry, InvalidAnswer, PageCursor,
    Submission, SubmissionFilter, SubmissionPage, UnreadableDocument,
};
use crate::running::{Agents, Stop};
use crate::value::Value;
use minga_core as core;
use std::sync::{Arc, RwLock};

/// The length of a store key: 32 raw bytes (a SQLCipher raw key).
const KEY_BYTES: usize = 32;

/// One open store file. Share it freely between threads: calls are serialised inside. After
/// `close()` every call fails with `MingaError.Closed`.
#[derive(uniffi::Object)]
pub struct Store {
    /// `None` once closed. Calls clone the `Arc` and release this lock before working, so a
    /// close waits for no call and the file closes when the last call in flight returns.
    core: RwLock<Option<Arc<core::Store>>>,
    /// The sync agents started on this store, stopped when it closes.
    agents: Agents,
}

impl Store {
    fn new(
        path: String,
        encryption: core::Encryption,
        identity: core::DeviceIdentity,
    ) -> Result<Arc<Self>> {
        guarded(|| {
            let store = core::Store::open(path, encryption, identity)?;
            Ok(Arc::new(Self {
                core: RwLock::new(Some(Arc::new(store))),
                agents: Agents::default(),
            }))
        })
    }

    fn core(&self) -> Result<Arc<core::Store>> {
        let open = self
            .core
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.clone().ok_or(MingaError::Closed)
    }

    /// Runs one call on the core store behind the panic guard; `Closed` once closed.
    /// Observers hear of writes from the core store itself, once they are committed.
    pub(crate) fn call<T>(&self, call: impl FnOnce(&core::Store) -> Result<T>) -> Result<T> {
        guarded(|| call(&*self.core()?))
    }

    /// A call that keeps the core store beyond it (a sync agent's thread).
    pub(crate) fn call_shared<T>(
        &self,
        call: impl FnOnce(Arc<core::Store>) -> Result<T>,
    ) -> Result<T> {
        guarded(|| call(self.core()?))
    }

    /// Remembers `agent`, so that closing the store stops it.
    pub(crate) fn keep_agent(&self, agent: &Arc<dyn Stop>) {
        self.agents.keep(agent);
    }
}

/// Dropping the last handle closes the store as `close()` does: its agents stop and their
/// threads end before the store goes.
impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

#[uniffi::export]
impl Store {
    /// Opens (or creates) the encrypted store at `path` with a 32-byte key from the Android
    /// Keystore or the iOS Keychain. Every change is attributed to `device_id` and `user_name`.
    /// A wrong key is `WrongKey`, another kind of file `NotAStore`; neither changes the file.
    #[uniffi::constructor]
    pub fn open(
        path: String,
        key: Vec<u8>,
        device_id: String,
        user_name: String,
    ) -> Result<Arc<Self>> {
        let key: [u8; KEY_BYTES] = key.as_slice().try_into().map_err(|_| {
            MingaError::invalid_argument(format!(
                "a store key is {KEY_BYTES} bytes, not {}",
                key.len()
            ))
        })?;
        let encryption = core::Encryption::Key(core::StoreKey::new(key));
        Self::new(
            path,
            encryption,
            core::DeviceIdentity::new(device_id, user_name),
        )
    }

    /// Opens (or creates) an unencrypted store: for tests and for data that is not sensitive.
    #[uniffi::constructor]
    pub fn open_unencrypted(
        path: String,
        device_id: String,
        user_name: String,
    ) -> Result<Arc<Self>> {
        Self::new(
            path,
            core::Encryption::PlainFile,
            core::DeviceIdentity::new(device_id, user_name),
        )
    }

    /// Closes the store: later calls fail with `Closed`, its observers are unregistered, and
    /// its sync agents stop: close waits for their threads (a sync in flight ends at its next
    /// round trip), so that no callback of this store runs once it returns (except one already
    /// running on another thread of the app). The file closes when the last call in flight is
    /// done. Idempotent, in any order with `SyncAgent.stop()`.
    pub fn close(&self) {
        let closed = self
            .core
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(store) = closed {
            store.forget_observers();
        }
        self.agents.stop_all();
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.core().is_err()
    }

    /// The device and person this store attributes changes to.
    pub fn identity(&self) -> Result<core::DeviceIdentity> {
        self.call(|store| Ok(store.identity()))
    }

    /// Calls `observer` after every change made through this store, including changes that
    /// arrive by sync. Keep the returned handle: dropping it (or `cancel()`) unregisters.
    pub fn observe(&self, observer: Arc<dyn ChangeObserver>) -> Result<Arc<ObserverHandle>> {
        self.call(|store| Ok(Arc::new(observer::observe(store, observer))))
    }

    /// Creates an empty draft submission of `form` and returns its id. Durable on return.
    pub fn create_submission(&self, form: core::FormRef) -> Result<String> {
        self.call(|store| Ok(store.create_submission(&form)?.to_string()))
    }

    /// Reads a whole submission: creation facts, status and answers.
    pub fn submission(&self, id: String) -> Result<Submission> {
        self.call(|store| Ok(store.submission(&doc_id(&id)?)?.into()))
    }

    /// A submission's answers, repeats included.
    pub fn answers(&self, id: String) -> Result<Answers> {
        self.call(|store| Ok(store.answers(&doc_id(&id)?)?.into()))
    }

    /// Sets the answer at `path`. Durable on return.
    pub fn set_answer(&self, id: String, path: core::AnswerPath, value: Value) -> Result<()> {
        self.call(|store| Ok(store.set_answer(&doc_id(&id)?, &path, &value.into())?))
    }

    /// Sets long free text (meeting notes) that two editors can edit at once and merge
    /// character by character. Costs more than `set_answer` with a text: use for long text.
    pub fn set_long_text(&self, id: String, path: core::AnswerPath, text: String) -> Result<()> {
        self.call(|store| Ok(store.set_long_text(&doc_id(&id)?, &path, &text)?))
    }

    /// Removes the answer at `path` (nothing happens if it has none).
    pub fn clear_answer(&self, id: String, path: core::AnswerPath) -> Result<()> {
        self.call(|store| Ok(store.clear_answer(&doc_id(&id)?, &path)?))
    }

    /// Adds an instance to the repeat `repeat`, at `position` (the end if none); returns the
    /// new instance's stable id.
    pub fn add_repeat_instance(
        &self,
        id: String,
        repeat: core::AnswerPath,
        position: Option<u32>,
    ) -> Result<String> {
        self.call(|store| {
            let position = position.map(index).transpose()?;
            Ok(store.add_repeat_instance(&doc_id(&id)?, &repeat, position)?)
        })
    }

    /// Removes one instance of a repeat, with its answers.
    pub fn remove_repeat_instance(
        &self,
        id: String,
        repeat: core::AnswerPath,
        instance_id: String,
    ) -> Result<()> {
        self.call(|store| Ok(store.remove_repeat_instance(&doc_id(&id)?, &repeat, &instance_id)?))
    }

    /// Moves one instance of a repeat to `position`.
    pub fn move_repeat_instance(
        &self,
        id: String,
        repeat: core::AnswerPath,
        instance_id: String,
        position: u32,
    ) -> Result<()> {
        self.call(|store| {
            Ok(store.move_repeat_instance(
                &doc_id(&id)?,
                &repeat,
                &instance_id,
                index(position)?,
            )?)
        })
    }

    /// Marks a submission draft or complete.
    pub fn set_status(&self, id: String, status: core::Status) -> Result<()> {
        self.call(|store| Ok(store.set_status(&doc_id(&id)?, status)?))
    }

    /// Sets (or removes) the name lists show for the submission.
    pub fn set_instance_name(&self, id: String, name: Option<String>) -> Result<()> {
        self.call(|store| Ok(store.set_instance_name(&doc_id(&id)?, name.as_deref())?))
    }

    /// Deletes a submission softly (the deletion syncs); `restore_submission` undoes it.
    pub fn delete_submission(&self, id: String) -> Result<()> {
        self.call(|store| Ok(store.delete_submission(&doc_id(&id)?)?))
    }

    /// Brings back a deleted submission.
    pub fn restore_submission(&self, id: String) -> Result<()> {
        self.call(|store| Ok(store.restore_submission(&doc_id(&id)?)?))
    }

    /// The submission as automerge bytes, loadable by any automerge library.
    pub fn export_submission(&self, id: String) -> Result<Vec<u8>> {
        self.call(|store| Ok(store.export_submission(&doc_id(&id)?)?))
    }

    /// Imports (merges) a submission's automerge bytes; returns its id.
    pub fn import_submission(&self, bytes: Vec<u8>) -> Result<String> {
        self.call(|store| Ok(store.import_submission(&bytes)?.to_string()))
    }

    /// A page of at most `limit` submissions matching `filter`, most recently changed first,
    /// starting after `after` (the previous page's `next`). No document is decoded.
    pub fn list_submissions(
        &self,
        filter: SubmissionFilter,
        after: Option<Arc<PageCursor>>,
        limit: u32,
    ) -> Result<SubmissionPage> {
        self.call(|store| {
            Ok(store
                .list_submissions(&filter.into(), after.map(|cursor| cursor.0), limit)?
                .into())
        })
    }

    /// Every value stored for one answer: none if unanswered, one normally, more in conflict.
    pub fn answer_values(
        &self,
        id: String,
        path: core::AnswerPath,
    ) -> Result<Vec<ConflictingValue>> {
        self.call(|store| {
            Ok(store
                .answer_values(&doc_id(&id)?, &path)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Why the submission's answers break its form version, as they arrived (kept, and
    /// flagged: `SubmissionSummary.invalid`); empty when it is not flagged. No document is
    /// decoded.
    pub fn invalid_reasons(&self, id: String) -> Result<Vec<InvalidAnswer>> {
        self.call(|store| {
            Ok(store
                .invalid_reasons(&doc_id(&id)?)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Every answer of the submission that concurrent edits left with more than one value.
    pub fn conflicts(&self, id: String) -> Result<Vec<Conflict>> {
        self.call(|store| {
            Ok(store
                .conflicts(&doc_id(&id)?)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// Settles a conflict: `value` (one of the values, or a new one) replaces all of them.
    pub fn resolve_conflict(&self, id: String, path: core::AnswerPath, value: Value) -> Result<()> {
        self.call(|store| Ok(store.resolve_conflict(&doc_id(&id)?, &path, &value.into())?))
    }

    /// The fingerprint of this store's signing key, as `HistoryEntry.signature` shows the key
    /// of each change this store made.
    pub fn key_fingerprint(&self) -> Result<String> {
        self.call(|store| Ok(store.public_key().fingerprint()))
    }

    /// The submission's audit trail: each change with its device, user, time, answers and
    /// whether its signature verifies. Cost: one diff and one signature check per change.
    pub fn history(&self, id: String) -> Result<Vec<HistoryEntry>> {
        self.call(|store| {
            Ok(store
                .history(&doc_id(&id)?)?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The store's latest change sequence number (0 when empty).
    pub fn last_seq(&self) -> Result<u64> {
        self.call(|store| Ok(store.last_seq()?))
    }

    /// SQLite's integrity check: `["ok"]` when the file is sound. Reads the whole file.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.call(|store| Ok(store.integrity_check()?))
    }

    /// The documents a schema upgrade of this store could not read: kept as they were and
    /// reported here, while the store opened with all the others. Empty for a sound store.
    pub fn unreadable_documents(&self) -> Result<Vec<UnreadableDocument>> {
        self.call(|store| {
            Ok(store
                .unreadable_documents()?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observer::{ChangeEvent, ChangeObserver};
    use std::sync::Mutex;

    fn open(dir: &tempfile::TempDir) -> Arc<Store> {
        let path = dir.path().join("s.minga").display().to_string();
        Store::open(path, vec![9; KEY_BYTES], "phone-1".into(), "ana".into()).unwrap()
    }

    fn form() -> core::FormRef {
        core::FormRef::new("f", "1")
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<ChangeEvent>>);
    impl ChangeObserver for Recorder {
        fn on_change(&self, event: ChangeEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    struct Exploding;
    impl ChangeObserver for Exploding {
        fn on_change(&self, _: ChangeEvent) {
            panic!("the observer failed");
        }
    }

    #[test]
    fn a_closed_store_answers_closed_and_close_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let id = store.create_submission(form()).unwrap();
        store.close();
        store.close();
        assert!(store.is_closed());
        assert!(matches!(store.submission(id), Err(MingaError::Closed)));
        assert!(matches!(
            store.create_submission(form()),
            Err(MingaError::Closed)
        ));
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused_before_touching_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.minga");
        let result = Store::open(
            path.display().to_string(),
            vec![1; 16],
            "d".into(),
            "u".into(),
        );
        assert!(matches!(result, Err(MingaError::InvalidArgument { .. })));
        assert!(!path.exists());
    }

    #[test]
    fn a_panicking_observer_neither_fails_the_write_nor_silences_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let recorder = Arc::new(Recorder::default());
        let _exploding = store.observe(Arc::new(Exploding)).unwrap();
        let _recording = store.observe(recorder.clone()).unwrap();
        let id = store.create_submission(form()).unwrap();
        assert_eq!(store.submission(id.clone()).unwrap().id, id);
        let events = recorder.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].documents[0].id, id);
    }

    #[test]
    fn dropping_the_handle_unregisters_the_observer() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let recorder = Arc::new(Recorder::default());
        let handle = store.observe(recorder.clone()).unwrap();
        store.create_submission(form()).unwrap();
        drop(handle);
        store.create_submission(form()).unwrap();
        assert_eq!(recorder.0.lock().unwrap().len(), 1);
    }

    #[test]
    fn reads_do_not_report_and_writes_report_only_what_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let first = store.create_submission(form()).unwrap();
        let recorder = Arc::new(Recorder::default());
        let _handle = store.observe(recorder.clone()).unwrap();
        store.submission(first.clone()).unwrap();
        assert!(recorder.0.lock().unwrap().is_empty());
        let path = core::AnswerPath::new("q");
        store
            .set_answer(first.clone(), path, Value::Integer { value: 4 })
            .unwrap();
        let events = recorder.0.lock().unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0]
                .documents
                .iter()
                .map(|d| d.id.clone())
                .collect::<Vec<_>>(),
            vec![first]
        );
    }
}
