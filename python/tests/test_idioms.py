"""The package's Python idioms over the generated module: readable reprs and signatures, stores
in `with`, lists with keyword filters and an iterator over pages, paths from text, forms and
published forms with the same attributes, choices with their labels, and the conflicts and
invalid filters."""

import inspect

import pytest

import minga
from conftest import KEY

DIALOGUE = "minga_stakeholder_dialogue"


@pytest.fixture
def dialogue():
    return next(f for f in minga.builtin_forms() if f.form_id == DIALOGUE)


def test_records_and_variants_print_their_fields():
    where = minga.path("participants[p1]/age")
    assert repr(where) == (
        "AnswerPath(instances=[InstanceRef(repeat='participants', instance_id='p1')], name='age')"
    )
    assert repr(minga.FormRef(form_id="f", form_version="1")) == "FormRef(form_id='f', form_version='1', project_id=None)"
    assert repr(minga.Value.TEXT(text="hola")) == "Value.TEXT(text='hola')"
    assert repr([minga.Status.DRAFT]) == "[<Status.DRAFT: 0>]"


def test_the_choices_of_a_form_print_with_their_labels(dialogue):
    choices = dialogue.choices_of("dialogue_type")
    assert repr(choices).startswith("[Choice(name=")
    assert all(c.label for c in choices) and "label={" in repr(choices[0])
    assert str(choices[0]) == repr(choices[0]) and "name='" in str(choices[0])


def test_signatures_show_real_defaults_not_a_sentinel():
    for shown in (inspect.signature(minga.AnswerPath), inspect.signature(minga.SubmissionFilter)):
        assert "object object" not in str(shown), shown
    assert str(inspect.signature(minga.AnswerPath)) == "(*, instances: 'typing.List[InstanceRef]' = [], name: 'str')"
    assert str(inspect.signature(minga.Store.sync_http)).startswith(
        "(self, hub: 'HubCredentials', settings: 'typing.Optional[HttpSettings]' = None,"
    )
    # The sentinel still works: a record made without the argument gets the real default.
    assert minga.AnswerPath(name="q").instances == []


def test_a_store_in_a_with_block_is_closed_after_it(store_path):
    with minga.Store.open(store_path, KEY, "phone-1", "ana") as store:
        store.create_submission(minga.FormRef(form_id="f", form_version="1"))
    assert store.is_closed()
    with pytest.raises(minga.MingaError.Closed):
        store.last_seq()


def test_lists_take_keyword_conditions_and_iterate_over_every_page(store):
    made = [store.create_submission(minga.FormRef(form_id="f" if n % 2 else "g", form_version="1")) for n in range(7)]
    assert len(store.list_submissions().items) == 7
    assert len(store.list_submissions(limit=2).items) == 2
    first = store.list_submissions(form_id="f", limit=2)
    second = store.list_submissions(form_id="f", after=first.next, limit=2)
    assert {r.id for r in first.items}.isdisjoint(r.id for r in second.items)
    # The generated call, positional, still works.
    assert len(store.list_submissions(minga.SubmissionFilter(form_id="g"), None, 10).items) == 4
    every = list(store.submissions(page_size=3))
    assert sorted(r.id for r in every) == sorted(made)
    assert {r.form.form_id for r in store.submissions(form_id="g", page_size=2)} == {"g"}
    with pytest.raises(TypeError):
        store.list_submissions(minga.SubmissionFilter(), form_id="f")


def test_paths_read_from_text_or_keywords():
    nested = minga.path("visits[v1]/people[p2]/age")
    assert [(i.repeat, i.instance_id) for i in nested.instances] == [("visits", "v1"), ("people", "p2")]
    assert minga.path("age", visits="v1", people="p2") == nested
    assert minga.path("village") == minga.AnswerPath(instances=[], name="village")
    assert minga.path(nested) is nested
    for broken in ("visits/age", "visits[v1]/", "a[b]"):
        with pytest.raises(ValueError):
            minga.path(broken)


def test_forms_and_published_forms_share_their_attributes(store, dialogue):
    store.publish_form(dialogue)
    [published] = store.forms()
    assert (published.form_id, published.form_version) == (dialogue.form_id, dialogue.form_version)
    ref = dialogue.form_ref()
    assert (ref.form_id, ref.form_version) == (dialogue.form_id, dialogue.form_version)
    assert dialogue.form_id == dialogue.id() and dialogue.form_version == dialogue.version()


def test_a_session_offers_its_filtered_choices_with_their_labels(store, dialogue):
    import datetime

    sid = store.create_submission(dialogue.form_ref())
    now = datetime.datetime.now(datetime.timezone.utc)
    context = minga.Context(language="English (en)", now=now, device_id="phone-1", user_name="ana")
    session = store.start_form_session(sid, dialogue, context)
    provinces = session.choice_options("province")
    assert [c.name for c in provinces] == [c.name for c in dialogue.choices_of("province")]
    province = provinces[0]
    session.set_answer("province", province.name)
    assert store.values(sid)["province"] == province.name
    cantons = session.choice_options("canton")
    names = session.item(minga.path("canton")).choices
    assert [c.name for c in cantons] == names and cantons, "the filter's names, in list order"
    assert len(cantons) < len(dialogue.choices_of("canton"))
    assert all("English (en)" in c.label for c in cantons)


def test_the_store_lists_the_submissions_with_conflicts_from_its_projection(tmp_path, store):
    form = minga.FormRef(form_id="f", form_version="1")
    calm = store.create_submission(form)
    sid = store.create_submission(form)
    with minga.Store.open_unencrypted(str(tmp_path / "other.minga"), "phone-2", "luis") as other:
        other.import_submission(store.export_submission(sid))
        store.set(sid, "q", 1)
        other.set(sid, "q", 2)
        store.import_submission(other.export_submission(sid))
    assert [r.id for r in store.submissions(has_conflicts=True)] == [sid]
    assert [r.id for r in store.submissions(has_conflicts=False)] == [calm]
    flagged = {r.id: r.has_conflicts for r in store.submissions()}
    assert flagged == {sid: True, calm: False}
    store.resolve_conflict(sid, minga.path("q"), minga.to_value(3))
    assert list(store.submissions(has_conflicts=True)) == []


def test_what_arrives_breaking_its_form_is_kept_flagged_and_listed_with_its_reasons(tmp_path, store, dialogue):
    store.publish_form(dialogue)
    typed = store.create_submission(dialogue.form_ref())
    with minga.Store.open_unencrypted(str(tmp_path / "other.minga"), "phone-2", "luis") as other:
        sid = other.create_submission(dialogue.form_ref())
        other.set(sid, "colour", "red")  # the other store lacks the form: nothing checks it
        store.import_submission(other.export_submission(sid))
    assert store.values(sid)["colour"] == "red", "kept"
    assert [r.id for r in store.submissions(invalid=True)] == [sid]
    assert {r.id: r.invalid for r in store.submissions()} == {sid: True, typed: False}
    assert {r["id"]: r["invalid"] for r in store.to_records(answers=False)} == {sid: True, typed: False}
    reasons = store.invalid_reasons(sid)
    assert [r.question for r in reasons] == ["colour"]
    assert "has no question colour" in reasons[0].reason
    assert store.invalid_reasons(typed) == []
