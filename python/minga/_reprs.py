"""Readable reprs and signatures for the generated module's records and enum variants.

UniFFI declares each record a `@dataclass` whose fields are set in a hand-written `__init__`, so
the dataclass repr knows no field and prints `AnswerPath()`; and an argument whose default is a
list or a record shows UniFFI's sentinel, `= <object object at 0x...>`. This module gives every
record and variant a repr (and str) that shows its fields (`AnswerPath(instances=[], name='q')`)
unless the library defines one itself (`HubCredentials`, whose repr hides its token: a record
that exports Rust's `Display` exports `Debug` too), and gives the
functions with such defaults a signature that shows the real default.
"""

import inspect
import re
import types

_SENTINEL_UNION = "typing.Union[object, "
_SOURCE_DEFAULT = r"if {name} is _DEFAULT:\s*\n\s*(?:self\.)?{name} = (.+)"


class _Shown:
    """A default as a signature shows it: the text of the value UniFFI puts in its place."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def install(module):
    """Gives the records and variants of `module` (the generated one) their reprs, and its
    functions with sentinel defaults their signatures. Cost: reads the module's source once."""
    for name, cls in _generated_classes(module):
        if _needs_repr(cls, module):
            # str() too: UniFFI's own leaves text unquoted (`Choice(name=female, ...)`).
            cls.__repr__ = cls.__str__ = _repr_for(name, _field_names(cls))
    for function in _generated_functions(module):
        _show_defaults(function, module._DEFAULT)


def _generated_classes(module):
    """(name, class) for every class the module defines, and every variant of its enums."""
    for name, cls in vars(module).items():
        if not (inspect.isclass(cls) and cls.__module__ == module.__name__) or name.startswith("_"):
            continue
        yield name, cls
        for variant_name, variant in vars(cls).items():
            if inspect.isclass(variant) and variant_name.isupper() and issubclass(variant, cls):
                yield f"{name}.{variant_name}", variant


def _needs_repr(cls, module):
    """A dataclass (record or variant) whose repr is the dataclass's own, not the library's."""
    if not hasattr(cls, "__dataclass_fields__"):
        return False
    code = getattr(cls.__repr__, "__code__", None)
    return code is None or code.co_filename != module.__file__


def _field_names(cls):
    parameters = inspect.signature(cls.__init__).parameters
    return [p.name for p in parameters.values() if p.name != "self" and p.kind != p.VAR_POSITIONAL]


def _repr_for(name, fields):
    def __repr__(self):
        if not fields and hasattr(self, "_values"):
            return f"{name}{self._values!r}"
        shown = ", ".join(f"{field}={getattr(self, field)!r}" for field in fields)
        return f"{name}({shown})"

    return __repr__


def _generated_functions(module):
    for value in vars(module).values():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            yield value
        elif inspect.isclass(value) and value.__module__ == module.__name__:
            for member in vars(value).values():
                function = getattr(member, "__func__", member)
                if isinstance(function, types.FunctionType):
                    yield function


def _show_defaults(function, sentinel):
    """Replaces the sentinel in `function`'s signature with the default its body puts instead."""
    signature = inspect.signature(function)
    if not any(p.default is sentinel for p in signature.parameters.values()):
        return
    source = inspect.getsource(function)

    def shown(parameter):
        if parameter.default is not sentinel:
            return parameter
        found = re.search(_SOURCE_DEFAULT.format(name=re.escape(parameter.name)), source)
        annotation = parameter.annotation
        # `typing.Union[object, T]` is UniFFI's way of admitting its sentinel: the type is T.
        if isinstance(annotation, str) and annotation.startswith(_SENTINEL_UNION):
            annotation = annotation[len(_SENTINEL_UNION):-1]
        return parameter.replace(default=_Shown(found.group(1).strip() if found else "..."), annotation=annotation)

    function.__signature__ = signature.replace(parameters=[shown(p) for p in signature.parameters.values()])
