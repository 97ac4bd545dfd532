"""Change observers: fired after each change, cancellable, gone with the store."""

import minga


def test_an_observer_hears_each_change_until_cancelled(store, form):
    events = []
    handle = minga.observe(store, events.append)

    sid = store.create_submission(form)
    store.set_answer(sid, minga.AnswerPath(instances=[], name="q"), minga.Value.INTEGER(value=1))
    assert [[d.id for d in e.documents] for e in events] == [[sid], [sid]]
    assert events[1].last_seq > events[0].last_seq == events[0].documents[0].seq

    handle.cancel()
    store.set_answer(sid, minga.AnswerPath(instances=[], name="q"), minga.Value.INTEGER(value=2))
    assert len(events) == 2
    handle.cancel()  # idempotent


def test_changes_made_before_observing_are_not_reported(store, form):
    store.create_submission(form)
    events = []
    handle = minga.observe(store, events.append)
    later = store.create_submission(form)
    assert [d.id for e in events for d in e.documents] == [later]
    handle.cancel()


def test_an_imported_submission_is_reported_like_one_arriving_by_sync(tmp_path, store, form):
    other = minga.Store.open_unencrypted(str(tmp_path / "other.minga"), "phone-2", "luis")
    sid = other.create_submission(form)
    events = []
    handle = minga.observe(store, events.append)
    store.import_submission(other.export_submission(sid))
    assert [d.id for e in events for d in e.documents] == [sid]
    handle.cancel()
    other.close()


def test_an_observer_that_raises_does_not_undo_the_change(store, form):
    def explode(event):
        raise RuntimeError("the UI crashed")

    handle = minga.observe(store, explode)
    sid = store.create_submission(form)
    assert store.submission(sid).id == sid
    handle.cancel()


def test_an_observer_may_read_the_store_it_observes(store, form):
    seen = []
    handle = minga.observe(store, lambda e: seen.append(store.submission(e.documents[0].id).status))
    store.create_submission(form)
    assert seen == [minga.Status.DRAFT]
    handle.cancel()
