"""Hostile input from Python: every bad call gets a typed error (or Python's own TypeError for
a wrong type), the process never crashes, and the store stays sound."""

import datetime
import threading

import openpyxl
import pytest

import minga


def path(name):
    return minga.AnswerPath(instances=[], name=name)


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", "../../etc/passwd", "\x00", "🙂" * 1000])
def test_malformed_ids_are_invalid_arguments(store, bad_id):
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.submission(bad_id)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.set_answer(bad_id, path("q"), minga.Value.INTEGER(value=1))


def test_an_unknown_id_is_not_found(store):
    with pytest.raises(minga.MingaError.NotFound):
        store.submission("0190c2a4-8a7e-7c3b-9f1e-2a3b4c5d6e7f")


def test_a_missing_repeat_instance_is_not_found(store, form):
    sid = store.create_submission(form)
    step = minga.InstanceRef(repeat="people", instance_id="nobody")
    with pytest.raises((minga.MingaError.NotFound, minga.MingaError.InvalidArgument)):
        store.set_answer(sid, minga.AnswerPath(instances=[step], name="age"), minga.Value.INTEGER(value=3))


def test_malformed_iso_strings_are_rejected_before_reaching_the_store(store, form):
    sid = store.create_submission(form)
    with pytest.raises((TypeError, AttributeError, minga.MingaError.InvalidArgument)):
        store.set_answer(sid, path("d"), minga.Value.DATE(date="29/11/2026"))
    assert store.answers(sid).fields == {}


def test_wrong_python_types_raise_before_any_call(store, form):
    sid = store.create_submission(form)
    with pytest.raises((TypeError, AttributeError)):
        store.set_answer(sid, path("q"), "just a string")
    with pytest.raises(TypeError):
        store.set_answer(sid, path("q"), minga.Value.INTEGER(value="12"))
    with pytest.raises(TypeError):
        store.submission(42)
    with pytest.raises((TypeError, ValueError, OverflowError)):
        store.set_answer(sid, path("q"), minga.Value.INTEGER(value=2**70))
    assert store.answers(sid).fields == {}


def point(latitude, longitude, altitude=None, accuracy=None):
    return minga.Value.GEO_POINT(point=minga.GeoPoint(latitude=latitude, longitude=longitude, altitude=altitude, accuracy=accuracy))


IMPOSSIBLE_POINTS = [
    (point(1000.0, 0.0), "latitude 1000"),
    (point(0.0, -500.0), "longitude -500"),
    (point(float("nan"), 0.0), "latitude NaN"),
    (point(0.0, float("inf")), "longitude inf"),
    (point(0.0, 0.0, altitude=float("-inf")), "altitude -inf"),
    (point(0.0, 0.0, accuracy=-3.0), "accuracy -3"),
]


@pytest.mark.parametrize("impossible,named", IMPOSSIBLE_POINTS)
def test_a_point_off_the_globe_is_an_invalid_answer_naming_the_question_and_why(store, form, impossible, named):
    sid = store.create_submission(form)
    here = point(0.35, -78.12, 2800.0, 4.0)
    store.set_answer(sid, path("where"), here)
    with pytest.raises(minga.MingaError.InvalidAnswer) as refused:
        store.set_answer(sid, path("where"), impossible)
    assert refused.value.question == "where" and named in refused.value.reason
    assert store.answers(sid).fields["where"] == minga.Answer.VALUE(value=here)


