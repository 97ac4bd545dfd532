"""Forms through the Python bindings: built-in templates, XLSForm import with located
mistakes, the form's tree, and evaluation sessions (skip logic, validation, repeats; opened
from the store, one that stores defaults and counted repeats by itself; labels that show
answers, a name used in two groups)."""

import datetime

import openpyxl
import pytest

import minga

SPANISH = "Español (es)"


def context(language=SPANISH):
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=-5)))
    return minga.Context(language=language, now=now, device_id="phone-1", user_name="ana")


def path(name, *instances):
    return minga.AnswerPath(instances=list(instances), name=name)


@pytest.fixture
def dialogue():
    forms = {form.id(): form for form in minga.builtin_forms()}
    assert set(forms) == {"minga_stakeholder_dialogue", "minga_community_safety_assessment"}
    return forms["minga_stakeholder_dialogue"]


def test_the_built_in_forms_are_bilingual_trees(dialogue):
    definition = dialogue.definition()
    assert definition.languages == [SPANISH, "English (en)"] or set(definition.languages) >= {SPANISH, "English (en)"}
    names = []

    def walk(items):
        for item in items:
            if isinstance(item, minga.FormItem.QUESTION):
                names.append(item.question.name)
            else:
                walk(item.children)

    walk(definition.survey)
    assert {"dialogue_date", "province", "canton", "participant_count"} <= set(names)
    [dialogue_type] = [i.question for i in definition.survey if isinstance(i, minga.FormItem.QUESTION) and i.question.name == "dialogue_type"]
    assert dialogue_type.kind == minga.QuestionKind(base="select_one", list="dialogue_type")
    assert dialogue_type.label[SPANISH] == "Tipo de diálogo"
    assert any(c.name == "other" for c in definition.choices["dialogue_type"])
    assert dialogue.form_ref() == minga.FormRef(form_id=definition.id, form_version=definition.version, project_id=None)


def test_a_session_evaluates_skip_logic_validation_and_repeats(store, dialogue):
    sid = store.create_submission(dialogue.form_ref())
    session = dialogue.session(store.answers(sid), context())

    missing = {issue.path.name for issue in session.problems() if isinstance(issue, minga.Issue.MISSING)}
    assert "dialogue_date" in missing

    future = minga.Value.DATE(date=datetime.date.today() + datetime.timedelta(days=3))
    store.set_answer(sid, path("dialogue_date"), future)
    delta = session.set(path("dialogue_date"), future)
    assert not delta.everything
    [broken] = [i for i in session.problems() if isinstance(i, minga.Issue.CONSTRAINT)]
    assert broken.message == "La fecha no puede estar en el futuro."
    assert session.item(path("dialogue_date")).violation == "La fecha no puede estar en el futuro."

    assert session.item(path("dialogue_type_other")).relevant is False
    session.set(path("dialogue_type"), minga.Value.CHOICE(name="other"))
    assert session.item(path("dialogue_type_other")).relevant is True

    for _ in range(3):
        instance = store.add_repeat_instance(sid, path("participants"), None)
        assert session.add_instance(path("participants"), instance).everything
    count = session.item(path("participant_count")).value
    assert count == minga.Computed.NUMBER(value=3.0)
    state_paths = [entry.path for entry in session.state()]
    assert sum(1 for p in state_paths if p.name == "sector") == 3


def test_session_errors_are_typed(dialogue):
    session = dialogue.session(minga.Answers(fields={}), context("English (en)"))
    with pytest.raises(minga.MingaError.InvalidArgument):
        session.set(path("no_such_question"), minga.Value.TEXT(text="x"))
    with pytest.raises(minga.MingaError.InvalidArgument):
        session.add_instance(path("dialogue_date"), "i1")
    assert session.item(path("no_such_question")) is None
    english = [i.message for i in session.problems() if isinstance(i, minga.Issue.MISSING)]
    assert "This question is required." in english


def test_the_workbooks_import_and_a_broken_one_is_located(tmp_path):
    for workbook in minga.builtin_form_workbooks():
        form = minga.import_xlsform(workbook.xlsx, workbook.file_name)
        assert form.id() == workbook.form_id
    with pytest.raises(minga.MingaError.InvalidForm) as raised:
        minga.import_xlsform(b"not a spreadsheet", "broken.xlsx")
    assert raised.value.mistakes and raised.value.mistakes[0].message


