"""Reviews: a supervisor's verdict and comments on a submission, read back, synced to the
facilitator's store, and flagged when the submission is edited after the verdict."""

import datetime

import pytest

import minga


def path(name):
    return minga.AnswerPath(instances=[], name=name)


def test_a_verdict_and_comments_read_back(store, form):
    sid = store.create_submission(form)
    assert store.review(sid) is None
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)

    store.set_review_state(sid, minga.ReviewState.HAS_ISSUES)
    store.add_review_comment(sid, "¿Cuántas personas asistieron?", "people")
    store.add_review_comment(sid, "Good notes overall", None)

    review = store.review(sid)
    assert review.submission == sid and review.id != sid
    assert review.state == minga.ReviewState.HAS_ISSUES
    assert review.decided_by == "ana" and review.decided_at >= before
    assert [(c.text, c.question, c.by) for c in review.comments] == [
        ("¿Cuántas personas asistieron?", "people", "ana"),
        ("Good notes overall", None, "ana"),
    ]
    assert len(review.judged_heads) == 1 and not review.edited_since_judged


def test_an_edit_after_the_verdict_is_flagged(store, form):
    sid = store.create_submission(form)
    store.set_review_state(sid, minga.ReviewState.APPROVED)
    store.set_answer(sid, path("age"), minga.Value.INTEGER(value=33))
    assert store.review(sid).edited_since_judged
    store.set_review_state(sid, minga.ReviewState.APPROVED)
    assert not store.review(sid).edited_since_judged


def test_a_review_syncs_to_the_facilitator_and_its_observer_hears_it(tmp_path, form):
    phone = minga.Store.open_unencrypted(str(tmp_path / "phone.minga"), "phone-1", "ana")
    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")
    sid = phone.create_submission(form)
    responder = tablet.responder(unenrolled=True)
    minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True)
    tablet.set_review_state(sid, minga.ReviewState.REJECTED)
    tablet.add_review_comment(sid, "Wrong village", "village")

    events = []
    handle = minga.observe(phone, events.append)
    assert minga.sync_with(phone, responder.respond, "tablet-1", unenrolled=True).received == 1
    review = phone.review(sid)
    assert review.state == minga.ReviewState.REJECTED and review.decided_by == "sara"
    assert [(d.id, d.kind, d.by_sync) for e in events for d in e.documents] == [
        (review.id, minga.DocKind.REVIEW, True)
    ]
    handle.cancel()
    phone.close()
    tablet.close()


def test_reviews_of_what_is_not_a_submission_are_refused(store, form):
    with pytest.raises(minga.MingaError.NotFound):
        store.set_review_state("0190c2a4-8a7e-7c3b-9f1e-2a3b4c5d6e7f", minga.ReviewState.APPROVED)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.review("not-an-id")
    sid = store.create_submission(form)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.add_review_comment(sid, "   ", None)
    store.set_review_state(sid, minga.ReviewState.RECEIVED)
    review_id = store.review(sid).id
    with pytest.raises(minga.MingaError.NotFound):
        store.set_review_state(review_id, minga.ReviewState.APPROVED)  # a review is not a submission
    assert store.review(sid).comments == []


def test_a_supervisors_list_shows_and_filters_by_verdict(store, form):
    approved, flagged, waiting = (store.create_submission(form) for _ in range(3))
    store.set_review_state(approved, minga.ReviewState.APPROVED)
    store.set_review_state(flagged, minga.ReviewState.HAS_ISSUES)

    rows = store.list_submissions(minga.SubmissionFilter(), None, 10).items
    assert {row.id: row.review_state for row in rows} == {
        approved: minga.ReviewState.APPROVED,
        flagged: minga.ReviewState.HAS_ISSUES,
        waiting: None,
    }
    awaiting = minga.SubmissionFilter(review_state=minga.ReviewState.RECEIVED)
    assert [row.id for row in store.list_submissions(awaiting, None, 10).items] == [waiting]
