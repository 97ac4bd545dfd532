"""Published forms in a store: publish, list, read back compiled, the newest version, and a
form version that syncs to another store like a submission."""

import pytest

import minga


@pytest.fixture
def dialogue():
    return next(f for f in minga.builtin_forms() if f.id() == "minga_stakeholder_dialogue")


def test_a_published_form_is_listed_read_back_and_synced(tmp_path, store, dialogue):
    document = store.publish_form(dialogue)
    assert store.publish_form(dialogue) == document  # the same version again changes nothing
    [listed] = store.forms()
    assert (listed.form_id, listed.version, listed.document) == (dialogue.id(), dialogue.version(), document)
    assert listed.languages == dialogue.definition().languages and listed.title
    assert store.form(dialogue.id(), dialogue.version()).definition() == dialogue.definition()
    assert store.latest_form(dialogue.id()).version() == dialogue.version()

    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    events = []
    handle = minga.observe(tablet, events.append)
    minga.sync_with(store, tablet.responder(unenrolled=True).respond, "tablet-1", unenrolled=True)
    assert [f.form_id for f in tablet.forms()] == [dialogue.id()]
    assert [(d.id, d.kind) for e in events for d in e.documents] == [(document, minga.DocKind.FORM)]
    handle.cancel()
    tablet.close()


def test_a_form_the_store_lacks_is_not_found(store, dialogue):
    assert store.forms() == []
    with pytest.raises(minga.MingaError.NotFound):
        store.form(dialogue.id(), dialogue.version())
    with pytest.raises(minga.MingaError.NotFound):
        store.latest_form("no_such_form")
    store.close()
    with pytest.raises(minga.MingaError.Closed):
        store.forms()
    with pytest.raises(minga.MingaError.Closed):
        store.publish_form(dialogue)
