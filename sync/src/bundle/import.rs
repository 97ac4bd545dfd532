//! Reading a bundle: the documents' frame read whole from the decrypting stream and judged
//! (policy, kinds, missing bases), the contents after it streamed into the store
//! (`contents.rs`), and the documents applied in one commit once the file was read to its
//! authenticated end.

use std::collections::BTreeSet;
use std::io::{self, BufReader, Read};
use std::sync::Arc;

use automerge::{Automerge, ReadDoc};

use crate::attachments::{referenced, ContentHash};
use crate::error::WireError;
use crate::ids::{DocId, PeerId};
use crate::policy::Policy;
use crate::report::SyncReport;
use crate::store::{ApplyOutcome, Commit, DocumentStore, IncomingDoc};
use crate::wire::codec::Reader;
use crate::wire::{
    open, payload_len, read_tail, Refusal, HEADER_LEN, MAX_LIST, TRAILER_LEN, TYPE_BUNDLE,
    TYPE_BUNDLE_WITH_CONTENTS,
};

use super::contents::{self, Listed};
use super::{
    Addressing, BundleError, BundleIdentity, Counted, Entry, ENTRY_CHANGES, ENTRY_WHOLE, MAX_BUNDLE,
};

/// What the documents' frame of a bundle holds.
struct Decoded {
    addressing: Addressing,
    /// The contents whose bytes follow the frame (none in format 1).
    listed: Vec<Listed>,
    entries: Vec<Entry>,
}

/// The documents' frame, read whole from the decrypted bundle: its header first, so that a
/// length past [`MAX_BUNDLE`] is refused before anything is read, then as many bytes as arrive
/// up to the length announced (a short bundle allocates no more than it holds).
fn read_frame(plain: &mut impl Read) -> Result<Vec<u8>, BundleError> {
    let mut frame = vec![0u8; HEADER_LEN];
    contents::fill(plain, &mut frame, "bundle frame")?;
    let (_, len) = payload_len(&frame, MAX_BUNDLE)?;
    let rest = (len + TRAILER_LEN) as u64;
    plain
        .take(rest)
        .read_to_end(&mut frame)
        .map_err(contents::read_error)?;
    if frame.len() < HEADER_LEN + len + TRAILER_LEN {
        return Err(WireError::Truncated {
            what: "bundle frame",
        }
        .into());
    }
    Ok(frame)
}

/// The sender, listed contents and entries of a bundle for `local`; one addressed to another
/// peer is refused before its entries are inflated.
fn decode_bundle(frame: &[u8], local: &PeerId) -> Result<Decoded, BundleError> {
    let (kind, payload) = open(frame, MAX_BUNDLE)?;
    let with_contents = match kind {
        TYPE_BUNDLE => false,
        TYPE_BUNDLE_WITH_CONTENTS => true,
        other => return Err(WireError::UnknownMessageType(other).into()),
    };
    let mut reader = Reader::new(payload);
    let addressing = read_addressing(&mut reader)?;
    let to = &addressing.to;
    if to != local {
        return Err(BundleError::WrongPeer {
            addressed: to.to_string(),
            local: local.to_string(),
        });
    }
    let listed = match with_contents {
        true => contents::decode_list(&mut reader)?,
        false => Vec::new(),
    };
    let entries = decode_entries(&read_tail(&mut reader, MAX_BUNDLE)?)?;
    Ok(Decoded {
        addressing,
        listed,
        entries,
    })
}

fn decode_entries(packed: &[u8]) -> Result<Vec<Entry>, BundleError> {
    let mut reader = Reader::new(packed);
    let count = reader.count("bundle entries", 20, MAX_LIST)?;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let doc = reader.doc_id()?;
        let kind = reader.kind(&doc)?;
        let heads = reader.heads()?;
        let whole = match reader.u8("entry type")? {
            ENTRY_WHOLE => true,
            ENTRY_CHANGES => false,
            code => return Err(WireError::UnknownPayload { doc, code }.into()),
        };
        let bytes = reader.bytes("document bytes")?.to_vec();
        let signatures = reader.signatures(MAX_LIST)?;
        entries.push(Entry {
            doc,
            kind,
            heads,
            whole,
            bytes,
            signatures,
        });
    }
    reader.finish()?;
    Ok(entries)
}

fn read_addressing(reader: &mut Reader<'_>) -> Result<Addressing, WireError> {
    Ok(Addressing {
        from: reader.peer_id()?,
        from_epoch: reader.epoch()?,
        to: reader.peer_id()?,
    })
}

/// Decrypts a bundle (in memory) addressed to `local` and imports it: see
/// [`import_bundle_from`].
pub fn import_bundle<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    identity: &BundleIdentity,
    bundle: &[u8],
    policy: Arc<dyn Policy>,
) -> Result<SyncReport, BundleError> {
    import_bundle_from(store, local, identity, bundle, policy)
}

