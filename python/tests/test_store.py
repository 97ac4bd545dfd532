"""Stores and submissions through the Python bindings, against the real library and a real
SQLCipher file."""

import datetime

import pytest

import minga
from conftest import KEY


def path(name, *instances):
    return minga.AnswerPath(instances=list(instances), name=name)


def test_a_store_reopens_with_its_key_and_keeps_answers(store_path, form):
    store = minga.Store.open(store_path, KEY, "phone-1", "ana")
    sid = store.create_submission(form)
    store.set_answer(sid, path("village"), minga.Value.TEXT(text="San Rafael"))
    store.close()

    reopened = minga.Store.open(store_path, KEY, "phone-1", "ana")
    submission = reopened.submission(sid)
    assert submission.answers.fields["village"] == minga.Answer.VALUE(value=minga.Value.TEXT(text="San Rafael"))
    assert submission.form == form
    assert submission.created_by == "ana"
    assert submission.status == minga.Status.DRAFT
    reopened.close()


def test_a_wrong_key_is_a_typed_error_and_leaves_the_file_alone(store_path, form):
    minga.Store.open(store_path, KEY, "phone-1", "ana").close()
    with open(store_path, "rb") as f:
        before = f.read()
    with pytest.raises(minga.MingaError.WrongKey):
        minga.Store.open(store_path, bytes(32), "phone-1", "ana")
    with open(store_path, "rb") as f:
        assert f.read() == before


def test_a_file_that_is_not_a_store_is_reported_and_kept(tmp_path):
    other = tmp_path / "notes.db"
    other.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4080)
    with pytest.raises(minga.MingaError) as raised:
        minga.Store.open(str(other), KEY, "phone-1", "ana")
    assert isinstance(raised.value, (minga.MingaError.NotAStore, minga.MingaError.Corrupt))
    assert other.read_bytes().startswith(b"SQLite format 3")


def test_a_key_of_the_wrong_length_is_an_invalid_argument(store_path):
    with pytest.raises(minga.MingaError.InvalidArgument) as raised:
        minga.Store.open(store_path, b"short", "phone-1", "ana")
    assert "32 bytes" in str(raised.value)


def test_every_kind_of_value_round_trips(store, form):
    sid = store.create_submission(form)
    values = {
        "name": minga.Value.TEXT(text="Rosa Quishpe"),
        "age": minga.Value.INTEGER(value=34),
        "income": minga.Value.DECIMAL(value=412.5),
        "consent": minga.Value.CHOICE(name="yes"),
        "risks": minga.Value.CHOICES(names=["extortion", "theft"]),
        "visit_date": minga.Value.DATE(date=datetime.date(2026, 11, 29)),
        "visit_time": minga.Value.TIME(time=datetime.time(14, 5, 30)),
        "started": minga.Value.DATE_TIME(
            datetime=datetime.datetime(2026, 11, 29, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))
        ),
        "where": minga.Value.GEO_POINT(
            point=minga.GeoPoint(latitude=-0.1807, longitude=-78.4678, altitude=2850.0, accuracy=4.5)
        ),
        "photo": minga.Value.ATTACHMENT(
            attachment=minga.Attachment(sha256="ab" * 32, media_type="image/jpeg", file_name="door.jpg")
        ),
    }
    for name, value in values.items():
        store.set_answer(sid, path(name), value)
    fields = store.answers(sid).fields
    for name, value in values.items():
        got = fields[name].value
        if name == "risks":
            assert sorted(got.names) == ["extortion", "theft"]
        else:
            assert got == value, name


def test_repeats_keep_their_instances_and_answers(store, form):
    sid = store.create_submission(form)
    first = store.add_repeat_instance(sid, path("participants"), None)
    second = store.add_repeat_instance(sid, path("participants"), None)
    third = store.add_repeat_instance(sid, path("participants"), 0)
    for instance, name in [(first, "Luis"), (second, "Marta"), (third, "Inés")]:
        step = minga.InstanceRef(repeat="participants", instance_id=instance)
        store.set_answer(sid, path("participant_name", step), minga.Value.TEXT(text=name))

    store.move_repeat_instance(sid, path("participants"), third, 2)
    store.remove_repeat_instance(sid, path("participants"), first)

    repeat = store.answers(sid).fields["participants"]
    assert isinstance(repeat, minga.Answer.REPEAT)
    names = [i.answers.fields["participant_name"].value.text for i in repeat.instances]
    assert names == ["Marta", "Inés"]
    assert [i.id for i in repeat.instances] == [second, third]


