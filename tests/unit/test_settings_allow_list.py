"""The settings record on ConfigMap <app>-config is an allow-list (roles/mlflow/vars/main.yml and each service
role's _mlflow_<service>_settings_recorded): nothing whose name or argument spec marks it secret may be in it, and
every public variable is either recorded or listed as not recorded in the vars of a role whose argument spec
documents it, so that a new variable is a decision, made in its own role folder."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from ansible_collections.csc.mlflow.plugins.plugin_utils.settings import secret_like

REPO = Path(__file__).resolve().parents[2]


def decisions(suffix: str) -> dict[str, str]:
    """Variable name -> the role whose vars/main.yml lists it in _mlflow_settings_<suffix> or
    _mlflow_<service>_settings_<suffix>."""
    out: dict[str, str] = {}
    for path in sorted(REPO.glob("roles/*/vars/main.yml")):
        role = path.parts[-3]
        for key, names in (yaml.safe_load(path.read_text()) or {}).items():
            if re.fullmatch(r"_mlflow_(?:[a-z]+_)?settings_" + suffix, key):
                out.update((name, role) for name in names)
    return out


RECORDED = decisions("recorded")
NOT_RECORDED = decisions("not_recorded")


def options() -> dict[str, dict]:
    """Every option of every entry point of every role (a name may appear in several), with the roles that
    document it (``roles``)."""
    out: dict[str, dict] = {}
    for path in sorted(REPO.glob("roles/*/meta/argument_specs.yml")):
        for entry in (yaml.safe_load(path.read_text()).get("argument_specs") or {}).values():
            for name, spec in (entry.get("options") or {}).items():
                merged = out.setdefault(name, {"roles": set()})
                merged["no_log"] = merged.get("no_log", False) or bool((spec or {}).get("no_log"))
                merged["roles"].add(path.parts[-3])
    return out


def test_nothing_secret_is_recorded():
    specs = options()
    secret = [n for n in RECORDED if secret_like(n, specs.get(n))]
    assert not secret, f"secret-like variables in _mlflow_settings_recorded (they would land in a ConfigMap): {secret}"


def test_every_public_variable_is_recorded_or_said_not_to_be():
    names = set(options())
    undecided = sorted(names - set(RECORDED) - set(NOT_RECORDED))
    assert not undecided, (f"variables neither in _mlflow_settings_recorded nor in _mlflow_settings_not_recorded "
                           f"(roles/mlflow/vars/main.yml): {undecided}")
    both = sorted(set(RECORDED) & set(NOT_RECORDED))
    assert not both, f"in both lists: {both}"
    unknown = sorted((set(RECORDED) | set(NOT_RECORDED)) - names)
    assert not unknown, f"listed but not a variable of any argument spec: {unknown}"


def test_each_decision_is_made_in_a_role_that_documents_the_variable():
    specs = options()
    elsewhere = sorted("%s (%s)" % (name, role) for name, role in list(RECORDED.items()) + list(NOT_RECORDED.items())
                       if name in specs and role not in specs[name]["roles"])
    assert not elsewhere, f"decided in a role whose argument spec does not document it: {elsewhere}"
