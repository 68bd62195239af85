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

import re

from ansible_collections.csc.mlflow.plugins.plugin_utils.jinja_compat import text, to_bool, to_json

SECRET_LIKE_RE = r"(secret|access_key|token|passw(or)?d$|database_uri|key$|passphrase)"
VARIABLE_RE = r"^mlflow_[a-z0-9_]+$"


def secret_like(name, spec=None):
    """True when the variable may hold a secret: by its name, or `no_log: true` in its argument spec."""
    if re.search(SECRET_LIKE_RE, text(name)):
        return True
    return bool(spec) and to_bool(spec.get("no_log", False))


def settings_record(variables, allowed, users, whitelist, external_database, specs=None):
    """The record as JSON text (sorted keys, no spaces): {'vars': {...}, 'external_database': bool}.

    `variables`: the variables' values by name (those not defined are left out); `allowed`: the
    names to record; `users`: normalise_users() (only the names are recorded); `whitelist`: the
    normalised mlflow_route_whitelist; `external_database`: a bool, or mlflow_database_uri
    (external when not ''); `specs`: the argument spec's options, to refuse no_log ones.
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
    return to_json(record, sort_keys=True, separators=(",", ":"))