def test_an_xlsform_with_mistakes_reports_each_with_sheet_row_and_column(tmp_path):
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    survey.append(["text", "name", "Name"])
    survey.append(["select_one nowhere", "pick", "Pick"])
    survey.append(["integer", "name", "Duplicate"])
    book.create_sheet("choices").append(["list_name", "name", "label"])
    file = tmp_path / "mistakes.xlsx"
    book.save(file)
    with pytest.raises(minga.MingaError.InvalidForm) as raised:
        minga.import_xlsform(file.read_bytes(), "mistakes.xlsx")
    located = {(m.sheet, m.row) for m in raised.value.mistakes}
    assert ("survey", 3) in located and ("survey", 4) in located


def visit_form(tmp_path):
    """An XLSForm: a count defaulting to 2, a village defaulting to Tumbaco, and a repeat of
    people that follows the count, each with an age defaulting to 30."""
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "default", "repeat_count"])
    survey.append(["integer", "count", "How many?", "2", None])
    survey.append(["text", "village", "Village", "Tumbaco", None])
    survey.append(["begin_repeat", "people", "People", None, "${count}"])
    survey.append(["integer", "age", "Age", "30", None])
    survey.append(["text", "pname", "Name", None, None])
    survey.append(["end_repeat", None, None, None, None])
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version"])
    settings.append(["Visit", "visit", "1"])
    file = tmp_path / "visit.xlsx"
    book.save(file)
    return minga.import_xlsform(file.read_bytes(), "visit.xlsx")


def people(store, sid):
    return store.answers(sid).fields["people"].instances


def test_a_session_opened_from_the_store_stores_defaults_and_counted_repeats(store, tmp_path):
    form = visit_form(tmp_path)
    sid = store.create_submission(form.form_ref())
    changes = []
    handle = minga.observe(store, changes.append)
    session = store.start_form_session(sid, form, context())
    assert len(changes) == 1, "the start is one change"
    assert session.submission_id() == sid
    stored = store.answers(sid)
    assert stored == session.answers()
    assert stored.fields["village"] == minga.Answer.VALUE(value=minga.Value.TEXT(text="Tumbaco"))
    thirty = minga.Answer.VALUE(value=minga.Value.INTEGER(value=30))
    assert [person.answers.fields["age"] for person in people(store, sid)] == [thirty, thirty]

    session.set(path("count"), minga.Value.INTEGER(value=4))
    assert len(changes) == 2, "the answer and the instances it adds are one change"
    assert len(people(store, sid)) == 4
    session.set(path("count"), minga.Value.INTEGER(value=1))
    [kept] = people(store, sid)
    session.set(path("village"), None)
    assert "village" not in store.answers(sid).fields
    assert store.answers(sid) == session.answers()

    with pytest.raises(minga.MingaError.Conflict):
        store.start_form_session(sid, form, context())
    reopened = store.open_form_session(sid, form, context())
    assert reopened.answers() == store.answers(sid)
    assert "village" not in reopened.answers().fields, "no default again"
    [same] = people(store, sid)
    assert same.id == kept.id
    handle.cancel()


def test_labels_show_answers_and_a_name_in_two_groups_is_stored_under_its_path(store, tmp_path):
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label"])
    for group, label in [("site", "Site name"), ("owner", "Owner name")]:
        survey.append(["begin_group", group, group.title()])
        survey.append(["text", "name", label])
        survey.append(["end_group", None, None])
    survey.append(["integer", "visits", "Visits"])
    survey.append(["note", "summary", "${visits} visits so far"])
    file = tmp_path / "site.xlsx"
    book.save(file)
    form = minga.import_xlsform(file.read_bytes(), "site.xlsx")
    sid = store.create_submission(form.form_ref())
    session = store.start_form_session(sid, form, context())

    assert session.item(path("summary")).label == " visits so far"
    delta = session.set(path("visits"), minga.Value.INTEGER(value=3))
    assert path("summary") in delta.changed
    assert session.item(path("summary")).label == "3 visits so far"
    assert session.item(path("site/name")).label == "Site name"

    session.set(path("site/name"), minga.Value.TEXT(text="Escuela Río Verde"))
    session.set(path("owner/name"), minga.Value.TEXT(text="Parroquia"))
    fields = store.answers(sid).fields
    assert fields["site/name"] == minga.Answer.VALUE(value=minga.Value.TEXT(text="Escuela Río Verde"))
    assert fields["owner/name"] == minga.Answer.VALUE(value=minga.Value.TEXT(text="Parroquia"))


def test_a_session_not_opened_from_the_store_cannot_make_instances(store, dialogue):
    session = dialogue.session(minga.Answers(fields={}), context())
    assert session.submission_id() is None
    with pytest.raises(minga.MingaError.InvalidArgument):
        session.new_instance(path("participants"))