/// Decrypts a bundle addressed to `local` as it is read from `input`, stores the attachment
/// contents it carries that its accepted documents reference (each checked whole against its
/// hash by the store: a mismatch, or one past the store's size limit, is refused in the report
/// with nothing of it kept, and the rest still lands), then, once the whole file has been read
/// and authenticated, applies every document the policy lets its sender write, in one store
/// commit. Documents refused (policy, wrong kind, changes whose base this store lacks) are
/// listed in the report; the others are applied regardless. An error applies no document
/// (contents already stored whole stay: each is exactly what its hash names). Cost: the
/// documents' frame in memory, one chunk of a content at a time.
pub fn import_bundle_from<S: DocumentStore + ?Sized>(
    store: &S,
    local: &PeerId,
    identity: &BundleIdentity,
    input: impl Read,
    policy: Arc<dyn Policy>,
) -> Result<SyncReport, BundleError> {
    let mut counted = Counted::new(input);
    let decryptor = age::Decryptor::new_buffered(BufReader::new(&mut counted))?;
    let mut plain = decryptor.decrypt(std::iter::once(identity as _))?;
    let frame = read_frame(&mut plain)?;
    let decoded = decode_bundle(&frame, local)?;
    drop(frame);
    let mut report = SyncReport::default();
    let (commit, references) = judge(
        store,
        decoded.addressing,
        decoded.entries,
        &*policy,
        &mut report,
    )?;
    contents::import(store, &decoded.listed, &references, &mut plain, &mut report)?;
    let trailing = io::copy(&mut plain, &mut io::sink()).map_err(contents::read_error)?;
    if trailing > 0 {
        return Err(WireError::TrailingBytes(trailing as usize).into());
    }
    drop(plain);
    report.bytes_received = counted.bytes;
    apply(store, commit, &mut report)?;
    Ok(report)
}

/// The commit of the entries the policy lets the sender write, with the contents their
/// documents reference; the others are refused in `report`.
fn judge<S: DocumentStore + ?Sized>(
    store: &S,
    addressing: Addressing,
    entries: Vec<Entry>,
    policy: &dyn Policy,
    report: &mut SyncReport,
) -> Result<(Commit, BTreeSet<ContentHash>), BundleError> {
    let from = addressing.from;
    let mut commit = Commit::new(from.clone());
    if store.peer_epoch(&from)? != Some(addressing.from_epoch) {
        // What we knew of the sender came from another store under its id: drop it first.
        commit.reset_peer = Some(addressing.from_epoch);
    }
    let mut references = BTreeSet::new();
    for entry in entries {
        report.change_bytes += entry.bytes.len() as u64;
        match proposed_doc(store, &entry)? {
            Err(reason) => report.refused.push((entry.doc, reason)),
            Ok(doc) if !policy.may_write(&from, &entry.doc, entry.kind, &doc) => {
                report.refused.push((entry.doc, Refusal::NotWritable))
            }
            Ok(doc) => {
                report.conflicts += usize::from(store.has_conflicts(entry.kind, &doc));
                references.extend(referenced(&doc));
                commit.shared_heads.push((entry.doc.clone(), entry.heads));
                commit.signatures.extend(entry.signatures);
                commit.docs.push(IncomingDoc {
                    id: entry.doc,
                    kind: entry.kind,
                    changes: entry.bytes,
                    loaded: None,
                });
            }
        }
    }
    Ok((commit, references))
}

/// Commits the accepted entries, counting what applied and refusing what the store would not.
fn apply<S: DocumentStore + ?Sized>(
    store: &S,
    commit: Commit,
    report: &mut SyncReport,
) -> Result<(), BundleError> {
    let ids: Vec<DocId> = commit.docs.iter().map(|doc| doc.id.clone()).collect();
    for (id, outcome) in ids.into_iter().zip(store.commit(commit)?) {
        match outcome {
            ApplyOutcome::Applied { .. } => report.received += 1,
            ApplyOutcome::KindMismatch { .. } => report.refused.push((id, Refusal::KindMismatch)),
            ApplyOutcome::Invalid { .. } => report.refused.push((id, Refusal::Invalid)),
        }
    }
    Ok(())
}

/// The document as it would be with the entry applied, or why the entry cannot be applied.
fn proposed_doc<S: DocumentStore + ?Sized>(
    store: &S,
    entry: &Entry,
) -> Result<Result<Automerge, Refusal>, BundleError> {
    let stored = store.load(&entry.doc)?;
    if let Some((kind, _)) = store.doc_heads(&entry.doc)? {
        if kind != entry.kind {
            return Ok(Err(Refusal::KindMismatch));
        }
    }
    let mut doc = stored.unwrap_or_default();
    let loaded = std::panic::catch_unwind(move || doc.load_incremental(&entry.bytes).map(|_| doc));
    let Ok(Ok(doc)) = loaded else {
        return Ok(Err(Refusal::Invalid));
    };
    let complete = doc.get_missing_deps(&[]).is_empty()
        && entry
            .heads
            .iter()
            .all(|hash| doc.get_change_by_hash(hash).is_some());
    Ok(match (complete, entry.whole) {
        (true, _) => Ok(doc),
        (false, true) => Err(Refusal::Invalid),
        (false, false) => Err(Refusal::Incomplete),
    })
}
