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
