# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CSC MLflow collection maintainers
# MIT License (see LICENSE or https://opensource.org/licenses/MIT)
"""The deploy's public settings, recorded on ConfigMap <app>-config.

Pure logic behind the csc.mlflow.settings_record filter. Entry points that re-render the stack
without the deploy's variables (artifact_store) reload this record. Only the variables of an
explicit allow-list are recorded, so that a new variable never lands in the ConfigMap by
itself; a secret-like name in the allow-list is an error.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
from collections.abc import Mapping

from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import text, to_bool, to_json

SECRET_LIKE_RE = r"(secret|access_key|token|passw(or)?d$|database_uri|key$|passphrase)"
VARIABLE_RE = r"^mlflow_[a-z0-9_]+$"


def secret_like(name, spec=None):
    """True when the variable may hold a secret: by its name, or `no_log: true` in its argument spec."""
    if re.search(SECRET_LIKE_RE, text(name)):
        return True
    return bool(spec) and to_bool(spec.get("no_log", False))


def settings_record(variables, allowed, users, whitelist, external_database, specs=None, chosen=None):
    """The record as JSON text (sorted keys, no spaces): {'vars': {...}, 'chosen': [...], 'external_database': bool}.

    `variables`: the variables' values by name (those not defined are left out); `allowed`: the
    names to record; `users`: normalise_users() (only the names are recorded); `whitelist`: the
    normalised mlflow_route_whitelist; `external_database`: a bool, or mlflow_database_uri
    (external when not ''); `specs`: the argument spec's options, to refuse no_log ones;
    `chosen`: the names a user has set so far (settings_chosen()), recorded when allowed.
    Raises ValueError for an allowed name that is not an mlflow_ variable or is secret-like.
    """
    specs = specs or {}
    variables = variables or {}
    bad = sorted(n for n in allowed if not re.search(VARIABLE_RE, text(n)))
    if bad:
        raise ValueError("settings_record: not mlflow_ variables: %s" % ", ".join(text(n) for n in bad))
    secret = sorted(n for n in allowed if secret_like(n, specs.get(n)))
    if secret:
        raise ValueError("settings_record: secret-like variables may not be recorded: %s" % ", ".join(secret))
    out = {}
    for name in allowed:
        if name == "mlflow_users":
            out[name] = [{"name": u["name"]} for u in users or []]
        elif name == "mlflow_route_whitelist":
            out[name] = list(whitelist or [])
        elif name in variables:
            out[name] = variables[name]
    if isinstance(external_database, str):
        external_database = external_database != ""
    record = {"vars": out, "external_database": bool(external_database)}
    if chosen is not None:
        record["chosen"] = sorted(set(text(n) for n in chosen) & set(out))
    return to_json(record, sort_keys=True, separators=(",", ":"))


# Kept from the record by a deploy even when no user ever set it: a new default here is an upgrade, which
# a `git pull` of the collection must not start by itself.
KEPT_UNLESS_SET = ("mlflow_version",)


def parse_record(value):
    """The record as a dict ({} when there is none: a stack not deployed yet). `value`: its JSON text, or a dict."""
    if isinstance(value, Mapping):
        return dict(value)
    value = text(value or "").strip()
    if not value:
        return {}
    record = json.loads(value)
    if not isinstance(record, Mapping) or not isinstance(record.get("vars", {}), Mapping):
        raise ValueError("settings record: not an object with 'vars'")
    return dict(record)


def settings_named(values):
    """The names of the variables a run sets, from their values by name (read before any role added its defaults).
    A null value is not a setting (an AWX survey sends an optional question left blank as null), nor is an empty
    mlflow_users (a stack has at least one user: a blank survey answer asks for no change)."""
    def is_setting(name, value):
        if value is None:
            return False
        return not (name == "mlflow_users" and isinstance(value, str) and not value.strip())

    return sorted(text(n) for n, v in (values or {}).items() if is_setting(n, v))


def settings_chosen(record, named):
    """The names a user has set, on this run (`named`) or on a run before (the record's 'chosen'). A record written
    before 'chosen' existed cannot tell a chosen value from a default: all its values count as chosen."""
    record = parse_record(record)
    before = record.get("chosen", list(record.get("vars", {})))
    return sorted(set(text(n) for n in before) | set(text(n) for n in named or []))


def settings_kept(record, named, keep="chosen"):
    """The recorded values a run takes over, by name: those of the variables this run does not set (`named`: the
    mlflow_ variables defined before any role added its defaults: inventory, extra vars, survey answers).

    keep='chosen' (deploy): the values a user set on an earlier run, and KEPT_UNLESS_SET; a value nobody set
    follows the collection's default. keep='all' (the entry points that change one thing, as
    configure_artifact_store): every recorded value, so the stack is rendered as deployed.
    """
    if keep not in ("chosen", "all"):
        raise ValueError("settings_kept: keep must be 'chosen' or 'all', not %r" % (keep,))
    record = parse_record(record)
    values = record.get("vars", {})
    named = set(text(n) for n in named or [])
    wanted = set(values) if keep == "all" else set(settings_chosen(record, [])) | set(KEPT_UNLESS_SET)
    return dict((n, values[n]) for n in sorted(wanted & set(values)) if n not in named)
