//! What the unit tests of this crate share: opening a throwaway store, and a submission in
//! conflict.

use crate::document::{AnswerPath, DeviceIdentity, DocId, FormRef};
use crate::store::{Encryption, Store};
use automerge::ChangeHash;
use minga_forms::Value;
use minga_sync::DocumentStore;

/// An unencrypted store in the file `file` of `dir`, written by `device` for `user`.
pub(crate) fn plain_store(dir: &tempfile::TempDir, file: &str, device: &str, user: &str) -> Store {
    Store::open(
        dir.path().join(file),
        Encryption::PlainFile,
        DeviceIdentity::new(device, user),
    )
    .expect("a new store opens in a fresh temporary folder")
}

/// A new submission of `store` whose answer `q` holds two concurrent values: one written in
/// `store`, one in a copy that another device (a store `other.db` in `dir`) edited at the same
/// time, merged back.
pub(crate) fn conflicted_submission(dir: &tempfile::TempDir, store: &Store) -> DocId {
    let id = store
        .create_submission(&FormRef::new("dialogue", "1"))
        .unwrap();
    let other = plain_store(dir, "other.db", "d-other", "luis");
    other
        .import_submission(&store.export_submission(&id).unwrap())
        .unwrap();
    let q = AnswerPath::new("q");
    store.set_answer(&id, &q, &Value::Integer(1)).unwrap();
    other.set_answer(&id, &q, &Value::Integer(2)).unwrap();
    store
        .import_submission(&other.export_submission(&id).unwrap())
        .unwrap();
    id
}

/// The heads of document `id` of `store`, as sync reads them from its row.
pub(crate) fn stored_heads(store: &Store, id: &DocId) -> Vec<ChangeHash> {
    let (_kind, heads) = store
        .doc_heads(&(*id).into())
        .expect("the store reads")
        .expect("the document is stored");
    heads
}