def test_lists_page_filter_and_hide_deleted(store, form):
    other = minga.FormRef(form_id="dialogue", form_version="2", project_id=None)
    ids = [store.create_submission(form) for _ in range(5)] + [store.create_submission(other)]
    store.set_status(ids[0], minga.Status.COMPLETE)
    store.delete_submission(ids[1])

    everything = store.list_submissions(minga.SubmissionFilter(), None, 100)
    assert len(everything.items) == 5 and everything.next is None

    first = store.list_submissions(minga.SubmissionFilter(form_id="safety_walk"), None, 2)
    second = store.list_submissions(minga.SubmissionFilter(form_id="safety_walk"), first.next, 2)
    assert len(first.items) == 2 and len(second.items) == 2
    assert not {r.id for r in first.items} & {r.id for r in second.items}

    complete = store.list_submissions(minga.SubmissionFilter(status=minga.Status.COMPLETE), None, 10)
    assert [r.id for r in complete.items] == [ids[0]]

    with_deleted = store.list_submissions(minga.SubmissionFilter(include_deleted=True), None, 100)
    assert {r.id for r in with_deleted.items if r.deleted} == {ids[1]}
    store.restore_submission(ids[1])
    assert not store.submission(ids[1]).deleted


def test_concurrent_edits_show_as_a_conflict_and_settle(tmp_path, form):
    phone = minga.Store.open(str(tmp_path / "phone.minga"), KEY, "phone-1", "ana")
    office = minga.Store.open(str(tmp_path / "office.minga"), KEY, "tablet-9", "supervisor")
    sid = phone.create_submission(form)
    assert office.import_submission(phone.export_submission(sid)) == sid

    phone.set_answer(sid, path("households"), minga.Value.INTEGER(value=12))
    office.set_answer(sid, path("households"), minga.Value.INTEGER(value=15))
    phone.import_submission(office.export_submission(sid))

    [conflict] = phone.conflicts(sid)
    assert conflict.path.name == "households"
    assert sorted(v.value.value for v in conflict.values) == [12, 15]
    assert {v.author.user_name for v in conflict.values} == {"ana", "supervisor"}

    phone.resolve_conflict(sid, path("households"), minga.Value.INTEGER(value=15))
    assert phone.conflicts(sid) == []
    [only] = phone.answer_values(sid, path("households"))
    assert only.value == minga.Value.INTEGER(value=15)

    history = phone.history(sid)
    assert {entry.author.user_name for entry in history if entry.author} == {"ana", "supervisor"}
    assert any("households" in entry.answers for entry in history)
    assert all(isinstance(entry.time, datetime.datetime) for entry in history)
    phone.close()
    office.close()


def test_a_stores_own_changes_show_as_signed_by_its_own_key_wherever_they_are_read(tmp_path, form):
    phone = minga.Store.open(str(tmp_path / "phone.minga"), KEY, "phone-1", "ana")
    office = minga.Store.open(str(tmp_path / "office.minga"), KEY, "tablet-9", "supervisor")
    sid = phone.create_submission(form)
    phone.set_answer(sid, path("households"), minga.Value.INTEGER(value=12))
    office.import_submission(phone.export_submission(sid))

    phones = minga.ChangeSignature.SIGNED(key_fingerprint=phone.key_fingerprint())
    assert len(phone.key_fingerprint()) == 32 and phone.key_fingerprint() != office.key_fingerprint()
    assert phone.history(sid), "a new submission has changes"
    assert all(entry.signature == phones for entry in phone.history(sid))
    assert [entry.signature for entry in office.history(sid)] == [e.signature for e in phone.history(sid)]

    office.set_answer(sid, path("households"), minga.Value.INTEGER(value=15))
    latest = office.history(sid)[-1]
    assert latest.signature == minga.ChangeSignature.SIGNED(key_fingerprint=office.key_fingerprint())
    assert latest.author.user_name == "supervisor"
    phone.close()
    office.close()


def test_long_text_instance_name_and_integrity(store, form):
    sid = store.create_submission(form)
    notes = "La comunidad reporta extorsión a comerciantes. " * 50
    store.set_long_text(sid, path("notes"), notes)
    store.set_instance_name(sid, "San Rafael, 29 nov")
    assert store.answers(sid).fields["notes"].value.text == notes
    [row] = store.list_submissions(minga.SubmissionFilter(), None, 10).items
    assert row.instance_name == "San Rafael, 29 nov"
    store.clear_answer(sid, path("notes"))
    assert "notes" not in store.answers(sid).fields
    assert store.integrity_check() == ["ok"]
    assert store.unreadable_documents() == []
    assert store.identity() == minga.DeviceIdentity(device_id="phone-1", user_name="ana")
