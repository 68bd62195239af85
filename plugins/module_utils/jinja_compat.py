# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""What some Jinja/Ansible filters and tests do, for the modules that replace the role's templates.

Each helper names the construct it reproduces, so that a port reads like the template it replaces.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections.abc import Mapping

_TRUE = ("yes", "on", "true", "1")
_FALSE = ("no", "off", "false", "0")


def text(value):
    """`value ~ ''`, `value | string`, and what regex tests and filters match against."""
    return value if isinstance(value, str) else str(value)


def to_bool(value):
    """Ansible's `| bool`."""
    check = value
    if isinstance(value, str):
        check = value.lower()
    elif isinstance(value, int):  # bool too
        check = str(value).lower()
    try:
        if check in _TRUE:
            return True
        if check in _FALSE:
            return False
        # Ansible's deprecated fallback for anything else.
        return check == 1
    except TypeError:
        return False


def to_int(value, default=0):
    """Jinja's `| int` ("42.23" gives 42, anything else unparsable 0)."""
    try:
        if isinstance(value, str):
            return int(value, 10)
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return default


def default_true(value, fallback):
    """`value | default(fallback, true)`: missing (None here) or empty values give fallback."""
    return value if value else fallback


def mapping(value):
    """A mapping read with `| default({})` or `| default({}, true)`: anything else is {}."""
    return value if isinstance(value, Mapping) else {}


def lookup(obj, *path):
    """`obj.a.b.c`, None when a step is missing (what a chain of undefined values gives)."""
    for key in path:
        if not isinstance(obj, Mapping) or key not in obj:
            return None
        obj = obj[key]
    return obj


def matches(pattern, value):
    """The `match` test (re.match on the value as text)."""
    return re.match(pattern, text(value)) is not None


def searches(pattern, value):
    """The `search` test."""
    return re.search(pattern, text(value)) is not None


def to_json(value, **kwargs):
    """Ansible's `| to_json` (json.dumps defaults: ', ' and ': ', ensure_ascii, key order kept)."""
    return json.dumps(value, **kwargs)


try:  # ansible-core >= 2.19 on the controller: filters are handed lazy containers
    from ansible.template import is_trusted_as_template as _is_template
except ImportError:  # older ansible-core, or a module's payload: plain containers only
    _is_template = None


class _NeedsRendering(Exception):
    """An item that only its lazy container can produce: a template, or a type other than plain data."""


def _stored(item):
    # A lazy container keeps each item as stored, in a wrapper (ansible-core's _LazyValue) until it is read.
    return item.value if type(item).__name__ == "_LazyValue" else item


def _stored_copy(item):
    """A copy of ``item`` as stored, without rendering; _NeedsRendering where that would differ from reading it."""
    if isinstance(item, dict):
        return dict((_stored_copy(_stored(k)), _stored_copy(_stored(v))) for k, v in dict.items(item))
    if isinstance(item, list):
        return [_stored_copy(_stored(v)) for v in list.__iter__(item)]
    if isinstance(item, str):
        if _is_template(item):
            raise _NeedsRendering()
        return str(item)
    if isinstance(item, bool) or item is None:
        return item
    if isinstance(item, int):
        return int(item)
    if isinstance(item, float):
        return float(item)
    raise _NeedsRendering()


def _read_copy(value):
    # Every item read through its container (rendered where it is a template).
    if isinstance(value, Mapping):
        return dict((_read_copy(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def plain(value):
    """A deep copy made of dict, list, str, int, float and None.

    Ansible 2.19 hands filters lazy containers: each item is templated when it is read, which costs
    ~10 us per item even when it is data (a fact read from the cluster: thousands of items). Items that
    are plain data and no template are copied as stored; the others are read through their container.
    """
    if _is_template is not None and isinstance(value, dict):
        out = {}
        for key, item in dict.items(value):
            try:
                out[_stored_copy(_stored(key))] = _stored_copy(_stored(item))
            except _NeedsRendering:
                out[_read_copy(key)] = plain(value[key])
        return out
    if _is_template is not None and isinstance(value, list):
        out = []
        for index, item in enumerate(list.__iter__(value)):
            try:
                out.append(_stored_copy(_stored(item)))
            except _NeedsRendering:
                out.append(plain(value[index]))
        return out
    return _read_copy(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value
