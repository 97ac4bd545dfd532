"""The idiomatic layer's methods on the generated classes: stores as context managers, lists
with keyword filters and an iterator over pages, answers as plain values, records for pandas,
forms and published forms with the same attributes, choices with their labels, credentials
from JSON. Each is a few lines over one library call; nothing here decides what the core does.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Iterator, List, Optional

from . import minga as generated
from .minga import (
    Choice,
    Form,
    FormItem,
    FormSession,
    HubCredentials,
    PublishedForm,
    Question,
    Store,
    SubmissionFilter,
    SubmissionPage,
    SubmissionSummary,
)
from .values import PlainValue, from_answers, from_value, path, to_value

# How many rows one page of `Store.submissions` asks for.
PAGE_SIZE = 100


def _filter(filter: Optional[SubmissionFilter], conditions: Dict[str, Any]) -> SubmissionFilter:
    if filter is not None and conditions:
        raise TypeError("give a SubmissionFilter or keyword conditions, not both")
    return filter if filter is not None else SubmissionFilter(**conditions)


# -- Store ---------------------------------------------------------------------------------

_list_page = Store.list_submissions


def list_submissions(
    self: Store, filter: Optional[SubmissionFilter] = None, after=None, limit: int = PAGE_SIZE, **conditions
) -> SubmissionPage:
    """One page of at most `limit` submissions, most recently changed first, after `after`
    (the previous page's `next`). Conditions as a `SubmissionFilter` or as its keywords:
    `form_id`, `form_version`, `status`, `author`, `review_state`, `has_conflicts`, `invalid`,
    `include_deleted`. Cost: an index scan of the page; no document is decoded."""
    return _list_page(self, _filter(filter, conditions), after, limit)


def submissions(
    self: Store, filter: Optional[SubmissionFilter] = None, *, page_size: int = PAGE_SIZE, **conditions
) -> Iterator[SubmissionSummary]:
    """Every submission matching the conditions (as `list_submissions`), page by page as the
    iteration goes on. Cost: one list call per `page_size` rows."""
    chosen = _filter(filter, conditions)
    after = None
    while True:
        page = _list_page(self, chosen, after, page_size)
        yield from page.items
        if page.next is None:
            return
        after = page.next


def values(self: Store, submission: str) -> Dict[str, Any]:
    """The submission's answers as plain Python values by name (a repeat: a list of
    `Instance`s, dicts with an `id`)."""
    return from_answers(self.answers(submission))


def get(self: Store, submission: str, where, **repeats: str) -> Optional[PlainValue]:
    """The answer at `where` (`"name"`, `"repeat[id]/name"`, an `AnswerPath`) as a plain value;
    none if unanswered. In conflict, the value plain reads show (see `conflicts`)."""
    shown = [v for v in self.answer_values(submission, path(where, **repeats)) if v.shown]
    return from_value(shown[0].value) if shown else None


def set_value(self: Store, submission: str, where, value, *, form: Optional[Form] = None, **repeats: str) -> None:
    """Sets the answer at `where` to a plain value (none clears it). With the submission's
    `form`, the question's type decides what a `str` or a list is (a select_one's option
    name); without, a `str` is text. Durable on return."""
    at = path(where, **repeats)
    if value is None:
        self.clear_answer(submission, at)
        return
    kind = form.question_kind(at.name) if form is not None else None
    self.set_answer(submission, at, to_value(value, kind))


_RECORD_FIELDS = ("id", "form_id", "form_version", "status", "author", "created_at", "updated_at",
                  "instance_name", "latitude", "longitude", "review_state", "has_conflicts", "invalid",
                  "deleted")


def _record(summary: SubmissionSummary) -> Dict[str, Any]:
    location = summary.location
    return {
        "id": summary.id,
        "form_id": summary.form.form_id,
        "form_version": summary.form.form_version,
        "status": summary.status.name.lower(),
        "author": summary.author,
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "instance_name": summary.instance_name,
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "review_state": summary.review_state.name.lower() if summary.review_state else None,
        "has_conflicts": summary.has_conflicts,
        "invalid": summary.invalid,
        "deleted": summary.deleted,
    }


def to_records(
    self: Store, filter: Optional[SubmissionFilter] = None, *, answers: bool = True, **conditions
) -> List[Dict[str, Any]]:
    """One dict per matching submission (conditions as `list_submissions`): its list row
    (`id`, `form_id`, `status`, `author`, times, `latitude`, `review_state`, `has_conflicts`,
    `invalid`...)
    and, with `answers`, its top-level answers as plain values by question name (a repeat as
    a list of dicts; a question named like a row field, such as `status`, as `answer_status`). What `pandas.DataFrame.from_records` takes. Cost: one list call per
    page, and with `answers` one read of each submission."""
    records = []
    for summary in submissions(self, filter, **conditions):
        record = _record(summary)
        if answers:
            for name, value in values(self, summary.id).items():
                record["answer_" + name if name in _RECORD_FIELDS else name] = value
        records.append(record)
    return records


def to_dataframe(self: Store, filter: Optional[SubmissionFilter] = None, *, answers: bool = True, **conditions):
    """`to_records` as a pandas DataFrame, one row per submission, indexed by id (needs pandas:
    `pip install minga[pandas]`)."""
    try:
        import pandas
    except ImportError as missing:
        raise ImportError("to_dataframe needs pandas: pip install pandas (or use to_records)") from missing
    records = to_records(self, filter, answers=answers, **conditions)
    return pandas.DataFrame.from_records(records, columns=None if records else list(_RECORD_FIELDS), index="id")


def _enter(self: Store) -> Store:
    return self


def _exit(self: Store, *exception) -> None:
    self.close()


# -- Forms ---------------------------------------------------------------------------------

def _questions(items) -> Iterator[Question]:
    for item in items:
        if isinstance(item, FormItem.QUESTION):
            yield item.question
        else:
            yield from _questions(item.children)


def question(self: Form, name: str) -> Question:
    """The question named `name`, wherever it is in the form (names are unique); `KeyError` if
    none. Cost: one walk over the form's tree."""
    found = next((q for q in _questions(self.definition().survey) if q.name == name), None)
    if found is None:
        raise KeyError(f"form {self.id()} has no question {name!r}")
    return found


