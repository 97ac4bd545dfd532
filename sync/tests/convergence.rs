//! Three stores edit offline (same and different documents: answers, repeats, deletions), then
//! sync in random orders and topologies, over the wire and through bundles: they must end equal.

mod common;

use std::sync::Arc;

use automerge::transaction::Transactable;
use automerge::{ObjType, ReadDoc, ROOT};
use common::*;
use minga_sync::bundle::{import_bundle, write_bundle, BundleIdentity, BundleScope};
use minga_sync::{AllowAll, DocId, DocKind, MemoryStore, SyncOptions};
use proptest::prelude::*;

const NAMES: [&str; 3] = ["a", "b", "c"];

#[derive(Clone, Debug)]
enum Op {
    Put {
        store: usize,
        doc: usize,
        key: u8,
        value: i64,
    },
    Delete {
        store: usize,
        doc: usize,
        key: u8,
    },
    AddRepeat {
        store: usize,
        doc: usize,
        value: i64,
    },
    RemoveRepeat {
        store: usize,
        doc: usize,
    },
    Sync {
        from: usize,
        to: usize,
    },
    Bundle {
        from: usize,
        to: usize,
        everything: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let store = 0..3usize;
    let doc = 0..5usize;
    prop_oneof![
        4 => (store.clone(), doc.clone(), 0..4u8, any::<i64>())
            .prop_map(|(store, doc, key, value)| Op::Put { store, doc, key, value }),
        1 => (store.clone(), doc.clone(), 0..4u8)
            .prop_map(|(store, doc, key)| Op::Delete { store, doc, key }),
        2 => (store.clone(), doc.clone(), any::<i64>())
            .prop_map(|(store, doc, value)| Op::AddRepeat { store, doc, value }),
        1 => (store.clone(), doc.clone()).prop_map(|(store, doc)| Op::RemoveRepeat { store, doc }),
        3 => (store.clone(), 0..3usize).prop_map(|(from, to)| Op::Sync { from, to }),
        1 => (store, 0..3usize, any::<bool>())
            .prop_map(|(from, to, everything)| Op::Bundle { from, to, everything }),
    ]
}

struct World {
    stores: Vec<MemoryStore>,
    keys: Vec<BundleIdentity>,
    docs: Vec<DocId>,
    options: SyncOptions,
}

impl World {
    fn new(options: SyncOptions) -> Self {
        Self {
            stores: (0..3).map(|_| MemoryStore::new()).collect(),
            keys: (0..3).map(|_| BundleIdentity::generate()).collect(),
            docs: (0..5).map(|_| DocId::random()).collect(),
            options,
        }
    }

