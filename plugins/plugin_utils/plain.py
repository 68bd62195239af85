# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""Filter arguments as plain Python values (controller side: the filters' helper, not for modules)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

try:  # ansible-core >= 2.19: filters are handed lazy containers
    from ansible.template import is_trusted_as_template as _is_template
except ImportError:  # older ansible-core: plain containers only
    _is_template = None


class _NeedsRendering(Exception):
    """An item that only its lazy container can produce: a template, or a type other than plain data."""


_NOT_SCALAR = object()


def _scalar(value):
    # str, int, float (their subclasses, e.g. tagged values, as the plain type), bool and None; else _NOT_SCALAR
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return _NOT_SCALAR


def _stored(item):
    # A lazy container keeps each item as stored, in a wrapper (ansible-core's _LazyValue) until it is read.
    return item.value if type(item).__name__ == "_LazyValue" else item


def _stored_copy(item):
    """A copy of ``item`` as stored, without rendering; _NeedsRendering where that would differ from reading it."""
    if isinstance(item, dict):
        return dict((_stored_copy(_stored(k)), _stored_copy(_stored(v))) for k, v in dict.items(item))
    if isinstance(item, list):
        return [_stored_copy(_stored(v)) for v in list.__iter__(item)]
    if isinstance(item, str) and _is_template(item):
        raise _NeedsRendering()
    scalar = _scalar(item)
    if scalar is _NOT_SCALAR:
        raise _NeedsRendering()
    return scalar


def _read_copy(value):
    # Every item read through its container (rendered where it is a template).
    if isinstance(value, Mapping):
        return dict((_read_copy(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    scalar = _scalar(value)
    return value if scalar is _NOT_SCALAR else scalar


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


def call_filter(name, func, *args, **kwargs):
    """``func`` on plain copies of a filter's arguments; its errors as the filter ``name``'s AnsibleFilterError."""
    try:
        return func(*[plain(a) for a in args], **dict((k, plain(v)) for k, v in kwargs.items()))
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("%s: %s: %s" % (name, type(exc).__name__, exc))