def test_a_session_refuses_a_point_off_the_globe_and_stores_nothing(store, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label"])
    book.active.append(["geopoint", "where", "Where?"])
    book.create_sheet("settings").append(["form_id", "version"])
    book["settings"].append(["walk", "1"])
    file = tmp_path / "walk.xlsx"
    book.save(file)
    form = minga.import_xlsform(file.read_bytes(), "walk.xlsx")
    sid = store.create_submission(form.form_ref())
    now = datetime.datetime.now(datetime.timezone.utc)
    session = store.start_form_session(sid, form, minga.Context(language=None, now=now, device_id="phone-1", user_name="ana"))
    with pytest.raises(minga.MingaError.InvalidAnswer) as refused:
        session.set(path("where"), point(91.0, 0.0))
    assert refused.value.question == "where" and "latitude 91" in refused.value.reason
    assert "where" not in store.answers(sid).fields and "where" not in session.answers().fields


def test_huge_strings_and_garbage_bytes(store, form):
    sid = store.create_submission(form)
    huge = "x" * (8 * 1024 * 1024)
    store.set_answer(sid, path("essay"), minga.Value.TEXT(text=huge))
    assert len(store.answers(sid).fields["essay"].value.text) == len(huge)
    odd_name = "x" * 100_000 + "\x00"
    store.set_answer(sid, path(odd_name), minga.Value.TEXT(text="a"))  # any string is a key
    assert store.answers(sid).fields[odd_name] == minga.Answer.VALUE(value=minga.Value.TEXT(text="a"))
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.import_submission(b"\x00\x01garbage" * 1000)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.create_submission(minga.FormRef(form_id="", form_version="1", project_id=None))
    assert store.integrity_check() == ["ok"]


def test_a_closed_store_refuses_every_call(store_path, form):
    from conftest import KEY

    store = minga.Store.open(store_path, KEY, "phone-1", "ana")
    sid = store.create_submission(form)
    handle = minga.observe(store, lambda e: None)
    store.close()
    store.close()  # idempotent
    assert store.is_closed()
    for call in [
        lambda: store.submission(sid),
        lambda: store.create_submission(form),
        lambda: store.set_answer(sid, path("q"), minga.Value.INTEGER(value=1)),
        lambda: store.list_submissions(minga.SubmissionFilter(), None, 10),
        lambda: store.observe(None),
    ]:
        with pytest.raises((minga.MingaError.Closed, TypeError)):
            call()
    with pytest.raises(minga.MingaError.Closed):
        store.history(sid)
    handle.cancel()  # safe after close


def on_threads(work, count):
    """Runs `work(n)` for n in range(count), each on its own thread at once; returns what they
    raised."""
    errors = []

    def run(n):
        try:
            work(n)
        except Exception as error:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_many_threads_at_once(store, form):
    sid = store.create_submission(form)

    def work(n):
        own = store.create_submission(form)
        for i in range(20):
            store.set_answer(own, path("count"), minga.Value.INTEGER(value=i))
            store.set_answer(sid, path(f"from_{n}"), minga.Value.INTEGER(value=i))
            store.list_submissions(minga.SubmissionFilter(), None, 5)
        with pytest.raises(minga.MingaError.InvalidArgument):
            store.submission("bad id")

    assert on_threads(work, 8) == []
    fields = store.answers(sid).fields
    assert all(fields[f"from_{n}"].value == minga.Value.INTEGER(value=19) for n in range(8))
    assert len(store.list_submissions(minga.SubmissionFilter(), None, 100).items) == 9


def test_closing_while_other_threads_call(store_path, form):
    from conftest import KEY

    store = minga.Store.open(store_path, KEY, "phone-1", "ana")
    sid = store.create_submission(form)
    outcomes = []

    def hammer():
        for i in range(200):
            try:
                store.set_answer(sid, path("q"), minga.Value.INTEGER(value=i))
                outcomes.append("ok")
            except minga.MingaError.Closed:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    store.close()
    for t in threads:
        t.join()
    assert set(outcomes) <= {"ok", "closed"}
    reopened = minga.Store.open(store_path, KEY, "phone-1", "ana")
    assert reopened.integrity_check() == ["ok"]
    reopened.close()


def test_a_session_over_wrongly_shaped_answers_never_crashes():
    form = next(f for f in minga.builtin_forms() if f.id() == "minga_stakeholder_dialogue")
    now = datetime.datetime.now(datetime.timezone.utc)
    answers = minga.Answers(
        fields={
            "dialogue_date": minga.Answer.VALUE(value=minga.Value.INTEGER(value=5)),
            "participants": minga.Answer.VALUE(value=minga.Value.TEXT(text="not a repeat")),
            "no_such_question": minga.Answer.REPEAT(instances=[]),
        }
    )
    session = form.session(answers, minga.Context(language=None, now=now, device_id="d", user_name="u"))
    session.set(path("dialogue_date"), minga.Value.TEXT(text="garbage" * 10_000))
    session.set(path("concerns"), minga.Value.CHOICES(names=["nope"] * 3))
    assert session.problems()
    step = minga.InstanceRef(repeat="participants", instance_id="nobody")
    with pytest.raises(minga.MingaError.InvalidArgument):
        session.set(minga.AnswerPath(instances=[step], name="sector"), minga.Value.CHOICE(name="x"))
    with pytest.raises(minga.MingaError.InvalidArgument):
        session.set(path("place"), None)  # a group, not a question


def test_sync_review_and_bundle_calls_on_a_closed_store_are_closed(tmp_path, form):
    store = minga.Store.open_unencrypted(str(tmp_path / "c.minga"), "phone-1", "ana")
    sid = store.create_submission(form)
    responder = store.responder(unenrolled=True)
    keys = minga.generate_bundle_keys()
    store.close()
    credentials = minga.HubCredentials(
        hub_url="http://127.0.0.1:9", project="p", device_id="d", role=minga.Role.FACILITATOR, token="t", hub_id="h"
    )
    for call in [
        lambda: minga.sync_with(store, lambda request: b"", "tablet-1", unenrolled=True),
        lambda: minga.sync_http(store, credentials),
        lambda: store.responder(unenrolled=True),
        lambda: responder.respond(b"hello"),
        lambda: store.write_bundle("tablet-1", keys.public_key, minga.BundleScope.EVERYTHING),
        lambda: store.import_bundle(keys.secret_key, b"x"),
        lambda: store.review(sid),
        lambda: store.set_review_state(sid, minga.ReviewState.APPROVED),
        lambda: store.add_review_comment(sid, "x", None),
        lambda: store.start_sync_agent(credentials),
        lambda: store.forms(),
        lambda: store.latest_form("minga_stakeholder_dialogue"),
        lambda: minga.observe_sync(store, lambda event: None),
        lambda: store.export([], minga.ExportFormat.CSV, str(tmp_path / "out")),
    ]:
        with pytest.raises(minga.MingaError.Closed):
            call()


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid", "\x00", "🙂" * 1000])
def test_malformed_ids_in_the_new_calls_are_invalid_arguments(store, bad_id):
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.review(bad_id)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.add_review_comment(bad_id, "x", None)
    credentials = minga.HubCredentials(
        hub_url=bad_id, project="p", device_id="d", role=minga.Role.FACILITATOR, token="t", hub_id="h"
    )
    with pytest.raises(minga.MingaError.InvalidArgument):
        minga.sync_http(store, credentials)
    with pytest.raises(minga.MingaError.InvalidArgument):
        minga.enrol(bad_id, "ABCD-EFGH-JKMN")


@pytest.mark.parametrize("bad_peer", ["", "x" * 129])
def test_a_peer_id_that_cannot_be_one_is_an_invalid_argument(store, bad_peer):
    with pytest.raises(minga.MingaError.InvalidArgument):
        minga.sync_with(store, lambda request: b"", bad_peer, unenrolled=True)
    with pytest.raises(minga.MingaError.InvalidArgument):
        store.write_bundle(bad_peer, minga.generate_bundle_keys().public_key, minga.BundleScope.EVERYTHING)


def test_many_phones_sync_with_one_tablet_at_once(tmp_path, form):
    tablet = minga.Store.open_unencrypted(str(tmp_path / "tablet.minga"), "tablet-1", "sara")

    def phone(n):
        own = minga.Store.open_unencrypted(str(tmp_path / f"p{n}.minga"), f"phone-{n}", "ana")
        sid = own.create_submission(form)
        responder = tablet.responder(unenrolled=True)  # one responder per peer
        for _ in range(3):
            minga.sync_with(own, responder.respond, "tablet-1", unenrolled=True)
            tablet.set_review_state(sid, minga.ReviewState.HAS_ISSUES)
        minga.sync_with(own, responder.respond, "tablet-1", unenrolled=True)
        assert own.review(sid).state == minga.ReviewState.HAS_ISSUES
        own.close()

    assert on_threads(phone, 6) == []
    assert len(tablet.list_submissions(minga.SubmissionFilter(), None, 100).items) == 6
    assert tablet.integrity_check() == ["ok"]
    tablet.close()


def test_answers_that_do_not_fit_the_published_form_are_invalid_answers(store, tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "survey"
    book.active.append(["type", "name", "label", "required"])
    book.active.append(["integer", "age", "Age?", "yes"])
    book.active.append(["select_one yes_no", "safe", "Safe?", ""])
    book.create_sheet("choices").append(["list_name", "name", "label"])
    book["choices"].append(["yes_no", "yes", "Yes"])
    book["choices"].append(["yes_no", "no", "No"])
    book.create_sheet("settings").append(["form_id", "version"])
    book["settings"].append(["checked", "1"])
    file = tmp_path / "checked.xlsx"
    book.save(file)
    form = minga.import_xlsform(file.read_bytes(), "checked.xlsx")
    store.publish_form(form)
    sid = store.create_submission(form.form_ref())
    refusals = [
        (path("colour"), minga.Value.TEXT(text="red"), "has no question colour"),
        (path("age"), minga.Value.TEXT(text="ten"), "integer question"),
        (path("safe"), minga.Value.CHOICE(name="maybe"), "not a choice of the list yes_no"),
    ]
    for where, value, why in refusals:
        with pytest.raises(minga.MingaError.InvalidAnswer) as refused:
            store.set_answer(sid, where, value)
        assert refused.value.question == where.name and why in refused.value.reason
    with pytest.raises(minga.MingaError.InvalidAnswer) as refused:
        store.set_status(sid, minga.Status.COMPLETE)
    assert refused.value.question == "age" and "required" in refused.value.reason
    assert store.answers(sid).fields == {}