def question_kind(self: Form, name: str) -> str:
    """The type of question `name` as the form model names it (`text`, `select_one`, ...)."""
    return question(self, name).kind.base


def choices_of(self: Form, name: str) -> List[Choice]:
    """Every option of question `name`'s choice list, with its labels by language, in list
    order; empty for a question without one."""
    definition = self.definition()
    kind = question(self, name).kind
    return list(definition.choices.get(kind.list, [])) if kind.list else []


def _remembering_form(open_session):
    """`open_session` (a call that returns a FormSession for a form), whose session keeps the
    form for `FormSession.choice_options` and `set_answer`."""

    @functools.wraps(open_session)
    def opened(*args, **kwargs):
        session = open_session(*args, **kwargs)
        session._minga_form = next(a for a in (*args, *kwargs.values()) if isinstance(a, Form))
        return session

    return opened


def choice_options(self: FormSession, where, **repeats: str) -> List[Choice]:
    """The options question `where` offers now, with their labels: its list after
    `choice_filter` (`ItemState.choices` holds only their names), in list order."""
    at = path(where, **repeats)
    form = getattr(self, "_minga_form", None)
    if form is None:
        raise ValueError("this session was not opened through the minga package: use form.choices_of")
    options = choices_of(form, at.name)
    state = self.item(at)
    if state is None or state.choices is None:
        return options
    left = frozenset(state.choices)
    return [option for option in options if option.name in left]


def set_answer(self: FormSession, where, value, **repeats: str):
    """Sets (or, with none, clears) the answer at `where` from a plain value, typed by the
    session's form, and returns what changed (a `Delta`)."""
    at = path(where, **repeats)
    form = getattr(self, "_minga_form", None)
    kind = form.question_kind(at.name) if form is not None else None
    return self.set(at, None if value is None else to_value(value, kind))


def install() -> None:
    """Adds the methods above to the generated classes."""
    for name, method in [("list_submissions", list_submissions), ("submissions", submissions),
                         ("values", values), ("get", get), ("set", set_value), ("to_records", to_records),
                         ("to_dataframe", to_dataframe), ("__enter__", _enter), ("__exit__", _exit)]:
        setattr(Store, name, method)
    Form.form_id = property(Form.id, doc="The form's id (as `PublishedForm.form_id`).")
    Form.form_version = property(Form.version, doc="The form's version (as `FormRef.form_version`).")
    PublishedForm.form_version = property(lambda self: self.version, doc="`version`, named as in `FormRef`.")
    for name, method in [("question", question), ("question_kind", question_kind), ("choices_of", choices_of)]:
        setattr(Form, name, method)
    Form.session = _remembering_form(Form.session)
    for opener in ("start_form_session", "open_form_session"):
        setattr(Store, opener, _remembering_form(getattr(Store, opener)))
    FormSession.choice_options = choice_options
    FormSession.set_answer = set_answer
    HubCredentials.from_json = staticmethod(generated.hub_credentials_from_json)
