# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The options of several role entry points as one argument spec, to validate a run in one task."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def parse_entry_point(term):
    """``"role"`` or ``"role:entry_point"`` -> (role, entry_point); the entry point defaults to ``main``."""
    if not isinstance(term, str) or not term.strip():
        raise ValueError("%r: not 'role' or 'role:entry_point'" % (term,))
    role, _colon, entry_point = term.strip().partition(":")
    if not role or (_colon and not entry_point):
        raise ValueError("%r: not 'role' or 'role:entry_point'" % (term,))
    return role, entry_point or "main"


def merged_options(specs, entry_points):
    """The options of ``entry_points`` ((role, entry point) pairs) merged into one dict.

    ``specs``: role -> the ``argument_specs`` mapping of its ``meta/argument_specs.yml``. An option
    several entry points declare must be declared alike (the shared option sets are YAML anchors);
    raises ValueError for an unknown role or entry point and for an option declared differently.
    """
    options, declared_by = {}, {}
    for role, entry_point in entry_points:
        if role not in specs:
            raise ValueError("role %s has no argument specs" % role)
        if entry_point not in (specs[role] or {}):
            raise ValueError("role %s has no entry point %s" % (role, entry_point))
        for name, spec in ((specs[role][entry_point] or {}).get("options") or {}).items():
            here = "%s:%s" % (role, entry_point)
            if name in options and options[name] != spec:
                raise ValueError("option %s is declared differently by %s and %s" % (name, declared_by[name], here))
            options.setdefault(name, spec)
            declared_by.setdefault(name, here)
    return options
