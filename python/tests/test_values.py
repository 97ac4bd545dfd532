"""Answers as plain Python values (the README's type table): each type written as a Python value
reads back equal and of its type, through a real store; repeats read as lists of instances; a
store's submissions become records and a pandas DataFrame."""

import datetime

import pandas
import pytest

import minga

ECUADOR = datetime.timezone(datetime.timedelta(hours=-5))

# (question type, Python value, Value variant the store holds): the README's table.
ROUND_TRIPS = [
    ("text", "San Rafael", minga.Value.TEXT),
    ("integer", -4, minga.Value.INTEGER),
    ("decimal", 2.5, minga.Value.DECIMAL),
    ("select_one", "yes", minga.Value.CHOICE),
    ("select_multiple", ["fights", "theft"], minga.Value.CHOICES),
    ("date", datetime.date(2026, 11, 29), minga.Value.DATE),
    ("time", datetime.time(14, 5, 30), minga.Value.TIME),
    ("date_time", datetime.datetime(2026, 11, 29, 14, 5, tzinfo=ECUADOR), minga.Value.DATE_TIME),
    ("geo_point", minga.Point(-0.18, -78.47, 2850.0, 5.0), minga.Value.GEO_POINT),
]


@pytest.mark.parametrize("kind, plain, variant", ROUND_TRIPS, ids=[kind for kind, _, _ in ROUND_TRIPS])
def test_each_answer_type_round_trips_as_a_plain_value(store, form, kind, plain, variant):
    sid = store.create_submission(form)
    store.set_answer(sid, minga.path("q"), minga.to_value(plain, kind))
    stored = store.answer_values(sid, minga.path("q"))[0].value
    assert isinstance(stored, variant)
    back = store.get(sid, "q")
    assert back == plain and type(back) is type(plain)
    assert store.values(sid) == {"q": plain}


def test_a_str_is_text_unless_the_form_or_a_selected_says_it_is_a_choice(store, form):
    dialogue = next(f for f in minga.builtin_forms() if f.form_id == "minga_stakeholder_dialogue")
    assert minga.to_value("x") == minga.Value.TEXT(text="x")
    assert minga.to_value(minga.Selected("x")) == minga.Value.CHOICE(name="x")
    sid = store.create_submission(dialogue.form_ref())
    store.set(sid, "dialogue_type", "other", form=dialogue)
    assert isinstance(store.answer_values(sid, minga.path("dialogue_type"))[0].value, minga.Value.CHOICE)
    store.set(sid, "dialogue_type", None)
    assert store.get(sid, "dialogue_type") is None


def test_values_no_answer_holds_are_refused_before_the_store(store, form):
    for wrong in (True, datetime.datetime(2026, 1, 1), object(), [1, 2]):
        with pytest.raises(TypeError):
            minga.to_value(wrong)


def test_a_repeat_reads_as_a_list_of_instances_with_their_ids(store, form):
    sid = store.create_submission(form)
    first = store.add_repeat_instance(sid, minga.path("people"), None)
    second = store.add_repeat_instance(sid, minga.path("people"), None)
    store.set(sid, "age", 34, people=first)
    store.set(sid, f"people[{second}]/name", "Rosa")
    people = store.values(sid)["people"]
    assert [p.id for p in people] == [first, second]
    assert people == [{"age": 34}, {"name": "Rosa"}]
    assert store.get(sid, f"people[{first}]/age") == 34


def test_submissions_become_records_and_a_dataframe_for_analysis(store, form):
    ids = []
    for n, village in enumerate(["San Rafael", "Ibarra"]):
        sid = store.create_submission(form)
        store.set(sid, "village", village)
        store.set(sid, "households", 10 + n)
        store.set(sid, "where", minga.Point(-0.35, -78.12))
        ids.append(sid)
    store.set(ids[0], "status", "a question named like a row field")
    store.set_status(ids[0], minga.Status.COMPLETE)
    records = store.to_records(form_id=form.form_id)
    assert {r["id"] for r in records} == set(ids)
    first = next(r for r in records if r["id"] == ids[0])
    assert (first["village"], first["households"], first["status"]) == ("San Rafael", 10, "complete")
    assert (first["latitude"], first["longitude"]) == (-0.35, -78.12)
    assert first["answer_status"] == "a question named like a row field"

    frame = store.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert frame.loc[ids[1], "village"] == "Ibarra"
    assert frame["households"].sum() == 21
    assert str(frame["households"].dtype) == "int64"
    assert frame.loc[ids[0], "has_conflicts"] == False  # noqa: E712  (a numpy bool)
    assert store.to_dataframe(form_id="none").empty
