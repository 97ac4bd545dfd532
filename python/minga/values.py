"""Answers as plain Python values, and answer paths from text.

Reading is unambiguous: each `Value` variant has one Python type (the table in the repository's
README). Writing is too, except for a `str`, which a text and a select_one question both hold:
it is text unless the question's type says otherwise (`kind`, from the form: `to_value("yes",
kind="select_one")`, or `Store.set(..., form=form)`, or a `Selected("yes")`).
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, NamedTuple, Optional, Union

from .minga import Answer, Answers, AnswerPath, Attachment, GeoPoint, InstanceRef, Value

__all__ = [
    "Point",
    "Selected",
    "Instance",
    "to_value",
    "from_value",
    "from_answers",
    "path",
    "PlainValue",
]


class Point(NamedTuple):
    """A geopoint answer: degrees, metres above sea level and metres of accuracy."""

    latitude: float
    longitude: float
    altitude: Optional[float] = None
    accuracy: Optional[float] = None


class Selected(str):
    """A select_one answer given without its form: the chosen option's name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Selected({str.__repr__(self)})"


class Instance(dict):
    """One repeat instance read as plain values: its answers by name, and its stable `id`."""

    def __init__(self, instance_id: str, answers: Dict[str, Any]):
        super().__init__(answers)
        self.id = instance_id

    def __repr__(self) -> str:
        return f"Instance(id={self.id!r}, {dict.__repr__(self)})"


PlainValue = Union[
    str, int, float, List[str], datetime.date, datetime.time, datetime.datetime, Point, Attachment
]

_VARIANTS = (Value.TEXT, Value.INTEGER, Value.DECIMAL, Value.CHOICE, Value.CHOICES, Value.DATE,
             Value.TIME, Value.DATE_TIME, Value.GEO_POINT, Value.ATTACHMENT)

# The question types (Minga's form model names, `Question.kind.base`) that hold a choice.
_SELECT_ONE = {"select_one", "select_one_from_file", "select_one_external"}
_SELECT_MULTIPLE = {"select_multiple", "select_multiple_from_file", "rank"}


def to_value(plain: Any, kind: Optional[str] = None) -> Value:
    """The `Value` for a plain Python value; `kind` (a question type such as `select_one`)
    settles what a `str` or a list is. A `Value` is returned as it is. `TypeError` for a value
    no answer holds (a `bool`, a naive datetime: give it its offset)."""
    if isinstance(plain, _VARIANTS):
        return plain
    if isinstance(plain, bool):
        raise TypeError("a bool is no answer: give the option's name, or 1 and 0")
    if isinstance(plain, str):
        if isinstance(plain, Selected) or kind in _SELECT_ONE:
            return Value.CHOICE(name=str(plain))
        return Value.TEXT(text=plain)
    if isinstance(plain, int):
        return Value.DECIMAL(value=float(plain)) if kind in ("decimal", "range") else Value.INTEGER(value=plain)
    if isinstance(plain, float):
        return Value.DECIMAL(value=plain)
    if isinstance(plain, datetime.datetime):
        if plain.utcoffset() is None:
            raise TypeError(f"{plain!r} has no offset: a dateTime answer keeps the device's offset")
        return Value.DATE_TIME(datetime=plain)
    if isinstance(plain, datetime.date):
        return Value.DATE(date=plain)
    if isinstance(plain, datetime.time):
        return Value.TIME(time=plain)
    if isinstance(plain, Point):
        return Value.GEO_POINT(point=GeoPoint(**plain._asdict()))
    if isinstance(plain, GeoPoint):
        return Value.GEO_POINT(point=plain)
    if isinstance(plain, Attachment):
        return Value.ATTACHMENT(attachment=plain)
    if isinstance(plain, (list, tuple, set, frozenset)) and all(isinstance(n, str) for n in plain):
        return Value.CHOICES(names=sorted(plain))
    raise TypeError(f"no answer holds a {type(plain).__name__}: {plain!r}")


def from_value(value: Optional[Value]) -> Optional[PlainValue]:
    """The plain Python value of a `Value` (none for none)."""
    if value is None:
        return None
    if isinstance(value, Value.TEXT):
        return value.text
    if isinstance(value, Value.CHOICE):
        return value.name
    if isinstance(value, Value.CHOICES):
        return sorted(value.names)
    if isinstance(value, (Value.INTEGER, Value.DECIMAL)):
        return value.value
    if isinstance(value, Value.DATE):
        return value.date
    if isinstance(value, Value.TIME):
        return value.time
    if isinstance(value, Value.DATE_TIME):
        return value.datetime
    if isinstance(value, Value.GEO_POINT):
        p = value.point
        return Point(p.latitude, p.longitude, p.altitude, p.accuracy)
    if isinstance(value, Value.ATTACHMENT):
        return value.attachment
    raise TypeError(f"not a Value: {value!r}")


def from_answers(answers: Answers) -> Dict[str, Any]:
    """A submission's answers as a dict of plain values; a repeat is a list of `Instance`s."""
    plain = {}
    for name, answer in sorted(answers.fields.items()):
        if isinstance(answer, Answer.REPEAT):
            plain[name] = [Instance(i.id, from_answers(i.answers)) for i in answer.instances]
        else:
            plain[name] = from_value(answer.value)
    return plain


# One step into a repeat: `name[instance id]`.
_STEP = re.compile(r"^([^\[\]/]+)\[([^\[\]/]+)\]$")


def path(where: Union[str, AnswerPath], **repeats: str) -> AnswerPath:
    """An `AnswerPath` from text: `"name"` at the top level, `"visits[<id>]/people[<id>]/age"`
    inside repeat instances (outermost first), or `path("age", visits="<id>")` with each
    repeat's instance as a keyword (in order). An `AnswerPath` is returned as it is."""
    if isinstance(where, AnswerPath):
        if repeats:
            raise TypeError("give repeats in the text or as keywords, not both")
        return where
    *steps, name = where.split("/")
    instances: List[InstanceRef] = []
    for step in steps:
        match = _STEP.match(step)
        if not match:
            raise ValueError(f"{step!r} in {where!r} is not a repeat step `name[instance id]`")
        instances.append(InstanceRef(repeat=match.group(1), instance_id=match.group(2)))
    instances += [InstanceRef(repeat=r, instance_id=i) for r, i in repeats.items()]
    if not name or "[" in name:
        raise ValueError(f"{where!r} does not end with a question name")
    return AnswerPath(instances=instances, name=name)