    fn edit(
        &self,
        store: usize,
        doc: usize,
        edit: impl FnOnce(&mut automerge::transaction::Transaction<'_>),
    ) {
        self.stores[store].edit(&self.docs[doc], DocKind::Submission, edit);
    }

    fn apply(&self, op: &Op) {
        match *op {
            Op::Put {
                store,
                doc,
                key,
                value,
            } => self.edit(store, doc, |tx| {
                tx.put(ROOT, format!("q{key}"), value).unwrap();
            }),
            Op::Delete { store, doc, key } => self.edit(store, doc, |tx| {
                if tx.get(ROOT, format!("q{key}")).unwrap().is_some() {
                    tx.delete(ROOT, format!("q{key}")).unwrap();
                }
            }),
            Op::AddRepeat { store, doc, value } => self.edit(store, doc, |tx| {
                let list = match tx.get(ROOT, "participants").unwrap() {
                    Some((_, list)) => list,
                    None => tx.put_object(ROOT, "participants", ObjType::List).unwrap(),
                };
                let item = tx.insert_object(&list, 0, ObjType::Map).unwrap();
                tx.put(&item, "_id", format!("p{value}")).unwrap();
                tx.put(&item, "age", value).unwrap();
            }),
            Op::RemoveRepeat { store, doc } => self.edit(store, doc, |tx| {
                if let Some((_, list)) = tx.get(ROOT, "participants").unwrap() {
                    if tx.length(&list) > 0 {
                        tx.delete(&list, 0).unwrap();
                    }
                }
            }),
            Op::Sync { from, to } if from != to => self.sync(from, to),
            Op::Bundle {
                from,
                to,
                everything,
            } if from != to => self.bundle(from, to, everything),
            Op::Sync { .. } | Op::Bundle { .. } => {}
        }
    }

    fn sync(&self, from: usize, to: usize) {
        let (a, b) = (&self.stores[from], &self.stores[to]);
        sync_pair(a, NAMES[from], b, NAMES[to], self.options)
            .unwrap_or_else(|error| panic!("sync {from}->{to} failed: {error}"));
    }

    fn bundle(&self, from: usize, to: usize, everything: bool) {
        let scope = if everything {
            BundleScope::Everything
        } else {
            BundleScope::Missing
        };
        let bytes = write_bundle(
            &self.stores[from],
            &peer(NAMES[from]),
            &peer(NAMES[to]),
            &self.keys[to].to_public(),
            scope,
            &AllowAll,
        )
        .unwrap();
        let import = |store: &MemoryStore| {
            import_bundle(
                store,
                &peer(NAMES[to]),
                &self.keys[to],
                &bytes,
                Arc::new(AllowAll),
            )
            .unwrap()
        };
        import(&self.stores[to]);
        let before = snapshot(&self.stores[to]);
        import(&self.stores[to]);
        assert_eq!(
            snapshot(&self.stores[to]),
            before,
            "importing twice changes nothing"
        );
    }

    /// A chain a-b, b-c, then a-b again: afterwards every store has everything.
    fn converge(&self) {
        self.sync(0, 1);
        self.sync(1, 2);
        self.sync(0, 1);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_schedule_converges(
        ops in proptest::collection::vec(op(), 1..40),
        page_docs in 1..4usize,
        page_bytes in 64..4096usize,
    ) {
        let options = SyncOptions { page_docs, page_bytes, max_in_flight: page_docs * 2, ..SyncOptions::default() };
        let world = World::new(options);
        for op in &ops {
            world.apply(op);
        }
        world.converge();
        let first = snapshot(&world.stores[0]);
        prop_assert_eq!(&snapshot(&world.stores[1]), &first);
        prop_assert_eq!(&snapshot(&world.stores[2]), &first);
        // and a further sync between any pair finds nothing to do
        let idle = sync_pair(&world.stores[2], "c", &world.stores[0], "a", options).unwrap();
        prop_assert_eq!((idle.sent, idle.received), (0, 0));
    }
}

#[test]
fn star_through_a_hub_with_concurrent_edits_of_one_submission() {
    let world = World::new(SyncOptions::default());
    let shared = 0;
    world.apply(&Op::Put {
        store: 0,
        doc: shared,
        key: 0,
        value: 1,
    });
    world.sync(0, 1); // the hub (b) has it
    world.sync(2, 1); // and c fetches it
    world.apply(&Op::Put {
        store: 0,
        doc: shared,
        key: 1,
        value: 10,
    });
    world.apply(&Op::Put {
        store: 2,
        doc: shared,
        key: 1,
        value: 20,
    });
    world.apply(&Op::AddRepeat {
        store: 2,
        doc: shared,
        value: 5,
    });
    world.apply(&Op::Put {
        store: 1,
        doc: 1,
        key: 0,
        value: 7,
    });
    world.sync(0, 1);
    world.sync(2, 1);
    world.sync(0, 1);
    let first = snapshot(&world.stores[0]);
    assert_eq!(snapshot(&world.stores[1]), first);
    assert_eq!(snapshot(&world.stores[2]), first);
    let doc = world.stores[1].get(&world.docs[shared]).unwrap();
    assert_eq!(
        doc.get_all(ROOT, "q1").unwrap().len(),
        2,
        "both concurrent answers are kept"
    );
}
